//! Who is calling a control socket, and what they may do. The daemon learns the caller from
//! the socket's peer credentials (the kernel's word, `SO_PEERCRED`), never from the request;
//! the user's name and groups come from the system's account files. Rights are ordered:
//! read-only (status, lists, audit) < approve (quarantine and held mail) < admin
//! (everything). One user, the panel's, may name the person and role it acts for.

use serde::{Deserialize, Serialize};

/// What a caller may do, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Status, lists, statistics, the audit log.
    Read,
    /// Read, and release or delete quarantined and held mail.
    Approve,
    /// Everything, settings included.
    Admin,
}

impl std::fmt::Display for Right {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Approve => "approve",
            Self::Admin => "admin",
        })
    }
}

/// Which groups give which right, and who may act for others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Members may do everything.
    pub admin_group: String,
    /// Members may approve.
    pub approve_group: String,
    /// The one user (the panel daemon's) that may name the person it acts for.
    pub delegate_user: String,
    /// The daemon's own user id: it (as `mamori run` and tests running as one user) has all
    /// rights on its own sockets.
    pub own_uid: u32,
}

impl Access {
    /// The groups and panel user of a box, for a daemon running as `own_uid`.
    pub fn standard(own_uid: u32) -> Self {
        Self {
            admin_group: "mamori-admin".into(),
            approve_group: "mamori-approve".into(),
            delegate_user: "mamori-admind".into(),
            own_uid,
        }
    }

    /// The caller with user id `uid` and primary group `gid`, looked up in `accounts`.
    pub fn caller(&self, uid: u32, gid: u32, accounts: &Accounts) -> Caller {
        let user = accounts
            .user_name(uid)
            .map_or_else(|| format!("uid {uid}"), str::to_string);
        let right =
            if uid == 0 || uid == self.own_uid || accounts.is_member(&user, gid, &self.admin_group)
            {
                Right::Admin
            } else if accounts.is_member(&user, gid, &self.approve_group) {
                Right::Approve
            } else {
                Right::Read
            };
        Caller {
            uid,
            // The panel's user; and the daemon's own, which runs the panel beside it in the
            // try-out (`mamori run`) and has every right anyway.
            may_delegate: uid == self.own_uid
                || accounts.user_name(uid) == Some(self.delegate_user.as_str()),
            user,
            right,
            acting_for: None,
        }
    }
}

/// A person a delegate (the panel) acts for, as the request names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnBehalf {
    /// The person's name (the panel's login).
    pub user: String,
    /// The role the panel gave them.
    pub role: Right,
}

/// Why a caller may not act for someone else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelegationError {
    /// Only the panel's user may name another person.
    #[error("{0} may not act for another person (only the panel's user may)")]
    NotADelegate(String),
    /// The named person is no usable name.
    #[error("the person acted for needs a name of 1 to 64 printable characters")]
    BadName,
}

/// Who is calling, with the right the daemon grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The kernel's user id of the peer.
    pub uid: u32,
    /// Its user name (or `uid N` when the system does not know it).
    pub user: String,
    /// Its right from its groups.
    pub right: Right,
    /// Whether it may act for others (the panel's user).
    pub may_delegate: bool,
    /// The person it acts for in this request.
    pub acting_for: Option<OnBehalf>,
}

impl Caller {
    /// The caller acting for `person`: allowed only to the delegate user; the right is the
    /// person's role, never more than the delegate's own.
    pub fn acting_for(&self, person: OnBehalf) -> Result<Self, DelegationError> {
        if !self.may_delegate {
            return Err(DelegationError::NotADelegate(self.user.clone()));
        }
        let name_ok = (1..=64).contains(&person.user.chars().count())
            && !person.user.chars().any(char::is_control);
        if !name_ok {
            return Err(DelegationError::BadName);
        }
        Ok(Self {
            acting_for: Some(person),
            ..self.clone()
        })
    }

    /// The right this request is judged by.
    pub fn effective_right(&self) -> Right {
        match &self.acting_for {
            Some(p) => p.role.min(self.right),
            None => self.right,
        }
    }

    /// The name the audit log records: `tanaka`, or `mamori-admind for sato (approve)`.
    pub fn audit_name(&self) -> String {
        match &self.acting_for {
            Some(p) => format!("{} for {} ({})", self.user, p.user, p.role),
            None => self.user.clone(),
        }
    }
}

