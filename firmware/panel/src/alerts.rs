//! The watchdog's decisions: which alert mails are due, from what the panel saw of the box
//! (a daemon down, held mail waiting too long, the panel's certificate near its end, the
//! data partition nearly full). Each condition is mailed once, again after a day while it
//! lasts, and again when it comes back after it cleared. Texts in Japanese, then English.

use std::collections::BTreeMap;

/// Held mail waiting longer than this is reported (seconds).
pub const HELD_TOO_LONG: u64 = 24 * 3600;
/// A certificate ending within this is reported (seconds).
pub const CERT_SOON: u64 = 14 * 86_400;
/// Less free space than this (percent of the data partition) is reported.
pub const DISK_LOW_PERCENT: u64 = 10;
/// Events (a failed update, an update on offer) remembered as mailed.
pub const MAX_EVENTS: usize = 64;
/// A condition still true is mailed again after this (seconds).
pub const RESEND_AFTER: u64 = 86_400;

/// What the watchdog saw.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Now (Unix seconds).
    pub now: u64,
    /// Daemons that did not answer as running twice in a row.
    pub down: Vec<String>,
    /// Held messages: queue ID and arrival.
    pub held: Vec<(String, u64)>,
    /// When the panel's certificate ends.
    pub cert_not_after: Option<u64>,
    /// Free space on the data partition, in percent.
    pub disk_free_percent: Option<u64>,
    /// The newest verdict of the update daemon when it was a failure: when, the version
    /// that failed, why (the new firmware did not run well and the box went back).
    pub update_failed: Option<(u64, String, String)>,
    /// An update on offer that waits for an administrator (`notify` mode): its version.
    pub update_available: Option<String>,
}

/// An alert to mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What it is about (one condition), for "once".
    pub key: String,
    /// The subject.
    pub subject: String,
    /// The text.
    pub body: String,
}

