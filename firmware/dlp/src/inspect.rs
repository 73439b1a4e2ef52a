//! Inspection: a message or a file in, a [`Report`] of located findings and problems out.
//!
//! This joins the content walk ([`crate::mime`], [`crate::extract`]) to the [`Scanner`]:
//! every segment of decoded text is normalised and scanned, each finding is tagged with the
//! segment's location, and findings repeated by several readings of the same bytes (see
//! [`crate::charset::readings`]) are reported once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::ScanConfig;
use crate::content::{Collector, Limits, Location, Problem, ProblemKind, SegmentKind};
use crate::detectors::custom::DictionaryError;
use crate::extract::{self, FileRef};
use crate::finding::{Confidence, DetectorKind};
use crate::hold::PartStore;
use crate::mime::{self, Arrived, StreamedWalk};
use crate::scanner::Scanner;
use crate::segment_scan::SegmentScan;

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

impl LocatedFinding {
    /// The detector as people read it: `my_number`, or `custom:` and the rule's name
    /// (`custom:社外秘`, as policy rules name it), not the rule's place in the list.
    pub fn detector_name(&self) -> String {
        match self.detector {
            DetectorKind::Custom { .. } => format!("custom:{}", self.masked),
            other => other.to_string(),
        }
    }
}

/// The most findings a [`Report`] lists; the rest are only counted in its totals, so that
/// an audit record, a spool header or a quarantine entry stays small whatever a mail holds.
pub const MAX_REPORTED_FINDINGS: usize = 100;
/// The most problems of one kind a [`Report`] lists (the rest are counted).
pub const MAX_REPORTED_PROBLEMS_PER_KIND: usize = 10;

/// How many findings of one detector at one confidence a report holds in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCount {
    /// The detector.
    pub detector: DetectorKind,
    /// The confidence.
    pub confidence: Confidence,
    /// How many.
    pub count: usize,
}

/// How many problems of one kind a report holds in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemCount {
    /// The kind.
    pub kind: ProblemKind,
    /// How many.
    pub count: usize,
}

/// Everything a report found, counted: what policy counts (the lists are capped).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Findings by detector and confidence.
    pub findings: Vec<FindingCount>,
    /// Problems by kind.
    pub problems: Vec<ProblemCount>,
}

/// What one inspection found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Findings, in the order of the walk (at most [`MAX_REPORTED_FINDINGS`]: the most
    /// confident first when there are more).
    pub findings: Vec<LocatedFinding>,
    /// Problems met (limits reached, encrypted or unreadable content …), at most
    /// [`MAX_REPORTED_PROBLEMS_PER_KIND`] of each kind.
    pub problems: Vec<Problem>,
    /// Every finding and problem counted, listed or not.
    #[serde(default)]
    pub totals: Totals,
}

impl Report {
    /// A report of `findings` and `problems`: counted whole, then cut to the caps.
    pub fn new(findings: Vec<LocatedFinding>, problems: Vec<Problem>) -> Self {
        let mut counts: BTreeMap<(DetectorKind, Confidence), usize> = BTreeMap::new();
        for f in &findings {
            *counts.entry((f.detector, f.confidence)).or_default() += 1;
        }
        let mut problem_counts: BTreeMap<ProblemKind, usize> = BTreeMap::new();
        for p in &problems {
            *problem_counts.entry(p.kind).or_default() += 1;
        }
        let totals = Totals {
            findings: counts
                .into_iter()
                .map(|((detector, confidence), count)| FindingCount {
                    detector,
                    confidence,
                    count,
                })
                .collect(),
            problems: problem_counts
                .into_iter()
                .map(|(kind, count)| ProblemCount { kind, count })
                .collect(),
        };
        let findings = if findings.len() > MAX_REPORTED_FINDINGS {
            // Keep the most confident ones, then restore the order of the walk.
            let mut order: Vec<usize> = (0..findings.len()).collect();
            order.sort_by_key(|&i| {
                std::cmp::Reverse(findings.get(i).map_or(Confidence::Low, |f| f.confidence))
            });
            let mut keep: Vec<usize> = order.into_iter().take(MAX_REPORTED_FINDINGS).collect();
            keep.sort_unstable();
            let mut slots: Vec<Option<LocatedFinding>> = findings.into_iter().map(Some).collect();
            keep.into_iter()
                .filter_map(|i| slots.get_mut(i).and_then(Option::take))
                .collect()
        } else {
            findings
        };
        let mut listed: BTreeMap<ProblemKind, usize> = BTreeMap::new();
        let problems = problems
            .into_iter()
            .filter(|p| {
                let n = listed.entry(p.kind).or_default();
                *n += 1;
                *n <= MAX_REPORTED_PROBLEMS_PER_KIND
            })
            .collect();
        Self {
            findings,
            problems,
            totals,
        }
    }

