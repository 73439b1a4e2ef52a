//! RAR archives built by the tests, to RARLAB's format notes (the corpus's `make_rar.py`
//! builds the same kinds and checks them with bsdtar): stored entries read, compressed
//! ones held, encryption reported from the structure, damage reported.

use super::*;
use crate::content::{Extraction, SegmentKind};
use crate::extract::tests::{my_number, my_numbers};

fn vint_bytes(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A RAR 5 block of `kind` with `fields`, an `extra` area and a `data` area.
fn block5(kind: u64, flags: u64, fields: &[u8], extra: &[u8], data: Option<&[u8]>) -> Vec<u8> {
    let mut flags = flags;
    if !extra.is_empty() {
        flags |= 0x01;
    }
    if data.is_some() {
        flags |= 0x02;
    }
    let mut body = vint_bytes(kind);
    body.extend(vint_bytes(flags));
    if !extra.is_empty() {
        body.extend(vint_bytes(extra.len() as u64));
    }
    if let Some(data) = data {
        body.extend(vint_bytes(data.len() as u64));
    }
    body.extend(fields);
    body.extend(extra);
    let mut head = vint_bytes(body.len() as u64);
    head.extend(body);
    let mut out = crc32fast::hash(&head).to_le_bytes().to_vec();
    out.extend(head);
    out.extend(data.unwrap_or_default());
    out
}

/// How a test entry is written.
#[derive(Clone, Copy, Default)]
struct How {
    method: u64,
    encrypted: bool,
    directory: bool,
    split: bool,
    service: bool,
}

fn file5(name: &str, data: &[u8], how: How) -> Vec<u8> {
    let file_flags = if how.directory { 0x01 } else { 0x04 };
    let mut fields = vint_bytes(file_flags);
    fields.extend(vint_bytes(data.len() as u64));
    fields.extend(vint_bytes(0x20));
    if !how.directory {
        fields.extend(crc32fast::hash(data).to_le_bytes());
    }
    fields.extend(vint_bytes(how.method << 7));
    fields.extend(vint_bytes(0));
    fields.extend(vint_bytes(name.len() as u64));
    fields.extend(name.as_bytes());
    let mut extra = Vec::new();
    if how.encrypted {
        let mut record = vint_bytes(0x01);
        record.extend([0, 0, 15]);
        record.extend([0xA5; 32]);
        extra = vint_bytes(record.len() as u64);
        extra.extend(record);
    }
    let kind = if how.service { 3 } else { 2 };
    let flags = if how.split { 0x10 } else { 0 };
    block5(kind, flags, &fields, &extra, Some(data))
}

fn rar5(entries: &[(&str, &[u8], How)]) -> Vec<u8> {
    let mut out = SIGNATURE_5.to_vec();
    out.extend(block5(1, 0, &[0], &[], None));
    for (name, data, how) in entries {
        out.extend(file5(name, data, *how));
    }
    out.extend(block5(5, 0, &[0], &[], None));
    out
}

fn run(bytes: &[u8]) -> Extraction {
    crate::extract::tests::run(Some("a.rar"), bytes)
}

/// The entry names scanned, in order.
fn file_names(extraction: &Extraction) -> Vec<&str> {
    extraction
        .segments
        .iter()
        .filter(|s| s.kind == SegmentKind::FileName)
        .map(|s| s.text.as_str())
        .collect()
}

fn kinds(extraction: &Extraction) -> Vec<ProblemKind> {
    extraction.problems.iter().map(|p| p.kind).collect()
}

#[test]
fn stored_entries_of_rar5_are_read_and_every_name_scanned() {
    let number = my_number();
    let csv = format!("氏名,番号\n山田,{number}\n");
    let archive = rar5(&[
        (
            "docs",
            b"",
            How {
                directory: true,
                ..How::default()
            },
        ),
        ("docs/社員.csv", csv.as_bytes(), How::default()),
        (
            "CMT",
            format!("comment {number}").as_bytes(),
            How {
                service: true,
                ..How::default()
            },
        ),
        (
            "ACL",
            b"123456789018",
            How {
                service: true,
                ..How::default()
            },
        ),
    ]);
    let extraction = run(&archive);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    let names = file_names(&extraction);
    assert_eq!(names, ["docs", "docs/社員.csv", "CMT"]);
    assert_eq!(
        my_numbers(&extraction),
        ["a.rar › docs/社員.csv", "a.rar › CMT"]
    );
}

#[test]
fn compressed_encrypted_and_split_entries_are_reported_by_name() {
    let number = my_number();
    assert_eq!(number, "123456789018");
    let archive = rar5(&[
        (
            "packed.csv",
            b"\x01\x02\x03 not stored",
            How {
                method: 3,
                ..How::default()
            },
        ),
        (
            "secret.csv",
            &[0x5A; 32],
            How {
                encrypted: true,
                ..How::default()
            },
        ),
        (
            "part.csv",
            number.as_bytes(),
            How {
                split: true,
                ..How::default()
            },
        ),
        (&format!("{number}.txt"), b"x", How::default()),
    ]);
    let extraction = run(&archive);
    assert_eq!(
        kinds(&extraction),
        [
            ProblemKind::UnsupportedFormat,
            ProblemKind::Encrypted,
            ProblemKind::Unreadable
        ],
        "{:?}",
        extraction.problems
    );
    // The number in a name is found (locations mask it); the split entry's content is not
    // read as whole.
    assert_eq!(my_numbers(&extraction), ["a.rar › 1234******18.txt"]);
}

#[test]
fn encrypted_headers_hide_everything_and_say_so() {
    let mut archive = SIGNATURE_5.to_vec();
    let mut fields = vec![0, 1, 15];
    fields.extend([0x11; 28]);
    archive.extend(block5(4, 0, &fields, &[], None));
    archive.extend([0x77; 160]);
    let extraction = run(&archive);
    assert_eq!(kinds(&extraction), [ProblemKind::Encrypted]);
}

#[test]
fn damage_is_unreadable_and_what_came_before_is_kept() {
    let number = my_number();
    let archive = rar5(&[
        ("a.txt", number.as_bytes(), How::default()),
        ("b.txt", b"second", How::default()),
    ]);
    // A header CRC broken in the second entry.
    let second = archive.windows(5).position(|w| w == b"b.txt").unwrap();
    let mut bad = archive.clone();
    bad[second] = b'c';
    let extraction = run(&bad);
    assert_eq!(kinds(&extraction), [ProblemKind::Unreadable]);
    assert_eq!(my_numbers(&extraction), ["a.rar › a.txt"]);
    // Every cut of the archive: no panic, never clean.
    for cut in SIGNATURE_5.len()..archive.len() {
        let extraction = run(&archive[..cut]);
        assert!(
            !extraction.problems.is_empty(),
            "cut at {cut}: {:?}",
            extraction.segments
        );
    }
}

/// A RAR 4 block: CRC16, type, flags, size, fields, then `data`.
fn block4(kind: u8, flags: u16, fields: &[u8], data: &[u8]) -> Vec<u8> {
    let size = u16::try_from(7 + fields.len()).unwrap();
    let mut head = vec![kind];
    head.extend(flags.to_le_bytes());
    head.extend(size.to_le_bytes());
    head.extend(fields);
    let crc = (crc32fast::hash(&head) & 0xFFFF) as u16;
    let mut out = crc.to_le_bytes().to_vec();
    out.extend(head);
    out.extend(data);
    out
}

fn file4(name: &[u8], data: &[u8], flags: u16, method: u8) -> Vec<u8> {
    let mut fields = u32::try_from(data.len()).unwrap().to_le_bytes().to_vec();
    fields.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
    fields.push(2);
    fields.extend(crc32fast::hash(data).to_le_bytes());
    fields.extend(0x5B85_0000u32.to_le_bytes());
    fields.extend([29, method]);
    fields.extend(u16::try_from(name.len()).unwrap().to_le_bytes());
    fields.extend(0x20u32.to_le_bytes());
    fields.extend(name);
    block4(0x74, flags | 0x8000, &fields, data)
}

fn rar4(main_flags: u16, files: &[Vec<u8>]) -> Vec<u8> {
    let mut out = SIGNATURE_4.to_vec();
    out.extend(block4(0x73, main_flags, &[0; 6], &[]));
    for file in files {
        out.extend(file);
    }
    out.extend(block4(0x7B, 0x4000, &[], &[]));
    out
}

#[test]
fn rar4_stored_entries_cp932_and_unicode_names_are_read() {
    let number = my_number();
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode("社員.csv");
    // A Unicode name encoded against an ASCII code-page name: opcode 3 copies "ab" from
    // it, opcode 1 gives U+30DE (high byte 0x30, low 0xDE), opcode 2 gives U+756A.
    let mut unicode_name = b"ab.txt\x00".to_vec();
    unicode_name.extend([0x30, 0b1101_1000, 0x00, 0xDE, 0x6A, 0x75]);
    let archive = rar4(
        0,
        &[
            file4(&cp932, number.as_bytes(), 0, 0x30),
            file4(&unicode_name, b"memo", 0x0200, 0x30),
            file4(b"packed.bin", b"\x00\x01", 0, 0x33),
            file4(b"locked.csv", &[0x42; 24], 0x0004, 0x30),
        ],
    );
    let extraction = run(&archive);
    assert_eq!(
        kinds(&extraction),
        [ProblemKind::UnsupportedFormat, ProblemKind::Encrypted],
        "{:?}",
        extraction.problems
    );
    assert_eq!(my_numbers(&extraction), ["a.rar › 社員.csv"]);
    let names = file_names(&extraction);
    assert!(names.contains(&"abマ番"), "{names:?}");
    assert!(names.contains(&"ab.txt"), "{names:?}");
}

#[test]
fn rar4_encrypted_headers_and_damage_are_reported() {
    let extraction = run(&rar4(0x0080, &[]));
    assert_eq!(kinds(&extraction), [ProblemKind::Encrypted]);
    let number = my_number();
    let archive = rar4(0, &[file4(b"a.txt", number.as_bytes(), 0, 0x30)]);
    for cut in SIGNATURE_4.len()..archive.len() - 7 {
        let extraction = run(&archive[..cut]);
        assert!(
            !extraction.problems.is_empty(),
            "cut at {cut}: {:?}",
            extraction.segments
        );
    }
}

#[test]
fn the_unicode_name_decoder_stays_in_bounds() {
    assert_eq!(decode_unicode_name(b"", b""), None);
    // A copy past the end of the code-page name, and opcodes past the end of the data.
    assert_eq!(decode_unicode_name(b"a", &[0x00, 0xFF, 0x7F]), None);
    assert_eq!(decode_unicode_name(b"", &[0x00, 0b1000_0000, 0x41]), None);
    let long = vec![0x00; 20_000];
    assert!(decode_unicode_name(b"", &long).is_some_and(|n| n.chars().count() <= 4096));
}
