//! What counts as encrypted already (`mamori_encrypt::encrypted::is_encrypted`, a ZIP's
//! central directory read at its end as the data streams past) and the streaming transfer
//! decoder it reads through (`Transfer::reader`).
//!
//! Input layout: byte 0 picks the transfer encoding and the claimed type; the rest is the
//! attachment's encoded content.
//!
//! Checked, besides "never panics":
//! - the reader gives exactly what decoding at once gives, for every encoding;
//! - the verdict on the decoded bytes read from a slice and through the reader agree;
//! - a ZIP is only encrypted when it starts like a ZIP (local header) and ends with an
//!   end-of-central-directory record.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use mamori_dlp::mime::Transfer;
use mamori_encrypt::encrypted::is_encrypted;

fuzz_target!(|input: &[u8]| {
    let Some((&pick, encoded)) = input.split_first() else {
        return;
    };
    let transfer = match pick % 3 {
        0 => Transfer::Identity,
        1 => Transfer::Base64,
        _ => Transfer::QuotedPrintable,
    };
    let whole = transfer.decode(encoded);
    let mut streamed = Vec::new();
    transfer
        .reader(encoded)
        .read_to_end(&mut streamed)
        .expect("reading from memory");
    assert_eq!(whole, streamed, "the reader differs from decoding at once");

    let (ct, name) = match (pick / 3) % 3 {
        0 => ("application/zip", Some("a.zip")),
        1 => ("application/octet-stream", Some("a.gpg")),
        _ => ("text/plain", None),
    };
    let by_slice = is_encrypted(ct, name, &whole[..]).expect("memory cannot fail");
    let by_reader = is_encrypted(ct, name, transfer.reader(encoded)).expect("memory");
    assert_eq!(by_slice, by_reader);
    if by_slice && ct == "application/zip" {
        assert!(whole.starts_with(b"PK\x03\x04"), "encrypted without a ZIP header");
        assert!(
            whole.windows(4).any(|w| w == b"PK\x05\x06"),
            "encrypted without an end record"
        );
    }
});
