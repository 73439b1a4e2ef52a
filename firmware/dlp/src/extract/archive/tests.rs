//! ZIP archives built by the tests: CP932 names, encrypted entries (the flag patched in),
//! bombs (deflated zeros, nested, overlapping entries), corrupt archives, part limits.

use std::time::{Duration, Instant};

use ::zip::CompressionMethod;

use crate::content::{Collector, Limits, Location, ProblemKind, SegmentKind};
use crate::extract::tests::{all_text, my_number, my_numbers, run, zip, zip_with};
use crate::extract::{FileRef, extract_file};

/// Every offset of `needle` in `haystack`.
fn offsets(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    for at in offsets(bytes, from) {
        bytes[at..at + to.len()].copy_from_slice(to);
    }
}

fn kinds(problems: &[crate::content::Problem]) -> Vec<ProblemKind> {
    problems.iter().map(|p| p.kind).collect()
}

#[test]
fn cp932_entry_names_are_decoded_and_scanned() {
    let number = my_number();
    let mut archive = zip(&[("XXXX.csv", number.as_bytes())]);
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode("社員.csv");
    assert_eq!(cp932.len(), 8);
    replace_all(&mut archive, b"XXXX.csv", &cp932);
    let extraction = run(Some("名簿.zip"), &archive);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    let name = &extraction.segments[0];
    assert_eq!(name.kind, SegmentKind::FileName);
    assert_eq!(name.text, "社員.csv");
    assert_eq!(my_numbers(&extraction), ["名簿.zip › 社員.csv"]);
}

#[test]
fn encrypted_entries_are_reported_and_the_others_read() {
    let number = my_number();
    let mut archive = zip(&[
        ("secret.csv", b"hidden 111111111111".as_slice()),
        ("open.txt", number.as_bytes()),
    ]);
    // Set the "encrypted" flag (bit 0) of the first entry, in its local and central headers.
    let local = offsets(&archive, b"PK\x03\x04")[0];
    archive[local + 6] |= 1;
    let central = offsets(&archive, b"PK\x01\x02")[0];
    archive[central + 8] |= 1;
    let extraction = run(Some("a.zip"), &archive);
    assert_eq!(kinds(&extraction.problems), [ProblemKind::Encrypted]);
    assert!(
        extraction.problems[0].detail.contains("\"secret.csv\""),
        "{:?}",
        extraction.problems
    );
    assert_eq!(
        extraction.problems[0].location.to_string(),
        "a.zip › secret.csv"
    );
    assert!(!all_text(&extraction).contains("hidden"));
    assert_eq!(my_numbers(&extraction), ["a.zip › open.txt"]);
}

fn zeros_zip(size: usize) -> Vec<u8> {
    zip(&[
        ("zeros.bin", &vec![0u8; size]),
        ("after.txt", b"text after"),
    ])
}

