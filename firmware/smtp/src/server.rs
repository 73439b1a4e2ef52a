//! The SMTP daemon: listeners, the control socket, the queue scheduler, wired together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mamori_core::config::{Config, ListenerKind};
use mamori_core::control::{MAX_REQUEST_LINE, Response, SmtpRequest};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;

use mamori_core::audit::AuditLog;

use crate::dlp_stage::{DlpStage, Generated, NOTICE_BACKLOG};
use crate::inbound::{Accounts, Session, SessionContext, SessionEnd};
use crate::pipeline::Pipeline;
use crate::queue::pacing::{PacePolicy, Pacer};
use crate::queue::transport::Transport;
use crate::queue::{Queue, QueueError, RetryPolicy};
use crate::spool::Spool;
use crate::stats::Stats;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not bind.
    #[error("cannot listen on {addr} ({kind}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The listener kind.
        kind: ListenerKind,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The control socket could not be created.
    #[error("control socket {path}: {source}")]
    Control {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The queue could not be opened.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] mamori_core::audit::AuditError),
    /// The DLP stage could not be built from its configuration.
    #[error(transparent)]
    Dlp(#[from] crate::dlp_stage::DlpStageError),
    /// Outbound delivery could not be set up.
    #[error("delivery set-up: {0}")]
    Transport(String),
}

/// Where the running daemon listens; printed by `mamori run`.
#[derive(Debug, Clone)]
pub struct Bound {
    /// Each listener's kind and actual address (port 0 resolved).
    pub listeners: Vec<(ListenerKind, SocketAddr)>,
    /// The control socket.
    pub control: PathBuf,
}

/// The audit file is rotated at this size.
pub const AUDIT_FILE_SIZE: u64 = 16 << 20;
/// How many rotated audit files are kept (with the current one: 176 MiB at most).
pub const AUDIT_FILES_KEPT: usize = 10;

/// The control socket path for a data directory.
pub fn control_socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("smtpd.sock")
}

/// A started daemon; dropping it does not stop the tasks (they run until the runtime ends).
pub struct Smtpd {
    /// Where it listens.
    pub bound: Bound,
    /// The queue, for embedding (tests, `mamori run`).
    pub queue: Queue,
}

