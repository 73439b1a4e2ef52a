//! Differential: what a mail client shows reaches the detectors.
//!
//! The fuzzer's bytes drive a generator of well-formed messages (this file's own model of
//! what a client shows), each hiding valid My Numbers in places a reader sees: the subject
//! as encoded words, a display name, text bodies in every Japanese charset and transfer
//! encoding, HTML, attachment file names (RFC 2231 and encoded words), CSV attachments,
//! ZIP entries and their names, attached messages, multiparts nested with long boundaries,
//! decoy parts with duplicate headers and long header blocks. The model knows where every
//! number is; the check: each one is found (by its masked form), or the report says that
//! something was not fully read (then policy holds the mail). Silence is the failure.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use libfuzzer_sys::fuzz_target;
use mamori_dlp::{Inspector, Limits, ScanConfig};

/// The fuzzer's bytes as a stream of choices (zeros once they run out).
struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }
    fn flip(&mut self) -> bool {
        self.byte() & 1 == 1
    }
}

/// The numbers hidden so far: the first four digits (unique) and the last two.
struct Hidden {
    masks: Vec<(String, String)>,
}

impl Hidden {
    /// A new valid My Number, distinct in its first four digits, remembered.
    fn next(&mut self, c: &mut Choices<'_>) -> String {
        let n = self.masks.len();
        let mut payload: Vec<u8> = format!("{:04}", 1000 + n)
            .bytes()
            .map(|b| b - b'0')
            .collect();
        for _ in 0..7 {
            payload.push(c.byte() % 10);
        }
        let array: [u8; 11] = payload.clone().try_into().unwrap_or([1; 11]);
        payload.push(mamori_dlp::detectors::my_number::check_digit(&array));
        let digits: String = payload.iter().map(|d| char::from(b'0' + d)).collect();
        self.masks
            .push((digits[..4].to_string(), digits[10..].to_string()));
        digits
    }
}

const LABELS: [&str; 4] = ["個人番号", "マイナンバー", "個人番号：", "My Number "];

/// A sentence holding a new number.
fn sentence(c: &mut Choices<'_>, hidden: &mut Hidden) -> String {
    let number = hidden.next(c);
    let label = LABELS[c.below(LABELS.len())];
    let written = match c.below(4) {
        0 => number.clone(),
        1 => format!("{} {} {}", &number[..4], &number[4..8], &number[8..]),
        2 => format!("{}-{}-{}", &number[..4], &number[4..8], &number[8..]),
        _ => number
            .chars()
            .map(|d| char::from_u32(u32::from(d) - 0x30 + 0xFF10).unwrap_or(d))
            .collect(),
    };
    format!("{label}{written} です。")
}

/// Text in a charset, and the charset's label.
fn encode(c: &mut Choices<'_>, text: &str) -> (Vec<u8>, &'static str) {
    let (encoding, label) = match c.below(4) {
        0 => (encoding_rs::UTF_8, "utf-8"),
        1 => (encoding_rs::SHIFT_JIS, "shift_jis"),
        2 => (encoding_rs::EUC_JP, "euc-jp"),
        _ => (encoding_rs::ISO_2022_JP, "iso-2022-jp"),
    };
    (encoding.encode(text).0.into_owned(), label)
}

/// Bytes under a transfer encoding, and its name.
fn transfer(c: &mut Choices<'_>, bytes: &[u8]) -> (Vec<u8>, &'static str) {
    let eight_bit = bytes.iter().any(|&b| b >= 0x80);
    match c.below(3) {
        0 if !eight_bit => (bytes.to_vec(), "7bit"),
        0 | 1 => {
            let text = B64.encode(bytes);
            let lines: Vec<&[u8]> = text.as_bytes().chunks(76).collect();
            (lines.join(&b"\r\n"[..]), "base64")
        }
        _ => (quoted_printable(bytes), "quoted-printable"),
    }
}

/// Quoted-printable with soft line breaks at 70 characters (inside numbers too).
fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = 0;
    for &b in bytes {
        let piece = if (b'!'..=b'~').contains(&b) && b != b'=' {
            vec![b]
        } else if b == b'\n' {
            line = 0;
            out.extend_from_slice(b"\n");
            continue;
        } else if b == b'\r' {
            out.push(b'\r');
            continue;
        } else {
            format!("={b:02X}").into_bytes()
        };
        if line + piece.len() > 70 {
            out.extend_from_slice(b"=\r\n");
            line = 0;
        }
        line += piece.len();
        out.extend_from_slice(&piece);
    }
    out
}

/// An RFC 2047 encoded word of `text`.
fn encoded_word(c: &mut Choices<'_>, text: &str) -> String {
    let (bytes, label) = encode(c, text);
    if c.flip() {
        format!("=?{label}?B?{}?=", B64.encode(&bytes))
    } else {
        let q: String = bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("={b:02X}")
                }
            })
            .collect();
        format!("=?{label}?Q?{q}?=")
    }
}

/// A boundary of 1 to 200 characters.
fn boundary(c: &mut Choices<'_>, depth: usize) -> String {
    let len = 1 + c.below(200);
    let mut b = format!("b{depth}-");
    while b.len() < len {
        b.push(char::from(b'a' + c.byte() % 26));
    }
    b
}

