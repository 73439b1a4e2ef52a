//! DATA: receive the content strictly, run the pipeline, spool durably, then reply.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Next, Session, State};
use crate::inbound::data::DataReceiver;
use crate::inbound::reply::Reply;
use crate::pipeline::{StagedMessage, Verdict};
use crate::spool::{ClientInfo, Envelope};
use crate::stats::Stats;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn data(&mut self) -> std::io::Result<Next> {
        let tx = match &self.state {
            State::Mail(tx) if !tx.recipients.is_empty() => tx,
            State::Mail(_) => {
                self.reply(Reply::new(554, "5.5.1", "Error: no valid recipients"));
                return Ok(Next::Continue);
            }
            _ => {
                self.reply(Reply::new(503, "5.5.1", "Error: need RCPT command"));
                return Ok(Next::Continue);
            }
        };
        let _ = tx;
        self.reply(Reply::plain(354, "End data with <CR><LF>.<CR><LF>"));
        let cfg = &self.ctx.config;
        let (max_size, max_line) = (cfg.max_message_size, cfg.max_line_length);
        let mut receiver = DataReceiver::new(max_size, max_line);
        let id = crate::spool::new_id();
        let received = self.received_header(&id);
        let mut content = Vec::with_capacity(received.len() + 8192);
        content.extend_from_slice(received.as_bytes());
        loop {
            if let Some(used) = receiver.feed(&self.input, &mut content) {
                self.input.drain(..used);
                break;
            }
            self.input.clear();
            if !self.fill().await? {
                // Connection lost or timed out mid-DATA: nothing was accepted.
                return Ok(Next::Close);
            }
        }
        let State::Mail(tx) = std::mem::replace(&mut self.state, State::Greeted) else {
            return Ok(Next::Continue);
        };
        let size = match receiver.finish() {
            Ok(size) => size,
            Err(v) => {
                Stats::bump(&self.ctx.stats.rejected);
                tracing::info!(queue_id = %id, peer = %self.peer, violation = ?v, "message refused");
                self.reply(v.reply(max_size, max_line));
                return Ok(Next::Continue);
            }
        };
        let client = ClientInfo {
            ip: self.peer.ip().to_string(),
            helo: self.helo.clone(),
            auth_user: self.auth_user.clone(),
            tls: self.tls,
        };
        let envelope = Envelope {
            ret: tx.ret,
            envid: tx.envid,
            size,
            eight_bit: content.iter().any(|&b| b >= 0x80),
            smtputf8: tx.smtputf8,
            ..Envelope::new(id.clone(), tx.mail_from, tx.recipients, client)
        };
        let reply = self.accept(StagedMessage { envelope, content }).await;
        self.reply(reply);
        Ok(Next::Continue)
    }

    /// Runs the pipeline and spools the message; the reply says what became of it.
    async fn accept(&mut self, mut staged: StagedMessage) -> Reply {
        let id = staged.envelope.id.clone();
        let verdict = if self.ctx.pipeline.is_empty() {
            Verdict::Accept
        } else {
            let pipeline = self.ctx.pipeline.clone();
            match tokio::task::spawn_blocking(move || {
                let v = pipeline.run(&mut staged);
                (v, staged)
            })
            .await
            {
                Ok((v, s)) => {
                    staged = s;
                    v
                }
                Err(e) => {
                    tracing::error!(queue_id = %id, error = %e, "pipeline failed");
                    return Reply::new(
                        451,
                        "4.3.0",
                        "Error: local error in processing, try again later",
                    );
                }
            }
        };
        match verdict {
            Verdict::Reject { code, status, text } => {
                Stats::bump(&self.ctx.stats.rejected);
                return Reply::new(code, &status, text);
            }
            Verdict::Discard { reason } => {
                tracing::info!(queue_id = %id, %reason, "message discarded");
                return Reply::new(250, "2.0.0", format!("Ok: queued as {id}"));
            }
            Verdict::Hold { reason } => staged.envelope.held = Some(reason),
            Verdict::Accept => {}
        }
        let rcpts = staged.envelope.recipients.len();
        let from = staged.envelope.mail_from.clone();
        match self.ctx.queue.accept(staged.envelope, staged.content).await {
            Ok(()) => {
                Stats::bump(&self.ctx.stats.received);
                self.commands = 0;
                tracing::info!(queue_id = %id, peer = %self.peer, from = %from, rcpts, "accepted");
                Reply::new(250, "2.0.0", format!("Ok: queued as {id}"))
            }
            Err(e) => {
                tracing::error!(queue_id = %id, error = %e, "could not spool message");
                Reply::new(
                    451,
                    "4.3.0",
                    "Error: could not store the message, try again later",
                )
            }
        }
    }

    fn received_header(&self, id: &str) -> String {
        let with = match (self.esmtp, self.tls, self.auth_user.is_some()) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "ESMTPA",
            (true, true, true) => "ESMTPSA",
        };
        let helo: String = self
            .helo
            .chars()
            .filter(|c| !c.is_control())
            .take(255)
            .collect();
        format!(
            "Received: from {helo} ([{ip}])\r\n\tby {host} (Mamori) with {with} id {id};\r\n\t{date}\r\n",
            ip = self.peer.ip(),
            host = self.ctx.hostname,
            date = crate::datetime::rfc5322_now(),
        )
    }
}
