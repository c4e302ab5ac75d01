//! Sources in every single-byte codec CPython 3.12 has, against the real
//! interpreter: each file names its codec in a PEP 263 cookie (under one of
//! its aliases too) and holds, in a string, a comment and a bytes literal
//! of escapes, every byte its codec defines above ASCII. The native
//! compiler must write what py_compile writes, or, for a byte the codec
//! leaves undefined, refuse the file as CPython does.

use std::process::Command;

use pycache_compiler::marshal::{REFERENCE_COMPILE, marshal_code};
use pycache_python::testing;

/// Writes one source per ASCII-compatible charmap codec (and one with an
/// undefined byte where the codec has any) and prints `name<TAB>file`.
const WRITE_SOURCES: &str = r##"
import encodings, encodings.aliases, importlib, os, pkgutil, sys
out = sys.argv[1]
aliases = {}
for alias, name in sorted(encodings.aliases.aliases.items()):
    aliases.setdefault(name, alias)
for info in sorted(pkgutil.iter_modules(encodings.__path__), key=lambda m: m.name):
    try:
        table = importlib.import_module("encodings." + info.name).decoding_table
    except (ImportError, AttributeError):
        continue
    if len(table) != 256 or table[0x20:0x7F] != "".join(map(chr, range(0x20, 0x7F))):
        continue
    defined = bytes(
        b for b in range(0x80, 0x100) if table[b] != "\ufffe" and table[b].isprintable() and table[b] not in "'\"\\"
    )
    for spelling in {info.name, aliases.get(info.name, info.name).upper()}:
        body = b"# -*- coding: " + spelling.encode() + b" -*-\n# " + defined + b"\ns = '" + defined + b"'\nb = " + repr(defined).encode() + b"\n"
        path = os.path.join(out, spelling + ".py")
        with open(path, "wb") as f:
            f.write(body)
        print(spelling + "\t" + path)
    undefined = [b for b in range(0x80, 0x100) if table[b] == "\ufffe"]
    if undefined:
        path = os.path.join(out, info.name + "-undefined.py")
        with open(path, "wb") as f:
            f.write(b"# coding: " + info.name.encode() + b"\ns = '" + bytes(undefined[:1]) + b"'\n")
        print(info.name + "-undefined\t" + path)
"##;

#[test]
fn single_byte_codecs_match_the_interpreter() {
    let test = "single_byte_codecs_match_the_interpreter";
    let Some(python) = testing::reference(3, 12, test) else { return };
    let Some(target) = pycache_compiler::Target::exact(python.version) else {
        eprintln!("SKIP {test}: {} has no verified profile", python.label());
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let listing = Command::new(&python.executable).args(["-I", "-c", WRITE_SOURCES]).arg(dir.path()).output().unwrap();
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    let listing = String::from_utf8(listing.stdout).unwrap();
    let (mut identical, mut refused) = (0, 0);
    for line in listing.lines() {
        let (name, path) = line.split_once('\t').unwrap();
        let cache = dir.path().join(format!("{name}.pyc"));
        let reference = Command::new(&python.executable)
            .args(["-s", "-P", "-c", REFERENCE_COMPILE])
            .arg(path)
            .arg(&cache)
            .arg("0")
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env("PYTHONHASHSEED", "0")
            .output()
            .unwrap();
        let source = std::fs::read(path).unwrap();
        let ours = pycache_compiler::compile(&source, path, target, 0);
        if !reference.status.success() {
            let stderr = String::from_utf8_lossy(&reference.stderr);
            assert!(name.ends_with("-undefined"), "{name}: CPython refused: {stderr}");
            let refusal = ours.expect_err(name);
            assert_eq!(refusal.kind, pycache_compiler::RefusalKind::Syntax, "{name}: {refusal}");
            refused += 1;
            continue;
        }
        let code = ours.unwrap_or_else(|refusal| panic!("{name}: refused: {refusal}"));
        assert!(
            marshal_code(&code, target).unwrap() == std::fs::read(&cache).unwrap()[16..],
            "{name}: the caches differ"
        );
        identical += 1;
    }
    eprintln!("{identical} files byte-identical with {}, {refused} refused by both", python.label());
    assert!(identical > 80, "{listing}");
}
