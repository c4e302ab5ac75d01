//! gunicorn's configuration file: Python, read without running it. Only
//! plain assignments of literals are understood, which is what such files
//! hold in practice.

use std::path::Path;

use crate::{ServerConfig, ServerKind};

/// The string literals in an expression: `"a"`, `['a', "b"]`.
fn strings(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '"' || c == '\'' {
            let mut value = String::new();
            for (_, d) in chars.by_ref() {
                if d == c {
                    break;
                }
                value.push(d);
            }
            out.push(value);
        }
    }
    out
}

pub(crate) fn parse(path: &Path, text: &str) -> ServerConfig {
    let mut config = ServerConfig::new(ServerKind::Gunicorn, path);
    let mut preload = false;
    let mut pending: Option<(String, String)> = None;
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or("").trim_end();
        if let Some((name, mut value)) = pending.take() {
            value.push_str(line);
            if value.matches('[').count() > value.matches(']').count() {
                pending = Some((name, value));
            } else {
                assign(&mut config, &mut preload, &name, &value);
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else { continue };
        let name = name.trim();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if value.matches('[').count() > value.matches(']').count() {
            pending = Some((name.to_owned(), value.to_owned()));
        } else {
            assign(&mut config, &mut preload, name, value);
        }
    }
    // With preload_app the master imports the app before forking; run as
    // root, it writes root-owned caches.
    if preload && config.user.is_some() {
        config.loads_as_root = true;
    }
    config
}

fn assign(config: &mut ServerConfig, preload: &mut bool, name: &str, value: &str) {
    let first = || strings(value).into_iter().next();
    match name {
        "user" => config.user = first().or_else(|| Some(value.trim().to_owned())),
        "group" => config.group = first().or_else(|| Some(value.trim().to_owned())),
        "wsgi_app" => config.modules.extend(first()),
        "raw_env" => {
            for assignment in strings(value) {
                config.apply_env(&assignment);
            }
        }
        "preload_app" => *preload = value.trim() == "True",
        "pythonpath" => {
            if let Some(paths) = first() {
                config.python_path.extend(paths.split(',').map(|p| p.trim().into()));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_literal_assignments() {
        let text = "bind = '0.0.0.0:8000'\nuser = \"app\"\ngroup = 'app'\nwsgi_app = 'app.wsgi:application'\n\
                    raw_env = [\n    'PYTHONOPTIMIZE=2',\n    \"PYTHONPYCACHEPREFIX=/tmp/pyc\",\n]\npreload_app = True\n";
        let config = parse(Path::new("gunicorn.conf.py"), text);
        assert_eq!(config.user.as_deref(), Some("app"));
        assert_eq!(config.modules, ["app.wsgi:application"]);
        assert_eq!(config.optimize, Some(2));
        assert_eq!(config.pycache_prefix.as_deref(), Some(Path::new("/tmp/pyc")));
        assert!(config.loads_as_root);
    }
}
