//! Starting daemons: `mamori smtpd` and the try-out `mamori run`.

use std::path::PathBuf;

use anyhow::Context;
use mamori_settings::Config;
use mamori_smtp::pipeline::Pipeline;

/// Where a daemon reads the settings service: `--settings DIR` (the store) over the board's
/// `--defaults FILE`. Without it the daemon runs on its configuration file alone.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SettingsArgs {
    /// The settings store (the installed units pass /var/lib/mamori/settings).
    #[arg(long = "settings")]
    pub dir: Option<PathBuf>,
    /// The board's defaults file the settings lie over.
    #[arg(long)]
    pub defaults: Option<PathBuf>,
}

/// The settings a daemon starts on from the store, with their version.
pub struct InForce {
    /// The settings.
    pub config: Config,
    /// Their warnings.
    pub report: mamori_core::Report,
    /// The version (`None`: the store is empty and the file is in force).
    pub version: Option<u64>,
    /// The store, which `apply_settings` reads again.
    pub store: mamori_settings::store::Store,
}

impl SettingsArgs {
    /// The settings in force from the store, checked for `sections`; what the configuration
    /// file would change against them is logged (the store wins). `None` without `--settings`.
    pub fn in_force(
        &self,
        file: Option<&std::path::Path>,
        sections: &[&str],
    ) -> anyhow::Result<Option<InForce>> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        if !dir.exists() {
            tracing::warn!(
                store = %dir.display(),
                "no settings store yet: running on the configuration file (seed it with `mamori settings seed`)"
            );
            return Ok(None);
        }
        let store = mamori_settings::store::Store::open_read_only(dir, self.defaults.as_deref())
            .with_context(|| format!("opening the settings store {}", dir.display()))?;
        let Some(current) = store.current()? else {
            return Ok(Some(InForce {
                config: Config::default(),
                report: mamori_core::Report::default(),
                version: None,
                store,
            }));
        };
        let (config, mut report) = store
            .effective(&current.document)?
            .for_sections(sections)
            .with_context(|| format!("settings version {}", current.version))?;
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let document: toml::Table = text
                .parse()
                .with_context(|| format!("{} is not TOML", file.display()))?;
            for change in store.drift(&document)? {
                report.warn(
                    change.key,
                    change.after.unwrap_or_default(),
                    format!(
                        "{} differs from settings version {} (in force); not applied: change it with `mamori settings`",
                        file.display(),
                        current.version
                    ),
                );
            }
        }
        Ok(Some(InForce {
            config,
            report,
            version: Some(current.version),
            store,
        }))
    }
}

/// Where a daemon keeps its state and sockets is where it is installed (its configuration
/// file and its unit's environment say), not a setting of the box: a settings version
/// keeps the file's directories.
pub fn keep_installed_dirs(config: &mut Config, file_config: &Config) {
    config.general.data_dir = file_config.general.data_dir.clone();
    config.general.run_dir = file_config.general.run_dir.clone();
    config.general.links_dir = file_config.general.links_dir.clone();
}

impl SettingsArgs {
    /// The configuration a daemon runs on: the settings version in force for `sections`
    /// (with the file's directories, [`keep_installed_dirs`]) when there is a store, else the
    /// file's.
    pub fn config(
        &self,
        file: Option<&std::path::Path>,
        file_config: Config,
        sections: &[&str],
    ) -> anyhow::Result<Config> {
        Ok(self.config_and_version(file, file_config, sections)?.0)
    }

    /// As [`SettingsArgs::config`], with the settings version it is (`None`: the file's, or
    /// an empty store's).
    pub fn config_and_version(
        &self,
        file: Option<&std::path::Path>,
        file_config: Config,
        sections: &[&str],
    ) -> anyhow::Result<(Config, Option<u64>)> {
        Ok(match self.in_force(file, sections)? {
            Some(in_force) => {
                in_force.report.log_warnings();
                let mut config = in_force.config;
                keep_installed_dirs(&mut config, &file_config);
                (config, in_force.version)
            }
            None => (file_config, None),
        })
    }

