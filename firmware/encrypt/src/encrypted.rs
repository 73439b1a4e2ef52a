//! Is an attachment encrypted already? What a sender was allowed to send encrypted (an
//! encrypted ZIP, an S/MIME or PGP file) is not packed into a second archive.
//!
//! Only what can be told for sure counts: a ZIP counts when its central directory (read
//! at its end as the data streams past, only the last MiB kept) marks every entry
//! encrypted; a ZIP with one plain entry, junk after its end, ZIP64 or a directory larger
//! than that is packed again, which costs a little size and loses nothing.

use std::io::Read;

/// The DER of the object identifiers of CMS enveloped data (1.2.840.113549.1.7.3) and
/// authenticated enveloped data (1.2.840.113549.1.9.16.1.23): what an encrypted S/MIME
/// file says near its start (signed data, which anyone reads, says another).
const ENVELOPED_OIDS: [&[u8]; 2] = [
    &[
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03,
    ],
    &[
        0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17,
    ],
];

/// Is the attachment (`content_type` lower case, file `name`, decoded `data`) encrypted
/// already? Told from the content, never from a label alone: a part labelled S/MIME or PGP
/// that holds readable data is packed like any other. Reads as little of `data` as it
/// needs.
pub fn is_encrypted(
    content_type: &str,
    name: Option<&str>,
    mut data: impl Read,
) -> std::io::Result<bool> {
    let mut head = [0u8; 256];
    let filled = read_up_to(&mut data, &mut head)?;
    let head = head.get(..filled).unwrap_or_default();
    if content_type.contains("pkcs7-mime") || content_type.contains("pkcs7-enveloped") {
        let start = head.get(..32).unwrap_or(head);
        return Ok(ENVELOPED_OIDS
            .iter()
            .any(|oid| start.windows(oid.len()).any(|w| w == *oid)));
    }
    if let Some(armored) = head.strip_prefix(b"-----BEGIN PGP MESSAGE-----") {
        return Ok(pgp_session_packet(&dearmor_head(armored)));
    }
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.trim().to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("gpg" | "pgp")) && pgp_session_packet(head) {
        return Ok(true);
    }
    if head.starts_with(b"PK\x03\x04") {
        return zip_all_encrypted(head, data);
    }
    Ok(false)
}

/// The first octets of an ASCII-armored OpenPGP message (`rest` after its first line):
/// the armor's header lines skipped to the empty line, then base64 decoded.
fn dearmor_head(rest: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    lines.next(); // the rest of the BEGIN line
    // Armor headers (`Version: …`) until an empty line.
    let mut body = String::new();
    let mut in_body = false;
    for line in lines {
        if !in_body {
            if line.trim().is_empty() {
                in_body = true;
            }
            continue;
        }
        body.extend(line.chars().filter(|c| !c.is_whitespace()));
        if body.len() >= 8 {
            break;
        }
    }
    let take = body.len() / 4 * 4;
    base64::engine::general_purpose::STANDARD
        .decode(body.get(..take.min(8)).unwrap_or_default())
        .unwrap_or_default()
}

/// Does an OpenPGP message start with a session-key packet (public-key or symmetric,
/// RFC 9580 tags 1 and 3), as an encrypted one does?
fn pgp_session_packet(head: &[u8]) -> bool {
    let Some(&first) = head.first() else {
        return false;
    };
    if first & 0x80 == 0 {
        return false;
    }
    let tag = if first & 0x40 != 0 {
        first & 0x3F
    } else {
        (first >> 2) & 0x0F
    };
    matches!(tag, 1 | 3)
}

/// The most of a ZIP's end kept while it streams past: its central directory must fit in
/// it (about 10,000 entries), or the archive is packed again.
const TAIL: usize = 1024 * 1024;

/// Reads a ZIP to its end (`head` its first octets, `rest` what follows), keeping only
/// its last [`TAIL`] octets, and reads the central directory there, as archivers do: true
/// when there is at least one entry and every one carries the encryption flag.
fn zip_all_encrypted(head: &[u8], mut rest: impl Read) -> std::io::Result<bool> {
    let mut tail = head.to_vec();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        tail.extend_from_slice(buf.get(..n).unwrap_or_default());
        if tail.len() > 2 * TAIL {
            tail.drain(..tail.len() - TAIL);
        }
    }
    Ok(central_directory_all_encrypted(&tail))
}

