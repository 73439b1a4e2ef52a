//! Control-socket framing: one JSON request per line from a client (the `mamori` CLI or the
//! admin panel), one JSON response line from the daemon. Each daemon's crate defines its
//! own request type; the response envelope and the server loop are shared here.
//!
//! The socket is a Unix stream socket, mode 0660 in the box's control group, so the file
//! system decides who may connect; the peer credentials decide what each caller may do
//! ([`crate::identity`]).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::audit::AuditLog;
use crate::identity::{Access, Accounts, Caller, OnBehalf, Right};

/// What kind of failure an error is, so that a client (the panel) maps it to a status
/// without parsing the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The thing asked about does not exist.
    NotFound,
    /// The request or a value in it is wrong.
    Invalid,
    /// The request conflicts with the state (already released, a change on probation).
    Conflict,
    /// The daemon cannot take it now; try again.
    Busy,
    /// The caller lacks the right.
    Forbidden,
    /// Something failed inside the daemon.
    #[default]
    Internal,
}

impl ErrorKind {
    /// The HTTP status the panel answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Invalid => 400,
            Self::Conflict => 409,
            Self::Busy => 503,
            Self::Forbidden => 403,
            Self::Internal => 500,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::Conflict => "conflict",
            Self::Busy => "busy",
            Self::Forbidden => "forbidden",
            Self::Internal => "internal",
        })
    }
}

/// An error a daemon's handler returns: a kind and a message for a person.
pub trait ControlError: std::fmt::Display {
    /// Its kind.
    fn kind(&self) -> ErrorKind;
}

/// A response from a daemon: either data or an error a person can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// The request succeeded; `data` depends on the request.
    Ok {
        /// The result.
        data: serde_json::Value,
    },
    /// The request failed.
    Error {
        /// What kind of failure.
        #[serde(default)]
        kind: ErrorKind,
        /// Why, for a person.
        message: String,
    },
}

impl Response {
    /// A failure of `kind`.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Error {
            kind,
            message: message.into(),
        }
    }

    /// The answer for a handler's result.
    pub fn from_result<E: ControlError>(result: Result<serde_json::Value, E>) -> Self {
        match result {
            Ok(data) => Self::Ok { data },
            Err(e) => Self::error(e.kind(), e.to_string()),
        }
    }
}

/// A daemon's request type: what right each request needs, and its name for the audit log.
pub trait Request: serde::de::DeserializeOwned + Send + 'static {
    /// The least right that may make this request. Anything above [`Right::Read`] changes
    /// state and is written to the audit log before it takes effect.
    fn right(&self) -> Right;
    /// The request's name (its `op`).
    fn op(&self) -> &'static str;
    /// Whether the request carries a secret (a password): then the audit record leaves out
    /// the request's digest, which would let a low-entropy secret be guessed offline.
    fn carries_secret(&self) -> bool {
        false
    }
}

/// A daemon's answer to `health`: for `mamori status`, the panel's dashboard and the
/// update's health gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Which daemon.
    pub daemon: String,
    /// `running`, or `degraded` when it runs but not as configured (the fail-safe table).
    pub state: String,
    /// The firmware version.
    pub version: String,
    /// The settings version in force (`null` while settings come from files only).
    pub settings_version: Option<u64>,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// The last error that changed how it runs, if any.
    pub last_error: Option<String>,
}

impl Health {
    /// A daemon running as configured since `started` (Unix seconds).
    pub fn running(daemon: &str, started: u64) -> Self {
        Self {
            daemon: daemon.into(),
            state: "running".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            settings_version: None,
            started: crate::clock::rfc3339_utc(started),
            last_error: None,
        }
    }
}

/// Longest request line a daemon reads, so a client cannot make it buffer without end.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// How a control socket is served.
#[derive(Clone)]
pub struct ServeOptions {
    /// Longest request line.
    pub max_line: usize,
    /// Who gets which right.
    pub access: Access,
    /// Where state-changing requests are recorded before they take effect.
    pub audit: Arc<AuditLog>,
}

impl ServeOptions {
    /// The options for the socket just bound at `socket`: the daemon's own user is the
    /// socket file's owner (no call into libc needed), the groups are the box's.
    pub fn new(socket: &Path, max_line: usize, audit: Arc<AuditLog>) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let own_uid = std::fs::metadata(socket)?.uid();
        Ok(Self {
            max_line,
            access: Access::standard(own_uid),
            audit,
        })
    }
}

/// The group whose members may connect to the daemons' control sockets (what each may do
/// is then decided by its rights).
pub const CONTROL_GROUP: &str = "mamori";

/// Binds a daemon's control socket at `path` (replacing a stale one), mode 0660, in group
/// `group` when the system has it and the daemon may give it (else the daemon's own group).
pub fn bind(path: &Path, group: &str) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Some(gid) = Accounts::from_system().group_id(group)
        && let Err(e) = std::os::unix::fs::chown(path, None, Some(gid))
    {
        tracing::warn!(socket = %path.display(), group, error = %e, "the control socket stays in the daemon's own group");
    }
    Ok(listener)
}

