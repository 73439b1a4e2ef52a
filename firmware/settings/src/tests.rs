use std::io::Write;

use super::*;
use mamori_core::values::Domain;
use mamori_smtp::settings::{BounceContent, ListenerKind, jp_mobile_group, route_for_accepted};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The error with its sources, as the binary prints it.
fn chain(e: &ConfigError) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn write_toml(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_are_valid_and_careful() {
    let c = load_with_env(&[], env(&[])).unwrap().strict().unwrap();
    assert!(
        c.smtp.listeners.is_empty(),
        "nothing listens unless configured"
    );
    assert!(
        c.smtp.accounts.is_empty(),
        "no default accounts or passwords"
    );
    assert_eq!(c.smtp.max_line_length, 998);
    assert!(c.smtp.pacing.jp_mobile_preset);
}

#[test]
fn file_then_environment_layers() {
    let f = write_toml(
        r#"
[general]
hostname = "gw.example.jp"
data_dir = "/tmp/x"
[smtp]
max_message_size = 2048
[[smtp.listeners]]
kind = "relay"
address = "127.0.0.1:2525"
"#,
    );
    let c = load_with_env(
        &[f.path()],
        env(&[
            ("MAMORI__SMTP__MAX_MESSAGE_SIZE", "4096"),
            (
                "MAMORI__SMTP__TRUSTED_NETWORKS",
                "10.0.0.0/8,192.168.1.0/24",
            ),
            ("MAMORI__SMTP__DELIVERY__RETRY_INITIAL", "30s"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap()
    .strict()
    .unwrap();
    assert_eq!(c.general.hostname, "gw.example.jp");
    assert_eq!(c.smtp.max_message_size, 4096, "environment wins over file");
    assert_eq!(c.smtp.trusted_networks.len(), 2);
    assert_eq!(
        c.smtp.delivery.retry_initial,
        std::time::Duration::from_secs(30)
    );
    assert_eq!(c.smtp.listeners[0].kind, ListenerKind::Relay);
}

#[test]
fn bad_values_name_key_value_and_reason() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[smtp]\nmax_message_size = \"lots\"",
            &["max_message_size", "lots"],
        ),
        (
            "[smtp]\ntrusted_networks = [\"10.0.0.300/8\"]",
            &["trusted_networks", "10.0.0.300/8", "CIDR"],
        ),
        ("[smtp]\nno_such_key = 1", &["no_such_key"]),
        (
            "[[smtp.listeners]]\nkind = \"relay\"\naddress = \"nowhere\"",
            &["address"],
        ),
        (
            "[[smtp.listeners]]\nkind = \"pop3\"\naddress = \"127.0.0.1:1\"",
            &["pop3"],
        ),
        (
            "[smtp]\nmax_line_length = 10",
            &["smtp.max_line_length", "10", "998"],
        ),
        (
            "[smtp.delivery]\nretry_initial = \"2h\"\nretry_max = \"1h\"",
            &["retry_initial", "2h"],
        ),
        (
            "[smtp.delivery]\nretry_initial = \"soon\"",
            &["retry_initial", "soon"],
        ),
        (
            "[[smtp.accounts]]\nusername = \"taro\"\npassword_hash = \"secret\"",
            &["password_hash", "Argon2id"],
        ),
        (
            "[[smtp.pacing.groups]]\nname = \"x\"\ndomains = [\"bad domain\"]\n[smtp.pacing.groups.limits]",
            &["bad domain"],
        ),
        (
            "[general]\nhostname = \"not a host\"",
            &["general.hostname"],
        ),
        (
            "[[dlp.scan.custom.rules]]\nname = \"id\"\nkind = \"regex\"\npattern = \"EMP-(\"",
            &["dlp.scan.custom.rules[0].pattern", "EMP-("],
        ),
        (
            "[[dlp.rules]]\nname = \"x\"\ndetectors = [\"mynumber\"]\naction = \"hold\"",
            &["dlp.rules[0]", "unknown detector", "mynumber"],
        ),
        (
            "[[dlp.rules]]\nname = \"x\"\naction = \"block\"",
            &["block"],
        ),
        (
            "[dlp.limits]\nmax_ratio = 1",
            &["dlp.limits.max_ratio", "at least 2"],
        ),
        ("[dlp]\nnotify = [\"admin\"]", &["dlp.notify[0]", "admin"]),
        ("[dlp.scan.phone]\nenabeld = false", &["enabeld"]),
        (
            "[[firewall.rules]]\nname = \"nas\"\nzone = \"dmz\"\naction = \"accept\"",
            &["firewall.rules[0].zone", "dmz", "not defined", "nas"],
        ),
        (
            "[[smtp.accepted_domains]]\ndomain = \"office.test\"",
            &["smtp.accepted_domains[0].host", "office.test", "route"],
        ),
        (
            "[[smtp.accepted_domains]]\ndomain = \"office.test\"\nhost = \"mail.office.test\"\nverify = \"list\"",
            &["smtp.accepted_domains[0].recipients", "list"],
        ),
        (
            "[smtp.delivery.smarthost]\nhost = \"smtp.isp.test\"\nusername = \"u\"\npassword_file = \"/p\"\ntls = \"opportunistic\"",
            &["smtp.delivery.smarthost.tls", "opportunistic", "required"],
        ),
        (
            "[general]\nhostname = \"gw.test\"\n[[smtp.listeners]]\nkind = \"relay\"\naddress = \"0.0.0.0:25\"\n[[smtp.delivery.routes]]\ndomain = \"x.test\"\nhost = \"gw.test\"",
            &["smtp.delivery.routes[0].host", "gw.test:25", "loop back"],
        ),
        (
            "[[smtp.listeners]]\nkind = \"relay\"\naddress = \"127.0.0.1:2525\"\n[[smtp.accepted_domains]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = 2525",
            &["smtp.accepted_domains[0].host", "loop back"],
        ),
        (
            "[smtp]\nmax_sessions = 20\nreserved_office_sessions = 15\nreserved_submission_sessions = 5",
            &["smtp.reserved_office_sessions", "max_sessions"],
        ),
        (
            "[[smtp.accounts]]\nusername = \"taro\"\npassword_hash = \"$argon2id$x\"\nsenders = [\"@\"]",
            &["smtp.accounts[0].senders[0]"],
        ),
        (
            "[[dlp.rules]]\nname = \"x\"\nproblems = [\"unread\"]\naction = \"hold\"",
            &["unread", "not_fully_read"],
        ),
    ];
    for (text, needles) in cases {
        let err = chain(&from_toml_str(text).expect_err(text));
        for n in *needles {
            assert!(
                err.contains(n),
                "error for {text:?} should mention {n:?}: {err}"
            );
        }
    }
}

#[test]
fn duplicate_listener_addresses_are_refused() {
    let err = from_toml_str(
        "[[smtp.listeners]]\nkind=\"relay\"\naddress=\"127.0.0.1:25\"\n[[smtp.listeners]]\nkind=\"smtps\"\naddress=\"127.0.0.1:25\"",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("smtp.listeners[1].address"), "{err}");
}

#[test]
fn jp_mobile_preset_stays_under_docomo_session_limit() {
    let g = jp_mobile_group();
    assert!(g.limits.recipients_per_connection < 100);
    assert!(g.limits.messages_per_minute > 0);
    for d in [
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "ymobile.ne.jp",
    ] {
        assert!(
            g.domains.iter().any(|m| m.contains(d)),
            "{d} missing from preset"
        );
    }
}

#[test]
fn the_old_local_domains_still_work_as_office_and_accepted_domains() {
    let c = from_toml_str(
        "[smtp]\nlocal_domains = [\"office.test\", \"school.test\"]\n[[smtp.delivery.routes]]\ndomain = \"school.test\"\nhost = \"mail.school.test\"",
    )
    .unwrap();
    let office: Vec<&str> = c.smtp.office_domains.iter().map(Domain::as_str).collect();
    assert_eq!(office, ["office.test", "school.test"]);
    let accepted: Vec<&str> = c
        .smtp
        .accepted_domains
        .iter()
        .map(|a| a.domain.as_str())
        .collect();
    assert_eq!(
        accepted,
        ["school.test"],
        "only the domain with a route is accepted"
    );
    assert!(c.smtp.local_domains.is_empty());
    // The route of an accepted domain: its own host, else delivery.routes.
    let route = route_for_accepted(&c.smtp.accepted_domains[0], &c.smtp.delivery);
    assert_eq!(route, Some(("mail.school.test".to_string(), 25)));
}

#[test]
fn defaults_take_a_notice_to_many_recipients_and_keep_office_slots() {
    let c = from_toml_str("").unwrap();
    assert!(c.smtp.max_recipients >= 1000);
    assert!(c.smtp.max_commands > c.smtp.max_recipients);
    assert!(c.smtp.reserved_office_sessions > 0);
    assert_eq!(c.smtp.bounce_content_outside, BounceContent::Headers);
}

#[test]
fn every_error_is_reported_at_once_and_each_program_checks_only_its_sections() {
    let text = "[smtp]\nmax_line_length = 10\nmax_errors = 0\n[dlp.scan.phone]\nenabeld = false\n[[firewall.rules]]\nname = \"nas\"\nzone = \"dmz\"\naction = \"accept\"\n[extra]\nx = 1\n";
    let f = write_toml(text);
    let loaded = load_with_env(&[f.path()], env(&[])).unwrap();
    let keys: Vec<&str> = loaded
        .report
        .errors
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    for key in [
        "smtp.max_line_length",
        "smtp.max_errors",
        "dlp.scan.phone.enabeld",
        "firewall.rules[0].zone",
        "extra",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let dlp = loaded
        .report
        .errors
        .iter()
        .find(|e| e.section() == "dlp")
        .unwrap();
    assert!(dlp.reason.contains("unknown field"), "{dlp}");
    // The firewall daemon is not stopped by the relay's or DLP's mistakes, but is told.
    let (_, report) = loaded
        .clone()
        .for_sections(&["general", "log", "firewall"])
        .err()
        .map(|e| {
            let ConfigError::Invalid(r) = e else {
                panic!("{e}")
            };
            assert_eq!(r.errors.len(), 1, "{r}");
            assert_eq!(r.errors[0].key, "firewall.rules[0].zone");
            (Config::default(), r)
        })
        .unwrap();
    assert!(!report.is_ok());
    let fine = "[smtp]\nmax_errors = 0\n";
    let f = write_toml(fine);
    let (_, report) = load_with_env(&[f.path()], env(&[]))
        .unwrap()
        .for_sections(&["general", "log", "firewall"])
        .unwrap();
    assert!(report.is_ok());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.key == "smtp.max_errors" && w.reason.contains("does not use")),
        "{report}"
    );
    // The relay is refused with its errors only.
    let err = load_with_env(&[f.path()], env(&[]))
        .unwrap()
        .for_sections(&["general", "log", "smtp", "dlp"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("smtp.max_errors = 0: must be at least 1"),
        "{err}"
    );
}

#[test]
fn warnings_are_reported_not_lost_before_logging_starts() {
    let loaded = load_with_env(
        &[write_toml("[smtp]\nlocal_domains = [\"office.test\"]\n[[smtp.accounts]]\nusername = \"taro\"\npassword_hash = \"$argon2id$x\"\n").path()],
        env(&[]),
    )
    .unwrap();
    assert!(loaded.report.is_ok(), "{}", loaded.report);
    let keys: Vec<&str> = loaded
        .report
        .warnings
        .iter()
        .map(|w| w.key.as_str())
        .collect();
    assert!(keys.contains(&"smtp.local_domains"), "{keys:?}");
    assert!(keys.contains(&"smtp.accounts[0].senders"), "{keys:?}");
}