/// The system's users and groups, as read from `/etc/passwd` and `/etc/group`.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// (name, uid, primary gid)
    users: Vec<(String, u32, u32)>,
    /// (name, gid, members)
    groups: Vec<(String, u32, Vec<String>)>,
}

impl Accounts {
    /// Reads the system's files; a file that cannot be read counts as empty (every caller
    /// is then read-only, except root and the daemon's own user).
    pub fn from_system() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Self::parse(&read("/etc/passwd"), &read("/etc/group"))
    }

    /// Parses the two files' texts (lines `name:x:uid:gid:…` and `name:x:gid:m1,m2`).
    pub fn parse(passwd: &str, group: &str) -> Self {
        let fields = |line: &str| line.split(':').map(str::to_string).collect::<Vec<_>>();
        let users = passwd
            .lines()
            .filter_map(|l| {
                let f = fields(l);
                Some((
                    f.first()?.clone(),
                    f.get(2)?.parse().ok()?,
                    f.get(3)?.parse().ok()?,
                ))
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|l| {
                let f = fields(l);
                let members = f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                Some((f.first()?.clone(), f.get(2)?.parse().ok()?, members))
            })
            .collect();
        Self { users, groups }
    }

    /// The name of user `uid`.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users
            .iter()
            .find(|(_, u, _)| *u == uid)
            .map(|(n, _, _)| n.as_str())
    }

    /// The id of group `name`.
    pub fn group_id(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, g, _)| *g)
    }

    /// Is `user` (whose peer gid is `gid`) in group `name`: as its primary group or a
    /// listed member?
    pub fn is_member(&self, user: &str, gid: u32, name: &str) -> bool {
        self.groups
            .iter()
            .any(|(n, g, members)| n == name && (*g == gid || members.iter().any(|m| m == user)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\ntanaka:x:1000:1000::/home/tanaka:/bin/sh\nsato:x:1001:1001::/:/bin/sh\nmamori-admind:x:990:990::/:/usr/sbin/nologin\nguest:x:1002:1002::/:/bin/sh\nbroken line\n";
    const GROUP: &str = "root:x:0:\nmamori-admin:x:980:tanaka\nmamori-approve:x:981:sato,mamori-admind\nguest:x:1002:\n";

    fn access() -> (Access, Accounts) {
        (Access::standard(500), Accounts::parse(PASSWD, GROUP))
    }

    #[test]
    fn rights_come_from_groups_and_the_kernel_uid() {
        let (a, acc) = access();
        assert_eq!(a.caller(0, 0, &acc).right, Right::Admin);
        assert_eq!(a.caller(500, 500, &acc).right, Right::Admin, "own uid");
        assert_eq!(a.caller(1000, 1000, &acc).right, Right::Admin);
        assert_eq!(a.caller(1001, 1001, &acc).right, Right::Approve);
        assert_eq!(a.caller(1002, 1002, &acc).right, Right::Read);
        // The primary group counts as membership.
        assert_eq!(a.caller(1002, 980, &acc).right, Right::Admin);
        let unknown = a.caller(4242, 4242, &acc);
        assert_eq!(
            (unknown.user.as_str(), unknown.right),
            ("uid 4242", Right::Read)
        );
    }

    #[test]
    fn only_the_panel_acts_for_others_and_never_above_itself() {
        let (a, acc) = access();
        let panel = a.caller(990, 990, &acc);
        assert_eq!(panel.right, Right::Approve);
        let as_admin = panel
            .acting_for(OnBehalf {
                user: "suzuki".into(),
                role: Right::Admin,
            })
            .unwrap();
        assert_eq!(as_admin.effective_right(), Right::Approve, "capped");
        assert_eq!(as_admin.audit_name(), "mamori-admind for suzuki (admin)");
        let as_reader = panel
            .acting_for(OnBehalf {
                user: "yamada".into(),
                role: Right::Read,
            })
            .unwrap();
        assert_eq!(as_reader.effective_right(), Right::Read);
        let tanaka = a.caller(1000, 1000, &acc);
        assert!(matches!(
            tanaka.acting_for(OnBehalf {
                user: "sato".into(),
                role: Right::Read
            }),
            Err(DelegationError::NotADelegate(_))
        ));
        assert_eq!(
            panel.acting_for(OnBehalf {
                user: "a\nb".into(),
                role: Right::Read
            }),
            Err(DelegationError::BadName)
        );
    }
}