/// Serves a daemon's control socket: one task per connection learns the caller from the
/// peer credentials, reads JSON lines of requests `R` (a line past `max_line` bytes, or the
/// end, closes the connection) and answers each in order, one JSON line per answer. A request
/// may carry `"on_behalf": {"user": …, "role": …}` (the panel acting for a person). A request
/// above the caller's right is refused as `forbidden`; a state-changing one is written to
/// the audit log first and refused if that fails. Never returns (a failed accept is skipped).
pub async fn serve<R, F, Fut>(listener: tokio::net::UnixListener, options: ServeOptions, handle: F)
where
    R: Request,
    F: Fn(R, Caller) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Response> + Send,
{
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok(cred) = stream.peer_cred() else {
            continue;
        };
        let (handle, options) = (handle.clone(), options.clone());
        tokio::spawn(async move {
            let caller = options
                .access
                .caller(cred.uid(), cred.gid(), &Accounts::from_system());
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r.take(options.max_line as u64)).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let response = if let Some(limit) = audit_log_request(&line) {
                    audit_log(&options.audit, limit).await
                } else {
                    match admit::<R>(&line, &caller, &options.audit) {
                        Ok((req, caller)) => handle(req, caller).await,
                        Err(refused) => refused,
                    }
                };
                let mut out = serde_json::to_vec(&response).unwrap_or_default();
                out.push(b'\n');
                if w.write_all(&out).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// The most records one `audit_log` request answers.
pub const MAX_AUDIT_RECORDS: usize = 500;

/// `Some(limit)` when the line is `{"op": "audit_log", "limit": N}` (with an optional
/// `on_behalf`): every daemon answers it the same way, for every caller that may connect
/// (the read right: auditors read the audit log).
fn audit_log_request(line: &str) -> Option<usize> {
    #[derive(Deserialize)]
    struct AuditLogRequest {
        op: String,
        #[serde(default)]
        limit: Option<usize>,
        #[serde(default, rename = "on_behalf")]
        _on_behalf: Option<serde_json::Value>,
    }
    let r: AuditLogRequest = serde_json::from_str(line).ok()?;
    (r.op == "audit_log").then(|| r.limit.unwrap_or(100).min(MAX_AUDIT_RECORDS))
}

/// The daemon's audit chain: whether it is intact (every record present and unchanged, as
/// `mamori audit-verify` checks) and its last `limit` records, newest first.
async fn audit_log(audit: &Arc<AuditLog>, limit: usize) -> Response {
    let audit = audit.clone();
    let answer = tokio::task::spawn_blocking(move || crate::audit::summary(&audit, limit)).await;
    match answer {
        Ok(Ok(data)) => Response::Ok { data },
        Ok(Err(e)) => Response::error(ErrorKind::Internal, e.to_string()),
        Err(e) => Response::error(ErrorKind::Internal, e.to_string()),
    }
}

/// Parses one request line and decides whether `caller` may make it; a state-changing
/// request is recorded in the audit log (op, caller, the request's size and SHA-256) first.
fn admit<R: Request>(
    line: &str,
    caller: &Caller,
    audit: &AuditLog,
) -> Result<(R, Caller), Response> {
    let invalid = |e: String| Response::error(ErrorKind::Invalid, format!("bad request: {e}"));
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| invalid(e.to_string()))?;
    let on_behalf = value
        .as_object_mut()
        .and_then(|o| o.remove("on_behalf"))
        .map(serde_json::from_value::<OnBehalf>)
        .transpose()
        .map_err(|e| invalid(format!("on_behalf: {e}")))?;
    let req: R = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    let caller = match on_behalf {
        Some(person) => caller
            .acting_for(person)
            .map_err(|e| Response::error(ErrorKind::Forbidden, e.to_string()))?,
        None => caller.clone(),
    };
    let needed = req.right();
    if caller.effective_right() < needed {
        return Err(Response::error(
            ErrorKind::Forbidden,
            format!(
                "{} may not {}: it needs the {needed} right ({} has {})",
                caller.audit_name(),
                req.op(),
                caller.audit_name(),
                caller.effective_right()
            ),
        ));
    }
    if needed > Right::Read {
        let mut fields = serde_json::json!({
            "op": req.op(),
            "by": caller.audit_name(),
            "uid": caller.uid,
            "request_bytes": line.len(),
        });
        if !req.carries_secret() {
            fields["request_sha256"] = crate::audit::hex_sha256(line.as_bytes()).into();
        }
        audit.record("control_request", fields).map_err(|e| {
            Response::error(
                ErrorKind::Internal,
                format!("refused: the audit log cannot be written ({e})"),
            )
        })?;
    }
    Ok((req, caller))
}

/// The longest answer a client reads (a long queue list is large, but bounded).
pub const MAX_RESPONSE_LINE: u64 = 16 << 20;

/// Why a client's call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The socket could not be reached or the exchange broke off.
    #[error("{socket}: {source}")]
    Io {
        /// The socket.
        socket: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{0}: no answer in time")]
    Timeout(std::path::PathBuf),
    /// The answer is not a response.
    #[error("{socket}: the answer is not a control response: {reason}")]
    BadAnswer {
        /// The socket.
        socket: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// Sends one request (a JSON object with its `op`) to the daemon at `socket` and reads its
/// answer, within `timeout`: the async client the panel uses.
pub async fn call(
    socket: &Path,
    request: &serde_json::Value,
    timeout: std::time::Duration,
) -> Result<Response, CallError> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let io = |source| CallError::Io {
        socket: socket.to_path_buf(),
        source,
    };
    let exchange = async {
        let stream = tokio::net::UnixStream::connect(socket).await.map_err(io)?;
        let (r, mut w) = stream.into_split();
        let mut line = serde_json::to_vec(request).unwrap_or_default();
        line.push(b'\n');
        w.write_all(&line).await.map_err(io)?;
        let mut answer = String::new();
        BufReader::new(r.take(MAX_RESPONSE_LINE))
            .read_line(&mut answer)
            .await
            .map_err(io)?;
        serde_json::from_str::<Response>(&answer).map_err(|e| CallError::BadAnswer {
            socket: socket.to_path_buf(),
            reason: e.to_string(),
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| CallError::Timeout(socket.to_path_buf()))?
}
