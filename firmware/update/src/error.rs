//! Why an update's metadata or target was refused. Each refusal names the role or file and
//! carries a short kind (`rollback`, `expired`…) that tests, the panel and the audit log use
//! to tell the attacks of the TUF threat model apart.

/// A refusal of metadata or of a target by the TUF checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TufError {
    /// Not a metadata document of the expected role: bad JSON, wrong `_type`, an unsupported
    /// `spec_version`, a missing or malformed field.
    #[error("{role}: not valid TUF metadata: {why}")]
    BadMetadata {
        /// The role (or file) that was read.
        role: String,
        /// What is wrong.
        why: String,
    },
    /// Fewer valid signatures from the role's keys than its threshold (arbitrary
    /// installation, key compromise below the threshold).
    #[error("{role}: {valid} valid signature(s) from its keys, {threshold} needed")]
    BadSignature {
        /// The role.
        role: String,
        /// Distinct keys with a valid signature.
        valid: usize,
        /// The threshold.
        threshold: u64,
    },
    /// A new root that does not follow from the trusted one: not signed by the threshold of
    /// the previous root's keys and of its own, or not the next version.
    #[error("root version {version}: {why}")]
    RootChain {
        /// The new root's version (as fetched).
        version: u64,
        /// What is wrong.
        why: String,
    },
    /// A version lower than one already trusted (a rollback attack).
    #[error("{role}: version {new} is older than the trusted version {trusted}")]
    Rollback {
        /// The role or the file in a snapshot/timestamp listing.
        role: String,
        /// The version trusted until now.
        trusted: u64,
        /// The version offered.
        new: u64,
    },
    /// Expired metadata (a freeze attack, or a repository nobody keeps signing).
    #[error("{role}: expired at {expires} (judged at {now})")]
    Expired {
        /// The role.
        role: String,
        /// When it expired.
        expires: String,
        /// The time it was judged against.
        now: String,
    },
    /// A role whose version is not the one its referring role names (mix-and-match).
    #[error("{role}: version {got}, but {referrer} names version {expected}")]
    VersionMismatch {
        /// The role.
        role: String,
        /// The role that names its version.
        referrer: String,
        /// The version named.
        expected: u64,
        /// The version received.
        got: u64,
    },
    /// Metadata bytes whose hash differs from the one its referring role gives.
    #[error("{role}: its {algorithm} hash is not the one its referring role gives")]
    HashMismatch {
        /// The role.
        role: String,
        /// The hash algorithm that differed (or was unknown).
        algorithm: String,
    },
    /// Metadata bytes whose length differs from the one its referring role gives.
    #[error("{role}: {got} bytes, its referring role says {expected}")]
    LengthMismatch {
        /// The role.
        role: String,
        /// The length given.
        expected: u64,
        /// The length received.
        got: u64,
    },
    /// More bytes than the limit for this file (an endless-data attack).
    #[error("{what}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The target is not listed by the top-level targets role.
    #[error("target {0:?} is not listed in the signed targets")]
    TargetNotFound(String),
    /// The target's bytes do not have the signed hash.
    #[error("target {name:?}: its {algorithm} hash is not the signed one")]
    TargetHash {
        /// The target.
        name: String,
        /// The algorithm that differed.
        algorithm: String,
    },
    /// The target's length is not the signed one.
    #[error("target {name:?}: {got} bytes, the signed length is {expected}")]
    TargetLength {
        /// The target.
        name: String,
        /// The signed length.
        expected: u64,
        /// What arrived (or at least this many, when it ran over).
        got: u64,
    },
}

impl TufError {
    /// The short kind of this refusal, the same strings the interoperability scenarios
    /// (`tests/update/tuf_scenarios.py`) expect.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadMetadata { .. } => "bad_metadata",
            Self::BadSignature { .. } => "bad_signature",
            Self::RootChain { .. } => "root_chain",
            Self::Rollback { .. } => "rollback",
            Self::Expired { .. } => "expired",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::HashMismatch { .. } => "hash_mismatch",
            Self::LengthMismatch { .. } => "length_mismatch",
            Self::TooLarge { .. } => "too_large",
            Self::TargetNotFound(_) => "target_not_found",
            Self::TargetHash { .. } => "target_hash",
            Self::TargetLength { .. } => "target_length",
        }
    }
}
