//! Development sweep: compiles every `.py` file under the given paths with
//! the native compiler and with CPython 3.12 (`dump312.py`), and compares
//! the code objects field by field (marshal aside).
//!
//!     cargo run --release -p pycache-compiler --example sweep -- [-O N] [--show N] PATHS...

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use pycache_compiler::code::{CodeObject, Constant, kind};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pyfloat_hex(f: f64) -> String {
    // Python's float.hex().
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0x0.0p+0");
    }
    let bits = f.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mant = bits & ((1 << 52) - 1);
    let lead;
    if exp == 0 {
        lead = 0;
        exp = -1022;
    } else {
        lead = 1;
        exp -= 1023;
    }
    let digits = format!("{mant:013x}");
    format!("{sign}0x{lead}.{digits}p{}{}", if exp >= 0 { "+" } else { "-" }, exp.abs())
}

fn konst(c: &Constant) -> String {
    match c {
        Constant::None => "None".into(),
        Constant::Ellipsis => "Ellipsis".into(),
        Constant::Bool(b) => format!("Bool({})", if *b { "True" } else { "False" }),
        Constant::Int(i) => format!("Int({i})"),
        Constant::Float(f) => format!("Float({})", pyfloat_hex(*f)),
        Constant::Complex { real, imag } => format!("Complex({},{})", pyfloat_hex(*real), pyfloat_hex(*imag)),
        Constant::Str(s) => format!("Str({})", hex(s.as_bytes())),
        Constant::Bytes(b) => format!("Bytes({})", hex(b)),
        Constant::Tuple(t) => format!("Tuple({})", t.iter().map(konst).collect::<Vec<_>>().join(",")),
        Constant::FrozenSet(t) => {
            let mut items: Vec<String> = t.iter().map(konst).collect();
            items.sort();
            items.dedup();
            format!("FrozenSet({})", items.join(","))
        }
        Constant::Code(c) => format!("Code({})", c.qualname),
    }
}

fn dump(co: &CodeObject, out: &mut Vec<String>) {
    out.push(format!("code {} {}", co.qualname, co.name));
    out.push(format!(
        " args {} {} {} stack {} flags {:x} first {}",
        co.argcount, co.posonlyargcount, co.kwonlyargcount, co.stacksize, co.flags, co.firstlineno
    ));
    out.push(format!(" code {}", hex(&co.code)));
    out.push(format!(" names {}", co.names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")));
    let pick = |mask: u8| -> String {
        co.localsplusnames
            .iter()
            .zip(&co.localspluskinds)
            .filter(|(_, k)| *k & mask != 0)
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    out.push(format!(" varnames {}", pick(kind::LOCAL)));
    out.push(format!(" cellvars {}", pick(kind::CELL)));
    out.push(format!(" freevars {}", pick(kind::FREE)));
    out.push(format!(" filename {}", co.filename));
    out.push(format!(" linetable {}", hex(&co.linetable)));
    out.push(format!(" exceptiontable {}", hex(&co.exceptiontable)));
    for (i, c) in co.consts.iter().enumerate() {
        out.push(format!(" const {i} {}", konst(c)));
    }
    for c in &co.consts {
        if let Constant::Code(inner) = c {
            dump(inner, out);
        }
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if e.file_name().is_some_and(|n| n != "__pycache__") {
                collect(&e, out);
            }
        }
    } else if path.extension().is_some_and(|e| e == "py") {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut optimize = 0u8;
    let mut show = 10usize;
    let mut python = String::from("python3.12");
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
        let result = std::panic::catch_unwind(|| pycache_compiler::compile(&source, &name, optimize));
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