#[test]
fn a_zip_bomb_is_stopped_quickly_with_bounded_memory() {
    let archive = zeros_zip(50 << 20);
    assert!(archive.len() < 100 << 10, "{}", archive.len());
    let limits = Limits::default();
    let started = Instant::now();
    let mut out = Collector::new(&limits);
    let file = FileRef {
        name: Some("bomb.zip"),
        content_type: None,
        charset: None,
        bytes: &archive,
    };
    extract_file(&mut out, &Location::root().child("bomb.zip"), &file, 1);
    // Only max_ratio × the compressed size (plus one byte) was ever expanded.
    let spent = limits.max_expanded_bytes - out.expansion_left();
    assert!(spent <= 100 * archive.len() as u64 + 1, "{spent}");
    let extraction = out.finish();
    assert_eq!(kinds(&extraction.problems), [ProblemKind::ArchiveBomb]);
    let problem = &extraction.problems[0];
    assert!(
        problem
            .detail
            .starts_with("entry \"zeros.bin\" expands more than 100:1"),
        "{problem:?}"
    );
    assert_eq!(problem.location.to_string(), "bomb.zip › zeros.bin");
    // The archive stops at the bomb.
    assert!(!all_text(&extraction).contains("text after"));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_nested_zip_bomb_is_stopped() {
    let inner = zeros_zip(20 << 20);
    let outer = zip_with(
        &[
            ("readme.txt", b"see inside".as_slice()),
            ("inner.zip", &inner),
        ],
        CompressionMethod::Stored,
    );
    let extraction = run(Some("outer.zip"), &outer);
    assert_eq!(kinds(&extraction.problems), [ProblemKind::ArchiveBomb]);
    assert_eq!(
        extraction.problems[0].location.to_string(),
        "outer.zip › inner.zip › zeros.bin"
    );
    assert!(all_text(&extraction).contains("see inside"));
}

/// An archive whose central directory lists the one entry of `archive` `copies` times
/// under different names: every entry overlaps the same data.
fn overlapping(archive: &[u8], copies: usize) -> Vec<u8> {
    let eocd = *offsets(archive, b"PK\x05\x06").last().unwrap();
    let field = |at: usize, len: usize| {
        archive[at..at + len]
            .iter()
            .rev()
            .fold(0usize, |v, &b| v << 8 | usize::from(b))
    };
    let cd_size = field(eocd + 12, 4);
    let cd_offset = field(eocd + 16, 4);
    let entry = &archive[cd_offset..cd_offset + cd_size];
    let mut out = archive[..cd_offset].to_vec();
    for i in 0..copies {
        let mut copy = entry.to_vec();
        let name = format!("e{i:04}");
        replace_all(&mut copy, b"a.txt", name.as_bytes());
        out.extend_from_slice(&copy);
    }
    let mut end = b"PK\x05\x06\0\0\0\0".to_vec();
    end.extend_from_slice(&(copies as u16).to_le_bytes());
    end.extend_from_slice(&(copies as u16).to_le_bytes());
    end.extend_from_slice(&((cd_size * copies) as u32).to_le_bytes());
    end.extend_from_slice(&(cd_offset as u32).to_le_bytes());
    end.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&end);
    out
}

#[test]
fn overlapping_entries_are_bounded_by_the_total_budget() {
    // 1 MiB of digits that do not compress much, listed 50 times.
    let mut state = 12345u32;
    let data: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'0' + (state >> 16) as u8 % 10
        })
        .collect();
    let archive = overlapping(&zip(&[("a.txt", &data)]), 50);
    let limits = Limits {
        max_expanded_bytes: 8 << 20,
        ..Limits::default()
    };
    let mut out = Collector::new(&limits);
    let file = FileRef {
        name: Some("o.zip"),
        content_type: None,
        charset: None,
        bytes: &archive,
    };
    extract_file(&mut out, &Location::root(), &file, 1);
    // Only growth is counted: random digits compress to about 45 %, so each entry spends
    // a little over half a MiB, and the budget runs out after about fifteen.
    let extraction = out.finish();
    assert_eq!(kinds(&extraction.problems), [ProblemKind::ExpansionRatio]);
    assert!(extraction.problems[0].detail.contains("in all"));
    let read = extraction
        .segments
        .iter()
        .filter(|s| s.kind == SegmentKind::Attachment)
        .count();
    assert!((10..=20).contains(&read), "{read}");
}

#[test]
fn corrupt_archives_are_unreadable() {
    let extraction = run(Some("a.zip"), b"PK\x03\x04 this is not a zip at all");
    assert_eq!(kinds(&extraction.problems), [ProblemKind::Unreadable]);
    let archive = zip(&[("a.txt", b"some text".as_slice())]);
    let half = &archive[..archive.len() / 2];
    let extraction = run(Some("a.zip"), half);
    assert_eq!(kinds(&extraction.problems), [ProblemKind::Unreadable]);
    // A damaged entry: a bad checksum is reported and the other entries read.
    let mut archive = zip_with(
        &[("a.txt", b"some text".as_slice()), ("b.txt", b"other")],
        CompressionMethod::Stored,
    );
    replace_all(&mut archive, b"some text", b"SOME TEXT");
    let extraction = run(Some("a.zip"), &archive);
    assert_eq!(kinds(&extraction.problems), [ProblemKind::Unreadable]);
    assert!(all_text(&extraction).contains("other"));
}

