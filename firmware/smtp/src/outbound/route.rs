//! Where mail for a domain goes: a static route, else the smarthost, else the domain's
//! MX hosts (RFC 5321 §5.1), each with its TLS policy.
//!
//! The decisions (route and policy picking, MX ordering, null MX) are plain functions;
//! the DNS look-ups and the password file sit in [`resolve`] at the edge.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::settings::{Delivery, Route, TlsMode};
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError as DnsError, TokioResolver};
use rand::Rng;
use rand::seq::SliceRandom;

use super::client::Credentials;
use super::reply::Enhanced;

/// One host to try, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name: the TLS server name (SNI, certificate check).
    pub host: String,
    /// Its addresses with the port to connect to.
    pub addrs: Vec<SocketAddr>,
    /// The TLS policy towards it.
    pub tls: TlsMode,
    /// TLS from the first byte (port 465 smarthosts).
    pub implicit_tls: bool,
    /// Credentials for SMTP AUTH (smarthosts only).
    pub auth: Option<Credentials>,
}

/// Why no target could be found.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    #[error("{domain} accepts no mail (null MX)")]
    NullMx {
        /// The destination domain.
        domain: String,
    },
    /// The domain does not exist (NXDOMAIN).
    #[error("domain {domain} does not exist")]
    NoSuchDomain {
        /// The destination domain.
        domain: String,
    },
    /// The domain, or every MX host of it, has no address record.
    #[error("no mail host with an address found for {domain}")]
    NoAddress {
        /// The destination domain.
        domain: String,
    },
    /// A DNS look-up failed in a way that may pass (timeout, SERVFAIL, no server).
    #[error("DNS look-up of {name} failed: {source}")]
    Dns {
        /// The name looked up.
        name: String,
        /// The resolver's error.
        #[source]
        source: DnsError,
    },
    /// The smarthost password file could not be read.
    #[error("smarthost password file {path}: {source}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The smarthost has a user name but no `password_file`.
    #[error("smarthost user {username:?} has no password_file")]
    NoPassword {
        /// The configured user name.
        username: String,
    },
}

impl ResolveError {
    /// True when the domain cannot receive mail: bounce now instead of retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::NullMx { .. } | Self::NoSuchDomain { .. } | Self::NoAddress { .. } => true,
            Self::Dns { .. } | Self::PasswordFile { .. } | Self::NoPassword { .. } => false,
        }
    }

    /// The enhanced status code for a DSN or the log.
    pub fn status(&self) -> Enhanced {
        match self {
            Self::NullMx { .. } => (5, 1, 10),
            Self::NoSuchDomain { .. } => (5, 1, 2),
            Self::NoAddress { .. } => (5, 4, 4),
            Self::Dns { .. } => (4, 4, 3),
            Self::PasswordFile { .. } | Self::NoPassword { .. } => (4, 3, 5),
        }
    }
}

/// The DNS resolver used for delivery.
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl Resolver {
    /// A resolver configured from `/etc/resolv.conf`; if that cannot be read, a default
    /// configuration (public resolvers) so that mail still flows.
    pub fn from_system() -> Self {
        let inner = match TokioResolver::builder_tokio() {
            Ok(builder) => builder.build(),
            Err(e) => {
                tracing::warn!(error = %e, "reading the system DNS configuration; using defaults");
                TokioResolver::builder_with_config(
                    ResolverConfig::default(),
                    TokioConnectionProvider::default(),
                )
                .build()
            }
        };
        Self { inner }
    }

    /// A resolver asking only `servers` (UDP, then TCP for truncated answers), trusting
    /// their negative answers so that a non-existent domain bounces at once.
    pub fn with_servers(servers: &[SocketAddr]) -> Self {
        let mut group = Vec::with_capacity(servers.len() * 2);
        for &addr in servers {
            for protocol in [Protocol::Udp, Protocol::Tcp] {
                let mut ns = NameServerConfig::new(addr, protocol);
                ns.trust_negative_responses = true;
                group.push(ns);
            }
        }
        let config = ResolverConfig::from_parts(None, Vec::new(), group);
        Self {
            inner: TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .build(),
        }
    }

    /// Wraps a resolver built elsewhere.
    pub fn new(inner: TokioResolver) -> Self {
        Self { inner }
    }

    async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, DnsError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let lookup = self.inner.lookup_ip(fqdn(host)).await?;
        Ok(lookup.iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }
}

