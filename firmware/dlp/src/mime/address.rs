//! The human part of address fields (From, To, Cc …): display names, comments and group
//! names, without the addresses themselves (a long To line is not a leaked address list).

/// The display names, comments and group names of an address field's raw value, joined by
/// spaces, still encoded (decode with [`super::words`]). Tokens holding an `@` (addresses,
/// quoted or not) and `<…>` routes are left out.
pub(super) fn display_names(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut token = Vec::new();
    let flush = |token: &mut Vec<u8>, out: &mut Vec<u8>| {
        if !token.is_empty() && !token.contains(&b'@') {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.append(token);
        }
        token.clear();
    };
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        i += 1;
        match b {
            b'"' => {
                while let Some(&c) = raw.get(i) {
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&next) = raw.get(i) {
                                token.push(next);
                                i += 1;
                            }
                        }
                        _ => token.push(c),
                    }
                }
            }
            b'(' => {
                flush(&mut token, &mut out);
                let mut depth = 1usize;
                while let Some(&c) = raw.get(i) {
                    i += 1;
                    match c {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\\' => {
                            if let Some(&next) = raw.get(i) {
                                token.push(next);
                                i += 1;
                            }
                            continue;
                        }
                        _ => {}
                    }
                    if depth > 0 && !(c == b'(' && depth == 1) {
                        token.push(c);
                    }
                }
                flush(&mut token, &mut out);
            }
            b'<' => {
                flush(&mut token, &mut out);
                while let Some(&c) = raw.get(i) {
                    i += 1;
                    if c == b'>' {
                        break;
                    }
                }
            }
            b',' | b';' | b':' => flush(&mut token, &mut out),
            _ if b.is_ascii_whitespace() => flush(&mut token, &mut out),
            _ => token.push(b),
        }
    }
    flush(&mut token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_addresses() {
        let raw = b" \"Yamada, Taro\" <taro@example.jp>, hanako@example.jp (Hanako (HR)),\r\n Team: a@b.jp, =?utf-8?B?5bGx55Sw?= <c@d.jp>;, \"x@y.jp\" <x@y.jp>";
        assert_eq!(
            String::from_utf8_lossy(&display_names(raw)),
            "Yamada, Taro Hanako (HR) Team =?utf-8?B?5bGx55Sw?="
        );
        assert!(display_names(b"a@b.jp, <c@d.jp>").is_empty());
        assert_eq!(display_names(b"\"unterminated"), b"unterminated");
        assert_eq!(display_names(b"(open"), b"open");
    }
}
