//! The `[smtp]` section: listeners, acceptance limits, accounts and delivery, parsed
//! strictly (unknown keys are errors) with defaults a careful operator would choose.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mamori_core::values::{Domain, Network};
use serde::{Deserialize, Serialize};

use super::types::{ListenerKind, TlsMode};

/// The SMTP relay: listeners, acceptance limits, accounts and delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    /// Sockets to accept mail on; an empty list runs no listener.
    pub listeners: Vec<Listener>,
    /// Networks whose hosts may relay through the `relay` listener without AUTH (the
    /// office's LAN). They may send only from the office's domains.
    pub trusted_networks: Vec<Network>,
    /// The office's own domains: their addresses are "internal" for DLP, their senders are
    /// the office's, and sender exemptions apply to them. An office whose mailboxes live at
    /// its provider lists its domain here and not in `accepted_domains`.
    pub office_domains: Vec<Domain>,
    /// Domains the box accepts mail for from the Internet, each with the route to the
    /// office's own mail server and how recipients are checked before 250 (so that no bounce
    /// is made for a forged sender). Often empty.
    pub accepted_domains: Vec<AcceptedDomain>,
    /// Before this release, one list did both jobs of `office_domains` and
    /// `accepted_domains`. Still read: its domains become office domains, and accepted
    /// domains where `delivery.routes` has a route for them, with a warning.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local_domains: Vec<Domain>,
    /// Refuse mail from the Internet (not a trusted network, not authenticated) whose
    /// sender claims one of the office's domains (default no: such mail only gets no
    /// sender exemption; some partners' services send "as" the office legitimately).
    pub refuse_forged_office_senders: bool,
    /// What a bounce to a sender outside the office's domains carries of the original:
    /// `headers` (the default; RET=FULL is not honoured for the outside) or `full`.
    pub bounce_content_outside: BounceContent,
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub max_message_size: u64,
    /// Memory the relay may use for mail, all together, in bytes: what sessions hold
    /// before it reaches the spool, messages read back for the inspection, their text and
    /// what the inspection expands (archives). Past it, clients get 452 4.3.1 and retry
    /// later, and inspections wait their turn (a small board must not run out of memory
    /// under a burst of large mails). 0 (the default): sized to the board, see
    /// [`Smtp::data_memory`].
    pub max_data_memory: u64,
    /// Most recipients in one transaction; more get 452 4.5.3 (not counted as errors up
    /// to as many again: a mail program sending a notice to many Bcc recipients splits the
    /// rest into another transaction).
    pub max_recipients: usize,
    /// Longest line of message content, in octets without CRLF (RFC 5322 says 998).
    pub max_line_length: usize,
    /// Most commands in one session before DATA (guards against slow enumeration).
    pub max_commands: usize,
    /// Errors a client may make before it is disconnected.
    pub max_errors: usize,
    /// Sessions served at once over all listeners.
    pub max_sessions: usize,
    /// Of `max_sessions`, how many only hosts of the trusted networks may take, so that
    /// strangers holding connections open cannot stop the office's own mail.
    pub reserved_office_sessions: usize,
    /// Of `max_sessions`, how many only the submission listeners may take (staff sending
    /// from outside with AUTH).
    pub reserved_submission_sessions: usize,
    /// Connections one address outside the trusted networks may hold at once.
    pub max_connections_per_client: usize,
    /// New connections one address outside the trusted networks may open per minute.
    pub max_connection_rate_per_client: u32,
    /// Under pressure (the shared sessions three quarters taken), how long a client outside
    /// the trusted networks may wait before its next command (Postfix's stress timeout).
    #[serde(with = "humantime_serde")]
    pub stress_command_timeout: Duration,
    /// Failed AUTH attempts from one address before it must wait (the wait doubles with
    /// each further failure, up to 15 minutes).
    pub max_auth_failures_per_client: u32,
    /// Failed AUTH attempts on one account (from addresses that never logged in to it)
    /// before those addresses must wait a while; the account's own known addresses and
    /// the trusted networks are not locked out.
    pub max_auth_failures_per_account: u32,
    /// DLP inspections run at once (0: one per processor core).
    pub scan_threads: usize,
    /// How long to wait for the client's next command or data.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Longest a whole session may last.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// Certificate and key for the listeners.
    pub tls: ServerTls,
    /// Local accounts allowed to AUTH on submission listeners.
    pub accounts: Vec<Account>,
    /// Outbound delivery.
    pub delivery: Delivery,
    /// Per-destination pacing.
    pub pacing: Pacing,
    /// How long mail DLP holds stays in the quarantine before it is erased unsent (each
    /// erasure recorded in the audit log); `0s` keeps it until someone decides. Default 30
    /// days: held mail carries personal data, which is not to be kept longer than needed.
    #[serde(with = "humantime_serde")]
    pub quarantine_retention: Duration,
    /// The administrators' addresses that alert mails go to (held mail waiting, a
    /// certificate near its end, a full disk, a daemon down); empty: no alert mail.
    pub alert_to: Vec<String>,
}

