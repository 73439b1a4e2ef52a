//! Bounces: when a message is finished with recipients that failed, the sender gets one
//! RFC 3464 report listing them (unless the sender is null or asked NOTIFY=NEVER).

use crate::outbound::dsn::{self, Action, Dsn, DsnRecipient};
use crate::spool::{Envelope, Notify, RcptStatus, Recipient, Ret, Spool};

/// Largest original message returned whole with RET=FULL.
const MAX_RETURNED: usize = 512 * 1024;

/// Parses `5.1.1` into its parts; anything else is a generic `5.0.0`.
fn enhanced(status: &str) -> (u8, u16, u16) {
    let mut it = status.split('.').map(|p| p.parse::<u16>().ok());
    match (
        it.next().flatten(),
        it.next().flatten(),
        it.next().flatten(),
    ) {
        (Some(c @ (4 | 5)), Some(s), Some(d)) => (c as u8, s, d),
        _ => (5, 0, 0),
    }
}

/// What a bounce may carry of the original: to the office's own senders, what they asked
/// for (RET); to senders outside, only the header fields unless the operator allows more
/// (`smtp.bounce_content_outside`). A bounce is outbound mail like any other, and DLP
/// inspects it too ([`super::Queue::accept_generated`]).
#[derive(Debug, Clone, Default)]
pub struct BouncePolicy {
    /// The office's own domains.
    pub office_domains: Vec<String>,
    /// May bounces to the outside carry the whole message (RET=FULL honoured)?
    pub full_to_outside: bool,
}

impl BouncePolicy {
    /// What a bounce to `sender` carries, given the RET the sender asked for.
    fn ret_for(&self, sender: &str, asked: Option<Ret>) -> Option<Ret> {
        let inside = crate::address::domain_of(sender).is_some_and(|d| {
            self.office_domains
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&d))
        });
        if inside || self.full_to_outside {
            asked
        } else {
            Some(Ret::Hdrs)
        }
    }
}

/// The bounce owed for a finished message, as a new envelope and content, or `None`.
pub fn bounce_for(
    env: &Envelope,
    spool: &Spool,
    hostname: &str,
    policy: &BouncePolicy,
) -> Option<(Envelope, Vec<u8>)> {
    if env.mail_from.is_empty() {
        return None;
    }
    let failed: Vec<DsnRecipient> = env
        .recipients
        .iter()
        .filter(|r| {
            r.notify
                .as_ref()
                .is_none_or(|n| n.contains(&Notify::Failure))
        })
        .filter_map(|r| match &r.status {
            RcptStatus::Failed { reply, status, at } => Some(DsnRecipient {
                address: r.address.clone(),
                orcpt: r.orcpt.clone(),
                action: Action::Failed,
                // A message that expired after temporary failures still reports the 4.4.7
                // status that says so; the action is "failed" all the same.
                status: enhanced(status),
                remote_mta: None,
                diagnostic: Some(reply.clone()),
                last_attempt: Some(*at),
                will_retry_until: None,
            }),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    let original = spool.content(&env.id).unwrap_or_default();
    let id = crate::spool::new_id();
    let now = crate::datetime::unix_now();
    let content = dsn::render(&Dsn {
        reporting_mta: hostname,
        sender: &env.mail_from,
        envid: env.envid.as_deref(),
        arrival: env.arrived,
        now,
        unique: &id,
        recipients: &failed,
        original: &original,
        ret: policy.ret_for(&env.mail_from, env.ret),
        max_full_size: MAX_RETURNED,
    })
    .ok()?;
    let bounce = Envelope::generated(
        id,
        String::new(),
        vec![Recipient::new(env.mail_from.clone())],
        hostname,
        &content,
    );
    tracing::info!(queue_id = %env.id, bounce_id = %bounce.id, failed = failed.len(), "bounce sent to sender");
    Some((bounce, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_to_the_outside_carry_headers_only_unless_allowed() {
        let policy = BouncePolicy {
            office_domains: vec!["office.example.jp".into()],
            full_to_outside: false,
        };
        assert_eq!(
            policy.ret_for("x@evil.example", Some(Ret::Full)),
            Some(Ret::Hdrs)
        );
        assert_eq!(policy.ret_for("x@evil.example", None), Some(Ret::Hdrs));
        assert_eq!(
            policy.ret_for("taro@office.example.jp", Some(Ret::Full)),
            Some(Ret::Full)
        );
        let open = BouncePolicy {
            full_to_outside: true,
            ..policy
        };
        assert_eq!(
            open.ret_for("x@evil.example", Some(Ret::Full)),
            Some(Ret::Full)
        );
    }

    #[test]
    fn status_parsing() {
        assert_eq!(enhanced("5.1.1"), (5, 1, 1));
        assert_eq!(enhanced("4.4.7"), (4, 4, 7));
        assert_eq!(enhanced("junk"), (5, 0, 0));
    }
}
