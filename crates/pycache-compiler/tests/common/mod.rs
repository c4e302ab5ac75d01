//! Helpers shared by the integration tests that hold the native
//! compiler's syntax errors against the real interpreters.

use std::path::Path;
use std::process::Command;

/// The interpreter's verdict on each source at `level`: `None` when it
/// compiles, else the message, line and offset of its SyntaxError.
pub fn interpreter_errors(python: &Path, sources: &[&str], level: u8) -> Vec<Option<(String, u32, u32)>> {
    let script = r#"
import json, sys
level = int(sys.argv[1])
for src in json.load(sys.stdin):
    try:
        compile(src, "m.py", "exec", optimize=level)
        print(json.dumps(None))
    except SyntaxError as e:
        print(json.dumps([e.msg, e.lineno, e.offset]))
"#;
    let mut child = Command::new(python)
        .args(["-I", "-c", script, &level.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(serde_json::to_string(sources).unwrap().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", python.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Option<(String, u32, u32)>>(line).unwrap())
        .collect()
}
