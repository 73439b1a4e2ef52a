//! The link mode's reachability self-test: can a recipient on the Internet reach this
//! box's download service at the address the links will carry? Four steps, each with its
//! own result, as a recipient's browser would take them:
//!
//! 1. **resolve** the host name of `encrypt.link_url` (the office needs a public name
//!    that points at its Internet address);
//! 2. **connect** to it over TCP (the provider's router must forward the port to the
//!    box, and the box's firewall let it in);
//! 3. **TLS**: the certificate chain checked against the system's trusted roots
//!    (`rustls-native-certs`, which honours `SSL_CERT_FILE`) and the name against the
//!    host — a self-signed certificate fails here, as recipients' browsers would warn;
//! 4. **service**: `GET /.well-known/mamori-linkd` over that connection must answer
//!    `mamori-linkd <instance>` with this box's instance id (the file `mamori linkd`
//!    writes), so that another box, or a web server, at that address does not pass.
//!
//! The test runs from the box itself, so it goes out and back in through the office's
//! router: a router that cannot do that (no "hairpin" NAT) fails step 2 although the
//! Internet could reach the box. Every step is bounded in time and the answer in size.
//! The HTTP exchange is a small hand-written HTTP/1.1 request (one GET, `Connection:
//! close`) and an I/O-free parser of the answer, tested below, rather than a client
//! crate: the panel needs one request to one path, and the parser is the whole of it.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The path the download service answers at (`mamori_links::CHECK_PATH`).
pub use mamori_links::CHECK_PATH;

/// What the download service's answer starts with.
pub const ANSWER_PREFIX: &str = "mamori-linkd ";

/// How long the name may take to resolve.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take, over every address the name has.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the TLS handshake may take.
pub const TLS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole HTTP exchange may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (the service's is under a hundred octets).
pub const MAX_ANSWER: usize = 8 * 1024;
/// The most addresses of the name tried.
const MAX_ADDRESSES: usize = 8;
/// The largest instance file read.
const MAX_INSTANCE_FILE: u64 = 256;

/// Where the self-test goes: the parts of `encrypt.link_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name.
    pub host: String,
    /// The port (443 when the address names none).
    pub port: u16,
    /// The path prefix without a trailing slash (empty: none); a reverse proxy at that
    /// prefix passes the check path on as it passes the links.
    pub prefix: String,
}

impl Target {
    /// The parts of `url` (`https://name[:port][/path]`), when it is an address the
    /// relay takes for links.
    pub fn parse(url: &str) -> Option<Self> {
        mamori_encrypt::config::check_link_url(url).ok()?;
        let rest = url.trim().strip_prefix("https://")?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok()?),
            None => (authority, 443),
        };
        Some(Self {
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
            prefix: match path.trim_end_matches('/') {
                "" => String::new(),
                p => format!("/{p}"),
            },
        })
    }

    /// The request's `Host` header: the name, and the port unless it is 443.
    fn host_header(&self) -> String {
        if self.port == 443 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The request the self-test sends.
    pub fn request(&self) -> String {
        format!(
            "GET {}{CHECK_PATH} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mamori-panel-selftest\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
            self.prefix,
            self.host_header()
        )
    }
}

/// One step of the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The name resolves.
    Resolve,
    /// Something accepts a TCP connection.
    Connect,
    /// The TLS handshake, with the certificate checked.
    Tls,
    /// The answer is this box's download service.
    Service,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 4] = [Step::Resolve, Step::Connect, Step::Tls, Step::Service];
}

/// What is wrong with the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// Not issued by an authority the box trusts (a self-signed one, say).
    Untrusted,
    /// Not for this host name.
    WrongName,
    /// Expired, or not valid yet.
    Expired,
    /// The box trusts no authority at all (no system roots, no `SSL_CERT_FILE`).
    NoRoots,
    /// Another reason, as rustls gives it.
    Other(String),
}

/// Why the answer is not this box's download service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceProblem {
    /// The peer does not speak TLS as a web server does (the handshake failed for a
    /// reason other than the certificate).
    NotTls(String),
    /// No complete answer in time.
    Timeout,
    /// The connection failed during the exchange.
    Io(String),
    /// Not an HTTP answer.
    NotHttp,
    /// An HTTP status other than 200.
    Status(u16),
    /// Larger than [`MAX_ANSWER`].
    TooLarge,
    /// An answer, but not the download service's.
    NotLinkd,
    /// A download service, but another box's.
    OtherBox,
}

