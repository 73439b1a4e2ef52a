//! Backups of the settings: the document, with its secrets (the accounts' password hashes)
//! left out unless asked for, and then sealed with a passphrase (Argon2id for the key,
//! ChaCha20-Poly1305 from `ring` for the seal). Importing checks everything before anything
//! changes: a wrong passphrase, a backup of a newer format, or a document that does not
//! validate changes nothing.

use base64::Engine;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// The backup format this firmware writes.
pub const FORMAT: u32 = 1;

/// What a backup file says it is.
const KIND: &str = "mamori-settings-backup";

/// The Argon2id cost: 64 MiB, 3 passes (fits a 1 GiB board; a second or so there).
const KDF_MEMORY_KIB: u32 = 64 * 1024;
const KDF_PASSES: u32 = 3;

/// Why a backup could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Not a backup of this kind.
    #[error("not a Mamori settings backup: {0}")]
    NotABackup(String),
    /// Written by a newer firmware.
    #[error("the backup has format {0}, newer than this firmware knows")]
    NewerFormat(u32),
    /// The passphrase is wrong or the secrets were changed.
    #[error("the secrets cannot be opened: wrong passphrase, or the backup was changed")]
    Sealed,
    /// The backup holds secrets but no passphrase was given.
    #[error("the backup holds sealed secrets: give its passphrase")]
    NeedPassphrase,
    /// A passphrase too short to protect anything.
    #[error("a passphrase needs at least 12 characters")]
    WeakPassphrase,
    /// An account has no password hash (a backup made without secrets, and no account of
    /// that name here to keep it from).
    #[error(
        "account {0:?} has no password in the backup (it was made without secrets): import a backup made with secrets, or set the account's password_hash after importing"
    )]
    MissingSecret(String),
    /// Key derivation or sealing failed.
    #[error("crypto: {0}")]
    Crypto(String),
}

/// A backup file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// `mamori-settings-backup`.
    pub kind: String,
    /// [`FORMAT`].
    pub format: u32,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
    /// The settings version it was made from.
    pub from_version: Option<u64>,
    /// The document, secrets taken out.
    pub document: Table,
    /// The secrets, sealed, when asked for.
    pub secrets: Option<Sealed>,
}

/// Secrets sealed with a passphrase.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// `argon2id`.
    pub kdf: String,
    /// Argon2 memory in KiB.
    pub memory_kib: u32,
    /// Argon2 passes.
    pub passes: u32,
    /// Base64 salt (16 bytes).
    pub salt: String,
    /// Base64 nonce (12 bytes).
    pub nonce: String,
    /// Base64 ChaCha20-Poly1305 ciphertext and tag of the secrets as JSON.
    pub ciphertext: String,
}

/// The secrets of a document: account name → password hash.
type Secrets = std::collections::BTreeMap<String, String>;

/// The `[[smtp.accounts]]` tables of a document.
fn accounts(document: &mut Table) -> impl Iterator<Item = &mut Table> {
    document
        .get_mut("smtp")
        .and_then(Value::as_table_mut)
        .and_then(|smtp| smtp.get_mut("accounts"))
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_table_mut)
}

/// Takes the accounts' password hashes out of `document`.
fn take_secrets(document: &mut Table) -> Secrets {
    let mut secrets = Secrets::new();
    for t in accounts(document) {
        let name = t
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let (Some(name), Some(Value::String(hash))) = (name, t.remove("password_hash")) {
            secrets.insert(name, hash);
        }
    }
    secrets
}

/// Puts password hashes back: from `secrets`, else from `current` (the store's document
/// now) for an account of the same name; an account left without one is an error.
fn put_secrets(
    document: &mut Table,
    secrets: &Secrets,
    current: &Table,
) -> Result<(), BackupError> {
    let mut current = current.clone();
    let kept = take_secrets(&mut current);
    for t in accounts(document) {
        if t.contains_key("password_hash") {
            continue;
        }
        let name = t
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let hash = secrets
            .get(&name)
            .or_else(|| kept.get(&name))
            .ok_or_else(|| BackupError::MissingSecret(name.clone()))?;
        t.insert("password_hash".into(), Value::String(hash.clone()));
    }
    Ok(())
}

