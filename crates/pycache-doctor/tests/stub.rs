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

/// An extended attribute of `path`, if it has it.
fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::lgetxattr(path, name, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) -> Result<(), String> {
    rustix::fs::lsetxattr(path, name, value, rustix::fs::XattrFlags::empty()).map_err(|e| e.to_string())
}

/// A POSIX access ACL as the kernel stores it (`system.posix_acl_access`):
/// the owner, `user`, the owning group, the mask and others.
fn acl(user: u32, perms: [u16; 5]) -> Vec<u8> {
    let mut out = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, perms[0], u32::MAX),
        (0x02, perms[1], user),
        (0x04, perms[2], u32::MAX),
        (0x10, perms[3], u32::MAX),
        (0x20, perms[4], u32::MAX),
    ] {
        out.extend(tag.to_le_bytes());
        out.extend(perm.to_le_bytes());
        out.extend(id.to_le_bytes());
    }
    out
}

fn stat(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

/// Every name in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    out.sort();
    out
}

#[test]
fn regression_stub_keeps_acls_extended_attributes_setid_bits_and_owner() {
    let test = "regression_stub_keeps_acls_extended_attributes_setid_bits_and_owner";
    let Some(owner) = Account::create(test) else { return };
    let Some(reader) = Account::create(test) else { return };
    let tree = Tree::new(&[]);
    let script = tree.path("tool.cgi");
    std::fs::write(&script, "#!/usr/bin/python3\nprint('hello')\n").unwrap();
    std::os::unix::fs::chown(&script, Some(owner.uid), Some(owner.gid)).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o6750)).unwrap();
    set_xattr(&script, "user.origin", b"deploy 42").unwrap();
    // `reader` may read and run the script through an ACL entry: set with
    // setfacl where it is installed (and its encoding checked against
    // ours), else written as the attribute itself.
    let access = acl(reader.uid, [7, 5, 5, 5, 0]);
    let setfacl =
        std::process::Command::new("setfacl").arg("-m").arg(format!("u:{}:rx", reader.name)).arg(&script).output();
    let acl_set = match setfacl {
        Ok(out) if out.status.success() => {
            assert_eq!(xattr(&script, "system.posix_acl_access"), Some(access.clone()), "setfacl's ACL");
            Ok(())
        }
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        Err(_) => {
            eprintln!("{test}: setfacl is not installed: the ACL is written as `system.posix_acl_access`");
            set_xattr(&script, "system.posix_acl_access", &access)
        }
    };
    if let Err(err) = acl_set {
        eprintln!("SKIP {test} (ACL part): the file system refuses POSIX ACLs ({err})");
    }
    let label = b"system_u:object_r:httpd_sys_script_exec_t:s0\0";
    if let Err(err) = set_xattr(&script, pycache_doctor::SELINUX_XATTR, label) {
        eprintln!("SKIP {test} (SELinux part): the kernel refuses a security.selinux label here ({err})");
    }
    let before = stat(&script);
    assert_eq!(before.2 & 0o6000, 0o6000, "set-id bits in place before");
    let attributes = ["user.origin", "system.posix_acl_access", pycache_doctor::SELINUX_XATTR];
    let original: Vec<Option<Vec<u8>>> = attributes.iter().map(|a| xattr(&script, a)).collect();

    let plan = stub::plan(&script, None).unwrap();
    stub::apply(&plan).unwrap();
    let body = tree.path("tool.cgi-body.py");
    assert!(std::fs::read_to_string(&script).unwrap().contains("# pycache stub:"));
    assert_eq!(stat(&script), before, "the stub keeps owner, group and mode, set-id bits included");
    assert_eq!(stat(&body), (owner.uid, owner.gid, before.2 & 0o666), "the body: no execute or special bits");
    for (name, value) in attributes.iter().zip(&original) {
        assert_eq!(&xattr(&script, name), value, "the stub keeps `{name}`");
        let expected = match (*name, value) {
            // The body is never run: the ACL keeps its entries, without execute.
            ("system.posix_acl_access", Some(_)) => Some(acl(reader.uid, [6, 4, 4, 4, 0])),
            _ => value.clone(),
        };
        assert_eq!(xattr(&body, name), expected, "the body gets `{name}`");
    }
    assert_eq!(names(&tree.root), ["tool.cgi", "tool.cgi-body.py"], "no temporary file left");
    if let Ok(out) = std::process::Command::new("getfacl").args(["--omit-header", "--numeric"]).arg(&body).output()
        && original[1].is_some()
    {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains(&format!("user:{}:r--", reader.uid)), "{text}");
    }
}