    /// Where the panel reads each newer settings version's `[admin]` section
    /// ([`mamori_admind::follow`]); `None` without a store.
    fn admin_source(&self) -> Option<mamori_admind::follow::AdminSource> {
        let dir = self.dir.clone()?;
        let defaults = self.defaults.clone();
        Some(Box::new(move |seen| {
            let store = mamori_settings::store::Store::open_read_only(&dir, defaults.as_deref())
                .map_err(|e| e.to_string())?;
            let newest = store.versions().map_err(|e| e.to_string())?.last().copied();
            match newest {
                Some(v) if Some(v) > seen => {
                    // The store just opened, not a second opening through `load_sections`.
                    let (v, config) = store
                        .in_force(Some(v), mamori_settings::ADMIN_SECTIONS)
                        .map_err(|e| e.to_string())?;
                    Ok(Some((v, config.admin)))
                }
                _ => Ok(None),
            }
        }))
    }
}

/// Starts the relay on the settings store's version in force when there is one, else on
/// the configuration file. Where it keeps its state and sockets is where it is installed
/// (the file and its unit say), not a setting of the box.
async fn start_relay(
    file_config: &Config,
    in_force: Option<InForce>,
) -> anyhow::Result<mamori_smtp::server::Smtpd> {
    let (mut config, version, source) = match in_force {
        Some(s) => {
            s.report.log_warnings();
            let source: std::sync::Arc<dyn mamori_smtp::live::SettingsSource> =
                std::sync::Arc::new(mamori_settings::store::RelaySource::new(s.store));
            match s.version {
                Some(v) => {
                    tracing::info!(
                        version = v,
                        "running on the settings service's version in force"
                    );
                    (s.config, Some(v), Some(source))
                }
                None => {
                    tracing::warn!(
                        "the settings store is empty: running on the configuration file (seed it with `mamori settings seed`)"
                    );
                    (file_config.clone(), None, Some(source))
                }
            }
        }
        None => (file_config.clone(), None, None),
    };
    keep_installed_dirs(&mut config, file_config);
    std::fs::create_dir_all(&config.general.data_dir).with_context(|| {
        format!(
            "creating data directory {}",
            config.general.data_dir.display()
        )
    })?;
    mamori_smtp::server::start_with(&config.relay(), Pipeline::new(), version, source)
        .await
        .context("starting smtpd")
}

/// Runs the relay until SIGTERM or SIGINT.
pub async fn smtpd(file_config: Config, in_force: Option<InForce>) -> anyhow::Result<()> {
    let daemon = start_relay(&file_config, in_force).await?;
    tracing::info!(control = %daemon.bound.control.display(), "smtpd ready");
    // Type=notify: units ordered after smtpd start once every listener is bound.
    let listening: Vec<String> = daemon
        .bound
        .listeners
        .iter()
        .map(|(kind, addr)| format!("{kind} {addr}"))
        .collect();
    announce_ready("smtpd", &format!("listening: {}", listening.join(", ")));
    wait_for_shutdown().await;
    tracing::info!("smtpd stopping; the spool keeps every accepted message");
    stop_relay(&daemon).await;
    Ok(())
}

/// What the relay writes as it stops: the recipient domains learned in its last seconds
/// (their writes are paced). The spool needs nothing: every accepted message is on disk.
async fn stop_relay(daemon: &mamori_smtp::server::Smtpd) {
    let queue = daemon.queue.clone();
    let _ = tokio::task::spawn_blocking(move || queue.flush_learned_domains()).await;
}

/// Tells systemd that `daemon` serves (`Type=notify`: units ordered after it start now) and
/// gives back the pages its start-up alone used.
fn announce_ready(daemon: &str, status: &str) {
    if let Err(e) = mamori_core::notify::ready(status) {
        tracing::warn!(error = %e, daemon, "could not tell systemd that the daemon is ready");
    }
    mamori_core::resident::release_start_up(daemon);
}

