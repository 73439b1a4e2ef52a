//! The panel's users: several named people, each with one role and a language, their
//! passwords as Argon2id hashes under the box's one password policy. The list is plain
//! data; `mamori-admind` keeps it in a file of its own (mode 0600).

use mamori_core::identity::Right;
use mamori_core::password::PasswordProblem;
use mamori_core::password_hash;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// The most users a box keeps (an office has a handful).
pub const MAX_USERS: usize = 50;

/// What a panel user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only: logs, quarantine metadata, the audit log.
    Auditor,
    /// Held mail and approvals, and what the auditor sees.
    Approver,
    /// Everything.
    Administrator,
}

impl Role {
    /// The right the daemons grant the role (the panel names it when it acts for a person).
    pub fn right(self) -> Right {
        match self {
            Self::Auditor => Right::Read,
            Self::Approver => Right::Approve,
            Self::Administrator => Right::Admin,
        }
    }

    /// The role's name in forms and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auditor => "auditor",
            Self::Approver => "approver",
            Self::Administrator => "administrator",
        }
    }

    /// Parses a form value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Auditor, Self::Approver, Self::Administrator]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One panel user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The language the panel speaks to this user.
    #[serde(default)]
    pub lang: Lang,
}

/// Why a user could not be added or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// The name is not usable.
    #[error("the user name must be 1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter")]
    BadName,
    /// The name is taken.
    #[error("a user of that name exists")]
    Exists,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// The password breaks the policy.
    #[error(transparent)]
    Password(#[from] PasswordProblem),
    /// The last administrator cannot be removed or demoted.
    #[error("the last administrator cannot be removed or lose the role")]
    LastAdministrator,
    /// Too many users.
    #[error("the box keeps at most {MAX_USERS} users")]
    TooMany,
    /// Hashing failed.
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Whether `name` is a usable login name.
pub fn valid_name(name: &str) -> bool {
    // The panel's own identities in the daemons' audit records.
    !RESERVED_NAMES.contains(&name)
        && (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Names the panel itself acts under (its watchdog, the metrics scraper, the setup code):
/// no person may take one, so the audit records stay unambiguous.
pub const RESERVED_NAMES: &[&str] = &["watchdog", "metrics", "setup", "mamori", "root"];

/// An Argon2id PHC string for `password`: the box's one password hash
/// ([`mamori_core::password_hash`]).
pub fn hash(password: &str) -> Result<String, UserError> {
    password_hash::hash(password).map_err(|e| UserError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (the comparison is constant-time).
pub fn verify(password: &str, hash: &str) -> bool {
    password_hash::verify(password, hash)
}

/// The panel's users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// Every user.
    pub users: Vec<User>,
}

impl Users {
    /// Whether an administrator exists (if not, the box is in first-boot setup).
    pub fn has_administrator(&self) -> bool {
        self.users.iter().any(|u| u.role == Role::Administrator)
    }

    /// The user called `name`.
    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds a user after checking the name and the password (which must not contain the
    /// name or `context` words).
    pub fn add(
        &mut self,
        name: &str,
        role: Role,
        password: &str,
        lang: Lang,
        context: &[&str],
    ) -> Result<(), UserError> {
        if !valid_name(name) {
            return Err(UserError::BadName);
        }
        if self.get(name).is_some() {
            return Err(UserError::Exists);
        }
        if self.users.len() >= MAX_USERS {
            return Err(UserError::TooMany);
        }
        let mut words = vec![name];
        words.extend_from_slice(context);
        mamori_core::password::check(password, &words)?;
        self.users.push(User {
            name: name.to_string(),
            role,
            password_hash: hash(password)?,
            lang,
        });
        Ok(())
    }

    /// Removes a user; the last administrator stays.
    pub fn remove(&mut self, name: &str) -> Result<User, UserError> {
        let i = self
            .users
            .iter()
            .position(|u| u.name == name)
            .ok_or(UserError::NotFound)?;
        if self.users[i].role == Role::Administrator
            && self
                .users
                .iter()
                .filter(|u| u.role == Role::Administrator)
                .count()
                == 1
        {
            return Err(UserError::LastAdministrator);
        }
        Ok(self.users.remove(i))
    }

    /// Changes a user's role; the last administrator stays one. Returns the role before.
    pub fn set_role(&mut self, name: &str, role: Role) -> Result<Role, UserError> {
        let admins = self
            .users
            .iter()
            .filter(|u| u.role == Role::Administrator)
            .count();
        let user = self
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or(UserError::NotFound)?;
        if user.role == Role::Administrator && role != Role::Administrator && admins == 1 {
            return Err(UserError::LastAdministrator);
        }
        Ok(std::mem::replace(&mut user.role, role))
    }

    /// Sets a user's password under the policy.
    pub fn set_password(
        &mut self,
        name: &str,
        password: &str,
        context: &[&str],
    ) -> Result<(), UserError> {
        let mut words = vec![name];
        words.extend_from_slice(context);
        mamori_core::password::check(password, &words)?;
        let hash = hash(password)?;
        let user = self
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or(UserError::NotFound)?;
        user.password_hash = hash;
        Ok(())
    }

    /// The user `name` if `password` is theirs. An unknown name costs the same hashing time
    /// as a wrong password, so that the answer's timing does not tell which names exist.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<&User> {
        match self.get(name) {
            Some(u) if verify(password, &u.password_hash) => Some(u),
            Some(_) => None,
            None => {
                password_hash::verify_unknown(password);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roles_and_the_last_administrator() {
        let mut u = Users::default();
        assert!(!u.has_administrator());
        u.add(
            "tanaka",
            Role::Administrator,
            "umi-to-yama-no-aida",
            Lang::Ja,
            &[],
        )
        .unwrap();
        assert!(u.has_administrator());
        assert_eq!(
            u.add(
                "Tanaka",
                Role::Auditor,
                "umi-to-yama-no-aida",
                Lang::Ja,
                &[]
            ),
            Err(UserError::BadName)
        );
        assert_eq!(
            u.add(
                "tanaka",
                Role::Auditor,
                "umi-to-yama-no-aida",
                Lang::Ja,
                &[]
            ),
            Err(UserError::Exists)
        );
        assert_eq!(
            u.add("sato", Role::Auditor, "short", Lang::En, &[]),
            Err(UserError::Password(PasswordProblem::TooShort(5)))
        );
        assert_eq!(
            u.add("sato", Role::Auditor, "sato-no-aikotoba", Lang::En, &[]),
            Err(UserError::Password(PasswordProblem::ContainsName))
        );
        assert_eq!(u.remove("tanaka"), Err(UserError::LastAdministrator));
        u.add("sato", Role::Approver, "kawa-no-nagare-ha", Lang::En, &[])
            .unwrap();
        assert!(u.authenticate("sato", "kawa-no-nagare-ha").is_some());
        assert!(u.authenticate("sato", "kawa-no-nagare-hA").is_none());
        assert!(u.authenticate("nobody", "kawa-no-nagare-ha").is_none());
        u.remove("sato").unwrap();
        assert!(u.authenticate("sato", "kawa-no-nagare-ha").is_none());
    }

    #[test]
    fn roles_map_to_the_daemons_rights() {
        assert_eq!(Role::Administrator.right(), Right::Admin);
        assert_eq!(Role::Approver.right(), Right::Approve);
        assert_eq!(Role::Auditor.right(), Right::Read);
        assert_eq!(Role::parse("approver"), Some(Role::Approver));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn roles_change_but_the_last_administrator_stays() {
        let mut u = Users::default();
        u.add(
            "tanaka",
            Role::Administrator,
            "umi-to-yama-no-aida",
            Lang::Ja,
            &[],
        )
        .unwrap();
        u.add("sato", Role::Auditor, "kawa-no-nagare-ha", Lang::Ja, &[])
            .unwrap();
        assert_eq!(
            u.set_role("tanaka", Role::Auditor),
            Err(UserError::LastAdministrator)
        );
        assert_eq!(u.set_role("sato", Role::Administrator), Ok(Role::Auditor));
        assert_eq!(
            u.set_role("tanaka", Role::Approver),
            Ok(Role::Administrator)
        );
        assert_eq!(u.get("tanaka").map(|x| x.role), Some(Role::Approver));
        assert_eq!(
            u.set_role("nobody", Role::Auditor),
            Err(UserError::NotFound)
        );
    }

    #[test]
    fn the_panels_own_identities_are_no_user_names() {
        for name in RESERVED_NAMES {
            assert!(!valid_name(name), "{name}");
        }
        assert!(valid_name("watchdog2"));
    }
}
