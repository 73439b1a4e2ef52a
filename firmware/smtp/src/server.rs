//! The SMTP daemon: listeners, the control socket, the queue scheduler, wired together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::SmtpRequest;
use crate::settings::{BounceContent, Delivery, ListenerKind, RelaySettings, Route, Smtp};
use mamori_core::control::{Health, MAX_REQUEST_LINE, Response, ServeOptions};
use mamori_core::identity::Caller;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};

use mamori_core::audit::AuditLog;

use crate::dlp_stage::{DlpStage, DlpStats, Generated, NOTICE_BACKLOG};
use crate::inbound::gate::Class;
use crate::inbound::recipients::{ProbeAnswer, Prober, Recipients};
use crate::inbound::{Session, SessionContext, SessionEnd};
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
pub async fn start(config: &RelaySettings, pipeline: Pipeline) -> Result<Smtpd, ServerError> {
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
        &mamori_core::audit::chain_dir(data_dir, "smtpd"),
        AUDIT_FILE_SIZE,
        AUDIT_FILES_KEPT,
    )?);
    let office: Vec<String> = smtp.office_domains.iter().map(|d| d.to_string()).collect();
    queue.set_bounce_policy(crate::queue::bounce::BouncePolicy {
        office_domains: office.clone(),
        full_to_outside: smtp.bounce_content_outside == BounceContent::Full,
    });
    let dlp_stats = Arc::new(DlpStats::default());
    let pipeline = if config.dlp.enabled {
        let (notices, pending) = tokio::sync::mpsc::channel(NOTICE_BACKLOG);
        tokio::spawn(queue_generated(pending, queue.clone()));
        let stage = Arc::new(DlpStage::new(
            &config.dlp,
            office,
            config.general.hostname.clone(),
            audit.clone(),
            notices,
            dlp_stats.clone(),
        )?);
        // Bounces and notices are outbound mail too: the same inspection before the queue.
        queue.set_generated_pipeline(Pipeline::new().with(stage.clone()));
        tracing::info!(
            "DLP inspects every message before the final DATA reply, and every message the box writes"
        );
        Pipeline::new().with(stage).then(pipeline)
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
    let delivery = effective_delivery(smtp);
    let prober = Arc::new(TransportProber {
        transport: Transport::new(&callout_delivery(&delivery), &config.general.hostname)
            .map_err(|e| ServerError::Transport(e.to_string()))?,
    });
    let recipients = Arc::new(Recipients::new(smtp.accepted_domains.clone(), prober));
    let ctx = Arc::new(SessionContext::new(
        smtp.clone(),
        config.general.hostname.clone(),
        Some(tokio_rustls::TlsAcceptor::from(tls_config)),
        pipeline,
        queue.clone(),
        stats.clone(),
        recipients,
    ));

    let transport = Transport::new(&delivery, &config.general.hostname)
        .map_err(|e| ServerError::Transport(e.to_string()))?;
    let pacer = Pacer::new(
        PacePolicy::new(&smtp.pacing),
        Arc::new(transport),
        queue.clone(),
    );
    tokio::spawn(queue.clone().run_scheduler(pacer));

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
        tokio::spawn(accept_loop(listener, l.kind, ctx.clone()));
    }

    let control = control_socket_path(data_dir);
    let control_error = |source| ServerError::Control {
        path: control.clone(),
        source,
    };
    let unix = mamori_core::control::bind(&control, mamori_core::control::CONTROL_GROUP)
        .map_err(control_error)?;
    let options =
        ServeOptions::new(&control, MAX_REQUEST_LINE * 16, audit.clone()).map_err(control_error)?;
    tokio::spawn(control_loop(unix, options, queue.clone(), audit, dlp_stats));
    Ok(Smtpd {
        bound: Bound {
            listeners: bound,
            control,
        },
        queue,
    })
}

async fn accept_loop(listener: TcpListener, kind: ListenerKind, ctx: Arc<SessionContext>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let class = if ctx.is_trusted(&peer.ip()) {
            Class::Office
        } else if kind == ListenerKind::Relay {
            Class::Stranger
        } else {
            Class::Submission
        };
        let slot = match ctx.gate.admit(peer.ip(), class) {
            Ok(slot) => slot,
            Err(refusal) => {
                tracing::info!(%peer, ?refusal, ?class, "connection refused");
                tokio::spawn(async move {
                    let mut s = stream;
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        s.write_all(refusal.wire()),
                    )
                    .await;
                });
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(stream, kind, peer, ctx).await {
                tracing::debug!(%peer, error = %e, "session ended with an error");
            }
            drop(slot);
        });
    }
}

/// The delivery settings with the routes of the accepted domains in front: mail for them
/// goes to the office's own server.
pub fn effective_delivery(smtp: &Smtp) -> Delivery {
    let mut delivery = smtp.delivery.clone();
    let mut routes: Vec<Route> = smtp
        .accepted_domains
        .iter()
        .filter_map(|a| {
            let host = a.host.clone()?;
            Some(Route {
                domain: a.domain.clone(),
                host,
                port: a.port,
            })
        })
        .collect();
    routes.append(&mut delivery.routes);
    delivery.routes = routes;
    delivery
}

/// Delivery settings for recipient callouts: short timeouts (a client waits on the RCPT).
fn callout_delivery(delivery: &Delivery) -> Delivery {
    Delivery {
        connect_timeout: delivery.connect_timeout.min(CALLOUT_TIMEOUT),
        command_timeout: delivery.command_timeout.min(CALLOUT_TIMEOUT),
        ..delivery.clone()
    }
}

/// How long a recipient callout may wait for a connection or a reply.
const CALLOUT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Asks the office's server about a recipient through the relay's own outbound client.
struct TransportProber {
    transport: Transport,
}

