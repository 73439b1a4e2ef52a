//! One SMTP session, generic over the byte stream so tests can drive it in memory.
//!
//! The session is an explicit state machine ([`State`]); each verb lives in its own file.
//! Replies are buffered and flushed whenever the session is about to wait for input, so
//! PIPELINING clients get their replies in one write.

mod ahead;
mod auth;
mod data;
mod ehlo;
mod mail;
mod rcpt;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::settings::{ListenerKind, Smtp};
use smtp_proto::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::accounts::Accounts;
use super::gate::{Gate, GateLimits};
use super::recipients::Recipients;
use super::reply::Reply;
use super::throttle::AuthThrottle;
use crate::pipeline::Pipeline;
use crate::queue::Queue;
use crate::spool::{Recipient, Ret};
use crate::stats::Stats;

/// How often a waiting session looks again at the box's pressure.
const STRESS_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Longest command line (RFC 5321 says 512; extensions such as SMTPUTF8 and DSN ORCPT
/// make real lines longer, so allow more but still bound it).
pub const MAX_COMMAND_LINE: usize = 4096;
/// How much a DATA transfer reads from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// The input buffer a session keeps between transfers.
const COMMAND_BUFFER: usize = 4096;

/// Everything sessions share: configuration, accounts, the pipeline and the queue.
pub struct SessionContext {
    /// The relay's settings.
    pub config: Smtp,
    /// This box's host name.
    pub hostname: String,
    /// TLS for STARTTLS and implicit-TLS listeners.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Who may AUTH, and as which senders.
    pub accounts: Accounts,
    /// Stages run after DATA.
    pub pipeline: Pipeline,
    /// Where accepted mail goes.
    pub queue: Queue,
    /// Counters.
    pub stats: Arc<Stats>,
    /// The relay's one memory budget (`smtp.max_data_memory`) is split in two pools, so
    /// that an inspection waiting for memory never starves a transfer: a quarter for what
    /// DATA transfers hold before it reaches the spool, in units of 64 KiB (see
    /// [`SessionContext::memory_budget`]) ...
    pub data_memory: Arc<tokio::sync::Semaphore>,
    /// ... and the rest for inspections: the message read back, its text and what its
    /// archives expand to.
    pub scan_memory: Arc<tokio::sync::Semaphore>,
    /// The whole budget in bytes.
    pub data_memory_bytes: u64,
    /// The accepted domains and how their recipients are checked.
    pub recipients: Arc<Recipients>,
    /// AUTH failures, per client address and per account.
    pub auth_throttle: Arc<AuthThrottle>,
    /// The connection slots (the sessions read its pressure).
    pub gate: Arc<Gate>,
    /// The pipeline runs (DLP scans) allowed at once: one per processor core.
    pub scans: Arc<tokio::sync::Semaphore>,
    /// The longest hold a client may ask with FUTURERELEASE (RFC 4865); zero: the
    /// extension is not offered (`misdelivery.max_future_release`).
    pub future_release: std::time::Duration,
}

impl SessionContext {
    /// The context of a daemon with these settings.
    pub fn new(
        config: Smtp,
        hostname: String,
        tls: Option<tokio_rustls::TlsAcceptor>,
        pipeline: Pipeline,
        queue: Queue,
        stats: Arc<Stats>,
        recipients: Arc<Recipients>,
    ) -> Self {
        let scan_threads = match config.scan_threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => n,
        };
        let data_memory_bytes = budget_bytes(&config);
        Self {
            accounts: Accounts::with_senders(&config.accounts, &config.office_domains),
            data_memory: Self::memory_budget(transfer_share(data_memory_bytes)),
            scan_memory: Self::memory_budget(scan_share(data_memory_bytes)),
            data_memory_bytes,
            auth_throttle: Arc::new(AuthThrottle::new(
                config.max_auth_failures_per_client,
                config.max_auth_failures_per_account,
            )),
            gate: Gate::new(GateLimits {
                max_sessions: config.max_sessions,
                reserved_office: config.reserved_office_sessions,
                reserved_submission: config.reserved_submission_sessions,
                per_client: config.max_connections_per_client,
                rate_per_minute: config.max_connection_rate_per_client,
            }),
            scans: Arc::new(tokio::sync::Semaphore::new(scan_threads)),
            future_release: std::time::Duration::ZERO,
            config,
            hostname,
            tls,
            pipeline,
            queue,
            stats,
            recipients,
        }
    }

    /// Keeps the running state of `previous` (the daemon's context before a settings change)
    /// where the settings behind it did not change: the connection slots in use, the AUTH
    /// failures remembered, the scans and the message memory in use. Where they changed, the
    /// new limits start afresh (sessions already running keep their slots in the old ones).
    pub fn carry_over(&mut self, previous: &SessionContext) {
        let (a, b) = (&self.config, &previous.config);
        let gate_same = a.max_sessions == b.max_sessions
            && a.reserved_office_sessions == b.reserved_office_sessions
            && a.reserved_submission_sessions == b.reserved_submission_sessions
            && a.max_connections_per_client == b.max_connections_per_client
            && a.max_connection_rate_per_client == b.max_connection_rate_per_client;
        if gate_same {
            self.gate = previous.gate.clone();
        }
        if a.max_auth_failures_per_client == b.max_auth_failures_per_client
            && a.max_auth_failures_per_account == b.max_auth_failures_per_account
        {
            self.auth_throttle = previous.auth_throttle.clone();
        }
        if a.scan_threads == b.scan_threads {
            self.scans = previous.scans.clone();
        }
        if self.data_memory_bytes == previous.data_memory_bytes {
            self.data_memory = previous.data_memory.clone();
            self.scan_memory = previous.scan_memory.clone();
        }
    }

    /// The semaphore for a budget of `bytes` of message content held in memory at once.
    pub fn memory_budget(bytes: u64) -> Arc<tokio::sync::Semaphore> {
        let units = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .div_ceil(data::MEMORY_UNIT);
        Arc::new(tokio::sync::Semaphore::new(
            units.min(tokio::sync::Semaphore::MAX_PERMITS),
        ))
    }

    /// The inspections' pool in bytes.
    pub fn scan_memory_bytes(&self) -> u64 {
        scan_share(self.data_memory_bytes)
    }

    /// What one inspection may expand archives to (the DLP's own limit is held to it when
    /// the stage is built).
    pub fn scan_expansion(&self) -> u64 {
        scan_expansion_share(self.data_memory_bytes)
    }

    /// How long one inspection of the pipeline may take (the DLP limit).
    pub fn pipeline_time_limit(&self) -> std::time::Duration {
        self.pipeline.time_limit()
    }

    /// Is `ip` a host of the trusted networks?
    pub fn is_trusted(&self, ip: &std::net::IpAddr) -> bool {
        self.config.trusted_networks.iter().any(|n| n.contains(ip))
    }

    /// Is `address` in one of the office's domains?
    pub fn is_office_address(&self, address: &str) -> bool {
        crate::address::domain_of(address).is_some_and(|d| {
            self.config
                .office_domains
                .iter()
                .any(|o| o.as_str().eq_ignore_ascii_case(&d))
        })
    }
}

