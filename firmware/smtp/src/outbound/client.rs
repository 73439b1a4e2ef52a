//! The SMTP client session, generic over the byte stream so that tests drive it in
//! memory. One [`Connection`] is opened (greeting, EHLO, STARTTLS, AUTH), carries any
//! number of [`Transaction`](super::envelope::Transaction)s, and is closed with [`Connection::quit`].

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::settings::TlsMode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::caps::Capabilities;
use super::error::{DeliveryError, Stage};
use super::reply::{Reply, ReplyParser};
use super::tls::{self, TlsConfigs};

mod auth;
mod probe;
mod send;

/// Message bytes encoded and written per write call (each bounded by the timeout).
const DATA_CHUNK: usize = 64 * 1024;

/// A user name and password for SMTP AUTH. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The AUTH user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The name to send in EHLO/HELO (the box's host name).
    pub helo_name: String,
    /// The server's host name: sent as SNI and, with [`TlsMode::Required`], the name the
    /// certificate must be valid for.
    pub server_name: String,
    /// The TLS policy for this destination.
    pub tls: TlsMode,
    /// TLS from the first byte (port 465). The certificate is verified when `tls` is
    /// `Required`, and TLS is used whatever `tls` says.
    pub implicit_tls: bool,
    /// Credentials for AUTH; only ever sent over TLS.
    pub auth: Option<Credentials>,
    /// Limit for each read and each write.
    pub command_timeout: Duration,
    /// The rustls configurations.
    pub tls_configs: Arc<TlsConfigs>,
}

enum Stream<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// Only while the stream is being handed to the TLS handshake, or after it failed.
    Gone,
}

/// An open SMTP session with a server, ready for transactions.
pub struct Connection<S> {
    stream: Stream<S>,
    unread: Vec<u8>,
    parser: ReplyParser,
    timeout: Duration,
    host: String,
    helo_name: String,
    greeting: Option<Reply>,
    caps: Capabilities,
    tls: bool,
    /// A transaction was left open (MAIL accepted, no final reply): RSET first.
    needs_reset: bool,
    /// An error left the session in an unknown state: refuse further use.
    broken: bool,
}

impl<S> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("tls", &self.tls)
            .field("caps", &self.caps)
            .field("needs_reset", &self.needs_reset)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Opens a TCP connection to the first of `addrs` that answers, each try bounded by
