//! AUTH failures, throttled per client address and per account.
//!
//! A password guesser is slowed two ways. An address that fails too often must wait before
//! it may try again, and the wait doubles with each further failure (up to
//! [`MAX_WAIT`]). An account that fails too often from addresses that never logged in to it
//! is closed to those addresses for a while; its own known addresses (where it logged in
//! before) and the trusted networks are not locked out, so an attacker cannot keep the real
//! user from sending. While a client or an account must wait, its attempts are answered
//! with a temporary error without the password being checked (no oracle).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// The first wait once an address has used up its failures.
const FIRST_WAIT: Duration = Duration::from_secs(60);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// How long an account stays closed to unknown addresses once it failed too often.
const ACCOUNT_LOCK: Duration = Duration::from_secs(5 * 60);
/// How many addresses an account remembers as its own.
const KNOWN_ADDRESSES: usize = 16;
/// How many client addresses and accounts are remembered at most.
const REMEMBERED: usize = 10_000;

#[derive(Debug)]
struct Strikes {
    failures: u32,
    last: Instant,
    until: Option<Instant>,
}

#[derive(Debug, Default)]
struct Account {
    strikes: Option<Strikes>,
    known: Vec<IpAddr>,
}

/// The failures remembered by one daemon.
#[derive(Debug)]
pub struct AuthThrottle {
    per_client: u32,
    per_account: u32,
    clients: Mutex<HashMap<IpAddr, Strikes>>,
    accounts: Mutex<HashMap<String, Account>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AuthThrottle {
    /// Throttling after `per_client` failures of one address and `per_account` failures
    /// of one account.
    pub fn new(per_client: u32, per_account: u32) -> Self {
        Self {
            per_client: per_client.max(1),
            per_account: per_account.max(1),
            clients: Mutex::new(HashMap::new()),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must still wait before it may try to authenticate, if it must.
    pub fn client_wait(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let clients = lock(&self.clients);
        let until = clients.get(&ip)?.until?;
        (until > now).then(|| until - now)
    }

    /// How long `ip` must wait before it may try account `user`, if it must (never for a
    /// trusted client or one of the account's known addresses).
    pub fn account_wait(&self, user: &str, ip: IpAddr, trusted: bool) -> Option<Duration> {
        if trusted {
            return None;
        }
        let now = Instant::now();
        let accounts = lock(&self.accounts);
        let account = accounts.get(user)?;
        if account.known.contains(&ip) {
            return None;
        }
        let until = account.strikes.as_ref()?.until?;
        (until > now).then(|| until - now)
    }

    /// Records a failed attempt of `ip` on `user`.
    pub fn failed(&self, ip: IpAddr, user: &str, trusted: bool) {
        let now = Instant::now();
        {
            let mut clients = lock(&self.clients);
            if clients.len() >= REMEMBERED {
                clients.retain(|_, s| now - s.last < FORGET_AFTER);
            }
            let s = clients.entry(ip).or_insert(Strikes {
                failures: 0,
                last: now,
                until: None,
            });
            strike(s, now, self.per_client, |over| {
                FIRST_WAIT.saturating_mul(1 << over.min(10)).min(MAX_WAIT)
            });
        }
        if trusted {
            return;
        }
        let mut accounts = lock(&self.accounts);
        if accounts.len() >= REMEMBERED && !accounts.contains_key(user) {
            accounts.retain(|_, a| {
                !a.known.is_empty()
                    || a.strikes
                        .as_ref()
                        .is_some_and(|s| now - s.last < FORGET_AFTER)
            });
            if accounts.len() >= REMEMBERED {
                return; // a flood of made-up names: the per-address limit still holds
            }
        }
        let account = accounts.entry(user.to_string()).or_default();
        if account.known.contains(&ip) {
            return;
        }
        let s = account.strikes.get_or_insert(Strikes {
            failures: 0,
            last: now,
            until: None,
        });
        strike(s, now, self.per_account, |_| ACCOUNT_LOCK);
    }

    /// Records a successful login of `user` from `ip`: the address's failures are
    /// forgotten, and it becomes one of the account's known addresses.
    pub fn succeeded(&self, ip: IpAddr, user: &str) {
        lock(&self.clients).remove(&ip);
        let mut accounts = lock(&self.accounts);
        let account = accounts.entry(user.to_string()).or_default();
        account.known.retain(|&k| k != ip);
        account.known.insert(0, ip);
        account.known.truncate(KNOWN_ADDRESSES);
    }
}

/// One more failure: forgotten failures reset, and past `allowed` a wait of `wait(over)`
/// starts.
fn strike(s: &mut Strikes, now: Instant, allowed: u32, wait: impl Fn(u32) -> Duration) {
    if now - s.last >= FORGET_AFTER {
        s.failures = 0;
        s.until = None;
    }
    s.failures = s.failures.saturating_add(1);
    s.last = now;
    if s.failures >= allowed {
        s.until = Some(now + wait(s.failures - allowed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, n])
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_waits_longer_with_each_failure() {
        let t = AuthThrottle::new(3, 100);
        for _ in 0..2 {
            t.failed(ip(1), "taro", false);
            assert_eq!(t.client_wait(ip(1)), None);
        }
        t.failed(ip(1), "taro", false);
        assert_eq!(t.client_wait(ip(1)), Some(Duration::from_secs(60)));
        t.failed(ip(1), "taro", false);
        assert_eq!(t.client_wait(ip(1)), Some(Duration::from_secs(120)));
        for _ in 0..20 {
            t.failed(ip(1), "taro", false);
        }
        assert_eq!(t.client_wait(ip(1)), Some(MAX_WAIT));
        tokio::time::advance(MAX_WAIT).await;
        assert_eq!(t.client_wait(ip(1)), None);
        assert_eq!(t.client_wait(ip(2)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_guessed_account_stays_open_to_its_owner() {
        let t = AuthThrottle::new(100, 5);
        t.succeeded(ip(10), "taro");
        for n in 0..5 {
            t.failed(ip(n), "taro", false);
        }
        assert!(t.account_wait("taro", ip(77), false).is_some());
        assert_eq!(t.account_wait("taro", ip(10), false), None, "known address");
        assert_eq!(
            t.account_wait("taro", ip(77), true),
            None,
            "trusted network"
        );
        assert_eq!(t.account_wait("hanako", ip(77), false), None);
        tokio::time::advance(ACCOUNT_LOCK).await;
        assert_eq!(t.account_wait("taro", ip(77), false), None);
    }

    #[tokio::test(start_paused = true)]
    async fn success_forgets_the_failures_of_the_address() {
        let t = AuthThrottle::new(2, 100);
        t.failed(ip(1), "taro", false);
        t.failed(ip(1), "taro", false);
        assert!(t.client_wait(ip(1)).is_some());
        t.succeeded(ip(1), "taro");
        assert_eq!(t.client_wait(ip(1)), None);
    }
}
