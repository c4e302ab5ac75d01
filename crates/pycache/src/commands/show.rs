use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use pycache_dis::text::code_info;
use pycache_marshal::{Pyc, RefTable};
use pycache_pyc::{CacheLayout, CacheScheme, Validation, pyc_mtime, pyc_size, source_hash};
use serde_json::json;

use super::dis::{read_cache, select};
use crate::cli::{Format, ShowArgs};
use crate::output::{Out, WithPaths, count};

/// How the cache stands against its source.
struct Freshness {
    source: Option<PathBuf>,
    status: &'static str,
    reason: String,
}

fn freshness(path: &Path, pyc: &Pyc) -> Freshness {
    let version = pyc.format.version();
    let scheme = CacheScheme::new(version, CacheLayout::Pep3147);
    let Some(location) = scheme.source_path(path) else {
        return Freshness { source: None, status: "unknown", reason: "the file name is not a cache name".to_owned() };
    };
    let source = location.source;
    let meta = match std::fs::metadata(&source) {
        Ok(meta) => meta,
        Err(err) => {
            return Freshness {
                status: "no source",
                reason: format!("`{}`: {err}", source.display()),
                source: Some(source),
            };
        }
    };
    use std::os::unix::fs::MetadataExt;
    let (status, reason) = match pyc.header.validation {
        Validation::Timestamp { mtime, source_size } => {
            let want_mtime = pyc_mtime(meta.mtime(), meta.mtime_nsec());
            let want_size = pyc_size(meta.len());
            if mtime != want_mtime {
                ("stale", format!("mtime {mtime} in the cache, {want_mtime} on the source"))
            } else if source_size.is_some_and(|size| size != want_size) {
                ("stale", format!("size {} in the cache, {want_size} on the source", source_size.unwrap_or(0)))
            } else {
                ("fresh", "mtime and size match".to_owned())
            }
        }
        Validation::Hash { check_source, hash } => match std::fs::read(&source) {
            Err(err) => ("no source", format!("`{}`: {err}", source.display())),
            Ok(bytes) => match source_hash(pyc.header.magic, &bytes) {
                Some(actual) if actual == hash => ("fresh", "the source hash matches".to_owned()),
                Some(_) if !check_source => {
                    ("stale", "the source hash differs (an unchecked-hash cache is used anyway)".to_owned())
                }
                Some(_) => ("stale", "the source hash differs".to_owned()),
                None => ("unknown", "no source hash for this version".to_owned()),
            },
        },
    };
    Freshness { source: Some(source), status, reason }
}

/// Seconds since 1970 as a UTC date and time.
fn utc(seconds: u32) -> String {
    let days = i64::from(seconds / 86_400);
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest / 60 % 60, rest % 60)
}

pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let (bytes, pyc) = read_cache(&args.file)?;
    let refs = RefTable::new(&pyc.code).with_context(|| format!("`{}`", args.file.display()))?;
    let views = select(&pyc, &refs, None, &args.file)?;
    let fresh = freshness(&args.file, &pyc);
    let header = &pyc.header;
    let version = pyc.format.version();
    let (invalidation, mtime, size, hash) = match header.validation {
        Validation::Timestamp { mtime, source_size } => ("timestamp", Some(mtime), source_size, None),
        Validation::Hash { check_source: true, hash } => ("checked-hash", None, None, Some(hash)),
        Validation::Hash { check_source: false, hash } => ("unchecked-hash", None, None, Some(hash)),
    };
    let hash_hex = hash.map(|h| h.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut out = Out::new();
    match args.format {
        Format::Json => {
            let codes: Vec<_> = views.iter().map(|v| pycache_dis::json::code_info(v, &refs)).collect();
            let fields = json!({
                "python": version.to_string(),
                "magic": header.magic.number(),
                "header_size": header.len(),
                "flags": header.flags,
                "invalidation": invalidation,
                "mtime": mtime,
                "mtime_utc": mtime.map(utc),
                "source_size": size,
                "source_hash": hash_hex,
                "freshness": fresh.status,
                "freshness_reason": fresh.reason,
                "body_size": bytes.len() - header.len(),
                "code_objects": codes,
            });
            let paths = vec![("file", Some(args.file.as_path())), ("source", fresh.source.as_deref())];
            out.json(&WithPaths { fields, paths })?;
        }
        Format::Text => {
            out.line(format_args!("File:              {}", args.file.display()))?;
            out.line(format_args!("Magic:             {} (Python {version})", header.magic.number()))?;
            out.line(format_args!("Flags:             {:#x} ({invalidation})", header.flags))?;
            if let Some(mtime) = mtime {
                out.line(format_args!("Source mtime:      {} ({mtime})", utc(mtime)))?;
            }
            if let Some(size) = size {
                out.line(format_args!("Source size:       {size}"))?;
            }
            if let Some(hash) = &hash_hex {
                out.line(format_args!("Source hash:       {hash}"))?;
            }
            match &fresh.source {
                Some(source) => out.line(format_args!(
                    "Source:            {} ({}: {})",
                    source.display(),
                    fresh.status,
                    fresh.reason
                ))?,
                None => out.line(format_args!("Source:            {} ({})", fresh.status, fresh.reason))?,
            }
            out.line(format_args!(
                "Body:              {}, {}",
                count(bytes.len() - header.len(), "byte", "bytes"),
                count(views.len(), "code object", "code objects")
            ))?;
            for view in &views {
                out.line("")?;
                out.line(format_args!("Code object {}:", view.qualname))?;
                out.line(code_info(view, &refs))?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(u32::MAX), "2106-02-07 06:28:15 UTC");
    }
}
