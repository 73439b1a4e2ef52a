//! uuencoded files in text bodies (`begin 644 name` … `end`), as old mailers still send them,
//! and their `begin-base64` cousin (`uuencode -m`, ended by `====`). Mail clients show such
//! blocks as attachments, so the walk extracts them as attachments.

use super::lines;
use super::transfer;

/// A file found in a text body.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Block {
    /// The name on the `begin` line, raw bytes.
    pub(super) name: Vec<u8>,
    /// The decoded content.
    pub(super) data: Vec<u8>,
}

/// What kind of block a `begin` line opens.
#[derive(Clone, Copy)]
enum Style {
    Uu,
    Base64,
}

/// Parses a `begin <mode> <name>` or `begin-base64 <mode> <name>` line.
fn begin_line(line: &[u8]) -> Option<(Style, Vec<u8>)> {
    let (style, rest) = if let Some(rest) = line.strip_prefix(b"begin-base64 ") {
        (Style::Base64, rest)
    } else {
        (Style::Uu, line.strip_prefix(b"begin ")?)
    };
    let mode_len = rest.iter().take_while(|b| matches!(b, b'0'..=b'7')).count();
    if !(3..=4).contains(&mode_len) || rest.get(mode_len) != Some(&b' ') {
        return None;
    }
    let name = rest.get(mode_len + 1..)?.trim_ascii();
    if name.is_empty() {
        return None;
    }
    Some((style, name.to_vec()))
}

/// Decodes one uuencoded line into `out`; lines that are not uuencode are ignored.
fn decode_line(line: &[u8], out: &mut Vec<u8>) {
    let Some((&first, chars)) = line.split_first() else {
        return;
    };
    if !(0x20..=0x60).contains(&first) || chars.iter().any(|c| !(0x20..=0x60).contains(c)) {
        return;
    }
    let len = usize::from(first.wrapping_sub(0x20) & 0x3F);
    let mut emitted = 0;
    // Trailing spaces are often stripped in transit: missing characters count as zero.
    for group in 0..len.div_ceil(3) {
        let mut acc: u32 = 0;
        for k in 0..4 {
            let c = chars.get(group * 4 + k).copied().unwrap_or(b' ');
            acc = (acc << 6) | u32::from(c.wrapping_sub(0x20) & 0x3F);
        }
        for shift in [16, 8, 0] {
            if emitted < len {
                out.push((acc >> shift) as u8);
                emitted += 1;
            }
        }
    }
}

/// The uuencoded (and `begin-base64`) files in `text`, at most `max` of them. A block
/// without its end line runs to the end of the text. The text itself is left alone: the
/// encoded lines are still scanned as part of the body.
pub(super) fn find_blocks(text: &[u8], max: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    // Every block starts with a `begin` line: text without the word has none (most text;
    // one pass instead of looking at each line).
    if memchr::memmem::find(text, b"begin").is_none() {
        return blocks;
    }
    let mut current: Option<(Style, Block, Vec<u8>)> = None;
    for line in lines(text) {
        match current.as_mut() {
            None => {
                if blocks.len() >= max {
                    break;
                }
                if let Some((style, name)) = begin_line(line) {
                    let block = Block {
                        name,
                        data: Vec::new(),
                    };
                    current = Some((style, block, Vec::new()));
                }
            }
            Some((style, block, pending)) => {
                let trimmed = line.trim_ascii_end();
                let done = match style {
                    Style::Uu => trimmed == b"end",
                    Style::Base64 => trimmed == b"====",
                };
                if done {
                    if let Some((style, mut block, pending)) = current.take() {
                        if let Style::Base64 = style {
                            block.data = transfer::base64(&pending);
                        }
                        blocks.push(block);
                    }
                    continue;
                }
                match style {
                    Style::Uu => decode_line(trimmed, &mut block.data),
                    Style::Base64 => pending.extend_from_slice(trimmed),
                }
            }
        }
    }
    if let Some((style, mut block, pending)) = current {
        if let Style::Base64 = style {
            block.data = transfer::base64(&pending);
        }
        blocks.push(block);
    }
    blocks
}

/// Decodes a part labelled `x-uuencode`: its first block, or every line when there is no
/// `begin` line.
pub(super) fn decode_part(bytes: &[u8]) -> Vec<u8> {
    if let Some(block) = find_blocks(bytes, 1).into_iter().next() {
        return block.data;
    }
    let mut out = Vec::new();
    for line in lines(bytes) {
        decode_line(line.trim_ascii_end(), &mut out);
    }
    out
}

/// uuencodes `data` (for tests elsewhere in the MIME walk).
#[cfg(test)]
pub(super) fn encode(name: &str, data: &[u8]) -> String {
    let mut out = format!("begin 644 {name}\n");
    for chunk in data.chunks(45) {
        let mut line = vec![0x20 + chunk.len() as u8];
        for group in chunk.chunks(3) {
            let b = [
                group[0],
                group.get(1).copied().unwrap_or(0),
                group.get(2).copied().unwrap_or(0),
            ];
            let acc = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for shift in [18, 12, 6, 0] {
                let v = ((acc >> shift) & 0x3F) as u8;
                line.push(if v == 0 { b'`' } else { v + 0x20 });
            }
        }
        out.push_str(&String::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("`\nend\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuencoded_blocks_are_found_and_decoded() {
        let data = "氏名,番号\n山田,123456789018\n".repeat(5);
        let text = format!(
            "Hello,\r\nsee the file.\r\n\r\n{}\r\nbye\r\n",
            encode("meibo.csv", data.as_bytes()).replace('\n', "\r\n")
        );
        let blocks = find_blocks(text.as_bytes(), 10);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].name, b"meibo.csv");
        assert_eq!(blocks[0].data, data.as_bytes());
        assert_eq!(decode_part(text.as_bytes()), data.as_bytes());
    }

    #[test]
    fn begin_base64_blocks_and_limits() {
        let text = "begin-base64 600 a.txt\nMTIz\nNDU2\n====\nbegin 644 b.txt\n#,3(S\n`\nend\n";
        let blocks = find_blocks(text.as_bytes(), 10);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].data, b"123456");
        assert_eq!(blocks[1].data, b"123");
        assert_eq!(find_blocks(text.as_bytes(), 1).len(), 1);
        // Not begin lines.
        assert!(find_blocks(b"begin here\nbegin 12 x\nbegin 644 \n", 10).is_empty());
        // Unterminated: runs to the end.
        assert_eq!(find_blocks(b"begin 644 x\n#,3(S\n", 10)[0].data, b"123");
    }
}
