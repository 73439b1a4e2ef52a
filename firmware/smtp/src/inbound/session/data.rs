//! DATA: receive the content strictly, run the pipeline, spool durably, then reply.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Next, Session, State};
use crate::inbound::data::DataReceiver;
use crate::inbound::reply::Reply;
use crate::pipeline::{StagedMessage, Verdict};
use crate::spool::{ClientInfo, Envelope};
use crate::stats::Stats;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn data(&mut self) -> std::io::Result<Next> {
        match &self.state {
            State::Mail(tx) if !tx.recipients.is_empty() => {}
            State::Mail(_) => {
                self.reply(Reply::new(554, "5.5.1", "Error: no valid recipients"));
                return Ok(Next::Continue);
            }
            _ => {
                self.reply(Reply::new(503, "5.5.1", "Error: need RCPT command"));
                return Ok(Next::Continue);
            }
        }
        self.reply(Reply::plain(354, "End data with <CR><LF>.<CR><LF>"));
        let cfg = &self.ctx.config;
        let (max_size, max_line) = (cfg.max_message_size, cfg.max_line_length);
        let mut receiver = DataReceiver::new(max_size, max_line);
        let id = crate::spool::new_id();
        let received = self.received_header(&id);
        let mut content = Vec::with_capacity(received.len() + 8192);
        content.extend_from_slice(received.as_bytes());
        // Message content lives in memory until it is spooled; all sessions together may
        // hold at most `max_data_memory`. Past that, the content is read and dropped and
        // the client is told to try later, rather than the box running out of memory.
        let mut budget = MemoryGrant::default();
        loop {
            let done = receiver.feed(&self.input, &mut content);
            if !budget.cover(&self.ctx.data_memory, content.len()) {
                content = Vec::new();
            }
            if let Some(used) = done {
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
        if let Some(hops) = too_many_hops(content.get(received.len()..).unwrap_or_default()) {
            Stats::bump(&self.ctx.stats.rejected);
            tracing::warn!(queue_id = %id, peer = %self.peer, hops, "mail loop: too many hops");
            self.reply(Reply::new(
                554,
                "5.4.6",
                format!(
                    "Too many hops ({hops} Received fields): the message seems to be in a mail loop"
                ),
            ));
            return Ok(Next::Continue);
        }
        if budget.starved {
            tracing::warn!(queue_id = %id, peer = %self.peer, "message memory budget exhausted; client told to retry");
            self.reply(Reply::new(
                452,
                "4.3.1",
                "Insufficient system resources, try again later",
            ));
            return Ok(Next::Continue);
        }
        let client = ClientInfo {
            ip: self.peer.ip().to_string(),
            helo: self.helo.clone(),
            auth_user: self.auth_user.clone(),
            tls: self.tls,
            trusted: self.trusted,
            sender_verified: tx.sender_verified,
        };
        let envelope = Envelope {
            ret: tx.ret,
            envid: tx.envid,
            size,
            eight_bit: !content.is_ascii(),
            smtputf8: tx.smtputf8,
            ..Envelope::new(id.clone(), tx.mail_from, tx.recipients, client)
        };
        let reply = self.accept(StagedMessage { envelope, content }).await;
        drop(budget);
        self.reply(reply);
        Ok(Next::Continue)
    }

    /// Runs the pipeline and spools the message; the reply says what became of it.
    async fn accept(&mut self, mut staged: StagedMessage) -> Reply {
        let id = staged.envelope.id.clone();
        let verdict = if self.ctx.pipeline.is_empty() {
            Verdict::Accept
        } else {
            // One run per processor core at once; the rest wait their turn here.
            let Ok(permit) = self.ctx.scans.clone().acquire_owned().await else {
                return Reply::new(
                    451,
                    "4.3.0",
                    "Error: local error in processing, try again later",
                );
            };
            let pipeline = self.ctx.pipeline.clone();
            let run = tokio::task::spawn_blocking(move || {
                let v = pipeline.run(&mut staged);
                drop(permit);
                (v, staged)
            });
            // The inspection keeps its own time limit (content past it is held as not
            // fully read); this one only catches a stage that never returns.
            let limit = PIPELINE_GRACE.saturating_add(self.ctx.pipeline_time_limit());
            match tokio::time::timeout(limit, run).await {
                Ok(Ok((v, s))) => {
                    staged = s;
                    v
                }
                Ok(Err(e)) => {
                    tracing::error!(queue_id = %id, error = %e, "pipeline failed");
                    return Reply::new(
                        451,
                        "4.3.0",
                        "Error: local error in processing, try again later",
                    );
                }
                Err(_) => {
                    tracing::error!(queue_id = %id, "pipeline did not finish in time");
                    return Reply::new(
                        451,
                        "4.3.0",
                        "Error: the message could not be inspected in time, try again later",
                    );
                }
            }
        };
        match verdict {
            Verdict::Reject {
                code,
                status,
                lines,
            } => {
                Stats::bump(&self.ctx.stats.rejected);
                return Reply {
                    code,
                    status: Some(status),
                    lines,
                };
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

/// How long past the inspection's own time limit a pipeline run may take before the
/// client is told to try later.
const PIPELINE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The most `Received` fields a message may carry (RFC 5321 §6.3, Postfix's
/// `hopcount_limit`).
pub(crate) const MAX_HOPS: usize = 50;

/// The number of `Received` fields in the header block of `content`, if more than
/// [`MAX_HOPS`].
fn too_many_hops(content: &[u8]) -> Option<usize> {
    let mut hops = 0;
    for line in content.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.len() >= 9
            && line
                .get(..9)
                .is_some_and(|n| n.eq_ignore_ascii_case(b"received:"))
        {
            hops += 1;
        }
    }
    (hops > MAX_HOPS).then_some(hops)
}

/// Bytes of message memory one budget permit stands for.
pub(crate) const MEMORY_UNIT: usize = 64 * 1024;

/// The share of the global message-memory budget one DATA transfer holds; given back
/// when dropped.
#[derive(Default)]
struct MemoryGrant {
    permit: Option<OwnedSemaphorePermit>,
    units: usize,
    /// The budget ran out: the content is being dropped.
    starved: bool,
}

impl MemoryGrant {
    /// Extends the grant to cover `bytes`; false once the budget is exhausted.
    fn cover(&mut self, budget: &std::sync::Arc<Semaphore>, bytes: usize) -> bool {
        if self.starved {
            return false;
        }
        let need = bytes.div_ceil(MEMORY_UNIT);
        if need <= self.units {
            return true;
        }
        let more = u32::try_from(need - self.units).unwrap_or(u32::MAX);
        match budget.clone().try_acquire_many_owned(more) {
            Ok(p) => {
                match &mut self.permit {
                    Some(held) => held.merge(p),
                    None => self.permit = Some(p),
                }
                self.units = need;
                true
            }
            Err(_) => {
                self.starved = true;
                self.permit = None;
                self.units = 0;
                false
            }
        }
    }
}
