//! The relay's settings in force, and changing them while mail flows. Every connection
//! takes the session context current when it is accepted and keeps it to its end, so a
//! session in flight finishes on the settings it started with; a change builds everything
//! new first (DLP policy and dictionaries, TLS certificate, accounts, routes and recipient
//! checks, pacing, new listeners bound) and only then swaps, so a change that cannot be
//! built is refused and the relay keeps running on its last good settings. The queue is
//! never touched: nothing queued is lost or delivered twice.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use mamori_core::audit::AuditLog;
use mamori_core::control::{ControlError, ErrorKind};
use tokio::sync::mpsc;

use crate::dlp_stage::{DlpStage, DlpStats, Generated};
use crate::inbound::SessionContext;
use crate::inbound::recipients::Recipients;
use crate::pipeline::Pipeline;
use crate::queue::Queue;
use crate::queue::pacing::{PacePolicy, Pacer};
use crate::queue::transport::Transport;
use crate::settings::{BounceContent, ListenerKind, RelaySettings};
use crate::stats::Stats;

/// Why a settings change was refused (the relay keeps its last good settings).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The DLP policy or dictionary could not be built.
    #[error("DLP: {0}")]
    Dlp(#[from] crate::dlp_stage::DlpStageError),
    /// The attachment-encryption rules could not be built.
    #[error("{0}")]
    Encrypt(#[from] crate::encrypt_stage::EncryptStageError),
    /// The certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Outbound delivery could not be set up.
    #[error("delivery: {0}")]
    Transport(String),
    /// A new listener could not bind.
    #[error("cannot listen on {addr} ({kind}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Its kind.
        kind: ListenerKind,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The settings could not be read from the settings service.
    #[error("{message}")]
    Source {
        /// Its kind (no such version, invalid …).
        kind: ErrorKind,
        /// Why.
        message: String,
    },
}

impl ControlError for ApplyError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Source { kind, .. } => *kind,
            Self::Bind { .. } => ErrorKind::Conflict,
            Self::Dlp(_) | Self::Encrypt(_) | Self::Tls(_) | Self::Transport(_) => {
                ErrorKind::Invalid
            }
        }
    }
}

/// Where the relay reads a version of its settings when told to apply one: the settings
/// service, provided by whoever starts the relay (the relay crate does not know the store).
pub trait SettingsSource: Send + Sync + 'static {
    /// The relay's settings of `version` (the current one when `None`), checked, with the
    /// version number.
    fn load(&self, version: Option<u64>) -> Result<(u64, RelaySettings), ApplyError>;
}

/// What a change did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// The settings version now in force.
    pub version: Option<u64>,
    /// Keys that changed.
    pub changed: Vec<String>,
    /// Changed keys that take effect only when the relay restarts.
    pub restart_needed: Vec<String>,
}