/// Finds the hosts to deliver mail for `domain` to, best first.
pub async fn resolve(
    domain: &str,
    delivery: &Delivery,
    resolver: &Resolver,
) -> Result<Vec<Target>, ResolveError> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if let Some(route) = static_route(&domain, delivery) {
        let addrs = host_addresses(resolver, &route.host, route.port).await?;
        let tls = tls_mode_for(&domain, delivery);
        return Ok(vec![Target {
            host: route.host.clone(),
            addrs,
            tls,
            implicit_tls: false,
            auth: None,
        }]);
    }
    if let Some(smarthost) = &delivery.smarthost {
        let auth =
            match &smarthost.username {
                None => None,
                Some(username) => {
                    let path = smarthost.password_file.as_ref().ok_or_else(|| {
                        ResolveError::NoPassword {
                            username: username.clone(),
                        }
                    })?;
                    let password = tokio::fs::read_to_string(path).await.map_err(|source| {
                        ResolveError::PasswordFile {
                            path: path.clone(),
                            source,
                        }
                    })?;
                    Some(Credentials {
                        username: username.clone(),
                        password: password.trim().to_string(),
                    })
                }
            };
        let addrs = host_addresses(resolver, &smarthost.host, smarthost.port).await?;
        return Ok(vec![Target {
            host: smarthost.host.clone(),
            addrs,
            tls: smarthost.tls,
            implicit_tls: smarthost.implicit_tls,
            auth,
        }]);
    }
    let tls = tls_mode_for(&domain, delivery);
    let port = delivery.mx_port;
    // An address literal (`user@[192.0.2.1]`) names the host itself.
    if let Some(ip) = address_literal(&domain) {
        let addrs = vec![SocketAddr::new(ip, port)];
        return Ok(vec![Target {
            host: ip.to_string(),
            addrs,
            tls,
            implicit_tls: false,
            auth: None,
        }]);
    }
    let records = match resolver.inner.mx_lookup(fqdn(&domain)).await {
        Ok(lookup) => lookup
            .iter()
            .map(|mx| (mx.preference(), mx.exchange().to_ascii()))
            .collect::<Vec<_>>(),
        Err(e) => match classify(&e) {
            DnsFailure::NxDomain => return Err(ResolveError::NoSuchDomain { domain }),
            DnsFailure::NoData => Vec::new(),
            DnsFailure::Other => {
                return Err(ResolveError::Dns {
                    name: domain,
                    source: e,
                });
            }
        },
    };
    let hosts = match order_mx(&records, &mut rand::rng()) {
        MxPlan::NullMx => return Err(ResolveError::NullMx { domain }),
        // No MX: the domain itself is the mail host (RFC 5321 §5.1).
        MxPlan::Implicit => vec![domain.clone()],
        MxPlan::Hosts(hosts) => hosts,
    };
    let implicit = records.is_empty();
    let mut targets = Vec::with_capacity(hosts.len());
    let mut transient = None;
    for host in hosts {
        match resolver.addresses(&host, port).await {
            Ok(addrs) if !addrs.is_empty() => targets.push(Target {
                host,
                addrs,
                tls,
                implicit_tls: false,
                auth: None,
            }),
            Ok(_) => {}
            Err(e) => match classify(&e) {
                DnsFailure::NxDomain if implicit => {
                    return Err(ResolveError::NoSuchDomain { domain });
                }
                DnsFailure::NxDomain | DnsFailure::NoData => {
                    tracing::debug!(%host, error = %e, "mail host has no address");
                }
                DnsFailure::Other => {
                    tracing::debug!(%host, error = %e, "mail host look-up failed");
                    transient.get_or_insert(ResolveError::Dns {
                        name: host,
                        source: e,
                    });
                }
            },
        }
    }
    if !targets.is_empty() {
        return Ok(targets);
    }
    // Only when every host is known to have no address is that final.
    Err(transient.unwrap_or(ResolveError::NoAddress { domain }))
}

