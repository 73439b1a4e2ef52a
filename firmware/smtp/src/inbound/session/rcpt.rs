//! RCPT TO: add a recipient, refusing to relay for strangers.

use crate::settings::ListenerKind;
use smtp_proto::{
    RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS, RcptTo,
};

use super::{Next, Session, State};
use crate::inbound::recipients::Verdict;
use crate::inbound::reply::Reply;
use crate::spool::{Notify, Recipient};

impl<S> Session<S> {
    /// May this client relay to any domain? Authenticated users may; hosts in
    /// `trusted_networks` may on the relay listener. Everyone else reaches only the
    /// accepted domains.
    fn may_relay(&self) -> bool {
        self.auth_user.is_some() || (self.kind == ListenerKind::Relay && self.trusted)
    }

    pub(super) async fn rcpt(&mut self, to: RcptTo<String>) -> Next {
        let may_relay = self.may_relay();
        let max = self.ctx.config.max_recipients;
        let State::Mail(tx) = &mut self.state else {
            self.reply(Reply::new(503, "5.5.1", "Error: need MAIL command"));
            return Next::Continue;
        };
        if tx.recipients.len() >= max {
            // Mail programs send the rest in another transaction: not an error until the
            // client goes on far past the limit.
            tx.over_limit += 1;
            let reply = Reply::new(
                452,
                "4.5.3",
                format!("Error: too many recipients (at most {max} per message)"),
            );
            if tx.over_limit <= max.max(RECIPIENT_OVERSHOOT) {
                self.reply_uncounted(reply);
            } else {
                self.reply(reply);
            }
            return Next::Continue;
        }
        if to.address.is_empty() {
            self.reply(Reply::new(
                550,
                "5.1.1",
                "Error: postmaster needs a domain here, use postmaster@domain",
            ));
            return Next::Continue;
        }
        if !tx.smtputf8 && crate::address::needs_utf8(&to.address) {
            self.reply(Reply::new(
                553,
                "5.6.7",
                "Non-ASCII recipient address needs SMTPUTF8",
            ));
            return Next::Continue;
        }
        if !may_relay {
            let verdict = self.ctx.recipients.check(&to.address).await;
            match verdict {
                Verdict::Valid => {}
                Verdict::NotAccepted => {
                    crate::stats::Stats::bump(&self.ctx.stats.rejected);
                    tracing::info!(peer = %self.peer, rcpt = %to.address, "relay denied");
                    let text = format!("<{}>: Relay access denied", to.address);
                    self.reply(Reply::new(554, "5.7.1", text));
                    return Next::Continue;
                }
                Verdict::Unknown => {
                    crate::stats::Stats::bump(&self.ctx.stats.rejected);
                    tracing::info!(peer = %self.peer, rcpt = %to.address, "unknown recipient");
                    let text =
                        format!("<{}>: Recipient address rejected: User unknown", to.address);
                    self.reply(Reply::new(550, "5.1.1", text));
                    return Next::Continue;
                }
                Verdict::TryLater(why) => {
                    tracing::warn!(peer = %self.peer, rcpt = %to.address, %why, "recipient could not be verified now");
                    let text = format!(
                        "<{}>: Recipient address could not be verified now, try again later",
                        to.address
                    );
                    self.reply(Reply::new(450, "4.1.1", text));
                    return Next::Continue;
                }
            }
        }
        let State::Mail(tx) = &mut self.state else {
            return Next::Continue;
        };
        let mut r = Recipient::new(to.address);
        r.orcpt = to.orcpt;
        if to.flags
            & (RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY | RCPT_NOTIFY_NEVER)
            != 0
        {
            let mut n = Vec::new();
            for (flag, v) in [
                (RCPT_NOTIFY_SUCCESS, Notify::Success),
                (RCPT_NOTIFY_FAILURE, Notify::Failure),
                (RCPT_NOTIFY_DELAY, Notify::Delay),
                (RCPT_NOTIFY_NEVER, Notify::Never),
            ] {
                if to.flags & flag != 0 {
                    n.push(v);
                }
            }
            r.notify = Some(n);
        }
        tx.recipients.push(r);
        self.reply(Reply::new(250, "2.1.5", "Ok"));
        Next::Continue
    }
}

/// How many RCPT commands past the limit are answered 452 before they count as errors
/// (Postfix's `smtpd_recipient_overshoot_limit`), at least as many as the limit itself.
const RECIPIENT_OVERSHOOT: usize = 1000;
