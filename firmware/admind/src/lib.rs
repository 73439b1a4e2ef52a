//! `mamori admind`: the admin panel on the LAN, over HTTPS only (plain HTTP redirects).
//! It holds no privilege of its own: it reads and changes settings through the settings
//! service and acts through the daemons' control sockets as a member of the admin group,
//! naming the logged-in person so that each daemon's audit log says who did what. Its own
//! state is its users file, its certificate and its audit chain.
//!
//! On first start without an administrator it makes a one-time setup code, prints it (the
//! console and the journal) and writes it to the configured file on the boot partition;
//! the first visitor must type it to create the administrator account.

pub mod follow;
pub mod journal;
pub mod reach;
pub mod server;
pub mod state;
pub mod tls;
pub mod watchdog;
mod web;

/// The peer's address on each request (the server loop puts it there).
pub use web::Peer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use mamori_panel::settings::Admin;

pub use state::{Panel, Sockets};

/// Why the panel could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdmindError {
    /// TLS.
    #[error("the panel's certificate: {0}")]
    Tls(#[from] tls::TlsError),
    /// Its state.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// A listener.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The audit log.
    #[error("the audit log: {0}")]
    Audit(#[from] mamori_core::audit::AuditError),
    /// Writing the setup code.
    #[error("writing the setup code to {path}: {source}")]
    SetupCode {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Where a started panel listens.
#[derive(Debug, Clone)]
pub struct Bound {
    /// HTTPS.
    pub https: SocketAddr,
    /// The plain-HTTP redirect.
    pub redirect: Option<SocketAddr>,
    /// The certificate's SHA-256 fingerprint.
    pub fingerprint: String,
    /// The setup code, while the box waits for its administrator.
    pub setup_code: Option<String>,
}

/// What the panel needs to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `[admin]` section.
    pub admin: Admin,
    /// Its own state directory (`<data_dir>/admind`).
    pub state_dir: PathBuf,
    /// The box's host name.
    pub hostname: String,
    /// The daemons' sockets.
    pub sockets: Sockets,
    /// What the panel's own audit chain keeps (`general.audit_retention`).
    pub audit_retention: mamori_core::audit::Retention,
    /// The download service's instance-id file (`mamori_linkd::instance_path`), which
    /// link mode's self-test compares the service's answer with.
    pub link_instance: PathBuf,
}

/// The name of the setup code file written next to the users file (for the console).
const CODE_FILE: &str = "setup-code";

/// Starts the panel: its certificate, its state, the setup code if needed, the listeners.
pub async fn start(options: Options) -> Result<(Arc<Panel>, Bound), AdmindError> {
    let Options {
        admin,
        state_dir,
        hostname,
        sockets,
        audit_retention,
        link_instance,
    } = options;
    std::fs::create_dir_all(&state_dir).map_err(|source| AdmindError::SetupCode {
        path: state_dir.clone(),
        source,
    })?;
    let audit = Arc::new(mamori_core::audit::AuditLog::open(
        &mamori_core::audit::chain_dir(&state_dir, "admind"),
        8 << 20,
        10,
    )?);
    audit.set_retention(audit_retention)?;
    let names = vec![hostname.clone(), "localhost".to_string()];
    let files = admin.cert_file.as_deref().zip(admin.key_file.as_deref());
    let (cert, tls_config) = tls::load_or_make_any(files, &state_dir.join("tls"), &names)?;
    let https = mamori_core::listen::tcp(admin.listen).map_err(|source| AdmindError::Listen {
        addr: admin.listen,
        source,
    })?;
    let https_addr = https.local_addr().map_err(|source| AdmindError::Listen {
        addr: admin.listen,
        source,
    })?;
    let mut panel = Panel::open(
        &state_dir,
        cert.clone(),
        sockets,
        audit,
        hostname,
        https_addr.port(),
    )?;
    panel.sessions = std::sync::Mutex::new(mamori_panel::session::Sessions::with_reauth(
        admin.reauth_secs,
    ));
    panel.admin = RwLock::new(admin.clone());
    panel.cert_from_config = files.is_some();
    panel.link_instance = Some(link_instance);
    let panel = Arc::new(panel);
    let setup_code = if panel.needs_setup() {
        Some(setup_code(
            &panel,
            &state_dir,
            admin.setup_code_file.as_deref(),
        )?)
    } else {
        remove_code_files(&state_dir, admin.setup_code_file.as_deref());
        None
    };
    let activity = mamori_core::resident::Activity::new();
    let redirect = match admin.redirect_listen {
        Some(addr) => {
            let l = mamori_core::listen::tcp(addr)
                .map_err(|source| AdmindError::Listen { addr, source })?;
            let bound = l
                .local_addr()
                .map_err(|source| AdmindError::Listen { addr, source })?;
            tokio::spawn(server::serve_redirect(
                l,
                https_addr.port(),
                activity.clone(),
            ));
            Some(bound)
        }
        None => None,
    };
    let live: server::LiveTls = Arc::new(RwLock::new(tls_config));
    let _ = panel.live_tls.set(live.clone());
    if files.is_none() {
        tokio::spawn(renew_self_signed(
            panel.clone(),
            live.clone(),
            state_dir.join("tls"),
            names,
        ));
    }
    tokio::spawn(watchdog::run(panel.clone(), state_dir.clone()));
    tokio::spawn(server::serve_https(
        https,
        live,
        web::router(panel.clone()),
        activity.clone(),
    ));
    tokio::spawn(mamori_core::resident::release_when_idle(
        activity,
        server::IDLE_RELEASE,
    ));
    Ok((
        panel,
        Bound {
            https: https_addr,
            redirect,
            fingerprint: cert.fingerprint,
            setup_code,
        },
    ))
}

/// How often the self-signed certificate's end is looked at.
const RENEWAL_CHECK: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Keeps a self-signed certificate current while the panel runs for months: within
/// [`tls::RENEW_BEFORE_DAYS`] of its end it is made anew and served from the next
/// connection on (the audit log and the journal give the new fingerprint).
async fn renew_self_signed(
    panel: Arc<Panel>,
    live: server::LiveTls,
    dir: PathBuf,
    names: Vec<String>,
) {
    let mut every = tokio::time::interval(RENEWAL_CHECK);
    every.tick().await;
    loop {
        every.tick().await;
        let end = panel
            .cert
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .not_after_unix;
        let soon = mamori_core::clock::unix_now() + tls::RENEW_BEFORE_DAYS * 86_400;
        // An uploaded certificate is the administrator's to renew (the dashboard shows its end).
        let uploaded = tls::uploaded_paths(&dir).0.exists();
        if uploaded || end.is_some_and(|end| end > soon) {
            continue;
        }
        match tls::load_or_make(None, &dir, &names) {
            Ok((cert, config)) => {
                tracing::warn!(fingerprint = %cert.fingerprint, "the panel's self-signed certificate was renewed");
                panel.audit.record_or_log(
                    "panel_certificate_renewed",
                    serde_json::json!({"fingerprint": cert.fingerprint, "not_after": cert.not_after}),
                );
                *live.write().unwrap_or_else(|p| p.into_inner()) = config;
                *panel.cert.write().unwrap_or_else(|p| p.into_inner()) = cert;
                *state::lock(&panel.dashboard_cache) = None;
            }
            Err(e) => tracing::error!(error = %e, "renewing the panel's certificate failed"),
        }
    }
}

/// The setup code in force: the one kept from an earlier start (so the label or file the
/// office has stays right), else a new one, written to the state directory and the boot
/// partition's file.
fn setup_code(
    panel: &Panel,
    state_dir: &Path,
    boot_file: Option<&Path>,
) -> Result<String, AdmindError> {
    let kept = state_dir.join(CODE_FILE);
    let code = std::fs::read_to_string(&kept)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| mamori_panel::setup_code::normalize(s).is_some());
    let code = match code {
        Some(c) => c,
        None => {
            let c = mamori_panel::setup_code::generate().ok_or_else(|| AdmindError::SetupCode {
                path: kept.clone(),
                source: std::io::Error::other("no random source"),
            })?;
            tls::write_private(&kept, format!("{c}\n").as_bytes()).map_err(|source| {
                AdmindError::SetupCode {
                    path: kept.clone(),
                    source,
                }
            })?;
            c
        }
    };
    if let Some(file) = boot_file {
        let text = format!(
            "Mamori setup code / 初期設定コード: {code}\r\nOpen https://<this box's address>/ on the office LAN and enter it.\r\n事務所の LAN から https://<この箱のアドレス>/ を開き、このコードを入力してください。\r\n"
        );
        if let Err(e) = std::fs::write(file, text) {
            // The console and the journal still show it.
            tracing::warn!(file = %file.display(), error = %e, "could not write the setup code to the boot partition");
        }
    }
    let mut setup = state::lock(&panel.setup);
    setup.code = Some(code.clone());
    setup.code_files = std::iter::once(kept)
        .chain(boot_file.map(Path::to_path_buf))
        .collect();
    Ok(code)
}

fn remove_code_files(state_dir: &Path, boot_file: Option<&Path>) {
    let _ = std::fs::remove_file(state_dir.join(CODE_FILE));
    if let Some(f) = boot_file {
        let _ = std::fs::remove_file(f);
    }
}

/// The administrator exists: the setup code opens nothing any more and its files go.
pub(crate) fn setup_done(panel: &Panel) {
    let mut setup = state::lock(&panel.setup);
    setup.code = None;
    for file in std::mem::take(&mut setup.code_files) {
        let _ = std::fs::remove_file(file);
    }
}
