//! `pycache stub`: turn an entry script that is compiled on every load into
//! a small script that runs a cached body.
//!
//! The body moves, byte for byte, to `<script>-body.py` beside the script,
//! so its shebang, encoding line, `from __future__` imports and line numbers
//! stay as they were. That name is not a valid module name: no `import`
//! can ever find it or be shadowed by it, so it cannot clash with a module.
//! The stub loads the body's code object through the importer's own cache
//! logic (`SourceFileLoader.get_code` on 3.x; the `.pyc` beside it on 2.x)
//! and executes it in the script's own namespace: `__name__` (so
//! `if __name__ == "__main__"` still works), `__file__` (so paths computed
//! from it still point beside the script), `sys.argv` and the globals a
//! server looks up (mod_wsgi's `application`) are the script's own.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checks::scripts::STUB_MARKER;

#[derive(Debug, thiserror::Error)]
pub enum StubError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write `{path}`: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("`{0}` is already a pycache stub")]
    AlreadyStub(PathBuf),
    #[error("`{0}` already exists; choose another name with --body")]
    BodyExists(PathBuf),
    #[error(
        "`{0}` is not a usable body file name (a plain file name ending in `.py`, ASCII letters, digits, `.`, `_`, `-`)"
    )]
    BadBodyName(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(PathBuf),
    #[error("`{0}` is a symbolic link: stub the file it points to, so that the body lands beside it")]
    Link(PathBuf),
}

/// What `stub` will do.
#[derive(Debug, Clone, Serialize)]
pub struct StubPlan {
    pub script: PathBuf,
    pub body: PathBuf,
    /// Size of the moved body.
    pub body_bytes: u64,
    /// The new content of the script.
    pub stub: String,
}

fn body_name_ok(name: &str) -> bool {
    name.ends_with(".py")
        && name.len() > 3
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `app.wsgi` → `app.wsgi-body.py`, `manage.py` → `manage-body.py`.
pub fn default_body_name(script: &Path) -> String {
    let name = script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".py").unwrap_or(&name);
    let clean: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    let clean = clean.trim_start_matches('.');
    format!("{}-body.py", if clean.is_empty() { "script" } else { clean })
}

/// The stub's text: the script's `#!` line, then code that loads and runs
/// the body. Pure ASCII, so it needs no encoding line, on 2.x either.
pub fn stub_text(shebang: Option<&str>, body_name: &str) -> String {
    let mut out = String::new();
    if let Some(line) = shebang {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        r#"{STUB_MARKER} the body of this script is in {body_name} beside it, so that
# it is compiled once and cached instead of at every load. It runs here, in
# this script's own namespace: __name__, __file__, sys.argv and the globals
# are the script's. To undo, move {body_name} back over this file.
def _pycache_stub_code(name):
    import os
    import sys
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    del globals()['_pycache_stub_code']
    if sys.version_info[0] >= 3:
        from importlib.machinery import SourceFileLoader
        return SourceFileLoader(name, path).get_code(name)
    import imp
    import marshal
    import py_compile
    import struct
    cache = path + ('c' if __debug__ else 'o')

    def cached():
        try:
            with open(cache, 'rb') as f:
                data = f.read()
            mtime = int(os.stat(path).st_mtime) & 0xFFFFFFFF
            if data[:4] == imp.get_magic() and struct.unpack('<I', data[4:8])[0] == mtime:
                return marshal.loads(data[8:])
        except (IOError, OSError, EOFError, ValueError, TypeError, struct.error):
            pass
        return None

    code = cached()
    if code is None and not sys.dont_write_bytecode:
        try:
            py_compile.compile(path, cache, doraise=True)
        except Exception:
            pass
        code = cached()
    if code is None:
        with open(path, 'rU') as f:
            code = compile(f.read(), path, 'exec', 0, True)
    return code


exec(_pycache_stub_code('{body_name}'))
"#
    ));
    out
}

