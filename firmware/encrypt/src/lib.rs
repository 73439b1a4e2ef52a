//! Attachment encryption for the relay (issue 14's ZIP mode), the pure part: random
//! passwords of a configured length and alphabet ([`password`]), and the encrypted ZIP
//! archive that carries a mail's attachments ([`archive`]): AES-256 (WinZip AE-2) by
//! default, traditional ZipCrypto for recipients whose tools open nothing else, names in
//! UTF-8 (with the language-encoding flag) or in CP932 for old Japanese archivers.
//!
//! Nothing here touches the network, the spool or the clock: the relay's encryption stage
//! reads the attachments (from the spool, as streams), calls [`archive::pack`] and writes
//! the result where it wants it.

pub mod archive;
pub mod config;
pub mod encrypted;
pub mod notice;
pub mod password;
pub mod plan;
pub mod rewrite;

pub use archive::{Cipher, Entry, NameCharset, Options, PackError, Packed, pack, zip_time};
pub use config::{EncryptConfig, EncryptRule, Mode, RuleAction};
pub use password::{Alphabet, Password, PasswordError};
pub use plan::{EncryptPolicy, Plan};