/// Runs the firewall daemon until SIGTERM or SIGINT. The table stays in the kernel when it
/// stops: the office keeps its firewall while the daemon restarts.
pub async fn firewalld(config: Config, settings: SettingsArgs) -> anyhow::Result<()> {
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
    config.general.apply_audit_retention(&audit);
    let link = settings.dir.clone().map(|dir| {
        let defaults = settings.defaults.clone();
        let (load_dir, load_defaults) = (dir.clone(), defaults.clone());
        let load_audit = audit.clone();
        mamori_firewalld::SettingsLink {
            load: Box::new(move |version| {
                let (v, config) = mamori_settings::store::load_firewall_sections(
                    &load_dir,
                    load_defaults.as_deref(),
                    version,
                )?;
                // The version's audit retention goes with it.
                config.general.apply_audit_retention(&load_audit);
                Ok((v, config.firewall))
            }),
            revert: Box::new(move |model, why| {
                mamori_settings::store::record_firewall(
                    &dir,
                    defaults.as_deref(),
                    model,
                    "firewalld",
                    why,
                )
            }),
        }
    });
    // Which interface is LAN and which WAN for the fail-safe table: the board's defaults
    // file, never the settings (which may be what broke).
    let board = match &settings.defaults {
        Some(path) => {
            let layers =
                mamori_core::load::Layers::read(&[path.as_path()], std::iter::empty(), &[])
                    .with_context(|| format!("reading the board defaults {}", path.display()))?;
            let mut report = mamori_core::Report::default();
            let firewall: mamori_firewall::FirewallConfig = layers.section("firewall", &mut report);
            if !report.is_ok() {
                anyhow::bail!("the board defaults {}:\n{report}", path.display());
            }
            Some(firewall.zones)
        }
        None => None,
    };
    let daemon = mamori_firewalld::Firewalld::start_linked(
        data_dir,
        config.firewall.clone(),
        mamori_firewalld::Netlink,
        audit,
        link,
        board,
    )?;
    let socket = mamori_firewalld::socket_path(config.general.socket_dir());
    tracing::info!(control = %socket.display(), "firewalld ready");
    tokio::select! {
        r = mamori_firewalld::serve(daemon, socket) => r?,
        () = wait_for_shutdown() => tracing::info!("firewalld stopping; the table stays in force"),
    }
    Ok(())
}

/// Starts the settings service on the store in `dir`, its socket at `socket`.
async fn start_settingsd(
    dir: &std::path::Path,
    defaults: Option<&std::path::Path>,
    socket: &std::path::Path,
) -> anyhow::Result<()> {
    let store = mamori_settings::store::Store::open(dir, defaults)
        .with_context(|| format!("opening the settings store {}", dir.display()))?;
    let audit = std::sync::Arc::new(
        mamori_core::audit::AuditLog::open(
            &mamori_core::audit::chain_dir(dir, "settingsd"),
            8 << 20,
            10,
        )
        .context("opening the settings service's audit log")?,
    );
    let service = std::sync::Arc::new(
        mamori_settings::service::Service::new(store).with_request_audit(audit.clone()),
    );
    // Bind now so that the caller knows the socket is there.
    let socket = socket.to_path_buf();
    if let Some(parent) = socket.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let served = mamori_settings::service::serve(service, &socket, audit, Some(tx)).await;
        if let Err(e) = served {
            tracing::error!(socket = %socket.display(), error = %e, "the settings service stopped");
        }
    });
    rx.await
        .map_err(|_| anyhow::anyhow!("the settings service could not bind its socket"))?
        .context("binding the settings service's socket")
}

/// `mamori settingsd`: the settings service until SIGTERM or SIGINT.
pub async fn settingsd(
    dir: &std::path::Path,
    defaults: Option<&std::path::Path>,
    socket: &std::path::Path,
) -> anyhow::Result<()> {
    start_settingsd(dir, defaults, socket).await?;
    tracing::info!(socket = %socket.display(), store = %dir.display(), "settingsd ready");
    announce_ready("settingsd", "settings service ready");
    wait_for_shutdown().await;
    Ok(())
}

