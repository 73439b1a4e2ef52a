//! Single compressed files: gzip (`.gz`, `.tgz`), bzip2 (`.bz2`, `.tbz2`), xz (`.xz`,
//! `.txz`) and zstd (`.zst`, `.tzst`). Each is expanded under the bomb limits, then
//! extracted as the file it holds (named by the gzip header, else by the outer name without
//! its compression suffix; `.tgz` and its kin hold a `.tar`), one nesting level deeper.
//!
//! Every member or frame is read, as `gunzip`, `bunzip2`, `unxz` and `unzstd` read them:
//! concatenated members are one file to the recipient, so text in the second one is text
//! like any other. Bytes that no decoder accepts (corruption, or data hidden after the last
//! member) make the file unreadable after what came before them. The decoders' own memory
//! (an LZMA dictionary, a zstd window) is bounded by [`MAX_WINDOW_BYTES`]: a file that
//! declares more is reported unreadable, not allocated for.

use std::io::{self, Read};

use bzip2::read::MultiBzDecoder;
use flate2::read::MultiGzDecoder;
use lzma_rust2::XzReader;
use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

use super::bounded::{self, Expanded};
use super::{FileRef, Walk, short_name};
use crate::content::{Location, ProblemKind};

/// The largest dictionary or window a decoder may allocate: what `xz -9` and zstd up to
/// level 19 use. Larger ones (`zstd --long`, hand-made headers) are refused.
pub(crate) const MAX_WINDOW_BYTES: u64 = 64 << 20;

/// The compression formats read here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// gzip (RFC 1952), any number of members.
    Gzip,
    /// bzip2, any number of streams.
    Bzip2,
    /// xz (LZMA2), any number of streams.
    Xz,
    /// zstd, any number of frames, skippable frames skipped.
    Zstd,
}

impl Codec {
    /// The format `bytes` starts as, by its magic number.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0x1F, 0x8B]) {
            return Some(Self::Gzip);
        }
        // "BZh", the block size, then a block's magic (the digits of pi) or, for an empty
        // stream, the end-of-stream magic (the square root of pi).
        if bytes.starts_with(b"BZh")
            && bytes.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
            && bytes.get(4..10).is_some_and(|magic| {
                magic == b"\x31\x41\x59\x26\x53\x59" || magic == b"\x17\x72\x45\x38\x50\x90"
            })
        {
            return Some(Self::Bzip2);
        }
        if bytes.starts_with(b"\xFD7zXZ\x00") {
            return Some(Self::Xz);
        }
        if bytes.starts_with(&ZSTD_MAGIC) || skippable_frame(bytes).is_some() {
            return Some(Self::Zstd);
        }
        None
    }

    /// The format a file name's suffix or a declared MIME type names.
    pub(crate) fn named(ext: Option<&str>, content_type: &str) -> Option<Self> {
        match ext {
            Some("gz" | "tgz") => return Some(Self::Gzip),
            Some("bz2" | "tbz2" | "tbz" | "tb2") => return Some(Self::Bzip2),
            Some("xz" | "txz") => return Some(Self::Xz),
            Some("zst" | "zstd" | "tzst") => return Some(Self::Zstd),
            _ => {}
        }
        match content_type {
            "application/gzip" | "application/x-gzip" => Some(Self::Gzip),
            "application/x-bzip2" | "application/x-bzip" => Some(Self::Bzip2),
            "application/x-xz" => Some(Self::Xz),
            "application/zstd" | "application/x-zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    /// Its name in reports.
    fn label(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Bzip2 => "bzip2",
            Self::Xz => "xz",
            Self::Zstd => "zstd",
        }
    }

    /// The suffixes of files of this format, and what each stands for once removed.
    fn suffixes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Gzip => &[(".tgz", ".tar"), (".gz", "")],
            Self::Bzip2 => &[
                (".tbz2", ".tar"),
                (".tbz", ".tar"),
                (".tb2", ".tar"),
                (".bz2", ""),
            ],
            Self::Xz => &[(".txz", ".tar"), (".xz", "")],
            Self::Zstd => &[(".tzst", ".tar"), (".zstd", ""), (".zst", "")],
        }
    }

    /// A reader of what `bytes` expands to.
    pub(crate) fn decoder<'a>(self, bytes: &'a [u8]) -> Box<dyn Read + 'a> {
        match self {
            Self::Gzip => Box::new(MultiGzDecoder::new(bytes)),
            Self::Bzip2 => Box::new(MultiBzDecoder::new(bytes)),
            Self::Xz => {
                let limit_kib = u32::try_from(MAX_WINDOW_BYTES >> 10)
                    .unwrap_or(u32::MAX)
                    .saturating_add(1024);
                Box::new(XzReader::new_mem_limit(bytes, true, limit_kib))
            }
            Self::Zstd => Box::new(ZstdFrames::new(bytes)),
        }
    }
}

