//! MAIL FROM: open a transaction.

use mamori_core::config::ListenerKind;
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
        let ret = if from.flags & MAIL_RET_FULL != 0 {
            Some(Ret::Full)
        } else if from.flags & MAIL_RET_HDRS != 0 {
            Some(Ret::Hdrs)
        } else {
            None
        };
        self.state = State::Mail(Transaction {
            mail_from: from.address,
            ret,
            envid: from.env_id,
            smtputf8,
            recipients: Vec::new(),
        });
        self.reply(Reply::new(250, "2.1.0", "Ok"));
        Next::Continue
    }
}