/// The daemons' sockets under `dir`: `<dir>/<daemon>/<name>` for the installed units'
/// run directories, or all in `dir` (the try-out).
pub fn sockets_in(dir: &std::path::Path, per_daemon: bool) -> mamori_admind::Sockets {
    let at = |daemon: &str| {
        if per_daemon {
            dir.join(daemon)
        } else {
            dir.to_path_buf()
        }
    };
    mamori_admind::Sockets {
        settings: mamori_settings::service::socket_path(&at("settingsd")),
        smtpd: mamori_smtp::server::control_socket_path(&at("smtpd")),
        firewalld: mamori_firewalld::socket_path(&at("firewalld")),
        updated: mamori_updated::socket_path(&at("updated")),
    }
}

/// Runs the update daemon on `config`'s `[update]` section until SIGTERM or SIGINT; its
/// health gate asks the relay and the firewall at `sockets`.
pub async fn updated(
    config: &Config,
    sockets: &mamori_admind::Sockets,
    settings: &SettingsArgs,
    try_out: bool,
) -> anyhow::Result<()> {
    if config.update.simulate.is_some()
        && !try_out
        && std::env::var("MAMORI_UPDATE_SIMULATE").as_deref() != Ok("1")
    {
        anyhow::bail!(
            "update.simulate is for the tests and the try-out only (it replaces the health checks and the restart); set MAMORI_UPDATE_SIMULATE=1 to use it"
        );
    }
    let reload: Option<mamori_updated::Reload> = settings.dir.clone().map(|dir| {
        let defaults = settings.defaults.clone();
        let reload: mamori_updated::Reload = Box::new(move |version| {
            let (v, c) = mamori_settings::store::load_sections(
                &dir,
                defaults.as_deref(),
                version,
                mamori_settings::UPDATED_SECTIONS,
            )?;
            let c = if try_out {
                try_out_update(&c).map_err(|e| e.to_string())?
            } else {
                c
            };
            Ok((v, c.update))
        });
        reload
    });
    let data_dir = &config.general.data_dir;
    let audit = std::sync::Arc::new(
        mamori_core::audit::AuditLog::open(
            &mamori_core::audit::chain_dir(data_dir, "updated"),
            16 << 20,
            10,
        )
        .context("opening the audit log")?,
    );
    config.general.apply_audit_retention(&audit);
    let platform: std::sync::Arc<dyn mamori_updated::platform::Platform> = match &config
        .update
        .simulate
    {
        Some(dir) => {
            tracing::warn!(dir = %dir.display(), "updates run on a SIMULATED system (tests, try-out)");
            std::sync::Arc::new(mamori_updated::platform::Simulated::new(dir))
        }
        None => std::sync::Arc::new(mamori_updated::platform::System),
    };
    let test_stop_after = std::env::var("MAMORI_UPDATE_TEST_STOP_AFTER")
        .ok()
        .and_then(|name| {
            mamori_update::install::Phase::ALL
                .into_iter()
                .find(|p| p.name() == name)
        });
    let options = mamori_updated::Options {
        config: config.update.clone(),
        dir: data_dir.join("update"),
        socket: mamori_updated::socket_path(config.general.socket_dir()),
        health_sockets: config
            .update
            .health_daemons
            .iter()
            .filter_map(|d| match d.as_str() {
                "smtpd" => Some((d.clone(), sockets.smtpd.clone())),
                "firewalld" => Some((d.clone(), sockets.firewalld.clone())),
                _ => None,
            })
            .collect(),
        platform,
        audit,
        test_stop_after,
        reload,
    };
    tokio::select! {
        r = mamori_updated::run(options) => r,
        () = wait_for_shutdown() => Ok(()),
    }
}

