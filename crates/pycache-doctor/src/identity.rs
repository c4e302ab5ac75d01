//! The service user whose permissions decide what the interpreter can do.

use nix::unistd::{Gid, Group, Uid, User};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceUser {
    pub name: String,
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
    /// Every group the user is in, the primary one included.
    pub groups: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no user `{0}` on this machine")]
    NoUser(String),
    #[error("no group `{0}` on this machine")]
    NoGroup(String),
    #[error("cannot read the user database: {0}")]
    Lookup(String),
}

impl ServiceUser {
    /// A user by name or numeric id, with its groups from the group
    /// database; `group` (a name or id) replaces the primary group, as a
    /// server's `group=` setting does.
    pub fn resolve(user: &str, group: Option<&str>) -> Result<Self, IdentityError> {
        let lookup = |e: nix::Error| IdentityError::Lookup(e.to_string());
        let found = match user.parse::<u32>() {
            Ok(uid) => User::from_uid(Uid::from_raw(uid)).map_err(lookup)?,
            Err(_) => User::from_name(user).map_err(lookup)?,
        };
        let Some(found) = found else {
            // A bare number without a passwd entry still has permissions.
            if let Ok(uid) = user.parse::<u32>() {
                let gid = match group {
                    Some(g) => resolve_group(g)?,
                    None => uid,
                };
                return Ok(Self { name: uid.to_string(), uid, gid, groups: vec![gid] });
            }
            return Err(IdentityError::NoUser(user.to_owned()));
        };
        let gid = match group {
            Some(g) => resolve_group(g)?,
            None => found.gid.as_raw(),
        };
        let name = std::ffi::CString::new(found.name.clone()).map_err(|e| IdentityError::Lookup(e.to_string()))?;
        let mut groups: Vec<u32> = nix::unistd::getgrouplist(&name, Gid::from_raw(gid))
            .map_err(lookup)?
            .into_iter()
            .map(Gid::as_raw)
            .collect();
        if !groups.contains(&gid) {
            groups.push(gid);
        }
        groups.sort_unstable();
        groups.dedup();
        Ok(Self { name: found.name, uid: found.uid.as_raw(), gid, groups })
    }

    /// The user pycache runs as.
    pub fn current() -> Self {
        let uid = nix::unistd::geteuid();
        let gid = nix::unistd::getegid();
        let name = User::from_uid(uid).ok().flatten().map(|u| u.name).unwrap_or_else(|| uid.to_string());
        let mut groups: Vec<u32> = nix::unistd::getgroups().unwrap_or_default().into_iter().map(Gid::as_raw).collect();
        groups.push(gid.as_raw());
        groups.sort_unstable();
        groups.dedup();
        Self { name, uid: uid.as_raw(), gid: gid.as_raw(), groups }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether this is the user pycache runs as (same uid and groups).
    pub fn is_current(&self) -> bool {
        let current = Self::current();
        current.uid == self.uid && current.gid == self.gid
    }
}

fn resolve_group(group: &str) -> Result<u32, IdentityError> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    Group::from_name(group)
        .map_err(|e| IdentityError::Lookup(e.to_string()))?
        .map(|g| g.gid.as_raw())
        .ok_or_else(|| IdentityError::NoGroup(group.to_owned()))
}

impl std::fmt::Display for ServiceUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (uid {})", self.name, self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_root_by_name_and_number() {
        let by_name = ServiceUser::resolve("root", None).unwrap();
        let by_uid = ServiceUser::resolve("0", None).unwrap();
        assert_eq!(by_name, by_uid);
        assert!(by_name.groups.contains(&0));
        assert!(ServiceUser::resolve("no-such-user-pycache", None).is_err());
        assert!(ServiceUser::resolve("root", Some("no-such-group-pycache")).is_err());
        // An id without a passwd entry still resolves.
        let ghost = ServiceUser::resolve("54321", None).unwrap();
        assert_eq!((ghost.uid, ghost.gid), (54321, 54321));
    }
}
