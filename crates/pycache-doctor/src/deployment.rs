//! How the tree is run: from the command line and the server configuration
//! to the interpreters, the service user and the settings that decide what
//! happens to caches.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use pycache_python::{DiscoveryError, Interpreter, ProbeCache, ProbeError, PythonRequest, find_interpreter};
use pycache_serverconf::{ConfigError, ServerKind};

use crate::identity::{IdentityError, ServiceUser};
use crate::launch::{Launch, Policy, Purpose, identify_from_files};

/// What the user told doctor about the deployment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub paths: Vec<PathBuf>,
    /// `--python` requests; empty means discovery (a virtual environment in
    /// the tree or the server's python-home, else the default interpreter).
    pub python: Vec<String>,
    /// `--user NAME|UID`.
    pub user: Option<String>,
    /// `--group NAME|GID`.
    pub group: Option<String>,
    pub optimize: Option<u8>,
    pub server_config: Option<PathBuf>,
    pub cache_prefix: Option<PathBuf>,
    /// The deployment runs with `PYTHONDONTWRITEBYTECODE` (or `-B`).
    pub dont_write_bytecode: bool,
    /// Entry scripts the server compiles on every load, besides those of
    /// the server configuration.
    pub scripts: Vec<PathBuf>,
    /// Examine directories on other file systems (bind mounts included)
    /// than their root's.
    pub cross_filesystems: bool,
    /// Also judge each interpreter's own library (the standard library and
    /// site-packages on its `sys.path`) at the deployment's level, as the
    /// service user, and which of its modules. The command line always
    /// does.
    pub libraries: Libraries,
}

/// Which modules of the interpreters' own libraries doctor judges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Libraries {
    /// None.
    #[default]
    Off,
    /// Every module on `sys.path` (those that do not compile left out).
    SysPath,
    /// Those `--probe` sees the application load: their findings come
    /// with [`crate::Diagnosis::apply_probe`].
    Probed,
}

/// Everything known about how the tree is run.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The trees to examine, absolute.
    pub paths: Vec<PathBuf>,
    pub targets: Vec<Interpreter>,
    /// How each of `targets` may be started (same order).
    pub launches: Vec<Launch>,
    pub user: ServiceUser,
    /// The optimisation level the processes run at, and who said so.
    pub optimize: u8,
    pub optimize_from: String,
    /// The pycache prefix the processes use (absolute), if any.
    pub cache_prefix: Option<PathBuf>,
    /// Why bytecode writes are disabled, when they are.
    pub writes_disabled_by: Option<String>,
    /// Entry scripts the server compiles on every load (absolute).
    pub scripts: Vec<PathBuf>,
    /// Directories whose files run as CGI scripts (absolute).
    pub cgi_dirs: Vec<PathBuf>,
    /// Extra `sys.path` entries of the application (absolute).
    pub python_path: Vec<PathBuf>,
    /// The application is imported before privileges drop, and by what setting.
    pub loads_as_root: Option<String>,
    pub server: Option<ServerKind>,
    pub server_file: Option<PathBuf>,
    /// Lines about how the deployment was read, shown with the report.
    pub notes: Vec<String>,
    /// Examine directories on other file systems than their root's.
    pub cross_filesystems: bool,
    /// Judge the interpreters' own libraries too ([`Settings::libraries`]).
    pub libraries: Libraries,
}

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error("no paths to examine: give directories, or a server configuration that names the application")]
    NoPaths,
    #[error("`{0}` does not exist")]
    Missing(PathBuf),
    #[error("{0} is not CPython; doctor knows CPython's import system only")]
    NotCpython(String),
    #[error("optimisation level {0} does not exist (0, 1 or 2)")]
    BadLevel(u8),
    #[error(
        "will not run `{path}` as `{runner}` to learn its version: {why}, so it could run anything as `{runner}`. \
         It could not be identified from its files either ({files}). Name with --python an interpreter only \
         `{runner}` can change, or (doctor) give the service user with --user, so that it runs as that user"
    )]
    Untrusted { path: PathBuf, runner: String, why: String, files: String },
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// A virtual environment's interpreter in or beside the tree, or at the
/// server's python-home.
fn tree_interpreter(roots: &[PathBuf], home: Option<&Path>) -> Option<PathBuf> {
    let mut places: Vec<PathBuf> = home.map(Path::to_path_buf).into_iter().collect();
    for root in roots {
        for dir in root.ancestors().take(2) {
            for name in ["", "venv", ".venv", "env"] {
                places.push(if name.is_empty() { dir.to_owned() } else { dir.join(name) });
            }
        }
    }
    places.into_iter().find_map(|place| {
        let python = place.join("bin/python");
        let environment = place.join("pyvenv.cfg").is_file() || home == Some(place.as_path());
        (environment && python.is_file()).then_some(python)
    })
}

