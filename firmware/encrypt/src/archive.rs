//! The encrypted ZIP archive that replaces a mail's attachments.
//!
//! - **Cipher**: AES-256 as WinZip's AE-2 defines it (PBKDF2-HMAC-SHA1 key derivation with a
//!   random salt per entry, AES-CTR, HMAC-SHA1 authentication), which 7-Zip, Lhaplus,
//!   CubeICE, WinZip and macOS's Archive Utility open; or, per rule, traditional ZipCrypto,
//!   which Windows Explorer opens too but which a known-plaintext attack breaks: it is
//!   labelled weaker wherever it is chosen.
//! - **Names**: the attachment's file name only (never a path: `..\` and `/` are dropped),
//!   without control characters, unique in the archive (`見積書 (2).pdf`), in UTF-8 with the
//!   language-encoding flag (bit 11) that every current archiver reads, or in CP932 for old
//!   Japanese archivers that read names as Shift_JIS (a character CP932 lacks becomes `_`).
//! - **Compression**: data that is compressed already (ZIP-based Office files, JPEG, PNG,
//!   GIF, archives, compressed streams; found by its first bytes, not its name) is stored,
//!   the rest deflated: compressing a JPEG again costs time and saves nothing.
//!
//! The entries are streamed from their readers into the output: nothing holds a second
//! copy of an attachment.

use std::io::{Read, Seek, Write};

use encoding_rs::SHIFT_JIS;
use zip::write::{FileOptions, SimpleFileOptions, ZipWriter};
use zip::{AesMode, CompressionMethod, DateTime};

use crate::encrypted::read_up_to;
use crate::password::Password;

/// How the entries are encrypted.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Cipher {
    /// WinZip AE-2, AES-256 (the default).
    #[default]
    Aes256,
    /// Traditional PKWARE encryption: opened by Windows Explorer, broken by a
    /// known-plaintext attack. Only for recipients whose tools open nothing else.
    ZipCrypto,
}

/// How entry names are written.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NameCharset {
    /// UTF-8 with the language-encoding flag (the default).
    #[default]
    Utf8,
    /// CP932 (Shift_JIS), no flag, for old Japanese archivers.
    Cp932,
}

/// How an archive is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// The cipher.
    pub cipher: Cipher,
    /// The charset of the names.
    pub names: NameCharset,
    /// The entries' modification time (the mail's date, so that the same mail gives the
    /// same names and times); `None`: 1980-01-01.
    pub modified: Option<DateTime>,
}

/// The time `unix` (seconds) at `utc_offset` seconds east of UTC as a ZIP time (which
/// has no zone: archivers show it as it is, so the office's local time), or `None` outside
/// the years ZIP can write (1980–2107).
pub fn zip_time(unix: u64, utc_offset: i64) -> Option<DateTime> {
    let local = i64::try_from(unix).ok()?.checked_add(utc_offset)?;
    let (year, month, day) = mamori_core::clock::civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    DateTime::from_date_and_time(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
        u8::try_from(secs / 3600).ok()?,
        u8::try_from(secs % 3600 / 60).ok()?,
        u8::try_from(secs % 60).ok()?,
    )
    .ok()
}

/// One attachment to pack: its file name as the mail gave it, and its content.
pub struct Entry<R> {
    /// The file name (decoded from the MIME headers; any path in it is dropped).
    pub name: String,
    /// The content.
    pub data: R,
}

/// What was packed: each entry's name in the archive, its size, and whether it was stored
/// rather than deflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The entries, in order.
    pub entries: Vec<PackedEntry>,
}

/// One entry as packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedEntry {
    /// Its name in the archive (as text, whatever charset it is written in).
    pub name: String,
    /// Its size before compression.
    pub size: u64,
    /// Stored (already compressed) rather than deflated.
    pub stored: bool,
}

/// Why an archive could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// Reading an attachment or writing the archive failed.
    #[error("reading attachment {name:?} or writing the archive: {source}")]
    Io {
        /// The attachment being packed.
        name: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The ZIP writer refused (it should not, for what this module gives it).
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Nothing to pack.
    #[error("no attachments to pack")]
    Empty,
}

/// The longest name kept in the archive, in characters (before `(2)` and the like).
const MAX_NAME_CHARS: usize = 200;