/// A listener accepting connections, by its configured address.
struct Running {
    kind: Arc<RwLock<ListenerKind>>,
    bound: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// What is in force.
struct InForce {
    settings: RelaySettings,
    version: Option<u64>,
    listeners: BTreeMap<SocketAddr, Running>,
}

/// The relay's live settings: the session context new connections take, the pacer, the
/// listeners, and what is needed to build them again.
pub struct Live {
    ctx: RwLock<Arc<SessionContext>>,
    in_force: tokio::sync::Mutex<InForce>,
    pacer: Arc<Pacer>,
    queue: Queue,
    stats: Arc<Stats>,
    audit: Arc<AuditLog>,
    dlp_stats: Arc<DlpStats>,
    notices: mpsc::Sender<Generated>,
    /// The embedder's own stages, after DLP.
    extra: Pipeline,
    /// The recipient domains delivered to.
    known: Arc<crate::misdelivery::known::KnownDomains>,
    links: mamori_links::Store,
    tls_dir: PathBuf,
}

/// What a set of settings builds, before anything is swapped.
struct Parts {
    ctx: SessionContext,
    generated: Pipeline,
    policy: PacePolicy,
    transport: Arc<Transport>,
}

/// The shared pieces the relay's start makes once.
pub(crate) struct Shared {
    pub queue: Queue,
    pub stats: Arc<Stats>,
    pub audit: Arc<AuditLog>,
    pub dlp_stats: Arc<DlpStats>,
    pub notices: mpsc::Sender<Generated>,
    pub extra: Pipeline,
    pub known: Arc<crate::misdelivery::known::KnownDomains>,
    /// Link mode's store (fixed at start, as the data directory is).
    pub links: mamori_links::Store,
}

impl Live {
    /// Builds the relay on `settings` and binds its listeners; nothing runs before every
    /// part could be built.
    pub(crate) async fn start(
        settings: RelaySettings,
        version: Option<u64>,
        shared: Shared,
    ) -> Result<(Arc<Self>, Vec<(ListenerKind, SocketAddr)>), ApplyError> {
        let tls_dir = settings.general.data_dir.join("tls");
        let parts = build(&settings, &shared, &tls_dir, None)?;
        let transport = parts.transport.clone();
        let pacer = Pacer::new(parts.policy.clone(), transport, shared.queue.clone());
        let live = Arc::new(Self {
            ctx: RwLock::new(Arc::new(parts.ctx)),
            in_force: tokio::sync::Mutex::new(InForce {
                settings: RelaySettings::default(),
                version,
                listeners: BTreeMap::new(),
            }),
            pacer: pacer.clone(),
            queue: shared.queue.clone(),
            stats: shared.stats,
            audit: shared.audit,
            dlp_stats: shared.dlp_stats,
            notices: shared.notices,
            extra: shared.extra,
            known: shared.known,
            links: shared.links,
            tls_dir,
        });
        live.queue.set_generated_pipeline(parts.generated);
        set_bounce_policy(&live.queue, &settings);
        tokio::spawn(live.queue.clone().run_scheduler(pacer));
        let mut in_force = live.in_force.lock().await;
        let (listeners, _) = live.listen(&settings, &mut in_force.listeners).await?;
        in_force.listeners = listeners;
        // In the order of the settings.
        let bound = settings
            .smtp
            .listeners
            .iter()
            .filter_map(|l| {
                in_force
                    .listeners
                    .get(&l.address)
                    .map(|r| (l.kind, r.bound))
            })
            .collect();
        in_force.settings = settings;
        drop(in_force);
        Ok((live, bound))
    }

