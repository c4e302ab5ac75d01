//! script-not-cached: entry scripts the server compiles on every load.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pycache_serverconf::ServerKind;

use crate::checks::{Context, shell};
use crate::doctor::ScriptOrigin;
use crate::finding::{Code, Finding, Severity};
use crate::launch::Purpose;

/// Scripts smaller than this are taken for stubs already: compiling them
/// costs next to nothing.
pub const STUB_SIZE: u64 = 1024;

/// What `pycache stub` writes at the top of its stubs.
pub const STUB_MARKER: &str = "# pycache stub:";

/// Compiles each script a few times in `python` and keeps the fastest run,
/// in seconds; `None` where the script does not compile.
const MEASURE: &str = r#"
import sys, time
clock = getattr(time, 'perf_counter', time.time)
data = getattr(sys.stdin, 'buffer', sys.stdin).read()
for raw in data.split(b'\0'):
    if not raw:
        continue
    path = raw.decode('utf-8', 'surrogateescape') if sys.version_info[0] >= 3 else raw
    try:
        with open(path, 'rb') as f:
            source = f.read()
        best = None
        for _ in range(5):
            start = clock()
            compile(source, path, 'exec', 0, True)
            took = clock() - start
            best = took if best is None or took < best else best
        sys.stdout.write('%.6f\n' % best)
    except Exception as e:
        sys.stdout.write('error %s\n' % type(e).__name__)
"#;

pub(crate) fn measure(mut command: Command, scripts: &[&Path]) -> Vec<Option<f64>> {
    let mut run = || -> std::io::Result<Vec<Option<f64>>> {
        let mut child = command
            .args(["-E", "-S", "-B", "-c", MEASURE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut input = Vec::new();
        for script in scripts {
            input.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(script.as_os_str()));
            input.push(0);
        }
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output()?;
        let _ = writer.join();
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text.lines().map(|l| l.trim().parse::<f64>().ok()).collect())
    };
    let mut times = run().unwrap_or_default();
    times.resize(scripts.len(), None);
    times
}

fn is_stub(path: &Path, size: u64) -> bool {
    size < STUB_SIZE
        || std::fs::read(path).is_ok_and(|bytes| bytes.windows(STUB_MARKER.len()).any(|w| w == STUB_MARKER.as_bytes()))
}

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) {
    let mut candidates: Vec<(&PathBuf, ScriptOrigin, u64)> = Vec::new();
    for (path, origin) in context.scripts {
        let Ok(meta) = std::fs::metadata(path) else { continue };
        if !is_stub(path, meta.len()) {
            candidates.push((path, *origin, meta.len()));
        }
    }
    if candidates.is_empty() {
        return;
    }
    // The compile is timed in an interpreter of the deployment's release,
    // started so that it hands no privileges to whoever can change it.
    let target = context.targets.first();
    let command = target.and_then(|t| context.deployment.command(t.index, Purpose::Compile).ok());
    let python = target.filter(|_| command.is_some()).map(|t| t.interpreter);
    let paths: Vec<&Path> = candidates.iter().map(|(p, _, _)| p.as_path()).collect();
    let times = command.map(|c| measure(c, &paths)).unwrap_or_else(|| vec![None; paths.len()]);
    for ((path, origin, size), time) in candidates.into_iter().zip(times) {
        let (severity, why) = match origin {
            ScriptOrigin::Server => (Severity::Warning, "the server compiles it on every load and never caches it"),
            ScriptOrigin::Cgi => (Severity::Warning, "a CGI script is compiled again on every request"),
            ScriptOrigin::Wsgi => {
                (Severity::Warning, "mod_wsgi compiles a .wsgi script in every process and never caches it")
            }
            ScriptOrigin::Executable => {
                (Severity::Info, "an executable run as a script is compiled again on every run, never cached")
            }
        };
        let cost = match (time, python) {
            (Some(seconds), Some(p)) => format!(", {:.1} ms to compile with Python {}", seconds * 1000.0, p.label()),
            (None, Some(_)) => ", which does not compile".to_owned(),
            _ => String::new(),
        };
        let module = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".py"))
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let fix = match (context.deployment.server, origin, module) {
            (Some(ServerKind::Uwsgi), ScriptOrigin::Server, Some(module)) => format!(
                "pycache stub {}; or import it as a module: `module = {module}` instead of `wsgi-file` (with its \
                 directory on `pythonpath`)",
                shell(path)
            ),
            _ => format!("pycache stub {}", shell(path)),
        };
        findings.push(Finding::new(
            Code::ScriptNotCached,
            severity,
            path,
            format!("an entry script ({size} bytes{cost}): {why}"),
            fix,
        ));
    }
}
