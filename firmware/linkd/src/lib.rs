//! `mamori linkd`: the download service of link mode. On its own listener and host name it
//! serves only download links — a page per link (opening it changes nothing, so a link
//! scanner or a mail program fetching ahead uses no download) and the files, each given
//! by a POST that counts it — and nothing of the panel. The files are sealed on disk with
//! keys derived from the secret in the link ([`mamori_links`]); this daemon holds no key
//! of its own. Links that open nothing are throttled per source; expired and revoked
//! links' files are erased by a sweep every minute.

pub mod acme;
pub mod certs;
mod pages;
mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use mamori_links::{LinksConfig, Store};

pub use mamori_links::{CHECK_PATH, instance_path};
pub use routes::router;

/// This box's download-service id, kept in `path`, made on first start.
fn instance_id(path: &std::path::Path) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let text = text.trim();
        if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(text.to_owned());
        }
    }
    let id = mamori_links::LinkId::random()
        .map_err(|e| anyhow::anyhow!(e))?
        .to_string();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, format!("{id}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// What the service starts on.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `[links]` section.
    pub links: LinksConfig,
    /// The public address of links (`encrypt.link_url`), for the certificate's name.
    pub link_url: String,
    /// The data directory (the certificates and the instance id are in `<data_dir>/linkd`).
    pub data_dir: PathBuf,
    /// The store of links (`general.links_dir()`, shared with the relay).
    pub links_dir: PathBuf,
}

/// Where the service listens, and its certificate's fingerprint.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The HTTPS address.
    pub https: SocketAddr,
    /// SHA-256 of the certificate.
    pub fingerprint: String,
}

/// How often expired and revoked links' files are looked for and erased.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The host name of `url` (`https://name[:port]/…`), when it has one.
fn host_of(url: &str) -> Option<String> {
    let rest = url.trim().strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    (!host.is_empty()).then(|| host.to_owned())
}

/// Binds the listener, loads (or makes) the certificate and starts serving and sweeping.
pub async fn start(options: Options) -> anyhow::Result<Bound> {
    let listen: SocketAddr = options
        .links
        .listen
        .parse()
        .with_context(|| format!("links.listen = {:?}", options.links.listen))?;
    let names: Vec<String> = host_of(&options.link_url)
        .into_iter()
        .chain(["localhost".to_owned()])
        .collect();
    let cert_dir = options.data_dir.join("linkd");
    let acme = acme_settings(&options, &cert_dir)?;
    let (chain, key) = first_certificate(&options, &cert_dir, &names, acme.as_ref())?;
    let aes = mamori_admind::tls::aes_hardware();
    let provider = Arc::new(mamori_admind::tls::provider(aes));
    let certs = Arc::new(
        certs::Certs::new(provider.clone(), &chain, &key)
            .map_err(|e| anyhow::anyhow!("the download service's certificate: {e}"))?,
    );
    let tls = certs::server_config(provider, certs.clone(), aes)
        .context("the download service's TLS configuration")?;
    let fingerprint = certs
        .leaf()
        .map(|leaf| mamori_admind::tls::fingerprint(&leaf))
        .unwrap_or_default();
    if let Some(acme) = acme {
        tokio::spawn(acme::keep(acme, certs.clone()));
    }
    let store = Store::new(options.links_dir.clone());
    let listener =
        mamori_core::listen::tcp(listen).with_context(|| format!("listening on {listen}"))?;
    let https = listener.local_addr()?;
    let instance = instance_id(&instance_path(&options.data_dir))?;
    let app = router(store.clone(), instance);
    let activity = mamori_core::resident::Activity::new();
    tokio::spawn(mamori_admind::server::serve_https(
        listener,
        Arc::new(RwLock::new(tls)),
        app,
        activity.clone(),
    ));
    tokio::spawn(mamori_core::resident::release_when_idle(
        activity,
        mamori_admind::server::IDLE_RELEASE,
    ));
    let keep = options.links.keep_records.as_secs();
    tokio::spawn(async move {
        loop {
            let sweeping = store.clone();
            let swept = tokio::task::spawn_blocking(move || {
                sweeping.sweep(mamori_core::clock::unix_now(), keep)
            })
            .await;
            match swept {
                Ok(Ok(sweep)) => {
                    for id in &sweep.erased {
                        tracing::info!(link = %id, "files of an expired or revoked link erased");
                    }
                    for id in &sweep.removed {
                        tracing::info!(link = %id, "record of an old link removed");
                    }
                    for e in &sweep.errors {
                        tracing::warn!(error = %e, "a link could not be swept");
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "the link store could not be swept"),
                Err(e) => tracing::warn!(error = %e, "the sweep failed"),
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
    Ok(Bound { https, fingerprint })
}

/// The ACME task's settings, when `[links] acme_directory` is set (the host is
/// `encrypt.link_url`'s, which must then be set).
fn acme_settings(
    options: &Options,
    dir: &std::path::Path,
) -> anyhow::Result<Option<acme::AcmeSettings>> {
    let links = &options.links;
    if links.acme_directory.is_empty() {
        return Ok(None);
    }
    let host = host_of(&options.link_url).ok_or_else(|| {
        anyhow::anyhow!(
            "links.acme_directory is set but encrypt.link_url names no host to certify ({:?})",
            options.link_url
        )
    })?;
    Ok(Some(acme::AcmeSettings {
        directory: links.acme_directory.clone(),
        contact: links.acme_contact.clone(),
        ca: links.acme_ca.clone(),
        host,
        dir: dir.to_path_buf(),
    }))
}

/// The certificate to start with (chain and key, PEM): the configured files; else the one
/// ACME gave before, while it is valid; else a self-signed one (ACME replaces it).
fn first_certificate(
    options: &Options,
    dir: &std::path::Path,
    names: &[String],
    acme: Option<&acme::AcmeSettings>,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    };
    if let (Some(cert), Some(key)) = (&options.links.cert, &options.links.key) {
        return Ok((read(cert)?, read(key)?));
    }
    if let Some(acme) = acme {
        let now = mamori_core::clock::unix_now();
        if acme::not_after(&acme.cert_path()).is_some_and(|end| end > now)
            && let (Ok(chain), Ok(key)) = (read(&acme.cert_path()), read(&acme.key_path()))
        {
            return Ok((chain, key));
        }
    }
    // The self-signed pair, made (or renewed) in `dir`.
    mamori_admind::tls::load_or_make(None, dir, names)
        .context("the download service's self-signed certificate")?;
    Ok((
        read(&dir.join("admind-cert.pem"))?,
        read(&dir.join("admind-key.pem"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_made_for_the_link_address_host() {
        assert_eq!(
            host_of("https://files.office.example.jp:8443/dl").as_deref(),
            Some("files.office.example.jp")
        );
        assert_eq!(host_of("https://a.jp").as_deref(), Some("a.jp"));
        assert_eq!(host_of("http://a.jp"), None);
        assert_eq!(host_of(""), None);
    }
}
