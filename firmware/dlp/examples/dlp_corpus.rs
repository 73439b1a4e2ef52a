//! The DLP bench corpus as a file, and `Scanner::scan` over a file, for comparing Mamori's
//! scanning with other tools on the same bytes (`ci/bench-dlp` compares it with ripgrep).
//!
//! ```text
//! dlp_corpus write PATH [MB]
//!     Writes the bench's generated corpus (MB MiB, default 32; 4 is the bench's own corpus).
//! dlp_corpus scan PATH [--rules N] [--iterations N] [--max-findings N|unlimited]
//!     Reads PATH (UTF-8), builds a Scanner with the built-in detectors and the bench's first
//!     N custom rules (default 0; the bench uses 100), scans the whole text N times (default
//!     3) and prints the throughput, the findings per detector and the peak RSS.
//!     --max-findings N|unlimited overrides the per-detector cap (default: the configuration
//!     default, 1000); past the cap a detector stops validating, so a comparison with a tool
//!     that counts every match wants `unlimited`.
//! dlp_corpus patterns N
//!     Prints the bench's first N custom rules as regular expressions, one per line, as the
//!     dictionary compiles them (keywords escaped, wildcards translated, word boundaries
//!     ASCII-only): the same patterns for a tool to count.
//! ```
//!
//! Throughput is in MB/s of the file's bytes (1 MB = 10^6 bytes) and times `Scanner::scan`
//! alone (normalisation included, reading the file and compiling the dictionary excluded).
//! The last line is for scripts: `RESULT key=value ...`.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mamori_dlp::{DetectorKind, Finding, ScanConfig, Scanner, normalize};

#[path = "../benches/corpus/mod.rs"]
mod corpus;

const USAGE: &str = "usage: dlp_corpus write PATH [MB]\n       \
                     dlp_corpus scan PATH [--rules N] [--iterations N] [--max-findings N|unlimited]\n       \
                     dlp_corpus patterns N";

/// The corpus size `write` uses when none is given, in MiB.
const DEFAULT_MB: usize = 32;
/// How many times `scan` scans when not told.
const DEFAULT_ITERATIONS: usize = 3;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dlp_corpus: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") => write(args.get(1..).unwrap_or_default()),
        Some("scan") => scan(args.get(1..).unwrap_or_default()),
        Some("patterns") => patterns(args.get(1..).unwrap_or_default()),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

fn number(what: &str, value: Option<&String>) -> Result<usize> {
    let value = value.ok_or_else(|| format!("{what} needs a value\n{USAGE}"))?;
    value
        .parse()
        .map_err(|e| format!("{what} {value:?}: {e}\n{USAGE}").into())
}

fn write(args: &[String]) -> Result<()> {
    let [path, rest @ ..] = args else {
        return Err(USAGE.into());
    };
    let mb = match rest {
        [] => DEFAULT_MB,
        [mb] => number("MB", Some(mb))?,
        _ => return Err(USAGE.into()),
    };
    let bytes = mb.checked_mul(1 << 20).ok_or("MB is too large")?;
    let text = corpus::corpus(bytes);
    std::fs::write(path, &text).map_err(|e| format!("writing {path}: {e}"))?;
    println!("wrote {path}: {} bytes", text.len());
    Ok(())
}

/// Prints the first N custom rules of the bench as the dictionary's regular expressions.
fn patterns(args: &[String]) -> Result<()> {
    let [count] = args else {
        return Err(USAGE.into());
    };
    let rules = corpus::custom_rules(number("N", Some(count))?);
    let dictionary = mamori_dlp::detectors::custom::Dictionary::compile(
        &rules,
        mamori_dlp::detectors::custom::DEFAULT_REGEX_SIZE_LIMIT,
    )?;
    for pattern in dictionary.rule_patterns() {
        println!("{pattern}");
    }
    Ok(())
}

/// What `scan` was asked to do.
struct ScanArgs {
    path: String,
    rules: usize,
    iterations: usize,
    max_findings: Option<usize>,
}

fn scan_args(args: &[String]) -> Result<ScanArgs> {
    let mut parsed = ScanArgs {
        path: String::new(),
        rules: 0,
        iterations: DEFAULT_ITERATIONS,
        max_findings: None,
    };
    let mut path = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rules" => parsed.rules = number(arg, args.next())?,
            "--iterations" => parsed.iterations = number(arg, args.next())?.max(1),
            "--max-findings" if args.as_slice().first().is_some_and(|v| v == "unlimited") => {
                args.next();
                parsed.max_findings = Some(usize::MAX);
            }
            "--max-findings" => parsed.max_findings = Some(number(arg, args.next())?),
            flag if flag.starts_with('-') => return Err(format!("unknown {flag}\n{USAGE}").into()),
            _ if path.is_none() => path = Some(arg.clone()),
            _ => return Err(USAGE.into()),
        }
    }
    parsed.path = path.ok_or(USAGE)?;
    Ok(parsed)
}