fn key(
    passphrase: &str,
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
) -> Result<LessSafeKey, BackupError> {
    let params = argon2::Params::new(memory_kib, passes, 1, Some(32))
        .map_err(|e| BackupError::Crypto(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut bytes = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut bytes)
        .map_err(|e| BackupError::Crypto(e.to_string()))?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
        .map_err(|_| BackupError::Crypto("key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Makes a backup of `document` (settings version `from_version`); its secrets are sealed
/// with `passphrase` when one is given, else left out.
pub fn export(
    document: &Table,
    from_version: Option<u64>,
    passphrase: Option<&str>,
) -> Result<Backup, BackupError> {
    export_with_cost(
        document,
        from_version,
        passphrase,
        KDF_MEMORY_KIB,
        KDF_PASSES,
    )
}

/// As [`export`], with the key derivation's cost given (tests use a small one).
fn export_with_cost(
    document: &Table,
    from_version: Option<u64>,
    passphrase: Option<&str>,
    memory_kib: u32,
    passes: u32,
) -> Result<Backup, BackupError> {
    let mut document = document.clone();
    let secrets = take_secrets(&mut document);
    let sealed = match passphrase {
        None => None,
        Some(p) if p.chars().count() < 12 => return Err(BackupError::WeakPassphrase),
        Some(p) => {
            let rng = SystemRandom::new();
            let (mut salt, mut nonce) = ([0u8; 16], [0u8; 12]);
            rng.fill(&mut salt)
                .and_then(|()| rng.fill(&mut nonce))
                .map_err(|_| BackupError::Crypto("no randomness".into()))?;
            let key = key(p, &salt, memory_kib, passes)?;
            let mut data =
                serde_json::to_vec(&secrets).map_err(|e| BackupError::Crypto(e.to_string()))?;
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(KIND.as_bytes()),
                &mut data,
            )
            .map_err(|_| BackupError::Crypto("seal".into()))?;
            Some(Sealed {
                kdf: "argon2id".into(),
                memory_kib,
                passes,
                salt: B64.encode(salt),
                nonce: B64.encode(nonce),
                ciphertext: B64.encode(data),
            })
        }
    };
    Ok(Backup {
        kind: KIND.into(),
        format: FORMAT,
        created: mamori_core::clock::rfc3339_utc(mamori_core::clock::unix_now()),
        from_version,
        document,
        secrets: sealed,
    })
}

/// Reads a backup's text.
pub fn parse(text: &str) -> Result<Backup, BackupError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| BackupError::NotABackup(e.to_string()))?;
    if value.get("kind").and_then(serde_json::Value::as_str) != Some(KIND) {
        return Err(BackupError::NotABackup(format!("no \"kind\": \"{KIND}\"")));
    }
    let format = value
        .get("format")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if format > u64::from(FORMAT) {
        return Err(BackupError::NewerFormat(
            u32::try_from(format).unwrap_or(u32::MAX),
        ));
    }
    serde_json::from_value(value).map_err(|e| BackupError::NotABackup(e.to_string()))
}

/// The document to import from `backup`: its secrets opened with `passphrase`, or (without
/// secrets in the backup) kept from `current` for accounts of the same name.
pub fn restore(
    backup: &Backup,
    passphrase: Option<&str>,
    current: &Table,
) -> Result<Table, BackupError> {
    let secrets = match &backup.secrets {
        None => Secrets::new(),
        Some(sealed) => {
            let passphrase = passphrase.ok_or(BackupError::NeedPassphrase)?;
            let decode = |s: &str| B64.decode(s).map_err(|_| BackupError::Sealed);
            let (salt, nonce) = (decode(&sealed.salt)?, decode(&sealed.nonce)?);
            let nonce: [u8; 12] = nonce.try_into().map_err(|_| BackupError::Sealed)?;
            if sealed.kdf != "argon2id" || sealed.memory_kib > 1 << 20 || sealed.passes > 16 {
                return Err(BackupError::NotABackup(
                    "unknown or excessive key derivation".into(),
                ));
            }
            let key = key(passphrase, &salt, sealed.memory_kib, sealed.passes)?;
            let mut data = decode(&sealed.ciphertext)?;
            let plain = key
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(KIND.as_bytes()),
                    &mut data,
                )
                .map_err(|_| BackupError::Sealed)?;
            serde_json::from_slice(plain).map_err(|_| BackupError::Sealed)?
        }
    };
    let mut document = backup.document.clone();
    put_secrets(&mut document, &secrets, current)?;
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Table {
        "[smtp]\nmax_recipients = 500\n[[smtp.accounts]]\nusername = \"taro\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\"\n"
            .parse()
            .unwrap()
    }

    #[test]
    fn secrets_are_sealed_and_come_back_only_with_the_passphrase() {
        // A small cost here (the restore reads it from the backup); the real one below.
        let b = export_with_cost(&doc(), Some(3), Some("correct horse battery"), 1024, 1).unwrap();
        let text = serde_json::to_string(&b).unwrap();
        assert!(
            !text.contains("argon2id$v=19"),
            "the hash left in clear: {text}"
        );
        let b = parse(&text).unwrap();
        let back = restore(&b, Some("correct horse battery"), &Table::new()).unwrap();
        assert_eq!(back, doc());
        assert!(matches!(
            restore(&b, Some("wrong horse battery"), &Table::new()),
            Err(BackupError::Sealed)
        ));
        assert!(matches!(
            restore(&b, None, &Table::new()),
            Err(BackupError::NeedPassphrase)
        ));
        let mut tampered = b.clone();
        tampered
            .secrets
            .as_mut()
            .unwrap()
            .ciphertext
            .replace_range(0..2, "AA");
        assert!(restore(&tampered, Some("correct horse battery"), &Table::new()).is_err());
        assert!(matches!(
            export(&doc(), None, Some("short")),
            Err(BackupError::WeakPassphrase)
        ));
    }

    #[test]
    fn without_secrets_the_current_hash_is_kept_or_the_import_refused() {
        let b = export(&doc(), None, None).unwrap();
        assert!(b.secrets.is_none());
        assert!(!serde_json::to_string(&b).unwrap().contains("password_hash"));
        assert_eq!(
            restore(&b, None, &doc()).unwrap(),
            doc(),
            "kept from the store"
        );
        assert!(
            matches!(restore(&b, None, &Table::new()), Err(BackupError::MissingSecret(n)) if n == "taro")
        );
        let newer = r#"{"kind": "mamori-settings-backup", "format": 2}"#;
        assert!(matches!(parse(newer), Err(BackupError::NewerFormat(2))));
        assert!(matches!(parse("{}"), Err(BackupError::NotABackup(_))));
    }
}
