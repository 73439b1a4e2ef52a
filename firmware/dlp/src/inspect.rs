//! Inspection: a message or a file in, a [`Report`] of located findings and problems out.
//!
//! This joins the content walk ([`crate::mime`], [`crate::extract`]) to the [`Scanner`]:
//! every segment of decoded text is normalised and scanned, each finding is tagged with the
//! segment's location, and findings repeated by several readings of the same bytes (see
//! [`crate::charset::readings`]) are reported once.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::config::ScanConfig;
use crate::content::{Collector, Limits, Location, Problem, SegmentKind};
use crate::detectors::custom::DictionaryError;
use crate::extract::{self, FileRef};
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::mime;
use crate::scanner::Scanner;

/// A finding and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocatedFinding {
    /// The part, attachment or archive entry.
    pub location: Location,
    /// Header, body, file name or attachment text.
    pub segment: SegmentKind,
    /// The detector.
    pub detector: DetectorKind,
    /// How sure it is.
    pub confidence: Confidence,
    /// The 1-based line within the segment.
    pub line: usize,
    /// The masked excerpt (never the full number).
    pub masked: String,
}

/// What one inspection found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Findings, in the order of the walk.
    pub findings: Vec<LocatedFinding>,
    /// Problems met (limits reached, encrypted or unreadable content …).
    pub problems: Vec<Problem>,
}

impl Report {
    /// Nothing found and no problem met.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.problems.is_empty()
    }
}

/// A scanner and the walk limits, built once from configuration.
#[derive(Clone, Debug)]
pub struct Inspector {
    scanner: Scanner,
    limits: Limits,
}

impl Inspector {
    /// Builds an inspector (compiles the custom dictionary).
    pub fn new(scan: &ScanConfig, limits: Limits) -> Result<Self, DictionaryError> {
        Ok(Self {
            scanner: Scanner::new(scan)?,
            limits,
        })
    }

    /// The scanner, for callers that scan plain strings.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Inspects an RFC 5322 message.
    pub fn inspect_message(&self, raw: &[u8]) -> Report {
        let mut collector = Collector::new(&self.limits);
        mime::walk_message(raw, &mut collector);
        self.scan_collected(collector)
    }

    /// Inspects a file that is not a message (a document, an archive, text).
    pub fn inspect_file(&self, name: Option<&str>, bytes: &[u8]) -> Report {
        let mut collector = Collector::new(&self.limits);
        let location = Location::root().child(match name {
            Some(name) => format!("file \"{name}\""),
            None => "file".to_string(),
        });
        let file = FileRef {
            name,
            content_type: None,
            charset: None,
            bytes,
        };
        extract::extract_file(&mut collector, &location, &file, 1);
        self.scan_collected(collector)
    }

    /// Inspects `bytes` as a message when it looks like one ([`looks_like_message`]), else as
    /// a file, the way `mamori dlp scan` does.
    pub fn inspect(&self, name: Option<&str>, bytes: &[u8]) -> Report {
        if looks_like_message(bytes) {
            self.inspect_message(bytes)
        } else {
            self.inspect_file(name, bytes)
        }
    }

    fn scan_collected(&self, collector: Collector<'_>) -> Report {
        let extraction = collector.finish();
        let mut seen = HashSet::new();
        let mut findings = Vec::new();
        for segment in &extraction.segments {
            for finding in self.scanner.scan(&segment.text) {
                let Finding {
                    detector,
                    confidence,
                    line,
                    masked,
                    ..
                } = finding;
                let located = LocatedFinding {
                    location: segment.location.clone(),
                    segment: segment.kind,
                    detector,
                    confidence,
                    line,
                    masked: masked.into(),
                };
                let key = (
                    located.location.clone(),
                    located.segment,
                    located.detector,
                    located.line,
                    located.masked.clone(),
                );
                if seen.insert(key) {
                    findings.push(located);
                }
            }
        }
        Report {
            findings,
            problems: extraction.problems,
        }
    }
}

/// Does `bytes` start like an RFC 5322 message: a block of header fields (at least two,
/// one of them a field every message has) before the first empty line?
pub fn looks_like_message(bytes: &[u8]) -> bool {
    const KNOWN: [&str; 9] = [
        "from",
        "to",
        "subject",
        "date",
        "received",
        "message-id",
        "mime-version",
        "content-type",
        "return-path",
    ];
    let head = bytes.get(..bytes.len().min(64 * 1024)).unwrap_or(bytes);
    let mut fields = 0;
    let mut known = false;
    for (index, line) in head.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if index == 0 {
                return false;
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = line.get(..colon).unwrap_or_default();
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            return false;
        }
        fields += 1;
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        known |= KNOWN.contains(&name.as_str());
    }
    fields >= 2 && known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspector() -> Inspector {
        Inspector::new(&ScanConfig::default(), Limits::default()).unwrap()
    }

    #[test]
    fn messages_are_told_from_files() {
        assert!(looks_like_message(
            b"From: a@b.jp\r\nSubject: x\r\n\r\nbody"
        ));
        assert!(looks_like_message(
            b"Received: from x\n\tby y\nMessage-ID: <1@x>\n\nbody"
        ));
        assert!(!looks_like_message(b"name,number\nyamada,123456789018\n"));
        assert!(!looks_like_message(b"PK\x03\x04"));
        assert!(!looks_like_message(b"Note: one field only\n\ntext"));
        assert!(!looks_like_message(
            b"X-A: 1\nX-B: 2\n\nunknown fields only"
        ));
    }

    #[test]
    fn a_plain_file_is_scanned_and_located() {
        let report = inspector().inspect(
            Some("名簿.csv"),
            "氏名,個人番号\n山田,123456789018\n".as_bytes(),
        );
        assert_eq!(report.findings.len(), 1, "{report:?}");
        let f = &report.findings[0];
        assert_eq!(f.detector, DetectorKind::MyNumber);
        assert_eq!(f.location.to_string(), "file \"名簿.csv\"");
        assert_eq!(f.line, 2);
        assert_eq!(f.masked, "1234******18");
    }

    #[test]
    fn the_same_finding_in_several_readings_is_reported_once() {
        // EUC-JP labelled Shift_JIS decodes cleanly both ways: two readings, one number.
        let (bytes, _, _) = encoding_rs::EUC_JP.encode("番号 123456789018 です");
        let report = inspector().inspect_file(Some("a.txt"), &bytes);
        assert_eq!(report.findings.len(), 1, "{report:?}");
    }
}