/// Megabytes (10^6 bytes) per second.
fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// The peak resident set size of this process so far, in KiB (`VmHWM`), if Linux tells.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Findings per detector, custom rules counted together (when there are `rules`), e-mail
/// lists with their size.
fn summary(findings: &[Finding], rules: usize) -> String {
    let mut counts: BTreeMap<DetectorKind, usize> = BTreeMap::new();
    let mut custom = 0;
    let mut custom_rules = BTreeSet::new();
    for finding in findings {
        match finding.detector {
            DetectorKind::Custom { rule } => {
                custom += 1;
                custom_rules.insert(rule);
            }
            kind => *counts.entry(kind).or_default() += 1,
        }
    }
    let mut parts: Vec<String> = [
        DetectorKind::MyNumber,
        DetectorKind::CorporateNumber,
        DetectorKind::CreditCard,
        DetectorKind::Phone,
    ]
    .iter()
    .map(|kind| format!("{kind} {}", counts.get(kind).copied().unwrap_or(0)))
    .collect();
    let list = findings
        .iter()
        .find(|f| f.detector == DetectorKind::EmailList)
        .map_or(String::new(), |f| format!(" ({})", f.masked));
    parts.push(format!(
        "email_list {}{list}",
        counts.get(&DetectorKind::EmailList).copied().unwrap_or(0)
    ));
    if rules > 0 {
        parts.push(format!(
            "custom {custom} (from {} rules)",
            custom_rules.len()
        ));
    }
    parts.join(", ")
}

fn scan(args: &[String]) -> Result<()> {
    let args = scan_args(args)?;
    let text =
        std::fs::read_to_string(&args.path).map_err(|e| format!("reading {}: {e}", args.path))?;
    let mut config = ScanConfig::default();
    config.custom.rules = corpus::custom_rules(args.rules);
    if let Some(max) = args.max_findings {
        config.max_findings_per_detector = max;
    }
    let scanner = Scanner::new(&config)?;
    println!(
        "dlp_corpus scan {}: {} bytes, built-in detectors + {} custom rules, at most {} \
         findings per detector, {} scans",
        args.path,
        text.len(),
        config.custom.rules.len(),
        config.max_findings_per_detector,
        args.iterations
    );

    // The text and the compiled scanner, before any scan.
    let rss_before = peak_rss_kib();
    let mut times = Vec::with_capacity(args.iterations);
    let mut findings = Vec::new();
    for i in 1..=args.iterations {
        // Only one scan's findings alive at a time, so the peak is one scan's.
        drop(std::mem::take(&mut findings));
        let started = Instant::now();
        let found = std::hint::black_box(scanner.scan(std::hint::black_box(&text)));
        let time = started.elapsed();
        println!(
            "scan {i}: {:.3} s = {:.1} MB/s, {} findings",
            time.as_secs_f64(),
            mb_per_s(text.len(), time),
            found.len()
        );
        times.push(time);
        findings = found;
    }
    // Peak memory of the scans, before the extra normalisation pass below.
    let rss = peak_rss_kib();

    let started = Instant::now();
    let normalized = std::hint::black_box(normalize(std::hint::black_box(&text)));
    let normalize_time = started.elapsed();
    drop(normalized);

    let best = times.iter().min().copied().unwrap_or_default();
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    println!(
        "findings: {}",
        summary(&findings, config.custom.rules.len())
    );
    println!(
        "normalisation alone: {:.3} s = {:.1} MB/s ({:.0}% of the best scan)",
        normalize_time.as_secs_f64(),
        mb_per_s(text.len(), normalize_time),
        100.0 * normalize_time.as_secs_f64() / best.as_secs_f64()
    );
    let mib = |kib: Option<u64>| {
        kib.map_or("unknown".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    let rss_text = format!(
        "{} ({} before scanning: the text read, the scanner built)",
        mib(rss),
        mib(rss_before)
    );
    println!(
        "best {:.1} MB/s, mean {:.1} MB/s, peak RSS {rss_text}",
        mb_per_s(text.len(), best),
        mb_per_s(text.len(), mean)
    );
    println!(
        "RESULT bytes={} rules={} best_s={:.6} mb_s={:.2} mean_mb_s={:.2} findings={} \
         peak_rss_kib={} rss_before_scan_kib={}",
        text.len(),
        config.custom.rules.len(),
        best.as_secs_f64(),
        mb_per_s(text.len(), best),
        mb_per_s(text.len(), mean),
        findings.len(),
        rss.map_or("unknown".to_string(), |kib| kib.to_string()),
        rss_before.map_or("unknown".to_string(), |kib| kib.to_string())
    );
    Ok(())
}
