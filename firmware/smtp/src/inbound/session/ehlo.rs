//! EHLO and HELO: greet, reset any transaction, advertise extensions.

use crate::settings::ListenerKind;

use super::{Next, Session, State};
use crate::inbound::reply::Reply;

impl<S> Session<S> {
    /// True where AUTH may be offered: a submission listener, over TLS, with accounts.
    pub(super) fn auth_offered(&self) -> bool {
        self.kind != ListenerKind::Relay && self.tls && !self.ctx.accounts.is_empty()
    }

    pub(super) fn ehlo(&mut self, host: String, esmtp: bool) -> Next {
        self.helo = host;
        self.esmtp = esmtp;
        self.state = State::Greeted;
        if !esmtp {
            self.reply(Reply::plain(250, self.ctx.hostname.clone()));
            return Next::Continue;
        }
        let mut lines = vec![
            format!("{} greets {}", self.ctx.hostname, self.helo),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.ctx.config.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "DSN".to_string(),
        ];
        if !self.tls && self.ctx.tls.is_some() {
            lines.push("STARTTLS".to_string());
        }
        let future = self.ctx.future_release.as_secs();
        // Offered to the office only (its networks, or where it logs in): a stranger is
        // not given the spool to park mail in for days.
        if future > 0 && (self.trusted || self.auth_offered() || self.auth_user.is_some()) {
            // RFC 4865: the longest interval, and the latest date-time, a client may ask.
            let latest = crate::datetime::unix_now().saturating_add(future);
            lines.push(format!(
                "FUTURERELEASE {future} {}",
                crate::datetime::rfc3339(latest)
            ));
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        self.reply(Reply {
            code: 250,
            status: None,
            lines,
        });
        Next::Continue
    }
}
