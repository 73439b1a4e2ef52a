//! The scan of an inspection, one segment at a time, as the walk finds them: a large
//! message's text is scanned piece by piece and freed, not collected whole first. What
//! the message as a whole says (the evidence across segments, the words that raise
//! unlabelled numbers) is applied at the end, to the same effect as scanning the whole
//! text at once (a property test holds the two together).

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Instant;

use crate::content::{
    Extraction, Location, Problem, ProblemKind, Segment, SegmentKind, SegmentSink,
};
use crate::evidence::Evidence;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::inspect::{Inspector, LocatedFinding, Report};
use crate::memo::{ScanMemo, Scanned};
use crate::scanner::Scanner;

/// What a scan does with a [`ScanMemo`].
pub(crate) enum Memo<'a> {
    /// Scans every text.
    None,
    /// Takes the findings of texts scanned ahead from it.
    Use(&'a ScanMemo),
    /// Scanning ahead: keeps what each text gave in it.
    Fill(&'a mut ScanMemo),
}

/// The scan of one inspection, a segment at a time: findings (each once), the evidence
/// across segments, and the time limit.
pub(crate) struct SegmentScan<'a> {
    inspector: &'a Inspector,
    deadline: Instant,
    seen: HashSet<(Location, SegmentKind, DetectorKind, usize, String)>,
    findings: Vec<LocatedFinding>,
    evidence: Evidence,
    /// The time ran out (reported once, in `late`) or the walk already said so.
    stopped: bool,
    late: Option<Problem>,
    memo: Memo<'a>,
}

impl<'a> SegmentScan<'a> {
    pub(crate) fn new(inspector: &'a Inspector, deadline: Instant) -> Self {
        Self {
            inspector,
            deadline,
            seen: HashSet::new(),
            findings: Vec::new(),
            evidence: Evidence::default(),
            stopped: false,
            late: None,
            memo: Memo::None,
        }
    }

    /// The same scan, with `memo` used or filled.
    pub(crate) fn with_memo(mut self, memo: Memo<'a>) -> Self {
        self.memo = memo;
        self
    }

    /// Scans nothing more.
    #[cfg(test)]
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
    }

    pub(crate) fn scan(&mut self, segment: &Segment) {
        if !self.stopped && Instant::now() >= self.deadline {
            self.stopped = true;
            self.late = Some(Problem {
                location: segment.location.clone(),
                kind: ProblemKind::TimeLimit,
                detail: format!(
                    "inspection took longer than {}; the rest was not scanned",
                    humantime::format_duration(self.inspector.limits.max_scan_time)
                ),
            });
        }
        if self.stopped {
            return;
        }
        let text = match segment.kind {
            SegmentKind::FileName => Cow::Owned(crate::inspect::file_name_words(&segment.text)),
            _ => Cow::Borrowed(segment.text.as_str()),
        };
        let found = self.scan_text(&text);
        for finding in found {
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
            if self.seen.insert(key) {
                self.findings.push(located);
            }
        }
    }

    /// What the scanner finds in `text`: from the memo when it holds the text, else
    /// scanned (and kept in the memo when scanning ahead).
    fn scan_text(&mut self, text: &str) -> Vec<Finding> {
        let scanner = &self.inspector.scanner;
        match &mut self.memo {
            Memo::Use(memo) => {
                if let Some(scanned) = memo.get(text) {
                    self.evidence.absorb(&scanned.evidence);
                    return scanned.findings.clone();
                }
            }
            Memo::Fill(memo) if memo.has_room() => {
                let mut evidence = Evidence::default();
                let findings = scan_readings(scanner, text, &mut evidence);
                self.evidence.absorb(&evidence);
                memo.record(
                    text,
                    Scanned {
                        findings: findings.clone(),
                        evidence,
                    },
                );
                return findings;
            }
            Memo::Fill(_) | Memo::None => {}
        }
        scan_readings(scanner, text, &mut self.evidence)
    }

    /// The report: what was found, raised where the message as a whole says more.
    pub(crate) fn finish(self, mut extraction: Extraction) -> Report {
        let Self {
            inspector,
            mut findings,
            evidence,
            late,
            ..
        } = self;
        if let Some(late) = late
            && !extraction
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::TimeLimit)
        {
            extraction.problems.push(late);
        }
        for kind in [DetectorKind::MyNumber, DetectorKind::CreditCard] {
            // A list of numbers that nearly all pass the check digit is a list of real ones.
            if evidence.is_strong(kind) {
                for f in findings.iter_mut().filter(|f| f.detector == kind) {
                    f.confidence = Confidence::High;
                }
            }
            // A message whose own words say what it carries (「個人番号はファイル名に」) speaks
            // for the numbers no label is next to: in a file name, a comment, a cell.
            let unlabelled =
                |f: &LocatedFinding| f.detector == kind && f.confidence == Confidence::Medium;
            if findings.iter().any(unlabelled) && inspector.message_mentions(&extraction, kind) {
                for f in findings.iter_mut().filter(|f| unlabelled(f)) {
                    f.confidence = Confidence::High;
                }
            }
        }
        Report::new(findings, extraction.problems)
    }
}

