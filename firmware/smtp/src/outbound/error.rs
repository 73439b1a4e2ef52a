//! Delivery outcomes as data: per-recipient results, and the errors that end a whole
//! attempt, each saying whether it is permanent and whether the destination is pushing
//! back (so the pacer slows down).

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::reply::Reply;

/// The step of the SMTP dialogue an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake (implicit TLS or after STARTTLS).
    TlsHandshake,
    /// Waiting for the server's greeting.
    Greeting,
    /// EHLO or HELO.
    Ehlo,
    /// The STARTTLS command.
    StartTls,
    /// SMTP AUTH.
    Auth,
    /// RSET between transactions.
    Rset,
    /// MAIL FROM.
    MailFrom,
    /// RCPT TO.
    RcptTo,
    /// The DATA command.
    Data,
    /// Sending the message and waiting for the final reply.
    Message,
    /// QUIT.
    Quit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::TlsHandshake => "TLS handshake",
            Self::Greeting => "greeting",
            Self::Ehlo => "EHLO",
            Self::StartTls => "STARTTLS",
            Self::Auth => "AUTH",
            Self::Rset => "RSET",
            Self::MailFrom => "MAIL FROM",
            Self::RcptTo => "RCPT TO",
            Self::Data => "DATA",
            Self::Message => "end of data",
            Self::Quit => "QUIT",
        })
    }
}

/// Why one recipient was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The server's reply, or one made locally (see `remote`).
    pub reply: Reply,
    /// True when retrying cannot help (5xx): the recipient bounces now.
    pub permanent: bool,
    /// True when the reply came from the remote server (it is then the DSN's
    /// `Remote-MTA` and `Diagnostic-Code`); false when Mamori decided by itself.
    pub remote: bool,
}

impl Failure {
    /// A failure from a server reply; permanent when the reply is 5xx.
    pub fn remote(reply: Reply) -> Self {
        Self {
            permanent: reply.is_permanent(),
            reply,
            remote: true,
        }
    }

    /// A failure decided locally (such as SMTPUTF8 needed but not offered).
    pub fn local(reply: Reply) -> Self {
        Self {
            permanent: reply.is_permanent(),
            reply,
            remote: false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.permanent {
            "permanent"
        } else {
            "temporary"
        };
        write!(f, "{kind} failure: {}", self.reply)
    }
}

/// What happened to one recipient of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptOutcome {
    /// The recipient, as in the transaction.
    pub address: String,
    /// The final 2xx reply to the message, or why it was not delivered.
    pub result: Result<Reply, Failure>,
}