/// Packs `entries` into an encrypted ZIP archive written to `out` with `password`.
pub fn pack<W, R, I>(
    out: W,
    entries: I,
    password: &Password,
    options: &Options,
) -> Result<(W, Packed), PackError>
where
    W: Write + Seek,
    R: Read,
    I: IntoIterator<Item = Entry<R>>,
{
    let mut zip = ZipWriter::new(out);
    let mut used = std::collections::HashSet::new();
    let mut packed = Vec::new();
    let modified = options.modified.unwrap_or_default();
    for entry in entries {
        let name = unique(&safe_name(&entry.name), &used);
        used.insert(name.to_lowercase());
        let io = |source| PackError::Io {
            name: entry.name.clone(),
            source,
        };
        let mut data = entry.data;
        // The first bytes decide whether it is compressed already.
        let mut head = [0u8; 16];
        let filled = read_up_to(&mut data, &mut head).map_err(io)?;
        let head = head.get(..filled).unwrap_or_default();
        // ZipCrypto falls to a known-plaintext attack with 12 known bytes: a stored PNG,
        // ZIP or DOCX gives them in its header, so under ZipCrypto everything is deflated.
        let stored = options.cipher == Cipher::Aes256 && compressed_already(head);
        let method = if stored {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let raw_name = match options.names {
            NameCharset::Utf8 => name.clone().into_bytes(),
            NameCharset::Cp932 => cp932(&name),
        };
        let base: SimpleFileOptions = FileOptions::default()
            .compression_method(method)
            .last_modified_time(modified)
            .large_file(false)
            .unix_permissions(0o644);
        let with_cipher = match options.cipher {
            Cipher::Aes256 => base.with_aes_encryption(AesMode::Aes256, password.expose()),
            Cipher::ZipCrypto => {
                use zip::unstable::write::FileOptionsExt;
                base.with_deprecated_encryption(password.expose().as_bytes())?
            }
        };
        zip.start_file_with_options(with_cipher.name(&raw_name))?;
        zip.write_all(head).map_err(io)?;
        let copied = std::io::copy(&mut data, &mut zip).map_err(io)?;
        packed.push(PackedEntry {
            name,
            size: copied + u64::try_from(head.len()).unwrap_or(0),
            stored,
        });
    }
    if packed.is_empty() {
        return Err(PackError::Empty);
    }
    let out = zip.finish()?;
    Ok((out, Packed { entries: packed }))
}

/// Is data starting with `head` compressed already (so that deflating it saves nothing)?
fn compressed_already(head: &[u8]) -> bool {
    const SIGNATURES: [&[u8]; 12] = [
        b"PK\x03\x04",             // ZIP, DOCX/XLSX/PPTX, ODF, JAR, EPUB
        b"\xFF\xD8\xFF",           // JPEG
        b"\x89PNG\r\n\x1A\n",      // PNG
        b"GIF8",                   // GIF
        b"7z\xBC\xAF\x27\x1C",     // 7z
        b"Rar!\x1A\x07",           // RAR
        b"\x1F\x8B",               // gzip
        b"BZh",                    // bzip2
        b"\xFD7zXZ\x00",           // xz
        b"\x28\xB5\x2F\xFD",       // zstd
        b"\x00\x00\x00\x1CftypM4", // MPEG-4 audio
        b"ID3",                    // MP3
    ];
    SIGNATURES.iter().any(|s| head.starts_with(s))
        // MPEG-4 video and HEIC photos: a box of any size, then `ftyp`.
        || head.get(4..8) == Some(b"ftyp")
        // LZH: `-lh?-` at offset 2.
        || (head.get(2..4) == Some(b"-l") && head.get(6) == Some(&b'-'))
}

/// The file name of `name` (the part after any `/` or `\`), without control or invisible
/// formatting characters,
/// trimmed and at most [`MAX_NAME_CHARS`] characters; `attachment` when nothing is left.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|&c| !invisible(c))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_owned();
    // A long name loses the end of its stem, never its extension (a cut could otherwise
    // turn `….exe_scan.pdf` into `….exe`).
    let cut = if cleaned.chars().count() > MAX_NAME_CHARS {
        let (stem, ext) = match cleaned.rfind('.') {
            Some(dot) if dot > 0 && cleaned.len() - dot <= 16 => cleaned.split_at(dot),
            _ => (cleaned.as_str(), ""),
        };
        let keep = MAX_NAME_CHARS.saturating_sub(ext.chars().count());
        format!("{}{ext}", stem.chars().take(keep).collect::<String>())
    } else {
        cleaned
    };
    if cut.trim().is_empty() {
        "attachment".to_owned()
    } else {
        cut
    }
}

