//! Login throttling. Per source address: five free failures, then a wait that doubles from
//! fifteen seconds up to fifteen minutes; a success from that address clears it. Per account:
//! after ten failures from addresses that never logged in to it, such addresses wait five
//! minutes — while an address the account has logged in from before is never held by the
//! account's count, so a guessing attacker does not lock the real administrator out.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// Failures from one address before it must wait.
pub const FREE_FAILURES_PER_SOURCE: u32 = 5;
/// The first wait for one address past its free failures (seconds); it doubles with each
/// further failure.
pub const FIRST_SOURCE_WAIT_SECS: u64 = 15;
/// The longest wait for one address (seconds).
pub const MAX_SOURCE_WAIT_SECS: u64 = 15 * 60;
/// Failures on one account from unknown addresses before those must wait.
pub const FREE_FAILURES_PER_ACCOUNT: u32 = 10;
/// That wait (seconds).
pub const ACCOUNT_WAIT_SECS: u64 = 5 * 60;
/// Entries older than this without a failure are forgotten (seconds).
const FORGET_SECS: u64 = 60 * 60;
/// The most addresses and accounts tracked.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    last: u64,
}

/// The throttle's memory.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    sources: HashMap<IpAddr, Failures>,
    accounts: HashMap<String, Failures>,
    /// Addresses each account has logged in from.
    known: HashMap<String, HashSet<IpAddr>>,
}

impl LoginThrottle {
    /// `Err(seconds)` when a login of `account` from `source` must wait that long first.
    pub fn check(&self, source: IpAddr, account: &str, now: u64) -> Result<(), u64> {
        let mut wait = 0;
        if let Some(f) = self.sources.get(&source)
            && f.count >= FREE_FAILURES_PER_SOURCE
        {
            let exp = (f.count - FREE_FAILURES_PER_SOURCE).min(20);
            let delay = (FIRST_SOURCE_WAIT_SECS << exp).min(MAX_SOURCE_WAIT_SECS);
            wait = wait.max((f.last + delay).saturating_sub(now));
        }
        let known = self.known.get(account).is_some_and(|k| k.contains(&source));
        if !known
            && let Some(f) = self.accounts.get(account)
            && f.count >= FREE_FAILURES_PER_ACCOUNT
        {
            wait = wait.max((f.last + ACCOUNT_WAIT_SECS).saturating_sub(now));
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Records a failed login.
    pub fn failed(&mut self, source: IpAddr, account: &str, now: u64) {
        self.forget(now);
        let f = self.sources.entry(source).or_default();
        f.count = f.count.saturating_add(1);
        f.last = now;
        let known = self.known.get(account).is_some_and(|k| k.contains(&source));
        if !known && self.accounts.len() < MAX_TRACKED {
            let f = self.accounts.entry(account.to_string()).or_default();
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// Records a successful login: the address is cleared and known for the account.
    pub fn succeeded(&mut self, source: IpAddr, account: &str) {
        self.sources.remove(&source);
        let known = self.known.entry(account.to_string()).or_default();
        if known.len() < 64 {
            known.insert(source);
        }
    }

    fn forget(&mut self, now: u64) {
        if self.sources.len() < MAX_TRACKED / 2 && self.accounts.len() < MAX_TRACKED / 2 {
            return;
        }
        self.sources
            .retain(|_, f| now.saturating_sub(f.last) < FORGET_SECS);
        self.accounts
            .retain(|_, f| now.saturating_sub(f.last) < FORGET_SECS);
        if self.sources.len() >= MAX_TRACKED {
            self.sources.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_guessing_address_waits_longer_and_longer() {
        let mut t = LoginThrottle::default();
        let a = ip("192.0.2.9");
        for _ in 0..FREE_FAILURES_PER_SOURCE {
            assert!(t.check(a, "tanaka", 100).is_ok());
            t.failed(a, "tanaka", 100);
        }
        assert_eq!(t.check(a, "tanaka", 100), Err(FIRST_SOURCE_WAIT_SECS));
        t.failed(a, "tanaka", 100);
        assert_eq!(t.check(a, "tanaka", 100), Err(2 * FIRST_SOURCE_WAIT_SECS));
        for _ in 0..30 {
            t.failed(a, "x", 100);
        }
        assert_eq!(t.check(a, "x", 100), Err(MAX_SOURCE_WAIT_SECS));
        assert!(t.check(a, "x", 100 + MAX_SOURCE_WAIT_SECS).is_ok());
        // Another address is not held by this one.
        assert!(t.check(ip("192.0.2.10"), "y", 100).is_ok());
    }

    #[test]
    fn an_attack_on_the_account_does_not_lock_out_its_known_address() {
        let mut t = LoginThrottle::default();
        let office = ip("192.168.1.20");
        t.succeeded(office, "tanaka");
        // Many addresses guess, each under its own limit.
        for i in 0..20u8 {
            let a = IpAddr::from([198, 51, 100, i]);
            t.failed(a, "tanaka", 500);
        }
        assert_eq!(
            t.check(ip("198.51.100.200"), "tanaka", 500),
            Err(ACCOUNT_WAIT_SECS)
        );
        assert!(
            t.check(office, "tanaka", 500).is_ok(),
            "the administrator's PC"
        );
        assert!(t.check(ip("198.51.100.200"), "sato", 500).is_ok());
        // A typo from the known address does not count against the account.
        t.failed(office, "tanaka", 501);
        assert!(t.check(office, "tanaka", 501).is_ok());
    }

    #[test]
    fn success_clears_the_address() {
        let mut t = LoginThrottle::default();
        let a = ip("192.0.2.1");
        for _ in 0..6 {
            t.failed(a, "tanaka", 0);
        }
        assert!(t.check(a, "tanaka", 0).is_err());
        t.succeeded(a, "tanaka");
        assert!(t.check(a, "tanaka", 0).is_ok());
    }
}