/// Why a connection or a whole transaction failed. Per-recipient failures are not errors:
/// they are in the [`RcptOutcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No TCP connection could be made.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The server did not answer (or take data) within the command timeout.
    #[error("{host}: timed out during {stage}")]
    Timeout {
        /// The server.
        host: String,
        /// Where it stalled.
        stage: Stage,
    },
    /// TLS could not be used as the policy demands: STARTTLS not offered or refused when
    /// required, a failed handshake, a certificate that does not verify. Always
    /// temporary: the message waits rather than going in clear.
    #[error("{host}: TLS: {reason}")]
    Tls {
        /// The server.
        host: String,
        /// What went wrong, for the log and the delay notice.
        reason: String,
    },
    /// Reading or writing failed, or the server closed the connection.
    #[error("{host}: connection failed during {stage}: {source}")]
    Io {
        /// The server.
        host: String,
        /// Where.
        stage: Stage,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The server broke the protocol (a malformed reply, an unexpected code, plaintext
    /// injected after STARTTLS), or the connection was used after an earlier error.
    #[error("{host}: protocol error during {stage}: {reason}")]
    Protocol {
        /// The server.
        host: String,
        /// Where.
        stage: Stage,
        /// What was wrong.
        reason: String,
    },
    /// The server refused a step that concerns the whole connection or transaction
    /// (greeting, EHLO, MAIL FROM, RSET) or said 421 (closing) at any point.
    #[error("{host} refused {stage}: {reply}")]
    Rejected {
        /// The server.
        host: String,
        /// The refused step.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
    /// Mamori could not read the message it was sending (the spool file); the connection
    /// was dropped before the end of data. Temporary.
    #[error("local error: {0}")]
    Local(String),
    /// SMTP AUTH towards a smarthost failed or could not be attempted. Temporary, like
    /// Postfix's `smtp_sasl_auth_soft_bounce`: a wrong password is fixed by the operator,
    /// not by bouncing every message.
    #[error("{host}: authentication: {reason}")]
    Auth {
        /// The server.
        host: String,
        /// What went wrong.
        reason: String,
        /// The server's reply, if it gave one.
        reply: Option<Reply>,
    },
}

impl DeliveryError {
    /// True when retrying cannot help: a 5xx reply to the greeting, EHLO/HELO, MAIL FROM.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Rejected { reply, .. } => reply.is_permanent(),
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Tls { .. }
            | Self::Io { .. }
            | Self::Protocol { .. }
            | Self::Local(_)
            | Self::Auth { .. } => false,
        }
    }

    /// True when the destination is pushing back: any 421, or a 4xx reply to the
    /// greeting, or to EHLO or MAIL FROM that reads like rate limiting (an enhanced
    /// code 4.7.x or words such as "too many" or "rate limit"). The pacer slows down.
    pub fn is_throttle(&self) -> bool {
        let reply = match self {
            Self::Rejected { reply, .. } => reply,
            Self::Auth {
                reply: Some(reply), ..
            } => return reply.code == 421,
            Self::Auth { reply: None, .. }
            | Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Tls { .. }
            | Self::Io { .. }
            | Self::Local(_)
            | Self::Protocol { .. } => return false,
        };
        if reply.code == 421 {
            return true;
        }
        let Self::Rejected { stage, .. } = self else {
            return false;
        };
        reply.is_transient()
            && match stage {
                Stage::Greeting => true,
                Stage::Ehlo | Stage::MailFrom => looks_like_rate_limit(reply),
                _ => false,
            }
    }

    /// The server's reply behind this error, if there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Rejected { reply, .. } => Some(reply),
            Self::Auth { reply, .. } => reply.as_ref(),
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Tls { .. }
            | Self::Io { .. }
            | Self::Local(_)
            | Self::Protocol { .. } => None,
        }
    }
}

/// Heuristic for a 4xx that means "slow down" rather than "something is broken".
fn looks_like_rate_limit(reply: &Reply) -> bool {
    if matches!(reply.enhanced, Some((4, 7, _))) {
        return true;
    }
    let text = reply.message().to_ascii_lowercase();
    const HINTS: &[&str] = &[
        "rate limit",
        "ratelimit",
        "rate-limit",
        "too many",
        "throttl",
        "slow down",
        "try again later",
        "unexpected volume",
        "exceeded",
    ];
    HINTS.iter().any(|h| text.contains(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::reply::parse_one;

    fn rejected(stage: Stage, wire: &str) -> DeliveryError {
        let reply = parse_one(wire.as_bytes()).unwrap().unwrap();
        DeliveryError::Rejected {
            host: "mx".into(),
            stage,
            reply,
        }
    }

    #[test]
    fn throttle_classification() {
        assert!(rejected(Stage::RcptTo, "421 4.7.0 closing\r\n").is_throttle());
        assert!(rejected(Stage::Greeting, "450 busy\r\n").is_throttle());
        assert!(rejected(Stage::MailFrom, "451 4.7.650 reputation\r\n").is_throttle());
        assert!(rejected(Stage::MailFrom, "452 Too many messages from you\r\n").is_throttle());
        assert!(!rejected(Stage::MailFrom, "451 4.3.0 local error\r\n").is_throttle());
        assert!(!rejected(Stage::Ehlo, "550 go away\r\n").is_throttle());
        assert!(rejected(Stage::Ehlo, "550 go away\r\n").is_permanent());
        assert!(!rejected(Stage::Greeting, "421 busy\r\n").is_permanent());
    }
}