/// Why the self-test failed, at its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The address is not `https://name[:port][/path]` (before any step).
    BadUrl,
    /// The name does not resolve (the resolver's reason).
    Resolve(String),
    /// Nothing accepted a connection on any of the name's addresses.
    Connect {
        /// The addresses tried.
        tried: Vec<SocketAddr>,
        /// The last reason.
        why: String,
    },
    /// The certificate.
    Certificate(CertProblem),
    /// The answer.
    Service(ServiceProblem),
}

impl Failure {
    /// The step it failed at (a bad address: the first).
    pub fn step(&self) -> Step {
        match self {
            Self::BadUrl | Self::Resolve(_) => Step::Resolve,
            Self::Connect { .. } => Step::Connect,
            Self::Certificate(_) | Self::Service(ServiceProblem::NotTls(_)) => Step::Tls,
            Self::Service(_) => Step::Service,
        }
    }
}

/// Whose download service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// This box's: the instance id matched.
    ThisBox,
    /// A download service, but this box's instance id could not be read to compare.
    Unchecked,
}

/// What the self-test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Where it went (`None`: the address could not be read).
    pub target: Option<Target>,
    /// The addresses the name has.
    pub resolved: Vec<IpAddr>,
    /// The address that accepted the connection.
    pub connected: Option<SocketAddr>,
    /// Passed (whose service answered), or the failure.
    pub outcome: Result<Identity, Failure>,
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// It passed.
    Passed,
    /// It failed (the report's failure).
    Failed,
    /// An earlier step failed.
    NotRun,
}

impl Report {
    /// Did every step pass?
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }

    /// How `step` went.
    pub fn state(&self, step: Step) -> StepState {
        let index = |s: Step| Step::ALL.iter().position(|x| *x == s).unwrap_or(0);
        match &self.outcome {
            Ok(_) => StepState::Passed,
            Err(f) => match index(step).cmp(&index(f.step())) {
                std::cmp::Ordering::Less => StepState::Passed,
                std::cmp::Ordering::Equal => StepState::Failed,
                std::cmp::Ordering::Greater => StepState::NotRun,
            },
        }
    }
}

/// This box's download-service id from `path` (`<data_dir>/linkd/instance`): 32 hex
/// digits, or `None` when the file cannot be read or holds something else.
pub fn read_instance(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_INSTANCE_FILE)
        .read_to_string(&mut text)
        .ok()?;
    let id = text.trim();
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// The TLS client configuration the test verifies with: the system's trusted roots
/// (`SSL_CERT_FILE` / `SSL_CERT_DIR` when set), read anew each time so that a newly
/// installed authority counts at once; the ring provider, passed explicitly.
pub fn system_config() -> Result<Arc<ClientConfig>, CertProblem> {
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "loading system CA certificates for the self-test");
    }
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(native.certs);
    client_config(roots)
}

/// A TLS client configuration that trusts exactly `roots`.
pub fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, CertProblem> {
    if roots.is_empty() {
        return Err(CertProblem::NoRoots);
    }
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map(Arc::new)
        .map_err(|e| CertProblem::Other(e.to_string()))
}

/// Runs the self-test against `url` with the system's roots, comparing the answer with
/// the instance id in `instance_file` (`None`, or a file that cannot be read: any
/// download service's answer passes, as [`Identity::Unchecked`]).
pub async fn check(url: &str, instance_file: Option<&Path>) -> Report {
    // The roots and the id are files: read off the async workers.
    let file = instance_file.map(Path::to_path_buf);
    let read = tokio::task::spawn_blocking(move || {
        (file.as_deref().and_then(read_instance), system_config())
    })
    .await;
    let (expected, config) = read.unwrap_or_else(|e| {
        (
            None,
            Err(CertProblem::Other(format!(
                "reading the trusted roots: {e}"
            ))),
        )
    });
    check_with(url, config, expected.as_deref()).await
}

