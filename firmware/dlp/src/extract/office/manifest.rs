//! An OpenDocument package's `META-INF/manifest.xml`: which parts are encrypted.
//!
//! A password-protected ODF document is a plain ZIP whose parts (`content.xml`,
//! `styles.xml`, embedded objects …) are each deflated and encrypted with a key derived
//! from the password; the manifest gives such a part an `encryption-data` element. Those
//! parts are not XML, so reading them would only give a parse error: the document is
//! reported encrypted instead, and its other parts (`meta.xml`, the thumbnail) are read.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::super::xml::attribute;

/// The most parts kept (a package has tens; a hostile one is not read further).
const MAX_ENTRIES: usize = 10_000;

/// The encrypted parts named by a manifest (as ZIP names: without a leading `/`).
pub(super) fn encrypted_parts(xml: &[u8]) -> Vec<String> {
    let mut encrypted = Vec::new();
    let mut reader = Reader::from_reader(xml);
    let mut current: Option<String> = None;
    let mut entries = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == b"file-entry" => {
                entries += 1;
                current = attribute(&e, "full-path");
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == b"file-entry" => current = None,
            Ok(Event::Start(e) | Event::Empty(e))
                if e.local_name().as_ref() == b"encryption-data" =>
            {
                if let Some(part) = current.take() {
                    encrypted.push(part.trim_start_matches('/').to_owned());
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        if entries > MAX_ENTRIES {
            break;
        }
    }
    encrypted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_with_encryption_data_are_listed() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml" manifest:size="3000">
  <manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x">
   <manifest:algorithm manifest:algorithm-name="Blowfish CFB" manifest:initialisation-vector="y"/>
   <manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:iteration-count="1024" manifest:salt="z"/>
  </manifest:encryption-data>
 </manifest:file-entry>
 <manifest:file-entry manifest:full-path="Object 1/content.xml" manifest:media-type="text/xml">
  <manifest:encryption-data/>
 </manifest:file-entry>
</manifest:manifest>"#;
        assert_eq!(
            encrypted_parts(xml),
            vec!["content.xml".to_owned(), "Object 1/content.xml".to_owned()]
        );
        assert!(encrypted_parts(b"<manifest/>").is_empty());
        assert!(encrypted_parts(b"\xff\xfe not xml").is_empty());
    }
}
