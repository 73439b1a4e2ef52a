//! S/MIME and certificates: the ASN.1 (BER/DER) files that mail carries — a signature
//! (`smime.p7s`), an opaque signed message (`smime.p7m`, whose content the recipient's
//! client shows), an encrypted message, a certificate.
//!
//! The file is read as a tree of BER elements (definite and indefinite lengths, bounded
//! depth and count). It is taken for ASN.1 only when one element spans the whole file.
//! Then:
//!
//! * the text strings in it (names and addresses of certificates) are scanned;
//! * the content of a signed message (PKCS #7 / CMS `signedData`'s `eContent`, an octet
//!   string that may come in pieces) is handed back to be read as the file it is (usually
//!   a MIME message);
//! * an encrypted message (`envelopedData`, `encryptedData`, `authEnvelopedData`) is
//!   reported as [`crate::ProblemKind::Encrypted`].

/// How deep elements nest at most.
const MAX_DEPTH: usize = 32;
/// How many elements one file may hold.
const MAX_ELEMENTS: usize = 100_000;

/// `1.2.840.113549.1.7.2`, signedData.
const SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
/// The content types whose content is encrypted: envelopedData (`…7.3`), encryptedData
/// (`…7.6`) and authEnvelopedData (`1.2.840.113549.1.9.16.1.23`).
const ENCRYPTED: [&[u8]; 3] = [
    &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03],
    &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x06],
    &[
        0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17,
    ],
];

/// What an ASN.1 file holds, for the extractor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Asn1 {
    /// Its text strings, one per line.
    pub text: String,
    /// The signed content, if it is an opaque signed message.
    pub content: Option<Vec<u8>>,
    /// Is it an encrypted message?
    pub encrypted: bool,
}

/// One element: its tag byte, whether constructed, its content (for primitives) or its
/// children.
struct Element {
    tag: u8,
    constructed: bool,
    /// Primitive content; for a constructed element, its children.
    content: Vec<u8>,
    children: Vec<Element>,
}

/// Reads `bytes` as ASN.1, if one element spans all of it (trailing zero bytes allowed).
pub(crate) fn read(bytes: &[u8], cap: usize) -> Option<Asn1> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let mut count = 0;
    let (root, used) = element(bytes, 0, &mut count)?;
    if bytes.get(used..)?.iter().any(|&b| b != 0) {
        return None;
    }
    let mut out = Asn1::default();
    strings(&root, &mut out.text, cap);
    if let [oid, body, ..] = root.children.as_slice()
        && oid.tag == 0x06
    {
        if ENCRYPTED.contains(&oid.content.as_slice()) {
            out.encrypted = true;
        } else if oid.content == SIGNED_DATA {
            out.content = signed_content(body);
        }
    }
    Some(out)
}

/// The `eContent` of a `[0] { SignedData }`: SignedData's third element is
/// `encapContentInfo { eContentType, [0] { OCTET STRING } }`.
fn signed_content(explicit: &Element) -> Option<Vec<u8>> {
    let signed = explicit.children.first()?;
    let encap = signed.children.get(2)?;
    let wrapper = encap.children.get(1)?;
    let octets = wrapper.children.first()?;
    let mut content = Vec::new();
    octet_string(octets, &mut content);
    (!content.is_empty()).then_some(content)
}

/// The bytes of an OCTET STRING, primitive or constructed from pieces.
fn octet_string(e: &Element, out: &mut Vec<u8>) {
    if e.constructed {
        for child in &e.children {
            octet_string(child, out);
        }
    } else {
        out.extend_from_slice(&e.content);
    }
}

/// Appends the text strings under `e` to `out`, one per line, up to about `cap` bytes.
fn strings(e: &Element, out: &mut String, cap: usize) {
    if out.len() > cap {
        return;
    }
    if e.constructed {
        for child in &e.children {
            strings(child, out, cap);
        }
        return;
    }
    let text = match e.tag {
        // UTF8String, PrintableString, T61String, IA5String, VisibleString.
        0x0C | 0x13 | 0x14 | 0x16 | 0x1A => String::from_utf8_lossy(&e.content).into_owned(),
        // BMPString: UTF-16BE.
        0x1E => encoding_rs::UTF_16BE
            .decode_without_bom_handling(&e.content)
            .0
            .into_owned(),
        _ => return,
    };
    out.push_str(&text);
    out.push('\n');
}

