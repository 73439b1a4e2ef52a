//! Mamori's ESMTP relay.
//!
//! Mail flows `inbound` (sessions: the SMTP dialogue, strict DATA, AUTH, STARTTLS) →
//! [`pipeline`] (stages that may rewrite, hold or reject before the final reply) →
//! [`spool`] (fsynced before 250) → [`queue`] (scheduling, retries, pacing) →
//! `outbound` (the SMTP client, routing, DSN).
//!
//! The protocol pieces (`inbound::data`, `inbound::reply`, `address`) are pure and
//! fuzzable; files, sockets and timers sit in `server`, `spool` and `queue`.

pub mod address;
pub mod alert;
pub mod api;
pub mod blocking;
pub mod board;
pub mod datetime;
pub mod dlp_stage;
pub mod encrypt_stage;
pub mod inbound;
pub mod links;
pub mod live;
pub mod misdelivery;
pub mod monthly;
pub mod outbound;
pub mod pipeline;
pub mod queue;
pub mod server;
pub mod settings;
pub mod spool;
pub mod stats;
pub mod tls;
