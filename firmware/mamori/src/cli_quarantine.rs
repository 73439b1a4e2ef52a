//! `mamori quarantine …`: the messages DLP holds, through the relay's control socket.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use mamori_core::control::Response;
use mamori_dlp::{LocatedFinding, Problem};
use mamori_smtp::api::SmtpRequest;
use mamori_smtp::spool::DlpRecord;
use serde_json::Value;

use crate::cli_queue::call;

/// What to do with the quarantine.
#[derive(Subcommand)]
pub enum QuarantineAction {
    /// List held messages with the rule that held them.
    List,
    /// Show why a message is held: the rules, the findings (masked), the problems.
    Show {
        /// Queue ID.
        id: String,
    },
    /// Approve a held message: it is delivered (once; releasing again fails).
    Release {
        /// Queue ID.
        id: String,
    },
    /// Delete a held message without delivering it.
    Delete {
        /// Queue ID.
        id: String,
    },
    /// Refuse a held message: it is not delivered, and the sender gets a report saying so.
    Reject {
        /// Queue ID.
        id: String,
    },
    /// Read a held message's text (headers, bodies, attachments, as DLP read it); each
    /// view is recorded in the relay's audit log with who looked.
    View {
        /// Queue ID.
        id: String,
    },
    /// What is held by rule, and what DLP decided since the relay started: verdicts by
    /// action, and the findings of mail delivered all the same (logged only, such as a lone
    /// low-confidence My Number) by detector and confidence.
    Stats,
}

/// Sends the request and prints the answer; exit 1 when the daemon reports an error.
pub fn run(socket: &Path, action: QuarantineAction, json: bool) -> anyhow::Result<ExitCode> {
    let (req, kind) = match action {
        QuarantineAction::List => (SmtpRequest::QuarantineList, "list"),
        QuarantineAction::Show { id } => (SmtpRequest::QueueShow { id }, "show"),
        QuarantineAction::Release { id } => (SmtpRequest::QuarantineRelease { id }, "release"),
        QuarantineAction::Delete { id } => (SmtpRequest::QuarantineDelete { id }, "delete"),
        QuarantineAction::Reject { id } => (SmtpRequest::QuarantineReject { id }, "reject"),
        QuarantineAction::View { id } => (SmtpRequest::QuarantineContent { id }, "view"),
        QuarantineAction::Stats => (SmtpRequest::QuarantineStats, "stats"),
    };
    match call(socket, &req)? {
        Response::Ok { data } => {
            if json {
                println!("{data}");
            } else {
                match kind {
                    "list" => print_list(&data),
                    "show" => print_show(&data),
                    "stats" => print_stats(&data),
                    "view" => print_view(&data),
                    _ => println!("{}", serde_json::to_string(&data)?),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { kind, message } => {
            eprintln!("mamori quarantine: {message} ({kind})");
            Ok(ExitCode::from(1))
        }
    }
}

fn print_stats(data: &Value) {
    let count = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    println!("Held now: {}", count(data, "held"));
    if let Some(rules) = data.get("held_by_rule").and_then(Value::as_object) {
        for (rule, n) in rules {
            println!("  {n} × {rule}");
        }
    }
    let since = data.get("since_start").cloned().unwrap_or_default();
    println!(
        "Since the relay started: {} messages inspected",
        count(&since, "inspected")
    );
    if let Some(actions) = since.get("by_action").and_then(Value::as_object) {
        for (action, n) in actions {
            println!("  {action}: {n}");
        }
    }
    println!("  not fully read: {}", count(&since, "not_fully_read"));
    let passed = since
        .get("passed_findings")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !passed.is_empty() {
        println!("Findings in mail delivered all the same (tighten a rule if these are real):");
        for p in passed {
            println!(
                "  {} × {} ({} confidence)",
                count(p, "count"),
                text(p, "detector"),
                text(p, "confidence")
            );
        }
    }
}

fn print_view(data: &Value) {
    let view: mamori_smtp::dlp_stage::content_view::ContentView =
        serde_json::from_value(data.clone()).unwrap_or_default();
    for p in &view.pieces {
        println!(
            "== {} ({:?}){}",
            p.location,
            p.kind,
            if p.cut { " [cut]" } else { "" }
        );
        println!("{}", p.text);
    }
    for p in &view.problems {
        println!("problem: {p}");
    }
    if view.cut {
        println!("-- the rest is not shown (too long)");
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn print_list(data: &Value) {
    let items = data.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        println!("The quarantine is empty");
        return;
    }
    for m in items {
        println!(
            "{}  {}  <{}>  rule \"{}\"  {} finding(s), {} problem(s)",
            text(m, "id"),
            mamori_core::clock::rfc3339_utc(m.get("arrived").and_then(Value::as_u64).unwrap_or(0)),
            text(m, "from"),
            text(m, "rule"),
            m.get("findings").and_then(Value::as_u64).unwrap_or(0),
            m.get("problems").and_then(Value::as_u64).unwrap_or(0),
        );
        for r in m
            .get("recipients")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            println!("    {}", r.as_str().unwrap_or(""));
        }
    }
    println!("-- {} message(s) held", items.len());
}

fn print_show(env: &Value) {
    println!("id:      {}", text(env, "id"));
    println!("from:    <{}>", text(env, "mail_from"));
    for r in env
        .get("recipients")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        println!("to:      <{}>", text(r, "address"));
    }
    match env.get("held").and_then(Value::as_str) {
        Some(reason) => println!("held:    {reason}"),
        None => println!("held:    no (not in the quarantine)"),
    }
    let record = env
        .get("dlp")
        .cloned()
        .and_then(|d| serde_json::from_value::<DlpRecord>(d).ok());
    let Some(dlp) = record else {
        println!("dlp:     no rule applied");
        return;
    };
    println!("action:  {}", dlp.action);
    for line in &dlp.explanation {
        println!("  {line}");
    }
    print_findings(&dlp.findings, &dlp.problems);
}

/// Prints findings and problems one per line (masked excerpts only).
pub fn print_findings(findings: &[LocatedFinding], problems: &[Problem]) {
    for f in findings {
        println!(
            "finding: {} [{}] {} line {}: {}",
            f.detector_name(),
            f.confidence,
            f.location,
            f.line,
            f.masked
        );
    }
    for p in problems {
        println!("problem: {} at {}: {}", p.kind, p.location, p.detail);
    }
}
