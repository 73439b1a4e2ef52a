//! The format corpus (`tests/formats/`, see its README): archives, compressed files and
//! PDFs made by the real tools (tar, gzip, bzip2, xz, zstd, 7-Zip, jlha, bsdtar, qpdf,
//! reportlab), each in two twins. The `find-` twin's My Number must be found, inside the format, with nothing
//! reported unread; the `clean-` twin (the same content, the check digit wrong) must give
//! no finding and no problem. Encrypted ones must be reported encrypted, never clean.
//!
//! The committed files are checked here, and so is a fresh corpus made by running the
//! generator with the tools installed on this machine (`ci/install-deps.sh` installs them):
//! what the tools write today, not only what they wrote once.

use std::path::{Path, PathBuf};
use std::process::Command;

use mamori_dlp::{DetectorKind, Inspector, Limits, ProblemKind, Report, ScanConfig};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats")
}

/// One manifest row: a format made for both twins.
struct Format {
    file: String,
    expect: String,
    description: String,
}

fn manifest(path: &Path) -> Vec<Format> {
    let text = std::fs::read_to_string(path).expect("manifest");
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "manifest row: {line}");
            Format {
                file: cols[0].to_string(),
                expect: cols[1].to_string(),
                description: cols[3].to_string(),
            }
        })
        .collect()
}

/// The masked form of the corpus's valid number, as findings show it.
const FOUND: &str = "1234******18";

fn my_numbers(report: &Report) -> Vec<&str> {
    report
        .findings
        .iter()
        .filter(|f| f.detector == DetectorKind::MyNumber)
        .map(|f| f.masked.as_str())
        .collect()
}

fn describe(report: &Report) -> String {
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} at {}", f.detector, f.masked, f.location))
        .collect();
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{} at {}: {}", p.kind, p.location, p.detail))
        .collect();
    format!("findings {findings:?}; problems {problems:?}")
}

/// Checks every file of the corpus in `files` against `manifest`; returns the failures.
fn check(files: &Path, formats: &[Format]) -> Vec<String> {
    let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).expect("inspector");
    let mut failures = Vec::new();
    for format in formats {
        for twin in ["find", "clean"] {
            let name = format!("{twin}-{}", format.file);
            let bytes = match std::fs::read(files.join(&name)) {
                Ok(bytes) => bytes,
                Err(error) => {
                    failures.push(format!("{name}: {error}"));
                    continue;
                }
            };
            let report = inspector.inspect_file(Some(&name), &bytes);
            let numbers = my_numbers(&report);
            let why = || format!("{name} ({}): {}", format.description, describe(&report));
            match (format.expect.as_str(), twin) {
                ("read", "find") => {
                    if !numbers.contains(&FOUND) || !report.problems.is_empty() {
                        failures.push(format!("number not found, or not fully read: {}", why()));
                    }
                }
                ("read", _) => {
                    if !numbers.is_empty() || !report.problems.is_empty() {
                        failures.push(format!("clean twin not clean: {}", why()));
                    }
                }
                ("encrypted", _) => {
                    let encrypted = report
                        .problems
                        .iter()
                        .any(|p| p.kind == ProblemKind::Encrypted);
                    if !encrypted || !numbers.is_empty() {
                        failures.push(format!("not reported encrypted: {}", why()));
                    }
                }
                (other, _) => failures.push(format!("{name}: unknown expectation {other}")),
            }
        }
    }
    failures
}

#[test]
fn every_format_in_the_committed_corpus_is_read() {
    let formats = manifest(&corpus().join("manifest.tsv"));
    assert!(formats.len() >= 40, "{} formats", formats.len());
    let failures = check(&corpus().join("files"), &formats);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_tools_installed_today_make_files_that_are_read_alike() {
    let out = std::env::temp_dir().join(format!("mamori-formats-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("temporary folder");
    let manifest_path = out.join("manifest.tsv");
    let status = Command::new("bash")
        .arg(corpus().join("generate.sh"))
        .arg(out.join("files"))
        .arg(&manifest_path)
        .status()
        .expect("bash");
    assert!(
        status.success(),
        "generate.sh failed: are its tools installed (ci/install-deps.sh)?"
    );
    let formats = manifest(&manifest_path);
    let committed = manifest(&corpus().join("manifest.tsv"));
    assert_eq!(
        formats.iter().map(|f| &f.file).collect::<Vec<_>>(),
        committed.iter().map(|f| &f.file).collect::<Vec<_>>(),
        "the committed manifest is stale: run generate.sh"
    );
    let failures = check(&out.join("files"), &formats);
    let _ = std::fs::remove_dir_all(&out);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
