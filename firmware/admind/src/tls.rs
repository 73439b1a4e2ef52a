//! The panel's TLS: its certificate (the administrator's, or a self-signed one made on
//! first start with rcgen), its SHA-256 fingerprint for the console and the panel, and a
//! rustls server configuration with the ring provider passed explicitly: TLS 1.2 and 1.3,
//! only AEAD suites with forward secrecy. On a box with AES instructions the client's order
//! of suites is honoured, so a phone without AES hardware gets ChaCha20-Poly1305 first; a
//! box without them (the Raspberry Pi 4) picks ChaCha20 itself whatever the client prefers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("{0}")]
    Pem(String),
    /// Certificate generation failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key (they do not match, or the key is unusable).
    #[error("the certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate the panel serves, with what the panel shows of it.
#[derive(Debug, Clone)]
pub struct PanelCert {
    /// The chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// SHA-256 of the leaf, as `AB:CD:…`.
    pub fingerprint: String,
    /// The leaf's `notAfter` (RFC 3339, or `?` when it cannot be read).
    pub not_after: String,
    /// The same in Unix seconds.
    pub not_after_unix: Option<u64>,
}

/// How long a self-signed certificate is made for (the most a browser takes from a public
/// CA; a short life keeps a stolen key's use short).
pub const SELF_SIGNED_DAYS: u64 = 397;

/// A self-signed certificate this close to its end is made anew at start.
pub const RENEW_BEFORE_DAYS: u64 = 30;

/// Whether this processor has AES instructions (AES-GCM is then fast).
pub fn aes_hardware() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// The ring provider with only forward-secret AEAD suites; ChaCha20 first on a box without
/// AES hardware.
pub fn provider(aes: bool) -> CryptoProvider {
    use rustls::crypto::ring::cipher_suite as cs;
    let chacha = [
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let aes_suites = [
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ];
    let cipher_suites = if aes {
        aes_suites.into_iter().chain(chacha).collect()
    } else {
        chacha.into_iter().chain(aes_suites).collect()
    };
    CryptoProvider {
        cipher_suites,
        ..rustls::crypto::ring::default_provider()
    }
}

/// The server configuration for `cert` and `key`: TLS 1.2 and 1.3, HTTP/1.1 by ALPN.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let aes = aes_hardware();
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider(aes)))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // A box without AES hardware picks ChaCha20 whatever the client prefers.
    config.ignore_client_order = !aes;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Parses a PEM chain and key (an upload or the configured files): both must be present,