    /// The session context a new connection takes.
    pub fn context(&self) -> Arc<SessionContext> {
        self.ctx.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The settings in force.
    pub async fn settings(&self) -> RelaySettings {
        self.in_force.lock().await.settings.clone()
    }

    /// The settings version in force.
    pub async fn version(&self) -> Option<u64> {
        self.in_force.lock().await.version
    }

    /// Puts `settings` (version `version`) in force, or refuses and keeps the current ones.
    pub async fn apply(
        self: &Arc<Self>,
        settings: RelaySettings,
        version: Option<u64>,
    ) -> Result<Applied, ApplyError> {
        let mut in_force = self.in_force.lock().await;
        let changed = changed_keys(&in_force.settings, &settings);
        let restart_needed: Vec<String> = changed
            .iter()
            .filter(|k| {
                k.starts_with("general.data_dir")
                    || k.starts_with("general.hostname")
                    || k.starts_with("log.")
                    || k.starts_with("smtp.delivery.retry")
                    || k.starts_with("smtp.delivery.queue_lifetime")
            })
            .cloned()
            .collect();
        let shared = self.shared();
        let previous = self.context();
        let parts = build(&settings, &shared, &self.tls_dir, Some(&previous))?;
        // New listeners are bound before anything is swapped: a port in use refuses the
        // whole change.
        let (listeners, retired) = self.listen(&settings, &mut in_force.listeners).await?;
        *self.ctx.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(parts.ctx);
        self.queue.set_generated_pipeline(parts.generated);
        set_bounce_policy(&self.queue, &settings);
        settings.general.apply_audit_retention(&self.audit);
        self.pacer.reconfigure(parts.policy, parts.transport);
        for running in retired {
            // Waiting for the aborted task drops its socket before the reply goes out.
            running.task.abort();
            let _ = running.task.await;
            tracing::info!(addr = %running.bound, "listener closed (no longer in the settings)");
        }
        in_force.listeners = listeners;
        in_force.settings = settings;
        in_force.version = version;
        tracing::info!(?version, changed = changed.len(), "settings applied");
        if !restart_needed.is_empty() {
            tracing::warn!(keys = ?restart_needed, "these settings take effect when the relay restarts");
        }
        Ok(Applied {
            version,
            changed,
            restart_needed,
        })
    }

    fn shared(&self) -> Shared {
        Shared {
            queue: self.queue.clone(),
            stats: self.stats.clone(),
            audit: self.audit.clone(),
            dlp_stats: self.dlp_stats.clone(),
            notices: self.notices.clone(),
            extra: self.extra.clone(),
            known: self.known.clone(),
            links: self.links.clone(),
        }
    }

    /// The listeners `settings` asks for: those already running kept (their kind updated),
    /// new ones bound. Returns them and the running ones no longer asked for. On a bind
    /// failure nothing changes (the listeners bound here are dropped).
    async fn listen(
        self: &Arc<Self>,
        settings: &RelaySettings,
        running: &mut BTreeMap<SocketAddr, Running>,
    ) -> Result<(BTreeMap<SocketAddr, Running>, Vec<Running>), ApplyError> {
        let mut fresh = Vec::new();
        for l in &settings.smtp.listeners {
            if running.contains_key(&l.address) {
                continue;
            }
            let bind_error = |source| ApplyError::Bind {
                addr: l.address,
                kind: l.kind,
                source,
            };
            let listener = mamori_core::listen::tcp(l.address).map_err(bind_error)?;
            let bound = listener.local_addr().map_err(bind_error)?;
            fresh.push((l.address, l.kind, listener, bound));
        }
        let mut kept = BTreeMap::new();
        for l in &settings.smtp.listeners {
            if let Some(r) = running.remove(&l.address) {
                *r.kind.write().unwrap_or_else(|p| p.into_inner()) = l.kind;
                kept.insert(l.address, r);
            }
        }
        let retired = std::mem::take(running).into_values().collect();
        for (address, kind, listener, bound) in fresh {
            tracing::info!(%kind, addr = %bound, "listening");
            let cell = Arc::new(RwLock::new(kind));
            let task = tokio::spawn(crate::server::accept_loop(
                listener,
                cell.clone(),
                self.clone(),
            ));
            kept.insert(
                address,
                Running {
                    kind: cell,
                    bound,
                    task,
                },
            );
        }
        Ok((kept, retired))
    }
}

/// What bounces may carry, from the settings.
fn set_bounce_policy(queue: &Queue, settings: &RelaySettings) {
    queue.set_bounce_policy(crate::queue::bounce::BouncePolicy {
        office_domains: office(settings),
        full_to_outside: settings.smtp.bounce_content_outside == BounceContent::Full,
    });
}

/// The office's own domains, as text.
pub(crate) fn office(settings: &RelaySettings) -> Vec<String> {
    settings
        .smtp
        .office_domains
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// Builds everything `settings` asks for, without touching what runs.
fn build(
    settings: &RelaySettings,
    shared: &Shared,
    tls_dir: &std::path::Path,
    previous: Option<&SessionContext>,
) -> Result<Parts, ApplyError> {
    let smtp = &settings.smtp;
    let hostname = &settings.general.hostname;
    // Attachment encryption runs after DLP, on what DLP judged.
    let encryption = if settings.encrypt.enabled {
        let mut stage = crate::encrypt_stage::EncryptStage::new(
            &settings.encrypt,
            office(settings),
            hostname.clone(),
            shared.audit.clone(),
        )?;
        if settings.encrypt.uses_links() {
            stage = stage.with_links(
                shared.links.clone(),
                settings.misdelivery.link_base(hostname),
            );
        }
        Pipeline::new().with(Arc::new(stage))
    } else {
        Pipeline::new()
    };
    // Then misdelivery prevention, on the message as it will leave.
    let encryption = if settings.misdelivery.active() {
        encryption.with(Arc::new(
            crate::misdelivery::MisdeliveryStage::new(
                &settings.misdelivery,
                office(settings),
                hostname.clone(),
                shared.audit.clone(),
                shared.notices.clone(),
                Some(shared.known.clone()),
            )
            .with_sender_rights(crate::inbound::accounts::SenderRights::new(
                &settings.smtp.accounts,
                &settings.smtp.office_domains,
            )),
        ))
    } else {
        encryption
    };
    let (pipeline, generated) = if settings.dlp.enabled {
        // An inspection expands archives within its share of the relay's one memory
        // budget (the sessions reserve that share before each run).
        use crate::inbound::session::{budget_bytes, scan_expansion_share};
        let mut dlp = settings.dlp.clone();
        dlp.limits.max_expanded_bytes = dlp
            .limits
            .max_expanded_bytes
            .min(scan_expansion_share(budget_bytes(smtp)));
        let stage = Arc::new(
            DlpStage::new(
                &dlp,
                office(settings),
                hostname.clone(),
                shared.audit.clone(),
                shared.notices.clone(),
                shared.dlp_stats.clone(),
            )?
            .with_encryption(settings.encrypt.enabled),
        );
        // Bounces and notices are outbound mail too: the same inspection before the queue.
        (
            Pipeline::new()
                .with(stage.clone())
                .then(encryption)
                .then(shared.extra.clone()),
            Pipeline::new().with(stage),
        )
    } else {
        tracing::warn!("DLP is switched off (dlp.enabled = false): mail is not inspected");
        (encryption.then(shared.extra.clone()), Pipeline::new())
    };
    let tls_files = smtp
        .tls
        .cert_file
        .as_deref()
        .zip(smtp.tls.key_file.as_deref());
    let tls_config = crate::tls::server_config(tls_files, tls_dir, hostname)?;
    let delivery = crate::server::effective_delivery(smtp);
    let prober = Arc::new(crate::server::TransportProber {
        transport: Transport::new(&crate::server::callout_delivery(&delivery), hostname)
            .map_err(|e| ApplyError::Transport(e.to_string()))?,
    });
    let recipients = Arc::new(Recipients::new(smtp.accepted_domains.clone(), prober));
    let mut ctx = SessionContext::new(
        smtp.clone(),
        hostname.clone(),
        Some(tokio_rustls::TlsAcceptor::from(tls_config)),
        pipeline,
        shared.queue.clone(),
        shared.stats.clone(),
        recipients,
    );
    ctx.future_release = settings.misdelivery.max_future_release;
    if let Some(previous) = previous {
        ctx.carry_over(previous);
    }
    let transport =
        Transport::new(&delivery, hostname).map_err(|e| ApplyError::Transport(e.to_string()))?;
    Ok(Parts {
        ctx,
        generated,
        policy: PacePolicy::new(&smtp.pacing),
        transport: Arc::new(transport),
    })
}

/// The keys whose values differ between two settings (by their JSON form).
fn changed_keys(before: &RelaySettings, after: &RelaySettings) -> Vec<String> {
    mamori_core::tree::diff(
        &serde_json::to_value(before).unwrap_or_default(),
        &serde_json::to_value(after).unwrap_or_default(),
    )
    .into_iter()
    .map(|c| c.key)
    .collect()
}
