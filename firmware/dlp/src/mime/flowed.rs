//! `format=flowed` text (RFC 3676): a client joins a line ending in a space with the next
//! one (dropping the space too with `delsp=yes`), so a number split across such lines
//! reads whole on screen. The walk scans the joined text as well.

use super::lines;

/// The text as a client shows it: flowed lines joined, space-stuffing removed. Line ends
/// become CRLF.
pub(super) fn unflow(bytes: &[u8], delsp: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in lines(bytes) {
        let line = line.strip_prefix(b" ").unwrap_or(line);
        if line.ends_with(b" ") && line != b"-- " {
            let keep = if delsp {
                line.len().saturating_sub(1)
            } else {
                line.len()
            };
            out.extend_from_slice(line.get(..keep).unwrap_or_default());
        } else {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowed_lines_are_joined() {
        let text = b"My number is 1234 \r\n5678 9018.\r\n  stuffed\r\n-- \r\nsig\r\n";
        assert_eq!(
            unflow(text, false),
            b"My number is 1234 5678 9018.\r\n stuffed\r\n-- \r\nsig\r\n"
        );
        assert_eq!(unflow(b"123456 \n789018\n", true), b"123456789018\r\n");
        assert_eq!(unflow(b"", true), b"");
    }
}