impl Deployment {
    /// The interpreter flag of the deployment's level: none, `-O` or `-OO`.
    pub fn optimize_flag(&self) -> Option<&'static str> {
        match self.optimize {
            0 => None,
            1 => Some("-O"),
            _ => Some("-OO"),
        }
    }

    /// Reads the server configuration, resolves the user and finds the
    /// interpreters.
    pub fn resolve(settings: &Settings, probes: &ProbeCache) -> Result<Self, DeploymentError> {
        let config_file = settings.server_config.as_deref().map(absolute);
        let config = config_file.as_deref().map(pycache_serverconf::read).transpose()?;
        let mut notes = Vec::new();
        let conf_name = |what: &str| {
            config.as_ref().map(|c| format!("{what} in `{}`", c.file.display())).unwrap_or_else(|| what.to_owned())
        };

        let mut paths: Vec<PathBuf> = settings.paths.iter().map(|p| absolute(p)).collect();
        if paths.is_empty()
            && let Some(config) = &config
        {
            paths.extend(config.python_path.iter().map(|p| absolute(p)));
            paths.extend(config.scripts.iter().filter_map(|s| s.parent()).map(absolute));
            paths.extend(config.cgi_dirs.iter().map(|p| absolute(p)));
            paths.sort();
            paths.dedup();
            // A directory inside another listed one is walked with it.
            let all = paths.clone();
            paths.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
            if !paths.is_empty() {
                notes.push(format!(
                    "examining the application's directories from `{}`: {}",
                    config.file.display(),
                    paths.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if paths.is_empty() {
            return Err(DeploymentError::NoPaths);
        }
        if let Some(missing) = paths.iter().find(|p| !p.exists()) {
            return Err(DeploymentError::Missing(missing.clone()));
        }

        let user_name = settings.user.clone().or_else(|| config.as_ref().and_then(|c| c.user.clone()));
        let group = settings.group.clone().or_else(|| config.as_ref().and_then(|c| c.group.clone()));
        let user = match &user_name {
            Some(name) => ServiceUser::resolve(name, group.as_deref())?,
            None => {
                let current = ServiceUser::current();
                notes.push(format!("no service user given: judging permissions as `{}` (use --user)", current.name));
                current
            }
        };

        let (optimize, optimize_from) = match (settings.optimize, config.as_ref().and_then(|c| c.optimize)) {
            (Some(level), _) => (level, format!("--optimize {level}")),
            (None, Some(level)) => (level, conf_name(&format!("level {level}"))),
            (None, None) => (0, "the default level 0".to_owned()),
        };
        if optimize > 2 {
            return Err(DeploymentError::BadLevel(optimize));
        }

        let cache_prefix = settings
            .cache_prefix
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.pycache_prefix.clone()))
            .map(|p| absolute(&p));
        let writes_disabled_by = if settings.dont_write_bytecode {
            Some("--dont-write-bytecode".to_owned())
        } else if config.as_ref().is_some_and(|c| c.dont_write_bytecode) {
            let setting = match config.as_ref().map(|c| c.kind) {
                Some(ServerKind::Apache) => "WSGIDontWriteBytecode On",
                _ => "PYTHONDONTWRITEBYTECODE",
            };
            Some(conf_name(setting))
        } else {
            None
        };
        if writes_disabled_by.is_none() && std::env::var_os("PYTHONDONTWRITEBYTECODE").is_some_and(|v| !v.is_empty()) {
            notes.push(
                "PYTHONDONTWRITEBYTECODE is set in this shell; if the deployment's processes have it too, pass \
                 --dont-write-bytecode"
                    .into(),
            );
        }

        let mut scripts: Vec<PathBuf> = settings.scripts.iter().map(|p| absolute(p)).collect();
        let mut cgi_dirs = Vec::new();
        let mut python_path = Vec::new();
        let mut loads_as_root = None;
        if let Some(config) = &config {
            scripts.extend(config.scripts.iter().map(|p| absolute(p)));
            cgi_dirs.extend(config.cgi_dirs.iter().map(|p| absolute(p)));
            python_path.extend(config.python_path.iter().map(|p| absolute(p)));
            if config.loads_as_root {
                let setting = match config.kind {
                    ServerKind::Uwsgi => "master-as-root/drop-after-apps",
                    ServerKind::Gunicorn => "preload_app",
                    ServerKind::Apache => "the server configuration",
                };
                loads_as_root = Some(conf_name(setting));
            }
            notes.extend(config.notes.iter().map(|n| format!("`{}`: {n}", config.file.display())));
        }
        scripts.sort();
        scripts.dedup();
        for script in &scripts {
            if !script.is_file() {
                notes.push(format!("the entry script `{}` does not exist", script.display()));
            }
        }

        // The tree's own interpreter may belong to the service user: it must
        // not run with pycache's privileges (see `launch`).
        let policy = Policy::new(&user);
        let probe_notes = Arc::new(Mutex::new(Vec::new()));
        probes.set_launcher(Some(policy.launcher(probe_notes.clone())));
        struct Reset<'a>(&'a ProbeCache);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                self.0.set_launcher(None);
            }
        }
        let _reset = Reset(probes);

        let home = config.as_ref().and_then(|c| c.python_home.as_deref());
        let requests: Vec<PythonRequest> = if settings.python.is_empty() {
            match tree_interpreter(&paths, home) {
                Some(python) => {
                    notes.push(format!("interpreter found for the tree: `{}`", python.display()));
                    vec![PythonRequest::Path(python)]
                }
                None => vec![PythonRequest::Default],
            }
        } else {
            settings.python.iter().map(|p| p.parse()).collect::<Result<_, _>>()?
        };
        let mut targets: Vec<Interpreter> = Vec::new();
        let mut launches: Vec<Launch> = Vec::new();
        for request in &requests {
            let (interpreter, launch) = identify(request, probes, &policy, &mut notes)?;
            if !interpreter.is_cpython() {
                return Err(DeploymentError::NotCpython(interpreter.to_string()));
            }
            if !targets.iter().any(|t| t.path == interpreter.path) {
                targets.push(interpreter);
                launches.push(launch);
            }
        }
        notes.extend(probe_notes.lock().expect("notes lock").drain(..));

        Ok(Self {
            paths,
            targets,
            launches,
            user,
            optimize,
            optimize_from,
            cache_prefix,
            writes_disabled_by,
            scripts,
            cgi_dirs,
            python_path,
            loads_as_root,
            server: config.as_ref().map(|c| c.kind),
            server_file: config.as_ref().map(|c| c.file.clone()),
            notes,
            cross_filesystems: settings.cross_filesystems,
            libraries: settings.libraries,
        })
    }

    /// A command that starts target `index` for `purpose` without handing
    /// pycache's privileges to another user: `-E` and the rest are the
    /// caller's. `Err` says why it must not run.
    pub fn command(&self, index: usize, purpose: Purpose) -> Result<Command, String> {
        let python = &self.targets[index];
        let launch = self.launches.get(index).cloned().unwrap_or(Launch::Direct);
        let switch = !self.user.is_current();
        let (program, as_user) = match (purpose, launch) {
            // The deployment's own interpreter, with its environment; the
            // probe runs it as the service user when that is someone else.
            (Purpose::Import, Launch::Direct) => (python.path.clone(), switch),
            (Purpose::Import, _) if switch && nix::unistd::geteuid().is_root() => (python.path.clone(), true),
            (Purpose::Import, launch) => {
                return Err(format!("{}; pycache runs it only as the service user", launch.why().unwrap_or_default()));
            }
            (Purpose::Compile, Launch::Direct) => (python.path.clone(), false),
            (Purpose::Compile, Launch::Base { base, .. }) => (base, false),
            (Purpose::Compile, Launch::AsServiceUser { .. }) => (python.path.clone(), true),
            (Purpose::Compile, Launch::Never { why }) => return Err(why),
        };
        let mut command = Command::new(program);
        command.current_dir("/");
        if as_user {
            crate::access::become_user(&mut command, &self.user);
        }
        Ok(command)
    }

    pub fn dont_write_bytecode(&self) -> bool {
        self.writes_disabled_by.is_some()
    }

    /// The root given for `path`: the longest one containing it.
    pub fn root_of(&self, path: &Path) -> PathBuf {
        self.paths
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .cloned()
            .unwrap_or_else(|| path.parent().unwrap_or(path).to_path_buf())
    }

    /// How to change the optimisation level, in the server's own terms.
    pub fn optimize_setting(&self, level: u8) -> String {
        match self.server {
            Some(ServerKind::Apache) => format!("`WSGIPythonOptimize {level}`"),
            Some(ServerKind::Uwsgi) => format!("`optimize = {level}`"),
            Some(ServerKind::Gunicorn) => format!("`PYTHONOPTIMIZE={level}` in raw_env"),
            None => format!("`PYTHONOPTIMIZE={level}` (or `-{}`)", "O".repeat(level.max(1).into())),
        }
    }
}

