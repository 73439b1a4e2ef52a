//! Misdelivery prevention through the relay, with real peers: the timed hold (mail to
//! outside waits, its sender gets a link, a restart in the middle loses nothing and sends
//! nothing twice), FUTURERELEASE (RFC 4865) from Python's smtplib, and an administrator
//! ending a hold from the CLI.

use std::time::{Duration, SystemTime};

use crate::common::*;

fn office_route(sink_port: u16) -> String {
    format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n[[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {sink_port}\n"
    )
}

/// Sends one mail with smtplib, `params` on MAIL FROM; prints the EHLO answer's
/// FUTURERELEASE line (or `NONE`) and the final reply (`250 …` or the refusal).
const SEND: &str = r#"
import smtplib, sys
port, rcpt, subject = sys.argv[1], sys.argv[2], sys.argv[3]
params = sys.argv[4:]
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.ehlo('pc.office.test')
print('EXT', s.esmtp_features.get('futurerelease', 'NONE'))
msg = ('From: taro@office.test\r\nTo: ' + rcpt + '\r\nSubject: ' + subject + '\r\n\r\nbody\r\n').encode()
try:
    code, text = s.mail('taro@office.test', params)
    if code != 250:
        print('MAIL', code, text.decode())
    else:
        s.rcpt(rcpt)
        code, text = s.data(msg)
        print('DATA', code, text.decode())
except smtplib.SMTPResponseException as e:
    print('REFUSED', e.smtp_code, e.smtp_error.decode())
s.quit()
"#;

fn send(m: &Mamori, rcpt: &str, subject: &str, params: &[&str]) -> String {
    let port = m.relay.to_string();
    let mut args = vec![port.as_str(), rcpt, subject];
    args.extend_from_slice(params);
    let (code, out) = python(SEND, &args);
    assert_eq!(code, 0, "{out}");
    out
}

/// The dumps whose subject is `subject`, with their times.
fn arrived(sink: &Sink, subject: &str) -> Vec<SystemTime> {
    sink.messages()
        .into_iter()
        .filter(|(t, _)| {
            t.contains(&format!("Subject: {subject}\r\n"))
                || t.contains(&format!("Subject: {subject}\n"))
        })
        .map(|(_, at)| at)
        .collect()
}

#[test]
fn mail_to_outside_waits_its_time_the_sender_gets_a_link_and_a_restart_sends_it_once() {
    let sink = Sink::start();
    let extra = format!(
        "{}\n[misdelivery]\nhold = \"8s\"\n",
        office_route(sink.port)
    );
    let mut m = Mamori::start(sink.port, None, &extra);
    let sent = SystemTime::now();
    let out = send(&m, "client@sink.test", "outside-mail", &[]);
    assert!(out.contains("DATA 250"), "{out}\n{}", m.log());
    send(&m, "hanako@office.test", "inside-mail", &[]);
    // The office's own mail does not wait; the sender's notice comes at once.
    assert!(
        wait_for(Duration::from_secs(10), || arrived(&sink, "inside-mail")
            .len()
            == 1
            && sink.messages().iter().any(|(t, _)| t.contains(".hold@"))),
        "{}",
        m.log()
    );
    let notice = sink
        .messages()
        .into_iter()
        .find(|(t, _)| t.contains(".hold@"))
        .unwrap()
        .0;
    assert!(
        notice.contains("taro@office.test"),
        "to the sender: {notice}"
    );
    assert!(arrived(&sink, "outside-mail").is_empty(), "it waits");
    // A power cut of the process while it waits.
    std::thread::sleep(Duration::from_secs(2));
    m.kill();
    m.spawn();
    assert!(
        wait_for(Duration::from_secs(30), || arrived(&sink, "outside-mail")
            .len()
            == 1),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    let times = arrived(&sink, "outside-mail");
    assert_eq!(times.len(), 1, "sent once");
    let waited = times[0].duration_since(sent).unwrap_or_default();
    assert!(waited >= Duration::from_secs(7), "it left after {waited:?}");
    let audit = std::fs::read_to_string(m.dir.path().join("data/audit/smtpd/audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"timed_hold\""), "{audit}");
}

#[test]
fn futurerelease_is_offered_honoured_and_bounded() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, &office_route(sink.port));
    let sent = SystemTime::now();
    let out = send(&m, "client@sink.test", "later-mail", &["HOLDFOR=5"]);
    assert!(
        out.contains("EXT 604800 "),
        "advertised with its limit: {out}"
    );
    assert!(out.contains("DATA 250"), "{out}\n{}", m.log());
    // Too far ahead: refused at MAIL with the reason.
    let out = send(&m, "client@sink.test", "never-mail", &["HOLDFOR=9999999"]);
    assert!(out.contains("501") && out.contains("5.5.4"), "{out}");
    assert!(
        wait_for(Duration::from_secs(30), || arrived(&sink, "later-mail")
            .len()
            == 1),
        "{}",
        m.log()
    );
    let waited = arrived(&sink, "later-mail")[0]
        .duration_since(sent)
        .unwrap_or_default();
    assert!(
        waited >= Duration::from_secs(4),
        "released after {waited:?}"
    );

    // Not offered: not advertised, and refused.
    let off = Mamori::start(
        sink.port,
        None,
        &format!(
            "{}\n[misdelivery]\nmax_future_release = \"0s\"\n",
            office_route(sink.port)
        ),
    );
    let out = send(&off, "client@sink.test", "refused-mail", &["HOLDFOR=5"]);
    assert!(out.contains("EXT NONE"), "{out}");
    assert!(out.contains("555"), "{out}");
}

