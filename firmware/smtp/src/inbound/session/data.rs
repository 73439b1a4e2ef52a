//! DATA: receive the content strictly, run the pipeline, spool durably, then reply.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ahead::{InspectAhead, Shares};
use super::{COMMAND_BUFFER, Next, READ_CHUNK, Session, State};
use crate::inbound::data::DataReceiver;
use crate::inbound::reply::Reply;
use crate::pipeline::{Inspected, OwnedMessage, Pipeline, StagedMessage, Verdict};
use crate::queue::Queue;
use crate::spool::map::ScratchStore;
use crate::spool::{ClientInfo, Envelope, SpoolError, SpoolWriter};
use crate::stats::Stats;
use mamori_dlp::hold::PartStore;

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
        // Content is held in memory up to SPILL_AT and then appended to the spool's
        // temporary file as it arrives, so a transfer holds a small constant however
        // large the message. What is held counts against `max_data_memory` (all
        // sessions together); past that, the content is read and dropped and the client
        // is told to try later, rather than the box running out of memory.
        let mut budget = MemoryGrant::default();
        let mut body = Spilled::default();
        // A message that streams to disk is inspected while it arrives.
        let mut ahead = None;
        loop {
            // Written out before the buffer would pass SPILL_AT, so that it never grows
            // (doubling) past it.
            if content.len() + self.input.len() > SPILL_AT
                && !receiver.refused()
                && body.failed.is_none()
                && !budget.starved
            {
                body.hops
                    .get_or_insert_with(|| hops(content.get(received.len()..).unwrap_or_default()));
                if body.writer.is_none() {
                    ahead = self.inspect_ahead(max_size);
                }
                if let Some(ahead) = &mut ahead {
                    ahead.feed(&content);
                }
                body.spill(&self.ctx.queue, &id, &mut content).await;
                if let Some(ahead) = &mut ahead {
                    ahead.written(body.writer.as_ref());
                }
            }
            let done = receiver.feed(&self.input, &mut content);
            if receiver.refused() || body.failed.is_some() {
                // Refused (or unwritable) anyway: nothing more is kept.
                content.clear();
                body.writer = None;
            }
            if !budget.cover(&self.ctx.data_memory, content.len()) {
                content = Vec::new();
                body.writer = None;
            }
            if let Some(used) = done {
                self.input.drain(..used);
                // Commands need little: an idle session does not keep a transfer's buffer.
                self.input.shrink_to(COMMAND_BUFFER);
                break;
            }
            self.input.clear();
            self.input.reserve(READ_CHUNK);
            if !self.fill().await? {
                // Connection lost or timed out mid-DATA: nothing was accepted (a
                // half-written file is removed with its writer).
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
        let hops = body
            .hops
            .unwrap_or_else(|| hops(content.get(received.len()..).unwrap_or_default()));
        if hops > MAX_HOPS {
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
        if body.writer.is_some() {
            body.spill(&self.ctx.queue, &id, &mut content).await;
        }
        // The inspection made while the message arrived ends on the whole file (before
        // the stages map or rewrite it).
        let inspected = match (ahead, &body.writer, &body.failed) {
            (Some(ahead), Some(writer), None) => ahead.finish(writer.content_len()).await,
            _ => None,
        };
        if let Some(e) = &body.failed {
            tracing::error!(queue_id = %id, error = %e, "could not spool message");
            self.reply(Reply::new(
                451,
                "4.3.0",
                "Error: could not store the message, try again later",
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
            eight_bit: body.eight_bit || !content.is_ascii(),
            smtputf8: tx.smtputf8,
            hold_until: tx.hold_until,
            ..Envelope::new(id.clone(), tx.mail_from, tx.recipients, client)
        };
        let body = match body.writer {
            Some(w) => Body::Spooled(w),
            None => Body::Memory(content),
        };
        let reply = self.accept(envelope, body, inspected, &mut budget).await;
        drop(budget);
        self.reply(reply);
        Ok(Next::Continue)
    }

    /// The inspection of a transfer while it arrives, when the pipeline inspects: made as
    /// the transfer starts writing to the spool (small mail never does).
    fn inspect_ahead(&self, max_size: u64) -> Option<InspectAhead> {
        let inspector = self.ctx.pipeline.inspector()?;
        let shares = Shares {
            scans: self.ctx.scans.clone(),
            memory: self.ctx.scan_memory.clone(),
            pool: self.ctx.scan_memory_bytes(),
            expansion: self.ctx.scan_expansion(),
            wait: self.ctx.pipeline_time_limit().max(PIPELINE_GRACE),
            max_message: max_size,
        };
        Some(InspectAhead::new(inspector, shares))
    }

    /// Runs the pipeline and spools the message; the reply says what became of it.
    async fn accept(
        &mut self,
        envelope: Envelope,
        body: Body,
        inspected: Option<Inspected>,
        budget: &mut MemoryGrant,
    ) -> Reply {
        let id = envelope.id.clone();
        let local_error = || {
            Reply::new(
                451,
                "4.3.0",
                "Error: local error in processing, try again later",
            )
        };
        let (verdict, mut envelope, body, companions) = if self.ctx.pipeline.is_empty() {
            (Verdict::Accept, envelope, body, Vec::new())
        } else {
            // One run per processor core at once; the rest wait their turn here.
            let Ok(permit) = self.ctx.scans.clone().acquire_owned().await else {
                return local_error();
            };
            // What an inspection holds, from the inspections' pool, waited for
            // (inspections finish and give theirs back): its text (headers and bodies
            // kept, one attachment's at a time: at most about the message's size), what
            // archives in it expand to (at most the ratio limit times the message, and the
            // expansion share), and a message in memory with its decoded parts. A spooled
            // message is read in place and its large decoded parts go to scratch files
            // (`spool::map`): neither counts, but a stage that may rewrite it copies it
            // into memory.
            let (len, held) = match &body {
                Body::Memory(c) => (c.len() as u64, 2 * c.len() as u64),
                Body::Spooled(w) => {
                    // What the transfer held is on disk now.
                    budget.release();
                    let len = w.content_len();
                    let copy = if self.ctx.pipeline.may_rewrite() {
                        len
                    } else {
                        0
                    };
                    (len, copy)
                }
            };
            let pool = self.ctx.scan_memory_bytes();
            // Inspected while it arrived, by the pipeline's own inspector (within its
            // shares, given back since): the DLP stage takes that report and scans nothing
            // again, so the run holds only the copy a rewriting stage makes.
            let scanned = inspected
                .as_ref()
                .is_some_and(|i| self.ctx.pipeline.inspector().is_some_and(|p| i.made_by(&p)));
            let need = if scanned {
                held
            } else {
                len.saturating_add(held)
                    .saturating_add(expansion_allowance(self.ctx.scan_expansion(), len))
            }
            .min(pool);
            let wait = self.ctx.pipeline_time_limit().max(PIPELINE_GRACE);
            let mut scan_grant = MemoryGrant::default();
            // A message larger than the whole pool could not have its text scanned (the
            // settings check keeps max_message_size within the budget).
            if len > pool
                || !scan_grant
                    .wait_for(&self.ctx.scan_memory, to_usize(need), wait)
                    .await
            {
                tracing::warn!(queue_id = %id, peer = %self.peer, "message memory budget exhausted before inspection; client told to retry");
                return Reply::new(
                    452,
                    "4.3.1",
                    "Insufficient system resources, try again later",
                );
            }
            let pipeline = self.ctx.pipeline.clone();
            let run = tokio::task::spawn_blocking(move || {
                let v = run_stages(&pipeline, envelope, body, inspected);
                drop((permit, scan_grant));
                v
            });
            // The inspection keeps its own time limit (content past it is held as not
            // fully read); this one only catches a stage that never returns.
            let limit = PIPELINE_GRACE.saturating_add(self.ctx.pipeline_time_limit());
            match tokio::time::timeout(limit, run).await {
                Ok(Ok(Ok(done))) => done,
                Ok(Ok(Err(e))) => {
                    tracing::error!(queue_id = %id, error = %e, "could not read or rewrite the spooled message");
                    return local_error();
                }
                Ok(Err(e)) => {
                    tracing::error!(queue_id = %id, error = %e, "pipeline failed");
                    return local_error();
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
            Verdict::Hold { reason } => envelope.held = Some(reason),
            Verdict::Accept => {}
        }
        // A FUTURERELEASE time that no stage took up is a timed hold all the same.
        if let (None, Some(until)) = (&envelope.held, envelope.hold_until) {
            envelope.held = Some(format!(
                "FUTURERELEASE until {}",
                crate::datetime::rfc3339(until)
            ));
        }
        let rcpts = envelope.recipients.len();
        let from = envelope.mail_from.clone();
        let held = envelope.held.is_some();
        // The companions first: once the message itself is committed, all of it is.
        let companions = match self.store_companions(&mut envelope, companions).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(queue_id = %id, error = %e, "could not spool a message made with it");
                return Reply::new(
                    451,
                    "4.3.0",
                    "Error: could not store the message, try again later",
                );
            }
        };
        let stored = match body {
            Body::Memory(content) => self.ctx.queue.accept(envelope, content).await,
            Body::Spooled(writer) => self.ctx.queue.accept_written(envelope, writer).await,
        };
        match &stored {
            Err(_) => self.ctx.queue.withdraw(&companions).await,
            Ok(()) if !held => self.ctx.queue.release_companions(&id, &companions).await,
            Ok(()) => {}
        }
        match stored {
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

    /// Spools the messages the stages made with `envelope`'s message, held with it when it
    /// is held, and records their IDs in it. On a failure the ones spooled are withdrawn.
    async fn store_companions(
        &self,
        envelope: &mut Envelope,
        companions: Vec<OwnedMessage>,
    ) -> Result<Vec<String>, crate::queue::QueueError> {
        let mut ids = Vec::new();
        for (mut companion, content) in companions {
            // Held until the message itself is committed (then let go unless it is held):
            // nothing of it leaves before it is accepted.
            companion.held = Some(format!(
                "made with {}: released, refused or deleted with it",
                envelope.id
            ));
            companion.companion_of = Some(envelope.id.clone());
            // A companion waits only on its message, never on a time of its own.
            companion.hold_until = None;
            companion.hold_kind = None;
            companion.hold_token = None;
            let cid = companion.id.clone();
            if let Err(e) = self.ctx.queue.accept(companion, content).await {
                self.ctx.queue.withdraw(&ids).await;
                return Err(e);
            }
            tracing::info!(queue_id = %envelope.id, companion = %cid, "accepted with it");
            ids.push(cid);
        }
        envelope.companions = ids.clone();
        Ok(ids)
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

/// The number of `Received` fields in the header block at the start of `content` (of
/// as much of it as `content` holds).
fn hops(content: &[u8]) -> usize {
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
    hops
}

/// What an inspection reserves for archive expansion, per byte of message (the DLP's
/// default ratio limit; the expansion share of the budget bounds it in all).
const EXPANSION_RATIO: u64 = 100;

/// What an inspection reserves for the archives of `len` octets: the ratio per octet,
/// within `expansion`, what one inspection may expand to.
pub(super) fn expansion_allowance(expansion: u64, len: u64) -> u64 {
    expansion.min(len.saturating_mul(EXPANSION_RATIO))
}

/// Content a DATA transfer holds in memory before it starts writing to the spool: small
/// mail is written once, after the inspection; larger mail streams to disk as it arrives.
const SPILL_AT: usize = 256 * 1024;

/// The message content once DATA has ended.
enum Body {
    /// Small: all in memory, written at acceptance.
    Memory(Vec<u8>),
    /// Large: already in the spool's temporary file, committed at acceptance.
    Spooled(SpoolWriter),
}

/// A DATA transfer's content written to the spool while it arrives.
#[derive(Default)]
struct Spilled {
    writer: Option<SpoolWriter>,
    /// 8-bit octets were written.
    eight_bit: bool,
    /// `Received` fields in the header block, counted before the first write.
    hops: Option<usize>,
    /// Writing failed: the rest is read and dropped, and the client told to retry.
    failed: Option<SpoolError>,
}

impl Spilled {
    /// Appends `content` to the spool file (created at the first call) and empties it.
    /// The write goes to the page cache (the fsync comes at the commit), so it runs as
    /// [`crate::blocking::short`] work.
    async fn spill(&mut self, queue: &Queue, id: &str, content: &mut Vec<u8>) {
        self.eight_bit |= !content.is_ascii();
        let spool = queue.spool().clone();
        let owned_id = id.to_owned();
        let writer = self.writer.take();
        let mut chunk = std::mem::take(content);
        let write = move || {
            let mut writer = match writer {
                Some(w) => w,
                None => spool.writer(&owned_id)?,
            };
            writer.append(&chunk).map(|()| {
                chunk.clear();
                (writer, chunk)
            })
        };
        let written = crate::blocking::short(write).await;
        match written {
            Ok(Ok((writer, chunk))) => {
                self.writer = Some(writer);
                *content = chunk;
            }
            Ok(Err(e)) => self.failed = Some(e),
            Err(e) => {
                self.failed = Some(SpoolError::Io {
                    op: "write",
                    path: id.into(),
                    source: std::io::Error::other(e.to_string()),
                })
            }
        }
    }
}

/// What the stages made of a message: their verdict, its envelope and content, and the
/// messages accepted with it.
type Staged = (Verdict, Envelope, Body, Vec<OwnedMessage>);

/// Runs the stages over a message (read back from the spool file when it is there) and
/// writes the content again when a stage changed it.
fn run_stages(
    pipeline: &Pipeline,
    envelope: Envelope,
    body: Body,
    inspected: Option<Inspected>,
) -> Result<Staged, SpoolError> {
    match body {
        Body::Memory(content) => {
            let mut staged = StagedMessage::new(envelope, content);
            let v = pipeline.run(&mut staged);
            let rewritten = staged.rewritten();
            let (mut envelope, content, companions) = staged.into_parts();
            if rewritten {
                envelope.eight_bit = !content.is_ascii();
            }
            Ok((v, envelope, Body::Memory(content), companions))
        }
        Body::Spooled(mut writer) => {
            // Read in place, not into memory; decoded attachments go to scratch files
            // beside it. The map is gone before the file is written again.
            let len = writer.content_len();
            let store = writer.dir().map(|dir| {
                Box::new(ScratchStore::new(dir.to_path_buf(), len)) as Box<dyn PartStore + Send>
            });
            let mut staged = StagedMessage::mapped(envelope, writer.map_content()?, store)
                .with_inspected(inspected);
            let v = pipeline.run(&mut staged);
            let (mut envelope, rewrite, companions) = staged.into_envelope_and_rewrite();
            if let Some(content) = rewrite {
                envelope.eight_bit = !content.is_ascii();
                writer.replace_content(&content)?;
            }
            Ok((v, envelope, Body::Spooled(writer), companions))
        }
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Bytes of message memory one budget permit stands for.
pub(crate) const MEMORY_UNIT: usize = 64 * 1024;

/// The share of the global message-memory budget one DATA transfer holds; given back
/// when dropped.
#[derive(Default)]
pub(super) struct MemoryGrant {
    permit: Option<OwnedSemaphorePermit>,
    units: usize,
    /// The budget ran out: the content is being dropped.
    starved: bool,
}

impl MemoryGrant {
    /// Gives the whole grant back.
    fn release(&mut self) {
        self.permit = None;
        self.units = 0;
    }

    /// Extends the grant to cover `bytes`, waiting up to `wait` for others to give
    /// theirs back; false if they did not in time.
    pub(super) async fn wait_for(
        &mut self,
        budget: &std::sync::Arc<Semaphore>,
        bytes: usize,
        wait: std::time::Duration,
    ) -> bool {
        let Some((need, more)) = self.shortfall(bytes) else {
            return !self.starved;
        };
        match tokio::time::timeout(wait, budget.clone().acquire_many_owned(more)).await {
            Ok(Ok(p)) => {
                self.add(p, need);
                true
            }
            _ => false,
        }
    }

    /// The units `bytes` needs and how many more than held, when the grant is not starved
    /// and does not cover them yet.
    fn shortfall(&self, bytes: usize) -> Option<(usize, u32)> {
        let need = bytes.div_ceil(MEMORY_UNIT);
        (!self.starved && need > self.units)
            .then(|| (need, u32::try_from(need - self.units).unwrap_or(u32::MAX)))
    }

    /// Takes `p` into the grant, which then covers `need` units.
    fn add(&mut self, p: OwnedSemaphorePermit, need: usize) {
        match &mut self.permit {
            Some(held) => held.merge(p),
            None => self.permit = Some(p),
        }
        self.units = need;
    }

    /// Extends the grant to cover `bytes`; false once the budget is exhausted.
    fn cover(&mut self, budget: &std::sync::Arc<Semaphore>, bytes: usize) -> bool {
        let Some((need, more)) = self.shortfall(bytes) else {
            return !self.starved;
        };
        match budget.clone().try_acquire_many_owned(more) {
            Ok(p) => {
                self.add(p, need);
                true
            }
            Err(_) => {
                self.starved = true;
                self.release();
                false
            }
        }
    }
}
