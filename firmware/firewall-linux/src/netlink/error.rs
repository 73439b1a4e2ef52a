//! Errors of the netlink layer.

use std::io;

/// What went wrong talking to nf_tables.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The netlink socket could not be opened or configured.
    #[error("cannot open the nf_tables netlink socket: {0}")]
    Socket(#[source] io::Error),
    /// Sending the batch or request failed.
    #[error("cannot send to nf_tables: {0}")]
    Send(#[source] io::Error),
    /// Reading the kernel's answers failed (with `ENOBUFS`, answers were lost: whether the
    /// batch took effect is unknown until the table is read back).
    #[error("cannot read nf_tables' answers: {0}")]
    Receive(#[source] io::Error),
    /// The kernel refused the batch: nothing of it took effect (one transaction).
    #[error(
        "the kernel refused {object}: {} (errno {errno}){}; nothing was changed",
        io::Error::from_raw_os_error(*errno),
        if *others > 0 { format!(", and {others} later message(s) with it") } else { String::new() }
    )]
    Refused {
        /// The first refused message's object (`rule 3 of chain input_lan ("ssh")`).
        object: String,
        /// The kernel's errno (positive: `ENOENT` is 2).
        errno: i32,
        /// How many later messages were refused too (often only as a consequence).
        others: usize,
    },
    /// The kernel did not acknowledge every message (and reported no error).
    #[error(
        "nf_tables acknowledged {acked} of {expected} messages (first missing: {first_missing})"
    )]
    MissingAck {
        /// Messages acknowledged.
        acked: usize,
        /// Messages sent.
        expected: usize,
        /// The first message without an acknowledgement.
        first_missing: String,
    },
    /// A dump request was refused (`ENOENT`: no such table or set).
    #[error("nf_tables refused to list {what}: {}", io::Error::from_raw_os_error(*errno))]
    Dump {
        /// What was listed.
        what: String,
        /// The kernel's errno.
        errno: i32,
    },
    /// An answer could not be decoded.
    #[error("malformed answer from nf_tables: {0}")]
    Malformed(String),
    /// A name holds a NUL byte (validation prevents this).
    #[error("name {0:?} holds a NUL byte")]
    BadName(String),
    /// No answer came in time.
    #[error("nf_tables did not answer {0} in time")]
    Timeout(String),
}

impl NetlinkError {
    /// The kernel's errno, when the kernel refused something.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Refused { errno, .. } | Self::Dump { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}