#[test]
fn an_administrator_cancels_one_held_mail_and_sends_another_now() {
    let sink = Sink::start();
    let extra = format!(
        "{}\n[misdelivery]\nhold = \"1h\"\n",
        office_route(sink.port)
    );
    let m = Mamori::start(sink.port, None, &extra);
    let first = send(&m, "client@sink.test", "cancel-me", &[]);
    let second = send(&m, "client@sink.test", "send-me", &[]);
    let id = |out: &str| {
        out.split("queued as ")
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"))
            .trim()
            .to_string()
    };
    let (one, two) = (id(&first), id(&second));
    let (code, _, err) = m.queue(&["delete", &one]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = m.queue(&["release", &two]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_for(Duration::from_secs(20), || arrived(&sink, "send-me").len()
            == 1),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(arrived(&sink, "cancel-me").is_empty());
    assert_eq!(arrived(&sink, "send-me").len(), 1);
}

/// Sends one mail whose To lists argv[2..] (every one an envelope recipient too).
const SEND_TO_MANY: &str = r#"
import smtplib, sys
port, rcpts = sys.argv[1], sys.argv[2:]
msg = ('From: taro@office.test\r\nTo: ' + ', '.join(rcpts) + '\r\nSubject: newsletter\r\n\r\nbody\r\n').encode()
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.sendmail('taro@office.test', rcpts, msg)
s.quit()
"#;

#[test]
fn a_long_outside_to_list_is_hidden_and_everyone_still_gets_the_mail() {
    let sink = Sink::start();
    let extra = format!(
        "{}\n[misdelivery]\nbcc_threshold = 2\n",
        office_route(sink.port)
    );
    let m = Mamori::start(sink.port, None, &extra);
    let port = m.relay.to_string();
    let rcpts = [
        "a@sink.test",
        "b@sink.test",
        "c@sink.test",
        "hanako@office.test",
    ];
    let mut args = vec![port.as_str()];
    args.extend_from_slice(&rcpts);
    let (code, out) = python(SEND_TO_MANY, &args);
    assert_eq!(code, 0, "{out}");
    // One transaction per destination domain, and the sender's notice.
    assert!(
        wait_for(Duration::from_secs(20), || {
            let all = sink.messages();
            rcpts
                .iter()
                .all(|r| all.iter().any(|(t, _)| t.contains(&format!("<{r}>"))))
                && all.iter().any(|(t, _)| t.contains(".bcc@"))
        }),
        "{}",
        m.log()
    );
    for (t, _) in sink.messages() {
        if !t.lines().any(|l| l.trim_end() == "Subject: newsletter") {
            continue;
        }
        let to = t
            .lines()
            .find(|l| l.starts_with("To:"))
            .unwrap_or_default()
            .to_string();
        assert_eq!(to.trim_end(), "To: hanako@office.test", "{t}");
        assert!(!t.contains("a@sink.test,"), "{t}");
    }
}

#[test]
fn domains_learned_in_a_burst_are_written_once_paced_and_kept_across_a_stop() {
    let sink = Sink::start();
    let extra = format!(
        "{}\n[[smtp.delivery.routes]]\ndomain = \"other.test\"\nhost = \"127.0.0.1\"\nport = {}\n",
        office_route(sink.port),
        sink.port
    );
    let mut m = Mamori::start(sink.port, None, &extra);
    let store = m.dir.path().join("data/misdelivery/known-domains");
    let started = std::fs::read_to_string(&store).unwrap();
    assert!(!started.contains("sink.test"), "{started}");
    // Two new domains in the seconds after the start (the store was written then): both
    // are learned as delivered, and written together once the pause is over.
    send(&m, "client@sink.test", "burst-1", &[]);
    send(&m, "client@other.test", "burst-2", &[]);
    assert!(
        wait_for(Duration::from_secs(10), || arrived(&sink, "burst-1").len()
            == 1
            && arrived(&sink, "burst-2").len() == 1),
        "{}",
        m.log()
    );
    let before = std::fs::read_to_string(&store).unwrap();
    assert!(
        !before.contains("other.test"),
        "the second new domain in ten seconds is not written at once: {before}"
    );
    // A stop (systemd's SIGTERM) in the pause writes what is pending.
    assert!(m.terminate(), "a clean stop\n{}", m.log());
    let after = std::fs::read_to_string(&store).unwrap();
    for domain in ["sink.test", "other.test"] {
        assert!(
            after.lines().any(|l| l.starts_with(&format!("{domain} "))),
            "{domain} kept: {after}\n{}",
            m.log()
        );
    }
}
