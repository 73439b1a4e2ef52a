//! The repository over HTTPS: metadata files into memory (bounded), targets as a stream
//! that resumes with `Range` after a cut. Every step has a time limit and a download that
//! crawls below a minimum rate is abandoned (TUF's slow-retrieval attack); a response longer
//! than the limit it was asked with is cut off (endless data).
//!
//! The TUF steps are synchronous ([`mamori_update::client::Fetch`], [`std::io::Read`]), so
//! this client is driven from a blocking thread through the runtime's handle.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mamori_update::client::{Fetch, FetchError};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::ServerName;
use tokio::runtime::Handle;

/// How long connecting (TCP and TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the server may stay silent (headers, or between two pieces of the body).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The slowest average a download may keep after its first minute (bytes per second).
pub const MIN_RATE: u64 = 1024;
/// How many times a cut target download is resumed.
pub const MAX_RESUMES: u32 = 8;

/// A repository's base address, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    host: String,
    port: u16,
    path: String,
}

impl BaseUrl {
    /// Parses `https://host[:port][/path/]`.
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| format!("{url:?}: only https:// addresses"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("an unclosed [ in the address")?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("port {p:?}"))?,
                None if after.is_empty() => 443,
                None => return Err(format!("{after:?} after the address")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| format!("port {p:?}"))?),
                None => (authority.to_string(), 443),
            }
        };
        if host.is_empty() || authority.contains('@') {
            return Err(format!("{url:?}: no host (or credentials in the address)"));
        }
        let mut path = path.to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(BaseUrl { host, port, path })
    }

    /// The host as an address part: IPv6 literals in brackets.
    fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `host:port` (`[::1]:8443`), to connect to and for the `Host` header.
    fn authority(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    fn request_path(&self, rel: &str) -> String {
        let mut out = self.path.clone();
        for b in rel.bytes() {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// The TLS client configuration: the one pinned CA when given, else the system's CAs.
pub fn tls_config(pinned_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match pinned_ca_pem {
        Some(pem) => {
            use rustls_pki_types::pem::PemObject;
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("the pinned CA: {e}"))?;
                roots.add(cert).map_err(|e| format!("the pinned CA: {e}"))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    if roots.is_empty() {
        return Err("no CA certificate to check the repository's HTTPS with".into());
    }
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// A repository over HTTPS.
#[derive(Clone)]
pub struct HttpsRepository {
    base: BaseUrl,
    tls: Arc<ClientConfig>,
    handle: Handle,
}

impl std::fmt::Debug for HttpsRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsRepository")
            .field("base", &self.base)
            .finish()
    }
}

struct Response {
    status: u16,
    content_range_start: Option<u64>,
    body: Incoming,
}

impl HttpsRepository {
    /// A repository at `base`, fetched with `tls`, driven on the runtime `handle`.
    pub fn new(base: BaseUrl, tls: Arc<ClientConfig>, handle: Handle) -> HttpsRepository {
        HttpsRepository { base, tls, handle }
    }

    async fn get(&self, rel: &str, from: u64) -> Result<Response, String> {
        let addr = self.base.authority();
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&addr))
            .await
            .map_err(|_| format!("{addr}: no connection in time"))?
            .map_err(|e| format!("{addr}: {e}"))?;
        let name = ServerName::try_from(self.base.host.clone())
            .map_err(|e| format!("{}: {e}", self.base.host))?;
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
            .await
            .map_err(|_| format!("{addr}: no TLS handshake in time"))?
            .map_err(|e| format!("{addr}: TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let host = if self.base.port == 443 {
            self.base.bracketed_host()
        } else {
            self.base.authority()
        };
        let mut req = http::Request::get(self.base.request_path(rel))
            .header(http::header::HOST, host)
            .header(
                http::header::USER_AGENT,
                concat!("mamori-updated/", env!("CARGO_PKG_VERSION")),
            );
        if from > 0 {
            req = req.header(http::header::RANGE, format!("bytes={from}-"));
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(READ_TIMEOUT, sender.send_request(req))
            .await
            .map_err(|_| format!("{rel}: no answer in time"))?
            .map_err(|e| format!("{rel}: {e}"))?;
        let content_range_start = resp
            .headers()
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes "))
            .and_then(|v| v.split('-').next())
            .and_then(|v| v.parse().ok());
        Ok(Response {
            status: resp.status().as_u16(),
            content_range_start,
            body: resp.into_body(),
        })
    }
}

/// Reads the next piece of a body within the time limit: `Ok(None)` at its end.
async fn next_piece(body: &mut Incoming) -> Result<Option<Bytes>, String> {
    loop {
        match tokio::time::timeout(READ_TIMEOUT, body.frame()).await {
            Err(_) => return Err("the server stopped sending".into()),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

impl Fetch for HttpsRepository {
    fn metadata(&mut self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        let rel = format!("metadata/{name}");
        let this = self.clone();
        self.handle.block_on(async move {
            let mut resp = this.get(&rel, 0).await.map_err(FetchError::Failed)?;
            match resp.status {
                200 => {}
                404 | 403 => return Ok(None),
                s => return Err(FetchError::Failed(format!("{rel}: HTTP status {s}"))),
            }
            let started = Instant::now();
            let mut out = Vec::new();
            while let Some(piece) = next_piece(&mut resp.body)
                .await
                .map_err(FetchError::Failed)?
            {
                out.extend_from_slice(&piece);
                if out.len() as u64 > limit {
                    return Err(FetchError::TooLarge(limit));
                }
                too_slow(started, out.len() as u64).map_err(FetchError::Failed)?;
            }
            Ok(Some(out))
        })
    }
}

fn too_slow(started: Instant, bytes: u64) -> Result<(), String> {
    let secs = started.elapsed().as_secs();
    if secs >= 60 && bytes / secs < MIN_RATE {
        return Err(format!(
            "the download is too slow ({bytes} bytes in {secs} s; at least {MIN_RATE} bytes/s are needed)"
        ));
    }
    Ok(())
}

/// A target being downloaded, read as a stream: a cut connection is resumed from where it
/// stopped (HTTP `Range`), at most [`MAX_RESUMES`] times; never more than `length` bytes
/// are returned.
pub struct TargetStream {
    repo: HttpsRepository,
    rel: String,
    length: u64,
    offset: u64,
    body: Option<Incoming>,
    pending: Bytes,
    resumes: u32,
    started: Instant,
}

impl HttpsRepository {
    /// A stream of the target file `file_name` (below `targets/`) of `length` bytes.
    pub fn target(&self, file_name: &str, length: u64) -> TargetStream {
        TargetStream {
            repo: self.clone(),
            rel: format!("targets/{file_name}"),
            length,
            offset: 0,
            body: None,
            pending: Bytes::new(),
            resumes: 0,
            started: Instant::now(),
        }
    }
}

impl TargetStream {
    /// Times the download was resumed.
    pub fn resumes(&self) -> u32 {
        self.resumes
    }

    async fn open(&mut self) -> Result<(), String> {
        let resp = self.repo.get(&self.rel, self.offset).await?;
        match (resp.status, self.offset) {
            (200, 0) => {}
            (206, from) if resp.content_range_start == Some(from) => {}
            (200, from) => {
                // No range support: skip what was already read.
                let mut body = resp.body;
                let mut skipped = 0u64;
                while skipped < from {
                    let piece = next_piece(&mut body)
                        .await?
                        .ok_or("the file is shorter on the second try")?;
                    let take = usize::try_from(from - skipped)
                        .unwrap_or(usize::MAX)
                        .min(piece.len());
                    skipped += take as u64;
                    if take < piece.len() {
                        self.pending = piece.slice(take..);
                    }
                }
                self.body = Some(body);
                return Ok(());
            }
            (404, _) => return Err(format!("{}: not in the repository", self.rel)),
            (s, _) => return Err(format!("{}: HTTP status {s}", self.rel)),
        }
        self.body = Some(resp.body);
        Ok(())
    }

    async fn next(&mut self) -> Result<Option<Bytes>, String> {
        loop {
            if !self.pending.is_empty() {
                return Ok(Some(std::mem::take(&mut self.pending)));
            }
            if self.offset >= self.length {
                return Ok(None);
            }
            too_slow(self.started, self.offset)?;
            if self.body.is_none() {
                self.open().await?;
                continue;
            }
            let piece = match self.body.as_mut() {
                Some(body) => next_piece(body).await,
                None => continue,
            };
            match piece {
                Ok(Some(p)) => return Ok(Some(p)),
                // Cut before the whole file: resume.
                Ok(None) | Err(_) if self.resumes < MAX_RESUMES => {
                    self.body = None;
                    self.resumes += 1;
                    tracing::info!(target = %self.rel, offset = self.offset, resumes = self.resumes, "download cut; resuming");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(self.resumes))).await;
                }
                Ok(None) => {
                    return Err(format!(
                        "{}: cut at {} of {} bytes",
                        self.rel, self.offset, self.length
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Read for TargetStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let handle = self.repo.handle.clone();
        let piece = handle
            .block_on(self.next())
            .map_err(std::io::Error::other)?;
        let Some(mut piece) = piece else {
            return Ok(0);
        };
        // Never more than the signed length: the rest of a longer file is not read.
        let room = usize::try_from(self.length.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        if room == 0 {
            return Ok(0);
        }
        piece.truncate(room);
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        if n < piece.len() {
            self.pending = piece.slice(n..);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_parse_strictly() {
        let b = BaseUrl::parse("https://updates.example.jp/mamori").unwrap();
        assert_eq!(
            (b.host.as_str(), b.port, b.path.as_str()),
            ("updates.example.jp", 443, "/mamori/")
        );
        let b = BaseUrl::parse("https://127.0.0.1:8443/").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("127.0.0.1", 8443));
        let b = BaseUrl::parse("https://[::1]:9/r/").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("::1", 9));
        assert_eq!(b.authority(), "[::1]:9");
        for bad in [
            "http://x/",
            "https://",
            "https://user@host/",
            "https://h:port/",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            b.request_path("targets/a b.bundle"),
            "/r/targets/a%20b.bundle"
        );
    }
}
