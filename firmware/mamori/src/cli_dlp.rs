//! `mamori dlp scan`: inspect messages or files the way the relay would, print the masked
//! findings and the verdict. Like grep, it exits 0 when something is found, 1 when
//! nothing is, 2 on error.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use mamori_dlp::{DlpConfig, Inspector, MailContext, Policy, Report};

use crate::cli_files::load_section;
use crate::cli_quarantine::print_findings;

/// The largest input read (a message or file), matching the relay's largest sensible
/// message; bigger inputs are refused rather than read into memory.
const MAX_INPUT: u64 = 256 << 20;

/// The recipient assumed when none is given: outside the office, so outbound rules apply.
const OUTSIDE: &str = "recipient@outside.invalid";

/// DLP tools.
#[derive(Subcommand)]
pub enum DlpAction {
    /// Scan messages (RFC 5322 files) or plain files and print findings and the verdict.
    Scan(ScanArgs),
}

/// Arguments of `mamori dlp scan`.
#[derive(Args)]
pub struct ScanArgs {
    /// A policy: a TOML file with the keys of the `[dlp]` section (or a whole Mamori
    /// configuration, whose `[dlp]` section is used). Default: the built-in policy.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Print one JSON object per input instead of text.
    #[arg(long)]
    json: bool,
    /// The envelope sender to judge with.
    #[arg(long, default_value = "")]
    from: String,
    /// Envelope recipients to judge with (repeatable). Default: one outside the office.
    #[arg(long = "to")]
    to: Vec<String>,
    /// The office's own domains (repeatable): recipients there are internal.
    /// (`--local-domain` is the old name.)
    #[arg(long = "office-domain", alias = "local-domain")]
    office_domains: Vec<String>,
    /// Files to scan; `-` is standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Reads the policy file: the `[dlp]` table of a full configuration, or the file itself.
fn load_policy(path: Option<&Path>) -> anyhow::Result<DlpConfig> {
    match path {
        Some(path) => load_section(path, "dlp", "the policy"),
        None => Ok(DlpConfig::default()),
    }
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("opening {}", path.display()))?
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_INPUT,
        "{} is larger than {} MiB",
        path.display(),
        MAX_INPUT >> 20
    );
    Ok(bytes)
}

/// Runs the scan over every input.
pub fn run(action: DlpAction) -> anyhow::Result<ExitCode> {
    let DlpAction::Scan(args) = action;
    let config = load_policy(args.policy.as_deref())?;
    let inspector = Inspector::new(&config.scan, config.limits.clone())
        .context("compiling the dictionary (dlp.scan.custom)")?;
    let policy = Policy::new(&config.effective_rules(), &config.scan)
        .context("compiling the rules (dlp.rules)")?;
    let recipients = if args.to.is_empty() {
        vec![OUTSIDE.to_string()]
    } else {
        args.to.clone()
    };
    let mail = MailContext {
        sender: &args.from,
        recipients: &recipients,
        office_domains: &args.office_domains,
        // The sender given on the command line is the one to judge as (exemptions apply).
        sender_verified: true,
    };
    let mut found = false;
    let mut failed = false;
    for path in &args.files {
        let bytes = match read_input(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("mamori dlp scan: {e:#}");
                failed = true;
                continue;
            }
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|_| path != Path::new("-"));
        let as_message = mamori_dlp::inspect::looks_like_message(&bytes);
        let report: Report = inspector.inspect(name, &bytes);
        let decision = policy.decide(&report, &mail);
        found |= !report.findings.is_empty() || !report.problems.is_empty();
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "file": path.display().to_string(),
                    "kind": if as_message { "message" } else { "file" },
                    "findings": report.findings,
                    "problems": report.problems,
                    "decision": decision,
                })
            );
            continue;
        }
        println!(
            "== {} ({})",
            path.display(),
            if as_message { "message" } else { "file" }
        );
        print_findings(&report.findings, &report.problems);
        match &decision.rule {
            Some(rule) => println!("verdict: {} (rule \"{rule}\")", decision.action),
            None => println!("verdict: {}", decision.action),
        }
        for line in decision.explain() {
            println!("  {line}");
        }
        if let (Some(en), Some(ja)) = (&decision.message_en, &decision.message_ja) {
            println!("  reply: 550 5.7.1 {en}");
            println!("  reply: 550 5.7.1 {ja}");
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