/// Runs the self-test against `url` with `config` (`Err`: no configuration could be made,
/// which fails the TLS step after the name and the connection were tried), expecting the
/// instance id `expected`.
pub async fn check_with(
    url: &str,
    config: Result<Arc<ClientConfig>, CertProblem>,
    expected: Option<&str>,
) -> Report {
    let mut report = Report {
        target: Target::parse(url),
        resolved: Vec::new(),
        connected: None,
        outcome: Err(Failure::BadUrl),
    };
    let Some(target) = report.target.clone() else {
        return report;
    };
    report.outcome = run(&target, config, expected, &mut report).await;
    report
}

/// The steps; `report` gathers what they found on the way.
async fn run(
    target: &Target,
    config: Result<Arc<ClientConfig>, CertProblem>,
    expected: Option<&str>,
    report: &mut Report,
) -> Result<Identity, Failure> {
    // 1. The name.
    let addresses: Vec<SocketAddr> = match tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Ok(Ok(found)) => found.take(MAX_ADDRESSES).collect(),
        Ok(Err(e)) => return Err(Failure::Resolve(e.to_string())),
        Err(_) => return Err(Failure::Resolve("no answer in time".into())),
    };
    report.resolved = addresses.iter().map(SocketAddr::ip).collect();
    report.resolved.dedup();
    if addresses.is_empty() {
        return Err(Failure::Resolve("no address".into()));
    }
    // 2. A connection, to the first address that takes one.
    let (tcp, at) = tokio::time::timeout(CONNECT_TIMEOUT, connect_any(&addresses))
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Connect {
                tried: addresses.clone(),
                why: "no answer in time".into(),
            })
        })?;
    report.connected = Some(at);
    // 3. TLS, the certificate checked.
    let config = config.map_err(Failure::Certificate)?;
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| Failure::Certificate(CertProblem::Other(e.to_string())))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut tls = match tokio::time::timeout(TLS_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return Err(handshake_failure(&e)),
        Err(_) => {
            return Err(Failure::Service(ServiceProblem::NotTls(
                "no TLS handshake in time".into(),
            )));
        }
    };
    // 4. The service's answer.
    let (status, body) = tokio::time::timeout(HTTP_TIMEOUT, exchange(&mut tls, target))
        .await
        .unwrap_or(Err(ServiceProblem::Timeout))
        .map_err(Failure::Service)?;
    check_answer(status, &body, expected).map_err(Failure::Service)
}

/// Connects to the first of `addresses` that answers.
async fn connect_any(
    addresses: &[SocketAddr],
) -> Result<(tokio::net::TcpStream, SocketAddr), Failure> {
    let mut why = String::new();
    for at in addresses {
        match tokio::net::TcpStream::connect(at).await {
            Ok(tcp) => return Ok((tcp, *at)),
            Err(e) => why = e.to_string(),
        }
    }
    Err(Failure::Connect {
        tried: addresses.to_vec(),
        why,
    })
}

/// What a failed handshake says: the certificate's problem, or that the peer is not a TLS
/// web server.
fn handshake_failure(e: &std::io::Error) -> Failure {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return Failure::Service(ServiceProblem::NotTls(e.to_string()));
    };
    match tls {
        rustls::Error::InvalidCertificate(c) => Failure::Certificate(match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                CertProblem::Untrusted
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertProblem::WrongName
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => CertProblem::Expired,
            other => CertProblem::Other(format!("{other:?}")),
        }),
        other => Failure::Service(ServiceProblem::NotTls(other.to_string())),
    }
}

/// Sends the request and reads the answer, at most [`MAX_ANSWER`] octets.
async fn exchange<S>(io: &mut S, target: &Target) -> Result<(u16, Vec<u8>), ServiceProblem>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let io_problem = |e: std::io::Error| ServiceProblem::Io(e.to_string());
    io.write_all(target.request().as_bytes())
        .await
        .map_err(io_problem)?;
    io.flush().await.map_err(io_problem)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = match io.read(&mut chunk).await {
            Ok(n) => n,
            // A server that closes without TLS's close_notify ends the answer all the same;
            // what came before is judged as it is.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(io_problem(e)),
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_ANSWER {
            return Err(ServiceProblem::TooLarge);
        }
        if let Some(answer) = parse_answer(&buf, n == 0)? {
            return Ok(answer);
        }
    }
}

