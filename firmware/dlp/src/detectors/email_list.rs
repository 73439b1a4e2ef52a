//! Lists of e-mail addresses: one finding when a text holds at least N distinct addresses
//! (a customer list pasted into a mail, an exported address book attached).
//!
//! Addresses are recognised loosely but cheaply, from each `@`: a dot-atom local part before
//! it and a domain of at least two labels with an alphabetic top-level label after it.
//! Distinctness ignores ASCII case.

use std::collections::HashSet;
use std::ops::Range;

/// The longest local part (RFC 5321).
const MAX_LOCAL: usize = 64;
/// The longest domain (RFC 5321).
const MAX_DOMAIN: usize = 253;

/// Can `b` appear in a dot-atom local part?
fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b)
}

/// Can `b` appear in a domain name?
fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// The address around the `@` at byte `at`, if there is one.
fn address_at(bytes: &[u8], at: usize) -> Option<Range<usize>> {
    // Local part: back from the '@', then drop leading dots.
    let mut start = at;
    while start > 0
        && at - start < MAX_LOCAL
        && bytes.get(start - 1).is_some_and(|&b| is_local_byte(b))
    {
        start -= 1;
    }
    while start < at && bytes.get(start) == Some(&b'.') {
        start += 1;
    }
    if start == at || bytes.get(at - 1) == Some(&b'.') {
        return None;
    }
    // Domain: forward from the '@', then drop trailing dots and hyphens.
    let mut end = at + 1;
    while end - at <= MAX_DOMAIN && bytes.get(end).is_some_and(|&b| is_domain_byte(b)) {
        end += 1;
    }
    while end > at + 1 && matches!(bytes.get(end - 1), Some(b'.' | b'-')) {
        end -= 1;
    }
    let domain = bytes.get(at + 1..end)?;
    let mut labels = domain.split(|&b| b == b'.');
    let tld = labels.next_back()?;
    let label_count = 1 + labels.clone().count();
    let labels_ok = labels.all(|l| !l.is_empty() && l.first() != Some(&b'-'));
    (label_count >= 2 && labels_ok && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic))
        .then_some(start..end)
}

/// Every e-mail address in `text`, in order.
pub fn addresses(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|rest| memchr::memchr(b'@', rest))
    {
        let at = from + offset;
        match address_at(bytes, at) {
            Some(span) => {
                from = span.end.max(at + 1);
                found.push(span);
            }
            None => from = at + 1,
        }
    }
    found
}

/// What the e-mail list detector found: how many distinct addresses, and the span from the
/// first address to the last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressList {
    /// The number of distinct addresses (ignoring ASCII case).
    pub distinct: usize,
    /// From the start of the first address to the end of the last.
    pub span: Range<usize>,
}

/// The address list in `text` if it holds at least `min_distinct` distinct addresses.
pub fn find(text: &str, min_distinct: usize) -> Option<AddressList> {
    let mut collector = Collector::default();
    collector.add(text, 0);
    collector.list(min_distinct)
}

/// [`find`] over a text given piece by piece, each cut just after a line break (an address
/// never holds one, so the pieces hold the same addresses as the whole text).
#[derive(Debug, Default)]
pub(crate) struct Collector {
    distinct: HashSet<String>,
    first: Option<Range<usize>>,
    last: Option<Range<usize>>,
}

impl Collector {
    /// Adds the addresses of `piece`, which starts at byte `offset` of the whole text; returns
    /// the span of the first address of the whole text if this piece holds it.
    pub(crate) fn add(&mut self, piece: &str, offset: usize) -> Option<Range<usize>> {
        let all = addresses(piece);
        for span in &all {
            if let Some(address) = piece.get(span.clone()) {
                // Lists repeat their addresses, and the scanner's pieces are in lower case
                // already: only a new address is copied.
                if address.bytes().any(|b| b.is_ascii_uppercase()) {
                    self.distinct.insert(address.to_ascii_lowercase());
                } else if !self.distinct.contains(address) {
                    self.distinct.insert(address.to_owned());
                }
            }
        }
        let shift = |span: &Range<usize>| span.start + offset..span.end + offset;
        if let Some(last) = all.last() {
            self.last = Some(shift(last));
        }
        match (&self.first, all.first()) {
            (None, Some(first)) => {
                self.first = Some(shift(first));
                self.first.clone()
            }
            _ => None,
        }
    }

    /// The list, if it holds at least `min_distinct` distinct addresses.
    pub(crate) fn list(&self, min_distinct: usize) -> Option<AddressList> {
        let (first, last) = (self.first.as_ref()?, self.last.as_ref()?);
        (self.distinct.len() >= min_distinct).then_some(AddressList {
            distinct: self.distinct.len(),
            span: first.start..last.end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        addresses(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn finds_addresses_in_japanese_and_ascii_text() {
        assert_eq!(
            found("連絡先：taro.yamada@example.co.jpまで、<Hanako+dlp@Mail.Example.com>"),
            vec!["taro.yamada@example.co.jp", "Hanako+dlp@Mail.Example.com"]
        );
        assert_eq!(found("mailto:a@b.jp."), vec!["a@b.jp"]);
    }

    #[test]
    fn ignores_what_is_not_an_address() {
        assert!(found("@ a@ @b.jp a@b a@localhost a@b.c1 twitter @handle x@.jp").is_empty());
    }

    #[test]
    fn counts_distinct_addresses_ignoring_case() {
        let text = (0..25)
            .map(|i| format!("user{}@example.jp, USER{}@EXAMPLE.JP", i % 20, i % 20))
            .collect::<Vec<_>>()
            .join("\n");
        let list = find(&text, 20).unwrap();
        assert_eq!(list.distinct, 20);
        assert_eq!(list.span.start, 0);
        assert_eq!(list.span.end, text.len());
        assert!(find(&text, 21).is_none());
        assert!(find("", 1).is_none());
    }
}