/// Plans the stub of `script`; `body` overrides the body's file name.
pub fn plan(script: &Path, body: Option<&str>) -> Result<StubPlan, StubError> {
    let meta =
        std::fs::symlink_metadata(script).map_err(|source| StubError::Read { path: script.to_owned(), source })?;
    if meta.file_type().is_symlink() {
        return Err(StubError::Link(script.to_owned()));
    }
    if !meta.is_file() {
        return Err(StubError::NotAFile(script.to_owned()));
    }
    let bytes = std::fs::read(script).map_err(|source| StubError::Read { path: script.to_owned(), source })?;
    if bytes.windows(STUB_MARKER.len()).any(|w| w == STUB_MARKER.as_bytes()) {
        return Err(StubError::AlreadyStub(script.to_owned()));
    }
    let name = body.map(str::to_owned).unwrap_or_else(|| default_body_name(script));
    if !body_name_ok(&name) {
        return Err(StubError::BadBodyName(name));
    }
    let body_path = script.parent().unwrap_or(Path::new(".")).join(&name);
    if body_path.exists() || body_path.symlink_metadata().is_ok() {
        return Err(StubError::BodyExists(body_path));
    }
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let shebang = first.starts_with(b"#!").then(|| String::from_utf8_lossy(first).trim_end_matches('\r').to_owned());
    Ok(StubPlan {
        script: script.to_owned(),
        body: body_path,
        body_bytes: meta.len(),
        stub: stub_text(shebang.as_deref(), &name),
    })
}

/// Writes the body (new file, the script's owner, its mode without the
/// execute bits), then replaces the script by the stub atomically with the
/// same owner and mode.
pub fn apply(plan: &StubPlan) -> Result<(), StubError> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StubError::Write { path, source }
    };
    let meta =
        std::fs::metadata(&plan.script).map_err(|source| StubError::Read { path: plan.script.clone(), source })?;
    let bytes = std::fs::read(&plan.script).map_err(|source| StubError::Read { path: plan.script.clone(), source })?;
    let mode = meta.mode() & 0o7777;
    {
        let mut body = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & !0o111)
            .open(&plan.body)
            .map_err(write_err(&plan.body))?;
        body.write_all(&bytes).map_err(write_err(&plan.body))?;
        body.sync_all().map_err(write_err(&plan.body))?;
        // The umask may have narrowed the mode.
        std::fs::set_permissions(&plan.body, std::fs::Permissions::from_mode(mode & !0o111))
            .map_err(write_err(&plan.body))?;
        let _ = std::os::unix::fs::chown(&plan.body, Some(meta.uid()), Some(meta.gid()));
    }
    let dir = plan.script.parent().unwrap_or(Path::new("."));
    let name = plan.script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.pycache-stub.{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(plan.stub.as_bytes())?;
        file.sync_all()?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode))?;
        let _ = std::os::unix::fs::chown(&temp, Some(meta.uid()), Some(meta.gid()));
        std::fs::rename(&temp, &plan.script)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(StubError::Write { path: plan.script.clone(), source });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_names() {
        assert_eq!(default_body_name(Path::new("/srv/app.wsgi")), "app.wsgi-body.py");
        assert_eq!(default_body_name(Path::new("manage.py")), "manage-body.py");
        assert_eq!(default_body_name(Path::new("index cgi")), "index_cgi-body.py");
        assert!(body_name_ok("x-body.py"));
        assert!(!body_name_ok("../x.py"));
        assert!(!body_name_ok("x.txt"));
    }

    #[test]
    fn the_stub_keeps_the_shebang_and_is_ascii() {
        let text = stub_text(Some("#!/usr/bin/env python3"), "tool-body.py");
        assert!(text.starts_with("#!/usr/bin/env python3\n# pycache stub:"));
        assert!(text.is_ascii());
        assert!(text.ends_with("exec(_pycache_stub_code('tool-body.py'))\n"));
    }

    #[test]
    fn planning_refuses_stubs_and_existing_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("app.wsgi");
        std::fs::write(&script, "application = None\n").unwrap();
        let plan = plan(&script, None).unwrap();
        assert_eq!(plan.body, dir.path().join("app.wsgi-body.py"));
        apply(&plan).unwrap();
        assert_eq!(std::fs::read_to_string(&plan.body).unwrap(), "application = None\n");
        assert!(matches!(super::plan(&script, None), Err(StubError::AlreadyStub(_))));
        let other = dir.path().join("other.py");
        std::fs::write(&other, "x = 1\n").unwrap();
        std::fs::write(dir.path().join("other-body.py"), "").unwrap();
        assert!(matches!(super::plan(&other, None), Err(StubError::BodyExists(_))));
    }
}