#[test]
fn the_part_limit_stops_the_archive() {
    let entries: Vec<(String, Vec<u8>)> = (0..10)
        .map(|i| (format!("{i}.txt"), b"x".to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let archive = zip(&refs);
    let limits = Limits {
        max_parts: 4,
        ..Limits::default()
    };
    let mut out = Collector::new(&limits);
    let file = FileRef {
        name: None,
        content_type: None,
        charset: None,
        bytes: &archive,
    };
    extract_file(&mut out, &Location::root(), &file, 1);
    let extraction = out.finish();
    assert_eq!(kinds(&extraction.problems), [ProblemKind::TooManyParts]);
    let names = extraction
        .segments
        .iter()
        .filter(|s| s.kind == SegmentKind::FileName)
        .count();
    assert_eq!(names, 4);
}

/// A real PNG of `side` × `side` noisy grey pixels (chunks with their CRCs): it does not
/// compress.
fn noisy_png(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut state = 99u32;
    let mut raw = Vec::new();
    for _ in 0..side {
        let row = (0..side).map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 16) as u8
        });
        raw.extend(std::iter::once(0).chain(row)); // filter: none, then the pixels
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).unwrap();
    let idat = z.finish().unwrap();
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn real_images_cost_no_expansion_and_raise_no_problem() {
    let png = noisy_png(1024);
    let archive = zip(&[("photo.png", &png), ("photo2.png", &png)]);
    let limits = Limits::default();
    let mut out = Collector::new(&limits);
    let file = FileRef {
        name: None,
        content_type: None,
        charset: None,
        bytes: &archive,
    };
    extract_file(&mut out, &Location::root(), &file, 1);
    assert!(
        limits.max_expanded_bytes - out.expansion_left() < 64 << 10,
        "{}",
        limits.max_expanded_bytes - out.expansion_left()
    );
    let problems = out.finish().problems;
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn an_entry_that_only_starts_like_an_image_is_read() {
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice("社員番号,個人番号\n1001,123456789018\n".as_bytes());
    let archive = zip(&[("photo.png", &fake)]);
    let extraction = run(None, &archive);
    assert!(all_text(&extraction).contains("123456789018"));
}

#[test]
fn entries_of_every_common_method_are_read() {
    let number = my_number();
    for method in [
        CompressionMethod::Stored,
        CompressionMethod::Deflated,
        CompressionMethod::Bzip2,
        CompressionMethod::Xz,
    ] {
        let archive = zip_with(&[("番号.txt", number.as_bytes())], method);
        let extraction = run(Some("a.zip"), &archive);
        assert!(
            extraction.problems.is_empty(),
            "{method:?}: {:?}",
            extraction.problems
        );
        assert_eq!(my_numbers(&extraction), ["a.zip › 番号.txt"], "{method:?}");
    }
}

#[test]
fn zstd_entries_are_read_in_place() {
    let text = format!("番号: {}\n", my_number()).repeat(50);
    let packed = ruzstd::encoding::compress_to_vec(
        text.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    // A stored entry of the zstd bytes, then the method (93) and the expanded size patched
    // into the local and the central header, as 7-Zip ZS and WinZip write them.
    let mut archive = zip_with(&[("a.txt", packed.as_slice())], CompressionMethod::Stored);
    let size = u32::try_from(text.len()).unwrap().to_le_bytes();
    let local = offsets(&archive, b"PK\x03\x04")[0];
    archive[local + 8..local + 10].copy_from_slice(&93u16.to_le_bytes());
    archive[local + 22..local + 26].copy_from_slice(&size);
    let central = offsets(&archive, b"PK\x01\x02")[0];
    archive[central + 10..central + 12].copy_from_slice(&93u16.to_le_bytes());
    archive[central + 24..central + 28].copy_from_slice(&size);
    let extraction = run(Some("a.zip"), &archive);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    assert_eq!(my_numbers(&extraction).len(), 50);
    // A zstd entry that claims more bytes than the archive has is unreadable, not a panic.
    let mut cut = archive.clone();
    let central = offsets(&cut, b"PK\x01\x02")[0];
    cut[central + 20..central + 24].copy_from_slice(&u32::MAX.to_le_bytes());
    let extraction = run(Some("a.zip"), &cut);
    assert!(
        kinds(&extraction.problems).contains(&ProblemKind::Unreadable),
        "{:?}",
        extraction.problems
    );
}
