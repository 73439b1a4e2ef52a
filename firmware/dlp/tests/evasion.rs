//! The evasion corpus (`tests/evasion/`, see its README): mails built to get a valid My
//! Number or card number out past DLP, each of which must be stopped (held or rejected) by
//! the default policy when sent outside; and ordinary business mail full of look-alike
//! numbers, none of which may be held.
//!
//! A mail is stopped *for the right reason* when its key number is among the findings, or
//! when its content could not be fully read (or is encrypted) and the policy held it for
//! that. The classes whose content Mamori reads must be stopped by the number itself.

use std::path::{Path, PathBuf};

use mamori_dlp::policy::default_rules;
use mamori_dlp::{Action, Inspector, Limits, MailContext, Policy, Report, ScanConfig};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evasion")
}

struct Entry {
    file: String,
    expect: String,
    class: String,
    description: String,
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus().join("manifest.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Entry {
                file: cols[0].to_string(),
                expect: cols[1].to_string(),
                class: cols[2].to_string(),
                description: cols[3].to_string(),
            }
        })
        .collect()
}

/// The key number of an evasion mail (`[my_number=…]` or `[card=…]` at the end of its
/// description), masked as findings are: first four and last two digits kept.
fn key_mask(description: &str) -> Option<(String, String)> {
    let start = description.rfind('[')?;
    let inner = description.get(start + 1..description.len() - 1)?;
    let (_, digits) = inner.split_once('=')?;
    let digits: String = digits.chars().filter(char::is_ascii_digit).collect();
    Some((
        digits.get(..4)?.to_string(),
        digits.get(digits.len() - 2..)?.to_string(),
    ))
}

fn found_key(report: &Report, key: &(String, String)) -> bool {
    report.findings.iter().any(|f| {
        let digits: String = f
            .masked
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '*')
            .collect();
        digits.starts_with(&key.0) && digits.ends_with(&key.1)
    })
}

/// The classes whose content Mamori reads: their mails must be stopped by the number found,
/// not only as "not fully read".
const READ_CLASSES: &[&str] = &[
    "header-limit",
    "sniff",
    "zip-magic",
    "boundary",
    "filename",
    "employee-csv",
    "transfer-encoding",
    "container",
    "fake-media",
    "tar",
];

/// Mails of the read classes built past a limit on purpose: held as not fully read.
const BEYOND_LIMITS: &[&str] = &[
    // Twelve forwards as attachments: deeper than `limits.max_depth`.
    "mails/71-rfc822-nested-12.eml",
];

#[test]
fn every_evasion_mail_is_stopped_and_no_clean_mail_is_held() {
    let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
    let policy = Policy::new(&default_rules(&[]), &ScanConfig::default()).unwrap();
    let office = vec!["office.example.jp".to_string()];
    let mut failures = Vec::new();
    let (mut stopped, mut by_number, mut clean_passed) = (0, 0, 0);
    let entries = manifest();
    assert!(entries.iter().filter(|e| e.expect == "stop").count() >= 30);
    for entry in &entries {
        let raw = std::fs::read(corpus().join(&entry.file)).expect("mail");
        let report = inspector.inspect_message(&raw);
        let recipients = vec!["someone@client.example.com".to_string()];
        let decision = policy.decide(
            &report,
            &MailContext {
                sender: "taro@office.example.jp",
                recipients: &recipients,
                office_domains: &office,
                sender_verified: true,
            },
        );
        let stops = matches!(decision.action, Action::Hold | Action::Reject);
        let why = || {
            format!(
                "{} [{}] → {} {:?}; problems: {:?}",
                entry.file,
                entry.class,
                decision.action,
                decision.explain(),
                report
                    .problems
                    .iter()
                    .map(|p| format!("{} {}", p.kind, p.detail))
                    .collect::<Vec<_>>()
            )
        };
        match entry.expect.as_str() {
            "stop" => {
                let by_key = key_mask(&entry.description).is_some_and(|k| found_key(&report, &k));
                stopped += usize::from(stops);
                by_number += usize::from(stops && by_key);
                if !stops {
                    failures.push(format!("NOT STOPPED: {}", why()));
                } else if READ_CLASSES.contains(&entry.class.as_str())
                    && !by_key
                    && !(BEYOND_LIMITS.contains(&entry.file.as_str()) && report.not_fully_read())
                {
                    failures.push(format!("stopped without finding its number: {}", why()));
                }
            }
            _ => {
                clean_passed += usize::from(!stops);
                if stops {
                    failures.push(format!("CLEAN MAIL HELD: {}", why()));
                }
            }
        }
    }
    let total_stop = entries.iter().filter(|e| e.expect == "stop").count();
    let total_clean = entries.len() - total_stop;
    println!(
        "evasion: {stopped}/{total_stop} stopped ({by_number} by their number); clean: {clean_passed}/{total_clean} passed"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
