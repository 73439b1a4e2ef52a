//! The admin panel's parsers of what a visitor types: the setup wizard's fields (domains,
//! LAN subnet, host, port, relay account), the setup code, the password policy, the time
//! page's servers and date, and the log page's filters and journal lines. None may panic,
//! and what each accepts must be what it promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_panel::{clock, journal, setup_code, wizard};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(domains) = wizard::domains(text) {
        assert!(!domains.is_empty() && domains.len() <= wizard::MAX_DOMAINS);
        for d in &domains {
            assert!(d.parse::<mamori_core::values::Domain>().is_ok(), "{d:?}");
            assert!(!d.contains(char::is_whitespace) && d.contains('.'), "{d:?}");
        }
    }
    if let Ok(net) = wizard::lan(text) {
        assert_eq!(net, net.trunc(), "a network, not a host");
        assert!(wizard::lan(&net.to_string()).is_ok(), "round trip {net}");
    }
    if let Ok(host) = wizard::host(text) {
        assert!(
            !host.is_empty() && !host.contains(char::is_whitespace),
            "{host:?}"
        );
    }
    let _ = wizard::port(text);
    if let Some(code) = setup_code::normalize(text) {
        assert_eq!(code.len(), 12);
        assert!(setup_code::matches(text, &code) && setup_code::matches(&code, text));
    }
    if mamori_core::password::check(text, &["tanaka"]).is_ok() {
        assert!(text.chars().count() >= mamori_core::password::MIN_CHARS);
        assert!(!text.to_lowercase().contains("tanaka"));
    }
    let draft = wizard::Draft {
        domains: vec!["office.example.jp".into()],
        ..wizard::Draft::default()
    };
    let (user, pass) = text.split_once('\n').unwrap_or((text, text));
    if let Ok((username, _)) = wizard::account(&draft, user, pass, pass) {
        assert!(username.ends_with("@office.example.jp"), "{username:?}");
    }
    // NTP servers end up in a timesyncd file: one word each, nothing that starts a line.
    if let Ok(servers) = clock::servers(text, true) {
        assert!(!servers.is_empty() && servers.len() <= mamori_core::time::MAX_SERVERS);
        let dropin = mamori_core::time::timesyncd_dropin(&mamori_core::time::TimeSettings {
            ntp: true,
            ntp_servers: servers.clone(),
        })
        .expect("accepted servers make a drop-in");
        assert_eq!(dropin.lines().count(), 4, "{dropin:?}");
    }
    if let Ok(t) = clock::parse_local(text) {
        assert!((mamori_core::time::EARLIEST..mamori_core::time::LATEST).contains(&t));
        assert_eq!(
            clock::parse_local(&clock::local_text(t)),
            Ok(t),
            "round trip"
        );
    }
    // Only known units and levels reach journalctl's arguments.
    let filter = journal::Filter::from_query(user, pass, text);
    for arg in filter.journalctl_args() {
        assert!(
            arg.starts_with("--output=")
                || arg == "--no-pager"
                || arg == "--reverse"
                || arg.starts_with("--lines=")
                || arg.starts_with("--priority=0..")
                || journal::UNITS
                    .iter()
                    .any(|(_, u)| arg == format!("--unit={u}")),
            "{arg:?}"
        );
    }
    if let Some(entry) = journal::parse_line(text) {
        assert!(entry.priority <= 7);
        assert!(entry.message.chars().count() <= journal::MAX_MESSAGE);
        assert!(!entry.message.contains(char::is_control));
    }
});
