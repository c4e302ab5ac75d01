//! What packagers need once caches are compiled.
//!
//! [`manifest`] writes the list of caches a run wrote or found fresh, one
//! path per line, for RPM and Debian file lists and container layers.
//! [`record`] adds caches to the `RECORD` of the installed distribution
//! whose source they cache, with an empty hash and size as pip lists the
//! caches it compiles at install time, so that `pip uninstall` removes
//! them too.

pub mod manifest;
pub mod record;
