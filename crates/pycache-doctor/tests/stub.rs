//! `stub` under the real interpreters: the stubbed script behaves as the
//! original did (output, `__name__`, `__file__`, `sys.argv`, docstring,
//! encoding, `from __future__`, paths beside it, exit status, mod_wsgi's
//! `application`), and its body is loaded from the cache.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use pycache_doctor::stub;
use pycache_python::Interpreter;

/// A script in Latin-1 with a shebang, an encoding line, a docstring, a
/// `from __future__` import, a file read beside it, and a main guard.
const SCRIPT: &str = r#"#!/usr/bin/env python
# -*- coding: latin-1 -*-
"""Report tool: prints what it sees."""
from __future__ import division, print_function
import os
import sys
HERE = os.path.dirname(os.path.abspath(__file__))
WORD = u'café'
def main():
    print('name', __name__)
    print('file', os.path.basename(__file__))
    print('argv', sys.argv[1:])
    print('doc', __doc__.split(':')[0])
    print('word', len(WORD), ord(WORD[-1]))
    print('half', 1 / 2)
    with open(os.path.join(HERE, 'data.txt')) as f:
        print('data', f.read().strip())
    return 3
if __name__ == '__main__':
    sys.exit(main())
"#;

/// [`SCRIPT`] in Latin-1, as its encoding line says.
fn script_bytes() -> Vec<u8> {
    SCRIPT.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect()
}

