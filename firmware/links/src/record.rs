//! What a link is and what has happened to it, and the one decision made on every
//! download: may this file be given now? Pure: the store reads and writes the files.

use serde::{Deserialize, Serialize};

/// The record format written by this release.
pub const FORMAT: u32 = 1;
/// Wrong passwords after which a link opens no more (the password is short enough to be
/// typed; the secret in the URL is what keeps strangers out, this keeps a finder of the
/// URL from trying passwords).
pub const MAX_PASSWORD_FAILURES: u32 = 10;
/// The most downloads recorded per link (beyond it a link is used up in any case).
pub const MAX_DOWNLOADS_RECORDED: usize = 10_000;

/// One file of a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The attachment's file name (as the sender named it).
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in octets.
    pub size: u64,
}

/// A link as made: written once by the relay, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// [`FORMAT`].
    pub format: u32,
    /// The link's id.
    pub id: String,
    /// When it was made (Unix seconds).
    pub created: u64,
    /// When it stops giving files (Unix seconds).
    pub expires: u64,
    /// How often each file may be downloaded.
    pub max_downloads: u32,
    /// The files, in the mail's order.
    pub files: Vec<FileEntry>,
    /// The mail's queue ID (the copy that carried the link).
    pub queue_id: String,
    /// The envelope sender.
    pub sender: String,
    /// The recipients the link was sent to.
    pub recipients: Vec<String>,
    /// The mail's subject, for the sender's and the administrator's pages.
    pub subject: String,
    /// The download secret's verifier.
    pub verifier: String,
    /// The sender's page secret's verifier.
    pub manage_verifier: String,
    /// The password's Argon2id hash, when the link asks for one.
    pub password_hash: Option<String>,
}

/// One download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// When (Unix seconds).
    pub at: u64,
    /// Which file (its number).
    pub file: u32,
    /// The client's address.
    pub from: String,
}

/// A revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When (Unix seconds).
    pub at: u64,
    /// Who: `sender` (through the sender's page) or the panel user.
    pub by: String,
}

/// A link with what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The record.
    pub record: LinkRecord,
    /// Its downloads, oldest first.
    pub downloads: Vec<Download>,
    /// Its revocation.
    pub revoked: Option<Revocation>,
    /// Wrong passwords given.
    pub password_failures: u32,
    /// Its files are gone from the disk (expired or revoked, then erased).
    pub erased: bool,
}

/// A link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Files can be downloaded.
    Open,
    /// Past its expiry.
    Expired,
    /// Revoked by the sender or an administrator.
    Revoked,
    /// Too many wrong passwords.
    Locked,
    /// Every file was downloaded as often as allowed.
    UsedUp,
}

/// Why a file is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The link has expired.
    #[error("this link has expired")]
    Expired,
    /// The link was revoked.
    #[error("this link was revoked by its sender or the office")]
    Revoked,
    /// Too many wrong passwords.
    #[error("this link is locked after too many wrong passwords")]
    Locked,
    /// This file was downloaded as often as allowed.
    #[error("this file was downloaded as often as allowed")]
    Exhausted,
    /// No such file in the link.
    #[error("no such file")]
    NoSuchFile,
    /// The files are erased.
    #[error("the files of this link are erased")]
    Erased,
    /// The password is wrong or missing.
    #[error("the password is wrong")]
    WrongPassword,
}

impl Link {
    /// How often file `file` was downloaded.
    pub fn downloads_of(&self, file: u32) -> u32 {
        self.downloads.iter().filter(|d| d.file == file).count() as u32
    }

    /// The link's state at `now`.
    pub fn state(&self, now: u64) -> State {
        if self.revoked.is_some() {
            State::Revoked
        } else if now >= self.record.expires {
            State::Expired
        } else if self.password_failures >= MAX_PASSWORD_FAILURES {
            State::Locked
        } else if (0..self.record.files.len() as u32)
            .all(|f| self.downloads_of(f) >= self.record.max_downloads)
        {
            State::UsedUp
        } else {
            State::Open
        }
    }

