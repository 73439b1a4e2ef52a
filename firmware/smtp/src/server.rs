//! The SMTP daemon: listeners, the control socket, the queue scheduler, wired together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::SmtpRequest;
use crate::live::{ApplyError, Live, SettingsSource};
use crate::settings::{Delivery, ListenerKind, RelaySettings, Route, Smtp};
use mamori_core::control::{ErrorKind, Health, Response, ServeOptions};
use mamori_core::identity::Caller;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};

use mamori_core::audit::AuditLog;

use crate::dlp_stage::{DlpStats, Generated, NOTICE_BACKLOG};
use crate::inbound::gate::Class;
use crate::inbound::recipients::{ProbeAnswer, Prober};
use crate::inbound::{Session, SessionContext, SessionEnd};
use crate::pipeline::Pipeline;
use crate::queue::transport::Transport;
use crate::queue::{Queue, QueueError, RetryPolicy};
use crate::spool::Spool;
use crate::stats::Stats;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The control socket could not be created.
    #[error("control socket {path}: {source}")]
    Control {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The queue could not be opened.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] mamori_core::audit::AuditError),
    /// The settings could not be put in force: the DLP policy, the TLS certificate,
    /// delivery, or a listener that cannot bind.
    #[error(transparent)]
    Settings(#[from] ApplyError),
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
    /// The settings in force, and changing them.
    pub live: Arc<Live>,
}

/// Binds every listener and the control socket, loads the queue and starts delivery, on
/// settings that come from files only (no settings service).
pub async fn start(config: &RelaySettings, pipeline: Pipeline) -> Result<Smtpd, ServerError> {
    start_with(config, pipeline, None, None).await
}

/// As [`start`], on settings `version` of the settings service `source`, which an
/// `apply_settings` request reads again.
pub async fn start_with(
    config: &RelaySettings,
    pipeline: Pipeline,
    version: Option<u64>,
    source: Option<Arc<dyn SettingsSource>>,
) -> Result<Smtpd, ServerError> {
    let data_dir = &config.general.data_dir;
    let smtp = &config.smtp;
    let stats = Arc::new(Stats::default());
    let spool = Spool::open(data_dir.join("spool"))?;
    let retry = RetryPolicy {
        initial: smtp.delivery.retry_initial,
        max: smtp.delivery.retry_max,
        lifetime: smtp.delivery.queue_lifetime,
    };
    let queue = Queue::open(
        spool,
        stats.clone(),
        retry,
        config.general.hostname.clone(),
        smtp.delivery.active_limit,
    )?;
    let audit = Arc::new(AuditLog::open(
        &mamori_core::audit::chain_dir(data_dir, "smtpd"),
        AUDIT_FILE_SIZE,
        AUDIT_FILES_KEPT,
    )?);
    config.general.apply_audit_retention(&audit);
    let dlp_stats = Arc::new(DlpStats::default());
    // The charts' figures from before this start, read from the audit log in the
    // background (verdicts from now on are counted as they come).
    {
        let (dir, stats) = (audit.dir().to_path_buf(), dlp_stats.clone());
        let started = mamori_core::clock::unix_now();
        tokio::task::spawn_blocking(move || {
            let from = started.saturating_sub(crate::monthly::KEEP_HOURS_SECS);
            match crate::monthly::HourBuckets::from_log(&dir, from, started) {
                Ok(earlier) => stats.seed_activity(&earlier),
                Err(e) => {
                    tracing::warn!(error = %e, "the charts start empty: the audit log could not be read")
                }
            }
        });
    }
    let (notices, pending) = tokio::sync::mpsc::channel(NOTICE_BACKLOG);
    tokio::spawn(queue_generated(pending, queue.clone()));
    if config.dlp.enabled {
        tracing::info!(
            "DLP inspects every message before the final DATA reply, and every message the box writes"
        );
    }
    // The domains the office delivered to, for the new-domain confirmation; on the first
    // start seeded from the audit log.
    let known = {
        let dir = audit.dir().to_path_buf();
        let path = data_dir.join("misdelivery").join("known-domains");
        let window = config
            .misdelivery
            .new_domain
            .learn_days
            .saturating_mul(86_400);
        tokio::task::spawn_blocking(move || {
            let now = mamori_core::clock::unix_now();
            Arc::new(crate::misdelivery::known::KnownDomains::open(
                &path,
                now,
                || crate::misdelivery::known::seed_from_audit(&dir, now, window),
            ))
        })
        .await
        .map_err(|e| ServerError::Queue(QueueError::Join(e.to_string())))?
    };
    queue.set_known_domains(known.clone());
    let shared = crate::live::Shared {
        known,
        queue: queue.clone(),
        stats,
        audit: audit.clone(),
        dlp_stats: dlp_stats.clone(),
        notices,
        extra: pipeline,
        links: mamori_links::Store::new(config.general.links_dir()),
    };
    let (live, bound) = Live::start(config.clone(), version, shared).await?;

    let control = control_socket_path(config.general.socket_dir());
    let control_error = |source| ServerError::Control {
        path: control.clone(),
        source,
    };
    let unix = mamori_core::control::bind(&control, mamori_core::control::CONTROL_GROUP)
        .map_err(control_error)?;
    let options = ServeOptions::new(
        &control,
        crate::dlp_stage::try_out::MAX_TRY_LINE,
        audit.clone(),
    )
    .map_err(control_error)?;
    let controller = Controller {
        queue: queue.clone(),
        audit,
        dlp_stats,
        live: live.clone(),
        source,
        started: mamori_core::clock::unix_now(),
        links: mamori_links::Store::new(config.general.links_dir()),
        last_error: std::sync::Mutex::new(None),
    };
    {
        let live = live.clone();
        tokio::spawn(crate::queue::retention::run(
            queue.clone(),
            controller.audit.clone(),
            move || {
                let live = live.clone();
                async move { live.settings().await.smtp.quarantine_retention }
            },
        ));
    }
    tokio::spawn(control_loop(unix, options, Arc::new(controller)));
    Ok(Smtpd {
        bound: Bound {
            listeners: bound,
            control,
        },
        queue,
        live,
    })
}

