//! The MIME walk: a message in, its decoded text segments out.
//!
//! INTERFACE ONLY for now (being written): the signature below is fixed.

use crate::content::{Collector, Location, SegmentKind};

/// Walks an RFC 5322 message the way a mail client would show it and collects every piece
/// of text a reader could see (headers, bodies, file names, attachments) into `out`.
pub fn walk_message(raw: &[u8], out: &mut Collector<'_>) {
    let text = String::from_utf8_lossy(raw).into_owned();
    out.text(&Location::root().child("body"), SegmentKind::Body, text);
}