/// The smallest memory budget the relay sizes for itself (enough for a few large mails).
pub const MIN_DATA_MEMORY: u64 = 48 << 20;

/// The largest it sizes for itself on a big machine (set `max_data_memory` for more).
pub const MAX_AUTO_DATA_MEMORY: u64 = 256 << 20;

impl Smtp {
    /// The memory budget in force: `max_data_memory` when set, otherwise 1/16 of the
    /// board's RAM (`ram`, when known) — 64 MiB on a 1 GiB board — but at least twice
    /// `max_message_size` (a largest message and its text) and [`MIN_DATA_MEMORY`], and at
    /// most [`MAX_AUTO_DATA_MEMORY`] (or twice `max_message_size`, if that is more).
    pub fn data_memory(&self, ram: Option<u64>) -> u64 {
        if self.max_data_memory > 0 {
            return self.max_data_memory;
        }
        let floor = MIN_DATA_MEMORY.max(self.max_message_size.saturating_mul(2));
        let share = ram.map_or(MAX_AUTO_DATA_MEMORY, |r| r / 16);
        share.min(MAX_AUTO_DATA_MEMORY).max(floor)
    }
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            listeners: Vec::new(),
            trusted_networks: vec![
                "127.0.0.0/8".parse().expect("literal network"),
                "::1/128".parse().expect("literal network"),
            ],
            office_domains: Vec::new(),
            accepted_domains: Vec::new(),
            local_domains: Vec::new(),
            refuse_forged_office_senders: false,
            bounce_content_outside: BounceContent::Headers,
            max_message_size: 25 * 1024 * 1024,
            max_data_memory: 0,
            max_recipients: 1000,
            max_line_length: 998,
            max_commands: 2000,
            max_errors: 10,
            max_sessions: 100,
            reserved_office_sessions: 20,
            reserved_submission_sessions: 10,
            max_connections_per_client: 10,
            max_connection_rate_per_client: 60,
            stress_command_timeout: Duration::from_secs(10),
            max_auth_failures_per_client: 5,
            max_auth_failures_per_account: 10,
            scan_threads: 0,
            command_timeout: Duration::from_secs(300),
            session_timeout: Duration::from_secs(1800),
            tls: ServerTls::default(),
            accounts: Vec::new(),
            delivery: Delivery::default(),
            pacing: Pacing::default(),
            quarantine_retention: Duration::from_secs(30 * 86_400),
            alert_to: Vec::new(),
        }
    }
}

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// What the listener is for.
    pub kind: ListenerKind,
    /// Address and port, such as `0.0.0.0:25` or `[::]:587`.
    pub address: SocketAddr,
}

/// Server certificate; a self-signed one is generated under the data directory if unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerTls {
    /// PEM certificate chain.
    pub cert_file: Option<PathBuf>,
    /// PEM private key.
    pub key_file: Option<PathBuf>,
}

/// A local account for SMTP AUTH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The login name.
    pub username: String,
    /// Argon2id hash in PHC form (`mamori hash-password` makes one); never a clear password.
    pub password_hash: String,
    /// The sender addresses the account may use: addresses (`taro@office.example.jp`) or
    /// domains (`office.example.jp`, or `@office.example.jp`), which allow every address
    /// there. Empty: the user name, if it is an address; otherwise any address of the
    /// office's domains (with a warning at start).
    #[serde(default)]
    pub senders: Vec<String>,
}

