//! What a web server configuration says about Python bytecode caches.
//!
//! `pycache doctor --server-config FILE` needs to know, from an Apache
//! (mod_wsgi), uWSGI (.ini or .yaml) or gunicorn (Python) configuration:
//! the optimisation level the server runs at, the service user and group,
//! the entry scripts it compiles on every load (never cached), the modules
//! it imports normally, the virtual environment, and settings that change
//! where or whether caches are written. [`read`] picks the parser from the
//! file's name and contents.

mod apache;
mod gunicorn;
mod uwsgi;

use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    Apache,
    Uwsgi,
    Gunicorn,
}

impl std::fmt::Display for ServerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Apache => "Apache/mod_wsgi",
            Self::Uwsgi => "uWSGI",
            Self::Gunicorn => "gunicorn",
        })
    }
}

/// The Python-relevant settings of one server configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ServerConfig {
    pub kind: ServerKind,
    pub file: PathBuf,
    /// The level the application runs at (`WSGIPythonOptimize`, `optimize`,
    /// `PYTHONOPTIMIZE` in the environment).
    pub optimize: Option<u8>,
    pub user: Option<String>,
    pub group: Option<String>,
    /// Files the server reads and compiles on every load and never caches:
    /// `WSGIScriptAlias` targets, uWSGI `wsgi-file`/`file`, CGI directories.
    pub scripts: Vec<PathBuf>,
    /// Directories whose `.py` files are CGI scripts.
    pub cgi_dirs: Vec<PathBuf>,
    /// Modules imported the normal way (cached): uWSGI `module`, gunicorn's app.
    pub modules: Vec<String>,
    /// The virtual environment or Python home.
    pub python_home: Option<PathBuf>,
    pub python_path: Vec<PathBuf>,
    /// `PYTHONPYCACHEPREFIX` set for the application.
    pub pycache_prefix: Option<PathBuf>,
    /// Writes disabled (`WSGIDontWriteBytecode On`, `PYTHONDONTWRITEBYTECODE`).
    pub dont_write_bytecode: bool,
    /// The application is loaded before privileges drop (uWSGI
    /// `master-as-root`/`drop-after-apps`, gunicorn `preload_app` run as
    /// root): caches written at load belong to root.
    pub loads_as_root: bool,
    /// Things the parser saw but could not resolve, for the report.
    pub notes: Vec<String>,
}

impl ServerConfig {
    fn new(kind: ServerKind, file: &Path) -> Self {
        Self {
            kind,
            file: file.to_owned(),
            optimize: None,
            user: None,
            group: None,
            scripts: Vec::new(),
            cgi_dirs: Vec::new(),
            modules: Vec::new(),
            python_home: None,
            python_path: Vec::new(),
            pycache_prefix: None,
            dont_write_bytecode: false,
            loads_as_root: false,
            notes: Vec::new(),
        }
    }

    /// Applies one `NAME=value` environment setting given to the app.
    fn apply_env(&mut self, assignment: &str) {
        let Some((name, value)) = assignment.split_once('=') else { return };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        match name.trim() {
            "PYTHONPYCACHEPREFIX" if !value.is_empty() => self.pycache_prefix = Some(PathBuf::from(value)),
            "PYTHONDONTWRITEBYTECODE" if !value.is_empty() => self.dont_write_bytecode = true,
            "PYTHONOPTIMIZE" => {
                // Any non-empty value is at least -O; a number is the level.
                self.optimize = match value.parse::<u8>() {
                    Ok(n) => Some(n.min(2)),
                    Err(_) if !value.is_empty() => Some(1),
                    Err(_) => self.optimize,
                };
            }
            _ => {}
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("`{path}` line {line}: {message}")]
    Syntax { path: PathBuf, line: usize, message: String },
    #[error("`{0}` is not a configuration pycache recognises (Apache/mod_wsgi, uWSGI .ini/.yaml, gunicorn .py)")]
    Unknown(PathBuf),
}

/// Reads a server configuration, choosing the parser by extension and
/// content. Paths are returned as written.
pub fn read(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text =
        fs_err::read_to_string(path).map_err(|e| ConfigError::Read { path: path.to_owned(), source: e.into() })?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "ini" => uwsgi::parse_ini(path, &text),
        "yaml" | "yml" => uwsgi::parse_yaml(path, &text),
        "py" => Ok(gunicorn::parse(path, &text)),
        "conf" | "load" | "" if looks_like_apache(&text) => Ok(apache::parse(path, &text)),
        _ if text.lines().any(|l| l.trim() == "[uwsgi]") => uwsgi::parse_ini(path, &text),
        _ if looks_like_apache(&text) => Ok(apache::parse(path, &text)),
        _ if name.contains("gunicorn") => Ok(gunicorn::parse(path, &text)),
        _ => Err(ConfigError::Unknown(path.to_owned())),
    }
}

fn looks_like_apache(text: &str) -> bool {
    text.lines().map(str::trim_start).any(|l| {
        let lower = l.to_ascii_lowercase();
        lower.starts_with("wsgi") || lower.starts_with("<virtualhost") || lower.starts_with("scriptalias")
    })
}

/// `true`, `yes`, `on`, `1` (any case).
fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1")
}