/// The alerts due now; `sent` (condition → when last mailed) is updated, and conditions
/// that cleared are forgotten.
pub fn due(facts: &Facts, sent: &mut BTreeMap<String, u64>) -> Vec<Alert> {
    let mut now_true: Vec<Alert> = Vec::new();
    for daemon in &facts.down {
        now_true.push(Alert {
            key: format!("down:{daemon}"),
            subject: format!("{daemon} が応答しません / {daemon} is not answering"),
            body: format!(
                "Mamori のサービス {daemon} が応答していません。箱を再起動しても直らない場合は、管理画面のダッシュボードと監査ログを確認してください。\n\nMamori's service {daemon} is not answering. If restarting the box does not help, see the panel's dashboard and audit log.\n"
            ),
        });
    }
    let waiting: Vec<&(String, u64)> = facts
        .held
        .iter()
        .filter(|(_, arrived)| facts.now.saturating_sub(*arrived) >= HELD_TOO_LONG)
        .collect();
    if !waiting.is_empty() {
        let ids: Vec<&str> = waiting.iter().map(|(id, _)| id.as_str()).collect();
        now_true.push(Alert {
            key: "held".into(),
            subject: format!(
                "保留メールが {n} 通、24 時間以上承認を待っています / {n} held message(s) waiting over 24 hours",
                n = ids.len()
            ),
            body: format!(
                "次のメールが情報漏えい対策で保留され、24 時間以上承認を待っています。管理画面の「保留メール」で承認・拒否してください。\nThese messages have waited for approval for over 24 hours; decide under Held mail in the panel.\n\n{}\n",
                ids.join("\n")
            ),
        });
    }
    if let Some(end) = facts.cert_not_after
        && end.saturating_sub(facts.now) <= CERT_SOON
    {
        let days = end.saturating_sub(facts.now) / 86_400;
        now_true.push(Alert {
            key: "cert".into(),
            subject: format!(
                "管理画面の証明書の期限まであと {days} 日 / The panel's certificate ends in {days} days"
            ),
            body: "管理画面の証明書の有効期限が近づいています。アップロードした証明書の場合は、新しい証明書をアップロードしてください(自己署名の証明書は自動で更新されます)。\nThe panel's certificate is near its end. If you uploaded it, upload a new one (a self-signed one is renewed by itself).\n".into(),
        });
    }
    if let Some(free) = facts.disk_free_percent
        && free < DISK_LOW_PERCENT
    {
        now_true.push(Alert {
            key: "disk".into(),
            subject: format!("データ領域の空きが {free}% です / {free}% of the data partition is free"),
            body: "データ領域の空きが少なくなっています。空きがなくなると、メールを受け付けられなくなります。送信待ちや保留のメールを確認してください。\nThe data partition is nearly full; when it is full no mail can be accepted. Look at the queue and the held mail.\n".into(),
        });
    }
    if let Some((at, version, why)) = &facts.update_failed {
        now_true.push(Alert {
            key: format!("once:update-failed:{at}"),
            subject: format!(
                "ファームウェア {version} の更新は失敗し、元に戻しました / The firmware update to {version} failed and was rolled back"
            ),
            body: format!(
                "新しいファームウェア {version} は再起動後に正常に動かなかったため、箱は自動で元のファームウェアに戻りました。メールと通信はこれまでどおり動いています。管理画面の「更新」で詳細を確認し、配布元に連絡してください。\n理由: {why}\n\nThe new firmware {version} did not run well after the restart, so the box went back to its previous firmware by itself; mail and the network work as before. See Update in the panel and tell the repository's maintainer.\nWhy: {why}\n"
            ),
        });
    }
    if let Some(version) = &facts.update_available {
        now_true.push(Alert {
            key: format!("once:update-available:{version}"),
            subject: format!(
                "ファームウェア {version} に更新できます / Firmware {version} is available"
            ),
            body: "新しいファームウェアがあります。管理画面の「更新」で内容を確認し、「更新する」を押してください(更新中もメールは止まりません。再起動のあいだだけ止まります)。\nNew firmware is available: see Update in the panel and press Install (mail keeps flowing while it installs; it pauses only during the restart).\n".into(),
        });
    }
    let keys: Vec<String> = now_true.iter().map(|a| a.key.clone()).collect();
    // Conditions that cleared are forgotten (mailed again when they come back); events are
    // remembered (a look that could not see them must not make them news again), the
    // newest [`MAX_EVENTS`] of them.
    sent.retain(|k, _| keys.contains(k) || k.starts_with("once:"));
    let mut events: Vec<(u64, String)> = sent
        .iter()
        .filter(|(k, _)| k.starts_with("once:"))
        .map(|(k, at)| (*at, k.clone()))
        .collect();
    if events.len() > MAX_EVENTS {
        events.sort();
        for (_, k) in &events[..events.len() - MAX_EVENTS] {
            sent.remove(k);
        }
    }
    now_true
        .into_iter()
        .filter(|a| {
            // Events (`once:` keys) are mailed once; conditions again each day they last.
            let fresh = sent.get(&a.key).is_none_or(|at| {
                !a.key.starts_with("once:") && facts.now.saturating_sub(*at) >= RESEND_AFTER
            });
            if fresh {
                sent.insert(a.key.clone(), facts.now);
            }
            fresh
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_is_mailed_once_a_day_and_again_after_it_clears() {
        let now = 10_000_000;
        let mut sent = BTreeMap::new();
        let facts = Facts {
            now,
            down: vec!["smtpd".into()],
            held: vec![("OLD".into(), now - 2 * 86_400), ("NEW".into(), now - 60)],
            cert_not_after: Some(now + 3 * 86_400),
            disk_free_percent: Some(4),
            ..Facts::default()
        };
        let first = due(&facts, &mut sent);
        let keys: Vec<&str> = first.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["down:smtpd", "held", "cert", "disk"]);
        assert!(first[1].body.contains("OLD") && !first[1].body.contains("NEW"));
        assert!(first[2].subject.contains("3"));
        assert!(
            due(&facts, &mut sent).is_empty(),
            "not again within the day"
        );
        let later = Facts {
            now: now + RESEND_AFTER,
            ..facts.clone()
        };
        assert_eq!(due(&later, &mut sent).len(), 4, "again after a day");
        // Cleared, then back: mailed again at once.
        let clear = Facts {
            now: now + RESEND_AFTER + 60,
            ..Facts::default()
        };
        assert!(due(&clear, &mut sent).is_empty());
        assert!(sent.is_empty());
        let back = Facts {
            now: now + RESEND_AFTER + 120,
            down: vec!["smtpd".into()],
            ..Facts::default()
        };
        assert_eq!(due(&back, &mut sent).len(), 1);
    }

    #[test]
    fn a_failed_update_and_an_offer_are_mailed_once() {
        let now = 10_000_000;
        let mut sent = BTreeMap::new();
        let facts = Facts {
            now,
            update_failed: Some((
                now - 60,
                "1.2.0".into(),
                "mamori-smtpd.service is failed".into(),
            )),
            update_available: Some("1.2.1".into()),
            ..Facts::default()
        };
        let first = due(&facts, &mut sent);
        assert_eq!(first.len(), 2);
        assert!(first[0].subject.contains("1.2.0") && first[0].body.contains("mamori-smtpd"));
        assert!(first[1].subject.contains("1.2.1"));
        let later = Facts {
            now: now + 3 * RESEND_AFTER,
            ..facts.clone()
        };
        assert!(
            due(&later, &mut sent).is_empty(),
            "events are not mailed again"
        );
        // A look that did not see them (the update daemon did not answer) forgets nothing.
        let blind = Facts {
            now: now + 4 * RESEND_AFTER,
            ..Facts::default()
        };
        assert!(due(&blind, &mut sent).is_empty());
        assert!(due(&later, &mut sent).is_empty(), "still not news");
        let newer = Facts {
            update_available: Some("1.3.0".into()),
            ..later
        };
        assert_eq!(due(&newer, &mut sent).len(), 1, "a newer offer is news");
    }

    #[test]
    fn nothing_wrong_nothing_mailed() {
        let now = 10_000_000;
        let facts = Facts {
            now,
            down: vec![],
            held: vec![("NEW".into(), now - 3600)],
            cert_not_after: Some(now + 100 * 86_400),
            disk_free_percent: Some(50),
            ..Facts::default()
        };
        assert!(due(&facts, &mut BTreeMap::new()).is_empty());
    }
}