/// Accepts connections of one listener; each takes the session context in force when it
/// is accepted (and the listener's kind then) and keeps it to its end.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    kind: Arc<std::sync::RwLock<ListenerKind>>,
    live: Arc<Live>,
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
        let ctx = live.context();
        let kind = *kind.read().unwrap_or_else(|p| p.into_inner());
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
pub(crate) fn callout_delivery(delivery: &Delivery) -> Delivery {
    Delivery {
        connect_timeout: delivery.connect_timeout.min(CALLOUT_TIMEOUT),
        command_timeout: delivery.command_timeout.min(CALLOUT_TIMEOUT),
        ..delivery.clone()
    }
}

/// How long a recipient callout may wait for a connection or a reply.
const CALLOUT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Asks the office's server about a recipient through the relay's own outbound client.
pub(crate) struct TransportProber {
    pub(crate) transport: Transport,
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

/// What the control socket's handler needs.
struct Controller {
    queue: Queue,
    audit: Arc<AuditLog>,
    dlp_stats: Arc<DlpStats>,
    live: Arc<Live>,
    source: Option<Arc<dyn SettingsSource>>,
    started: u64,
    /// Link mode's store.
    links: mamori_links::Store,
    /// The last settings version refused, and why (for `health`).
    last_error: std::sync::Mutex<Option<String>>,
}

impl Controller {
    /// Reads `version` from the settings service and puts it in force.
    async fn apply_settings(&self, version: Option<u64>) -> Result<serde_json::Value, ApplyError> {
        let source = self.source.clone().ok_or_else(|| ApplyError::Source {
            kind: ErrorKind::Conflict,
            message: "this relay runs on its configuration file, not the settings service (start it with --settings)".into(),
        })?;
        let (version, settings) = tokio::task::spawn_blocking(move || source.load(version))
            .await
            .map_err(|e| ApplyError::Source {
                kind: ErrorKind::Internal,
                message: e.to_string(),
            })??;
        match self.live.apply(settings, Some(version)).await {
            Ok(applied) => {
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(serde_json::json!({ "daemon": "smtpd", "applied": applied }))
            }
            Err(e) => {
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("settings version {version} refused: {e}"));
                Err(e)
            }
        }
    }
}

