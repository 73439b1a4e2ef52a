//! gzip (`.gz`): one member, expanded under the bomb limits, then extracted as the file it
//! holds (named by the gzip header, else by the outer name without `.gz`).

use flate2::read::GzDecoder;

use super::bounded::{self, Expanded};
use super::{FileRef, Walk, short_name};
use crate::content::{Location, ProblemKind};

/// Extracts a gzip file at `location` (nesting depth `depth`).
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    file: &FileRef<'_>,
    depth: usize,
) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let outer = file
        .name
        .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name));
    let decoder = GzDecoder::new(file.bytes);
    let header_name = decoder
        .header()
        .and_then(|header| header.filename())
        .map(|raw| crate::charset::decode(raw, None));
    let inner = header_name
        .filter(|name| !name.is_empty())
        .or_else(|| {
            outer.map(|name| {
                let lower = name.to_ascii_lowercase();
                if lower.ends_with(".tgz") {
                    format!("{}.tar", name.get(..name.len() - 4).unwrap_or(name))
                } else if lower.ends_with(".gz") {
                    name.get(..name.len() - 3).unwrap_or(name).to_string()
                } else {
                    name.to_string()
                }
            })
        })
        .unwrap_or_else(|| "(gzip content)".to_string());
    let inner: String = inner.chars().take(255).collect();
    let at = location.child(inner.clone());
    if !walk.out.enter_part(&at) {
        return;
    }
    let what = format!("gzip member \"{}\"", short_name(&inner));
    let compressed = u64::try_from(file.bytes.len()).unwrap_or(u64::MAX);
    let data = match bounded::expand(walk, &at, &what, decoder, compressed) {
        Expanded::Done(data) => data,
        Expanded::Broken(data, error) => {
            walk.out.problem(
                &at,
                ProblemKind::Unreadable,
                format!("corrupt gzip data: {error}"),
            );
            data
        }
        Expanded::Bomb => return,
    };
    let file = FileRef {
        name: Some(&inner),
        content_type: None,
        charset: None,
        bytes: &data,
    };
    walk.file(&at, &file, depth + 1);
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;
    use crate::content::{Collector, Limits, SegmentKind};
    use crate::extract::extract_file;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_gzipped_csv_is_read() {
        let gz = gzip("氏名,番号\n山田,123456789018\n".as_bytes());
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let file = FileRef {
            name: Some("名簿.csv.gz"),
            content_type: None,
            charset: None,
            bytes: &gz,
        };
        extract_file(&mut out, &Location::root().child("a"), &file, 1);
        let result = out.finish();
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let segment = &result.segments[0];
        assert_eq!(segment.kind, SegmentKind::Attachment);
        assert_eq!(segment.location.to_string(), "a › 名簿.csv");
        assert!(segment.text.contains("123456789018"));
    }

    #[test]
    fn a_gzip_bomb_is_stopped() {
        let gz = gzip(&vec![0u8; 20 << 20]);
        assert!(gz.len() < 100 << 10);
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let file = FileRef {
            name: None,
            content_type: None,
            charset: None,
            bytes: &gz,
        };
        extract_file(&mut out, &Location::root(), &file, 1);
        let problems = out.finish().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, ProblemKind::ArchiveBomb);
    }

    #[test]
    fn a_truncated_gzip_is_unreadable() {
        let gz = gzip(&b"some text 1234 ".repeat(1000));
        let cut = gz.get(..gz.len() / 2).unwrap();
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let file = FileRef {
            name: Some("x.txt.gz"),
            content_type: None,
            charset: None,
            bytes: cut,
        };
        extract_file(&mut out, &Location::root(), &file, 1);
        let result = out.finish();
        assert!(
            result
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::Unreadable),
            "{:?}",
            result.problems
        );
    }
}