/// Is `c` a control character, or an invisible formatting one that could make a name read
/// other than it is (bidirectional overrides turn `fdp.exe` into `exe.pdf` on screen)?
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `name`, or `stem (N).ext` with the smallest N that no name in `used` has (ignoring case,
/// as Windows does; `used` holds lower-case names).
fn unique(name: &str, used: &std::collections::HashSet<String>) -> String {
    let taken = |candidate: &str| used.contains(&candidate.to_lowercase());
    if !taken(name) {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    (2..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| name.to_owned())
}

/// `name` in CP932, a character CP932 lacks as `_`. `¥` and `‾` would become the bytes of
/// `\` and `~` (which old archivers show as `¥` and `‾`, and read as a path separator):
/// they are `_` too.
fn cp932(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    let mut buf = [0u8; 4];
    for c in name.chars() {
        if matches!(c, '¥' | '‾') {
            out.push(b'_');
            continue;
        }
        let (bytes, _, unmappable) = SHIFT_JIS.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'_');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn zip_times_are_the_local_calendar_time() {
        // 2026-12-05 04:30:00 UTC is 13:30 in Japan.
        let t = zip_time(1_796_445_000, 9 * 3600).unwrap();
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 5, 13, 30, 0)
        );
        // 2000-02-29 23:59:58 UTC, no offset.
        let t = zip_time(951_868_798, 0).unwrap();
        assert_eq!((t.year(), t.month(), t.day(), t.hour()), (2000, 2, 29, 23));
        assert!(zip_time(0, 0).is_none(), "1970 is before ZIP's epoch");
    }

    fn read_back(zip: &[u8], password: &str) -> Vec<(Vec<u8>, Vec<u8>, bool)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index_decrypt(i, password.as_bytes()).unwrap();
                let name = file.name_raw().to_vec();
                let mut data = Vec::new();
                file.read_to_end(&mut data).unwrap();
                (name, data, file.compression() == CompressionMethod::Stored)
            })
            .collect()
    }

    fn entries(files: &[(&str, &[u8])]) -> Vec<Entry<Cursor<Vec<u8>>>> {
        files
            .iter()
            .map(|(name, data)| Entry {
                name: (*name).to_owned(),
                data: Cursor::new(data.to_vec()),
            })
            .collect()
    }

    #[test]
    fn both_ciphers_round_trip_and_a_wrong_password_fails() {
        let text = "見積書\n".repeat(1000);
        let jpeg = [b"\xFF\xD8\xFF\xE0".as_slice(), &[7u8; 5000]].concat();
        let files = [
            ("見積書.txt", text.as_bytes()),
            ("写真.jpg", jpeg.as_slice()),
        ];
        let password = Password::from_text("correct horse");
        for cipher in [Cipher::Aes256, Cipher::ZipCrypto] {
            let options = Options {
                cipher,
                ..Options::default()
            };
            let (out, packed) = pack(
                Cursor::new(Vec::new()),
                entries(&files),
                &password,
                &options,
            )
            .unwrap();
            let zip = out.into_inner();
            let back = read_back(&zip, "correct horse");
            assert_eq!(back[0].0, "見積書.txt".as_bytes());
            assert_eq!(back[0].1, text.as_bytes());
            assert_eq!(back[1].1, jpeg);
            // A JPEG is stored under AES; under ZipCrypto everything is deflated.
            let jpeg_stored = cipher == Cipher::Aes256;
            assert!(!back[0].2 && back[1].2 == jpeg_stored, "{cipher:?}");
            assert_eq!(
                packed.entries.iter().map(|e| e.stored).collect::<Vec<_>>(),
                [false, jpeg_stored]
            );
            let mut archive = zip::ZipArchive::new(Cursor::new(&zip)).unwrap();
            assert!(archive.by_index_decrypt(0, b"wrong").is_err());
            // The stored JPEG is not in the clear (its run of 5000 sevens).
            assert!(!zip.windows(64).any(|w| w.iter().all(|&b| b == 7)));
        }
    }

    #[test]
    fn names_are_file_names_unique_and_in_the_charset_asked_for() {
        let files = [
            ("..\\..\\Windows\\見積書.pdf", b"%PDF-1.4 a".as_slice()),
            ("/etc/見積書.PDF", b"%PDF-1.4 b"),
            ("見積書.pdf", b"%PDF-1.4 c"),
            ("\u{202E}fdp.exe\u{7}", b"x"),
            ("...", b"y"),
            ("①髙橋.txt", b"z"),
        ];
        let password = Password::from_text("pw-123456");
        let (out, packed) = pack(
            Cursor::new(Vec::new()),
            entries(&files),
            &password,
            &Options::default(),
        )
        .unwrap();
        let names: Vec<&str> = packed.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "見積書.pdf",
                "見積書 (2).PDF",
                "見積書 (3).pdf",
                "fdp.exe",
                "attachment",
                "①髙橋.txt"
            ]
        );
        let back = read_back(&out.into_inner(), "pw-123456");
        assert_eq!(back[1].0, "見積書 (2).PDF".as_bytes());
        let options = Options {
            names: NameCharset::Cp932,
            ..Options::default()
        };
        let (out, _) = pack(
            Cursor::new(Vec::new()),
            entries(&files),
            &password,
            &options,
        )
        .unwrap();
        let back = read_back(&out.into_inner(), "pw-123456");
        assert_eq!(back[0].0, SHIFT_JIS.encode("見積書.pdf").0.as_ref());
        // ① and 髙 are in CP932 (NEC and IBM extensions).
        assert_eq!(back[5].0, SHIFT_JIS.encode("①髙橋.txt").0.as_ref());
        assert_eq!(cp932("😀.txt"), b"_.txt");
        assert_eq!(cp932("..¥..¥x.exe"), b".._.._x.exe");
        // A long name keeps its extension.
        let long = format!("{}.exe_scan.pdf", "A".repeat(196));
        let cut = safe_name(&long);
        assert!(
            cut.ends_with(".pdf") && cut.chars().count() == MAX_NAME_CHARS,
            "{cut}"
        );
    }

    #[test]
    fn nothing_to_pack_is_an_error() {
        let none: Vec<Entry<Cursor<Vec<u8>>>> = Vec::new();
        let result = pack(
            Cursor::new(Vec::new()),
            none,
            &Password::from_text("pw-123456"),
            &Options::default(),
        );
        assert!(matches!(result, Err(PackError::Empty)));
    }
}