impl Prober for TransportProber {
    fn probe<'a>(
        &'a self,
        domain: &'a str,
        address: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ProbeAnswer> + Send + 'a>> {
        Box::pin(async move {
            let mut link = match self.transport.connect(domain).await {
                Ok(link) => link,
                Err(e) => return ProbeAnswer::Unavailable(e.reason),
            };
            let answer = match link.probe_recipient(address).await {
                Ok(reply) if reply.is_completion() => ProbeAnswer::Accepted,
                Ok(reply) if reply.is_permanent() => ProbeAnswer::Refused(reply.to_string()),
                Ok(reply) => ProbeAnswer::Unavailable(reply.to_string()),
                Err(e) => ProbeAnswer::Unavailable(e.to_string()),
            };
            link.quit().await;
            answer
        })
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

/// Puts messages the box generates (DLP notices) into the queue, inspected like any
/// outbound mail.
async fn queue_generated(mut pending: tokio::sync::mpsc::Receiver<Generated>, queue: Queue) {
    while let Some((envelope, content)) = pending.recv().await {
        let id = envelope.id.clone();
        if let Err(e) = queue.accept_generated(envelope, content).await {
            tracing::error!(queue_id = %id, error = %e, "could not queue a generated message");
        }
    }
}

async fn control_loop(
    listener: UnixListener,
    options: ServeOptions,
    queue: Queue,
    audit: Arc<AuditLog>,
    dlp_stats: Arc<DlpStats>,
) {
    let started = mamori_core::clock::unix_now();
    mamori_core::control::serve(
        listener,
        options,
        move |req: SmtpRequest, caller: Caller| {
            let (queue, audit, dlp_stats) = (queue.clone(), audit.clone(), dlp_stats.clone());
            async move {
                match req {
                    SmtpRequest::QuarantineStats => quarantine_stats(&queue, &dlp_stats),
                    SmtpRequest::Health => Response::Ok {
                        data: serde_json::to_value(Health::running("smtpd", started))
                            .unwrap_or_default(),
                    },
                    req => handle_control(&queue, &audit, req, &caller).await,
                }
            }
        },
    )
    .await;
}

/// The quarantine's statistics: what is held now, and what DLP decided since the start
/// (the findings of mail delivered all the same among them).
fn quarantine_stats(queue: &Queue, dlp_stats: &DlpStats) -> Response {
    let held = queue.quarantined();
    let mut by_rule: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for q in &held {
        *by_rule
            .entry(q.rule.clone().unwrap_or_default())
            .or_default() += 1;
    }
    Response::Ok {
        data: serde_json::json!({
            "held": held.len(),
            "held_by_rule": by_rule,
            "since_start": dlp_stats.snapshot(),
        }),
    }
}

/// Records an administrator's action; a failure is logged, not fatal (the action is done).
fn audit_admin(audit: &AuditLog, event: &str, id: &str, by: &Caller, extra: serde_json::Value) {
    let mut fields = serde_json::json!({ "queue_id": id, "by": by.audit_name() });
    if let (Some(map), serde_json::Value::Object(more)) = (fields.as_object_mut(), extra) {
        map.extend(more);
    }
    audit.record_or_log(event, fields);
}

/// Answers one control request; administrative changes are recorded in the audit log.
pub async fn handle_control(
    queue: &Queue,
    audit: &AuditLog,
    req: SmtpRequest,
    by: &Caller,
) -> Response {
    let result: Result<serde_json::Value, QueueError> = match req {
        SmtpRequest::QuarantineList => {
            Ok(serde_json::to_value(queue.quarantined()).unwrap_or_default())
        }
        SmtpRequest::QuarantineRelease { id } => match queue.show(&id) {
            Ok(env) if env.dlp.is_none() || env.held.is_none() => Err(QueueError::NotHeld(id)),
            Ok(_) => queue.release_held(&id).await.map(|env| {
                let rule = env.dlp.and_then(|d| d.rule);
                audit_admin(
                    audit,
                    "quarantine_release",
                    &id,
                    by,
                    serde_json::json!({ "rule": rule }),
                );
                tracing::info!(queue_id = %id, "released from the quarantine");
                serde_json::json!({ "released": id })
            }),
            Err(e) => Err(e),
        },
        SmtpRequest::QuarantineDelete { id } => match queue.show(&id) {
            Ok(env) if env.dlp.is_none() || env.held.is_none() => Err(QueueError::NotHeld(id)),
            Ok(env) => queue.delete(&id).await.map(|()| {
                let rule = env.dlp.and_then(|d| d.rule);
                audit_admin(
                    audit,
                    "quarantine_delete",
                    &id,
                    by,
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
            audit_admin(audit, "queue_hold", &id, by, serde_json::Value::Null);
            serde_json::json!({ "held": id })
        }),
        SmtpRequest::QueueRelease { id } => queue.release(&id).await.map(|()| {
            audit_admin(audit, "queue_release", &id, by, serde_json::Value::Null);
            serde_json::json!({ "released": id })
        }),
        SmtpRequest::QueueDelete { id } => queue.delete(&id).await.map(|()| {
            audit_admin(audit, "queue_delete", &id, by, serde_json::Value::Null);
            serde_json::json!({ "deleted": id })
        }),
        SmtpRequest::QueueRetry => Ok(serde_json::json!({ "scheduled": queue.retry_all() })),
        SmtpRequest::Stats => {
            Ok(serde_json::to_value(queue.stats().snapshot()).unwrap_or_default())
        }
        SmtpRequest::QuarantineStats | SmtpRequest::Health => Err(QueueError::Join(
            "answered by the daemon's control loop".into(),
        )),
    };
    Response::from_result(result)
}
