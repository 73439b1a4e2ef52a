//! SMTP command lines as the session parses them.
//!
//! The session's `parse_command` (firmware/smtp/src/inbound/session/mod.rs) on the line
//! exactly as the session hands it over (up to and including the first LF, at most
//! `MAX_COMMAND_LINE` octets), including its carrier-address fallback.
//!
//! Checked, besides "never panics":
//! - an address the lenient path lets through passes `check_lenient`;
//! - `check_lenient` (on the path between `<` and `>`, and on the whole line) accepts
//!   only `local@domain` of at most 256 octets whose unquoted local part has no space,
//!   control character, `<`, `>`, `,` ... and whose domain parses as a domain name or an
//!   address literal; `domain_of` is then lower-case and not empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_smtp::address::{MAX_PATH_LEN, check_lenient, domain_of, needs_utf8};
use mamori_smtp::inbound::session::MAX_COMMAND_LINE;
use smtp_proto::Request;

/// The session's own parse: a request, or the reply for a bad line. Any MAIL/RCPT
/// address it lets through must pass the address checks.
fn parse_command(line: &[u8]) {
    if let Ok(req) = mamori_smtp::inbound::session::parse_command(line) {
        let addr = match &req {
            Request::Mail { from } => &from.address,
            Request::Rcpt { to } => &to.address,
            _ => return,
        };
        // smtp-proto maps `<postmaster>` and the null path to "".
        if !addr.is_empty() {
            assert!(check_lenient(addr).is_ok(), "{req:?}");
            check_address(addr);
        }
    }
}

/// What an accepted address must look like.
fn check_address(addr: &str) {
    let Ok(()) = check_lenient(addr) else {
        return;
    };
    assert!(addr.len() <= MAX_PATH_LEN, "{addr:?}: too long");
    let (local, domain) = addr.rsplit_once('@').expect("accepted address without @");
    assert!(!local.is_empty(), "{addr:?}: empty local part");
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if quoted {
        assert!(
            !local.bytes().any(|b| b < 0x20 || b == 0x7f),
            "{addr:?}: control character in quoted local part"
        );
    } else {
        assert!(
            !local
                .bytes()
                .any(|b| b <= b' ' || b == 0x7f || b"<>()[]\\,;:@\"".contains(&b)),
            "{addr:?}: unquoted local part holds a special character"
        );
    }
    // Once found by this target: the domain check used to trim white space.
    assert!(
        !domain.bytes().any(|b| b <= b' ' || b == 0x7f),
        "{addr:?}: space or control character in the domain"
    );
    let d = domain_of(addr).expect("accepted address without domain");
    assert!(!d.is_empty(), "{addr:?}: empty domain");
    assert_eq!(
        d,
        d.to_ascii_lowercase(),
        "{addr:?}: domain_of not lower-case"
    );
    let _ = needs_utf8(addr);
}

fuzz_target!(|data: &[u8]| {
    // The line as the session reads it: through the first LF, CRLF added when the
    // input has none (the session only hands over complete lines).
    let mut line = match data.iter().position(|&b| b == b'\n') {
        Some(i) => data[..=i].to_vec(),
        None => [data, b"\r\n"].concat(),
    };
    if line.len() > MAX_COMMAND_LINE {
        return; // The session answers 500 without parsing.
    }

    let _ = parse_command(&line);

    // A second shape: without the CR (bare LF line ends reach the parser too).
    if line.ends_with(b"\r\n") {
        line.remove(line.len() - 2);
        let _ = parse_command(&line);
    }

    // The address checks on their own, on the path inside <...> and on the raw input.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(open) = text.find('<')
            && let Some(len) = text[open..].find('>')
        {
            check_address(&text[open + 1..open + len]);
        }
        check_address(text);
    }
});