    /// Nothing found and no problem met.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.problems.is_empty()
    }

    /// How many findings (listed or not) satisfy `counted`.
    pub fn count_findings(&self, counted: impl Fn(DetectorKind, Confidence) -> bool) -> usize {
        self.totals
            .findings
            .iter()
            .filter(|c| counted(c.detector, c.confidence))
            .map(|c| c.count)
            .sum()
    }

    /// How many findings in all.
    pub fn total_findings(&self) -> usize {
        self.count_findings(|_, _| true)
    }

    /// How many problems in all.
    pub fn total_problems(&self) -> usize {
        self.totals.problems.iter().map(|c| c.count).sum()
    }

    /// Was some content not fully read (a problem of the `not_fully_read` group)?
    pub fn not_fully_read(&self) -> bool {
        self.problems.iter().any(|p| p.kind.is_not_fully_read())
    }
}

/// A scanner and the walk limits, built once from configuration.
#[derive(Clone, Debug)]
pub struct Inspector {
    pub(crate) scanner: Scanner,
    pub(crate) limits: Limits,
}

/// Octets read in place (the relay maps its spool file) or held in memory.
pub type Octets = Box<dyn std::ops::Deref<Target = [u8]> + Send>;

/// What [`Inspector::inspect_arriving`] made of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivedReport {
    /// The report, as the inspection of the whole message gives it.
    pub report: Report,
    /// Was it walked while it arrived (rather than afresh once whole)?
    pub while_arriving: bool,
}

/// A message still arriving, for [`Inspector::inspect_arriving`].
pub trait Arrivals {
    /// Waits for the next thing found complete ([`mime::PartSplitter`]: the header block,
    /// then each piece of the body), with its octets; `None` once nothing more will be.
    fn next(&mut self) -> Option<(Arrived, Octets)>;
    /// Waits for the whole message; `None` if it will not arrive (the transfer ended
    /// without it).
    fn whole(&mut self) -> Option<Octets>;
}

impl Inspector {
    /// Builds an inspector (compiles the custom dictionary).
    pub fn new(scan: &ScanConfig, limits: Limits) -> Result<Self, DictionaryError> {
        Ok(Self {
            scanner: Scanner::new(scan)?,
            limits,
        })
    }

    /// The limits of its walk.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The scanner, for callers that scan plain strings.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Inspects an RFC 5322 message.
    pub fn inspect_message(&self, raw: &[u8]) -> Report {
        self.walk_and_scan(None, |collector| mime::walk_message(raw, collector))
    }

    /// [`Self::inspect_message`], keeping the decoded form of long encoded parts in
    /// `store` rather than in memory (the report is the same).
    pub fn inspect_message_holding(&self, raw: &[u8], store: &mut dyn PartStore) -> Report {
        self.walk_and_scan(Some(store), |collector| mime::walk_message(raw, collector))
    }

