//! MAIL FROM: open a transaction.

use crate::settings::ListenerKind;
use smtp_proto::{MAIL_RET_FULL, MAIL_RET_HDRS, MAIL_SMTPUTF8, MailFrom};

use super::{Next, Session, State, Transaction};
use crate::inbound::reply::Reply;
use crate::spool::Ret;

impl<S> Session<S> {
    pub(super) fn mail(&mut self, from: MailFrom<String>) -> Next {
        match self.state {
            State::Fresh => {
                self.reply(Reply::new(503, "5.5.1", "Error: send HELO/EHLO first"));
                return Next::Continue;
            }
            State::Mail(_) => {
                self.reply(Reply::new(503, "5.5.1", "Error: nested MAIL command"));
                return Next::Continue;
            }
            State::Greeted => {}
        }
        if self.kind != ListenerKind::Relay && self.auth_user.is_none() {
            let why = if self.tls {
                "Authentication required"
            } else {
                "Must issue a STARTTLS command first"
            };
            self.reply(Reply::new(530, "5.7.0", why));
            return Next::Continue;
        }
        let max = self.ctx.config.max_message_size;
        if from.size as u64 > max {
            self.reply(Reply::new(
                552,
                "5.3.4",
                format!("Message size exceeds fixed maximum message size of {max} bytes"),
            ));
            return Next::Continue;
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !smtputf8 && crate::address::needs_utf8(&from.address) {
            self.reply(Reply::new(
                553,
                "5.6.7",
                "Non-ASCII sender address needs SMTPUTF8",
            ));
            return Next::Continue;
        }
        let Some(sender_verified) = self.check_sender(&from.address) else {
            return Next::Continue;
        };
        let Some(hold_until) = self.future_release(&from) else {
            return Next::Continue;
        };
        let ret = if from.flags & MAIL_RET_FULL != 0 {
            Some(Ret::Full)
        } else if from.flags & MAIL_RET_HDRS != 0 {
            Some(Ret::Hdrs)
        } else {
            None
        };
        self.state = State::Mail(Transaction {
            mail_from: from.address,
            sender_verified,
            ret,
            envid: from.env_id,
            smtputf8,
            hold_until,
            recipients: Vec::new(),
            over_limit: 0,
        });
        self.reply(Reply::new(250, "2.1.0", "Ok"));
        Next::Continue
    }

    /// FUTURERELEASE (RFC 4865): the time a `HOLDFOR` or `HOLDUNTIL` asks for, checked
    /// against what is offered. `Some(None)`: no hold asked (or a time already past);
    /// `None` when a refusal was queued.
    fn future_release(&mut self, from: &MailFrom<String>) -> Option<Option<u64>> {
        if from.hold_for == 0 && from.hold_until == 0 {
            return Some(None);
        }
        let max = self.ctx.future_release.as_secs();
        if max == 0 || !(self.trusted || self.auth_user.is_some()) {
            self.reply(Reply::new(
                555,
                "5.5.4",
                "FUTURERELEASE is not offered here (HOLDFOR and HOLDUNTIL are refused)",
            ));
            return None;
        }
        let now = crate::datetime::unix_now();
        let until = if from.hold_for > 0 {
            now.saturating_add(from.hold_for)
        } else {
            from.hold_until
        };
        if until.saturating_sub(now) > max {
            self.reply(Reply::new(
                501,
                "5.5.4",
                format!("FUTURERELEASE asks for more than the {max} seconds offered"),
            ));
            return None;
        }
        Some((until > now).then_some(until))
    }

    /// Checks who may use `sender`: an authenticated user only the addresses of their
    /// account, a host of the trusted networks only the office's domains, and a stranger
    /// (mail from the Internet) not the office's domains when the operator says so.
    /// `Some(verified)` to go on, `None` when a refusal was queued.
    fn check_sender(&mut self, sender: &str) -> Option<bool> {
        if sender.is_empty() {
            return Some(false); // the null sender: no identity to verify
        }
        let office = &self.ctx.config.office_domains;
        if let Some(user) = &self.auth_user {
            if self.ctx.accounts.may_send_as(user, sender) {
                return Some(true);
            }
            tracing::warn!(peer = %self.peer, %user, %sender, "sender refused: not an address of the account");
            let text = format!("<{sender}>: Sender address rejected: not owned by user {user}");
            self.reply(Reply::new(553, "5.7.1", text));
            return None;
        }
        let office_sender = self.ctx.is_office_address(sender);
        if self.kind == ListenerKind::Relay && self.trusted {
            if office.is_empty() || office_sender {
                return Some(office_sender);
            }
            tracing::warn!(peer = %self.peer, %sender, "sender refused: not an office domain");
            let domains: Vec<&str> = office.iter().map(|d| d.as_str()).collect();
            let text = format!(
                "<{sender}>: Sender address rejected: the office network sends only from {}",
                domains.join(", ")
            );
            self.reply(Reply::new(553, "5.7.1", text));
            return None;
        }
        if office_sender && self.ctx.config.refuse_forged_office_senders {
            tracing::warn!(peer = %self.peer, %sender, "forged office sender refused");
            let text = format!(
                "<{sender}>: Sender address rejected: mail from this domain comes only from the office"
            );
            self.reply(Reply::new(550, "5.7.1", text));
            return None;
        }
        Some(false)
    }
}
