//! `mamori queue …`: a client of the relay's control socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use mamori_core::control::Response;
use mamori_smtp::api::SmtpRequest;

/// What to do with the queue.
#[derive(Subcommand)]
pub enum QueueAction {
    /// List queued messages.
    List,
    /// Show one message's envelope and per-recipient state.
    Show {
        /// Queue ID.
        id: String,
    },
    /// Hold a message.
    Hold {
        /// Queue ID.
        id: String,
    },
    /// Release a held message.
    Release {
        /// Queue ID.
        id: String,
    },
    /// Delete a message without delivering it.
    Delete {
        /// Queue ID.
        id: String,
    },
    /// Retry every deferred message now.
    Retry,
    /// Show the counters.
    Stats,
}

/// Sends one request and prints the answer; exit 1 when the daemon reports an error.
pub fn run(socket: &Path, action: QueueAction, json: bool) -> anyhow::Result<ExitCode> {
    let req = match action {
        QueueAction::List => SmtpRequest::QueueList,
        QueueAction::Show { id } => SmtpRequest::QueueShow { id },
        QueueAction::Hold { id } => SmtpRequest::QueueHold { id },
        QueueAction::Release { id } => SmtpRequest::QueueRelease { id },
        QueueAction::Delete { id } => SmtpRequest::QueueDelete { id },
        QueueAction::Retry => SmtpRequest::QueueRetry,
        QueueAction::Stats => SmtpRequest::Stats,
    };
    let is_list = matches!(req, SmtpRequest::QueueList);
    let response = call(socket, &req)?;
    match response {
        Response::Ok { data } => {
            if json {
                println!("{data}");
            } else if is_list {
                print_list(&data);
            } else {
                println!("{}", serde_json::to_string_pretty(&data)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { kind, message } => {
            eprintln!("mamori queue: {message} ({kind})");
            Ok(ExitCode::from(1))
        }
    }
}

/// Sends one request over the control socket and reads the answer.
pub fn call<R: serde::Serialize>(socket: &Path, req: &R) -> anyhow::Result<Response> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "connecting to the control socket {} (is the daemon running?)",
            socket.display()
        )
    })?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .context("reading the daemon's answer")?;
    serde_json::from_str(&answer).context("the daemon's answer is not valid")
}

fn print_list(data: &serde_json::Value) {
    let items = data.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        println!("Mail queue is empty");
        return;
    }
    for m in items {
        let s = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let flag = if m.get("held").is_some_and(|h| !h.is_null()) {
            "!"
        } else if m.get("active").and_then(|a| a.as_bool()).unwrap_or(false) {
            "*"
        } else {
            " "
        };
        println!(
            "{}{} {:>8} <{}>",
            s("id"),
            flag,
            m.get("size").and_then(|v| v.as_u64()).unwrap_or(0),
            s("from")
        );
        if let Some(err) = m.get("last_error").and_then(|v| v.as_str()) {
            println!("    ({err})");
        }
        for r in m
            .get("pending")
            .and_then(|v| v.as_array())
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            println!("    {}", r.as_str().unwrap_or(""));
        }
    }
    println!("-- {} message(s)", items.len());
}
