//! Firmware updates for the box, the way RAUC, Mender and Bottlerocket install them and The
//! Update Framework (TUF 1.0) secures them: metadata checked role by role against a root the
//! image shipped with (or reached by its rotation chain), a firmware bundle streamed into the
//! inactive A/B slot and verified before the boot loader is told to try it once, and a health
//! gate that marks the new slot good or lets the boot count run out so that the old slot
//! boots again.
//!
//! The crate is the pure core plus small file-level adapters: nothing here opens a socket.
//! `mamori updated` (in the `mamori` binary) fetches, schedules and reports.

pub mod bootenv;
pub mod bundle;
pub mod canonical;
pub mod client;
pub mod config;
pub mod error;
pub mod install;
pub mod metadata;
pub mod offline;
pub mod repo;
pub mod signing;
pub mod slots;
pub mod state;
pub mod tar;
pub mod target;
pub mod trust;
pub mod version;
