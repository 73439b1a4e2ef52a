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
        }
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
        let scanner = &self.inspector.scanner;
        let text = match segment.kind {
            SegmentKind::FileName => Cow::Owned(crate::inspect::file_name_words(&segment.text)),
            _ => Cow::Borrowed(segment.text.as_str()),
        };
        // Digits written in kanji numerals are read as a reader reads them: a second
        // reading of the text, whose findings fall together with the first's.
        let kanji = crate::numerals::kanji_digits_as_ascii(&text);
        let mut found = scanner.scan_with_evidence(&text, &mut self.evidence);
        if let Some(kanji) = &kanji {
            found.extend(scanner.scan_with_evidence(kanji, &mut self.evidence));
        }
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
        matches!(segment.kind, SegmentKind::Header | SegmentKind::Body).then_some(segment)
    }

    fn postpone(&mut self, by: std::time::Duration) {
        self.deadline = self.deadline.checked_add(by).unwrap_or(self.deadline);
    }
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

    /// A message with a subject that names My Numbers and four parts: a body, a ZIP, a CSV
    /// and a quoted-printable body, holding numbers of every kind.
    fn four_parts() -> Vec<u8> {
        message(
            3,
            &[
                (0, vec![1, 2], 0),
                (4, vec![10, 5], 1),
                (2, vec![7], 2),
                (3, vec![0], 0),
            ],
        )
    }

    /// A message arriving in pieces cut at `cuts`, each after `pause`.
    struct Feed<'r> {
        raw: &'r [u8],
        splitter: mime::PartSplitter,
        cuts: std::collections::VecDeque<usize>,
        from: usize,
        found: std::collections::VecDeque<mime::Arrived>,
        pause: std::time::Duration,
        /// A fault to make in what is handed on: (which piece, how).
        fault: Option<(usize, u8)>,
        handed: usize,
    }

    impl<'r> Feed<'r> {
        fn new(raw: &'r [u8], cuts: &[usize]) -> Self {
            let mut cuts = cuts.to_vec();
            cuts.sort_unstable();
            Self {
                raw,
                splitter: mime::PartSplitter::new(Limits::default().max_parts),
                cuts: cuts.into(),
                from: 0,
                found: Default::default(),
                pause: std::time::Duration::ZERO,
                fault: None,
                handed: 0,
            }
        }
    }

    impl crate::inspect::Arrivals for Feed<'_> {
        fn next(&mut self) -> Option<(mime::Arrived, crate::inspect::Octets)> {
            loop {
                if let Some(mut found) = self.found.pop_front() {
                    self.handed += 1;
                    if let Some((at, how)) = self.fault
                        && at + 1 == self.handed
                        && let mime::Arrived::Piece(piece, range) = &mut found
                    {
                        match how % 5 {
                            // Lost, given twice, cut short, moved, or of the other kind.
                            0 => continue,
                            1 => self.found.push_front(found.clone()),
                            2 => range.end = range.end.saturating_sub(1).max(range.start),
                            3 => {
                                *range = range.start.saturating_sub(1)..range.end.saturating_sub(1)
                            }
                            _ => {
                                *piece = match piece {
                                    mime::Piece::Part => mime::Piece::Preamble,
                                    mime::Piece::Preamble => mime::Piece::Part,
                                }
                            }
                        }
                    }
                    let (mime::Arrived::Head(range) | mime::Arrived::Piece(_, range)) = &found;
                    let bytes = self.raw[range.start as usize..range.end as usize].to_vec();
                    return Some((found, Box::new(bytes)));
                }
                if self.from == self.raw.len() {
                    return None;
                }
                std::thread::sleep(self.pause);
                let cut = self.cuts.pop_front().unwrap_or(self.raw.len());
                let cut = cut.clamp(self.from, self.raw.len());
                self.found
                    .extend(self.splitter.feed(&self.raw[self.from..cut]));
                self.from = cut;
            }
        }

        fn whole(&mut self) -> Option<crate::inspect::Octets> {
            Some(Box::new(self.raw.to_vec()))
        }
    }

    /// What the inspection of the message arriving in pieces cut at `cuts` made of it.
    fn arriving(
        inspector: &Inspector,
        raw: &[u8],
        cuts: &[usize],
    ) -> crate::inspect::ArrivedReport {
        arriving_with(inspector, raw, cuts, None)
    }

    /// [`arriving`], with a fault in the pieces handed on.
    fn arriving_with(
        inspector: &Inspector,
        raw: &[u8],
        cuts: &[usize],
        fault: Option<(usize, u8)>,
    ) -> crate::inspect::ArrivedReport {
        let mut feed = Feed::new(raw, cuts);
        feed.fault = fault;
        let mut store = MemoryStore::default();
        inspector
            .inspect_arriving(&mut feed, Some(&mut store))
            .unwrap()
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
        "\r\n--B--\r\n--B\r\nContent-Type: text/plain\r\n\r\n123456789018\r\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Walking a message while it arrives, however it arrives and whatever decoys it
        /// holds, gives exactly the report of the walk of the whole message: the same
        /// findings, places, confidences and problems.
        #[test]
        fn the_walk_while_arriving_finds_exactly_what_the_whole_message_walk_finds(
            subject in 0usize..20,
            parts in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(0usize..40, 0..8), 0usize..3),
                1..6,
            ),
            decoys in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..DECOYS.len()), 0..3),
            cuts in proptest::collection::vec(0usize..4000, 0..6),
            max_parts in prop::sample::select(vec![2usize, 3, 1000]),
        ) {
            let mut raw = message(subject, &parts);
            for (at, decoy) in decoys {
                let at = at.index(raw.len() + 1);
                raw.splice(at..at, DECOYS[decoy].bytes());
            }
            let limits = Limits { max_parts, ..Limits::default() };
            let inspector = Inspector::new(&ScanConfig::default(), limits).unwrap();
            let arrived = arriving(&inspector, &raw, &cuts);
            prop_assert_eq!(arrived.report, inspector.inspect_message(&raw));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Pieces handed on wrongly (lost, twice, cut short, moved, mislabelled: a splitter
        /// at fault) are found out once the message is whole, and the message is walked
        /// afresh: the report is still the whole message's.
        #[test]
        fn pieces_handed_on_wrongly_are_found_out(
            parts in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(0usize..40, 1..8), 0usize..3),
                2..6,
            ),
            at in 1usize..6,
            how in any::<u8>(),
            cuts in proptest::collection::vec(0usize..4000, 0..6),
        ) {
            let raw = message(3, &parts);
            let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
            let arrived = arriving_with(&inspector, &raw, &cuts, Some((at, how)));
            prop_assert_eq!(arrived.report, inspector.inspect_message(&raw));
        }
    }

    #[test]
    fn a_plain_message_is_walked_while_it_arrives() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let raw = four_parts();
        let whole = inspector.inspect_message(&raw);
        assert!(!whole.findings.is_empty());
        for cuts in [vec![], vec![100, 700], (0..raw.len()).step_by(50).collect()] {
            let arrived = arriving(&inspector, &raw, &cuts);
            assert!(arrived.while_arriving, "{cuts:?}");
            assert_eq!(arrived.report, whole);
        }
        // A part after the close delimiter (clients disagree on it): walked afresh, with
        // the problem the walk reports for it, and what that part holds found.
        let mut reopened = raw.clone();
        reopened.extend_from_slice(b"--B\r\nContent-Type: text/plain\r\n\r\n4111111111111111\r\n");
        let arrived = arriving(&inspector, &reopened, &[]);
        assert!(!arrived.while_arriving);
        assert_eq!(arrived.report, inspector.inspect_message(&reopened));
        assert!(
            arrived
                .report
                .findings
                .iter()
                .any(|f| f.detector == DetectorKind::CreditCard)
        );
        // A message of one part is walked once whole.
        let single = b"Subject: s\r\n\r\n123456789018\r\n";
        let arrived = arriving(&inspector, single, &[5]);
        assert!(!arrived.while_arriving);
        assert_eq!(arrived.report, inspector.inspect_message(single));
    }

    /// Time spent waiting for a slow sender is not inspection time: a message arriving
    /// over longer than the time limit is inspected whole, not cut short.
    #[test]
    fn waiting_for_a_slow_sender_does_not_count_against_the_time_limit() {
        let limits = Limits {
            max_scan_time: std::time::Duration::from_millis(300),
            ..Limits::default()
        };
        let inspector = Inspector::new(&ScanConfig::default(), limits).unwrap();
        let raw = message(3, &[(0, vec![1], 0), (2, vec![7], 2), (3, vec![0], 0)]);
        let mut feed = Feed::new(
            &raw,
            &(0..raw.len()).step_by(raw.len() / 8).collect::<Vec<_>>(),
        );
        feed.pause = std::time::Duration::from_millis(60);
        let started = std::time::Instant::now();
        let arrived = inspector.inspect_arriving(&mut feed, None).unwrap();
        assert!(started.elapsed() > std::time::Duration::from_millis(400));
        assert!(arrived.while_arriving);
        assert!(
            !arrived.report.not_fully_read(),
            "{:?}",
            arrived.report.problems
        );
        assert_eq!(arrived.report, inspector.inspect_message(&raw));
    }

    /// The property is not vacuous: the messages it draws do hold findings, raised by the
    /// words of the message, and problems.
    #[test]
    fn the_drawn_messages_hold_findings_of_every_kind() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let raw = four_parts();
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
