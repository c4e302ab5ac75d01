//! Apache httpd with mod_wsgi (and plain CGI).

use std::path::{Path, PathBuf};

use crate::{ServerConfig, ServerKind, truthy};

/// Splits a directive line into words, honouring double and single quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            (None, c) => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(current);
    }
    out
}

/// Logical lines: comments dropped, `\` continuations joined, with the
/// number of the first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_none() && (line.starts_with('#') || line.is_empty()) {
            continue;
        }
        let (number, mut acc) = pending.take().unwrap_or((index + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                pending = Some((number, acc));
            }
            None => {
                acc.push_str(line);
                out.push((number, acc));
            }
        }
    }
    out.extend(pending);
    out
}

/// `${APACHE_RUN_USER}` and friends, from Debian's `envvars` file when present.
fn resolve_envvar(value: &str, config: &Path) -> Option<String> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let candidates = [config.parent().map(|d| d.join("envvars")), Some(PathBuf::from("/etc/apache2/envvars"))];
    for file in candidates.into_iter().flatten() {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for line in text.lines() {
            let line = line.trim().trim_start_matches("export ").trim();
            if let Some(rest) = line.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                return Some(rest.trim_matches(|c| c == '"' || c == '\'').to_owned());
            }
        }
    }
    None
}

pub(crate) fn parse(path: &Path, text: &str) -> ServerConfig {
    let mut config = ServerConfig::new(ServerKind::Apache, path);
    let mut apache_user = None;
    let mut apache_group = None;
    let mut daemon = false;
    for (number, line) in logical_lines(text) {
        let words = words(&line);
        let Some(directive) = words.first() else { continue };
        let args = &words[1..];
        match directive.to_ascii_lowercase().as_str() {
            "wsgiscriptalias" | "wsgiscriptaliasmatch" => {
                if let Some(target) = args.get(1) {
                    if target.contains('$') {
                        config.notes.push(format!(
                            "line {number}: {directive} names scripts by pattern (`{target}`); check them with --script"
                        ));
                    } else {
                        config.scripts.push(PathBuf::from(target));
                    }
                }
            }
            "wsgidaemonprocess" => {
                daemon = true;
                for option in args.iter().skip(1) {
                    let Some((key, value)) = option.split_once('=') else { continue };
                    match key.to_ascii_lowercase().as_str() {
                        "user" => config.user = Some(value.to_owned()),
                        "group" => config.group = Some(value.to_owned()),
                        "python-home" => config.python_home = Some(PathBuf::from(value)),
                        "python-path" => config.python_path.extend(value.split(':').map(PathBuf::from)),
                        _ => {}
                    }
                }
            }
            "wsgipythonhome" => config.python_home = args.first().map(PathBuf::from),
            "wsgipythonpath" => {
                if let Some(value) = args.first() {
                    config.python_path.extend(value.split(':').map(PathBuf::from));
                }
            }
            "wsgipythonoptimize" => config.optimize = args.first().and_then(|v| v.parse::<u8>().ok()).map(|n| n.min(2)),
            "wsgidontwritebytecode" => config.dont_write_bytecode = args.first().is_some_and(|v| truthy(v)),
            "scriptalias" | "scriptaliasmatch" => {
                if let Some(dir) = args.get(1) {
                    config.cgi_dirs.push(PathBuf::from(dir));
                }
            }
            "user" => apache_user = args.first().cloned(),
            "group" => apache_group = args.first().cloned(),
            _ => {}
        }
    }
    // Embedded mode, or daemon processes without user=, run as Apache's User.
    let resolve = |value: Option<String>, config: &mut ServerConfig| {
        let value = value?;
        if value.starts_with("${") {
            let resolved = resolve_envvar(&value, path);
            if resolved.is_none() {
                config.notes.push(format!("cannot resolve `{value}`; give the service user with --user"));
            }
            resolved
        } else {
            Some(value)
        }
    };
    if config.user.is_none() {
        config.user = resolve(apache_user, &mut config);
    }
    if config.group.is_none() {
        config.group = resolve(apache_group, &mut config);
    }
    if !daemon && config.user.is_none() {
        config.notes.push("no User and no WSGIDaemonProcess user=: the service user is unknown".into());
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_mod_wsgi_virtual_host() {
        let conf = r#"
# The app
<VirtualHost *:80>
    WSGIDaemonProcess app user=wsgi group=www-data \
        python-home=/srv/venv python-path=/srv/app:/srv/lib
    WSGIProcessGroup app
    WSGIScriptAlias / "/srv/app/app.wsgi" process-group=app
    WSGIScriptAliasMatch ^/v(\d+) /srv/app/v$1.wsgi
    ScriptAlias /cgi-bin/ /srv/cgi/
</VirtualHost>
WSGIPythonOptimize 2
WSGIDontWriteBytecode On
User www-data
"#;
        let config = parse(Path::new("/etc/apache2/sites-enabled/app.conf"), conf);
        assert_eq!(config.user.as_deref(), Some("wsgi"));
        assert_eq!(config.group.as_deref(), Some("www-data"));
        assert_eq!(config.python_home, Some(PathBuf::from("/srv/venv")));
        assert_eq!(config.python_path, vec![PathBuf::from("/srv/app"), PathBuf::from("/srv/lib")]);
        assert_eq!(config.scripts, vec![PathBuf::from("/srv/app/app.wsgi")]);
        assert_eq!(config.cgi_dirs, vec![PathBuf::from("/srv/cgi/")]);
        assert_eq!(config.optimize, Some(2));
        assert!(config.dont_write_bytecode);
        assert!(config.notes[0].contains("pattern"), "{:?}", config.notes);
    }

    #[test]
    fn embedded_mode_runs_as_the_apache_user_from_envvars() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("envvars"),
            "export APACHE_RUN_USER=www-data\nexport APACHE_RUN_GROUP=www-data\n",
        )
        .unwrap();
        let conf = "User ${APACHE_RUN_USER}\nGroup ${APACHE_RUN_GROUP}\nWSGIScriptAlias /app /srv/app.wsgi\n";
        let config = parse(&dir.path().join("apache2.conf"), conf);
        assert_eq!(config.user.as_deref(), Some("www-data"));
        assert_eq!(config.group.as_deref(), Some("www-data"));
    }

    #[test]
    fn quoted_words_and_continuations() {
        assert_eq!(words(r#"A "b c" 'd' e"#), ["A", "b c", "d", "e"]);
        let lines = logical_lines("X a \\\n  b\n# c\nY\n");
        assert_eq!(lines, vec![(1, "X a  b".to_owned()), (4, "Y".to_owned())]);
    }
}