/// Reads the element at `at` of `bytes`: the element and the position after it.
fn element(bytes: &[u8], depth: usize, count: &mut usize) -> Option<(Element, usize)> {
    element_at(bytes, 0, depth, count)
}

fn element_at(
    bytes: &[u8],
    at: usize,
    depth: usize,
    count: &mut usize,
) -> Option<(Element, usize)> {
    *count += 1;
    if depth > MAX_DEPTH || *count > MAX_ELEMENTS {
        return None;
    }
    let tag = *bytes.get(at)?;
    if tag & 0x1F == 0x1F {
        return None; // high tag numbers: not in the files read here
    }
    let constructed = tag & 0x20 != 0;
    let first = *bytes.get(at + 1)?;
    let mut pos = at + 2;
    let length = if first < 0x80 {
        Some(usize::from(first))
    } else if first == 0x80 {
        None // indefinite: children up to end-of-contents
    } else {
        let n = usize::from(first & 0x7F);
        if n > 4 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..n {
            len = (len << 8) | usize::from(*bytes.get(pos)?);
            pos += 1;
        }
        Some(len)
    };
    let mut e = Element {
        tag,
        constructed,
        content: Vec::new(),
        children: Vec::new(),
    };
    match (length, constructed) {
        (Some(len), false) => {
            let end = pos.checked_add(len)?;
            e.content = bytes.get(pos..end)?.to_vec();
            Some((e, end))
        }
        (Some(len), true) => {
            let end = pos.checked_add(len)?;
            let inner = bytes.get(..end)?;
            while pos < end {
                let (child, next) = element_at(inner, pos, depth + 1, count)?;
                e.children.push(child);
                pos = next;
            }
            Some((e, end))
        }
        (None, true) => loop {
            if bytes.get(pos..pos + 2)? == [0, 0] {
                return Some((e, pos + 2));
            }
            let (child, next) = element_at(bytes, pos, depth + 1, count)?;
            e.children.push(child);
            pos = next;
        },
        (None, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A definite-length TLV.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if content.len() < 0x80 {
            out.push(content.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(content.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(content);
        out
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    #[test]
    fn certificate_strings_are_read() {
        let name = seq(&[
            tlv(0x0C, "山田 太郎".as_bytes()),
            tlv(0x16, b"taro@example.jp"),
        ]);
        let asn1 = read(&seq(&[tlv(0x02, &[1]), name]), 1 << 20).unwrap();
        assert_eq!(asn1.text, "山田 太郎\ntaro@example.jp\n");
        assert!(!asn1.encrypted && asn1.content.is_none());
    }

    #[test]
    fn an_opaque_signed_message_gives_its_content_even_in_pieces() {
        let inner = b"Content-Type: text/plain\r\n\r\nhello\r\n";
        // eContent as a constructed OCTET STRING of two pieces, indefinite length.
        let mut octets = vec![0x24, 0x80];
        octets.extend(tlv(0x04, &inner[..10]));
        octets.extend(tlv(0x04, &inner[10..]));
        octets.extend([0, 0]);
        let encap = seq(&[
            tlv(
                0x06,
                &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01],
            ),
            tlv(0xA0, &octets),
        ]);
        let signed = seq(&[tlv(0x02, &[1]), tlv(0x31, &[]), encap, tlv(0x31, &[])]);
        let file = seq(&[tlv(0x06, SIGNED_DATA), tlv(0xA0, &signed)]);
        let asn1 = read(&file, 1 << 20).unwrap();
        assert_eq!(asn1.content.as_deref(), Some(&inner[..]));
    }

    #[test]
    fn encrypted_messages_and_non_asn1_are_told() {
        let file = seq(&[tlv(0x06, ENCRYPTED[0]), tlv(0xA0, &seq(&[]))]);
        assert!(read(&file, 1024).unwrap().encrypted);
        assert!(read(b"0,1,2\n", 1024).is_none());
        let mut trailing = seq(&[tlv(0x02, &[1])]);
        trailing.extend_from_slice(b"text after");
        assert!(read(&trailing, 1024).is_none());
        assert!(read(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], 1024).is_none());
        // Deep nesting is refused, not recursed into.
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend([0x30, 0x80]);
        }
        deep.extend(std::iter::repeat_n(0u8, 200));
        assert!(read(&deep, 1024).is_none());
    }
}