/// The magic number of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The length of the skippable frame `bytes` starts with (header included), if it starts
/// with one (magic `0x184D2A50`–`0x184D2A5F`, then a 32-bit length).
fn skippable_frame(bytes: &[u8]) -> Option<usize> {
    let magic = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    if magic & 0xFFFF_FFF0 != 0x184D_2A50 {
        return None;
    }
    let len = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    usize::try_from(len).ok()?.checked_add(8)
}

/// The frames of a zstd file, one after another (`ruzstd` decodes one frame at a time).
struct ZstdFrames<'a> {
    /// What follows the frame being decoded.
    rest: &'a [u8],
    /// The frame being decoded.
    frame: Option<StreamingDecoder<&'a [u8], FrameDecoder>>,
}

impl<'a> ZstdFrames<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            frame: None,
        }
    }
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = self.frame.as_mut() {
                let read = frame.read(buf)?;
                if read > 0 || buf.is_empty() {
                    return Ok(read);
                }
                if let Some(done) = self.frame.take() {
                    self.rest = done.into_inner();
                }
            }
            if self.rest.is_empty() {
                return Ok(0);
            }
            if let Some(skip) = skippable_frame(self.rest) {
                self.rest = self.rest.get(skip..).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::UnexpectedEof, "skippable frame cut short")
                })?;
                continue;
            }
            let frame = StreamingDecoder::new_with_max_window_size(self.rest, MAX_WINDOW_BYTES)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?;
            self.frame = Some(frame);
        }
    }
}

