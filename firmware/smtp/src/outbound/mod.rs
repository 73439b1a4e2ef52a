//! Outbound delivery: where a domain's mail goes ([`route`]), the SMTP client that
//! carries it there ([`client`]), and the notices sent back when it cannot ([`dsn`]).
//!
//! Pure parts — reply parsing ([`reply`]), capabilities ([`caps`]), command and DATA
//! encoding ([`envelope`]), MX ordering and policy picking, DSN rendering — have no I/O.
//! The session is generic over `AsyncRead + AsyncWrite` so that tests drive it in memory
//! like a transcript; sockets, DNS and TLS roots sit at the edges.
//!
//! Outcomes are data: each recipient gets a [`RcptOutcome`] (delivered, or a
//! [`Failure`] that says whether it is permanent); a [`DeliveryError`] fails the whole
//! attempt and says whether it is permanent and whether the destination is throttling.

pub mod body;
pub mod caps;
pub mod client;
pub mod dsn;
pub mod envelope;
pub mod error;
pub mod probe;
pub mod reply;
pub mod route;
pub mod tls;

#[cfg(test)]
mod client_tests;

pub use caps::Capabilities;
pub use client::{ClientOptions, Connection, Credentials, connect_any};
pub use dsn::{Action, Dsn, DsnError, DsnRecipient};
pub use envelope::{Notify, OutRecipient, Ret, Transaction};
pub use error::{DeliveryError, Failure, RcptOutcome, Stage};
pub use reply::{Reply, ReplyError, ReplyParser};
pub use route::{ResolveError, Resolver, Target, resolve};
pub use tls::TlsConfigs;
