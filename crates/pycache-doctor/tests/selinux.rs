//! SELinux labels written by the test as the `security.selinux` extended
//! attribute, where the kernel allows it (a SKIP line otherwise). This
//! machine need not enforce SELinux: doctor reads the labels and holds them
//! against httpd's policy, and says when they are not enforced here.

mod common;

use common::*;
use pycache_doctor::{Code, Settings};

const CONTENT: &str = "system_u:object_r:httpd_sys_content_t:s0";
const RW_CONTENT: &str = "system_u:object_r:httpd_sys_rw_content_t:s0";

/// Labels `path`, or says why not.
fn label(path: &std::path::Path, value: &str) -> Result<(), String> {
    let mut bytes = value.as_bytes().to_vec();
    bytes.push(0);
    rustix::fs::lsetxattr(path, pycache_doctor::SELINUX_XATTR, &bytes, rustix::fs::XattrFlags::empty())
        .map_err(|e| e.to_string())
}

#[test]
fn a_read_only_httpd_label_blocks_cache_writes() {
    let test = "a_read_only_httpd_label_blocks_cache_writes";
    let Some(user) = Account::create(test) else { return };
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(&[("main.py", "import pkg.mod\n"), ("pkg/__init__.py", ""), ("pkg/mod.py", "X = 1\n")]);
    tree.chown_r(".", user.uid, user.gid);
    std::fs::create_dir(tree.path("pkg/__pycache__")).unwrap();
    std::os::unix::fs::chown(tree.path("pkg/__pycache__"), Some(user.uid), Some(user.gid)).unwrap();
    for (rel, value) in [(".", CONTENT), ("pkg", CONTENT), ("pkg/__pycache__", RW_CONTENT)] {
        if let Err(err) = label(&tree.path(rel), value) {
            eprintln!("SKIP {test}: cannot write an SELinux label here ({err})");
            return;
        }
    }
    assert_eq!(pycache_doctor::selinux_label(&tree.root).as_deref(), Some(CONTENT));
    let conf = tree.path("site.conf");
    std::fs::write(&conf, format!("WSGIDaemonProcess app user={} python-path={}\n", user.name, tree.root.display()))
        .unwrap();
    let settings = Settings { server_config: Some(conf), ..settings(&tree, &python, None) };
    exposed(test, |exposed| {
        let deployment = resolve(&settings);
        assert_eq!(deployment.user.name, user.name);
        let diagnosis = run(&deployment);
        // main.py's `__pycache__` must be created in the read-only root;
        // pkg's exists and is writable to httpd.
        assert_findings(
            &tree,
            &diagnosis,
            &[
                "error selinux-label .",
                "warning cache-missing main.py",
                "warning cache-missing pkg/__init__.py",
                "warning cache-missing pkg/mod.py",
            ],
            "3.12",
        );
        let finding = diagnosis.report.findings.iter().find(|f| f.code == Code::SelinuxLabel).unwrap();
        assert!(
            finding.message.contains(&format!("labelled `{CONTENT}`, which httpd processes cannot write")),
            "{}",
            finding.message
        );
        assert!(finding.message.contains("1 module(s)"), "{}", finding.message);
        assert!(
            finding.fix.contains(&format!(
                "semanage fcontext -a -t httpd_sys_rw_content_t '{}(/.*)?/__pycache__(/.*)?' && restorecon -Rv {}",
                tree.root.display(),
                tree.root.display()
            )),
            "{}",
            finding.fix
        );
        let enforced = std::fs::read_to_string("/sys/fs/selinux/enforce").is_ok_and(|s| s.trim() == "1");
        if !enforced {
            assert!(diagnosis.report.notes.iter().any(|n| n.contains("SELinux is")), "{:?}", diagnosis.report.notes);
            // The probe runs outside httpd's domain, where only the permission
            // bits count: it agrees with doctor's per-module predictions.
            if exposed {
                assert_probe_agrees(&deployment, &diagnosis, "3.12");
            }
        }
    });
}

#[test]
fn labels_on_a_tree_apache_does_not_serve_are_only_noted() {
    let test = "labels_on_a_tree_apache_does_not_serve_are_only_noted";
    let Some(python) = pycache_python::testing::reference(3, 12, test) else { return };
    let tree = Tree::new(&[("m.py", "X = 1\n")]);
    if let Err(err) = label(&tree.root, "system_u:object_r:usr_t:s0") {
        eprintln!("SKIP {test}: cannot write an SELinux label here ({err})");
        return;
    }
    let diagnosis = run(&resolve(&settings(&tree, &python, None)));
    assert_findings(&tree, &diagnosis, &["warning cache-missing m.py"], "3.12");
    assert!(
        diagnosis.report.notes.iter().any(|n| n.contains("not served by Apache httpd")),
        "{:?}",
        diagnosis.report.notes
    );
}
