//! What the spool keeps about a message besides its content.

use serde::{Deserialize, Serialize};

/// DSN RET parameter (RFC 3461): what a bounce should carry of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ret {
    /// The whole message.
    Full,
    /// Only the headers.
    Hdrs,
}

/// DSN NOTIFY conditions (RFC 3461) for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notify {
    /// Report success.
    Success,
    /// Report failure.
    Failure,
    /// Report delay.
    Delay,
    /// Never report.
    Never,
}

impl Ret {
    /// The SMTP parameter value (`RET=FULL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Hdrs => "HDRS",
        }
    }
}

impl Notify {
    /// The SMTP parameter value (`NOTIFY=FAILURE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "NEVER",
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Delay => "DELAY",
        }
    }
}

/// Where a recipient stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RcptStatus {
    /// Not yet delivered; `last_error` holds the latest temporary failure.
    Pending {
        /// The latest temporary failure, if any.
        last_error: Option<String>,
    },
    /// Delivered; `reply` is the destination's answer.
    Delivered {
        /// Destination's reply.
        reply: String,
        /// When, Unix seconds.
        at: u64,
    },
    /// Failed for good; will be (or was) reported to the sender.
    Failed {
        /// Why.
        reply: String,
        /// Enhanced status such as 5.1.1.
        status: String,
        /// When, Unix seconds.
        at: u64,
    },
}

/// One recipient of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The forward-path.
    pub address: String,
    /// DSN NOTIFY, if the client gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Vec<Notify>>,
    /// DSN ORCPT, if the client gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orcpt: Option<String>,
    /// Delivery state.
    pub status: RcptStatus,
}

impl Recipient {
    /// A new, undelivered recipient.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            notify: None,
            orcpt: None,
            status: RcptStatus::Pending { last_error: None },
        }
    }

    /// True while delivery is still owed.
    pub fn is_pending(&self) -> bool {
        matches!(self.status, RcptStatus::Pending { .. })
    }
}

/// Who handed the message in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Peer IP address.
    pub ip: String,
    /// HELO/EHLO name.
    pub helo: String,
    /// Authenticated user, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_user: Option<String>,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// Whether the client was a host of the trusted networks.
    #[serde(default)]
    pub trusted: bool,
    /// Whether the sender's identity was checked: an authenticated account allowed to use
    /// the address, or a host of the trusted networks sending from an office domain. DLP
    /// exemptions by sender apply only then.
    #[serde(default)]
    pub sender_verified: bool,
}

/// Everything about a queued message but its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Queue ID, in every log line about the message.
    pub id: String,
    /// Reverse-path; empty for the null sender of bounces.
    pub mail_from: String,
    /// DSN RET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<Ret>,
    /// DSN ENVID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
    /// Recipients with their state.
    pub recipients: Vec<Recipient>,
    /// Arrival, Unix seconds.
    pub arrived: u64,
    /// Content size in octets.
    pub size: u64,
    /// Content has 8-bit octets.
    #[serde(default)]
    pub eight_bit: bool,
    /// The envelope needs SMTPUTF8.
    #[serde(default)]
    pub smtputf8: bool,
    /// Who sent it.
    pub client: ClientInfo,
    /// Made by the box itself (bounces, notices): not counted against pacing limits.
    #[serde(default)]
    pub internal: bool,
    /// Why it is held, if it is; a held message is not delivered until released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// What DLP found, when a rule applied to the message (held, tagged, logged …); the
    /// quarantine shows it. Masked excerpts only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlp: Option<DlpRecord>,
    /// Delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Next attempt, Unix seconds (0: as soon as possible).
    #[serde(default)]
    pub next_attempt: u64,
    /// Messages accepted with this one (the encrypted copy of its attachments, their
    /// password mail), by queue ID: while this one is held they are held too, and they are
    /// released, refused or deleted with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<String>,
    /// The message this one was accepted with (it is one of its companions): while held, it
    /// leaves only with that message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companion_of: Option<String>,
    /// A timed hold (misdelivery prevention, FUTURERELEASE): while `held`, the Unix time
    /// it ends by itself and the message leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_until: Option<u64>,
    /// The SHA-256 (hex) of the capability token in the links that end a timed hold early
    /// (the token itself is only in the sender's notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_token: Option<String>,
    /// What kind of timed hold it is (who may end it, and how).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_kind: Option<crate::queue::timed::HoldKind>,
}

/// DLP's verdict on a message, kept with it so the quarantine can say why it is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlpRecord {
    /// The deciding action (`hold`, `encrypt`, or `pass` with marks).
    pub action: mamori_dlp::Action,
    /// The deciding rule, if any.
    pub rule: Option<String>,
    /// One line per rule that applied.
    pub explanation: Vec<String>,
    /// The findings, masked.
    pub findings: Vec<mamori_dlp::LocatedFinding>,
    /// The problems met.
    pub problems: Vec<mamori_dlp::Problem>,
    /// Every finding and problem counted (the lists above are capped).
    #[serde(default)]
    pub totals: mamori_dlp::inspect::Totals,
}

impl Envelope {
    /// A fresh envelope: no DSN parameters, not held, never attempted, size 0 until the
    /// content is known.
    pub fn new(
        id: String,
        mail_from: String,
        recipients: Vec<Recipient>,
        client: ClientInfo,
    ) -> Self {
        Self {
            id,
            mail_from,
            ret: None,
            envid: None,
            recipients,
            arrived: crate::datetime::unix_now(),
            size: 0,
            eight_bit: false,
            smtputf8: false,
            client,
            internal: false,
            held: None,
            dlp: None,
            attempts: 0,
            next_attempt: 0,
            companions: Vec::new(),
            companion_of: None,
            hold_until: None,
            hold_token: None,
            hold_kind: None,
        }
    }

    /// An envelope for mail the box makes itself (bounces, DLP notices): from this host,
    /// marked internal (no pacing rate gate), size and 8-bit flag taken from `content`.
    pub fn generated(
        id: String,
        mail_from: String,
        recipients: Vec<Recipient>,
        hostname: &str,
        content: &[u8],
    ) -> Self {
        let client = ClientInfo {
            ip: "127.0.0.1".into(),
            helo: hostname.into(),
            auth_user: None,
            tls: false,
            trusted: false,
            sender_verified: false,
        };
        Self {
            size: content.len() as u64,
            eight_bit: !content.is_ascii(),
            internal: true,
            ..Self::new(id, mail_from, recipients, client)
        }
    }

    /// Is it in DLP's quarantine (held by DLP for an approver, not on a timed hold)?
    pub fn is_quarantined(&self) -> bool {
        self.held.is_some() && self.dlp.is_some() && self.hold_until.is_none()
    }

    /// Is it on a timed hold that ends by itself?
    pub fn on_timed_hold(&self) -> bool {
        self.held.is_some() && self.hold_until.is_some()
    }

    /// Recipients still owed delivery.
    pub fn pending(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter().filter(|r| r.is_pending())
    }

    /// When the queue must next look at this message (Unix seconds): its next attempt (its
    /// arrival before the first); [`HELD_WAKE`] while it is held (only an administrator's
    /// action wakes it).
    pub fn wake_at(&self) -> u64 {
        if self.held.is_some() {
            self.hold_until.unwrap_or(HELD_WAKE)
        } else {
            self.next_attempt.max(self.arrived)
        }
    }
}

/// The wake time of a held message (2100-01-01): later than any retry, so a scan of the
/// spool tells held mail from deferred mail by the file's time alone.
pub const HELD_WAKE: u64 = 4_102_444_800;
