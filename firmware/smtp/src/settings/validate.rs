//! The relay's rules that single values cannot express, over `[smtp]` and `[dlp]` (and the
//! box's host name from `[general]`).

use std::collections::HashSet;

use mamori_core::general::General;
use mamori_core::report::Report;
use mamori_core::values::Domain;
use mamori_dlp::DlpConfig;

use super::model::{PaceLimits, Smtp};
use super::types::ListenerKind;

/// The sections the rules look at together.
struct View<'a> {
    general: &'a General,
    smtp: &'a Smtp,
    dlp: &'a DlpConfig,
}

/// Checks `[smtp]` and `[dlp]` as a whole, recording every broken rule and every risk.
pub fn check(general: &General, smtp: &Smtp, dlp: &DlpConfig, r: &mut Report) {
    let c = &View { general, smtp, dlp };
    let s = &c.smtp;
    let mut seen = HashSet::new();
    for (i, l) in s.listeners.iter().enumerate() {
        if !seen.insert(l.address) {
            r.error(
                format!("smtp.listeners[{i}].address"),
                l.address,
                "another listener already uses this address",
            );
        }
        if l.kind != ListenerKind::Relay && s.accounts.is_empty() {
            r.warn(
                format!("smtp.listeners[{i}].kind"),
                l.kind,
                "a submission listener without accounts: nobody can authenticate there",
            );
        }
    }
    if s.max_message_size < 1024 {
        r.error(
            "smtp.max_message_size",
            s.max_message_size,
            "must be at least 1024 bytes",
        );
    }
    if s.max_data_memory != 0 && s.max_data_memory < s.max_message_size {
        r.error(
            "smtp.max_data_memory",
            s.max_data_memory,
            format!(
                "must be 0 (sized to the board) or at least smtp.max_message_size ({}), or no message of that size could be accepted",
                s.max_message_size
            ),
        );
    }
    if s.max_recipients == 0 {
        r.error("smtp.max_recipients", 0, "must be at least 1");
    }
    if !(78..=65_536).contains(&s.max_line_length) {
        r.error(
            "smtp.max_line_length",
            s.max_line_length,
            "must be between 78 and 65536 (RFC 5322 allows 998)",
        );
    }
    for (key, v) in [
        ("smtp.max_commands", s.max_commands),
        ("smtp.max_errors", s.max_errors),
        ("smtp.max_sessions", s.max_sessions),
    ] {
        if v == 0 {
            r.error(key, v, "must be at least 1");
        }
    }
    if s.tls.cert_file.is_some() != s.tls.key_file.is_some() {
        r.error(
            "smtp.tls",
            format!(
                "cert_file={:?} key_file={:?}",
                s.tls.cert_file, s.tls.key_file
            ),
            "give both cert_file and key_file, or neither for a generated self-signed certificate",
        );
    }
    if s.reserved_office_sessions + s.reserved_submission_sessions >= s.max_sessions {
        r.error(
            "smtp.reserved_office_sessions",
            s.reserved_office_sessions,
            format!(
                "with reserved_submission_sessions ({}) it must leave room in max_sessions ({}) for everyone else",
                s.reserved_submission_sessions, s.max_sessions
            ),
        );
    }
    for (key, v) in [
        (
            "smtp.max_connections_per_client",
            s.max_connections_per_client,
        ),
        (
            "smtp.max_connection_rate_per_client",
            s.max_connection_rate_per_client as usize,
        ),
        (
            "smtp.max_auth_failures_per_client",
            s.max_auth_failures_per_client as usize,
        ),
        (
            "smtp.max_auth_failures_per_account",
            s.max_auth_failures_per_account as usize,
        ),
    ] {
        if v == 0 {
            r.error(key, v, "must be at least 1");
        }
    }
    check_domains(c, r);
    let mut users = HashSet::new();
    for (i, a) in s.accounts.iter().enumerate() {
        if a.username.is_empty() || !users.insert(a.username.as_str()) {
            r.error(
                format!("smtp.accounts[{i}].username"),
                format!("{:?}", a.username),
                "user names must be non-empty and unique",
            );
        }
        if !a.password_hash.starts_with("$argon2id$") {
            r.error(
                format!("smtp.accounts[{i}].password_hash"),
                "(hidden)",
                "must be an Argon2id PHC string ($argon2id$...); make one with `mamori hash-password`",
            );
        }
        for (j, sender) in a.senders.iter().enumerate() {
            if let Err(why) = super::SenderPattern::parse(sender) {
                r.error(
                    format!("smtp.accounts[{i}].senders[{j}]"),
                    format!("{sender:?}"),
                    why,
                );
            }
        }
        if a.senders.is_empty() && !a.username.contains('@') {
            r.warn(
                format!("smtp.accounts[{i}].senders"),
                "[]",
                format!("account {:?} may send as any address of smtp.office_domains (any address at all while that is empty); list its own addresses", a.username),
            );
        }
    }
    let d = &s.delivery;
    if d.retry_initial.is_zero() || d.retry_initial > d.retry_max {
        r.error(
            "smtp.delivery.retry_initial",
            humantime::format_duration(d.retry_initial),
            "must be more than zero and at most smtp.delivery.retry_max",
        );
    }
    if d.queue_lifetime < d.retry_initial {
        r.error(
            "smtp.delivery.queue_lifetime",
            humantime::format_duration(d.queue_lifetime),
            "must be at least smtp.delivery.retry_initial",
        );
    }
    if !(100..=1_000_000).contains(&d.active_limit) {
        r.error(
            "smtp.delivery.active_limit",
            d.active_limit,
            "must be from 100 to 1000000 messages (each takes a few KB of memory)",
        );
    }
    for (i, route) in d.routes.iter().enumerate() {
        if route.host.is_empty() || route.port == 0 {
            r.error(
                format!("smtp.delivery.routes[{i}]"),
                format!("{}:{}", route.host, route.port),
                "a route needs a host and a non-zero port",
            );
        }
    }
    if let Some(sh) = &d.smarthost {
        if sh.host.is_empty() || sh.port == 0 {
            r.error(
                "smtp.delivery.smarthost",
                format!("{}:{}", sh.host, sh.port),
                "needs a host and a non-zero port",
            );
        }
        if sh.username.is_some() != sh.password_file.is_some() {
            r.error(
                "smtp.delivery.smarthost.username",
                format!("{:?}", sh.username),
                "username and password_file go together",
            );
        }
        if sh.username.is_some() && sh.tls != super::TlsMode::Required {
            r.error(
                "smtp.delivery.smarthost.tls",
                format!("{:?}", sh.tls).to_lowercase(),
                "a smarthost with credentials needs tls = \"required\" (a verified certificate), or the password could be sent to an impostor",
            );
        }
        if points_at_self(c, &sh.host, sh.port) {
            r.error(
                "smtp.delivery.smarthost.host",
                format!("{}:{}", sh.host, sh.port),
                "this is the box itself: mail would loop back to it",
            );
        }
    }
    for (i, route) in d.routes.iter().enumerate() {
        if points_at_self(c, &route.host, route.port) {
            r.error(
                format!("smtp.delivery.routes[{i}].host"),
                format!("{}:{}", route.host, route.port),
                "this is the box itself: mail would loop back to it",
            );
        }
    }
    check_limits("smtp.pacing.default", &s.pacing.default, r);
    for (i, g) in s.pacing.groups.iter().enumerate() {
        if g.name.is_empty() || g.domains.is_empty() {
            r.error(
                format!("smtp.pacing.groups[{i}]"),
                format!("{:?}", g.name),
                "a group needs a name and at least one domain",
            );
        }
        check_limits(&format!("smtp.pacing.groups[{i}].limits"), &g.limits, r);
    }
    check_retention(c.smtp.quarantine_retention, r);
    if c.smtp.alert_to.len() > 20 {
        r.error(
            "smtp.alert_to",
            c.smtp.alert_to.len(),
            "at most 20 addresses (a list is better kept at the mail server)",
        );
    }
    for (i, a) in c.smtp.alert_to.iter().enumerate() {
        if crate::address::check_lenient(a).is_err() || !looks_like_address(a) {
            r.error(format!("smtp.alert_to[{i}]"), a, "not an e-mail address");
        }
    }
    check_dlp(c.dlp, r);
}