/// Binds every listener and the control socket, loads the queue and starts delivery.
pub async fn start(config: &Config, pipeline: Pipeline) -> Result<Smtpd, ServerError> {
    let data_dir = &config.general.data_dir;
    let smtp = &config.smtp;
    let stats = Arc::new(Stats::default());
    let spool = Spool::open(data_dir.join("spool"))?;
    let retry = RetryPolicy {
        initial: smtp.delivery.retry_initial,
        max: smtp.delivery.retry_max,
        lifetime: smtp.delivery.queue_lifetime,
    };
    let queue = Queue::open(spool, stats.clone(), retry, config.general.hostname.clone())?;
    let audit = Arc::new(AuditLog::open(
        &data_dir.join("audit"),
        AUDIT_FILE_SIZE,
        AUDIT_FILES_KEPT,
    )?);
    let pipeline = if config.dlp.enabled {
        let (notices, pending) = tokio::sync::mpsc::channel(NOTICE_BACKLOG);
        tokio::spawn(queue_generated(pending, queue.clone()));
        let local = smtp.local_domains.iter().map(|d| d.to_string()).collect();
        let stage = DlpStage::new(
            &config.dlp,
            local,
            config.general.hostname.clone(),
            audit.clone(),
            notices,
        )?;
        tracing::info!("DLP inspects every message before the final DATA reply");
        Pipeline::new().with(Arc::new(stage)).then(pipeline)
    } else {
        tracing::warn!("DLP is switched off (dlp.enabled = false): mail is not inspected");
        pipeline
    };

    let tls_files = smtp
        .tls
        .cert_file
        .as_deref()
        .zip(smtp.tls.key_file.as_deref());
    let tls_config =
        crate::tls::server_config(tls_files, &data_dir.join("tls"), &config.general.hostname)?;
    let ctx = Arc::new(SessionContext {
        config: smtp.clone(),
        hostname: config.general.hostname.clone(),
        tls: Some(tokio_rustls::TlsAcceptor::from(tls_config)),
        accounts: Accounts::new(&smtp.accounts),
        pipeline,
        queue: queue.clone(),
        stats: stats.clone(),
        data_memory: SessionContext::memory_budget(smtp.max_data_memory),
    });

    let transport = Transport::new(&smtp.delivery, &config.general.hostname)
        .map_err(|e| ServerError::Transport(e.to_string()))?;
    let pacer = Pacer::new(
        PacePolicy::new(&smtp.pacing),
        Arc::new(transport),
        queue.clone(),
    );
    tokio::spawn(queue.clone().run_scheduler(pacer));

    let sessions = Arc::new(Semaphore::new(smtp.max_sessions));
    let mut bound = Vec::new();
    for l in &smtp.listeners {
        let listener = TcpListener::bind(l.address)
            .await
            .map_err(|source| ServerError::Bind {
                addr: l.address,
                kind: l.kind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: l.address,
            kind: l.kind,
            source,
        })?;
        tracing::info!(kind = %l.kind, %addr, "listening");
        bound.push((l.kind, addr));
        tokio::spawn(accept_loop(listener, l.kind, ctx.clone(), sessions.clone()));
    }

    let control = control_socket_path(data_dir);
    let _ = std::fs::remove_file(&control);
    let unix = UnixListener::bind(&control).map_err(|source| ServerError::Control {
        path: control.clone(),
        source,
    })?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&control, std::fs::Permissions::from_mode(0o660)).map_err(
            |source| ServerError::Control {
                path: control.clone(),
                source,
            },
        )?;
    }
    tokio::spawn(control_loop(unix, queue.clone(), audit));
    Ok(Smtpd {
        bound: Bound {
            listeners: bound,
            control,
        },
        queue,
    })
}

async fn accept_loop(
    listener: TcpListener,
    kind: ListenerKind,
    ctx: Arc<SessionContext>,
    sessions: Arc<Semaphore>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = sessions.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let mut s = stream;
                let _ = s
                    .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
                    .await;
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(stream, kind, peer, ctx).await {
                tracing::debug!(%peer, error = %e, "session ended with an error");
            }
            drop(permit);
        });
    }
}

/// Serves one connection, doing the TLS handshake for implicit TLS or after STARTTLS.
async fn serve(
    stream: tokio::net::TcpStream,
    kind: ListenerKind,
    peer: SocketAddr,
    ctx: Arc<SessionContext>,
) -> std::io::Result<()> {
    let Some(acceptor) = ctx.tls.clone() else {
        Session::new(stream, ctx, kind, peer, false)
            .run(true)
            .await?;
        return Ok(());
    };
    let handshake_timeout = ctx.config.command_timeout;
    let plain = if kind == ListenerKind::Smtps {
        stream
    } else {
        match Session::new(stream, ctx.clone(), kind, peer, false)
            .run(true)
            .await?
        {
            SessionEnd::Closed => return Ok(()),
            SessionEnd::StartTls(s) => s,
        }
    };
    let tls = tokio::time::timeout(handshake_timeout, acceptor.accept(plain))
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
        })??;
    let greet = kind == ListenerKind::Smtps;
    Session::new(tls, ctx, kind, peer, true).run(greet).await?;
    Ok(())
}

/// Puts messages the box generates (DLP notices) into the queue.
async fn queue_generated(mut pending: tokio::sync::mpsc::Receiver<Generated>, queue: Queue) {
    while let Some((envelope, content)) = pending.recv().await {
        let id = envelope.id.clone();
        if let Err(e) = queue.accept(envelope, content).await {
            tracing::error!(queue_id = %id, error = %e, "could not queue a generated message");
        }
    }
}