/// Starts the panel on `config`'s `[admin]` section; prints where it listens and, on first
/// boot, the setup code.
async fn start_admind(
    config: &Config,
    sockets: mamori_admind::Sockets,
) -> anyhow::Result<(std::sync::Arc<mamori_admind::Panel>, mamori_admind::Bound)> {
    mamori_admind::start(mamori_admind::Options {
        admin: config.admin.clone(),
        state_dir: config.general.data_dir.join("admind"),
        hostname: config.general.hostname.clone(),
        sockets,
        audit_retention: config.general.audit_retention(),
        link_instance: mamori_linkd::instance_path(&config.general.data_dir),
    })
    .await
    .context("starting the admin panel")
}

/// Starts the download service of link mode on `config`'s `[links]` section.
async fn start_linkd(config: &Config) -> anyhow::Result<mamori_linkd::Bound> {
    mamori_linkd::start(mamori_linkd::Options {
        links: config.links.clone(),
        link_url: config.encrypt.link_url.clone(),
        data_dir: config.general.data_dir.clone(),
        links_dir: config.general.links_dir(),
    })
    .await
    .context("starting the download service")
}

/// `mamori linkd`: the download service until SIGTERM or SIGINT.
pub async fn linkd(config: &Config) -> anyhow::Result<()> {
    let bound = start_linkd(config).await?;
    tracing::info!(https = %bound.https, fingerprint = %bound.fingerprint, "linkd ready");
    println!("Mamori download service: https://{}/", bound.https);
    println!("  certificate SHA-256 fingerprint: {}", bound.fingerprint);
    announce_ready("linkd", "download service listening");
    wait_for_shutdown().await;
    Ok(())
}

