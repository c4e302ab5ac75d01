//! selinux-label: labels that keep httpd from writing (or reading) the
//! caches it needs. The label is the `security.selinux` extended
//! attribute; httpd's policy lets it write only a few types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::{Context, shell};
use crate::doctor::{needs_write, write_point};
use crate::finding::{Code, Finding, Severity};
use crate::state::CacheState;

pub const XATTR: &str = "security.selinux";

/// Types httpd processes may create files in.
const HTTPD_WRITABLE: &[&str] = &[
    "httpd_sys_rw_content_t",
    "httpd_user_rw_content_t",
    "httpd_cache_t",
    "httpd_tmp_t",
    "httpd_var_lib_t",
    "httpd_var_run_t",
];

/// Types httpd processes may read, besides the writable ones.
const HTTPD_READABLE: &[&str] = &[
    "httpd_sys_content_t",
    "httpd_sys_ra_content_t",
    "httpd_sys_script_exec_t",
    "httpd_user_content_t",
    "httpd_user_ra_content_t",
    "httpd_user_script_exec_t",
    "httpd_config_t",
    "public_content_t",
    "public_content_rw_t",
    "usr_t",
    "lib_t",
    "bin_t",
    "etc_t",
    "var_t",
];

/// The SELinux label of `path` (without following a final symlink), if
/// it has one.
pub fn label(path: &Path) -> Option<String> {
    let mut buf = [0u8; 512];
    let n = rustix::fs::lgetxattr(path, XATTR, &mut buf[..]).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    let text = text.trim_end_matches('\0').trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `httpd_sys_content_t` in `system_u:object_r:httpd_sys_content_t:s0`.
pub fn label_type(label: &str) -> Option<&str> {
    label.split(':').nth(2)
}

fn enforcing() -> Option<bool> {
    std::fs::read_to_string("/sys/fs/selinux/enforce").ok().map(|s| s.trim() == "1")
}

pub(crate) fn run(context: &Context, findings: &mut Vec<Finding>) -> Vec<String> {
    let mut notes = Vec::new();
    let mut labels: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
    let mut label_of = |path: &Path| labels.entry(path.to_owned()).or_insert_with(|| label(path)).clone();
    let dont_write = context.deployment.dont_write_bytecode();
    // Directories the importer must write in, and caches it must read.
    let mut unwritable: BTreeMap<PathBuf, (String, usize)> = BTreeMap::new();
    let mut unreadable: Vec<(PathBuf, String)> = Vec::new();
    let mut any_label = false;
    let mut httpd = context.deployment.server == Some(pycache_serverconf::ServerKind::Apache);
    for root in &context.deployment.paths {
        if let Some(l) = label_of(root) {
            any_label = true;
            httpd |= label_type(&l).is_some_and(|t| t.starts_with("httpd_"));
        }
    }
    for entry in context.entries {
        if needs_write(&entry.state) && !dont_write {
            let point = write_point(&entry.cache);
            if let Some(l) = label_of(&point) {
                any_label = true;
                httpd |= label_type(&l).is_some_and(|t| t.starts_with("httpd_"));
                if !label_type(&l).is_some_and(|t| HTTPD_WRITABLE.contains(&t)) {
                    unwritable.entry(point).or_insert_with(|| (l.clone(), 0)).1 += 1;
                }
            }
        } else if entry.state == CacheState::Fresh
            && let Some(l) = label_of(&entry.cache)
        {
            any_label = true;
            httpd |= label_type(&l).is_some_and(|t| t.starts_with("httpd_"));
            let t = label_type(&l).unwrap_or("");
            if !HTTPD_WRITABLE.contains(&t) && !HTTPD_READABLE.contains(&t) {
                unreadable.push((entry.cache.clone(), l));
            }
        }
    }
    if !any_label {
        return notes;
    }
    if !httpd {
        notes.push(
            "the tree has SELinux labels but is not served by Apache httpd: labels were not checked against a policy"
                .into(),
        );
        return notes;
    }
    match enforcing() {
        Some(true) => {}
        Some(false) => notes.push("SELinux is permissive on this machine: the labels are not enforced here".into()),
        None => notes.push(
            "SELinux is not enabled on this machine: the labels found were checked against httpd's policy, which \
             applies where SELinux enforces them"
                .into(),
        ),
    }
    for (dir, (l, count)) in unwritable {
        let root = context.root_of(&dir);
        let precompile = context
            .targets
            .first()
            .map(|t| context.precompile(t, &root, &[]))
            .unwrap_or_else(|| "pycache compile".into());
        findings.push(Finding::new(
            Code::SelinuxLabel,
            Severity::Error,
            &dir,
            format!(
                "`{}` is labelled `{l}`, which httpd processes cannot write: {count} module(s) whose cache must be \
                 written here are compiled in every process",
                dir.display()
            ),
            format!(
                "precompile as the owner so that nothing needs writing: {precompile}; or let httpd write the caches: \
                 semanage fcontext -a -t httpd_sys_rw_content_t '{}(/.*)?/__pycache__(/.*)?' && restorecon -Rv {}",
                root.display(),
                shell(&root)
            ),
        ));
    }
    for (cache, l) in unreadable {
        let root = context.root_of(&cache);
        findings.push(Finding::new(
            Code::SelinuxLabel,
            Severity::Error,
            &cache,
            format!(
                "`{}` is labelled `{l}`, which httpd processes cannot read: they compile the module instead",
                cache.display()
            ),
            format!(
                "semanage fcontext -a -t httpd_sys_content_t '{}(/.*)?' && restorecon -Rv {}",
                root.display(),
                shell(&root)
            ),
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_the_third_field() {
        assert_eq!(label_type("system_u:object_r:httpd_sys_content_t:s0"), Some("httpd_sys_content_t"));
        assert_eq!(label_type("unlabeled"), None);
    }
}