/// The interpreter a request names, found as doctor finds its own: one
/// another user can change is identified from its files, never run with
/// pycache's privileges (there is no service user to run it as). For
/// commands that only need to know an interpreter, such as `clean`.
pub fn find_interpreter_safely(request: &PythonRequest, probes: &ProbeCache) -> Result<Interpreter, DeploymentError> {
    let policy = Policy::new(&ServiceUser::current());
    probes.set_launcher(Some(policy.launcher(Arc::new(Mutex::new(Vec::new())))));
    let found = identify(request, probes, &policy, &mut Vec::new());
    probes.set_launcher(None);
    found.map(|(interpreter, _)| interpreter)
}

/// The interpreter a request names, and how it may be started. A path
/// another user can change is identified from its files where it can be,
/// else asked as the service user (the probe cache's launcher decides),
/// else refused.
fn identify(
    request: &PythonRequest,
    probes: &ProbeCache,
    policy: &Policy,
    notes: &mut Vec<String>,
) -> Result<(Interpreter, Launch), DeploymentError> {
    let PythonRequest::Path(path) = request else {
        let interpreter = find_interpreter(request, probes)?;
        let launch = policy.launch(crate::trust::foreign_writer(&interpreter.path));
        return Ok((interpreter, launch));
    };
    let Some(why) = crate::trust::foreign_writer(path) else {
        return Ok((find_interpreter(request, probes)?, Launch::Direct));
    };
    match identify_from_files(path, probes) {
        Ok((interpreter, base, how)) => {
            notes.push(format!("`{}` was identified {how} without running it: {why}", path.display()));
            Ok((interpreter, Launch::Base { base, why }))
        }
        Err(files) => match find_interpreter(request, probes) {
            Ok(interpreter) => Ok((interpreter, policy.launch(Some(why)))),
            Err(DiscoveryError::Probe(ProbeError::Refused { path, .. })) => {
                Err(DeploymentError::Untrusted { path, runner: ServiceUser::current().name, why, files })
            }
            Err(err) => Err(err.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_environment_in_the_tree_is_its_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir_all(app.join("venv/bin")).unwrap();
        assert_eq!(tree_interpreter(std::slice::from_ref(&app), None), None);
        std::fs::write(app.join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        std::fs::write(app.join("venv/bin/python"), "").unwrap();
        assert_eq!(tree_interpreter(std::slice::from_ref(&app), None), Some(app.join("venv/bin/python")));
        // The server's python-home wins.
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("bin")).unwrap();
        std::fs::write(home.join("bin/python"), "").unwrap();
        assert_eq!(tree_interpreter(&[app], Some(&home)), Some(home.join("bin/python")));
    }

    #[test]
    fn settings_come_from_the_server_configuration_unless_given() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        let conf = dir.path().join("app.ini");
        std::fs::write(
            &conf,
            format!(
                "[uwsgi]\nuid = root\noptimize = 2\nwsgi-file = {}/app.py\nenv = PYTHONDONTWRITEBYTECODE=1\nmaster-as-root = true\n",
                app.display()
            ),
        )
        .unwrap();
        let settings = Settings {
            server_config: Some(conf.clone()),
            python: vec![std::env::current_exe().unwrap().display().to_string()],
            ..Settings::default()
        };
        // The interpreter request fails (this test binary is no Python), after
        // everything else was read.
        let probes = ProbeCache::open(Some(dir.path().join("probes.json")));
        assert!(matches!(Deployment::resolve(&settings, &probes), Err(DeploymentError::Discovery(_))));
        let no_paths = Settings { server_config: None, ..settings.clone() };
        assert!(matches!(Deployment::resolve(&no_paths, &probes), Err(DeploymentError::NoPaths)));
    }
}