impl SegmentSink for SegmentScan<'_> {
    fn segment(&mut self, segment: Segment) -> Option<Segment> {
        self.scan(&segment);
        // Scanning ahead makes no report: no text is kept for its end.
        let keep = !matches!(self.memo, Memo::Fill(_));
        (keep && matches!(segment.kind, SegmentKind::Header | SegmentKind::Body)).then_some(segment)
    }
}

/// What `scanner` finds in `text` and in its reading with kanji numerals as digits (read
/// as a reader reads them; the findings of both fall together later).
fn scan_readings(scanner: &Scanner, text: &str, evidence: &mut Evidence) -> Vec<Finding> {
    let kanji = crate::numerals::kanji_digits_as_ascii(text);
    let mut found = scanner.scan_with_evidence(text, evidence);
    if let Some(kanji) = &kanji {
        found.extend(scanner.scan_with_evidence(kanji, evidence));
    }
    found
}

/// The segment-at-a-time scan against the reference that collects the whole message's
/// text first and scans it at the end.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScanConfig;
    use crate::content::{Collector, Limits};
    use crate::hold::MemoryStore;
    use crate::mime;
    use proptest::prelude::*;
    use std::io::Write;

    impl Inspector {
        /// The whole-message reference: walk everything (no sink: every segment kept),
        /// then scan it all at the end.
        fn inspect_message_whole(&self, raw: &[u8]) -> Report {
            let deadline = self.deadline();
            let mut collector = Collector::with_deadline(&self.limits, deadline);
            mime::walk_message(raw, &mut collector);
            let extraction = collector.finish();
            let mut scan = SegmentScan::new(self, deadline);
            if extraction
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::TimeLimit)
            {
                scan.stop();
            }
            for segment in &extraction.segments {
                scan.scan(segment);
            }
            scan.finish(extraction)
        }
    }

    /// Lines a part may hold: My Numbers (a valid one and one with a wrong check digit),
    /// labelled or not, in kanji numerals, a card number, a phone number, the words that
    /// raise unlabelled numbers, and plain text.
    const LINES: &[&str] = &[
        "個人番号: 123456789018",
        "123456789018",
        "123456789011",
        "マイナンバーは添付のとおりです",
        "番号 一二三四五六七八九〇一八",
        "カード番号 4111 1111 1111 1111",
        "4111111111111111",
        "電話 03-1234-5678",
        "お世話になっております。",
        "Please find the list attached.",
        "氏名,番号\r\n山田,123456789018\r\n佐藤,234567890124",
    ];

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        text.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n")
            .collect()
    }

    /// Quoted-printable with soft breaks every 40 octets (some inside a UTF-8 character)
    /// and an escaped `=`.
    fn qp(bytes: &[u8]) -> String {
        let mut out = String::new();
        for (i, &b) in bytes.iter().enumerate() {
            if i > 0 && i % 40 == 0 {
                out.push_str("=\r\n");
            }
            match b {
                b'\r' | b'\n' => out.push(char::from(b)),
                b'=' | 0x80.. => out.push_str(&format!("={b:02X}")),
                _ => out.push(char::from(b)),
            }
        }
        out
    }

    fn zip(name: &str, content: &[u8]) -> Vec<u8> {
        let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file(name, ::zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(content).unwrap();
        w.finish().unwrap().into_inner()
    }

    /// A part: (kind, lines, file name index).
    fn message(subject: usize, parts: &[(u8, Vec<usize>, usize)]) -> Vec<u8> {
        const NAMES: &[&str] = &["meibo.csv", "山田_123456789018.txt", "list.txt"];
        let mut m = format!(
            "From: a@office.test\r\nTo: b@example.com\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n",
            LINES[subject % LINES.len()].lines().next().unwrap_or("")
        );
        for (kind, lines, name) in parts {
            let text: String = lines
                .iter()
                .map(|&i| format!("{}\r\n", LINES[i % LINES.len()]))
                .collect();
            let name = NAMES[name % NAMES.len()];
            m.push_str("--B\r\n");
            match kind % 5 {
                0 => m.push_str(&format!(
                    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}"
                )),
                1 => m.push_str(&format!(
                    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                    b64(text.as_bytes())
                )),
                2 => m.push_str(&format!(
                    "Content-Type: text/csv; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                    b64(text.as_bytes())
                )),
                3 => m.push_str(&format!(
                    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
                    qp(text.as_bytes())
                )),
                _ => m.push_str(&format!(
                    "Content-Type: application/zip; name=\"a.zip\"\r\nContent-Disposition: attachment; filename=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                    b64(&zip(name, text.as_bytes()))
                )),
            }
        }
        m.push_str("--B--\r\n");
        m.into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The same findings (each with its place, line, confidence and masked excerpt),
        /// in the same order, and the same problems, whether each piece of text is scanned
        /// as the walk finds it or the whole message's text first collected.
        #[test]
        fn the_streaming_scan_finds_exactly_what_the_whole_message_scan_finds(
            subject in 0usize..20,
            parts in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(0usize..40, 0..8), 0usize..3),
                1..6,
            ),
            threshold in 0usize..400,
        ) {
            let raw = message(subject, &parts);
            let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
            let streamed = inspector.inspect_message(&raw);
            let whole = inspector.inspect_message_whole(&raw);
            prop_assert_eq!(&streamed, &whole);
            // Decoded parts kept in a part store, not in memory: the same report.
            let mut store = MemoryStore { threshold, parts: 0 };
            let held = inspector.inspect_message_holding(&raw, &mut store);
            prop_assert_eq!(&held, &streamed);
        }
    }

    /// The message fed in pieces cut at `cuts`, each top-level part scanned ahead once its
    /// end arrived, then inspected with the memo: the report, and the memo's lookups and
    /// hits.
    fn scanned_ahead(
        inspector: &Inspector,
        raw: &[u8],
        cuts: &[usize],
    ) -> (Report, (usize, usize)) {
        let mut memo = inspector.memo();
        let mut splitter = mime::PartSplitter::new(inspector.limits.max_parts);
        let mut cuts = cuts.to_vec();
        cuts.sort_unstable();
        let mut from = 0;
        for cut in cuts.into_iter().chain(std::iter::once(raw.len())) {
            let cut = cut.clamp(from, raw.len());
            for part in splitter.feed(&raw[from..cut]) {
                let part = &raw[part.start as usize..part.end as usize];
                inspector.scan_ahead(part, Some(&mut MemoryStore::default()), &mut memo);
            }
            from = cut;
        }
        let report = inspector.inspect_message_using(raw, None, Some(&memo));
        (report, memo.lookups_and_hits())
    }

    /// What a hurried, broken or hostile sender puts in a message, to be inserted anywhere
    /// in it: decoy and close delimiters, line breaks, a second type or encoding.
    const DECOYS: &[&str] = &[
        "\r\n--B\r\n",
        "\r\n--B--\r\n",
        "\r\n--B \r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n",
        "Content-Type: multipart/mixed; boundary=C\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "\r\n\r\n",
        "\n",
        "\r\n--C\r\n",
        "個人番号 ",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Scanning the parts ahead while the message arrives, however it arrives and
        /// whatever decoys it holds, changes nothing in the report: the same findings,
        /// problems and confidences as the inspection without it.
        #[test]
        fn scanning_ahead_finds_exactly_what_the_whole_message_scan_finds(
            subject in 0usize..20,
            parts in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(0usize..40, 0..8), 0usize..3),
                1..6,
            ),
            decoys in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..DECOYS.len()), 0..3),
            cuts in proptest::collection::vec(0usize..4000, 0..6),
        ) {
            let mut raw = message(subject, &parts);
            for (at, decoy) in decoys {
                let at = at.index(raw.len() + 1);
                raw.splice(at..at, DECOYS[decoy].bytes());
            }
            let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
            let (ahead, _) = scanned_ahead(&inspector, &raw, &cuts);
            prop_assert_eq!(ahead, inspector.inspect_message(&raw));
        }
    }

    #[test]
    fn scanning_ahead_spares_the_inspection_the_parts_it_scanned() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let raw = message(
            3,
            &[
                (0, vec![1, 2], 0),
                (4, vec![10, 5], 1),
                (2, vec![7], 2),
                (3, vec![0], 0),
            ],
        );
        let (report, (lookups, hits)) = scanned_ahead(&inspector, &raw, &[100, 700]);
        assert_eq!(report, inspector.inspect_message(&raw));
        assert!(!report.findings.is_empty());
        // Every text but the header's came from the memo.
        assert!(
            hits >= 6 && lookups > hits,
            "{lookups} lookups, {hits} hits"
        );
        // A memo filled by an inspector that scans otherwise is not used.
        let other = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let mut memo = other.memo();
        other.scan_ahead(&raw, None, &mut memo);
        assert!(!memo.is_empty());
        assert_eq!(
            inspector.inspect_message_using(&raw, None, Some(&memo)),
            report
        );
        assert_eq!(memo.lookups_and_hits(), (0, 0));
    }

    /// Evidence gathered in a part scanned ahead counts with the rest of the message: a
    /// list of unlabelled numbers that all pass the check digit, split over an attachment
    /// scanned ahead and a body that was not, is a list of real ones.
    #[test]
    fn evidence_from_parts_scanned_ahead_counts() {
        use crate::detectors::my_number::check_digit;
        let number = |i: u8| {
            let mut payload = [0u8; 11];
            for (j, d) in payload.iter_mut().enumerate() {
                *d = (i + 3 * j as u8) % 10;
            }
            let digits: String = payload.iter().map(|d| char::from(b'0' + d)).collect();
            format!("{digits}{}", check_digit(&payload))
        };
        let csv: String = (0..4).map(|i| format!("{},{}\r\n", i, number(i))).collect();
        let body: String = (4..8).map(|i| format!("{}\r\n", number(i))).collect();
        let raw = format!(
            "From: a@office.test\r\nSubject: list\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/csv; name=\"a.csv\"\r\nContent-Disposition: attachment; filename=\"a.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--B\r\nContent-Type: text/plain\r\n\r\n{body}",
            b64(csv.as_bytes())
        );
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let (report, (_, hits)) = scanned_ahead(&inspector, raw.as_bytes(), &[]);
        assert_eq!(hits, 2, "the file name and the CSV came from the memo");
        assert_eq!(report, inspector.inspect_message(raw.as_bytes()));
        assert_eq!(report.findings.len(), 8, "{report:?}");
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.confidence == Confidence::High),
            "{report:?}"
        );
    }

    /// The property is not vacuous: the messages it draws do hold findings, raised by the
    /// words of the message, and problems.
    #[test]
    fn the_drawn_messages_hold_findings_of_every_kind() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let raw = message(
            3,
            &[
                (0, vec![1, 2], 0),
                (4, vec![10, 5], 1),
                (2, vec![7], 2),
                (3, vec![0], 0),
            ],
        );
        let report = inspector.inspect_message(&raw);
        assert_eq!(report, inspector.inspect_message_whole(&raw));
        // The subject's 「マイナンバー」 raises the body's unlabelled number.
        let confidence = |raw: &[u8]| -> Vec<Confidence> {
            let report = inspector.inspect_message(raw);
            report.findings.iter().map(|f| f.confidence).collect()
        };
        assert_eq!(
            confidence(&message(3, &[(0, vec![1], 0)])),
            [Confidence::High]
        );
        assert_eq!(
            confidence(&message(8, &[(0, vec![1], 0)])),
            [Confidence::Medium]
        );
        let mut store = MemoryStore::default();
        assert_eq!(report, inspector.inspect_message_holding(&raw, &mut store));
        assert_eq!(
            store.parts, 3,
            "every encoded part (ZIP, CSV, quoted-printable) went to the store"
        );
        // A quoted-printable part's My Number (on the CSV's second line) is found across
        // its soft breaks.
        let raw = message(8, &[(3, vec![10], 0)]);
        let report = inspector.inspect_message_holding(&raw, &mut MemoryStore::default());
        let found: Vec<(DetectorKind, usize)> = report
            .findings
            .iter()
            .map(|f| (f.detector, f.line))
            .collect();
        assert_eq!(found, [(DetectorKind::MyNumber, 2)], "{report:?}");
    }
}
