//! TUF 1.0 metadata: the four top-level roles as typed documents, keys and signatures.
//!
//! A document is parsed once into a JSON value; its `signed` part is canonicalised from that
//! value (so fields this client does not know still count in the signature), and the typed
//! view is read from the same value. Only Ed25519 keys (`keytype` and `scheme` `ed25519`, the
//! public key in hex) can be verified; signatures by other keys never count toward a
//! threshold, and each key counts once however many signatures name it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{parse_bounded, to_canonical};
use crate::error::TufError;

/// The specification version this implementation writes; documents of any `1.x` are read.
pub const SPEC_VERSION: &str = "1.0.31";

/// One of the four top-level roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Signs the keys and thresholds of every role; rotated by chained versions.
    Root,
    /// Lists the targets (firmware bundles) with their lengths, hashes and custom data.
    Targets,
    /// Pins the version of the targets metadata (against mix-and-match).
    Snapshot,
    /// Pins the snapshot, re-signed often (against freeze).
    Timestamp,
}

impl Role {
    /// The role's name as metadata spells it (`_type`, the `roles` keys, file names).
    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
        }
    }

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        Some(match name {
            "root" => Role::Root,
            "targets" => Role::Targets,
            "snapshot" => Role::Snapshot,
            "timestamp" => Role::Timestamp,
            _ => return None,
        })
    }

    /// All four, in the order a repository is signed bottom-up.
    pub const ALL: [Role; 4] = [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp];
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key as root metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// `ed25519` for the keys this client verifies.
    pub keytype: String,
    /// `ed25519` likewise.
    pub scheme: String,
    /// The key material.
    pub keyval: KeyVal,
}

/// The public half of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// The raw public key, hex.
    pub public: String,
}

impl Key {
    /// An Ed25519 key from its 32 raw public bytes.
    pub fn ed25519(public: &[u8]) -> Key {
        Key {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: KeyVal {
                public: hex(public),
            },
        }
    }

    /// The key id TUF derives: SHA-256 of the key's canonical JSON, hex.
    pub fn key_id(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let bytes = to_canonical(&value).unwrap_or_default();
        mamori_core::audit::hex_sha256(&bytes)
    }

    /// The raw Ed25519 public key, when this is one this client can verify.
    fn ed25519_public(&self) -> Option<Vec<u8>> {
        if self.keytype != "ed25519" || self.scheme != "ed25519" {
            return None;
        }
        let raw = unhex(&self.keyval.public)?;
        (raw.len() == 32).then_some(raw)
    }

    /// Whether `sig` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        let Some(public) = self.ed25519_public() else {
            return false;
        };
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
            .verify(message, sig)
            .is_ok()
    }
}

/// The keys and threshold of one role, as root lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Ids of the keys that may sign for the role.
    pub keyids: Vec<String>,
    /// How many distinct keys must sign.
    pub threshold: u64,
}

/// A signature in a document's `signatures` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The id of the key that signed.
    pub keyid: String,
    /// The signature, hex.
    pub sig: String,
}

/// The fields every role's `signed` part has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// The role (`_type`).
    pub role: Role,
    /// `spec_version`.
    pub spec_version: String,
    /// The document's version, at least 1.
    pub version: u64,
    /// Expiry, Unix seconds.
    pub expires: u64,
    /// Expiry as written.
    pub expires_text: String,
}

/// The root role's `signed` part.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RootBody {
    /// Whether files are named with their version or hash (`3.snapshot.json`).
    pub consistent_snapshot: bool,
    /// Every key, by id.
    pub keys: BTreeMap<String, Key>,
    /// Each role's keys and threshold.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A file named by timestamp or snapshot metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The file's version.
    pub version: u64,
    /// Its length, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Its hashes by algorithm, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

/// The timestamp or snapshot role's `signed` part: the files it pins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MetaBody {
    /// Pinned files by name (`snapshot.json`, `targets.json`).
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target as the targets role lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Its exact length.
    pub length: u64,
    /// Its hashes by algorithm.
    pub hashes: BTreeMap<String, String>,
    /// Free data the repository attached (Mamori's bundle description is under `mamori`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

/// The targets role's `signed` part. Delegations are not followed: the box installs only
/// what the top-level targets role lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TargetsBody {
    /// Targets by path.
    pub targets: BTreeMap<String, TargetFile>,
}

/// A parsed, not yet trusted metadata document.
#[derive(Debug, Clone)]
pub struct Document<B> {
    /// The common fields.
    pub common: Common,
    /// The role-specific fields.
    pub body: B,
    /// The signatures as listed.
    pub signatures: Vec<Signature>,
    /// The canonical bytes of `signed`, what the signatures cover.
    pub canonical: Vec<u8>,
    /// The document as received (what is stored on the box).
    pub raw: Vec<u8>,
}

/// Root metadata.
pub type RootDoc = Document<RootBody>;
/// Timestamp metadata.
pub type TimestampDoc = Document<MetaBody>;
/// Snapshot metadata.
pub type SnapshotDoc = Document<MetaBody>;
/// Targets metadata.
pub type TargetsDoc = Document<TargetsBody>;

fn bad(role: Role, why: impl Into<String>) -> TufError {
    TufError::BadMetadata {
        role: role.name().into(),
        why: why.into(),
    }
}

