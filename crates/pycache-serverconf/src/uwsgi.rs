//! uWSGI, in its `.ini` and `.yaml` forms (both flat: `key = value` or
//! `key: value` under `uwsgi`; keys may repeat).

use std::path::{Path, PathBuf};

use crate::{ConfigError, ServerConfig, ServerKind, truthy};

fn apply(config: &mut ServerConfig, key: &str, value: &str) {
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    // uWSGI accepts `_` and `-` alike in option names.
    match key.trim().replace('_', "-").as_str() {
        "module" | "wsgi" | "callable-module" => config.modules.push(value.to_owned()),
        "wsgi-file" | "file" => config.scripts.push(PathBuf::from(value)),
        "optimize" | "O" => config.optimize = value.parse::<u8>().ok().map(|n| n.min(2)),
        "uid" => config.user = Some(value.to_owned()),
        "gid" => config.group = Some(value.to_owned()),
        "virtualenv" | "venv" | "home" | "pyhome" | "python-home" => config.python_home = Some(PathBuf::from(value)),
        "pythonpath" | "python-path" | "pp" => config.python_path.push(PathBuf::from(value)),
        "env" => config.apply_env(value),
        "master-as-root" | "drop-after-apps" if truthy(value) => config.loads_as_root = true,
        _ => {}
    }
}

pub(crate) fn parse_ini(path: &Path, text: &str) -> Result<ServerConfig, ConfigError> {
    let mut config = ServerConfig::new(ServerKind::Uwsgi, path);
    let mut in_section = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = section.trim() == "uwsgi";
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            // uWSGI treats a bare option name as a true flag.
            apply(&mut config, line, "true");
            continue;
        };
        apply(&mut config, key, value);
    }
    Ok(config)
}

pub(crate) fn parse_yaml(path: &Path, text: &str) -> Result<ServerConfig, ConfigError> {
    let mut config = ServerConfig::new(ServerKind::Uwsgi, path);
    let mut in_section = false;
    let mut list_key: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let without_comment = match raw.find(" #") {
            Some(at) => &raw[..at],
            None => raw,
        };
        if without_comment.trim().is_empty() || without_comment.trim_start().starts_with('#') {
            continue;
        }
        let indented = without_comment.starts_with(' ') || without_comment.starts_with('\t');
        let line = without_comment.trim();
        if !indented {
            in_section = line.trim_end_matches(':') == "uwsgi";
            list_key = None;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some(item) = line.strip_prefix("- ") {
            match &list_key {
                Some(key) => apply(&mut config, key, item),
                None => {
                    return Err(ConfigError::Syntax {
                        path: path.to_owned(),
                        line: index + 1,
                        message: "a list item outside a key".into(),
                    });
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ConfigError::Syntax {
                path: path.to_owned(),
                line: index + 1,
                message: "expected `key: value`".into(),
            });
        };
        if value.trim().is_empty() {
            list_key = Some(key.trim().to_owned());
        } else {
            list_key = None;
            apply(&mut config, key, value);
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_with_repeated_keys_and_env() {
        let text = "[uwsgi]\nmodule = app.wsgi:application\nwsgi-file = /srv/app/legacy.py\noptimize = 1\nuid = app\n\
                    gid = app\nvirtualenv = /srv/venv\npythonpath = /srv/a\npythonpath = /srv/b\n\
                    env = PYTHONPYCACHEPREFIX=/var/cache/app\nmaster-as-root = true\n[other]\nuid = nobody\n";
        let config = parse_ini(Path::new("app.ini"), text).unwrap();
        assert_eq!(config.modules, ["app.wsgi:application"]);
        assert_eq!(config.scripts, [PathBuf::from("/srv/app/legacy.py")]);
        assert_eq!((config.optimize, config.user.as_deref()), (Some(1), Some("app")));
        assert_eq!(config.python_path.len(), 2);
        assert_eq!(config.pycache_prefix, Some(PathBuf::from("/var/cache/app")));
        assert!(config.loads_as_root);
    }

    #[test]
    fn yaml_with_lists() {
        let text = "uwsgi:\n  wsgi-file: /srv/app.py  # the entry\n  optimize: 2\n  env:\n    - PYTHONDONTWRITEBYTECODE=1\n  uid: www-data\n";
        let config = parse_yaml(Path::new("app.yaml"), text).unwrap();
        assert_eq!(config.scripts, [PathBuf::from("/srv/app.py")]);
        assert_eq!(config.optimize, Some(2));
        assert!(config.dont_write_bytecode);
        assert_eq!(config.user.as_deref(), Some("www-data"));
        let bad = parse_yaml(Path::new("bad.yaml"), "uwsgi:\n  nonsense\n").unwrap_err();
        assert!(bad.to_string().contains("`bad.yaml` line 2"), "{bad}");
    }
}
