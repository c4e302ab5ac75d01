//! Development sweep: compiles every `.py` file under the given paths with
//! the native compiler and with CPython 3.12 (`dump312.py`), and compares
//! the code objects field by field (marshal aside).
//!
//!     cargo run --release -p pycache-compiler --example sweep -- [-O N] [--show N] PATHS...

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

#[path = "support/dump.rs"]
mod support;

use support::dump;

#[path = "support/sources.rs"]
mod sources;

use sources::collect;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut optimize = 0u8;
    let mut show = 10usize;
    let mut python = String::from("python3.12");
    // The `python3.12` found here is pyenv's 3.12.1.
    let target = pycache_compiler::Target::exact((3, 12, 1)).expect("the 3.12.1 profile");
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-O" => {
                optimize = args[i + 1].parse().unwrap();
                args.drain(i..i + 2);
            }
            "--show" => {
                show = args[i + 1].parse().unwrap();
                args.drain(i..i + 2);
            }
            "--python" => {
                python = args[i + 1].clone();
                args.drain(i..i + 2);
            }
            _ => i += 1,
        }
    }
    let mut files = Vec::new();
    for a in &args {
        collect(Path::new(a), &mut files);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dump312.py");
    let mut child = std::process::Command::new(&python)
        .arg(&script)
        .arg(optimize.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3.12");
    {
        let mut stdin = child.stdin.take().unwrap();
        let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
        std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    }
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let reference: Vec<&str> = text.split("@@END\n").collect();
    let mut identical = 0;
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut both_failed = 0;
    let mut different = Vec::new();
    let mut panics = Vec::new();
    let total_bytes: usize = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len() as usize).unwrap_or(0)).sum();
    let start = std::time::Instant::now();
    for (path, theirs) in files.iter().zip(&reference) {
        let source = std::fs::read(path).unwrap();
        let name = path.display().to_string();
        let result = std::panic::catch_unwind(|| pycache_compiler::compile(&source, &name, target, optimize));
        match result {
            Err(_) => panics.push(name),
            Ok(Err(refusal)) => {
                if theirs.starts_with("@@ERROR") {
                    both_failed += 1;
                } else {
                    let key = refusal.message.chars().take(60).collect::<String>();
                    *refused.entry(format!("{:?}: {key}", refusal.kind)).or_default() += 1;
                }
            }
            Ok(Ok(code)) => {
                let mut ours = Vec::new();
                dump(&code, &mut ours);
                let ours = ours.join("\n") + "\n";
                if ours == *theirs {
                    identical += 1;
                } else {
                    let first = ours
                        .lines()
                        .zip(theirs.lines())
                        .enumerate()
                        .find(|(_, (a, b))| a != b)
                        .map(|(i, (a, b))| {
                            let ctx = theirs.lines().take(i).filter(|l| l.starts_with("code ")).last().unwrap_or("");
                            format!("{ctx}\n  ours:   {a}\n  theirs: {b}")
                        })
                        .unwrap_or_else(|| "(length differs)".into());
                    different.push((name, first));
                }
            }
        }
    }
    let elapsed = start.elapsed();
    let n = files.len();
    let refused_total: usize = refused.values().sum();
    println!(
        "{n} files: {identical} code-equal ({:.1}%), {} different, {refused_total} refused, {both_failed} rejected by both, {} panics ({:.1} MB/s native)",
        100.0 * identical as f64 / n.max(1) as f64,
        different.len(),
        panics.len(),
        total_bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    let mut reasons: Vec<_> = refused.into_iter().collect();
    reasons.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (reason, count) in reasons.iter().take(15) {
        println!("  refused {count:5}  {reason}");
    }
    for p in panics.iter().take(5) {
        println!("  PANIC {p}");
    }
    for (name, diff) in different.iter().take(show) {
        println!("DIFF {name}\n{diff}");
    }
}
