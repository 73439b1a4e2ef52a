//! Logged-in sessions: a 256-bit random id (the `__Host-` cookie's value) and a 256-bit
//! CSRF token per session, an idle and an absolute timeout, a new id at every login, and
//! an end on the server at logout or when the user is removed. Sessions are kept by the
//! SHA-256 of their id, so a lookup's timing tells nothing of the id, and a copy of the
//! table would not give the ids away.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::i18n::Lang;
use crate::users::Role;

/// A session ends after this long without a request (seconds).
pub const IDLE_SECS: u64 = 30 * 60;
/// A session ends this long after login whatever happens (seconds).
pub const ABSOLUTE_SECS: u64 = 12 * 60 * 60;
/// A sensitive action (a password, a backup restore, an update, turning a protection off)
/// needs the password entered within this long (seconds), unless `admin.reauth_secs` says
/// otherwise.
pub const REAUTH_SECS: u64 = 5 * 60;
/// The most sessions kept; past it the one idle longest ends.
pub const MAX_SESSIONS: usize = 200;

/// One logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: String,
    /// Their role when they logged in (a role change ends their sessions).
    pub role: Role,
    /// Their language.
    pub lang: Lang,
    /// The CSRF token every state-changing form carries.
    pub csrf: String,
    /// When they logged in (Unix seconds).
    pub created: u64,
    /// Their last request.
    pub last_seen: u64,
    /// When they last entered their password (login or re-authentication).
    pub authenticated_at: u64,
    /// How long an entered password counts for a sensitive action (seconds).
    pub reauth_secs: u64,
    /// The source address at login, for the audit log.
    pub source: String,
}

impl Session {
    /// One of the panel's own identities when it asks the daemons by itself (its watchdog,
    /// the metrics scraper): no cookie, no CSRF token, never authenticated by a password.
    /// Its name is one of [`crate::users::RESERVED_NAMES`], which no person may take.
    pub fn internal(user: &str, role: Role) -> Self {
        Self {
            user: user.to_string(),
            role,
            lang: Lang::Ja,
            csrf: String::new(),
            created: 0,
            last_seen: 0,
            authenticated_at: 0,
            reauth_secs: REAUTH_SECS,
            source: String::new(),
        }
    }

    /// Whether the password was entered recently enough for a sensitive action.
    pub fn recently_authenticated(&self, now: u64) -> bool {
        now.saturating_sub(self.authenticated_at) <= self.reauth_secs
    }
}

/// Why a session id gives no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No such session (never, or ended at logout).
    Unknown,
    /// Ended by the idle timeout.
    Idle,
    /// Ended by the absolute timeout.
    Expired,
}

/// The table of sessions.
#[derive(Debug)]
pub struct Sessions {
    by_hash: HashMap<[u8; 32], Session>,
    reauth_secs: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_reauth(REAUTH_SECS)
    }
}

/// 32 random bytes, base64url.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