    /// May file `file` be given at `now` (the password apart)?
    pub fn decide(&self, file: u32, now: u64) -> Result<(), Refusal> {
        match self.state(now) {
            State::Revoked => return Err(Refusal::Revoked),
            State::Expired => return Err(Refusal::Expired),
            State::Locked => return Err(Refusal::Locked),
            State::Open | State::UsedUp => {}
        }
        if self.erased {
            return Err(Refusal::Erased);
        }
        if file as usize >= self.record.files.len() {
            return Err(Refusal::NoSuchFile);
        }
        if self.downloads_of(file) >= self.record.max_downloads
            || self.downloads.len() >= MAX_DOWNLOADS_RECORDED
        {
            return Err(Refusal::Exhausted);
        }
        Ok(())
    }

    /// Does `given` open the link (always, when it has no password)?
    pub fn password_ok(&self, given: &str) -> bool {
        match &self.record.password_hash {
            None => true,
            Some(hash) => verify_password(hash, given),
        }
    }
}

/// The Argon2id hash of a link's password: the box's one password hash
/// ([`mamori_core::password_hash`]).
pub fn hash_password(password: &str) -> Result<String, mamori_core::password_hash::HashError> {
    mamori_core::password_hash::hash(password)
}

/// Does `given` match `hash`?
pub fn verify_password(hash: &str, given: &str) -> bool {
    mamori_core::password_hash::verify(given, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            record: LinkRecord {
                format: FORMAT,
                id: "0".repeat(32),
                created: 100,
                expires: 1000,
                max_downloads: 2,
                files: vec![
                    FileEntry {
                        name: "a.pdf".into(),
                        content_type: "application/pdf".into(),
                        size: 3,
                    },
                    FileEntry {
                        name: "b.xlsx".into(),
                        content_type: "application/octet-stream".into(),
                        size: 4,
                    },
                ],
                queue_id: "Q".into(),
                sender: "taro@office.test".into(),
                recipients: vec!["x@partner.test".into()],
                subject: "s".into(),
                verifier: String::new(),
                manage_verifier: String::new(),
                password_hash: None,
            },
            downloads: Vec::new(),
            revoked: None,
            password_failures: 0,
            erased: false,
        }
    }

    fn download(file: u32) -> Download {
        Download {
            at: 200,
            file,
            from: "192.0.2.1".into(),
        }
    }

    #[test]
    fn a_file_is_given_as_often_as_allowed_and_until_expiry() {
        let mut l = link();
        assert_eq!(l.decide(0, 999), Ok(()));
        assert_eq!(l.decide(0, 1000), Err(Refusal::Expired));
        assert_eq!(l.decide(2, 500), Err(Refusal::NoSuchFile));
        l.downloads.push(download(0));
        l.downloads.push(download(0));
        assert_eq!(l.decide(0, 500), Err(Refusal::Exhausted));
        assert_eq!(l.decide(1, 500), Ok(()), "each file has its own count");
        assert_eq!(l.state(500), State::Open);
        l.downloads.push(download(1));
        l.downloads.push(download(1));
        assert_eq!(l.state(500), State::UsedUp);
    }

    #[test]
    fn revocation_lock_and_erasure_refuse_everything() {
        let mut l = link();
        l.password_failures = MAX_PASSWORD_FAILURES;
        assert_eq!(l.decide(0, 500), Err(Refusal::Locked));
        l.revoked = Some(Revocation {
            at: 300,
            by: "sender".into(),
        });
        assert_eq!(l.decide(0, 500), Err(Refusal::Revoked));
        let mut e = link();
        e.erased = true;
        assert_eq!(e.decide(0, 500), Err(Refusal::Erased));
    }

    #[test]
    fn passwords_are_checked_against_their_hash() {
        let mut l = link();
        assert!(l.password_ok(""));
        l.record.password_hash = Some(hash_password("Kx7-pw").unwrap());
        assert!(l.password_ok("Kx7-pw"));
        assert!(!l.password_ok("kx7-pw"));
        assert!(!l.password_ok(""));
        l.record.password_hash = Some("not a hash".into());
        assert!(!l.password_ok("anything"));
    }
}
