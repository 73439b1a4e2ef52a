//! `mamori linkd`: the download service of link mode. On its own listener and host name it
//! serves only download links — a page per link (opening it changes nothing, so a link
//! scanner or a mail program fetching ahead uses no download) and the files, each given
//! by a POST that counts it — and nothing of the panel. The files are sealed on disk with
//! keys derived from the secret in the link ([`mamori_links`]); this daemon holds no key
//! of its own. Links that open nothing are throttled per source; expired and revoked
//! links' files are erased by a sweep every minute.

mod pages;
mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use mamori_links::{LinksConfig, Store};

pub use routes::router;

/// What the service starts on.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `[links]` section.
    pub links: LinksConfig,
    /// The public address of links (`encrypt.link_url`), for the certificate's name.
    pub link_url: String,
    /// The data directory (the store is `<data_dir>/links`, the self-signed certificate
    /// `<data_dir>/linkd`).
    pub data_dir: PathBuf,
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
    let files = match (&options.links.cert, &options.links.key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        _ => None,
    };
    let cert_dir = options.data_dir.join("linkd");
    let (cert, tls) = mamori_admind::tls::load_or_make(files, &cert_dir, &names)
        .context("the download service's certificate")?;
    let store = Store::new(options.data_dir.join("links"));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let https = listener.local_addr()?;
    let app = router(store.clone());
    tokio::spawn(mamori_admind::server::serve_https(
        listener,
        Arc::new(RwLock::new(tls)),
        app,
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
    Ok(Bound {
        https,
        fingerprint: cert.fingerprint,
    })
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