/// `local@domain` with no space, angle bracket or control character.
fn looks_like_address(a: &str) -> bool {
    a.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty()
            && d.contains('.')
            && !a.contains(|c: char| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';')
            })
    })
}

/// The quarantine's retention: at least a day (an approver needs the time), at most ten
/// years; zero keeps held mail until someone decides, which the office should know.
fn check_retention(keep: std::time::Duration, r: &mut Report) {
    let key = "smtp.quarantine_retention";
    let shown = || humantime::format_duration(keep).to_string();
    if keep.is_zero() {
        r.warn(
            key,
            "0s",
            "held mail is never erased: personal data in it stays until someone decides",
        );
    } else if keep.as_secs() < 86_400 {
        r.error(
            key,
            shown(),
            "at least 1d: approvers need the time to decide",
        );
    } else if keep.as_secs() > 3650 * 86_400 {
        r.error(key, shown(), "at most 3650d");
    }
}

/// The DLP section: the dictionary and the rules must compile, the limits must leave room
/// to inspect anything, notices must go to addresses.
fn check_dlp(d: &mamori_dlp::DlpConfig, r: &mut Report) {
    match mamori_dlp::Scanner::new(&d.scan) {
        Ok(_) => {}
        Err(mamori_dlp::DictionaryError::Rule {
            index,
            pattern,
            reason,
            ..
        }) => r.error(
            format!("dlp.scan.custom.rules[{index}].pattern"),
            format!("{pattern:?}"),
            reason.to_string(),
        ),
        Err(other) => r.error(
            "dlp.scan.custom.rules",
            "(the whole list)",
            other.to_string(),
        ),
    }
    if let Err(e) = mamori_dlp::Policy::new(&d.effective_rules(), &d.scan) {
        r.error(
            format!("dlp.rules[{}]", e.index),
            format!("{:?}", e.name),
            e.reason,
        );
    }
    let l = &d.limits;
    for (name, value, least) in [
        ("max_depth", l.max_depth as u64, 1),
        ("max_parts", l.max_parts as u64, 1),
        ("max_text_bytes", l.max_text_bytes as u64, 1024),
        ("max_entry_bytes", l.max_entry_bytes, 1024),
        ("max_expanded_bytes", l.max_expanded_bytes, 1024),
        ("max_ratio", l.max_ratio, 2),
    ] {
        if value < least {
            r.error(
                format!("dlp.limits.{name}"),
                value,
                format!("must be at least {least}"),
            );
        }
    }
    if l.max_scan_time < std::time::Duration::from_secs(1) {
        r.error(
            "dlp.limits.max_scan_time",
            humantime::format_duration(l.max_scan_time),
            "must be at least 1s, or every message would be held as not fully read",
        );
    }
    if !d.rules.is_empty() && !d.allow_encrypted.is_empty() {
        r.warn(
            "dlp.allow_encrypted",
            format!("{:?}", d.allow_encrypted),
            "applies to the default rules only; with dlp.rules set, put the partners in the except_senders/except_recipients of your own rule",
        );
    }
    for (i, address) in d.notify.iter().enumerate() {
        let ok = address
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.parse::<Domain>().is_ok());
        if !ok {
            r.error(
                format!("dlp.notify[{i}]"),
                format!("{address:?}"),
                "must be a mail address such as admin@example.jp",
            );
        }
    }
}