/// The HTTP answer in `buf`: its status and body once complete (`None`: more is needed);
/// `eof` says that nothing more will come. Bodies by `Content-Length`, chunked, or to the
/// end of the connection.
pub fn parse_answer(buf: &[u8], eof: bool) -> Result<Option<(u16, Vec<u8>)>, ServiceProblem> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if eof || !b"HTTP/".starts_with(&buf[..buf.len().min(5)]) {
            Err(ServiceProblem::NotHttp)
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| ServiceProblem::NotHttp)?;
    let body = &buf[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| {
            let mut parts = l.split(' ');
            let version = parts.next()?;
            let code = parts.next()?;
            version.starts_with("HTTP/1.").then_some(())?;
            (code.len() == 3).then_some(())?;
            code.parse::<u16>().ok()
        })
        .ok_or(ServiceProblem::NotHttp)?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ServiceProblem::NotHttp);
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| ServiceProblem::NotHttp)?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().ends_with("chunked");
        }
    }
    if chunked {
        return match dechunk(body)? {
            Some(whole) => Ok(Some((status, whole))),
            None if eof => Err(ServiceProblem::NotHttp),
            None => Ok(None),
        };
    }
    match length {
        Some(n) if body.len() >= n => Ok(Some((status, body[..n].to_vec()))),
        Some(_) if eof => Err(ServiceProblem::Io("the answer ended early".into())),
        Some(_) => Ok(None),
        None if eof => Ok(Some((status, body.to_vec()))),
        None => Ok(None),
    }
}

/// A chunked body, once its last chunk is in (`None`: not yet).
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, ServiceProblem> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text =
            std::str::from_utf8(&rest[..line_end]).map_err(|_| ServiceProblem::NotHttp)?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ServiceProblem::NotHttp)?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Is `body` (with HTTP `status`) the download service's answer, and this box's when