fn run_python(python: &Interpreter, args: &[&str], cwd: &Path) -> Output {
    Command::new(&python.path)
        .args(args)
        .current_dir(cwd)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The body's cache as `python` names it.
fn body_cache(python: &Interpreter, body: &Path) -> std::path::PathBuf {
    match &python.cache_tag {
        Some(tag) => body.parent().unwrap().join("__pycache__").join(format!("tool-body.{tag}.pyc")),
        None => body.with_extension("pyc"),
    }
}

/// Replaces the code in `cache` (keeping its header, so it still matches
/// the body's source) with `source` compiled by `python`.
fn plant(python: &Interpreter, cache: &Path, body: &Path, source: &str, work: &Path) {
    let planted = work.join("planted.bin");
    let out = Command::new(&python.path)
        .args([
            "-c",
            "import marshal, sys\nsrc = sys.argv[1]\ncode = compile(src, sys.argv[2], 'exec')\nopen(sys.argv[3], 'wb').write(marshal.dumps(code))",
        ])
        .arg(source)
        .arg(body)
        .arg(&planted)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let old = std::fs::read(cache).unwrap();
    let header = pycache_pyc::Header::parse(&old).unwrap().len();
    let mut bytes = old[..header].to_vec();
    bytes.extend(std::fs::read(&planted).unwrap());
    std::fs::write(cache, bytes).unwrap();
}

#[test]
fn a_stubbed_script_behaves_the_same_and_runs_a_cached_body() {
    let test = "a_stubbed_script_behaves_the_same_and_runs_a_cached_body";
    for python in interpreters(test) {
        let label = python.label();
        let tree = Tree::new(&[("data.txt", "beside the script\n")]);
        let script = tree.path("tool.py");
        std::fs::write(&script, script_bytes()).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let run = || run_python(&python, &[script.to_str().unwrap(), "a", "b c"], elsewhere.path());
        let before = run();
        assert_eq!(before.status.code(), Some(3), "{label}: {}", text(&before.stderr));
        let expected = "name __main__\nfile tool.py\nargv ['a', 'b c']\ndoc Report tool\nword 4 233\nhalf 0.5\ndata beside the script\n";
        assert_eq!(text(&before.stdout), expected, "{label}");
        // Imported as a module, the guard keeps main() from running.
        let imported = run_python(
            &python,
            &["-c", "import sys, tool; sys.stdout.write('%s %s\\n' % (tool.WORD == u'caf\\xe9', tool.__name__))"],
            &tree.root,
        );
        assert_eq!(text(&imported.stdout), "True tool\n", "{label}: {}", text(&imported.stderr));

        let plan = stub::plan(&script, None).unwrap();
        stub::apply(&plan).unwrap();
        let body = tree.path("tool-body.py");
        assert_eq!(std::fs::read(&body).unwrap(), script_bytes(), "the body is the script, byte for byte");
        let stubbed = std::fs::read_to_string(&script).unwrap();
        assert!(stubbed.starts_with("#!/usr/bin/env python\n# pycache stub:"), "{stubbed}");
        let mode =
            |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777;
        assert_eq!((mode(&script), mode(&body)), (0o755, 0o644));

        let cache = body_cache(&python, &body);
        std::fs::remove_file(tree.path("tool.pyc")).ok();
        let after = run();
        assert_eq!(text(&after.stdout), expected, "{label}: {}", text(&after.stderr));
        assert_eq!(after.status.code(), Some(3), "{label}");
        assert_eq!(text(&after.stderr), text(&before.stderr), "{label}");
        assert!(cache.is_file(), "{label}: the first run caches the body at {}", cache.display());
        let imported = run_python(
            &python,
            &["-c", "import sys, tool; sys.stdout.write('%s %s\\n' % (tool.WORD == u'caf\\xe9', tool.__name__))"],
            &tree.root,
        );
        assert_eq!(text(&imported.stdout), "True tool\n", "{label}: {}", text(&imported.stderr));
        // The next run loads the body from the cache: planted code shows it.
        plant(&python, &cache, &body, "print('from the cache')\n", elsewhere.path());
        let planted = run();
        assert_eq!(text(&planted.stdout), "from the cache\n", "{label}: {}", text(&planted.stderr));
        if python.version.0 == 3 {
            let verbose = run_python(&python, &["-v", script.to_str().unwrap()], elsewhere.path());
            let line = format!("# {} matches {}", cache.display(), body.display());
            assert!(text(&verbose.stderr).contains(&line), "{label}: no `{line}`");
        }
    }
}

#[test]
fn a_stubbed_wsgi_script_still_defines_application_for_mod_wsgi() {
    let test = "a_stubbed_wsgi_script_still_defines_application_for_mod_wsgi";
    // mod_wsgi reads the script, compiles it and runs it in a fresh module
    // named after a hash of the path, with `__file__` set.
    let loader = "import sys, types\n\
path = sys.argv[1]\n\
m = types.ModuleType('_mod_wsgi_0123abcd')\n\
m.__file__ = path\n\
sys.modules[m.__name__] = m\n\
exec(compile(open(path, 'rb').read(), path, 'exec'), m.__dict__)\n\
print(m.application({'PATH_INFO': '/x'}, None))\n";
    for python in interpreters(test) {
        let label = python.label();
        let handlers: String = (0..40).map(|i| format!("def view_{i}(environ):\n    return [b'{i}']\n\n")).collect();
        let wsgi = format!(
            "import os\nROOT = os.path.dirname(__file__)\n{handlers}def application(environ, start_response):\n    return [environ['PATH_INFO'], os.path.basename(ROOT), __name__]\n"
        );
        let tree = Tree::new(&[("app.wsgi", &wsgi)]);
        let script = tree.path("app.wsgi");
        let before = run_python(&python, &["-c", loader, script.to_str().unwrap()], &tree.root);
        assert!(before.status.success(), "{label}: {}", text(&before.stderr));
        let deployment = resolve(&settings(&tree, &python, None));
        let diagnosis = run(&deployment);
        assert_findings(&tree, &diagnosis, &["warning script-not-cached app.wsgi"], &label);

        let plan = stub::plan(&script, None).unwrap();
        assert_eq!(plan.body, tree.path("app.wsgi-body.py"));
        stub::apply(&plan).unwrap();
        let after = run_python(&python, &["-c", loader, script.to_str().unwrap()], &tree.root);
        assert_eq!(text(&after.stdout), text(&before.stdout), "{label}: {}", text(&after.stderr));
        assert!(body_cache_named(&python, &plan.body).is_file(), "{label}: the body is cached");
        // Doctor no longer reports the script, and the body is a module with a cache.
        let diagnosis = run(&deployment);
        assert_findings(&tree, &diagnosis, &[], &label);
        assert_eq!(predictions(&tree, &diagnosis), ["app.wsgi-body.py hit"]);
    }
}

fn body_cache_named(python: &Interpreter, body: &Path) -> std::path::PathBuf {
    let stem = body.file_stem().unwrap().to_str().unwrap();
    match &python.cache_tag {
        Some(tag) => body.parent().unwrap().join("__pycache__").join(format!("{stem}.{tag}.pyc")),
        None => body.with_extension("pyc"),
    }
}

#[test]
fn a_dry_run_changes_nothing() {
    let tree = Tree::new(&[("run.cgi", "#!/usr/bin/python3\nprint('Content-Type: text/plain')\n")]);
    let before = std::fs::read(tree.path("run.cgi")).unwrap();
    let plan = stub::plan(&tree.path("run.cgi"), Some("run_body.py")).unwrap();
    assert!(plan.stub.starts_with("#!/usr/bin/python3\n"));
    assert!(plan.stub.contains("exec(_pycache_stub_code('run_body.py'))"));
    assert_eq!(std::fs::read(tree.path("run.cgi")).unwrap(), before);
    assert!(!tree.path("run_body.py").exists());
}
