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
/// How long a download may run before [`MIN_RATE`] applies.
pub const RATE_GRACE: Duration = Duration::from_secs(60);

/// The time limits of a repository's downloads (the constants above; shorter in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimits {
    /// Connecting (TCP and TLS).
    pub connect: Duration,
    /// Silence of the server.
    pub read: Duration,
    /// The slowest average after `grace` (bytes per second).
    pub min_rate: u64,
    /// How long before `min_rate` applies.
    pub grace: Duration,
}

impl Default for TimeLimits {
    fn default() -> Self {
        TimeLimits {
            connect: CONNECT_TIMEOUT,
            read: READ_TIMEOUT,
            min_rate: MIN_RATE,
            grace: RATE_GRACE,
        }
    }
}

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
    limits: TimeLimits,
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
        HttpsRepository {
            base,
            tls,
            handle,
            limits: TimeLimits::default(),
        }
    }

    /// The same repository with other time limits (tests).
    pub fn with_limits(mut self, limits: TimeLimits) -> HttpsRepository {
        self.limits = limits;
        self
    }

    async fn get(&self, rel: &str, from: u64) -> Result<Response, String> {
        let addr = self.base.authority();
        let tcp = tokio::time::timeout(self.limits.connect, tokio::net::TcpStream::connect(&addr))
            .await
            .map_err(|_| format!("{addr}: no connection in time"))?
            .map_err(|e| format!("{addr}: {e}"))?;
        let name = ServerName::try_from(self.base.host.clone())
            .map_err(|e| format!("{}: {e}", self.base.host))?;
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let tls = tokio::time::timeout(self.limits.connect, connector.connect(name, tcp))
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
        let resp = tokio::time::timeout(self.limits.read, sender.send_request(req))
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
async fn next_piece(body: &mut Incoming, read: Duration) -> Result<Option<Bytes>, String> {
    loop {
        match tokio::time::timeout(read, body.frame()).await {
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
            while let Some(piece) = next_piece(&mut resp.body, this.limits.read)
                .await
                .map_err(FetchError::Failed)?
            {
                out.extend_from_slice(&piece);
                if out.len() as u64 > limit {
                    return Err(FetchError::TooLarge(limit));
                }
                too_slow(started, out.len() as u64, &this.limits).map_err(FetchError::Failed)?;
            }
            Ok(Some(out))
        })
    }
}

fn too_slow(started: Instant, bytes: u64, limits: &TimeLimits) -> Result<(), String> {
    let elapsed = started.elapsed();
    if elapsed >= limits.grace {
        let rate = (bytes as f64 / elapsed.as_secs_f64()) as u64;
        if rate < limits.min_rate {
            return Err(format!(
                "the download is too slow ({bytes} bytes in {:.1} s; at least {} bytes/s are needed)",
                elapsed.as_secs_f64(),
                limits.min_rate
            ));
        }
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
                    let piece = next_piece(&mut body, self.repo.limits.read)
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
            too_slow(self.started, self.offset, &self.repo.limits)?;
            if self.body.is_none() {
                self.open().await?;
                continue;
            }
            let piece = match self.body.as_mut() {
                Some(body) => next_piece(body, self.repo.limits.read).await,
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

#[cfg(test)]
mod server_tests {
    //! Against a real TLS server on 127.0.0.1 that misbehaves: stalls, trickles, sends too
    //! much. The limits are shortened so that each case takes a fraction of a second.

    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// How the test server answers.
    #[derive(Clone, Copy)]
    enum Misbehaviour {
        /// Headers announcing 1000 bytes, then nothing.
        Stall,
        /// Headers, then one byte every 20 ms.
        Trickle,
        /// 100 000 bytes where the client allows fewer.
        Flood,
    }

    /// A CA, and a certificate it issued for 127.0.0.1 with its key.
    fn issued() -> (Vec<u8>, rcgen::Certificate, rcgen::KeyPair) {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (ca_cert.pem().into_bytes(), leaf, key)
    }

    async fn server(how: Misbehaviour) -> (u16, Vec<u8>) {
        use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let (ca, cert, key) = issued();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = vec![0u8; 2048];
                    let _ = tls.read(&mut request).await;
                    let len = match how {
                        Misbehaviour::Flood => 100_000,
                        _ => 1000,
                    };
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.flush().await;
                    match how {
                        Misbehaviour::Stall => tokio::time::sleep(Duration::from_secs(30)).await,
                        Misbehaviour::Trickle => {
                            for _ in 0..len {
                                if tls.write_all(b"x").await.is_err() || tls.flush().await.is_err()
                                {
                                    return;
                                }
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                        Misbehaviour::Flood => {
                            let _ = tls.write_all(&vec![b'{'; len]).await;
                        }
                    }
                });
            }
        });
        (port, ca)
    }

    fn repo(port: u16, ca: &[u8]) -> HttpsRepository {
        let base = BaseUrl::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
        HttpsRepository::new(base, tls_config(Some(ca)).unwrap(), Handle::current()).with_limits(
            TimeLimits {
                connect: Duration::from_secs(5),
                read: Duration::from_millis(300),
                min_rate: 1000,
                grace: Duration::from_millis(400),
            },
        )
    }

    async fn fetch(how: Misbehaviour, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        let (port, ca) = server(how).await;
        let mut r = repo(port, &ca);
        tokio::task::spawn_blocking(move || r.metadata("timestamp.json", limit))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_server_times_out() {
        let started = Instant::now();
        let r = fetch(Misbehaviour::Stall, 16_384).await;
        assert!(
            matches!(&r, Err(FetchError::Failed(e)) if e.contains("stopped sending")),
            "{r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trickling_server_is_abandoned_as_too_slow() {
        // One byte per 20 ms (50 bytes/s) is always within the read limit, never within the rate.
        let r = fetch(Misbehaviour::Trickle, 16_384).await;
        assert!(
            matches!(&r, Err(FetchError::Failed(e)) if e.contains("too slow")),
            "{r:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_is_cut_at_the_limit() {
        let r = fetch(Misbehaviour::Flood, 16_384).await;
        assert_eq!(r, Err(FetchError::TooLarge(16_384)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_target_from_a_trickling_server_fails_instead_of_hanging() {
        let (port, ca) = server(Misbehaviour::Trickle).await;
        let r = repo(port, &ca);
        let read = tokio::task::spawn_blocking(move || {
            let mut stream = r.target("a.bundle", 1000);
            let mut out = Vec::new();
            stream.read_to_end(&mut out)
        })
        .await
        .unwrap();
        let e = read.unwrap_err();
        assert!(e.to_string().contains("too slow"), "{e}");
    }
}