async fn control_loop(listener: UnixListener, queue: Queue, audit: Arc<AuditLog>) {
    mamori_core::control::serve(listener, MAX_REQUEST_LINE * 16, move |req: SmtpRequest| {
        let (queue, audit) = (queue.clone(), audit.clone());
        async move { handle_control(&queue, &audit, req).await }
    })
    .await;
}

/// Records an administrator's action; a failure is logged, not fatal (the action is done).
fn audit_admin(
    audit: &AuditLog,
    event: &str,
    id: &str,
    by: Option<&str>,
    extra: serde_json::Value,
) {
    let mut fields = serde_json::json!({ "queue_id": id, "by": by.unwrap_or("control socket") });
    if let (Some(map), serde_json::Value::Object(more)) = (fields.as_object_mut(), extra) {
        map.extend(more);
    }
    audit.record_or_log(event, fields);
}

/// Answers one control request; administrative changes are recorded in the audit log.
pub async fn handle_control(queue: &Queue, audit: &AuditLog, req: SmtpRequest) -> Response {
    let result: Result<serde_json::Value, QueueError> = match req {
        SmtpRequest::QuarantineList => {
            Ok(serde_json::to_value(queue.quarantined()).unwrap_or_default())
        }
        SmtpRequest::QuarantineRelease { id, by } => match queue.show(&id) {
            Ok(env) if env.dlp.is_none() || env.held.is_none() => Err(QueueError::NotHeld(id)),
            Ok(_) => queue.release_held(&id).await.map(|env| {
                let rule = env.dlp.and_then(|d| d.rule);
                audit_admin(
                    audit,
                    "quarantine_release",
                    &id,
                    by.as_deref(),
                    serde_json::json!({ "rule": rule }),
                );
                tracing::info!(queue_id = %id, "released from the quarantine");
                serde_json::json!({ "released": id })
            }),
            Err(e) => Err(e),
        },
        SmtpRequest::QuarantineDelete { id, by } => match queue.show(&id) {
            Ok(env) if env.dlp.is_none() || env.held.is_none() => Err(QueueError::NotHeld(id)),
            Ok(env) => queue.delete(&id).await.map(|()| {
                let rule = env.dlp.and_then(|d| d.rule);
                audit_admin(
                    audit,
                    "quarantine_delete",
                    &id,
                    by.as_deref(),
                    serde_json::json!({ "rule": rule }),
                );
                serde_json::json!({ "deleted": id })
            }),
            Err(e) => Err(e),
        },
        SmtpRequest::QueueList => Ok(serde_json::to_value(queue.list()).unwrap_or_default()),
        SmtpRequest::QueueShow { id } => queue
            .show(&id)
            .map(|e| serde_json::to_value(e).unwrap_or_default()),
        SmtpRequest::QueueHold { id } => queue.hold(&id, "held by administrator").await.map(|()| {
            audit_admin(audit, "queue_hold", &id, None, serde_json::Value::Null);
            serde_json::json!({ "held": id })
        }),
        SmtpRequest::QueueRelease { id } => queue.release(&id).await.map(|()| {
            audit_admin(audit, "queue_release", &id, None, serde_json::Value::Null);
            serde_json::json!({ "released": id })
        }),
        SmtpRequest::QueueDelete { id } => queue.delete(&id).await.map(|()| {
            audit_admin(audit, "queue_delete", &id, None, serde_json::Value::Null);
            serde_json::json!({ "deleted": id })
        }),
        SmtpRequest::QueueRetry => Ok(serde_json::json!({ "scheduled": queue.retry_all() })),
        SmtpRequest::Stats => {
            Ok(serde_json::to_value(queue.stats().snapshot()).unwrap_or_default())
        }
    };
    match result {
        Ok(data) => Response::Ok { data },
        Err(e) => Response::Error {
            message: e.to_string(),
        },
    }
}
