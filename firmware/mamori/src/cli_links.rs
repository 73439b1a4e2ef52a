//! `mamori links …`: link mode's download links through the relay's control socket — the
//! list with downloads, and revoking a link (its files are erased at once).

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use mamori_core::control::Response;
use mamori_smtp::api::SmtpRequest;

/// What to do with the links.
#[derive(Subcommand)]
pub enum LinksAction {
    /// List the links, newest first, with their files and downloads.
    List,
    /// Revoke a link: nothing more is downloaded from it, and its files are erased.
    Revoke {
        /// The link's id (32 hex digits, as `list` shows it).
        id: String,
    },
}

/// Sends one request and prints the answer; exit 1 when the relay reports an error.
pub fn run(socket: &Path, action: LinksAction, json: bool) -> anyhow::Result<ExitCode> {
    let (req, is_list) = match action {
        LinksAction::List => (SmtpRequest::LinkList, true),
        LinksAction::Revoke { id } => (SmtpRequest::LinkRevoke { id }, false),
    };
    match crate::cli_queue::call(socket, &req)? {
        Response::Ok { data } if json || !is_list => {
            println!("{data}");
            Ok(ExitCode::SUCCESS)
        }
        Response::Ok { data } => {
            print_list(&data);
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { kind, message } => {
            eprintln!("mamori links: {message} ({kind})");
            Ok(ExitCode::from(1))
        }
    }
}

fn print_list(data: &serde_json::Value) {
    let links = data.as_array().map(Vec::as_slice).unwrap_or_default();
    if links.is_empty() {
        println!("No download links");
        return;
    }
    for link in links {
        let s = |k: &str| link[k].as_str().unwrap_or_default().to_owned();
        println!(
            "{} {:8} <{}> {}",
            s("id"),
            s("state"),
            s("sender"),
            s("subject")
        );
        for file in link["files"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            println!(
                "    {} ({} octets): {} of {} downloads",
                file["name"].as_str().unwrap_or_default(),
                file["size"].as_u64().unwrap_or_default(),
                file["downloads"].as_u64().unwrap_or_default(),
                link["max_downloads"].as_u64().unwrap_or_default()
            );
        }
    }
    println!("-- {} link(s)", links.len());
}
