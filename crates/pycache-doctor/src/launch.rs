//! How doctor may start each interpreter of a deployment, if at all.
//!
//! An interpreter only root (and pycache's own user) can change runs as it
//! is. One another user can change never runs with pycache's identity: it
//! is identified from its files (`pyvenv.cfg` and the base interpreter it
//! names, which must itself be safe to run, then compiles in its place),
//! or run as the service user, whose privileges the deployment already
//! hands to that code; and when neither is possible, it is not run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use pycache_python::{Interpreter, Launcher, ProbeCache, PythonRequest, find_interpreter};

use crate::identity::ServiceUser;
use crate::trust::{foreign_writer, venv_config};

/// How an interpreter of the deployment may be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// Only root and pycache's user can change it: it runs as it is.
    Direct,
    /// Another user can change it; it was identified from its files, and
    /// `base`, the interpreter its `pyvenv.cfg` names (safe to run),
    /// compiles exactly as it does.
    Base { base: PathBuf, why: String },
    /// Another user can change it: it runs as the service user only.
    AsServiceUser { why: String },
    /// Another user can change it, and pycache cannot become the service
    /// user: it never runs.
    Never { why: String },
}

impl Launch {
    /// Why the interpreter is not run as it is, if it is not.
    pub fn why(&self) -> Option<&str> {
        match self {
            Self::Direct => None,
            Self::Base { why, .. } | Self::AsServiceUser { why } | Self::Never { why } => Some(why),
        }
    }
}

/// What the started interpreter will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Compile sources without running them: any interpreter of the same
    /// release gives the same answer.
    Compile,
    /// Import the deployment's modules: the deployment's own interpreter,
    /// with its virtual environment.
    Import,
}

/// Who may run what, for one service user.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub user: ServiceUser,
    /// pycache runs as root and the service user is someone else.
    pub can_switch: bool,
}

impl Policy {
    pub fn new(user: &ServiceUser) -> Self {
        let can_switch = nix::unistd::geteuid().is_root() && user.uid != 0;
        Self { user: user.clone(), can_switch }
    }

    /// How an interpreter at `path` may run, given why it is not safe to
    /// run as it is (`None`: it is).
    pub fn launch(&self, why: Option<String>) -> Launch {
        match why {
            None => Launch::Direct,
            Some(why) if self.can_switch => Launch::AsServiceUser { why },
            Some(why) => Launch::Never { why },
        }
    }

    /// The rule for interpreter probes: as they are when safe, else as the
    /// service user, else refused. Each probe run as the service user is
    /// noted in `notes`.
    pub fn launcher(&self, notes: Arc<Mutex<Vec<String>>>) -> Arc<Launcher> {
        let policy = self.clone();
        Arc::new(move |path: &Path, command: &mut Command| {
            let Some(why) = foreign_writer(path) else { return Ok(pycache_python::Launch::AsIs) };
            if !policy.can_switch {
                return Err(format!(
                    "{why}, so it could run anything as `{}`",
                    crate::identity::ServiceUser::current().name
                ));
            }
            crate::access::become_user(command, &policy.user);
            notes.lock().expect("notes lock").push(format!(
                "`{}` was run as `{}` to learn its version, not as `root`: {why}",
                path.display(),
                policy.user.name
            ));
            Ok(pycache_python::Launch::Altered)
        })
    }
}

/// Identifies the virtual environment's interpreter at `python` from its
/// files alone: the base interpreter is the file `python` links to, or
/// the one in `pyvenv.cfg`'s `home` of the version that file records,
/// and it must be safe to run. Returns the interpreter as the deployment
/// runs it (its path, its environment as prefix), the base, and how it
/// was found; or why it could not be.
pub(crate) fn identify_from_files(
    python: &Path,
    probes: &ProbeCache,
) -> Result<(Interpreter, PathBuf, String), String> {
    let config = venv_config(python).ok_or_else(|| "there is no `pyvenv.cfg` beside it".to_owned())?;
    let cfg = config.file.display();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(real) = std::fs::canonicalize(python)
        && real != python
    {
        candidates.push(real);
    }
    if let (Some(home), Some((major, minor, _))) = (&config.home, config.version) {
        for name in [format!("python{major}.{minor}"), format!("python{major}"), "python".to_owned()] {
            candidates.push(home.join(name));
        }
    }
    if candidates.is_empty() {
        return Err(format!(
            "`{cfg}` names no `home` and `version`, and `{}` links to no other file",
            python.display()
        ));
    }
    let mut tried = Vec::new();
    for base in candidates {
        if !base.is_file() {
            continue;
        }
        if let Some(why) = foreign_writer(&base) {
            tried.push(format!("`{}`: {why}", base.display()));
            continue;
        }
        let found = match find_interpreter(&PythonRequest::Path(base.clone()), probes) {
            Ok(found) => found,
            Err(err) => {
                tried.push(err.to_string());
                continue;
            }
        };
        let (a, b, c) = found.version;
        let version_agrees = match config.version {
            Some((major, minor, micro)) => (major, minor) == (a, b) && micro.is_none_or(|m| m == c),
            // Without a recorded version only the file it links to is it.
            None => std::fs::canonicalize(python).is_ok_and(|real| real == base),
        };
        let implementation_agrees = config.implementation.as_deref().is_none_or(|i| i == found.implementation);
        if !(version_agrees && implementation_agrees) {
            tried.push(format!("`{}` is {}, which `{cfg}` does not describe", base.display(), found.label()));
            continue;
        }
        let venv = config.file.parent().unwrap_or(Path::new("/")).to_owned();
        let how = format!("from `{cfg}` and `{}` ({})", base.display(), found.label());
        let interpreter = Interpreter {
            path: python.to_owned(),
            executable: python.to_owned(),
            base_prefix: found.base_prefix.clone(),
            prefix: venv,
            ..found
        };
        return Ok((interpreter, base, how));
    }
    Err(if tried.is_empty() {
        format!("no interpreter named by `{cfg}` exists")
    } else {
        format!("no base interpreter fits: {}", tried.join("; "))
    })
}

/// Waits for `child` for at most `timeout`, killing it then. `None` when it
/// ended in time, else what stopped the wait.
pub(crate) fn wait_or_kill(child: &mut std::process::Child, timeout: std::time::Duration) -> Option<String> {
    use wait_timeout::ChildExt;
    match child.wait_timeout(timeout) {
        Ok(Some(_)) => None,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            Some(format!("stopped after {} s", timeout.as_secs()))
        }
        Err(err) => Some(err.to_string()),
    }
}
