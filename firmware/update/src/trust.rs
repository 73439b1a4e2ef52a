//! The trusted metadata of one refresh, updated role by role in the order the TUF
//! specification's client workflow (section 5) prescribes: root versions one at a time, then
//! timestamp, snapshot and targets, each checked against what is already trusted. Pure: the
//! caller fetches bytes and stores what was accepted.
//!
//! The same rules as python-tuf's `TrustedMetadataSet`, the reference implementation this
//! client is tested against: a role is kept as the rollback baseline even when it then turns
//! out expired or mismatched (the refresh fails, the baseline stays).

use crate::error::TufError;
use crate::metadata::{
    Document, MetaFile, Role, RootDoc, SnapshotDoc, TargetFile, TargetsDoc, TimestampDoc,
    check_length_and_hashes,
};

/// The file names timestamp and snapshot pin.
const SNAPSHOT_FILE: &str = "snapshot.json";
const TARGETS_FILE: &str = "targets.json";

/// The metadata trusted so far, and the time expiry is judged against.
#[derive(Debug, Clone)]
pub struct TrustedSet {
    root: RootDoc,
    timestamp: Option<TimestampDoc>,
    snapshot: Option<SnapshotDoc>,
    targets: Option<TargetsDoc>,
    now: u64,
}

fn expired(role: Role, expires_text: &str, now: u64) -> TufError {
    TufError::Expired {
        role: role.name().into(),
        expires: expires_text.into(),
        now: mamori_core::clock::rfc3339_utc(now),
    }
}

impl TrustedSet {
    /// Starts from a root the box already trusts (the one the image shipped, or one reached
    /// from it by rotation). It must be signed by its own root threshold; it may be expired
    /// (a newer one may follow), which [`TrustedSet::update_timestamp`] refuses if none does.
    pub fn new(root_bytes: &[u8], now: u64) -> Result<TrustedSet, TufError> {
        let root: RootDoc = Document::parse(Role::Root, root_bytes)?;
        root.verify_role(Role::Root, &root)?;
        Ok(TrustedSet {
            root,
            timestamp: None,
            snapshot: None,
            targets: None,
            now,
        })
    }

    /// The trusted root.
    pub fn root(&self) -> &RootDoc {
        &self.root
    }

    /// The trusted timestamp, if one is loaded.
    pub fn timestamp(&self) -> Option<&TimestampDoc> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, if one is loaded.
    pub fn snapshot(&self) -> Option<&SnapshotDoc> {
        self.snapshot.as_ref()
    }

    /// The trusted targets, if loaded.
    pub fn targets(&self) -> Option<&TargetsDoc> {
        self.targets.as_ref()
    }