    /// Inspects a message while it arrives: each piece of its body is walked and scanned
    /// once it is complete, and the rest once the whole message is there. The report is
    /// [`Self::inspect_message_holding`]'s for the whole message (see
    /// [`mime::StreamedWalk`]: a message of another shape, or split otherwise than the
    /// walk splits it, is walked afresh once whole); the time limit counts the time spent
    /// inspecting, not the time spent waiting for the message. `None` if the whole message
    /// never arrived.
    pub fn inspect_arriving(
        &self,
        arrivals: &mut dyn Arrivals,
        mut store: Option<&mut dyn PartStore>,
    ) -> Option<ArrivedReport> {
        let deadline = self.deadline();
        let mut scan = SegmentScan::new(self, deadline);
        let walked = {
            let mut collector =
                Collector::with_deadline(&self.limits, deadline).streaming(&mut scan);
            if let Some(store) = store.as_deref_mut() {
                collector = collector.holding(store);
            }
            let mut waited = Instant::now();
            let mut walk = match arrivals.next() {
                Some((Arrived::Head(_), head)) => StreamedWalk::start(&mut collector, &head),
                _ => None,
            };
            while let Some((arrived, bytes)) = arrivals.next() {
                let now = Instant::now();
                let (Some(walk), Arrived::Piece(piece, range)) = (&mut walk, arrived) else {
                    continue;
                };
                walk.postpone(now.saturating_duration_since(waited));
                let (Ok(start), Ok(end)) =
                    (usize::try_from(range.start), usize::try_from(range.end))
                else {
                    continue;
                };
                walk.piece(piece, start..end, &bytes);
                waited = Instant::now();
            }
            let whole = arrivals.whole()?;
            match walk {
                Some(mut walk) => {
                    walk.postpone(Instant::now().saturating_duration_since(waited));
                    if walk.finish(&whole) {
                        Ok(collector.finish())
                    } else {
                        Err(whole)
                    }
                }
                None => Err(whole),
            }
        };
        Some(match walked {
            Ok(extraction) => ArrivedReport {
                report: scan.finish(extraction),
                while_arriving: true,
            },
            Err(whole) => {
                drop(scan);
                let report = match store {
                    Some(store) => self.inspect_message_holding(&whole, store),
                    None => self.inspect_message(&whole),
                };
                ArrivedReport {
                    report,
                    while_arriving: false,
                }
            }
        })
    }

    /// Inspects a file that is not a message (a document, an archive, text).
    pub fn inspect_file(&self, name: Option<&str>, bytes: &[u8]) -> Report {
        self.walk_and_scan(None, |collector| {
            let location = Location::root().child(match name {
                Some(name) => format!("file \"{name}\""),
                None => "file".to_string(),
            });
            if let Some(name) = name {
                collector.text(&location, SegmentKind::FileName, name.to_string());
            }
            let file = FileRef {
                name,
                content_type: None,
                charset: None,
                bytes,
            };
            extract::extract_file(collector, &location, &file, 1);
        })
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

    /// When an inspection started now must end.
    pub(crate) fn deadline(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.limits.max_scan_time)
            .unwrap_or(now + Duration::from_secs(3600))
    }

    /// Walks with `walk`, scanning each segment as it is found (and freeing its text,
    /// unless it is a header or body, which [`Self::message_mentions`] reads at the end).
    fn walk_and_scan(
        &self,
        store: Option<&mut dyn PartStore>,
        walk: impl FnOnce(&mut Collector<'_>),
    ) -> Report {
        let deadline = self.deadline();
        let mut scan = SegmentScan::new(self, deadline);
        let extraction = {
            let mut collector =
                Collector::with_deadline(&self.limits, deadline).streaming(&mut scan);
            if let Some(store) = store {
                collector = collector.holding(store);
            }
            walk(&mut collector);
            collector.finish()
        };
        scan.finish(extraction)
    }
}

impl Inspector {
    /// Does the text of the message (its header fields shown and its bodies) mention the
    /// kind of number `kind` is?
    pub(crate) fn message_mentions(
        &self,
        extraction: &crate::content::Extraction,
        kind: DetectorKind,
    ) -> bool {
        extraction
            .segments
            .iter()
            .filter(|s| matches!(s.kind, SegmentKind::Header | SegmentKind::Body))
            .any(|s| self.scanner.mentions(&s.text, kind))
    }
}

/// A file name with its word separators as spaces: `_` always, and `-` between a letter and
/// a digit (`山田_123456789018.pdf`, `yamada-1234-5678-9018.pdf`), where in running text
/// they glue a number into an identifier.
pub(crate) fn file_name_words(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let after = chars.get(i + 1);
            let letter = |c: Option<&char>| c.is_some_and(|c| c.is_alphabetic());
            let digit = |c: Option<&char>| c.is_some_and(char::is_ascii_digit);
            match c {
                '_' => ' ',
                '-' if (letter(before) && digit(after)) || (digit(before) && letter(after)) => ' ',
                other => other,
            }
        })
        .collect()
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

    #[test]
    fn custom_findings_name_their_rule() {
        let finding = |detector, masked: &str| LocatedFinding {
            location: Location::root(),
            segment: SegmentKind::Body,
            detector,
            confidence: Confidence::Medium,
            line: 1,
            masked: masked.to_string(),
        };
        assert_eq!(
            finding(DetectorKind::Custom { rule: 3 }, "社外秘").detector_name(),
            "custom:社外秘"
        );
        assert_eq!(
            finding(DetectorKind::MyNumber, "1234******18").detector_name(),
            "my_number"
        );
    }
}