#[test]
fn regression_stub_rerun_finishes_after_a_kill_between_its_steps() {
    // A kill after the body was written and before the script was
    // replaced left the body beside the original script; every rerun then
    // refused, because the body existed.
    let tree = Tree::new(&[("app.wsgi", "application = None\n")]);
    let script = tree.path("app.wsgi");
    let body = tree.path("app.wsgi-body.py");
    std::fs::copy(&script, &body).unwrap();
    std::fs::set_permissions(&body, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let plan = stub::plan(&script, None).unwrap();
    stub::apply(&plan).unwrap();
    assert!(std::fs::read_to_string(&script).unwrap().contains("# pycache stub:"));
    assert_eq!(std::fs::read_to_string(&body).unwrap(), "application = None\n");
    // A file of that name that is not the script's copy is someone's: refused.
    let tree = Tree::new(&[("app.wsgi", "application = None\n"), ("app.wsgi-body.py", "other = 1\n")]);
    assert!(matches!(stub::plan(&tree.path("app.wsgi"), None), Err(stub::StubError::BodyExists(_))));
}

#[test]
fn a_rerun_finishes_after_an_interruption_at_any_step() {
    let test = "a_rerun_finishes_after_an_interruption_at_any_step";
    let Some(owner) = Account::create(test) else { return };
    let text = "#!/usr/bin/env python3\nimport sys\nprint(sys.argv)\n";
    // What a run that is never interrupted leaves.
    let clean_run = {
        let tree = Tree::new(&[("run.py", text)]);
        let script = tree.path("run.py");
        std::os::unix::fs::chown(&script, Some(owner.uid), Some(owner.gid)).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o2755)).unwrap();
        set_xattr(&script, "user.tag", b"x").unwrap();
        stub::apply(&stub::plan(&script, None).unwrap()).unwrap();
        let body = tree.path("run-body.py");
        (names(&tree.root), std::fs::read(&script).unwrap(), stat(&script), stat(&body), xattr(&body, "user.tag"))
    };
    // Stopped after each step, and with each temporary file half written.
    let half_body = |tree: &Tree| std::fs::write(tree.path(".run-body.py.pycache-stub"), &text[..10]).unwrap();
    let half_stub = |tree: &Tree| std::fs::write(tree.path(".run.py.pycache-stub"), "#!/usr/bin/e").unwrap();
    // A name, where the run stops, and what a kill in the middle of a write
    // leaves on top of that.
    type Case<'a> = (&'a str, Option<stub::Step>, Option<&'a dyn Fn(&Tree)>);
    let cases: Vec<Case> = vec![
        ("body half written", None, Some(&half_body)),
        ("body written", Some(stub::Step::BodyWritten), None),
        ("body in place", Some(stub::Step::BodyInPlace), None),
        ("body in place, stub half written", Some(stub::Step::BodyInPlace), Some(&half_stub)),
        ("stub written", Some(stub::Step::StubWritten), None),
    ];
    for (label, step, damage) in cases {
        let tree = Tree::new(&[("run.py", text)]);
        let script = tree.path("run.py");
        std::os::unix::fs::chown(&script, Some(owner.uid), Some(owner.gid)).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o2755)).unwrap();
        set_xattr(&script, "user.tag", b"x").unwrap();
        if let Some(step) = step {
            stub::apply_until(&stub::plan(&script, None).unwrap(), step).unwrap();
        }
        if let Some(damage) = damage {
            damage(&tree);
        }
        assert_eq!(std::fs::read_to_string(&script).unwrap(), text, "{label}: the script is still the original");
        let plan = stub::plan(&script, None).unwrap_or_else(|e| panic!("{label}: {e}"));
        stub::apply(&plan).unwrap_or_else(|e| panic!("{label}: {e}"));
        let body = tree.path("run-body.py");
        let got =
            (names(&tree.root), std::fs::read(&script).unwrap(), stat(&script), stat(&body), xattr(&body, "user.tag"));
        assert_eq!(got, clean_run, "{label}: the rerun ends as an uninterrupted run");
        assert_eq!(std::fs::read_to_string(&body).unwrap(), text, "{label}");
    }
}