fn key(id: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl Sessions {
    /// An empty table whose sessions ask for the password again after `reauth_secs`.
    pub fn with_reauth(reauth_secs: u64) -> Self {
        Self {
            by_hash: HashMap::new(),
            reauth_secs,
        }
    }

    /// Asks for the password again after `reauth_secs` from now on, in the sessions already
    /// open too (a new `admin.reauth_secs` taken while the panel runs).
    pub fn set_reauth(&mut self, reauth_secs: u64) {
        self.reauth_secs = reauth_secs;
        for session in self.by_hash.values_mut() {
            session.reauth_secs = reauth_secs;
        }
    }

    /// Starts a session for `user` (a login: always a new id, whatever cookie came with
    /// the request); answers the new id. `None` when the system has no random source.
    pub fn start(
        &mut self,
        user: &str,
        role: Role,
        lang: Lang,
        source: &str,
        now: u64,
    ) -> Option<String> {
        self.prune(now);
        if self.by_hash.len() >= MAX_SESSIONS
            && let Some(oldest) = self
                .by_hash
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| *k)
        {
            self.by_hash.remove(&oldest);
        }
        let id = random_token()?;
        let csrf = random_token()?;
        self.by_hash.insert(
            key(&id),
            Session {
                user: user.to_string(),
                role,
                lang,
                csrf,
                created: now,
                last_seen: now,
                authenticated_at: now,
                reauth_secs: self.reauth_secs,
                source: source.to_string(),
            },
        );
        Some(id)
    }

    /// The session of `id` at `now`, its idle time restarted; a timed-out one is ended.
    pub fn touch(&mut self, id: &str, now: u64) -> Result<&Session, Lookup> {
        let k = key(id);
        let state = match self.by_hash.get(&k) {
            None => return Err(Lookup::Unknown),
            Some(s) if now.saturating_sub(s.created) > ABSOLUTE_SECS => Err(Lookup::Expired),
            Some(s) if now.saturating_sub(s.last_seen) > IDLE_SECS => Err(Lookup::Idle),
            Some(_) => Ok(()),
        };
        if let Err(why) = state {
            self.by_hash.remove(&k);
            return Err(why);
        }
        let s = self.by_hash.get_mut(&k).ok_or(Lookup::Unknown)?;
        s.last_seen = now;
        Ok(s)
    }

    /// Records that the session's user entered their password again.
    pub fn reauthenticated(&mut self, id: &str, now: u64) {
        if let Some(s) = self.by_hash.get_mut(&key(id)) {
            s.authenticated_at = now;
        }
    }

    /// Sets the session's language.
    pub fn set_lang(&mut self, id: &str, lang: Lang) {
        if let Some(s) = self.by_hash.get_mut(&key(id)) {
            s.lang = lang;
        }
    }

    /// Ends the session `id` (logout).
    pub fn end(&mut self, id: &str) -> Option<Session> {
        self.by_hash.remove(&key(id))
    }

    /// Ends every session of `user` (removed, demoted, or a new password); answers how
    /// many ended.
    pub fn end_user(&mut self, user: &str) -> usize {
        let before = self.by_hash.len();
        self.by_hash.retain(|_, s| s.user != user);
        before - self.by_hash.len()
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    fn prune(&mut self, now: u64) {
        self.by_hash.retain(|_, s| {
            now.saturating_sub(s.created) <= ABSOLUTE_SECS
                && now.saturating_sub(s.last_seen) <= IDLE_SECS
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(s: &mut Sessions, user: &str, now: u64) -> String {
        s.start(user, Role::Administrator, Lang::Ja, "192.0.2.1", now)
            .unwrap()
    }

    #[test]
    fn ids_are_256_bit_and_new_at_each_login() {
        let mut s = Sessions::default();
        let a = start(&mut s, "tanaka", 0);
        let b = start(&mut s, "tanaka", 0);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        let csrf = s.touch(&a, 1).unwrap().csrf.clone();
        assert_eq!(URL_SAFE_NO_PAD.decode(&csrf).unwrap().len(), 32);
        assert_ne!(csrf, s.touch(&b, 1).unwrap().csrf);
    }

    #[test]
    fn idle_and_absolute_timeouts_end_sessions_on_the_server() {
        let mut s = Sessions::default();
        let id = start(&mut s, "tanaka", 1000);
        assert!(s.touch(&id, 1000 + IDLE_SECS).is_ok());
        assert_eq!(
            s.touch(&id, 1000 + 2 * IDLE_SECS + 1).unwrap_err(),
            Lookup::Idle
        );
        assert_eq!(
            s.touch(&id, 1000 + 2 * IDLE_SECS + 2).unwrap_err(),
            Lookup::Unknown
        );
        // Busy all day still ends at the absolute limit.
        let id = start(&mut s, "tanaka", 0);
        let mut now = 0;
        while now + 600 <= ABSOLUTE_SECS {
            now += 600;
            assert!(s.touch(&id, now).is_ok());
        }
        assert_eq!(
            s.touch(&id, ABSOLUTE_SECS + 1).unwrap_err(),
            Lookup::Expired
        );
    }

    #[test]
    fn logout_and_user_removal_end_sessions_at_once() {
        let mut s = Sessions::default();
        let a = start(&mut s, "tanaka", 0);
        let b = start(&mut s, "sato", 0);
        let c = start(&mut s, "sato", 0);
        assert!(s.end(&a).is_some());
        assert_eq!(s.touch(&a, 1).unwrap_err(), Lookup::Unknown);
        assert_eq!(s.end_user("sato"), 2);
        assert!(s.touch(&b, 1).is_err() && s.touch(&c, 1).is_err());
    }

    #[test]
    fn reauthentication_is_fresh_only_for_a_few_minutes() {
        let mut s = Sessions::default();
        let id = start(&mut s, "tanaka", 0);
        assert!(
            s.touch(&id, REAUTH_SECS)
                .unwrap()
                .recently_authenticated(REAUTH_SECS)
        );
        let later = REAUTH_SECS + 60;
        assert!(!s.touch(&id, later).unwrap().recently_authenticated(later));
        s.reauthenticated(&id, later);
        assert!(s.touch(&id, later).unwrap().recently_authenticated(later));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut s = Sessions::default();
        for i in 0..(MAX_SESSIONS as u64 + 50) {
            start(&mut s, "tanaka", i);
        }
        assert_eq!(s.len(), MAX_SESSIONS);
    }
}
