//! `mamori status`: every daemon's `health` answer on one screen (state, version, settings
//! version in force, since when, last error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mamori_core::control::{Health, Response};
use mamori_core::general::General;

use crate::cli_queue::call;

/// Where a daemon keeps its control socket in a directory.
pub type SocketIn = fn(&Path) -> PathBuf;

/// The daemons and the socket each keeps in a directory.
pub const DAEMONS: &[(&str, SocketIn)] = &[
    ("smtpd", mamori_smtp::server::control_socket_path),
    ("firewalld", mamori_firewalld::socket_path),
    ("updated", mamori_updated::socket_path),
];

/// Where `daemon`'s socket may be: the configured socket directory, the box's data
/// directory (the try-out) or the daemon's own under it, and the installed units' run
/// directory (`/run/mamori/<daemon>`).
pub fn find_socket(general: &General, daemon: &str, in_dir: SocketIn) -> Option<PathBuf> {
    let data_dir = &general.data_dir;
    [
        in_dir(general.socket_dir()),
        in_dir(data_dir),
        in_dir(&data_dir.join(daemon)),
        in_dir(&Path::new(mamori_core::general::RUN_DIR).join(daemon)),
        in_dir(Path::new(mamori_core::general::RUN_DIR)),
    ]
    .into_iter()
    .find(|p| p.exists())
}

/// Asks every daemon found for its health; exit 1 when one is not running as configured
/// or does not answer.
pub fn run(general: &General, json: bool) -> anyhow::Result<ExitCode> {
    let mut all_well = true;
    let mut rows = Vec::new();
    for (daemon, in_dir) in DAEMONS {
        let socket = find_socket(general, daemon, *in_dir);
        let row = match socket {
            None => {
                serde_json::json!({"daemon": daemon, "state": "not running", "last_error": "no control socket"})
            }
            Some(socket) => match call(&socket, &serde_json::json!({"op": "health"})) {
                Ok(Response::Ok { data }) => data,
                Ok(Response::Error { kind, message }) => {
                    serde_json::json!({"daemon": daemon, "state": "unhealthy", "last_error": format!("{message} ({kind})")})
                }
                Err(e) => {
                    serde_json::json!({"daemon": daemon, "state": "unreachable", "last_error": format!("{e:#}")})
                }
            },
        };
        all_well &= row["state"] == "running";
        rows.push(row);
    }
    if json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for row in &rows {
            match serde_json::from_value::<Health>(row.clone()) {
                Ok(h) => println!(
                    "{:10} {:9} version {} since {}, settings {}{}",
                    h.daemon,
                    h.state,
                    h.version,
                    h.started,
                    h.settings_version
                        .map_or_else(|| "from files".to_string(), |v| format!("version {v}")),
                    h.last_error.map(|e| format!("; {e}")).unwrap_or_default()
                ),
                Err(_) => println!(
                    "{:10} {:9} {}",
                    row["daemon"].as_str().unwrap_or("?"),
                    row["state"].as_str().unwrap_or("?"),
                    row["last_error"].as_str().unwrap_or("")
                ),
            }
        }
    }
    Ok(if all_well {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