async fn control_loop(listener: UnixListener, options: ServeOptions, c: Arc<Controller>) {
    mamori_core::control::serve(
        listener,
        options,
        move |req: SmtpRequest, caller: Caller| {
            let c = c.clone();
            async move {
                match req {
                    SmtpRequest::QuarantineStats => quarantine_stats(&c.queue, &c.dlp_stats),
                    SmtpRequest::Health => {
                        let mut health = Health::running("smtpd", c.started);
                        health.settings_version = c.live.version().await;
                        health.last_error = c
                            .last_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clone();
                        Response::Ok {
                            data: serde_json::to_value(health).unwrap_or_default(),
                        }
                    }
                    SmtpRequest::ApplySettings { version } => {
                        Response::from_result(c.apply_settings(version).await)
                    }
                    SmtpRequest::TestRoute { mut route } => {
                        let ctx = c.live.context();
                        let ca_file = ctx.config.delivery.ca_file.clone();
                        if route.password.is_none()
                            && route.use_saved_password
                            && let Some(saved) = &ctx.config.delivery.smarthost
                            && saved.host == route.host
                            && saved.username == route.username
                            && let Some(file) = &saved.password_file
                        {
                            match tokio::fs::read_to_string(file).await {
                                Ok(p) => route.password = Some(p.trim().to_string()),
                                Err(e) => {
                                    return Response::error(
                                        ErrorKind::Invalid,
                                        format!("the saved password cannot be read: {e}"),
                                    );
                                }
                            }
                        }
                        match crate::outbound::probe::test_route(
                            &route,
                            &ctx.hostname,
                            ca_file.as_deref(),
                        )
                        .await
                        {
                            Ok(found) => Response::Ok {
                                data: serde_json::to_value(found).unwrap_or_default(),
                            },
                            Err(why) => Response::error(ErrorKind::Invalid, why),
                        }
                    }
                    SmtpRequest::MonthlyReport {
                        year,
                        month,
                        offset_minutes,
                    } => {
                        let Some((from, to)) =
                            mamori_core::clock::month_bounds(year, month, offset_minutes)
                        else {
                            return Response::error(ErrorKind::Invalid, "no such month");
                        };
                        let dir = c.audit.dir().to_path_buf();
                        let found = tokio::task::spawn_blocking(move || {
                            crate::monthly::monthly(&dir, from, to)
                        })
                        .await;
                        match found {
                            Ok(Ok(report)) => Response::Ok {
                                data: serde_json::to_value(report).unwrap_or_default(),
                            },
                            Ok(Err(e)) => Response::error(ErrorKind::Internal, e.to_string()),
                            Err(e) => Response::error(ErrorKind::Internal, e.to_string()),
                        }
                    }
                    SmtpRequest::Activity { offset_minutes } => Response::Ok {
                        data: serde_json::to_value(c.dlp_stats.activity(offset_minutes))
                            .unwrap_or_default(),
                    },
                    SmtpRequest::Alert { subject, body } => {
                        let settings = c.live.settings().await;
                        let to = settings.smtp.alert_to.clone();
                        if to.is_empty() {
                            return Response::error(
                                ErrorKind::Conflict,
                                "no alert address is set (smtp.alert_to)",
                            );
                        }
                        let hostname = settings.general.hostname.clone();
                        let sent = match crate::alert::render(&subject, &body, &to, &hostname) {
                            Ok(content) => {
                                let env = crate::spool::Envelope::generated(
                                    crate::spool::new_id(),
                                    String::new(),
                                    to.iter()
                                        .map(|a| crate::spool::Recipient::new(a.clone()))
                                        .collect(),
                                    &hostname,
                                    &content,
                                );
                                let id = env.id.clone();
                                c.queue.accept_generated(env, content).await.map(|()| id)
                            }
                            Err(e) => Err(QueueError::Join(e.to_string())),
                        };
                        Response::from_result(
                            sent.map(|id| serde_json::json!({"queued": id, "to": to})),
                        )
                    }
                    SmtpRequest::DlpPolicy => {
                        let settings = c.live.settings().await;
                        let dlp = &settings.dlp;
                        Response::Ok {
                            data: serde_json::json!({
                                "default_rules": dlp.rules.is_empty(),
                                "rules": dlp.effective_rules(),
                                "custom": dlp.scan.custom.rules,
                                "office_domains": settings.smtp.office_domains,
                            }),
                        }
                    }
                    SmtpRequest::DlpTry { sample } => {
                        let settings = c.live.settings().await;
                        let tried = tokio::task::spawn_blocking(move || {
                            crate::dlp_stage::try_out::try_sample(
                                &settings.dlp,
                                &crate::live::office(&settings),
                                &sample,
                            )
                        })
                        .await;
                        match tried {
                            Ok(Ok(verdict)) => Response::Ok {
                                data: serde_json::to_value(verdict).unwrap_or_default(),
                            },
                            Ok(Err(why)) => Response::error(ErrorKind::Invalid, why.to_string()),
                            Err(e) => Response::error(ErrorKind::Internal, e.to_string()),
                        }
                    }
                    SmtpRequest::LinkList => crate::links::list(c.links.clone()).await,
                    SmtpRequest::LinkRevoke { id } => {
                        crate::links::revoke_by(c.links.clone(), &c.audit, &id, &caller).await
                    }
                    SmtpRequest::LinkManage { id, token, revoke } => {
                        crate::links::manage(c.links.clone(), &c.audit, &id, &token, revoke).await
                    }
                    req => handle_control(&c.queue, &c.audit, req, &caller).await,
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

/// A quarantined message's content for an approver: the view is recorded in the audit log
/// (who, which message) before the content is read, and refused if it cannot be.
async fn quarantine_content(
    queue: &Queue,
    audit: &AuditLog,
    id: &str,
    by: &Caller,
) -> Result<serde_json::Value, QueueError> {
    let env = queue.show(id)?;
    let (Some(dlp), Some(_)) = (env.dlp, env.held) else {
        return Err(QueueError::NotHeld(id.into()));
    };
    audit
        .record(
            "quarantine_content_viewed",
            serde_json::json!({ "queue_id": id, "by": by.audit_name(), "rule": dlp.rule }),
        )
        .map_err(|e| QueueError::Join(format!("the audit log cannot be written: {e}")))?;
    let spool = queue.spool().clone();
    let id = id.to_string();
    let view = tokio::task::spawn_blocking(move || {
        spool
            .content(&id)
            .map(|raw| crate::dlp_stage::content_view::content_view(&raw))
    })
    .await
    .map_err(|e| QueueError::Join(e.to_string()))??;
    Ok(serde_json::to_value(view).unwrap_or_default())
}

/// Shows a message on a timed hold, or ends the hold, for the holder of its link. An end
/// is recorded in the audit log before it takes effect (never the token).
async fn timed_hold(
    queue: &Queue,
    audit: &AuditLog,
    id: &str,
    token: &str,
    action: Option<crate::queue::timed::HoldAction>,
    by: &Caller,
) -> Result<serde_json::Value, QueueError> {
    let env = match queue.timed_hold(id, Some(token)) {
        Ok(env) => env,
        Err(QueueError::NotHeld(_)) => return Ok(serde_json::json!({ "id": id, "held": false })),
        Err(e) => return Err(e),
    };
    let Some(action) = action else {
        let spool = queue.spool().clone();
        let owned = id.to_string();
        let head = tokio::task::spawn_blocking(move || spool.content_head(&owned, 64 * 1024))
            .await
            .map_err(|e| QueueError::Join(e.to_string()))??;
        let subject = mamori_dlp::mime::header_text(&head, "subject").unwrap_or_default();
        // Everyone it reaches: its encrypted copies' recipients too.
        let mut recipients: Vec<String> =
            env.recipients.iter().map(|r| r.address.clone()).collect();
        for cid in &env.companions {
            if let Ok(c) = queue.show(cid)
                && !c.internal
            {
                recipients.extend(c.recipients.into_iter().map(|r| r.address));
            }
        }
        return Ok(serde_json::json!({
            "id": id,
            "held": true,
            "subject": subject,
            "from": env.mail_from,
            "recipients": recipients,
            "until": env.hold_until,
            "kind": env.hold_kind.unwrap_or(crate::queue::timed::HoldKind::Timed),
        }));
    };
    // The link's holder may do what the hold is for: an approver rejects, a sender cancels.
    let action = env
        .hold_kind
        .unwrap_or(crate::queue::timed::HoldKind::Timed)
        .link_action(action);
    let event = match action {
        crate::queue::timed::HoldAction::Send => "timed_hold_send_now",
        crate::queue::timed::HoldAction::Cancel => "timed_hold_cancel",
        crate::queue::timed::HoldAction::Reject => "timed_hold_reject",
    };
    let record = serde_json::json!({
        "queue_id": id,
        "from": env.mail_from,
        "by": by.audit_name(),
        "through": "capability link",
    });
    audit
        .record(event, record)
        .map_err(|e| QueueError::Join(format!("the audit log cannot be written ({e})")))?;
    match queue.end_timed_hold(id, Some(token), action).await {
        Ok(_) => Ok(serde_json::json!({ "id": id, "held": false, "done": action })),
        Err(QueueError::NotHeld(_)) => Ok(serde_json::json!({ "id": id, "held": false })),
        Err(e) => Err(e),
    }
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
        SmtpRequest::QuarantineReject { id } => match queue.show(&id) {
            Ok(env) if env.dlp.is_none() || env.held.is_none() => Err(QueueError::NotHeld(id)),
            Ok(env) => {
                let rule = env.dlp.and_then(|d| d.rule);
                let reply = format!(
                    "550 5.7.1 not sent: the office's approver refused this message (DLP rule \"{}\")",
                    rule.as_deref().unwrap_or("")
                );
                queue.reject_held(&id, &reply).await.map(|_| {
                    audit_admin(
                        audit,
                        "quarantine_reject",
                        &id,
                        by,
                        serde_json::json!({ "rule": rule }),
                    );
                    tracing::info!(queue_id = %id, "refused from the quarantine; sender told");
                    serde_json::json!({ "rejected": id })
                })
            }
            Err(e) => Err(e),
        },
        SmtpRequest::QuarantineContent { id } => quarantine_content(queue, audit, &id, by).await,
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
        SmtpRequest::TimedHold { id, token, action } => {
            timed_hold(queue, audit, &id, &token, action, by).await
        }
        SmtpRequest::Stats => {
            let mut stats = serde_json::to_value(queue.stats().snapshot()).unwrap_or_default();
            if let Some(map) = stats.as_object_mut() {
                // The queue's length without listing it (most of a long queue waits on
                // disk): for the dashboard and the metrics.
                let queued = queue.len();
                map.insert("queued".into(), queued.into());
                map.insert("in_memory".into(), queue.resident_count().into());
                map.insert(
                    "parked".into(),
                    queued.saturating_sub(queue.resident_count()).into(),
                );
            }
            Ok(stats)
        }
        SmtpRequest::QuarantineStats
        | SmtpRequest::Health
        | SmtpRequest::ApplySettings { .. }
        | SmtpRequest::TestRoute { .. }
        | SmtpRequest::DlpPolicy
        | SmtpRequest::MonthlyReport { .. }
        | SmtpRequest::Activity { .. }
        | SmtpRequest::Alert { .. }
        | SmtpRequest::LinkList
        | SmtpRequest::LinkRevoke { .. }
        | SmtpRequest::LinkManage { .. }
        | SmtpRequest::DlpTry { .. } => Err(QueueError::Join(
            "answered by the daemon's control loop".into(),
        )),
    };
    Response::from_result(result)
}
