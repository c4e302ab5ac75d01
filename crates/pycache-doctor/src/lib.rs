//! What the interpreter will do with every cache of a deployment, and the
//! repairs.
//!
//! [`Deployment::resolve`] reads how a tree is run (interpreters, service
//! user, optimisation level, pycache prefix, write setting, entry scripts),
//! from the command line and a web server's configuration. [`diagnose`]
//! then predicts, for each module and interpreter, what an importing
//! process running as the service user will do: use the cache, compile and
//! write it once, compile it in every process (the cache cannot be written
//! or read), or fail (a damaged cache); and finds the hazards around
//! caches: poisonable cache directories, entry scripts that are never
//! cached, caches at the wrong optimisation level or outside the pycache
//! prefix, SELinux labels, orphans, debris. [`probe::probe`] checks the
//! prediction against the interpreter itself. [`clean::clean`] removes
//! caches selectively, never a source, and [`stub`] turns an uncacheable
//! entry script into a cached body behind a tiny script.

pub mod access;
mod checks;
pub mod clean;
pub mod cost;
mod deployment;
mod doctor;
mod finding;
mod identity;
pub mod launch;
mod library;
pub mod probe;
mod scan;
mod state;
pub mod stub;
mod trust;

pub use checks::scripts::{STUB_MARKER, STUB_SIZE};
pub use checks::selinux::{XATTR as SELINUX_XATTR, label as selinux_label};
pub use deployment::{Deployment, DeploymentError, Libraries, Settings, find_interpreter_safely};
pub use doctor::{Diagnosis, Prediction, PredictionRow, diagnose};
pub use finding::{Code, Finding, Report, Severity, Summary};
pub use identity::{IdentityError, ServiceUser};
pub use library::LibraryRow;
pub use scan::{Tree, WalkOptions, scan};
pub use state::{CacheState, HashCheck, StaleKind, classify};
