//! Recipients of the accepted domains, checked before the box answers 250.
//!
//! Mail from the Internet for a domain the box accepts goes on to the office's own mail
//! server. If the box took mail for an address that server does not have, it would have
//! to bounce it later, to a sender that is often forged (backscatter), and with the
//! content (a side door out of DLP). So each recipient is checked first: against a list
//! the operator keeps, or by asking the office's server (a callout: `MAIL FROM:<>`,
//! `RCPT TO`, `RSET`), whose answers are remembered a while.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::settings::{AcceptedDomain, RecipientCheck};
use tokio::time::Instant;

/// How long a "yes" of the office's server is remembered.
const POSITIVE_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a "no" is remembered (short: a new employee's address works soon).
const NEGATIVE_TTL: Duration = Duration::from_secs(10 * 60);
/// How many answers are remembered.
const CACHE_SIZE: usize = 10_000;

/// What the office's server said of a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAnswer {
    /// 2xx: it has the address.
    Accepted,
    /// 5xx: it does not (the server's reply, for the log).
    Refused(String),
    /// No answer now (down, 4xx, timed out): why.
    Unavailable(String),
}

/// Asks a domain's server about a recipient (the relay's outbound client in the daemon,
/// a script in tests).
pub trait Prober: Send + Sync {
    /// The server's answer for `address` of `domain`.
    fn probe<'a>(
        &'a self,
        domain: &'a str,
        address: &'a str,
    ) -> Pin<Box<dyn Future<Output = ProbeAnswer> + Send + 'a>>;
}

/// What the check says of a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not in an accepted domain: the relay rules decide.
    NotAccepted,
    /// An address of an accepted domain that exists.
    Valid,
    /// An address of an accepted domain that does not exist.
    Unknown,
    /// The office's server could not be asked now: try later.
    TryLater(String),
}

/// The accepted domains and their checks.
pub struct Recipients {
    domains: Vec<AcceptedDomain>,
    prober: Arc<dyn Prober>,
    cache: Mutex<HashMap<String, (bool, Instant)>>,
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipients")
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
}

impl Recipients {
    /// Checks for `domains`, asking `prober` where a callout is configured.
    pub fn new(domains: Vec<AcceptedDomain>, prober: Arc<dyn Prober>) -> Self {
        Self {
            domains,
            prober,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Is `domain` one the box accepts mail for?
    pub fn accepts(&self, domain: &str) -> bool {
        self.domain(domain).is_some()
    }

    fn domain(&self, domain: &str) -> Option<&AcceptedDomain> {
        let domain = domain.trim_end_matches('.');
        self.domains
            .iter()
            .find(|a| a.domain.as_str().eq_ignore_ascii_case(domain))
    }

    /// Checks `address`.
    pub async fn check(&self, address: &str) -> Verdict {
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Verdict::NotAccepted;
        };
        let Some(accepted) = self.domain(domain) else {
            return Verdict::NotAccepted;
        };
        if local.eq_ignore_ascii_case("postmaster") {
            return Verdict::Valid; // RFC 5321 §4.5.1: always accepted
        }
        match accepted.verify {
            RecipientCheck::List => {
                let listed = accepted
                    .recipients
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(address) || r.eq_ignore_ascii_case(local));
                if listed {
                    Verdict::Valid
                } else {
                    Verdict::Unknown
                }
            }
            RecipientCheck::Callout => self.callout(accepted.domain.as_str(), address).await,
        }
    }

    async fn callout(&self, domain: &str, address: &str) -> Verdict {
        let key = address.to_ascii_lowercase();
        let now = Instant::now();
        if let Some(&(valid, until)) = self.cache().get(&key)
            && until > now
        {
            return if valid {
                Verdict::Valid
            } else {
                Verdict::Unknown
            };
        }
        let answer = self.prober.probe(domain, address).await;
        let remember = |valid: bool, ttl: Duration| {
            let mut cache = self.cache();
            if cache.len() >= CACHE_SIZE {
                let now = Instant::now();
                cache.retain(|_, (_, until)| *until > now);
                if cache.len() >= CACHE_SIZE {
                    cache.clear();
                }
            }
            cache.insert(key.clone(), (valid, Instant::now() + ttl));
        };
        match answer {
            ProbeAnswer::Accepted => {
                remember(true, POSITIVE_TTL);
                Verdict::Valid
            }
            ProbeAnswer::Refused(reply) => {
                tracing::info!(%address, %reply, "recipient refused by the office's server");
                remember(false, NEGATIVE_TTL);
                Verdict::Unknown
            }
            ProbeAnswer::Unavailable(why) => Verdict::TryLater(why),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (bool, Instant)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Script {
        calls: AtomicUsize,
    }

    impl Prober for Script {
        fn probe<'a>(
            &'a self,
            _domain: &'a str,
            address: &'a str,
        ) -> Pin<Box<dyn Future<Output = ProbeAnswer> + Send + 'a>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match address {
                    a if a.starts_with("down") => ProbeAnswer::Unavailable("refused".into()),
                    a if a.starts_with("taro") => ProbeAnswer::Accepted,
                    _ => ProbeAnswer::Refused("550 5.1.1 unknown".into()),
                }
            })
        }
    }

    fn domain(name: &str, verify: RecipientCheck, recipients: &[&str]) -> AcceptedDomain {
        AcceptedDomain {
            domain: name.parse().unwrap(),
            host: Some("mail.internal".into()),
            port: 25,
            verify,
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn callouts_are_asked_once_and_remembered() {
        let script = Arc::new(Script {
            calls: AtomicUsize::new(0),
        });
        let r = Recipients::new(
            vec![domain("office.example.jp", RecipientCheck::Callout, &[])],
            script.clone(),
        );
        assert_eq!(r.check("taro@office.example.jp").await, Verdict::Valid);
        assert_eq!(r.check("TARO@office.example.jp").await, Verdict::Valid);
        assert_eq!(r.check("nobody@office.example.jp").await, Verdict::Unknown);
        assert_eq!(r.check("nobody@office.example.jp").await, Verdict::Unknown);
        assert_eq!(script.calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(NEGATIVE_TTL).await;
        assert_eq!(r.check("nobody@office.example.jp").await, Verdict::Unknown);
        assert_eq!(script.calls.load(Ordering::SeqCst), 3);
        assert!(matches!(
            r.check("down@office.example.jp").await,
            Verdict::TryLater(_)
        ));
        assert_eq!(
            r.check("postmaster@office.example.jp").await,
            Verdict::Valid
        );
        assert_eq!(r.check("x@elsewhere.example").await, Verdict::NotAccepted);
    }

    #[tokio::test]
    async fn lists_take_addresses_or_local_parts() {
        let script = Arc::new(Script {
            calls: AtomicUsize::new(0),
        });
        let r = Recipients::new(
            vec![domain(
                "school.example.jp",
                RecipientCheck::List,
                &["info", "kocho@school.example.jp"],
            )],
            script.clone(),
        );
        assert_eq!(r.check("INFO@school.example.jp").await, Verdict::Valid);
        assert_eq!(r.check("kocho@school.example.jp").await, Verdict::Valid);
        assert_eq!(r.check("other@school.example.jp").await, Verdict::Unknown);
        assert_eq!(script.calls.load(Ordering::SeqCst), 0);
    }
}
