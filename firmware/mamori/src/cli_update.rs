//! `mamori update`: the box's firmware updates through the update daemon's control socket
//! (status, check, install, install a file, restart), and `simulate-boot`, the boot loader's
//! choice made on a file-backed environment (tests and the try-out, where no boot loader runs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mamori_core::control::Response;

use crate::cli_queue::call;

/// What `mamori update` does.
#[derive(clap::Subcommand, Debug)]
pub enum UpdateAction {
    /// The running firmware and slot, the last check, what is on offer, the history.
    Status,
    /// Check the repository now.
    Check,
    /// Install the update on offer (or --target), then restart with --reboot.
    Install {
        /// A target's name instead of the one on offer.
        #[arg(long)]
        target: Option<String>,
        /// Restart into the new firmware when it is installed.
        #[arg(long)]
        reboot: bool,
    },
    /// Install from an offline update file (`mamori repo export`).
    InstallFile {
        /// The file (readable by the update daemon).
        path: PathBuf,
        /// Accept its metadata although expired (audited; signatures, versions and the
        /// board are still checked).
        #[arg(long)]
        accept_expired: bool,
        /// Restart into the new firmware when it is installed.
        #[arg(long)]
        reboot: bool,
    },
    /// Restart into the installed update now.
    Reboot,
    /// Tests and the try-out: what the boot loader does at power-on, on a file-backed
    /// environment — choose the slot, count the attempt, and write the kernel command line
    /// and a new boot id into the simulation directory.
    #[command(hide = true)]
    SimulateBoot {
        /// The environment file (`[update] boot_env = "file:…"`).
        #[arg(long)]
        env: PathBuf,
        /// The simulation directory (`[update] simulate`).
        #[arg(long)]
        sim: PathBuf,
    },
}

/// Runs `mamori update ACTION` against `socket`.
pub fn run(socket: &Path, action: UpdateAction, json: bool) -> anyhow::Result<ExitCode> {
    let request = match action {
        UpdateAction::SimulateBoot { env, sim } => return simulate_boot(&env, &sim),
        UpdateAction::Status => serde_json::json!({"op": "status"}),
        UpdateAction::Check => serde_json::json!({"op": "check"}),
        UpdateAction::Install { target, reboot } => {
            serde_json::json!({"op": "install", "target": target, "reboot": reboot, "wait": true})
        }
        UpdateAction::InstallFile {
            path,
            accept_expired,
            reboot,
        } => {
            let path = std::fs::canonicalize(&path).with_context(|| path.display().to_string())?;
            serde_json::json!({"op": "install_file", "path": path, "accept_expired": accept_expired, "reboot": reboot, "wait": true})
        }
        UpdateAction::Reboot => serde_json::json!({"op": "reboot"}),
    };
    match call(socket, &request)? {
        Response::Ok { data } => {
            if json {
                println!("{data}");
            } else {
                print_human(&request, &data);
            }
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { kind, message } => {
            eprintln!("mamori update: {message} ({kind})");
            Ok(ExitCode::from(1))
        }
    }
}

fn print_human(request: &serde_json::Value, data: &serde_json::Value) {
    if request["op"] != "status" {
        println!("{}", serde_json::to_string_pretty(data).unwrap_or_default());
        return;
    }
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    println!(
        "firmware {} on {} (slot {})",
        s(&data["release"]["version"]),
        s(&data["release"]["board"]),
        data["booted"].as_str().unwrap_or("?")
    );
    if let Some(b) = data["blocked"].as_str() {
        println!("updates blocked: {b}");
    }
    println!(
        "clock {}; expiry judged at {} ({})",
        if data["clock"]["synchronized"] == true {
            "synchronised"
        } else {
            "NOT synchronised"
        },
        s(&data["clock"]["judged_at"]),
        s(&data["clock"]["basis"])
    );
    match &data["last_check"] {
        serde_json::Value::Null => println!("not checked yet"),
        c if c["ok"] == true => println!("last check {}: ok", s(&c["time"])),
        c => println!(
            "last check {}: refused ({}): {}",
            s(&c["time"]),
            s(&c["kind"]),
            s(&c["error"])
        ),
    }
    match &data["available"] {
        serde_json::Value::Null => println!("no update on offer"),
        a => println!("on offer: {} ({} bytes)", s(&a["version"]), a["length"]),
    }
    if data["reboot_pending"] == true {
        println!("an installed update waits for a restart (`mamori update reboot`)");
    }
    for h in data["history"].as_array().into_iter().flatten().take(10) {
        println!(
            "  {} {} slot {} {} {}",
            mamori_core::clock::rfc3339_utc(h["time"].as_u64().unwrap_or(0)),
            s(&h["event"]),
            s(&h["slot"]),
            s(&h["version"]),
            s(&h["detail"])
        );
    }
}

fn simulate_boot(env_path: &Path, sim: &Path) -> anyhow::Result<ExitCode> {
    use mamori_update::bootenv::{BootEnv, file::FileEnv};
    use mamori_update::slots::BootState;
    let mut env = FileEnv::new(env_path);
    let mut vars = env.read().unwrap_or_default();
    let mut boot = BootState::from_vars(&vars)?;
    let slot = boot.boot().context("no slot in BOOT_ORDER")?;
    boot.apply(&mut vars);
    env.write(&vars)?;
    std::fs::create_dir_all(sim)?;
    std::fs::write(
        sim.join("cmdline"),
        format!("console=ttyAMA0 mamori.slot={slot}\n"),
    )?;
    let id: u64 = rand::random();
    std::fs::write(sim.join("boot_id"), format!("{id:016x}\n"))?;
    let _ = std::fs::remove_file(sim.join("reboot"));
    println!("booted slot {slot}");
    Ok(ExitCode::SUCCESS)
}
