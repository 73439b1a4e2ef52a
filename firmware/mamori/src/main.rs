//! `mamori`: one multi-call binary for every daemon and tool of the box, so the flash
//! holds one copy of the shared code.

mod cli_boot_notice;
mod cli_dlp;
mod cli_files;
mod cli_fw;
mod cli_links;
mod cli_quarantine;
mod cli_queue;
mod cli_repo;
mod cli_settings;
mod cli_setup;
mod cli_status;
mod cli_time;
mod cli_update;
mod run;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Mamori security gateway.
#[derive(Parser)]
#[command(
    name = "mamori",
    version,
    about = "Mamori: an open mail and network security gateway for small offices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SMTP relay daemon.
    Smtpd {
        /// Configuration file (TOML); defaults and MAMORI__SECTION__KEY variables apply too.
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: run::SettingsArgs,
    },
    /// Manage the relay's queue through its control socket.
    Queue {
        #[command(flatten)]
        control: ControlArgs,
        #[command(subcommand)]
        action: cli_queue::QueueAction,
    },
    /// The firmware update repository on the build host: init, key, sign, add-target,
    /// publish, verify (a static TUF repository any web server serves).
    Repo {
        #[command(subcommand)]
        action: cli_repo::RepoAction,
    },
    /// Firmware updates through the update daemon: status, check, install, install-file,
    /// reboot.
    Update {
        #[command(flatten)]
        control: ControlArgs,
        #[command(subcommand)]
        action: cli_update::UpdateAction,
    },
    /// Run the update daemon (`[update]`): checks the repository, installs into the
    /// inactive slot, judges a new slot's health after the restart.
    Updated {
        /// Configuration file (`[update]`, `[general]`, `[log]`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: run::SettingsArgs,
        /// Where the daemons' sockets are whose health the gate asks
        /// (`<dir>/<daemon>/<daemon>.sock`; the try-out: the data directory).
        #[arg(long, default_value = mamori_core::general::RUN_DIR)]
        daemons_dir: PathBuf,
    },
    /// Link mode's download links through the relay's control socket: list, revoke.
    Links {
        #[command(flatten)]
        control: ControlArgs,
        #[command(subcommand)]
        action: cli_links::LinksAction,
    },
    /// Run the download service of link mode (`[links]`; the store under the data
    /// directory is the relay's).
    Linkd {
        /// Configuration file (`[links]`, `[encrypt]`, `[general]`, `[log]`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: run::SettingsArgs,
    },
    /// Manage the messages DLP holds (the quarantine) through the relay's control socket.
    Quarantine {
        #[command(flatten)]
        control: ControlArgs,
        #[command(subcommand)]
        action: cli_quarantine::QuarantineAction,
    },
    /// The setup wizard on the console (as the panel's): the panel's administrator, the
    /// office's domains, the LAN, the outgoing route (tried live), staff accounts; saved
    /// as one settings version only when confirmed. Answers may be piped.
    Setup {
        /// The settings store.
        #[arg(long, default_value = cli_settings::DEFAULT_DIR)]
        dir: PathBuf,
        /// The board's defaults file the settings lie over.
        #[arg(long)]
        defaults: Option<PathBuf>,
        /// Where the running daemons' sockets are (default: the settings' general.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The panel's state directory, for its administrator (default: DATA_DIR/admind).
        #[arg(long)]
        panel_dir: Option<PathBuf>,
        /// The language of the questions: ja (default) or en.
        #[arg(long, default_value = "ja")]
        lang: String,
    },
    /// First boot: the panel's address, certificate fingerprint and setup code on the
    /// console and in a file on the boot partition (root, `mamori-boot-notice.service`);
    /// the file is removed once the panel has its administrator.
    BootNotice {
        /// The panel's state directory.
        #[arg(long, default_value = "/var/lib/mamori/admind")]
        panel_dir: PathBuf,
        /// The file on the boot (FAT) partition.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The panel's address as the office reaches it (the board's LAN address).
        #[arg(long, default_value = "")]
        url: String,
    },
    /// Apply the `[time]` settings (root, from `mamori-time.path`): the timesyncd drop-in,
    /// timesyncd on or off, and a pending request to set the clock.
    TimeApply {
        /// The settings store.
        #[arg(long, default_value = cli_settings::DEFAULT_DIR)]
        dir: PathBuf,
        /// The board's defaults file the settings lie over.
        #[arg(long)]
        defaults: Option<PathBuf>,
        /// The timesyncd drop-in to write.
        #[arg(long, default_value = cli_time::DEFAULT_DROPIN)]
        dropin: PathBuf,
        /// Only write the files (an image being built, a chroot): no systemctl.
        #[arg(long)]
        offline: bool,
    },
    /// Data-loss prevention tools: `mamori dlp scan FILE...` tries the policy on files.
    Dlp {
        #[command(subcommand)]
        action: cli_dlp::DlpAction,
    },
    /// Run the firewall daemon: owns the nftables table `inet mamori` (needs CAP_NET_ADMIN).
    Firewalld {
        /// Configuration file (its `[firewall]` section is the model until one is confirmed).
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: run::SettingsArgs,
    },
    /// Run the settings service: the one writer of the settings store that the admin panel
    /// (and any member of the admin group) reaches through its control socket.
    Settingsd {
        /// The settings store.
        #[arg(long, default_value = cli_settings::DEFAULT_DIR)]
        dir: PathBuf,
        /// The board's defaults file the settings lie over.
        #[arg(long)]
        defaults: Option<PathBuf>,
        /// Configuration file (its `[general]` says where the socket goes, `[log]` the level).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the admin panel: HTTPS on the LAN (plain HTTP only redirects), no privilege of
    /// its own; it acts through the settings service and the daemons' control sockets.
    Admind {
        /// Configuration file (`[admin]`, `[general]`, `[log]`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Where the daemons' sockets are: `<dir>/<daemon>/<daemon>.sock`.
        #[arg(long, default_value = mamori_core::general::RUN_DIR)]
        daemons_dir: PathBuf,
        #[command(flatten)]
        settings: run::SettingsArgs,
    },
    /// The firewall: check a model, apply it on probation, confirm, roll back, status, sets.
    Fw {
        #[command(flatten)]
        control: ControlArgs,
        #[command(subcommand)]
        action: cli_fw::FwAction,
    },
    /// The box's live settings: get, set, unset, apply, diff, history, rollback, seed.
    Settings {
        /// The settings store.
        #[arg(long, default_value = cli_settings::DEFAULT_DIR)]
        dir: PathBuf,
        /// The board's defaults file the settings lie over.
        #[arg(long)]
        defaults: Option<PathBuf>,
        /// Where the running daemons' sockets are (default: the settings' general.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: cli_settings::SettingsAction,
    },
    /// Every daemon's health: state, version, settings version in force, last error.
    Status {
        /// Configuration file, to find the data directory.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every audit chain (each daemon keeps its own under `<data_dir>/audit/<daemon>`):
    /// every record present and unchanged.
    AuditVerify {
        /// Configuration file, to find the data directory.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The directory to search for chains (overrides the configuration's data directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Start the whole daemon set on a built-in try-out configuration (unprivileged
    /// ports on 127.0.0.1, state under ./mamori-data) and print where it listens.
    Run {
        /// Data directory.
        #[arg(long, default_value = "mamori-data")]
        data_dir: PathBuf,
        /// Extra configuration file layered over the try-out defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Read a password from standard input and print its Argon2id hash for `smtp.accounts`
    /// (the box's password policy applies: 12 characters or more, not a common one).
    HashPassword,
    /// Check a configuration file: print every error and warning (exit 2 on any error),
    /// else the effective configuration.
    CheckConfig {
        /// The file.
        config: PathBuf,
    },
}

/// The sections `mamori smtpd` uses: errors elsewhere do not stop it.
const SMTPD_SECTIONS: &[&str] = mamori_smtp::settings::SECTIONS;
/// The sections `mamori firewalld` uses.
const FIREWALLD_SECTIONS: &[&str] = mamori_settings::FIREWALL_SECTIONS;
/// The sections the tools that only look for the data directory use.
const TOOL_SECTIONS: &[&str] = &["general"];
/// The sections the settings service uses for itself.
const SETTINGSD_SECTIONS: &[&str] = &["general", "log"];

/// Loads the configuration for a program that uses `sections`: refused with every error in
/// them; the report's warnings are for the caller to log once logging is up.
fn load_config(
    path: Option<&PathBuf>,
    sections: &[&str],
) -> anyhow::Result<(mamori_settings::Config, mamori_core::Report)> {
    let files: Vec<&std::path::Path> = path.map(|p| p.as_path()).into_iter().collect();
    let context = || match path {
        Some(p) => format!("loading configuration from {}", p.display()),
        None => "loading configuration".to_string(),
    };
    mamori_settings::load(&files)
        .and_then(|loaded| loaded.for_sections(sections))
        .with_context(context)
}

/// The options of the commands that talk to a daemon over its control socket (`queue`,
/// `quarantine`, `fw`).
#[derive(clap::Args)]
struct ControlArgs {
    /// Configuration file, to find the data directory.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The daemon's control socket (overrides the one found from the configuration).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Print raw JSON.
    #[arg(long)]
    json: bool,
}

impl ControlArgs {
    /// The socket given, or the one `in_dir` places in the configuration's socket
    /// directory (`general.run_dir`, else the data directory).
    fn socket(&self, in_dir: fn(&std::path::Path) -> PathBuf) -> anyhow::Result<PathBuf> {
        match &self.socket {
            Some(s) => Ok(s.clone()),
            None => Ok(in_dir(
                load_config(self.config.as_ref(), TOOL_SECTIONS)?
                    .0
                    .general
                    .socket_dir(),
            )),
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mamori: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Smtpd { config, settings } => {
            let (file_config, report) = load_config(config.as_ref(), SMTPD_SECTIONS)?;
            let in_force = settings.in_force(config.as_deref(), SMTPD_SECTIONS)?;
            let level = match &in_force {
                Some(s) => s.config.log.level.clone(),
                None => file_config.log.level.clone(),
            };
            mamori_core::logging::init(&level)?;
            report.log_warnings();
            runtime()?.block_on(run::smtpd(file_config, in_force))?;
        }
        Command::Queue { control, action } => {
            let socket = control.socket(mamori_smtp::server::control_socket_path)?;
            return cli_queue::run(&socket, action, control.json);
        }
        Command::Repo { action } => return cli_repo::run(action),
        Command::Update { control, action } => {
            let socket = match &action {
                cli_update::UpdateAction::SimulateBoot { .. } => PathBuf::new(),
                _ => control.socket(mamori_updated::socket_path)?,
            };
            return cli_update::run(&socket, action, control.json);
        }
        Command::Updated {
            config,
            settings,
            daemons_dir,
        } => {
            let (file_config, report) =
                load_config(config.as_ref(), mamori_settings::UPDATED_SECTIONS)?;
            mamori_core::logging::init(&file_config.log.level)?;
            report.log_warnings();
            let config = settings.config(
                config.as_deref(),
                file_config,
                mamori_settings::UPDATED_SECTIONS,
            )?;
            let sockets = run::sockets_in(&daemons_dir, true);
            runtime()?.block_on(run::updated(&config, &sockets, &settings, false))?;
        }
        Command::Links { control, action } => {
            let socket = control.socket(mamori_smtp::server::control_socket_path)?;
            return cli_links::run(&socket, action, control.json);
        }
        Command::Linkd { config, settings } => {
            let (file_config, report) =
                load_config(config.as_ref(), mamori_settings::LINKD_SECTIONS)?;
            mamori_core::logging::init(&file_config.log.level)?;
            report.log_warnings();
            let config = settings.config(
                config.as_deref(),
                file_config,
                mamori_settings::LINKD_SECTIONS,
            )?;
            runtime()?.block_on(run::linkd(&config))?;
        }
        Command::Quarantine { control, action } => {
            let socket = control.socket(mamori_smtp::server::control_socket_path)?;
            return cli_quarantine::run(&socket, action, control.json);
        }
        Command::Setup {
            dir,
            defaults,
            data_dir,
            panel_dir,
            lang,
        } => {
            let lang = match lang.as_str() {
                "ja" => mamori_panel::i18n::Lang::Ja,
                "en" => mamori_panel::i18n::Lang::En,
                other => anyhow::bail!("--lang {other:?}: use ja or en"),
            };
            let places = cli_setup::Places {
                store: &dir,
                defaults: defaults.as_deref(),
                data_dir: data_dir.as_deref(),
                panel_dir: panel_dir.as_deref(),
            };
            return cli_setup::run(&places, lang);
        }
        Command::BootNotice {
            panel_dir,
            file,
            url,
        } => {
            cli_boot_notice::run(&panel_dir, file.as_deref(), &url)?;
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::TimeApply {
            dir,
            defaults,
            dropin,
            offline,
        } => return cli_time::run(&dir, defaults.as_deref(), &dropin, offline),
        Command::Dlp { action } => return cli_dlp::run(action),
        Command::Fw { control, action } => {
            // `fw check` talks to no daemon.
            let socket = match (&control.socket, &action) {
                (None, cli_fw::FwAction::Check { .. }) => PathBuf::new(),
                _ => control.socket(mamori_firewalld::socket_path)?,
            };
            return cli_fw::run(action, &socket, control.json);
        }
        Command::Firewalld { config, settings } => {
            let (config, report) = load_config(config.as_ref(), FIREWALLD_SECTIONS)?;
            mamori_core::logging::init(&config.log.level)?;
            report.log_warnings();
            runtime()?.block_on(run::firewalld(config, settings))?;
        }
        Command::Settingsd {
            dir,
            defaults,
            config,
        } => {
            let (config, report) = load_config(config.as_ref(), SETTINGSD_SECTIONS)?;
            mamori_core::logging::init(&config.log.level)?;
            report.log_warnings();
            let socket = mamori_settings::service::socket_path(config.general.socket_dir());
            runtime()?.block_on(run::settingsd(&dir, defaults.as_deref(), &socket))?;
        }
        Command::Admind {
            config,
            daemons_dir,
            settings,
        } => {
            let (file_config, report) =
                load_config(config.as_ref(), mamori_settings::ADMIN_SECTIONS)?;
            mamori_core::logging::init(&file_config.log.level)?;
            report.log_warnings();
            let (config, version) = settings.config_and_version(
                config.as_deref(),
                file_config,
                mamori_settings::ADMIN_SECTIONS,
            )?;
            let sockets = run::sockets_in(&daemons_dir, true);
            runtime()?.block_on(run::admind(&config, sockets, &settings, version))?;
        }
        Command::AuditVerify { config, dir } => {
            let root = match dir {
                Some(d) => d,
                None => {
                    load_config(config.as_ref(), TOOL_SECTIONS)?
                        .0
                        .general
                        .data_dir
                }
            };
            let chains = mamori_core::audit::find_chains(&root);
            anyhow::ensure!(
                !chains.is_empty(),
                "no audit chain under {}",
                root.display()
            );
            let mut broken = 0;
            for chain in &chains {
                match mamori_core::audit::verify(chain) {
                    Ok(n) => println!("audit chain intact: {n} record(s) in {}", chain.display()),
                    Err(e) => {
                        broken += 1;
                        println!("audit chain BROKEN in {}: {e}", chain.display());
                    }
                }
            }
            if broken > 0 {
                return Ok(std::process::ExitCode::from(1));
            }
        }
        Command::Settings {
            dir,
            defaults,
            data_dir,
            action,
        } => return cli_settings::run(&dir, defaults.as_deref(), data_dir.as_deref(), action),
        Command::Status { config, json } => {
            let general = load_config(config.as_ref(), TOOL_SECTIONS)?.0.general;
            return cli_status::run(&general, json);
        }
        Command::Run { data_dir, config } => {
            runtime()?.block_on(run::try_out(data_dir, config))?;
        }
        Command::HashPassword => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            if let Err(problem) = mamori_core::password::check(password, &[]) {
                anyhow::bail!("refused: {problem}");
            }
            println!(
                "{}",
                mamori_smtp::inbound::accounts::hash_password(password)?
            );
        }
        Command::CheckConfig { config } => return check_config(&config),
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// `mamori check-config FILE`: every error and warning at once, each with its key, value and
/// reason, on standard error; exit 2 on any error, else the effective configuration as JSON
/// on standard output.
fn check_config(path: &std::path::Path) -> anyhow::Result<std::process::ExitCode> {
    let loaded = mamori_settings::load(&[path])
        .with_context(|| format!("loading configuration from {}", path.display()))?;
    let report = &loaded.report;
    if !report.warnings.is_empty() || !report.errors.is_empty() {
        eprintln!("{report}");
    }
    if !report.is_ok() {
        eprintln!(
            "{}: {} error(s), {} warning(s)",
            path.display(),
            report.errors.len(),
            report.warnings.len()
        );
        return Ok(std::process::ExitCode::from(2));
    }
    println!("{}", serde_json::to_string_pretty(&loaded.config)?);
    Ok(std::process::ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
