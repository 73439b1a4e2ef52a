//! Checking a target as it streams: its length is enforced on every piece (a server that
//! sends more is cut off at once — the endless-data attack) and its signed hashes are
//! compared after the last byte, before anything written from it is trusted.

use crate::error::TufError;
use crate::metadata::{TargetFile, hex};

/// A running check of one target's bytes.
pub struct TargetCheck {
    name: String,
    length: u64,
    hashes: Vec<(String, ring::digest::Context, String)>,
    seen: u64,
}

impl std::fmt::Debug for TargetCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetCheck")
            .field("name", &self.name)
            .field("length", &self.length)
            .field("seen", &self.seen)
            .finish()
    }
}

impl TargetCheck {
    /// Starts checking `name` against its signed description. Refuses a target with no hash
    /// this client computes (SHA-256 or SHA-512) or with an unknown algorithm.
    pub fn new(name: &str, target: &TargetFile) -> Result<TargetCheck, TufError> {
        let mut hashes = Vec::new();
        for (algorithm, want) in &target.hashes {
            let alg = match algorithm.as_str() {
                "sha256" => &ring::digest::SHA256,
                "sha512" => &ring::digest::SHA512,
                _ => {
                    return Err(TufError::TargetHash {
                        name: name.into(),
                        algorithm: format!("{algorithm} (unknown)"),
                    });
                }
            };
            hashes.push((
                algorithm.clone(),
                ring::digest::Context::new(alg),
                want.to_ascii_lowercase(),
            ));
        }
        if hashes.is_empty() {
            return Err(TufError::TargetHash {
                name: name.into(),
                algorithm: "none listed".into(),
            });
        }
        Ok(TargetCheck {
            name: name.into(),
            length: target.length,
            hashes,
            seen: 0,
        })
    }

    /// Adds the next bytes; refuses as soon as they run past the signed length.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        let seen = self.seen.saturating_add(bytes.len() as u64);
        if seen > self.length {
            return Err(TufError::TargetLength {
                name: self.name.clone(),
                expected: self.length,
                got: seen,
            });
        }
        self.seen = seen;
        for (_, ctx, _) in &mut self.hashes {
            ctx.update(bytes);
        }
        Ok(())
    }

    /// Bytes checked so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The signed length.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// After the last byte: the length and every hash must be the signed ones.
    pub fn finish(self) -> Result<(), TufError> {
        if self.seen != self.length {
            return Err(TufError::TargetLength {
                name: self.name,
                expected: self.length,
                got: self.seen,
            });
        }
        for (algorithm, ctx, want) in self.hashes {
            if hex(ctx.finish().as_ref()) != want {
                return Err(TufError::TargetHash {
                    name: self.name,
                    algorithm,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn target(data: &[u8]) -> TargetFile {
        TargetFile {
            length: data.len() as u64,
            hashes: BTreeMap::from([(
                "sha256".into(),
                hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref()),
            )]),
            custom: None,
        }
    }

    #[test]
    fn length_and_hash_are_enforced() {
        let t = target(b"firmware");
        let mut ok = TargetCheck::new("f", &t).unwrap();
        ok.update(b"firm").unwrap();
        ok.update(b"ware").unwrap();
        ok.finish().unwrap();
        let mut long = TargetCheck::new("f", &t).unwrap();
        assert_eq!(
            long.update(b"firmware!").unwrap_err().kind(),
            "target_length"
        );
        let mut short = TargetCheck::new("f", &t).unwrap();
        short.update(b"firm").unwrap();
        assert_eq!(short.finish().unwrap_err().kind(), "target_length");
        let mut changed = TargetCheck::new("f", &t).unwrap();
        changed.update(b"FIRMWARE").unwrap();
        assert_eq!(changed.finish().unwrap_err().kind(), "target_hash");
        let mut odd = t.clone();
        odd.hashes.insert("md5".into(), "00".into());
        assert_eq!(
            TargetCheck::new("f", &odd).unwrap_err().kind(),
            "target_hash"
        );
    }
}