/// `expected` (its instance id) is known?
pub fn check_answer(
    status: u16,
    body: &[u8],
    expected: Option<&str>,
) -> Result<Identity, ServiceProblem> {
    let text = std::str::from_utf8(body).map_err(|_| ServiceProblem::NotLinkd)?;
    let Some(id) = text.strip_prefix(ANSWER_PREFIX) else {
        return Err(if status == 200 {
            ServiceProblem::NotLinkd
        } else {
            ServiceProblem::Status(status)
        });
    };
    if status != 200 {
        return Err(ServiceProblem::Status(status));
    }
    let id = id.trim_end_matches(['\r', '\n']);
    if id.is_empty() || id.len() > 64 || id.contains(char::is_whitespace) {
        return Err(ServiceProblem::NotLinkd);
    }
    match expected {
        Some(mine) if id.eq_ignore_ascii_case(mine) => Ok(Identity::ThisBox),
        Some(_) => Err(ServiceProblem::OtherBox),
        None => Ok(Identity::Unchecked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn an_address_gives_the_host_port_and_prefix() {
        let t = Target::parse("https://Files.Example.co.jp").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.prefix.as_str()),
            ("files.example.co.jp", 443, "")
        );
        let t = Target::parse(" https://f.example.jp:8443/dl/ ").unwrap();
        assert_eq!((t.port, t.prefix.as_str()), (8443, "/dl"));
        assert!(t.request().starts_with(
            "GET /dl/.well-known/mamori-linkd HTTP/1.1\r\nHost: f.example.jp:8443\r\n"
        ));
        assert!(t.request().ends_with("Connection: close\r\n\r\n"));
        let plain = Target::parse("https://a.jp").unwrap();
        assert!(plain.request().contains("\r\nHost: a.jp\r\n"));
        for bad in [
            "",
            "http://a.jp",
            "https://",
            "https://a.jp:0",
            "https://a.jp:99999",
            "https://user@a.jp",
            "https://a.jp/?x",
            "https://a jp",
        ] {
            assert_eq!(Target::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn answers_are_read_by_length_chunks_or_to_the_end() {
        let whole = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 46\r\n\r\nmamori-linkd {ID}\n"
        );
        let (status, body) = parse_answer(whole.as_bytes(), false).unwrap().unwrap();
        assert_eq!((status, body.len()), (200, 46));
        // Cut anywhere before its end, more is needed; at the end of the connection, the
        // answer is short.
        for cut in [0, 5, 20, whole.len() - 1] {
            assert_eq!(parse_answer(&whole.as_bytes()[..cut], false), Ok(None));
        }
        assert!(parse_answer(&whole.as_bytes()[..whole.len() - 1], true).is_err());
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nmamor\r\n3;x=y\r\ni-l\r\n0\r\n\r\n";
        assert_eq!(
            parse_answer(chunked, false),
            Ok(Some((200, b"mamori-l".to_vec())))
        );
        assert_eq!(parse_answer(&chunked[..60], false), Ok(None));
        let to_end = b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nno";
        assert_eq!(parse_answer(to_end, false), Ok(None));
        assert_eq!(parse_answer(to_end, true), Ok(Some((404, b"no".to_vec()))));
        for bad in [
            &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
        ] {
            assert_eq!(
                parse_answer(bad, false),
                Err(ServiceProblem::NotHttp),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_this_boxs_service_passes() {
        let answer = format!("mamori-linkd {ID}\n");
        assert_eq!(
            check_answer(200, answer.as_bytes(), Some(ID)),
            Ok(Identity::ThisBox)
        );
        assert_eq!(
            check_answer(200, answer.as_bytes(), Some(&ID.to_uppercase())),
            Ok(Identity::ThisBox)
        );
        assert_eq!(
            check_answer(200, answer.as_bytes(), Some("f".repeat(32).as_str())),
            Err(ServiceProblem::OtherBox)
        );
        assert_eq!(
            check_answer(200, answer.as_bytes(), None),
            Ok(Identity::Unchecked)
        );
        assert_eq!(
            check_answer(200, b"<html>It works!</html>", Some(ID)),
            Err(ServiceProblem::NotLinkd)
        );
        assert_eq!(
            check_answer(404, b"not found", Some(ID)),
            Err(ServiceProblem::Status(404))
        );
        assert_eq!(
            check_answer(500, answer.as_bytes(), Some(ID)),
            Err(ServiceProblem::Status(500))
        );
        for bad in ["mamori-linkd \n", "mamori-linkd a b\n", "mamori-linkd"] {
            assert!(check_answer(200, bad.as_bytes(), None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_instance_file_is_read_when_it_holds_an_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instance");
        assert_eq!(read_instance(&path), None);
        std::fs::write(&path, format!("{}\n", ID.to_uppercase())).unwrap();
        assert_eq!(read_instance(&path).as_deref(), Some(ID));
        std::fs::write(&path, "not an id\n").unwrap();
        assert_eq!(read_instance(&path), None);
        std::fs::write(&path, "a".repeat(10_000)).unwrap();
        assert_eq!(read_instance(&path), None);
    }

    #[test]
    fn each_failure_belongs_to_its_step_and_later_steps_did_not_run() {
        let report = |outcome| Report {
            target: None,
            resolved: Vec::new(),
            connected: None,
            outcome,
        };
        let r = report(Err(Failure::Certificate(CertProblem::Untrusted)));
        let states: Vec<StepState> = Step::ALL.iter().map(|s| r.state(*s)).collect();
        assert_eq!(
            states,
            [
                StepState::Passed,
                StepState::Passed,
                StepState::Failed,
                StepState::NotRun
            ]
        );
        assert_eq!(
            Failure::Service(ServiceProblem::NotTls("x".into())).step(),
            Step::Tls
        );
        assert_eq!(Failure::BadUrl.step(), Step::Resolve);
        let ok = report(Ok(Identity::ThisBox));
        assert!(ok.passed() && ok.state(Step::Service) == StepState::Passed);
    }

    /// A CA, and a certificate it issued for `names` with its key (PEM).
    fn issued(names: &[&str]) -> (RootCertStore, rcgen::Certificate, rcgen::KeyPair) {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        (roots, leaf, key)
    }

    /// A TLS server on 127.0.0.1 with `cert`, answering every connection with `answer`;
    /// its port.
    async fn server(cert: &rcgen::Certificate, key: &rcgen::KeyPair, answer: String) -> u16 {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
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
                let answer = answer.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = vec![0u8; 1024];
                    let _ = tls.read(&mut request).await;
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        port
    }

    fn ok_answer(id: &str) -> String {
        let body = format!("mamori-linkd {id}\n");
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn the_steps_pass_against_a_trusted_service_and_fail_where_they_should() {
        let (roots, cert, key) = issued(&["localhost"]);
        let config = client_config(roots);
        let port = server(&cert, &key, ok_answer(ID)).await;
        let url = format!("https://localhost:{port}");
        let r = check_with(&url, config.clone(), Some(ID)).await;
        assert_eq!(r.outcome, Ok(Identity::ThisBox), "{r:?}");
        assert_eq!(r.connected.map(|a| a.port()), Some(port));
        assert!(r.resolved.iter().any(IpAddr::is_loopback));
        // Another box's service.
        let other = check_with(&url, config.clone(), Some(&"e".repeat(32))).await;
        assert_eq!(
            other.outcome,
            Err(Failure::Service(ServiceProblem::OtherBox))
        );
        // Not trusted: a CA the box does not know.
        let (strangers, _, _) = issued(&["localhost"]);
        let untrusted = check_with(&url, client_config(strangers), Some(ID)).await;
        assert_eq!(
            untrusted.outcome,
            Err(Failure::Certificate(CertProblem::Untrusted))
        );
        // Trusted, but for another name.
        let (roots, cert, key) = issued(&["files.example.jp"]);
        let port = server(&cert, &key, ok_answer(ID)).await;
        let wrong = check_with(
            &format!("https://localhost:{port}"),
            client_config(roots),
            Some(ID),
        )
        .await;
        assert_eq!(
            wrong.outcome,
            Err(Failure::Certificate(CertProblem::WrongName))
        );
        // A web server that is not the service.
        let (roots, cert, key) = issued(&["localhost"]);
        let port = server(
            &cert,
            &key,
            "HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found".into(),
        )
        .await;
        let web = check_with(
            &format!("https://localhost:{port}/dl"),
            client_config(roots),
            Some(ID),
        )
        .await;
        assert_eq!(
            web.outcome,
            Err(Failure::Service(ServiceProblem::Status(404)))
        );
    }

    #[tokio::test]
    async fn nothing_listening_or_no_tls_fails_at_connect_or_tls() {
        let (roots, _, _) = issued(&["localhost"]);
        let config = client_config(roots);
        // A port nobody listens on.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let r = check_with(&format!("https://127.0.0.1:{closed}"), config.clone(), None).await;
        assert!(
            matches!(&r.outcome, Err(Failure::Connect { tried, .. }) if !tried.is_empty()),
            "{r:?}"
        );
        assert_eq!(r.state(Step::Resolve), StepState::Passed);
        // Plain HTTP where TLS was expected.
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = plain.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((mut tcp, _)) = plain.accept().await {
                let _ = tcp
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        let r = check_with(&format!("https://localhost:{port}"), config.clone(), None).await;
        assert!(
            matches!(&r.outcome, Err(Failure::Service(ServiceProblem::NotTls(_)))),
            "{r:?}"
        );
        assert_eq!(r.state(Step::Tls), StepState::Failed);
        // A name that cannot resolve (`.invalid` never does).
        let r = check_with("https://no-such-host.invalid", config.clone(), None).await;
        assert!(matches!(r.outcome, Err(Failure::Resolve(_))), "{r:?}");
        let r = check_with("http://a.jp", config, None).await;
        assert_eq!((r.target, r.outcome), (None, Err(Failure::BadUrl)));
        // A box that trusts no authority: the name and the connection are tried, then the
        // certificate step says why it cannot be checked.
        let no_roots = client_config(RootCertStore::empty());
        assert_eq!(no_roots.clone().err(), Some(CertProblem::NoRoots));
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = open.local_addr().unwrap().port();
        let r = check_with(&format!("https://localhost:{port}"), no_roots, None).await;
        assert_eq!(r.outcome, Err(Failure::Certificate(CertProblem::NoRoots)));
        assert_eq!(r.connected.map(|a| a.port()), Some(port));
        drop(open);
    }
}
