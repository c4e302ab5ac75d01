//! The checks, by family. Each reads the shared [`Context`] and appends
//! findings.

pub(crate) mod caches;
pub(crate) mod docstrings;
pub(crate) mod environment;
pub(crate) mod housekeeping;
pub(crate) mod links;
pub(crate) mod poison;
pub(crate) mod scripts;
pub(crate) mod selinux;
pub(crate) mod syntax;

use std::path::{Path, PathBuf};

use crate::deployment::Deployment;
use crate::doctor::{Entry, Questions, ScriptOrigin, Target};
use crate::scan::Tree;

pub(crate) struct Context<'a> {
    pub deployment: &'a Deployment,
    pub tree: &'a Tree,
    pub targets: &'a [Target<'a>],
    pub entries: &'a [Entry<'a>],
    pub scripts: &'a [(PathBuf, ScriptOrigin)],
    pub questions: &'a Questions,
    /// Sources an interpreter cannot compile, by target and path.
    pub failures: &'a std::collections::HashMap<(usize, PathBuf), syntax::Failure>,
}

/// A path as a shell word.
pub(crate) fn shell(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b));
    if plain { text.into_owned() } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

impl Context<'_> {
    pub fn root_of(&self, path: &Path) -> PathBuf {
        self.deployment.root_of(path)
    }

    /// The command that precompiles `path` for `target` at the level the
    /// deployment runs, where its processes look, run as the owner of the
    /// sources so that the service user gets read-only caches. `flags` go
    /// after `compile`.
    pub fn precompile(&self, target: &Target, path: &Path, flags: &[&str]) -> String {
        precompile(self.deployment, target, path, flags, &[shell(path)])
    }
}

/// The command that precompiles `paths` (shell words) for `target` at the
/// level the deployment runs, where its processes look, run as the owner
/// of `owned` so that the service user gets read-only caches. `flags` go
/// after `compile`.
pub(crate) fn precompile(
    deployment: &Deployment,
    target: &Target,
    owned: &Path,
    flags: &[&str],
    paths: &[String],
) -> String {
    // An interpreter another user can change is named by the base
    // interpreter it was identified by, which compiles the same bytes
    // and is safe to run as root.
    let python = match deployment.launches.get(target.index) {
        Some(crate::launch::Launch::Base { base, .. }) => shell(base),
        _ if target.interpreter.in_virtualenv() => shell(&target.interpreter.path),
        _ => target.request(),
    };
    let mut command = String::new();
    let owner = crate::doctor::owner_of(if owned.is_dir() { owned } else { owned.parent().unwrap_or(owned) });
    if owner != crate::identity::ServiceUser::current().name && owner != "?" {
        command.push_str(&format!("sudo -u {owner} "));
    }
    command.push_str("pycache compile");
    for flag in flags {
        command.push(' ');
        command.push_str(flag);
    }
    command.push_str(&format!(" --python {python}"));
    if deployment.optimize > 0 {
        command.push_str(&format!(" -o {}", deployment.optimize));
    }
    if let Some(prefix) = &deployment.cache_prefix
        && target.scheme.version.has_pycache_prefix()
    {
        command.push_str(&format!(" --cache-prefix {}", shell(prefix)));
    }
    for path in paths {
        command.push(' ');
        command.push_str(path);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell(Path::new("/srv/app-1/x.py")), "/srv/app-1/x.py");
        assert_eq!(shell(Path::new("/srv/my app")), "'/srv/my app'");
        assert_eq!(shell(Path::new("/srv/it's")), r"'/srv/it'\''s'");
    }
}