/// The session's position in the dialogue.
#[derive(Debug)]
enum State {
    /// Connected; no HELO/EHLO yet.
    Fresh,
    /// Greeted; no transaction open.
    Greeted,
    /// MAIL FROM given; collecting recipients.
    Mail(Transaction),
}

/// An open mail transaction.
#[derive(Debug, Default)]
struct Transaction {
    mail_from: String,
    /// The sender's identity was checked (see [`crate::spool::ClientInfo::sender_verified`]).
    sender_verified: bool,
    ret: Option<Ret>,
    envid: Option<String>,
    smtputf8: bool,
    /// FUTURERELEASE: hold the message until then (Unix seconds).
    hold_until: Option<u64>,
    recipients: Vec<Recipient>,
    /// RCPT commands refused for the recipient limit (not counted as errors up to a
    /// second limit's worth).
    over_limit: usize,
}

/// How a session ended.
pub enum SessionEnd<S> {
    /// The connection is finished.
    Closed,
    /// The client asked for STARTTLS and got 220: wrap the stream and start a new
    /// session on it. Anything the client pipelined after STARTTLS was discarded.
    StartTls(S),
}

/// What a command handler wants next.
enum Next {
    Continue,
    Close,
    StartTls,
}

/// One client connection.
pub struct Session<S> {
    stream: S,
    input: Vec<u8>,
    output: Vec<u8>,
    ctx: Arc<SessionContext>,
    kind: ListenerKind,
    peer: SocketAddr,
    /// The peer is a host of the trusted networks.
    trusted: bool,
    tls: bool,
    state: State,
    helo: String,
    esmtp: bool,
    auth_user: Option<String>,
    commands: usize,
    errors: usize,
    auth_failures: usize,
    deadline: Instant,
    eof: bool,
}

