//! Development aid: compiles one file with the native compiler for any
//! release with a profile, verified or still a candidate, and writes the
//! cache (an unchecked-hash header) to OUT, for `pycache dis` or the
//! interpreter's `dis` to list beside what the interpreter wrote.
//!
//!     cargo run --release -p pycache-compiler --example native_pyc -- 3.13.18 [-O N] SOURCE OUT

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (release, rest) = args.split_first().expect("usage: native_pyc RELEASE [-O N] SOURCE OUT");
    let (level, rest) = match rest {
        [flag, n, rest @ ..] if flag == "-O" => (n.parse::<u8>().expect("a level"), rest),
        rest => (0, rest),
    };
    let [source, out] = rest else { panic!("usage: native_pyc RELEASE [-O N] SOURCE OUT") };
    let release: pycache_compiler::Release = release.parse().unwrap_or_else(|e: String| panic!("{e}"));
    let target = pycache_compiler::Target::candidate(release).unwrap_or_else(|| panic!("no profile for {release}"));
    let text = std::fs::read(source).expect("a readable source");
    let compiled = match pycache_compiler::compile_path(&text, source.as_bytes(), target, level) {
        Ok(compiled) => compiled,
        Err(refusal) => {
            eprintln!("{source}: {refusal}");
            std::process::exit(1);
        }
    };
    let mut bytes = target.magic().to_le_bytes().to_vec();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&[1, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend(pycache_compiler::marshal::marshal_code(&compiled, target).expect("marshal"));
    std::fs::write(out, bytes).expect("a writable OUT");
}
