//! tar archives (and, through `compressed`, `.tar.gz`, `.tar.bz2`, `.tar.xz`, `.tar.zst`
//! and their short forms such as `.tgz`): every entry is counted as a
//! part and its name scanned; a file's content, which a tar archive stores as it is, is read
//! in place (no copy) and extracted one nesting level deeper. POSIX, GNU and PAX headers
//! (long names, large sizes) are read by the `tar` crate. A name that is not UTF-8 (an
//! archive made on Japanese Windows) is read in every plausible charset, as ZIP names are.
//! A corrupt or truncated archive is reported as unreadable after what came before it.

use super::{Walk, short_name};
use crate::content::{Location, ProblemKind};

/// Where the `ustar` magic of a POSIX or GNU header is.
const MAGIC_AT: usize = 257;

/// Does `bytes` start with a POSIX or GNU tar header?
pub(crate) fn looks_like_tar(bytes: &[u8]) -> bool {
    bytes
        .get(MAGIC_AT..MAGIC_AT + 5)
        .is_some_and(|magic| magic == b"ustar")
}

/// Extracts a tar archive at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let mut archive = ::tar::Archive::new(bytes);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(error) => {
            let detail = format!("corrupt tar archive: {error}");
            walk.out.problem(location, ProblemKind::Unreadable, detail);
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let detail = format!("corrupt tar archive: {error}");
                walk.out.problem(location, ProblemKind::Unreadable, detail);
                return;
            }
        };
        let names = super::archive::entry_names(&entry.path_bytes());
        let Some((name, at)) = super::archive::enter_entry(walk, location, names, true) else {
            return;
        };
        let kind = entry.header().entry_type();
        if kind.is_gnu_sparse() {
            let detail = format!("entry \"{}\" is a sparse file, not read", short_name(&name));
            walk.out.problem(&at, ProblemKind::Unreadable, detail);
            continue;
        }
        if !kind.is_file() && !kind.is_contiguous() {
            // Directories, links, devices: nothing but the name.
            continue;
        }
        let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX);
        let len = usize::try_from(entry.size()).unwrap_or(usize::MAX);
        let end = start.saturating_add(len);
        let data = bytes.get(start..end.min(bytes.len())).unwrap_or_default();
        if end > bytes.len() {
            let detail = format!(
                "entry \"{}\" is cut short: the archive ends before its {len} bytes",
                short_name(&name)
            );
            walk.out.problem(&at, ProblemKind::Unreadable, detail);
        }
        if !walk.entry_file(&at, &name, data, depth) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Collector, Limits, SegmentKind};
    use crate::extract::{FileRef, extract_file};

    /// A tar archive of `(name, content)` files, as GNU tar writes it.
    fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = ::tar::Builder::new(Vec::new());
        for (name, content) in files {
            let mut header = ::tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn walk(name: &str, bytes: &[u8]) -> crate::content::Extraction {
        walk_with(&Limits::default(), name, bytes)
    }

    fn walk_with(limits: &Limits, name: &str, bytes: &[u8]) -> crate::content::Extraction {
        let mut out = Collector::new(limits);
        let file = FileRef {
            name: Some(name),
            content_type: None,
            charset: None,
            bytes,
        };
        extract_file(&mut out, &Location::root().child("a"), &file, 1);
        out.finish()
    }

    fn texts(result: &crate::content::Extraction) -> Vec<(String, SegmentKind, String)> {
        result
            .segments
            .iter()
            .map(|s| (s.location.to_string(), s.kind, s.text.clone()))
            .collect()
    }

    #[test]
    fn the_files_of_a_tar_and_of_a_tar_gz_are_read_with_their_names() {
        let long = format!("{}/名簿.csv", "深い".repeat(60));
        let archive = tar(&[
            ("報告/メモ.txt", "個人番号 123456789018\n".as_bytes()),
            (long.as_str(), "山田,03-1234-5678\n".as_bytes()),
        ]);
        assert!(looks_like_tar(&archive));
        let result = walk("backup.tar", &archive);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let found = texts(&result);
        assert!(
            found
                .iter()
                .any(|(at, kind, text)| at == "a › 報告/メモ.txt"
                    && *kind == SegmentKind::Attachment
                    && text.contains("123456789018")),
            "{found:?}"
        );
        // A name past 100 bytes (a GNU long name) is read whole.
        assert!(
            found
                .iter()
                .any(|(_, kind, text)| *kind == SegmentKind::FileName && text == &long),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(_, _, text)| text.contains("03-1234-5678")),
            "{found:?}"
        );
        // The same, gzipped: `.tar.gz` and `.tgz`.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &archive).unwrap();
        let gz = gz.finish().unwrap();
        for name in ["backup.tar.gz", "backup.tgz"] {
            let result = walk(name, &gz);
            assert!(result.problems.is_empty(), "{name}: {:?}", result.problems);
            assert!(
                texts(&result)
                    .iter()
                    .any(|(at, _, text)| at.ends_with("報告/メモ.txt")
                        && text.contains("123456789018")),
                "{name}: {:?}",
                texts(&result)
            );
        }
    }

    #[test]
    fn archives_in_a_tar_are_read_and_a_cut_or_corrupt_tar_is_unreadable() {
        let inner = tar(&[("in.txt", "カード 4111 1111 1111 1111\n".as_bytes())]);
        let outer = tar(&[
            ("inner.tar", &inner),
            ("after.txt", b"plain 1234567890123\n"),
        ]);
        let result = walk("outer.tar", &outer);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let found = texts(&result);
        assert!(
            found
                .iter()
                .any(|(at, _, text)| at == "a › inner.tar › in.txt"
                    && text.contains("4111 1111 1111 1111")),
            "{found:?}"
        );
        // Cut inside the first file's content: what is there is read, and the cut reported.
        let big = "個人番号 123456789018\n".repeat(100);
        let archive = tar(&[("big.txt", big.as_bytes())]);
        let cut = archive.get(..512 + 700).unwrap();
        let result = walk("cut.tar", cut);
        assert!(
            result
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::Unreadable),
            "{:?}",
            result.problems
        );
        assert!(
            texts(&result)
                .iter()
                .any(|(_, _, text)| text.contains("123456789018"))
        );
        // A header whose checksum is wrong.
        let mut bad = tar(&[("a.txt", b"x")]);
        bad[148] ^= 0x01;
        let result = walk("bad.tar", &bad);
        assert!(
            result
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::Unreadable),
            "{:?}",
            result.problems
        );
    }

    #[test]
    fn a_tar_of_many_entries_stops_at_the_parts_limit() {
        let files: Vec<(String, Vec<u8>)> = (0..50)
            .map(|i| (format!("f{i}.txt"), b"x".to_vec()))
            .collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        let archive = tar(&refs);
        let limits = Limits {
            max_parts: 10,
            ..Limits::default()
        };
        let result = walk_with(&limits, "many.tar", &archive);
        assert!(
            result
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::TooManyParts),
            "{:?}",
            result.problems
        );
    }
}