/// usable and belong together.
pub fn parse_pair(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<(PanelCert, Arc<ServerConfig>), TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(format!("the certificate is not PEM: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::Pem("no certificate in the file".into()));
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TlsError::Pem(format!("the key is not a PEM private key: {e}")))?;
    let not_after_unix = not_after_unix(leaf);
    let cert = PanelCert {
        fingerprint: fingerprint(leaf),
        not_after: not_after_unix.map_or_else(|| "?".into(), mamori_core::clock::rfc3339_utc),
        not_after_unix,
        chain: chain.clone(),
    };
    let config = server_config(chain, key)?;
    Ok((cert, config))
}

/// The fingerprint of the first certificate of a PEM chain (the leaf), for what shows it
/// without serving it (`mamori boot-notice`).
pub fn pem_fingerprint(chain_pem: &[u8]) -> Result<String, TlsError> {
    match CertificateDer::pem_slice_iter(chain_pem).next() {
        Some(Ok(leaf)) => Ok(fingerprint(&leaf)),
        Some(Err(e)) => Err(TlsError::Pem(format!("the certificate is not PEM: {e}"))),
        None => Err(TlsError::Pem("no certificate in the file".into())),
    }
}

/// `AB:CD:…` of SHA-256 over the certificate.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The leaf's `notAfter` from its DER in Unix seconds (see [`validity_unix`]).
pub fn not_after_unix(cert: &CertificateDer<'_>) -> Option<u64> {
    validity_unix(cert).map(|(_, end)| end)
}

/// The leaf's `notBefore` and `notAfter` from its DER (UTCTime or GeneralizedTime) in Unix
/// seconds. A small reader of the validity field, enough for display, renewal and the
/// upload check: the validity is the first two times in the certificate.
pub fn validity_unix(cert: &CertificateDer<'_>) -> Option<(u64, u64)> {
    let der = cert.as_ref();
    let mut times = Vec::new();
    let mut i = 0;
    while i + 2 < der.len() && times.len() < 2 {
        let (tag, len) = (der[i], usize::from(der[i + 1]));
        if (tag == 0x17 && len == 13) || (tag == 0x18 && len == 15) {
            let text = std::str::from_utf8(der.get(i + 2..i + 2 + len)?).ok()?;
            if text.ends_with('Z') && text[..len - 1].bytes().all(|b| b.is_ascii_digit()) {
                times.push(text.to_string());
                i += 2 + len;
                continue;
            }
        }
        i += 1;
    }
    let unix = |t: &str| -> Option<u64> {
        let (year, rest) = if t.len() == 13 {
            let yy: i64 = t[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &t[2..])
        } else {
            (t[..4].parse().ok()?, &t[4..])
        };
        let num = |r: std::ops::Range<usize>| rest.get(r).and_then(|s| s.parse::<u32>().ok());
        let days = mamori_core::clock::days_from_civil(year, num(0..2)?, num(2..4)?)?;
        let secs = days * 86_400
            + i64::from(num(4..6)?) * 3600
            + i64::from(num(6..8)?) * 60
            + i64::from(num(8..10)?);
        u64::try_from(secs).ok()
    };
    Some((unix(times.first()?)?, unix(times.get(1)?)?))
}

/// Where an uploaded pair is kept under the panel's TLS directory (key mode 0600).
pub fn uploaded_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("uploaded-cert.pem"), dir.join("uploaded-key.pem"))
}