/// The name of what a compressed file holds: the gzip header's name, else the outer name
/// without the compression suffix.
fn inner_name(codec: Codec, outer: Option<&str>, header_name: Option<String>) -> String {
    let outer = outer.map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name));
    let inner = header_name
        .filter(|name| !name.is_empty())
        .or_else(|| {
            outer.map(|name| {
                let lower = name.to_ascii_lowercase();
                codec
                    .suffixes()
                    .iter()
                    .find(|(suffix, _)| lower.ends_with(suffix))
                    .and_then(|(suffix, stands_for)| {
                        let stem = name.get(..name.len() - suffix.len())?;
                        Some(format!("{stem}{stands_for}"))
                    })
                    .unwrap_or_else(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("({} content)", codec.label()));
    inner.chars().take(255).collect()
}

/// Extracts a compressed file of format `codec` at `location` (nesting depth `depth`).
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    file: &FileRef<'_>,
    codec: Codec,
    depth: usize,
) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let header_name = match codec {
        Codec::Gzip => MultiGzDecoder::new(file.bytes)
            .header()
            .and_then(|header| header.filename())
            .map(|raw| crate::charset::decode(raw, None)),
        _ => None,
    };
    let inner = inner_name(codec, file.name, header_name);
    let at = location.child(inner.clone());
    if !walk.out.enter_part(&at) {
        return;
    }
    let what = format!("{} content \"{}\"", codec.label(), short_name(&inner));
    let compressed = u64::try_from(file.bytes.len()).unwrap_or(u64::MAX);
    let decoder = codec.decoder(file.bytes);
    let data = match bounded::expand(walk, &at, &what, decoder, compressed) {
        Expanded::Done(data) => data,
        Expanded::Broken(data, error) => {
            walk.out.problem(
                &at,
                ProblemKind::Unreadable,
                format!("corrupt {} data: {error}", codec.label()),
            );
            if data.is_empty() {
                super::unsupported::scan_strings(walk, location, file.bytes);
                return;
            }
            data
        }
        Expanded::Bomb => return,
    };
    walk.entry_file(&at, &inner, &data, depth);
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use lzma_rust2::{XzOptions, XzWriter};

    use super::*;
    use crate::content::{Collector, Extraction, Limits, SegmentKind};
    use crate::extract::extract_file;

    const ALL: [Codec; 4] = [Codec::Gzip, Codec::Bzip2, Codec::Xz, Codec::Zstd];

    fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
        match codec {
            Codec::Gzip => {
                let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            Codec::Bzip2 => {
                let mut encoder =
                    bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            Codec::Xz => {
                let mut encoder = XzWriter::new(Vec::new(), XzOptions::with_preset(1)).unwrap();
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            Codec::Zstd => {
                ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
            }
        }
    }

    fn scan(name: Option<&str>, bytes: &[u8]) -> Extraction {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let file = FileRef {
            name,
            content_type: None,
            charset: None,
            bytes,
        };
        extract_file(&mut out, &Location::root().child("a"), &file, 1);
        out.finish()
    }

    fn text_of(report: &Extraction) -> String {
        report.segments.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn each_format_is_sniffed_read_and_named_without_its_suffix() {
        let csv = "氏名,番号\n山田,123456789018\n".as_bytes();
        for (codec, name, inner) in [
            (Codec::Gzip, "名簿.csv.gz", "名簿.csv"),
            (Codec::Bzip2, "名簿.csv.bz2", "名簿.csv"),
            (Codec::Xz, "名簿.csv.xz", "名簿.csv"),
            (Codec::Zstd, "名簿.csv.zst", "名簿.csv"),
        ] {
            let packed = compress(codec, csv);
            assert_eq!(Codec::sniff(&packed), Some(codec));
            let report = scan(Some(name), &packed);
            assert!(
                report.problems.is_empty(),
                "{codec:?}: {:?}",
                report.problems
            );
            let segment = &report.segments[0];
            assert_eq!(segment.kind, SegmentKind::Attachment);
            assert_eq!(segment.location.to_string(), format!("a › {inner}"));
            assert!(segment.text.contains("123456789018"), "{codec:?}");
            // With no name, the content is named for its format.
            let report = scan(None, &packed);
            assert_eq!(
                report.segments[0].location.to_string(),
                format!("a › ({} content)", codec.label())
            );
        }
    }

    #[test]
    fn short_tar_suffixes_stand_for_tar() {
        for (codec, outer, inner) in [
            (Codec::Gzip, "x.tgz", "x.tar"),
            (Codec::Gzip, "X.TAR.GZ", "X.TAR"),
            (Codec::Bzip2, "x.tbz2", "x.tar"),
            (Codec::Bzip2, "x.tbz", "x.tar"),
            (Codec::Xz, "dir/x.txz", "x.tar"),
            (Codec::Zstd, "x.tzst", "x.tar"),
            (Codec::Zstd, "x.zstd", "x"),
            (Codec::Xz, "x.bin", "x.bin"),
        ] {
            assert_eq!(inner_name(codec, Some(outer), None), inner, "{outer}");
        }
        let header = Some("社員.csv".to_string());
        assert_eq!(inner_name(Codec::Gzip, Some("a.gz"), header), "社員.csv");
    }

    #[test]
    fn text_in_a_later_member_or_frame_is_read() {
        for codec in ALL {
            let mut packed = compress(codec, b"first part, nothing here\n");
            packed.extend(compress(codec, b"second part: 123456789018\n"));
            let report = scan(Some("x.txt"), &packed);
            assert!(
                report.problems.is_empty(),
                "{codec:?}: {:?}",
                report.problems
            );
            let text = text_of(&report);
            assert!(text.contains("first part"), "{codec:?}: {text}");
            assert!(text.contains("123456789018"), "{codec:?}: {text}");
        }
        // zstd: skippable frames (metadata a tool may add) before, between and after.
        let skippable = |payload: &[u8]| {
            let mut frame = 0x184D_2A53u32.to_le_bytes().to_vec();
            frame.extend(u32::try_from(payload.len()).unwrap().to_le_bytes());
            frame.extend(payload);
            frame
        };
        let mut packed = skippable(b"meta");
        packed.extend(compress(Codec::Zstd, b"one "));
        packed.extend(skippable(b""));
        packed.extend(compress(Codec::Zstd, b"123456789018"));
        packed.extend(skippable(b"tail"));
        assert_eq!(Codec::sniff(&packed), Some(Codec::Zstd));
        let report = scan(None, &packed);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(text_of(&report).contains("one 123456789018"));
    }

    #[test]
    fn bytes_after_the_last_member_make_it_unreadable_but_keep_what_came_before() {
        for codec in ALL {
            let mut packed = compress(codec, b"visible 123456789018\n");
            packed.extend(b"hidden after the stream: 234567890126 and more bytes");
            let report = scan(Some("x.txt"), &packed);
            assert!(
                report
                    .problems
                    .iter()
                    .any(|p| p.kind == ProblemKind::Unreadable),
                "{codec:?}: {:?}",
                report.problems
            );
            assert!(text_of(&report).contains("123456789018"), "{codec:?}");
        }
    }

    #[test]
    fn bombs_are_stopped_in_every_format() {
        for codec in ALL {
            let packed = compress(codec, &vec![0u8; 20 << 20]);
            assert!(packed.len() < 100 << 10, "{codec:?}: {}", packed.len());
            let problems = scan(None, &packed).problems;
            assert_eq!(problems.len(), 1, "{codec:?}: {problems:?}");
            assert_eq!(problems[0].kind, ProblemKind::ArchiveBomb, "{codec:?}");
        }
    }

    #[test]
    fn truncated_data_is_unreadable_in_every_format() {
        for codec in ALL {
            let packed = compress(codec, &b"some text 1234 ".repeat(1000));
            let cut = packed.get(..packed.len() / 2).unwrap();
            let problems = scan(Some("x.txt"), cut).problems;
            assert!(
                problems.iter().any(|p| p.kind == ProblemKind::Unreadable),
                "{codec:?}: {problems:?}"
            );
        }
    }

    /// CRC-32 (IEEE), for patching an xz block header.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_window_past_the_limit_is_refused_not_allocated() {
        // xz: the block header's LZMA2 dictionary size raised to 128 MiB (code 30).
        let mut packed = compress(Codec::Xz, b"123456789018");
        let header = 12;
        let size = (usize::from(packed[header]) + 1) * 4;
        let props = packed[header..header + size]
            .windows(3)
            .position(|w| w[0] == 0x21 && w[1] == 0x01)
            .map(|at| header + at + 2)
            .unwrap();
        packed[props] = 30;
        let crc = crc32(&packed[header..header + size - 4]);
        packed[header + size - 4..header + size].copy_from_slice(&crc.to_le_bytes());
        let problems = scan(None, &packed).problems;
        assert!(
            problems
                .iter()
                .any(|p| p.kind == ProblemKind::Unreadable && p.detail.contains("memory")),
            "{problems:?}"
        );
        // zstd: a frame of one raw block, declaring a window of 2^(10 + exponent).
        let frame = |exponent: u8| {
            let mut frame = ZSTD_MAGIC.to_vec();
            frame.extend([0x00, exponent << 3]);
            frame.extend([0x29, 0x00, 0x00]);
            frame.extend(b"hello");
            frame
        };
        let small = scan(None, &frame(10));
        assert!(small.problems.is_empty(), "{:?}", small.problems);
        assert!(text_of(&small).contains("hello"));
        let large = scan(None, &frame(17)).problems;
        assert!(
            large
                .iter()
                .any(|p| p.kind == ProblemKind::Unreadable && p.detail.contains("indow")),
            "{large:?}"
        );
    }

    #[test]
    fn text_that_merely_starts_like_bzip2_is_text() {
        assert_eq!(Codec::sniff(b"BZh91AY&SY"), Some(Codec::Bzip2));
        assert_eq!(Codec::sniff(b"BZh9 is a label, not a stream"), None);
        assert_eq!(Codec::sniff(b"BZh"), None);
        assert_eq!(Codec::sniff(b""), None);
        assert_eq!(Codec::sniff(b"\x50\x2A\x4D"), None);
    }
}