async fn host_addresses(
    resolver: &Resolver,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let addrs = resolver
        .addresses(host, port)
        .await
        .map_err(|source| ResolveError::Dns {
            name: host.to_string(),
            source,
        })?;
    if addrs.is_empty() {
        return Err(ResolveError::NoAddress {
            domain: host.to_string(),
        });
    }
    Ok(addrs)
}

enum DnsFailure {
    NxDomain,
    NoData,
    Other,
}

fn classify(e: &DnsError) -> DnsFailure {
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => match *response_code {
            ResponseCode::NXDomain => DnsFailure::NxDomain,
            ResponseCode::NoError => DnsFailure::NoData,
            _ => DnsFailure::Other,
        },
        _ => DnsFailure::Other,
    }
}

/// A fully qualified name, so that the resolver's search list is never applied.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]` as an address.
pub fn address_literal(domain: &str) -> Option<IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner
        .strip_prefix("IPv6:")
        .or_else(|| inner.strip_prefix("ipv6:"))
        .unwrap_or(inner);
    inner.parse().ok()
}

/// The static route for `domain`: the first whose domain contains it.
pub fn static_route<'a>(domain: &str, delivery: &'a Delivery) -> Option<&'a Route> {
    delivery.routes.iter().find(|r| r.domain.contains(domain))
}

/// The TLS policy for `domain`: the first matching entry of `tls_policies`, else the
/// default of `delivery.tls`.
pub fn tls_mode_for(domain: &str, delivery: &Delivery) -> TlsMode {
    delivery
        .tls_policies
        .iter()
        .find(|p| p.domain.contains(domain))
        .map_or(delivery.tls, |p| p.mode)
}

/// What the MX records of a domain say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxPlan {
    /// No MX records: deliver to the domain's own address.
    Implicit,
    /// A null MX: the domain accepts no mail.
    NullMx,
    /// The MX hosts, best first, without trailing dots or duplicates.
    Hosts(Vec<String>),
}