/// Junk header fields a part may carry before the ones that matter (up to ~100 KiB).
fn junk_headers(c: &mut Choices<'_>) -> String {
    let fields = match c.below(8) {
        0 => 1000 + c.below(200),
        1 => 10,
        _ => 0,
    };
    (0..fields)
        .map(|i| format!("X-Junk-{i}: {}\r\n", "j".repeat(80)))
        .collect()
}

/// One MIME entity (headers and body, no trailing line break), `depth` levels down.
fn entity(c: &mut Choices<'_>, hidden: &mut Hidden, depth: usize) -> String {
    let junk = junk_headers(c);
    match if depth >= 3 { c.below(5) } else { c.below(7) } {
        0 | 1 => {
            let text = format!("本文です。\r\n{}\r\n", sentence(c, hidden));
            let (bytes, label) = encode(c, &text);
            let (body, cte) = transfer(c, &bytes);
            format!(
                "{junk}Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{}",
                String::from_utf8_lossy(&body)
            )
        }
        2 => {
            let text = format!(
                "<html><body><p>資料</p><div>{}</div></body></html>",
                sentence(c, hidden)
            );
            let (body, cte) = transfer(c, text.as_bytes());
            format!(
                "{junk}Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{}",
                String::from_utf8_lossy(&body)
            )
        }
        3 => {
            // A CSV attachment whose name may hold a number too.
            let number = sentence(c, hidden);
            let csv = format!("社員番号,氏名,備考\r\n1001,山田,{number}\r\n");
            let (bytes, _) = encode(c, &csv);
            let name = if c.flip() {
                format!("名簿_{}.csv", hidden.next(c))
            } else {
                "名簿.csv".to_string()
            };
            let disposition = if c.flip() {
                let (raw, label) = encode(c, &name);
                let pct: String = raw.iter().map(|b| format!("%{b:02X}")).collect();
                format!("attachment; filename*={label}''{pct}")
            } else {
                format!("attachment; filename=\"{}\"", encoded_word(c, &name))
            };
            format!(
                "{junk}Content-Type: application/octet-stream\r\nContent-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                B64.encode(&bytes)
            )
        }
        4 => {
            // A ZIP holding a text file, its entry name maybe a number.
            let text = sentence(c, hidden);
            let entry = if c.flip() {
                format!("{}.txt", hidden.next(c))
            } else {
                "memo.txt".to_string()
            };
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let method = if c.flip() {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            let bytes = zip
                .start_file(entry.as_str(), options)
                .and_then(|()| zip.write_all(text.as_bytes()).map_err(Into::into))
                .and_then(|()| zip.finish())
                .map(|cursor| cursor.into_inner())
                .unwrap_or_default();
            format!(
                "{junk}Content-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                B64.encode(&bytes)
            )
        }
        5 => {
            let inner = message(c, hidden, depth + 1);
            format!("{junk}Content-Type: message/rfc822\r\n\r\n{inner}")
        }
        _ => {
            let b = boundary(c, depth);
            let parts = 1 + c.below(3);
            let decoys = c.below(3);
            let mut body = String::from("preamble\r\n");
            for _ in 0..decoys {
                // A decoy with duplicate, differing headers: it costs readings.
                body.push_str(&format!(
                    "--{b}\r\nContent-Type: text/plain\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit\r\n\r\nZGVjb3k=\r\n"
                ));
            }
            for _ in 0..parts {
                body.push_str(&format!("--{b}\r\n{}\r\n", entity(c, hidden, depth + 1)));
            }
            body.push_str(&format!("--{b}--\r\n"));
            let kind = ["mixed", "alternative", "related"][c.below(3)];
            format!("{junk}Content-Type: multipart/{kind}; boundary=\"{b}\"\r\n\r\n{body}")
        }
    }
}

/// A whole message, `depth` levels down.
fn message(c: &mut Choices<'_>, hidden: &mut Hidden, depth: usize) -> String {
    let subject = if c.flip() {
        let s = sentence(c, hidden);
        encoded_word(c, &s)
    } else {
        "資料".to_string()
    };
    let name = if c.flip() {
        let number = hidden.next(c);
        encoded_word(c, &format!("山田 {number}"))
    } else {
        "Yamada".to_string()
    };
    format!(
        "From: \"{name}\" <a@office.example.jp>\r\nTo: b@client.example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n{}",
        entity(c, hidden, depth)
    )
}

fuzz_target!(|data: &[u8]| {
    static INSPECTOR: OnceLock<Inspector> = OnceLock::new();
    let inspector = INSPECTOR.get_or_init(|| {
        Inspector::new(&ScanConfig::default(), Limits::default()).unwrap_or_else(|e| panic!("{e}"))
    });
    let mut c = Choices { bytes: data, at: 0 };
    let mut hidden = Hidden { masks: Vec::new() };
    let raw = message(&mut c, &mut hidden, 0);
    let report = inspector.inspect_message(raw.as_bytes());
    if report.not_fully_read() {
        return; // held as not fully read: not silent
    }
    for (first, last) in &hidden.masks {
        let found = report.findings.iter().any(|f| {
            let digits: String = f
                .masked
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '*')
                .collect();
            digits.starts_with(first.as_str()) && digits.ends_with(last.as_str())
        }) || report.total_findings() > report.findings.len();
        assert!(
            found,
            "{first}******{last} was hidden and not found:\n{raw}\nreport: {report:#?}"
        );
    }
});