/// The end of a ZIP: its end-of-central-directory record (with the comment that closes
/// the file) and the directory before it, every entry encrypted.
fn central_directory_all_encrypted(tail: &[u8]) -> bool {
    let u16_at = |b: &[u8], i: usize| {
        b.get(i..i + 2)
            .map(|x| usize::from(u16::from_le_bytes([x[0], x[1]])))
    };
    let u32_at = |b: &[u8], i: usize| {
        b.get(i..i + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
    };
    // The record that ends the file exactly (its comment included).
    let Some(eocd) = (0..tail.len().saturating_sub(21)).rev().find(|&i| {
        tail.get(i..i + 4) == Some(b"PK\x05\x06")
            && u16_at(tail, i + 20).is_some_and(|c| i + 22 + c == tail.len())
    }) else {
        return false;
    };
    let (Some(entries), Some(size)) = (u16_at(tail, eocd + 10), u32_at(tail, eocd + 12)) else {
        return false;
    };
    if entries == 0 || entries == 0xFFFF || size > eocd {
        return false;
    }
    let mut at = eocd - size;
    for _ in 0..entries {
        let record = tail.get(at..eocd).unwrap_or_default();
        if !record.starts_with(b"PK\x01\x02") {
            return false;
        }
        let (Some(flags), Some(n), Some(e), Some(c)) = (
            u16_at(record, 8),
            u16_at(record, 28),
            u16_at(record, 30),
            u16_at(record, 32),
        ) else {
            return false;
        };
        if flags & 1 == 0 {
            return false;
        }
        at += 46 + n + e + c;
    }
    at == eocd
}

/// Reads until `buf` is full or the data ends; how many octets were read.
pub(crate) fn read_up_to(data: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Cipher, Entry, Options, pack};
    use crate::password::Password;

    fn zip(cipher: Option<Cipher>, files: &[(&str, &[u8])]) -> Vec<u8> {
        let out = std::io::Cursor::new(Vec::new());
        match cipher {
            Some(cipher) => {
                let entries = files.iter().map(|(n, d)| Entry {
                    name: (*n).into(),
                    data: *d,
                });
                let options = Options {
                    cipher,
                    ..Options::default()
                };
                let (out, _) =
                    pack(out, entries, &Password::from_text("pw-123456"), &options).expect("pack");
                out.into_inner()
            }
            None => {
                let mut w = zip::ZipWriter::new(out);
                for (n, d) in files {
                    w.start_file(*n, zip::write::SimpleFileOptions::default())
                        .expect("start");
                    std::io::Write::write_all(&mut w, d).expect("write");
                }
                w.finish().expect("finish").into_inner()
            }
        }
    }

    #[test]
    fn an_encrypted_zip_counts_and_a_plain_or_mixed_one_does_not() {
        let files: [(&str, &[u8]); 2] = [("a.txt", b"hello hello hello"), ("b.bin", &[7u8; 3000])];
        for cipher in [Cipher::Aes256, Cipher::ZipCrypto] {
            let z = zip(Some(cipher), &files);
            assert!(is_encrypted("application/zip", Some("x.zip"), &z[..]).unwrap());
            // Cut short: not sure, so not counted.
            assert!(!is_encrypted("application/zip", None, &z[..z.len() / 2]).unwrap());
        }
        let plain = zip(None, &files);
        assert!(!is_encrypted("application/zip", Some("x.zip"), &plain[..]).unwrap());
        // Junk after the end: not a ZIP an archiver reads as one.
        let mut z = zip(Some(Cipher::Aes256), &files);
        z.extend_from_slice(b"junk");
        assert!(!is_encrypted("application/zip", None, &z[..]).unwrap());
        // One entry's flag cleared in the directory: one plain entry is enough to pack.
        let mut z = zip(Some(Cipher::Aes256), &files);
        let cd = z
            .windows(4)
            .rposition(|w| w == b"PK\x01\x02")
            .expect("directory");
        z[cd + 8] &= !1;
        assert!(!is_encrypted("application/zip", None, &z[..]).unwrap());
    }

    #[test]
    fn smime_and_pgp_count_by_their_content_and_labels_alone_do_not() {
        // Enveloped data (encrypted) counts; signed data (readable) and an empty part
        // labelled S/MIME do not.
        let enveloped = [
            0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03, 0xA0,
        ];
        let signed = [
            0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02, 0xA0,
        ];
        assert!(is_encrypted("application/pkcs7-mime", Some("smime.p7m"), &enveloped[..]).unwrap());
        assert!(!is_encrypted("application/pkcs7-mime", Some("smime.p7m"), &signed[..]).unwrap());
        assert!(!is_encrypted("application/pkcs7-mime", Some("smime.p7m"), &b""[..]).unwrap());
        assert!(!is_encrypted("application/pgp-encrypted", Some("list.csv"), &b"a,b"[..]).unwrap());
        // Armored: a public-key session packet (0x85 0x01 …: "hQE") counts, a signed
        // message (0xA3 or 0x90 …: "owE") does not.
        assert!(
            is_encrypted(
                "text/plain",
                Some("x.asc"),
                &b"-----BEGIN PGP MESSAGE-----\nVersion: x\n\nhQEMA1234\n"[..]
            )
            .unwrap()
        );
        assert!(
            !is_encrypted(
                "text/plain",
                Some("x.asc"),
                &b"-----BEGIN PGP MESSAGE-----\n\nowEBbQGS/pANAwAK\n"[..]
            )
            .unwrap()
        );
        assert!(
            is_encrypted(
                "application/octet-stream",
                Some("a.gpg"),
                &[0x85u8, 1, 2][..]
            )
            .unwrap()
        );
        assert!(is_encrypted("application/octet-stream", Some("a.pgp"), &[0xC3u8, 1][..]).unwrap());
        // A signature packet is not encryption.
        assert!(
            !is_encrypted("application/octet-stream", Some("a.gpg"), &[0x89u8, 1][..]).unwrap()
        );
        assert!(!is_encrypted("application/pdf", Some("a.pdf"), &b"%PDF-1.7"[..]).unwrap());
    }
}