impl<B: for<'de> Deserialize<'de>> Document<B> {
    /// Parses `raw` as a document of `role`. Checks shape only: signatures are checked by
    /// [`RootDoc::verify_role`].
    pub fn parse(role: Role, raw: &[u8]) -> Result<Self, TufError> {
        let value = parse_bounded(raw).map_err(|e| bad(role, e))?;
        let Value::Object(mut top) = value else {
            return Err(bad(role, "not a JSON object"));
        };
        let signatures: Vec<Signature> = match top.remove("signatures") {
            Some(v) => {
                serde_json::from_value(v).map_err(|e| bad(role, format!("signatures: {e}")))?
            }
            None => return Err(bad(role, "no signatures list")),
        };
        let mut keyids = BTreeSet::new();
        if let Some(dup) = signatures.iter().find(|s| !keyids.insert(s.keyid.as_str())) {
            // As python-tuf: a document naming one key twice is malformed, whatever the
            // threshold.
            return Err(bad(role, format!("two signatures by key {}", dup.keyid)));
        }
        let signed = top
            .remove("signed")
            .ok_or_else(|| bad(role, "no signed object"))?;
        if !signed.is_object() {
            return Err(bad(role, "signed is not an object"));
        }
        let common = read_common(role, &signed)?;
        let canonical = to_canonical(&signed).map_err(|e| bad(role, e.to_string()))?;
        let body: B = serde_json::from_value(signed).map_err(|e| bad(role, e.to_string()))?;
        Ok(Document {
            common,
            body,
            signatures,
            canonical,
            raw: raw.to_vec(),
        })
    }
}

fn read_common(role: Role, signed: &Value) -> Result<Common, TufError> {
    let ty = signed.get("_type").and_then(Value::as_str).unwrap_or("");
    if ty != role.name() {
        return Err(bad(
            role,
            format!("_type is {ty:?}, expected {:?}", role.name()),
        ));
    }
    let spec = signed
        .get("spec_version")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(role, "no spec_version"))?;
    let mut parts = spec.split('.');
    let major_ok = parts.next() == Some("1");
    let rest_ok = parts.clone().count() <= 2
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !major_ok || !rest_ok {
        return Err(bad(role, format!("unsupported spec_version {spec:?}")));
    }
    let version = signed
        .get("version")
        .and_then(Value::as_u64)
        .filter(|v| *v >= 1)
        .ok_or_else(|| bad(role, "version is not a positive integer"))?;
    let expires_text = signed
        .get("expires")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(role, "no expires"))?;
    let expires = mamori_core::clock::parse_rfc3339_utc(expires_text).ok_or_else(|| {
        bad(
            role,
            format!("expires {expires_text:?} is not YYYY-MM-DDTHH:MM:SSZ"),
        )
    })?;
    Ok(Common {
        role,
        spec_version: spec.to_string(),
        version,
        expires,
        expires_text: expires_text.to_string(),
    })
}

impl RootDoc {
    /// The keys and threshold root gives `role`.
    pub fn role_keys(&self, role: Role) -> Result<&RoleKeys, TufError> {
        self.body
            .roles
            .get(role.name())
            .ok_or_else(|| bad(Role::Root, format!("no keys for the {role} role")))
    }

    /// Checks that `doc` carries valid signatures of at least the threshold of distinct keys
    /// this root gives `role`.
    pub fn verify_role<B>(&self, role: Role, doc: &Document<B>) -> Result<(), TufError> {
        let keys = self.role_keys(role)?;
        let allowed: BTreeSet<&str> = keys.keyids.iter().map(String::as_str).collect();
        let mut signers: BTreeSet<&str> = BTreeSet::new();
        for s in &doc.signatures {
            if !allowed.contains(s.keyid.as_str()) {
                continue;
            }
            let Some(key) = self.body.keys.get(&s.keyid) else {
                continue;
            };
            let Some(sig) = unhex(&s.sig) else { continue };
            if key.verifies(&doc.canonical, &sig) {
                // A key listed under two ids counts once.
                signers.insert(key.keyval.public.as_str());
            }
        }
        if keys.threshold >= 1 && signers.len() as u64 >= keys.threshold {
            Ok(())
        } else {
            Err(TufError::BadSignature {
                role: role.name().into(),
                valid: signers.len(),
                threshold: keys.threshold,
            })
        }
    }
}

/// Hex of `bytes`, lower case.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// The length and SHA-256 (hex) of everything `reader` gives, read in 1 MiB pieces: the one
/// hashing loop of the repository tool (images, bundles) and the install's read-back.
pub fn sha256_of(mut reader: impl std::io::Read) -> std::io::Result<(u64, String)> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        ctx.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hex(ctx.finish().as_ref())))
}

/// The bytes of hex text (either case); `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let val = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    b.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

/// Checks `bytes` against a length and hashes from a referring role (`sha256` and `sha512`
/// are known; an unknown algorithm is refused rather than skipped).
pub fn check_length_and_hashes(
    role: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), TufError> {
    if let Some(expected) = length
        && expected != bytes.len() as u64
    {
        return Err(TufError::LengthMismatch {
            role: role.into(),
            expected,
            got: bytes.len() as u64,
        });
    }
    for (algorithm, want) in hashes.into_iter().flatten() {
        let digest = match algorithm.as_str() {
            "sha256" => ring::digest::digest(&ring::digest::SHA256, bytes),
            "sha512" => ring::digest::digest(&ring::digest::SHA512, bytes),
            _ => {
                return Err(TufError::HashMismatch {
                    role: role.into(),
                    algorithm: format!("{algorithm} (unknown)"),
                });
            }
        };
        if !want.eq_ignore_ascii_case(&hex(digest.as_ref())) {
            return Err(TufError::HashMismatch {
                role: role.into(),
                algorithm: algorithm.clone(),
            });
        }
    }
    Ok(())
}
