//! The `/metrics` endpoint's pure parts: the daemons' answers written in the Prometheus
//! text exposition format (0.0.4), and the bearer token's check. Offices and service
//! providers that watch many boxes scrape it; the token is set in the panel.

use std::fmt::Write as _;

use serde_json::Value;

/// What the daemons answered (a `None` is a daemon that did not answer).
#[derive(Debug, Default)]
pub struct Inputs {
    /// Each daemon and whether it answered `health` as running.
    pub up: Vec<(&'static str, bool)>,
    /// The relay's `stats`.
    pub smtp: Option<Value>,
    /// The relay's `quarantine_stats`.
    pub quarantine: Option<Value>,
    /// How many messages are queued.
    pub queued: Option<u64>,
    /// The firewall's `status` counters.
    pub firewall: Option<Value>,
}

/// A label value escaped as the format asks (backslash, quote, new line).
fn label(value: &str) -> String {
    value
        .chars()
        .take(128)
        .flat_map(|c| match c {
            '\\' => vec!['\\', '\\'],
            '"' => vec!['\\', '"'],
            '\n' => vec!['\\', 'n'],
            c => vec![c],
        })
        .collect()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The exposition text.
pub fn render(inputs: &Inputs) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "mamori_up",
        "gauge",
        "Whether the daemon answered as running (1) or not (0).",
    );
    for (daemon, up) in &inputs.up {
        let _ = writeln!(
            out,
            "mamori_up{{daemon=\"{}\"}} {}",
            label(daemon),
            u8::from(*up)
        );
    }
    if let Some(smtp) = &inputs.smtp {
        family(
            &mut out,
            "mamori_smtp_messages_total",
            "counter",
            "Messages by outcome since the relay started (deliveries and bounces count recipients).",
        );
        for outcome in ["received", "delivered", "deferred", "bounced", "rejected"] {
            let n = smtp[outcome].as_u64().unwrap_or(0);
            let _ = writeln!(
                out,
                "mamori_smtp_messages_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
    }
    if let Some(n) = inputs.queued {
        family(
            &mut out,
            "mamori_queue_messages",
            "gauge",
            "Messages in the queue now.",
        );
        let _ = writeln!(out, "mamori_queue_messages {n}");
    }
    if let Some(q) = &inputs.quarantine {
        family(
            &mut out,
            "mamori_quarantine_messages",
            "gauge",
            "Messages DLP holds now.",
        );
        let _ = writeln!(
            out,
            "mamori_quarantine_messages {}",
            q["held"].as_u64().unwrap_or(0)
        );
        let since = &q["since_start"];
        family(
            &mut out,
            "mamori_dlp_inspected_total",
            "counter",
            "Messages DLP inspected since the relay started.",
        );
        let _ = writeln!(
            out,
            "mamori_dlp_inspected_total {}",
            since["inspected"].as_u64().unwrap_or(0)
        );
        family(
            &mut out,
            "mamori_dlp_verdicts_total",
            "counter",
            "DLP verdicts by deciding action since the relay started.",
        );
        if let Some(actions) = since["by_action"].as_object() {
            for (action, n) in actions {
                let _ = writeln!(
                    out,
                    "mamori_dlp_verdicts_total{{action=\"{}\"}} {}",
                    label(action),
                    n.as_u64().unwrap_or(0)
                );
            }
        }
        family(
            &mut out,
            "mamori_dlp_not_fully_read_total",
            "counter",
            "Messages with content DLP could not fully read since the relay started.",
        );
        let _ = writeln!(
            out,
            "mamori_dlp_not_fully_read_total {}",
            since["not_fully_read"].as_u64().unwrap_or(0)
        );
    }
    if let Some(counters) = inputs.firewall.as_ref().and_then(Value::as_array) {
        family(
            &mut out,
            "mamori_firewall_rule_packets_total",
            "counter",
            "Packets matched by each firewall rule.",
        );
        let mut bytes = String::new();
        for c in counters {
            let rule = label(c["comment"].as_str().unwrap_or(""));
            let chain = label(c["chain"].as_str().unwrap_or(""));
            let handle = c["handle"].as_u64().unwrap_or(0);
            let _ = writeln!(
                out,
                "mamori_firewall_rule_packets_total{{chain=\"{chain}\",handle=\"{handle}\",rule=\"{rule}\"}} {}",
                c["packets"].as_u64().unwrap_or(0)
            );
            let _ = writeln!(
                bytes,
                "mamori_firewall_rule_bytes_total{{chain=\"{chain}\",handle=\"{handle}\",rule=\"{rule}\"}} {}",
                c["bytes"].as_u64().unwrap_or(0)
            );
        }
        family(
            &mut out,
            "mamori_firewall_rule_bytes_total",
            "counter",
            "Bytes matched by each firewall rule.",
        );
        out.push_str(&bytes);
    }
    out
}

/// Whether `authorization` (the header's value) carries the token whose SHA-256 is
/// `expected` (lower-case hex), compared in constant time.
pub fn bearer_ok(authorization: Option<&str>, expected: &str) -> bool {
    let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")) else {
        return false;
    };
    let digest = mamori_core::audit::hex_sha256(token.trim().as_bytes());
    !expected.is_empty() && crate::same_secret(digest.as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_follows_the_exposition_format() {
        let inputs = Inputs {
            up: vec![("smtpd", true), ("firewalld", false)],
            smtp: Some(
                serde_json::json!({"received": 5, "delivered": 4, "deferred": 1, "bounced": 0, "rejected": 2}),
            ),
            quarantine: Some(
                serde_json::json!({"held": 1, "since_start": {"inspected": 5, "by_action": {"hold": 1, "pass": 4}, "not_fully_read": 0}}),
            ),
            queued: Some(3),
            firewall: Some(
                serde_json::json!([{"chain": "input", "handle": 7, "comment": "a \"quoted\"\nrule", "packets": 10, "bytes": 600}]),
            ),
        };
        let text = render(&inputs);
        assert!(
            text.contains("mamori_up{daemon=\"smtpd\"} 1\nmamori_up{daemon=\"firewalld\"} 0\n")
        );
        assert!(text.contains("mamori_smtp_messages_total{outcome=\"rejected\"} 2\n"));
        assert!(text.contains("mamori_queue_messages 3\n"));
        assert!(text.contains("mamori_dlp_verdicts_total{action=\"hold\"} 1\n"));
        assert!(text.contains(r#"rule="a \"quoted\"\nrule"} 10"#), "{text}");
        // Every sample line belongs to a family declared before it.
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.iter().any(|d| d == name), "{name} undeclared");
            }
        }
    }

    #[test]
    fn the_bearer_token_is_checked_by_its_digest() {
        let expected = mamori_core::audit::hex_sha256(b"s3cret-token");
        assert!(bearer_ok(Some("Bearer s3cret-token"), &expected));
        assert!(!bearer_ok(Some("Bearer s3cret-tokex"), &expected));
        assert!(!bearer_ok(Some("Basic s3cret-token"), &expected));
        assert!(!bearer_ok(None, &expected));
        assert!(
            !bearer_ok(Some("Bearer "), ""),
            "no token set: nothing passes"
        );
    }
}