/// The two domain lists: accepted domains need a route and a way to check recipients,
/// and no route may lead back to the box.
fn check_domains(c: &View<'_>, r: &mut Report) {
    let s = &c.smtp;
    let mut seen = HashSet::new();
    for (i, a) in s.accepted_domains.iter().enumerate() {
        let key = format!("smtp.accepted_domains[{i}]");
        if !seen.insert(a.domain.as_str()) {
            r.error(format!("{key}.domain"), &a.domain, "listed twice");
        }
        let route = super::route_for_accepted(a, &s.delivery);
        let Some((host, port)) = route else {
            r.error(
                format!("{key}.host"),
                &a.domain,
                "an accepted domain needs a route to the office's mail server: set host (and port), or a route in smtp.delivery.routes",
            );
            continue;
        };
        if host.is_empty() || port == 0 {
            r.error(
                format!("{key}.host"),
                format!("{host}:{port}"),
                "needs a host and a non-zero port",
            );
        }
        if points_at_self(c, &host, port) {
            r.error(
                format!("{key}.host"),
                format!("{host}:{port}"),
                "this is the box itself: mail for the domain would loop back to it",
            );
        }
        if !s.office_domains.contains(&a.domain) {
            r.warn(
                format!("{key}.domain"),
                &a.domain,
                "not one of smtp.office_domains: mail to it counts as going outside the office for DLP",
            );
        }
        if a.verify == super::RecipientCheck::List && a.recipients.is_empty() {
            r.error(
                format!("{key}.recipients"),
                "[]",
                "verify = \"list\" needs the list of valid recipients",
            );
        }
    }
    if s.office_domains.is_empty() && (!s.accounts.is_empty() || !s.listeners.is_empty()) {
        r.warn(
            "smtp.office_domains",
            "[]",
            "empty: every recipient counts as outside the office for DLP, and senders on the trusted networks are not checked",
        );
    }
}

/// Does `host:port` name this box's own SMTP service (its host name, `localhost` or a
/// loopback address, at the port of one of its listeners)?
fn points_at_self(c: &View<'_>, host: &str, port: u16) -> bool {
    let host = host.trim().trim_end_matches('.');
    let is_self_name = host.eq_ignore_ascii_case(&c.general.hostname)
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    is_self_name && c.smtp.listeners.iter().any(|l| l.address.port() == port)
}

fn check_limits(key: &str, l: &PaceLimits, r: &mut Report) {
    for (name, v) in [
        ("max_connections", l.max_connections),
        ("messages_per_connection", l.messages_per_connection),
        ("recipients_per_transaction", l.recipients_per_transaction),
        ("recipients_per_connection", l.recipients_per_connection),
    ] {
        if v == 0 {
            r.error(format!("{key}.{name}"), v, "must be at least 1");
        }
    }
    if l.recipients_per_transaction > l.recipients_per_connection {
        r.error(
            format!("{key}.recipients_per_transaction"),
            l.recipients_per_transaction,
            "cannot exceed recipients_per_connection",
        );
    }
}