    /// The time expiry is judged against (Unix seconds).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Accepts the next root version: signed by the threshold of the trusted root's root keys
    /// and of its own, exactly one version newer. Only before timestamp is loaded.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        let chain = |version: u64, e: TufError| TufError::RootChain {
            version,
            why: e.to_string(),
        };
        let new: RootDoc = Document::parse(Role::Root, bytes).map_err(|e| chain(0, e))?;
        let version = new.common.version;
        self.root
            .verify_role(Role::Root, &new)
            .map_err(|e| chain(version, e))?;
        let expected = self.root.common.version.saturating_add(1);
        if version != expected {
            return Err(TufError::RootChain {
                version,
                why: format!("expected version {expected}"),
            });
        }
        new.verify_role(Role::Root, &new)
            .map_err(|e| chain(version, e))?;
        self.root = new;
        // Roles signed under the old keys are no longer a baseline (fast-forward recovery,
        // specification 5.3.11): the caller reloads them and keeps what the new root accepts.
        self.timestamp = None;
        self.snapshot = None;
        self.targets = None;
        Ok(())
    }

    /// Accepts a timestamp. A stored one (`trusted`) is loaded first as the rollback
    /// baseline; a fetched one must not be older than it nor pin an older snapshot. Returns
    /// `Ok(false)` when it is the same version as the trusted one (nothing new).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<bool, TufError> {
        if self.root.common.expires <= self.now {
            return Err(expired(
                Role::Root,
                &self.root.common.expires_text,
                self.now,
            ));
        }
        let new: TimestampDoc = Document::parse(Role::Timestamp, bytes)?;
        self.root.verify_role(Role::Timestamp, &new)?;
        let new_meta = pinned(Role::Timestamp, &new, SNAPSHOT_FILE)?.clone();
        if let Some(old) = &self.timestamp {
            if new.common.version < old.common.version {
                return Err(TufError::Rollback {
                    role: Role::Timestamp.name().into(),
                    trusted: old.common.version,
                    new: new.common.version,
                });
            }
            if new.common.version == old.common.version {
                return self.check_timestamp_fresh().map(|()| false);
            }
            let old_meta = pinned(Role::Timestamp, old, SNAPSHOT_FILE)?;
            if new_meta.version < old_meta.version {
                return Err(TufError::Rollback {
                    role: SNAPSHOT_FILE.into(),
                    trusted: old_meta.version,
                    new: new_meta.version,
                });
            }
        }
        self.timestamp = Some(new);
        self.check_timestamp_fresh().map(|()| true)
    }

    fn check_timestamp_fresh(&self) -> Result<(), TufError> {
        match &self.timestamp {
            Some(t) if t.common.expires <= self.now => {
                Err(expired(Role::Timestamp, &t.common.expires_text, self.now))
            }
            Some(_) => Ok(()),
            None => Err(TufError::BadMetadata {
                role: Role::Timestamp.name().into(),
                why: "no timestamp loaded".into(),
            }),
        }
    }

    /// The snapshot version and hashes the trusted timestamp pins.
    pub fn snapshot_meta(&self) -> Result<&MetaFile, TufError> {
        self.check_timestamp_fresh()?;
        let ts = self
            .timestamp
            .as_ref()
            .ok_or_else(|| TufError::BadMetadata {
                role: Role::Timestamp.name().into(),
                why: "no timestamp loaded".into(),
            })?;
        pinned(Role::Timestamp, ts, SNAPSHOT_FILE)
    }

    /// Accepts a snapshot: the length and hashes the timestamp pins (unless it is the stored
    /// copy, `trusted`), the snapshot keys' threshold, no file listed by the trusted snapshot
    /// missing or older, and the very version the timestamp names.
    pub fn update_snapshot(&mut self, bytes: &[u8], trusted: bool) -> Result<(), TufError> {
        let meta = self.snapshot_meta()?.clone();
        if !trusted {
            check_length_and_hashes(
                Role::Snapshot.name(),
                bytes,
                meta.length,
                meta.hashes.as_ref(),
            )?;
        }
        let new: SnapshotDoc = Document::parse(Role::Snapshot, bytes)?;
        self.root.verify_role(Role::Snapshot, &new)?;
        if let Some(old) = &self.snapshot {
            for (name, old_file) in &old.body.meta {
                let Some(new_file) = new.body.meta.get(name) else {
                    return Err(TufError::BadMetadata {
                        role: Role::Snapshot.name().into(),
                        why: format!("the new snapshot no longer lists {name}"),
                    });
                };
                if new_file.version < old_file.version {
                    return Err(TufError::Rollback {
                        role: name.clone(),
                        trusted: old_file.version,
                        new: new_file.version,
                    });
                }
            }
        }
        self.snapshot = Some(new);
        self.targets = None;
        self.check_snapshot_final()
    }

    fn check_snapshot_final(&self) -> Result<(), TufError> {
        let Some(snap) = &self.snapshot else {
            return Err(TufError::BadMetadata {
                role: Role::Snapshot.name().into(),
                why: "no snapshot loaded".into(),
            });
        };
        if snap.common.expires <= self.now {
            return Err(expired(Role::Snapshot, &snap.common.expires_text, self.now));
        }
        let meta = self.snapshot_meta()?;
        if snap.common.version != meta.version {
            return Err(TufError::VersionMismatch {
                role: Role::Snapshot.name().into(),
                referrer: Role::Timestamp.name().into(),
                expected: meta.version,
                got: snap.common.version,
            });
        }
        Ok(())
    }

    /// The targets version and hashes the trusted snapshot pins.
    pub fn targets_meta(&self) -> Result<&MetaFile, TufError> {
        self.check_snapshot_final()?;
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| TufError::BadMetadata {
                role: Role::Snapshot.name().into(),
                why: "no snapshot loaded".into(),
            })?;
        pinned(Role::Snapshot, snap, TARGETS_FILE)
    }

    /// Accepts the targets metadata: the length and hashes the snapshot pins, the targets
    /// keys' threshold, the version the snapshot names, not expired.
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        let meta = self.targets_meta()?.clone();
        check_length_and_hashes(
            Role::Targets.name(),
            bytes,
            meta.length,
            meta.hashes.as_ref(),
        )?;
        let new: TargetsDoc = Document::parse(Role::Targets, bytes)?;
        self.root.verify_role(Role::Targets, &new)?;
        if new.common.version != meta.version {
            return Err(TufError::VersionMismatch {
                role: Role::Targets.name().into(),
                referrer: Role::Snapshot.name().into(),
                expected: meta.version,
                got: new.common.version,
            });
        }
        if new.common.expires <= self.now {
            return Err(expired(Role::Targets, &new.common.expires_text, self.now));
        }
        self.targets = Some(new);
        Ok(())
    }

    /// A target listed by the trusted top-level targets role.
    pub fn target(&self, name: &str) -> Result<&TargetFile, TufError> {
        self.targets
            .as_ref()
            .and_then(|t| t.body.targets.get(name))
            .ok_or_else(|| TufError::TargetNotFound(name.into()))
    }
}

fn pinned<'a>(
    role: Role,
    doc: &'a Document<crate::metadata::MetaBody>,
    file: &str,
) -> Result<&'a MetaFile, TufError> {
    doc.body
        .meta
        .get(file)
        .ok_or_else(|| TufError::BadMetadata {
            role: role.name().into(),
            why: format!("does not list {file}"),
        })
}