impl<S> Session<S> {
    /// Queues a reply; error replies count towards the error limit.
    fn reply(&mut self, reply: Reply) {
        if reply.is_error() {
            self.errors += 1;
        }
        self.output.extend_from_slice(&reply.to_wire());
    }

    /// Queues a reply that is not counted as a client error (a 452 for the recipient
    /// limit: mail programs send the rest in another transaction).
    fn reply_uncounted(&mut self, reply: Reply) {
        self.output.extend_from_slice(&reply.to_wire());
    }

    /// May the client wait the full command timeout? Strangers wait less while the box is
    /// under pressure.
    fn command_timeout(&self) -> std::time::Duration {
        let timeout = self.ctx.config.command_timeout;
        if self.trusted || self.auth_user.is_some() || !self.ctx.gate.under_stress() {
            timeout
        } else {
            timeout.min(self.ctx.config.stress_command_timeout)
        }
    }

    fn too_many_errors(&mut self) -> bool {
        if self.errors > self.ctx.config.max_errors {
            self.output.extend_from_slice(
                &Reply::new(421, "4.7.0", "Too many errors, closing connection").to_wire(),
            );
            tracing::info!(peer = %self.peer, "disconnected after too many errors");
            true
        } else {
            false
        }
    }

    fn starttls(&mut self) -> Next {
        if self.tls {
            self.reply(Reply::new(503, "5.5.1", "Error: TLS already active"));
            Next::Continue
        } else if self.ctx.tls.is_none() {
            self.reply(Reply::new(454, "4.7.0", "TLS not available"));
            Next::Continue
        } else {
            self.reply(Reply::new(220, "2.0.0", "Ready to start TLS"));
            Next::StartTls
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// A new session on `stream`. `tls` says whether the stream is already encrypted.
    pub fn new(
        stream: S,
        ctx: Arc<SessionContext>,
        kind: ListenerKind,
        peer: SocketAddr,
        tls: bool,
    ) -> Self {
        let deadline = Instant::now() + ctx.config.session_timeout;
        let trusted = ctx.is_trusted(&peer.ip());
        Self {
            stream,
            input: Vec::with_capacity(4096),
            output: Vec::with_capacity(1024),
            ctx,
            kind,
            peer,
            trusted,
            tls,
            state: State::Fresh,
            helo: String::new(),
            esmtp: false,
            auth_user: None,
            commands: 0,
            errors: 0,
            auth_failures: 0,
            deadline,
            eof: false,
        }
    }

    /// Runs the dialogue. `greet` is false for the session that follows STARTTLS.
    pub async fn run(mut self, greet: bool) -> std::io::Result<SessionEnd<S>> {
        if greet {
            let banner = format!("{} ESMTP Mamori", self.ctx.hostname);
            self.reply(Reply::plain(220, banner));
        }
        loop {
            let line = match self.read_line().await? {
                Some(line) => line,
                None => {
                    self.flush().await?;
                    return Ok(SessionEnd::Closed);
                }
            };
            match self.command(&line).await? {
                Next::Continue => {}
                Next::Close => {
                    self.flush().await?;
                    let _ = self.stream.shutdown().await;
                    return Ok(SessionEnd::Closed);
                }
                Next::StartTls => {
                    if !self.input.is_empty() {
                        tracing::warn!(peer = %self.peer, bytes = self.input.len(),
                            "discarded data pipelined after STARTTLS (command injection attempt?)");
                    }
                    self.flush().await?;
                    return Ok(SessionEnd::StartTls(self.stream));
                }
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.output.is_empty() {
            let out = std::mem::take(&mut self.output);
            self.stream.write_all(&out).await?;
            self.stream.flush().await?;
        }
        Ok(())
    }

    /// Reads more input, flushing pending replies first. `Ok(false)` on EOF or timeout
    /// (after a 421 for the timeout).
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.flush().await?;
        let now = Instant::now();
        if now >= self.deadline {
            self.timeout_reply();
            self.flush().await?;
            return Ok(false);
        }
        // Read straight into the input buffer, as much as it has room for (DATA makes room
        // for READ_CHUNK: a 1 MiB message is 16 reads, not 64 into a buffer of their own
        // and copied; commands need little).
        self.input.reserve(1024);
        // Waited in slices, so that a client already waiting gets the shorter timeout of
        // a box under pressure too.
        let started = Instant::now();
        loop {
            let now = Instant::now();
            let allowed = (started + self.command_timeout()).min(self.deadline);
            if now >= allowed {
                self.timeout_reply();
                self.flush().await?;
                return Ok(false);
            }
            let slice = (allowed - now).min(STRESS_CHECK);
            match tokio::time::timeout(slice, self.stream.read_buf(&mut self.input)).await {
                Ok(Ok(0)) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(Ok(_)) => return Ok(true),
                Ok(Err(e)) => return Err(e),
                Err(_) => {}
            }
        }
    }

    fn timeout_reply(&mut self) {
        let text = format!("{} Error: timeout exceeded", self.ctx.hostname);
        self.reply(Reply::new(421, "4.4.2", text));
        tracing::info!(peer = %self.peer, "session timed out");
    }

    /// The next command line including its LF, or `None` when the session is over.
    async fn read_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut discarding = false;
        loop {
            if let Some(pos) = self.input.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.input.drain(..=pos).collect();
                if discarding {
                    discarding = false;
                    continue;
                }
                if line.len() > MAX_COMMAND_LINE {
                    self.reply(Reply::new(500, "5.5.2", "Error: command line too long"));
                    if self.too_many_errors() {
                        return Ok(None);
                    }
                    continue;
                }
                return Ok(Some(line));
            }
            if self.input.len() > MAX_COMMAND_LINE {
                self.input.clear();
                if !discarding {
                    discarding = true;
                    self.reply(Reply::new(500, "5.5.2", "Error: command line too long"));
                    if self.too_many_errors() {
                        return Ok(None);
                    }
                }
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    async fn command(&mut self, line: &[u8]) -> std::io::Result<Next> {
        self.commands += 1;
        if self.commands > self.ctx.config.max_commands {
            self.reply(Reply::new(
                421,
                "4.7.0",
                "Too many commands, closing connection",
            ));
            return Ok(Next::Close);
        }
        let parsed = parse_command(line);
        let next = match parsed {
            Ok(req) => self.dispatch(req).await?,
            Err(reply) => {
                self.reply(reply);
                Next::Continue
            }
        };
        if matches!(next, Next::Continue) && self.too_many_errors() {
            return Ok(Next::Close);
        }
        Ok(next)
    }

    async fn dispatch(&mut self, req: Request<String>) -> std::io::Result<Next> {
        Ok(match req {
            Request::Ehlo { host } => self.ehlo(host, true),
            Request::Helo { host } => self.ehlo(host, false),
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => return self.data().await,
            Request::Auth {
                mechanism,
                initial_response,
            } => {
                return self.auth(mechanism, initial_response).await;
            }
            Request::StartTls => self.starttls(),
            Request::Rset => {
                if !matches!(self.state, State::Fresh) {
                    self.state = State::Greeted;
                }
                self.reply(Reply::new(250, "2.0.0", "Ok"));
                Next::Continue
            }
            Request::Noop { .. } => {
                self.reply(Reply::new(250, "2.0.0", "Ok"));
                Next::Continue
            }
            Request::Quit => {
                self.reply(Reply::new(221, "2.0.0", "Bye"));
                Next::Close
            }
            Request::Vrfy { .. } => {
                self.reply(Reply::new(
                    252,
                    "2.5.2",
                    "Cannot VRFY user, but will accept message and attempt delivery",
                ));
                Next::Continue
            }
            Request::Help { .. } => {
                self.reply(Reply::new(214, "2.0.0", "See RFC 5321"));
                Next::Continue
            }
            other => {
                let text = format!("Error: command {} not implemented", other.name());
                self.reply(Reply::new(502, "5.5.1", text));
                Next::Continue
            }
        })
    }

    /// Reads one continuation line (AUTH exchanges), without its CRLF.
    async fn read_continuation(&mut self) -> std::io::Result<Option<String>> {
        Ok(self.read_line().await?.map(|l| {
            String::from_utf8_lossy(&l)
                .trim_end_matches(['\r', '\n'])
                .to_string()
        }))
    }
}

/// Parses a command line into a request, or the reply for a bad one. Addresses that
/// carriers hand out against RFC 5321 (`a..b@docomo.ne.jp`) are let through here.
/// Public for the fuzz target (`fuzz/fuzz_targets/smtp_command.rs`).
#[doc(hidden)]
pub fn parse_command(line: &[u8]) -> Result<Request<String>, Reply> {
    use smtp_proto::Error as E;
    match Request::parse(&mut line.iter()) {
        // smtp-proto lets some broken paths through (`<x@>`: no domain, found by fuzzing):
        // every non-null path must also pass Mamori's own check.
        Ok(Request::Mail { from }) => match crate::address::check_lenient(&from.address) {
            Err(e) if !from.address.is_empty() => Err(Reply::new(
                501,
                "5.1.7",
                format!("Bad sender address syntax: {e}"),
            )),
            _ => Ok(Request::Mail {
                from: from.into_owned(),
            }),
        },
        Ok(Request::Rcpt { to }) => match crate::address::check_lenient(&to.address) {
            Err(e) if !to.address.is_empty() => Err(Reply::new(
                501,
                "5.1.3",
                format!("Bad recipient address syntax: {e}"),
            )),
            _ => Ok(Request::Rcpt {
                to: to.into_owned(),
            }),
        },
        Ok(req) => Ok(req.into_owned()),
        Err(E::InvalidRecipientAddress | E::InvalidSenderAddress) => {
            lenient_path(line).ok_or_else(|| Reply::new(501, "5.1.3", "Bad address syntax"))
        }
        Err(E::UnknownCommand) => Err(Reply::new(500, "5.5.1", "Error: command not recognized")),
        Err(E::SyntaxError { syntax }) => {
            Err(Reply::new(501, "5.5.4", format!("Syntax: {syntax}")))
        }
        Err(E::InvalidParameter { param }) => Err(Reply::new(
            501,
            "5.5.4",
            format!("Invalid parameter: {param}"),
        )),
        Err(E::UnsupportedParameter { param }) => Err(Reply::new(
            555,
            "5.5.4",
            format!("Unsupported parameter: {param}"),
        )),
        Err(_) => Err(Reply::new(500, "5.5.2", "Error: bad command line")),
    }
}

/// Re-parses a MAIL/RCPT line whose address smtp-proto refused: if the path passes the
/// lenient check, the parameters are parsed with a stand-in address and the real one put back.
fn lenient_path(line: &[u8]) -> Option<Request<String>> {
    let text = std::str::from_utf8(line).ok()?;
    let open = text.find('<')?;
    let close = open + text[open..].find('>')?;
    let addr = &text[open + 1..close];
    crate::address::check_lenient(addr).ok()?;
    let stand_in = format!(
        "{}<stand-in@example.invalid>{}",
        &text[..open],
        &text[close + 1..]
    );
    match Request::parse(&mut stand_in.as_bytes().iter())
        .ok()?
        .into_owned()
    {
        Request::Rcpt { mut to } => {
            to.address = addr.to_string();
            Some(Request::Rcpt { to })
        }
        Request::Mail { mut from } => {
            from.address = addr.to_string();
            Some(Request::Mail { from })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;

/// The relay's memory budget in bytes under `config`, on this board.
pub fn budget_bytes(config: &Smtp) -> u64 {
    config.data_memory(crate::board::total_ram())
}

/// The transfers' pool out of a memory budget of `budget` bytes.
pub fn transfer_share(budget: u64) -> u64 {
    budget / 4
}

/// The inspections' pool out of a memory budget of `budget` bytes.
pub fn scan_share(budget: u64) -> u64 {
    budget - transfer_share(budget)
}

/// What one inspection may expand archives to, out of a memory budget of `budget` bytes:
/// a third of the inspections' pool.
pub fn scan_expansion_share(budget: u64) -> u64 {
    scan_share(budget) / 3
}