/// Checks an uploaded pair as [`parse_pair`] does, and that it is valid now (begun, and
/// more than a day from its end).
pub fn check_upload(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<(PanelCert, Arc<ServerConfig>), TlsError> {
    let (cert, config) = parse_pair(chain_pem, key_pem)?;
    let now = mamori_core::clock::unix_now();
    let validity = cert.chain.first().and_then(validity_unix);
    match validity {
        Some((begin, _)) if begin > now + 300 => Err(TlsError::Pem(format!(
            "the certificate is not valid before {}",
            mamori_core::clock::rfc3339_utc(begin)
        ))),
        Some((_, end)) if end <= now + 86_400 => Err(TlsError::Pem(format!(
            "the certificate ends on {}: it has expired or ends within a day",
            cert.not_after
        ))),
        Some(_) => Ok((cert, config)),
        None => Err(TlsError::Pem(
            "the certificate's validity cannot be read".into(),
        )),
    }
}

/// Keeps a checked upload in `dir` (key mode 0600), where the next start finds it before
/// the self-signed pair.
pub fn keep_upload(dir: &Path, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let (cert_path, key_path) = uploaded_paths(dir);
    write_private(&key_path, key_pem).map_err(io(&key_path))?;
    write_private(&cert_path, chain_pem).map_err(io(&cert_path))?;
    Ok(())
}

/// The configured pair, else an uploaded one in `dir`, else the self-signed one in `dir`
/// (made now if absent) for the names given.
pub fn load_or_make_any(
    files: Option<(&Path, &Path)>,
    dir: &Path,
    names: &[String],
) -> Result<(PanelCert, Arc<ServerConfig>), TlsError> {
    let (cert_path, key_path) = uploaded_paths(dir);
    match files {
        None if cert_path.exists() && key_path.exists() => {
            load_or_make(Some((&cert_path, &key_path)), dir, names)
        }
        files => load_or_make(files, dir, names),
    }
}

/// The configured pair, or the self-signed one in `dir` (made now if absent) for the
/// names given.
pub fn load_or_make(
    files: Option<(&Path, &Path)>,
    dir: &Path,
    names: &[String],
) -> Result<(PanelCert, Arc<ServerConfig>), TlsError> {
    let (cert_path, key_path) = match files {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf()),
        None => make_self_signed(dir, names)?,
    };
    let read = |p: &Path| {
        fs::read(p).map_err(|source| TlsError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    parse_pair(&read(&cert_path)?, &read(&key_path)?).map_err(|e| match e {
        TlsError::Pem(why) => TlsError::Pem(format!(
            "{} / {}: {why}",
            cert_path.display(),
            key_path.display()
        )),
        other => other,
    })
}

/// The self-signed pair's paths in `dir` (key mode 0600): kept across restarts, made anew
/// when absent, unreadable or within [`RENEW_BEFORE_DAYS`] of its end.
fn make_self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let cert_path = dir.join("admind-cert.pem");
    let key_path = dir.join("admind-key.pem");
    let now = mamori_core::clock::unix_now();
    let fresh = fs::read(&cert_path).ok().and_then(|pem| {
        let leaf = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
        not_after_unix(&leaf)
    });
    if key_path.exists() && fresh.is_some_and(|end| end > now + RENEW_BEFORE_DAYS * 86_400) {
        return Ok((cert_path, key_path));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "Mamori admin panel (self-signed)",
    );
    let day = |secs: u64| {
        let (y, m, d) = mamori_core::clock::civil_from_days((secs / 86_400) as i64);
        rcgen::date_time_ymd(y as i32, m as u8, d as u8)
    };
    params.not_before = day(now.saturating_sub(86_400));
    params.not_after = day(now + SELF_SIGNED_DAYS * 86_400);
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    write_private(&key_path, key.serialize_pem().as_bytes()).map_err(io(&key_path))?;
    fs::write(&cert_path, cert.pem()).map_err(io(&cert_path))?;
    Ok((cert_path, key_path))
}

/// Writes a file readable by its owner only, atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_and_described() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["mamori.local".to_string(), "192.168.1.1".to_string()];
        let (a, _) = load_or_make(None, dir.path(), &names).unwrap();
        let (b, _) = load_or_make(None, dir.path(), &names).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint, "kept across restarts");
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        let end = a.not_after_unix.unwrap();
        let now = mamori_core::clock::unix_now();
        assert!(
            end > now + 390 * 86_400 && end < now + 400 * 86_400,
            "{}",
            a.not_after
        );
        assert!(a.not_after.ends_with('Z'));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.path().join("admind-key.pem"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o077, 0);
    }

    #[test]
    fn a_self_signed_certificate_near_its_end_is_made_anew() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a.example".to_string()];
        // One that ends in ten days, as if made a year ago.
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(names.clone()).unwrap();
        let (y, m, d) = mamori_core::clock::civil_from_days(
            (mamori_core::clock::unix_now() / 86_400 + 10) as i64,
        );
        params.not_after = rcgen::date_time_ymd(y as i32, m as u8, d as u8);
        let old = params.self_signed(&key).unwrap();
        fs::write(dir.path().join("admind-cert.pem"), old.pem()).unwrap();
        write_private(
            &dir.path().join("admind-key.pem"),
            key.serialize_pem().as_bytes(),
        )
        .unwrap();
        let (new, _) = load_or_make(None, dir.path(), &names).unwrap();
        assert_ne!(new.fingerprint, fingerprint(old.der()));
        assert!(new.not_after_unix.unwrap() > mamori_core::clock::unix_now() + 300 * 86_400);
    }

    #[test]
    fn a_mismatched_or_broken_upload_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a.example".to_string()];
        load_or_make(None, dir.path(), &names).unwrap();
        let cert = fs::read(dir.path().join("admind-cert.pem")).unwrap();
        let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert!(matches!(
            parse_pair(&cert, other.as_bytes()),
            Err(TlsError::Rustls(_))
        ));
        assert!(matches!(
            parse_pair(b"junk", other.as_bytes()),
            Err(TlsError::Pem(_))
        ));
        assert!(matches!(parse_pair(&cert, b"junk"), Err(TlsError::Pem(_))));
    }

    #[test]
    fn chacha_leads_without_aes_hardware() {
        let p = provider(false);
        assert_eq!(
            p.cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
        );
        let p = provider(true);
        assert_eq!(
            p.cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
        );
        assert!(
            p.cipher_suites
                .iter()
                .all(|s| !format!("{:?}", s.suite()).contains("CBC"))
        );
    }
}
