//! Download links for attachments: the link mode of the relay's attachment encryption.
//!
//! A mail's attachments leave it and are kept on the box, each sealed with
//! ChaCha20-Poly1305 under a key derived from a secret that only the link in the mail
//! carries ([`token`], [`sealed`]); the box keeps a verifier of the secret, never the
//! secret, so that the files on its disk cannot be read without the link. What a link is
//! (its files, expiry, download limit, optional password) is its [`record`]; downloads,
//! wrong passwords and a revocation are written beside it by the one process that makes
//! them, and [`store`] reads them together. The decisions (may this file be given now?)
//! are pure ([`record::Link::decide`]).

pub mod config;
pub mod record;
pub mod sealed;
pub mod store;
pub mod token;

/// The path the download service answers its instance id at, for the panel's
/// reachability self-test (`mamori-linkd <instance>`).
pub const CHECK_PATH: &str = "/.well-known/mamori-linkd";

/// The file holding this box's download-service id under the data directory (public: the
/// service answers it at [`CHECK_PATH`] and the panel's self-test compares).
pub fn instance_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("linkd").join("instance")
}

pub use config::LinksConfig;
pub use record::{Download, FileEntry, Link, LinkRecord, Refusal, State};
pub use store::{Store, StoreError};
pub use token::{LinkId, Secret};