/// `mamori admind`: the panel until SIGTERM or SIGINT, on `config` (settings `version`
/// of the store in `settings`, whose later versions it follows, or the file's).
pub async fn admind(
    config: &Config,
    sockets: mamori_admind::Sockets,
    settings: &SettingsArgs,
    version: Option<u64>,
) -> anyhow::Result<()> {
    let (panel, bound) = start_admind(config, sockets).await?;
    if let Some(source) = settings.admin_source() {
        tokio::spawn(mamori_admind::follow::follow(panel, source, version));
    }
    tracing::info!(https = %bound.https, fingerprint = %bound.fingerprint, "admind ready");
    // The console (the unit writes to it) and the journal.
    println!("Mamori admin panel: https://{}/", bound.https);
    println!("  certificate SHA-256 fingerprint: {}", bound.fingerprint);
    if let Some(code) = &bound.setup_code {
        println!("  setup code (初期設定コード): {code}");
    }
    announce_ready("admind", "panel listening");
    wait_for_shutdown().await;
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

[admin]
listen = "127.0.0.1:8443"
redirect_listen = "127.0.0.1:8080"

[encrypt]
link_url = "https://mamori.localhost:8444"

[links]
listen = "127.0.0.1:8444"
"#;

/// The sections the try-out uses: the relay's, the panel's and the download service's.
const TRY_OUT_SECTIONS: &[&str] = &[
    "general", "log", "smtp", "dlp", "encrypt", "admin", "links", "update",
];

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
    let (file_config, report) = mamori_settings::load_with_env(&files, env)
        .and_then(|loaded| loaded.for_sections(TRY_OUT_SECTIONS))
        .context("loading the try-out configuration")?;
    mamori_core::logging::init(&file_config.log.level)?;
    // The try-out's settings service: seeded from the try-out configuration on the first
    // run; afterwards `mamori settings` changes it and the relay takes changes live.
    let store_dir = data_dir.join("settings");
    let store = mamori_settings::store::Store::open(&store_dir, None)
        .context("opening the try-out's settings store")?;
    let document = toml::Table::try_from(&file_config).context("the try-out configuration")?;
    store.seed(&document, "mamori run (try-out configuration)")?;
    let args = SettingsArgs {
        dir: Some(store_dir.clone()),
        defaults: None,
    };
    let in_force = args.in_force(None, mamori_smtp::settings::SECTIONS)?;
    let version = in_force.as_ref().and_then(|s| s.version);
    if version.is_none() {
        report.log_warnings();
    }
    drop(store);
    start_settingsd(
        &store_dir,
        None,
        &mamori_settings::service::socket_path(&data_dir),
    )
    .await?;
    let daemon = start_relay(&file_config, in_force).await?;
    let (_, panel) = start_admind(&file_config, sockets_in(&data_dir, false)).await?;
    let links = start_linkd(&file_config).await?;
    let update_config = try_out_update(&file_config)?;
    let update_sockets = sockets_in(&data_dir, false);
    let update_settings = SettingsArgs {
        dir: Some(store_dir.clone()),
        defaults: None,
    };
    tokio::spawn(async move {
        if let Err(e) = updated(&update_config, &update_sockets, &update_settings, true).await {
            tracing::error!(error = %e, "the update daemon stopped");
        }
    });
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
    println!("  {:45} https://{}/", "admin panel (HTTPS)", panel.https);
    if let Some(redirect) = panel.redirect {
        println!(
            "  {:45} http://{redirect}/",
            "  (plain HTTP: redirects to HTTPS)"
        );
    }
    println!(
        "  {:45} {}",
        "  certificate SHA-256 fingerprint", panel.fingerprint
    );
    if let Some(code) = &panel.setup_code {
        println!("  {:45} {code}", "  setup code (初期設定コード)");
    }
    println!(
        "  {:45} https://{}/ (serves link mode's downloads)",
        "download service (HTTPS)", links.https
    );
    println!(
        "  {:45} DLP on (built-in rules); audit log {}",
        "outgoing mail inspection",
        file_config
            .general
            .data_dir
            .join("audit/smtpd/audit.jsonl")
            .display()
    );
    println!(
        "  {:45} simulated A/B slots in {}; trusts the root at {} (a repository's metadata/1.root.json from `mamori repo init`), then an offline file (`mamori repo export`) can be uploaded in the panel",
        "firmware updates",
        data_dir.join("update-sim").display(),
        data_dir.join("update-root.json").display()
    );
    println!(
        "  {:45} not started here (it would replace this machine's nftables); try `mamori fw check FILE`",
        "firewall"
    );
    println!(
        "  {:45} version {} in {} (changes apply live: mamori settings --dir {} --data-dir {} set KEY=VALUE)",
        "settings",
        version.map_or_else(|| "-".to_string(), |v| v.to_string()),
        store_dir.display(),
        store_dir.display(),
        data_dir.display()
    );
    println!(
        "First visit: open the admin panel above and enter the setup code; its wizard adds the staff's relay accounts (or add [[smtp.accounts]] with a hash from `mamori hash-password`)."
    );
    println!("Try: swaks --server 127.0.0.1:2525 --to someone@example.com   (Ctrl-C stops)");
    wait_for_shutdown().await;
    stop_relay(&daemon).await;
    Ok(())
}

/// The try-out's update daemon: a simulated A/B system under the data directory (slot
/// files, a file boot environment, the kernel command line in a file), health judged by the
/// relay alone (no firewall runs here). The trust root is `update-root.json` there, when one
/// is put in place.
fn try_out_update(config: &Config) -> anyhow::Result<Config> {
    let dir = config.general.data_dir.join("update-sim");
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let first = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(&path, text).with_context(|| path.display().to_string())?;
        }
        Ok(())
    };
    first("cmdline", "mamori.slot=A\n")?;
    first("boot_id", "try-out\n")?;
    first("bootenv", "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n")?;
    let mut c = config.clone();
    c.update.simulate = Some(dir.clone());
    c.update.boot_env = format!("file:{}", dir.join("bootenv").display());
    c.update.root = config.general.data_dir.join("update-root.json");
    c.update.release = dir.join("release.json");
    c.update.health_daemons = vec!["smtpd".into()];
    c.update.health_units = Vec::new();
    for slot in ["A", "B"] {
        c.update.slots.insert(
            slot.into(),
            [("rootfs".to_string(), dir.join(format!("slot{slot}.img")))].into(),
        );
    }
    Ok(c)
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