/// `timeout`; the error is that of the last address tried.
pub async fn connect_any(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), DeliveryError> {
    let mut last = DeliveryError::Connect {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source: std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no address to try"),
    };
    for &addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, addr)),
            Ok(Err(source)) => last = DeliveryError::Connect { addr, source },
            Err(_) => {
                last = DeliveryError::Timeout {
                    host: addr.to_string(),
                    stage: Stage::Connect,
                }
            }
        }
        tracing::debug!(%addr, error = %last, "connect failed");
    }
    Err(last)
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// Runs the opening of a session over `stream`: implicit TLS if asked, the greeting,
    /// EHLO (HELO if EHLO gets 5xx), STARTTLS as the policy says, EHLO again, AUTH.
    pub async fn open(stream: S, opts: &ClientOptions) -> Result<Self, DeliveryError> {
        let mut conn = Self {
            stream: Stream::Plain(stream),
            unread: Vec::new(),
            parser: ReplyParser::new(),
            timeout: opts.command_timeout,
            host: opts.server_name.clone(),
            helo_name: opts.helo_name.clone(),
            greeting: None,
            caps: Capabilities::default(),
            tls: false,
            needs_reset: false,
            broken: false,
        };
        if opts.implicit_tls {
            conn.handshake(opts, opts.tls == TlsMode::Required).await?;
        }
        let greeting = conn.read_reply(Stage::Greeting).await?;
        if !greeting.is_completion() {
            return Err(conn.rejected(Stage::Greeting, greeting));
        }
        conn.greeting = Some(greeting);
        conn.ehlo().await?;
        if !conn.tls {
            conn.starttls(opts).await?;
        }
        if let Some(creds) = &opts.auth {
            conn.auth(creds).await?;
        }
        Ok(conn)
    }

    /// The capabilities from the last EHLO.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// True once the session runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The server's greeting.
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// The server's host name as given in the options.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// False after an error that leaves the session unusable; open a new one.
    pub fn is_usable(&self) -> bool {
        !self.broken && !matches!(self.stream, Stream::Gone)
    }

    async fn ehlo(&mut self) -> Result<(), DeliveryError> {
        let reply = self
            .command(format!("EHLO {}\r\n", self.helo_name), Stage::Ehlo)
            .await?;
        if reply.is_completion() {
            self.caps = Capabilities::from_ehlo(&reply);
            return Ok(());
        }
        if !reply.is_permanent() {
            return Err(self.rejected(Stage::Ehlo, reply));
        }
        tracing::debug!(host = %self.host, %reply, "EHLO refused, trying HELO");
        let reply = self
            .command(format!("HELO {}\r\n", self.helo_name), Stage::Ehlo)
            .await?;
        if !reply.is_completion() {
            return Err(self.rejected(Stage::Ehlo, reply));
        }
        self.caps = Capabilities::default();
        Ok(())
    }

    async fn starttls(&mut self, opts: &ClientOptions) -> Result<(), DeliveryError> {
        let required = match opts.tls {
            TlsMode::Disabled => return Ok(()),
            TlsMode::Opportunistic if !self.caps.starttls => return Ok(()),
            TlsMode::Opportunistic => false,
            TlsMode::Required if !self.caps.starttls => {
                return Err(
                    self.tls_error("TLS is required but the server does not offer STARTTLS")
                );
            }
            TlsMode::Required => true,
        };
        let reply = self.command("STARTTLS\r\n".into(), Stage::StartTls).await?;
        if reply.code == 421 {
            return Err(self.rejected(Stage::StartTls, reply));
        }
        if reply.code != 220 {
            if required {
                return Err(self.tls_error(&format!("the server refused STARTTLS: {reply}")));
            }
            tracing::info!(host = %self.host, %reply, "STARTTLS refused; continuing without TLS");
            return Ok(());
        }
        if !self.unread.is_empty() {
            // Bytes sent after the 220 in clear would be taken as replies inside TLS
            // (CVE-2011-0411 style injection).
            self.broken = true;
            return Err(DeliveryError::Protocol {
                host: self.host.clone(),
                stage: Stage::StartTls,
                reason: "the server sent data after its STARTTLS reply".into(),
            });
        }
        self.handshake(opts, required).await?;
        self.ehlo().await
    }

    async fn handshake(&mut self, opts: &ClientOptions, verify: bool) -> Result<(), DeliveryError> {
        let config = opts
            .tls_configs
            .config(verify)
            .map_err(|r| self.tls_error(&r))?;
        let name = match tls::server_name(&opts.server_name) {
            Ok(n) => n,
            Err(reason) if verify => return Err(self.tls_error(&reason)),
            // Without verification the name only feeds SNI.
            Err(_) => tls::server_name("invalid").map_err(|r| self.tls_error(&r))?,
        };
        let Stream::Plain(plain) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(self.tls_error("TLS is already active or the connection is gone"));
        };
        let connect = TlsConnector::from(config).connect(name, plain);
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(stream)) => {
                self.stream = Stream::Tls(Box::new(stream));
                self.tls = true;
                self.parser = ReplyParser::new();
                tracing::debug!(host = %self.host, verified = verify, "TLS established");
                Ok(())
            }
            Ok(Err(e)) => {
                let what = if verify {
                    "handshake or certificate check failed"
                } else {
                    "handshake failed"
                };
                Err(self.tls_error(&format!("{what}: {e}")))
            }
            Err(_) => Err(DeliveryError::Timeout {
                host: self.host.clone(),
                stage: Stage::TlsHandshake,
            }),
        }
    }

    /// Ends the session politely: QUIT, its reply, and a TLS close_notify.
    pub async fn quit(mut self) -> Result<(), DeliveryError> {
        if matches!(self.stream, Stream::Gone) {
            return Ok(());
        }
        let result = self
            .command("QUIT\r\n".into(), Stage::Quit)
            .await
            .map(|_| ());
        let shutdown = async {
            match &mut self.stream {
                Stream::Plain(s) => s.shutdown().await,
                Stream::Tls(s) => s.shutdown().await,
                Stream::Gone => Ok(()),
            }
        };
        let _ = tokio::time::timeout(self.timeout, shutdown).await;
        result
    }

    fn check_421(&mut self, stage: Stage, reply: &Reply) -> Result<(), DeliveryError> {
        if reply.code == 421 {
            self.broken = true;
            return Err(self.rejected(stage, reply.clone()));
        }
        Ok(())
    }

    fn rejected(&self, stage: Stage, reply: Reply) -> DeliveryError {
        DeliveryError::Rejected {
            host: self.host.clone(),
            stage,
            reply,
        }
    }

    fn tls_error(&self, reason: &str) -> DeliveryError {
        DeliveryError::Tls {
            host: self.host.clone(),
            reason: reason.to_string(),
        }
    }

    async fn command(&mut self, line: String, stage: Stage) -> Result<Reply, DeliveryError> {
        if stage == Stage::Auth {
            tracing::trace!(host = %self.host, "C: <AUTH data>");
        } else {
            tracing::trace!(host = %self.host, "C: {}", line.trim_end());
        }
        self.write(line.as_bytes(), stage).await?;
        self.read_reply(stage).await
    }

    async fn write(&mut self, bytes: &[u8], stage: Stage) -> Result<(), DeliveryError> {
        let io = async {
            match &mut self.stream {
                Stream::Plain(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Stream::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Stream::Gone => Err(gone()),
            }
        };
        let result = tokio::time::timeout(self.timeout, io).await;
        self.io_result(result, stage)
    }

    async fn read_reply(&mut self, stage: Stage) -> Result<Reply, DeliveryError> {
        let mut buf = [0u8; 4096];
        loop {
            if !self.unread.is_empty() {
                match self.parser.push(&self.unread) {
                    Ok((used, reply)) => {
                        self.unread.drain(..used);
                        if let Some(reply) = reply {
                            tracing::trace!(host = %self.host, "S: {reply}");
                            return Ok(reply);
                        }
                    }
                    Err(e) => {
                        self.broken = true;
                        return Err(DeliveryError::Protocol {
                            host: self.host.clone(),
                            stage,
                            reason: e.to_string(),
                        });
                    }
                }
            }
            let io = async {
                match &mut self.stream {
                    Stream::Plain(s) => s.read(&mut buf).await,
                    Stream::Tls(s) => s.read(&mut buf).await,
                    Stream::Gone => Err(gone()),
                }
            };
            let result = tokio::time::timeout(self.timeout, io).await;
            let n = self.io_result(result, stage)?;
            if n == 0 {
                self.broken = true;
                return Err(DeliveryError::Io {
                    host: self.host.clone(),
                    stage,
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ),
                });
            }
            self.unread.extend_from_slice(&buf[..n]);
        }
    }

    /// Drops the connection at once (mid-DATA, when the message cannot be read on).
    pub(super) fn abandon(&mut self) {
        self.broken = true;
        self.stream = Stream::Gone;
    }

    fn io_result<T>(
        &mut self,
        result: Result<std::io::Result<T>, tokio::time::error::Elapsed>,
        stage: Stage,
    ) -> Result<T, DeliveryError> {
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => {
                self.broken = true;
                Err(DeliveryError::Io {
                    host: self.host.clone(),
                    stage,
                    source,
                })
            }
            Err(_) => {
                self.broken = true;
                Err(DeliveryError::Timeout {
                    host: self.host.clone(),
                    stage,
                })
            }
        }
    }
}

fn gone() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "connection lost after a TLS failure",
    )
}