/// What a bounce to the outside carries of the original message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BounceContent {
    /// Only the original's header fields (RFC 3462 text/rfc822-headers).
    #[default]
    Headers,
    /// What the sender asked for (RET=FULL: the whole message).
    Full,
}

/// A domain the box accepts mail for from the Internet, and where that mail goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptedDomain {
    /// The domain (its subdomains are not included).
    pub domain: Domain,
    /// The office's own mail server for it (host name or address); required unless
    /// `delivery.routes` has a route for the domain.
    #[serde(default)]
    pub host: Option<String>,
    /// Its port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// How a recipient is checked before 250.
    #[serde(default)]
    pub verify: RecipientCheck,
    /// The valid recipients, for `verify = "list"`: addresses, or local parts.
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// How recipients in an accepted domain are checked before the box takes a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientCheck {
    /// Ask the office's server (RCPT TO with the null sender, then RSET), remembering the
    /// answer a while (like Postfix's `reject_unverified_recipient`).
    #[default]
    Callout,
    /// Only the addresses listed in `recipients`.
    List,
}

/// Outbound delivery settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delivery {
    /// Send everything through this host instead of MX look-ups.
    pub smarthost: Option<Smarthost>,
    /// Static routes: mail for these domains goes to a fixed host (like Postfix transport maps).
    pub routes: Vec<Route>,
    /// TLS policy for destinations not listed in `tls_policies`.
    pub tls: TlsMode,
    /// Per-domain TLS policy.
    pub tls_policies: Vec<TlsPolicy>,
    /// Extra PEM CA bundle trusted when a certificate must verify (besides the system's).
    pub ca_file: Option<PathBuf>,
    /// First retry after a temporary failure; doubles each time.
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    /// Longest wait between retries.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How long a message may wait in the queue before it bounces.
    #[serde(with = "humantime_serde")]
    pub queue_lifetime: Duration,
    /// At most this many queued messages' envelopes in memory (Postfix's
    /// `qmgr_message_active_limit`); the rest wait in the spool and come back when due, so
    /// memory stays flat however long the queue grows.
    pub active_limit: usize,
    /// Timeout to connect to a destination.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Timeout for each reply of a destination server.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Destination port for MX delivery (25 on the Internet).
    pub mx_port: u16,
    /// DNS servers for MX and address look-ups; empty: the system's (`/etc/resolv.conf`).
    pub dns_servers: Vec<SocketAddr>,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            smarthost: None,
            routes: Vec::new(),
            tls: TlsMode::Opportunistic,
            tls_policies: Vec::new(),
            ca_file: None,
            retry_initial: Duration::from_secs(300),
            retry_max: Duration::from_secs(4000),
            queue_lifetime: Duration::from_secs(5 * 24 * 3600),
            active_limit: 10_000,
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(300),
            mx_port: 25,
            dns_servers: Vec::new(),
        }
    }
}

/// The relay host that all mail goes through (an ISP's or a provider's submission server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smarthost {
    /// Host name or address.
    pub host: String,
    /// Port (587 for submission with STARTTLS, 465 for implicit TLS, 25).
    #[serde(default = "default_smarthost_port")]
    pub port: u16,
    /// Implicit TLS from the first byte (port 465 style).
    #[serde(default)]
    pub implicit_tls: bool,
    /// AUTH user name, if the smarthost wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// File holding the AUTH password (kept out of the main config file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// TLS policy towards the smarthost; `required` by default as credentials are sent.
    #[serde(default = "required_tls")]
    pub tls: TlsMode,
}

fn default_smarthost_port() -> u16 {
    587
}

fn required_tls() -> TlsMode {
    TlsMode::Required
}

/// A static route for one domain and its subdomains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The destination domain.
    pub domain: Domain,
    /// The host to deliver to.
    pub host: String,
    /// Its port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
}

fn default_smtp_port() -> u16 {
    25
}

/// TLS policy for one destination domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPolicy {
    /// The destination domain (and its subdomains).
    pub domain: Domain,
    /// What to do there.
    pub mode: TlsMode,
}