/// Orders MX records `(preference, exchange)` by preference, shuffling hosts of equal
/// preference (RFC 5321 §5.1). A `.` exchange is a null MX (RFC 7505); mixed with real
/// hosts it is a misconfiguration and is ignored.
pub fn order_mx(records: &[(u16, String)], rng: &mut impl Rng) -> MxPlan {
    if records.is_empty() {
        return MxPlan::Implicit;
    }
    let mut hosts: Vec<(u16, String)> = records
        .iter()
        .map(|(pref, host)| (*pref, host.trim_end_matches('.').to_ascii_lowercase()))
        .filter(|(_, host)| !host.is_empty())
        .collect();
    if hosts.is_empty() {
        return MxPlan::NullMx;
    }
    hosts.shuffle(rng);
    // A stable sort keeps the shuffled order within each preference.
    hosts.sort_by_key(|(pref, _)| *pref);
    let mut out: Vec<String> = Vec::with_capacity(hosts.len());
    for (_, host) in hosts {
        if !out.contains(&host) {
            out.push(host);
        }
    }
    MxPlan::Hosts(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Smarthost, TlsPolicy};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn recs(list: &[(u16, &str)]) -> Vec<(u16, String)> {
        list.iter().map(|(p, h)| (*p, h.to_string())).collect()
    }

    #[test]
    fn mx_sorted_by_preference_with_equal_ones_shuffled() {
        let records = recs(&[
            (20, "c.mx."),
            (10, "a.mx."),
            (10, "b.mx."),
            (30, "D.MX."),
            (10, "a.mx."),
        ]);
        let mut seen_first = std::collections::HashSet::new();
        for seed in 0..64 {
            let MxPlan::Hosts(hosts) = order_mx(&records, &mut StdRng::seed_from_u64(seed)) else {
                panic!("hosts expected");
            };
            assert_eq!(hosts.len(), 4, "duplicates removed");
            assert!(
                hosts[..2].contains(&"a.mx".to_string())
                    && hosts[..2].contains(&"b.mx".to_string())
            );
            assert_eq!(&hosts[2..], &["c.mx", "d.mx"]);
            seen_first.insert(hosts[0].clone());
        }
        assert_eq!(seen_first.len(), 2, "equal preferences are shuffled");
    }

    #[test]
    fn null_and_missing_mx() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(order_mx(&recs(&[(0, ".")]), &mut rng), MxPlan::NullMx);
        assert_eq!(order_mx(&recs(&[(0, "")]), &mut rng), MxPlan::NullMx);
        assert_eq!(order_mx(&[], &mut rng), MxPlan::Implicit);
        assert_eq!(
            order_mx(&recs(&[(0, "."), (10, "mx.example.jp.")]), &mut rng),
            MxPlan::Hosts(vec!["mx.example.jp".into()])
        );
    }

    #[test]
    fn routes_and_tls_policies_match_subdomains_first_wins() {
        let mut d = Delivery::default();
        d.routes.push(Route {
            domain: "example.jp".parse().unwrap(),
            host: "10.0.0.5".into(),
            port: 2525,
        });
        d.tls_policies.push(TlsPolicy {
            domain: "docomo.ne.jp".parse().unwrap(),
            mode: TlsMode::Required,
        });
        d.tls_policies.push(TlsPolicy {
            domain: "ne.jp".parse().unwrap(),
            mode: TlsMode::Disabled,
        });
        assert_eq!(
            static_route("mail.example.jp", &d).map(|r| r.port),
            Some(2525)
        );
        assert!(static_route("badexample.jp", &d).is_none());
        assert_eq!(tls_mode_for("docomo.ne.jp", &d), TlsMode::Required);
        assert_eq!(tls_mode_for("ezweb.ne.jp", &d), TlsMode::Disabled);
        assert_eq!(tls_mode_for("example.com", &d), TlsMode::Opportunistic);
    }

    #[test]
    fn address_literals() {
        assert_eq!(
            address_literal("[192.0.2.1]"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            address_literal("[IPv6:2001:db8::1]"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(address_literal("example.jp"), None);
    }

    #[tokio::test]
    async fn static_route_beats_smarthost_and_smarthost_reads_password() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let mut d = Delivery {
            smarthost: Some(Smarthost {
                host: "127.0.0.1".into(),
                port: 465,
                implicit_tls: true,
                username: Some("office".into()),
                password_file: Some(pw),
                tls: TlsMode::Required,
            }),
            ..Delivery::default()
        };
        d.routes.push(Route {
            domain: "lan.example".parse().unwrap(),
            host: "10.1.2.3".into(),
            port: 25,
        });
        let resolver = Resolver::from_system();
        let t = resolve("host.lan.example", &d, &resolver).await.unwrap();
        assert_eq!(t[0].addrs, vec!["10.1.2.3:25".parse().unwrap()]);
        assert!(t[0].auth.is_none() && !t[0].implicit_tls);
        let t = resolve("example.com", &d, &resolver).await.unwrap();
        assert_eq!(t[0].addrs, vec!["127.0.0.1:465".parse().unwrap()]);
        assert!(t[0].implicit_tls);
        assert_eq!(t[0].tls, TlsMode::Required);
        let creds = t[0].auth.as_ref().unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("office", "s3cret")
        );
        assert!(!format!("{creds:?}").contains("s3cret"));
        d.smarthost.as_mut().unwrap().password_file = None;
        let e = resolve("example.com", &d, &resolver).await.unwrap_err();
        assert!(matches!(e, ResolveError::NoPassword { .. }) && !e.is_permanent());
    }

    #[tokio::test]
    async fn address_literal_domains_need_no_dns() {
        let d = Delivery::default();
        let t = resolve("[192.0.2.7]", &d, &Resolver::from_system())
            .await
            .unwrap();
        assert_eq!(t[0].addrs, vec!["192.0.2.7:25".parse().unwrap()]);
    }
}
