//! Development aid: the module unit as code generation leaves it, before
//! the flow graph, for any release with a profile, in the format of
//! `tests/codegen_listing.py` (which prints CPython's own), to diff the two.
//!
//!     cargo run --release -p pycache-compiler --example codegen_listing -- 3.13.0 [-O N] SOURCE

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (release, rest) = args.split_first().expect("usage: codegen_listing RELEASE [-O N] SOURCE");
    let (level, rest) = match rest {
        [flag, n, rest @ ..] if flag == "-O" => (n.parse::<u8>().expect("a level"), rest),
        rest => (0, rest),
    };
    let [source] = rest else { panic!("usage: codegen_listing RELEASE [-O N] SOURCE") };
    let release: pycache_compiler::Release = release.parse().unwrap_or_else(|e: String| panic!("{e}"));
    let target = pycache_compiler::Target::candidate(release).unwrap_or_else(|| panic!("no profile for {release}"));
    let text = std::fs::read(source).expect("a readable source");
    match pycache_compiler::codegen_listing(&text, source, target, level) {
        Ok(listing) => print!("{listing}"),
        Err(refusal) => {
            eprintln!("{source}: {refusal}");
            std::process::exit(1);
        }
    }
}
