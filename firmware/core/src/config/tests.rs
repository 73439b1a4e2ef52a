use std::io::Write;

use super::*;

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
    let c = load_with_env(&[], env(&[])).unwrap();
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