/// Pacing of outbound delivery per destination domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pacing {
    /// Limits for destinations that no group names.
    pub default: PaceLimits,
    /// Include the built-in group for Japanese mobile carriers (`jp-mobile`).
    pub jp_mobile_preset: bool,
    /// Operator-defined groups; the first group naming a domain wins, before the preset.
    pub groups: Vec<PaceGroup>,
    /// How long a destination that answered 421 or "slow down" gets no new transaction.
    #[serde(with = "humantime_serde")]
    pub throttle_pause: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            default: PaceLimits::default(),
            jp_mobile_preset: true,
            groups: Vec::new(),
            throttle_pause: Duration::from_secs(60),
        }
    }
}

/// Limits applied to each destination domain of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaceLimits {
    /// Parallel connections to the domain.
    pub max_connections: usize,
    /// Transactions sent over one connection before it is closed.
    pub messages_per_connection: usize,
    /// Transactions started per minute towards the domain; 0 means unlimited.
    pub messages_per_minute: u32,
    /// Recipients in one transaction.
    pub recipients_per_transaction: usize,
    /// Recipients over one connection.
    pub recipients_per_connection: usize,
}

impl Default for PaceLimits {
    fn default() -> Self {
        Self {
            max_connections: 10,
            messages_per_connection: 100,
            messages_per_minute: 0,
            recipients_per_transaction: 100,
            recipients_per_connection: 1000,
        }
    }
}

/// A named group of destination domains sharing limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaceGroup {
    /// The group's name, shown in logs.
    pub name: String,
    /// Member domains (each also covers its subdomains).
    pub domains: Vec<Domain>,
    /// The limits of each member domain.
    pub limits: PaceLimits,
}

/// The built-in group for Japanese mobile carriers. They throttle or drop bursts from
/// one sender, and docomo drops a whole session carrying more than 100 recipients, so
/// the limits are low and stay well under that.
pub fn jp_mobile_group() -> PaceGroup {
    const DOMAINS: &[&str] = &[
        // NTT docomo
        "docomo.ne.jp",
        "mopera.net",
        "dwmail.jp",
        // KDDI au / UQ mobile
        "ezweb.ne.jp",
        "au.com",
        "biz.ezweb.ne.jp",
        "biz.au.com",
        "uqmobile.jp",
        // SoftBank / Y!mobile / Disney Mobile / former Willcom and EMOBILE
        "softbank.ne.jp",
        "i.softbank.jp",
        "vodafone.ne.jp",
        "disney.ne.jp",
        "ymobile.ne.jp",
        "ymobile1.ne.jp",
        "y-mobile.ne.jp",
        "emnet.ne.jp",
        "emobile.ne.jp",
        "emobile-s.ne.jp",
        "willcom.com",
        "wcm.ne.jp",
        "pdx.ne.jp",
        // Rakuten Mobile
        "rakumail.jp",
    ];
    PaceGroup {
        name: "jp-mobile".into(),
        domains: DOMAINS.iter().filter_map(|d| d.parse().ok()).collect(),
        limits: PaceLimits {
            max_connections: 2,
            messages_per_connection: 10,
            messages_per_minute: 30,
            recipients_per_transaction: 20,
            recipients_per_connection: 50,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_budget_is_sized_to_the_board_unless_set() {
        const MIB: u64 = 1 << 20;
        let auto = Smtp::default();
        assert_eq!(auto.data_memory(Some(1024 * MIB)), 64 * MIB, "1 GiB board");
        assert_eq!(auto.data_memory(Some(2048 * MIB)), 128 * MIB);
        assert_eq!(auto.data_memory(Some(24 * 1024 * MIB)), 256 * MIB, "capped");
        assert_eq!(
            auto.data_memory(Some(512 * MIB)),
            50 * MIB,
            "twice the largest message"
        );
        assert_eq!(auto.data_memory(None), 256 * MIB);
        let small = Smtp {
            max_message_size: 10 * MIB,
            ..Smtp::default()
        };
        assert_eq!(small.data_memory(Some(256 * MIB)), MIN_DATA_MEMORY);
        let big = Smtp {
            max_message_size: 200 * MIB,
            ..Smtp::default()
        };
        assert_eq!(big.data_memory(Some(24 * 1024 * MIB)), 400 * MIB);
        let set = Smtp {
            max_data_memory: 30 * MIB,
            ..Smtp::default()
        };
        assert_eq!(set.data_memory(Some(1024 * MIB)), 30 * MIB, "as set");
    }
}
