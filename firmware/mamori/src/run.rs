//! Starting daemons: `mamori smtpd` and the try-out `mamori run`.

use std::path::PathBuf;

use anyhow::Context;
use mamori_settings::Config;
use mamori_smtp::pipeline::Pipeline;

/// Runs the relay until SIGTERM or SIGINT.
pub async fn smtpd(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.general.data_dir).with_context(|| {
        format!(
            "creating data directory {}",
            config.general.data_dir.display()
        )
    })?;
    let daemon = mamori_smtp::server::start(&config.relay(), Pipeline::new())
        .await
        .context("starting smtpd")?;
    tracing::info!(control = %daemon.bound.control.display(), "smtpd ready");
    // Type=notify: units ordered after smtpd start once every listener is bound.
    let listening: Vec<String> = daemon
        .bound
        .listeners
        .iter()
        .map(|(kind, addr)| format!("{kind} {addr}"))
        .collect();
    if let Err(e) = mamori_core::notify::ready(&format!("listening: {}", listening.join(", "))) {
        tracing::warn!(error = %e, "could not tell systemd that smtpd is ready");
    }
    wait_for_shutdown().await;
    tracing::info!("smtpd stopping; the spool keeps every accepted message");
    Ok(())
}

/// Runs the firewall daemon until SIGTERM or SIGINT. The table stays in the kernel when it
/// stops: the office keeps its firewall while the daemon restarts.
pub async fn firewalld(config: Config) -> anyhow::Result<()> {
    let data_dir = &config.general.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let audit = std::sync::Arc::new(
        mamori_core::audit::AuditLog::open(
            &mamori_core::audit::chain_dir(data_dir, "firewalld"),
            16 << 20,
            10,
        )
        .context("opening the audit log")?,
    );
    let daemon = mamori_firewalld::Firewalld::start(
        data_dir,
        config.firewall.clone(),
        mamori_firewalld::Netlink,
        audit,
    )?;
    let socket = mamori_firewalld::socket_path(data_dir);
    tracing::info!(control = %socket.display(), "firewalld ready");
    tokio::select! {
        r = mamori_firewalld::serve(daemon, socket) => r?,
        () = wait_for_shutdown() => tracing::info!("firewalld stopping; the table stays in force"),
    }
    Ok(())
}

/// The try-out configuration: every listener on 127.0.0.1 at unprivileged ports.
const TRY_OUT: &str = r#"
[general]
hostname = "mamori.localhost"

[[smtp.listeners]]
kind = "relay"
address = "127.0.0.1:2525"

[[smtp.listeners]]
kind = "submission"
address = "127.0.0.1:2587"

[[smtp.listeners]]
kind = "smtps"
address = "127.0.0.1:2465"
"#;

/// `mamori run`: the daemon set on the try-out configuration, printing where it listens.
pub async fn try_out(data_dir: PathBuf, extra: Option<PathBuf>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let data_dir = data_dir
        .canonicalize()
        .context("resolving the data directory")?;
    let base = data_dir.join("try-out.toml");
    std::fs::write(&base, TRY_OUT).context("writing the try-out configuration")?;
    let mut files = vec![base.as_path()];
    if let Some(e) = extra.as_deref() {
        files.push(e);
    }
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.push((
        "MAMORI__GENERAL__DATA_DIR".into(),
        data_dir.display().to_string(),
    ));
    let (config, report) = mamori_settings::load_with_env(&files, env)
        .and_then(|loaded| loaded.for_sections(&["general", "log", "smtp", "dlp"]))
        .context("loading the try-out configuration")?;
    mamori_core::logging::init(&config.log.level)?;
    report.log_warnings();
    let daemon = mamori_smtp::server::start(&config.relay(), Pipeline::new())
        .await
        .context("starting smtpd")?;
    println!(
        "Mamori is running (try-out configuration). Data: {}",
        data_dir.display()
    );
    for (kind, addr) in &daemon.bound.listeners {
        let what = match kind {
            mamori_smtp::settings::ListenerKind::Relay => "SMTP relay (no AUTH from 127.0.0.0/8)",
            mamori_smtp::settings::ListenerKind::Submission => "SMTP submission (STARTTLS + AUTH)",
            mamori_smtp::settings::ListenerKind::Smtps => "SMTP submission (implicit TLS + AUTH)",
        };
        println!("  {what:45} smtp://{addr}");
    }
    println!(
        "  {:45} {}",
        "queue control socket",
        daemon.bound.control.display()
    );
    println!(
        "  {:45} not built yet (HTTPS admin panel issue)",
        "admin panel"
    );
    println!(
        "  {:45} DLP on (built-in rules); audit log {}",
        "outgoing mail inspection",
        config
            .general
            .data_dir
            .join("audit/smtpd/audit.jsonl")
            .display()
    );
    println!(
        "  {:45} not started here (it would replace this machine's nftables); try `mamori fw check FILE`",
        "firewall"
    );
    println!(
        "No accounts exist: add one under [[smtp.accounts]] with a hash from `mamori hash-password`."
    );
    println!("Try: swaks --server 127.0.0.1:2525 --to someone@example.com   (Ctrl-C stops)");
    wait_for_shutdown().await;
    Ok(())
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
