//! The queue: what is spooled, what is due, and what became of each recipient.
//!
//! The spool is the truth; this is its index in memory (envelopes only, never content).
//! A scheduler task picks due messages, splits their pending recipients by destination
//! domain into [`Job`]s and hands them to the [`pacing::Pacer`]; lanes report each
//! recipient's [`Outcome`] back through [`Queue::complete`], which records it durably and
//! decides: done, retry later (exponential backoff), or bounce.

pub mod bounce;
pub mod pacing;
mod resident;
pub mod retention;
pub mod schedule;
pub mod timed;
pub mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;

use crate::pipeline::{Pipeline, StagedMessage, Verdict};
use crate::spool::{Envelope, RcptStatus, Recipient, Spool, SpoolError, SpoolWriter};
use crate::stats::Stats;

/// What happened to one recipient in one attempt. The retry decision lives in the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the destination.
    Delivered {
        /// The destination's reply.
        reply: String,
    },
    /// Failed for now; try again later.
    Deferred {
        /// Why.
        reason: String,
    },
    /// Failed for good; bounce.
    Failed {
        /// Enhanced status code, such as 5.1.1.
        status: String,
        /// Why.
        reason: String,
    },
}

/// Recipients of one message for one destination domain.
#[derive(Debug, Clone)]
pub struct Job {
    /// Queue ID.
    pub id: String,
    /// Destination domain (lower case).
    pub domain: String,
    /// Reverse-path; empty for bounces.
    pub mail_from: String,
    /// The recipients for this domain.
    pub recipients: Vec<Recipient>,
    /// DSN ENVID and RET, passed on when the destination supports DSN.
    pub envid: Option<String>,
    /// DSN RET.
    pub ret: Option<crate::spool::Ret>,
    /// Made by the box itself: not counted against pacing limits.
    pub internal: bool,
    /// The client asked for SMTPUTF8.
    pub smtputf8: bool,
    /// Content size, for SIZE=.
    pub size: u64,
}

/// What to do with a message once its last job came back.
enum Finish {
    /// Nothing pending: send owed bounces, remove.
    Done,
    /// Deleted while in flight: remove without a bounce.
    Silently,
    /// Still pending: record state, try later.
    Retry,
}

/// Retry policy.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Wait after the first failure.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Give up (bounce) after this long in the queue.
    pub lifetime: Duration,
}

impl RetryPolicy {
    /// Seconds to wait after the `attempts`-th attempt failed: initial × 2^(attempts−1),
    /// capped at `max`.
    pub fn backoff(&self, attempts: u32) -> u64 {
        let exp = attempts.saturating_sub(1).min(30);
        self.initial
            .as_secs()
            .max(1)
            .saturating_mul(1u64 << exp)
            .min(self.max.as_secs().max(1))
    }
}

impl Queue {
    /// Records the domains that mail of the office (not mail the box made) was delivered
    /// to, for the new-domain confirmation.
    fn learn_domains(&self, id: &str, outcomes: &[(String, Outcome)], now: u64) {
        let Some(known) = self.known_domains() else {
            return;
        };
        let internal = self.entries().get(id).is_none_or(|e| e.env.internal);
        if internal {
            return;
        }
        let domains: Vec<String> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Delivered { .. }))
            .filter_map(|(addr, _)| crate::address::domain_of(addr))
            .collect();
        if domains.is_empty() {
            return;
        }
        // Noted in memory here; the file, when due (a new domain, or hourly), is written
        // off the runtime's threads, by the one call told so, and for new domains at most
        // once every MIN_SAVE_GAP.
        use crate::misdelivery::known::Due;
        let mut due = Due::No;
        for domain in domains {
            match known.remember(&domain, now) {
                Due::No => {}
                told => due = told,
            }
        }
        match due {
            Due::No => {}
            Due::Now => {
                tokio::task::spawn_blocking(move || known.save_logged(now));
            }
            Due::In(secs) => {
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                    let at = now.saturating_add(secs);
                    let _ = tokio::task::spawn_blocking(move || known.save_logged(at)).await;
                });
            }
        }
    }

    /// Writes the domains learned and not yet written (the relay stopping).
    pub fn flush_learned_domains(&self) {
        if let Some(known) = self.known_domains() {
            known.flush(mamori_core::clock::unix_now());
        }
    }

    /// The store of the domains delivered to, once the server has set it.
    fn known_domains(&self) -> Option<Arc<crate::misdelivery::known::KnownDomains>> {
        self.inner
            .known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What was done to a held message, which its held companions follow.
#[derive(Debug, Clone, Copy)]
enum Follow<'a> {
    /// Released for delivery.
    Release,
    /// Refused with this reply (an encrypted copy bounces as the message does; a password
    /// mail is deleted).
    Refuse(&'a str),
    /// Deleted.
    Delete,
}

/// One entry of the index.
#[derive(Debug)]
struct Entry {
    env: Envelope,
    /// Jobs handed out and not yet completed.
    in_flight: usize,
    /// Delete as soon as the jobs in flight come back.
    deleted: bool,
}

/// A line of `mamori queue list`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Queue ID.
    pub id: String,
    /// Sender.
    pub from: String,
    /// Pending recipients.
    pub pending: Vec<String>,
    /// Content size.
    pub size: u64,
    /// Arrival, Unix seconds.
    pub arrived: u64,
    /// Attempts so far.
    pub attempts: u32,
    /// Next attempt, Unix seconds.
    pub next_attempt: u64,
    /// Why held, if held.
    pub held: Option<String>,
    /// Being delivered right now.
    pub active: bool,
    /// Latest temporary error.
    pub last_error: Option<String>,
}

/// A line of `mamori quarantine list`.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineSummary {
    /// Queue ID.
    pub id: String,
    /// Sender.
    pub from: String,
    /// Recipients still owed delivery.
    pub recipients: Vec<String>,
    /// Content size.
    pub size: u64,
    /// Arrival, Unix seconds.
    pub arrived: u64,
    /// Why it is held.
    pub held: String,
    /// The DLP rule that held it.
    pub rule: Option<String>,
    /// How many findings.
    pub findings: usize,
    /// How many problems.
    pub problems: usize,
}

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such queue ID.
    #[error("no message {0} in the queue")]
    NotFound(String),
    /// The message is not held (already released, or never held).
    #[error("message {0} is not held (already released?)")]
    NotHeld(String),
    /// The message is a companion of a held message: it leaves with that message.
    #[error(
        "message {0} was accepted with {1}, which is held: it is released, refused or deleted with {1}"
    )]
    Companion(String, String),
    /// The message is in the quarantine: only the quarantine's release (audited, once)
    /// may let it go, not the queue's.
    #[error(
        "message {0} is held by DLP: release it from the quarantine (`mamori quarantine release {0}`), which is audited and releases once"
    )]
    Quarantined(String),
    /// The spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// A blocking task died.
    #[error("internal error: {0}")]
    Join(String),
}

impl mamori_core::control::ControlError for QueueError {
    fn kind(&self) -> mamori_core::control::ErrorKind {
        use mamori_core::control::ErrorKind;
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::NotHeld(_) | Self::Quarantined(_) | Self::Companion(..) => ErrorKind::Conflict,
            Self::Spool(_) | Self::Join(_) => ErrorKind::Internal,
        }
    }
}

struct Inner {
    spool: Spool,
    entries: Mutex<HashMap<String, Entry>>,
    wake: Notify,
    stats: Arc<Stats>,
    retry: RetryPolicy,
    hostname: String,
    /// The stages that mail the box makes itself passes before it is queued (DLP).
    generated: std::sync::RwLock<Pipeline>,
    /// What bounces may carry to the outside.
    bounces: std::sync::RwLock<bounce::BouncePolicy>,
    /// The recipient domains delivered to (new-domain confirmation learns from them).
    known: std::sync::RwLock<Option<Arc<crate::misdelivery::known::KnownDomains>>>,
    /// At most this many envelopes in `entries` (see [`resident`]).
    active_limit: usize,
    /// Messages in the spool and not in `entries`.
    parked: AtomicUsize,
    /// The earliest wake time of a parked message that is not held (`resident::NO_WAKE`:
    /// none known); the scheduler scans the spool shortly before it.
    parked_wake: AtomicU64,
    /// When the spool was last scanned (Unix seconds).
    last_scan: AtomicU64,
}

/// The queue handle, cheap to clone.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

impl Queue {
    /// Opens the queue over `spool`, keeping at most `active_limit` envelopes in memory.
    /// Nothing is read yet: the scheduler's first scan brings back what is due, so a
    /// start with a long queue listens at once.
    pub fn open(
        spool: Spool,
        stats: Arc<Stats>,
        retry: RetryPolicy,
        hostname: String,
        active_limit: usize,
    ) -> Result<Self, QueueError> {
        Ok(Self {
            inner: Arc::new(Inner {
                spool,
                entries: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                stats,
                retry,
                hostname,
                generated: std::sync::RwLock::new(Pipeline::new()),
                bounces: std::sync::RwLock::new(bounce::BouncePolicy::default()),
                known: std::sync::RwLock::new(None),
                active_limit: active_limit.max(1),
                parked: AtomicUsize::new(0),
                // Everything in the spool is parked until the first scan.
                parked_wake: AtomicU64::new(0),
                last_scan: AtomicU64::new(0),
            }),
        })
    }

    /// Loads what is due from the spool now (tests, and tools that read the queue without
    /// its scheduler).
    pub fn load_due(&self) {
        self.refill(crate::datetime::unix_now());
    }

    /// Sets the stages that mail the box makes itself (bounces, notices) passes before it is
    /// queued: DLP inspects it like any outbound mail (at start, and when the settings change).
    pub fn set_generated_pipeline(&self, pipeline: Pipeline) {
        *self
            .inner
            .generated
            .write()
            .unwrap_or_else(|p| p.into_inner()) = pipeline;
    }

    /// Sets what bounces may carry to senders outside the office (at start, and when the
    /// settings change).
    pub fn set_bounce_policy(&self, policy: bounce::BouncePolicy) {
        *self
            .inner
            .bounces
            .write()
            .unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// Where deliveries are recorded by recipient domain (new-domain confirmation).
    pub fn set_known_domains(&self, known: Arc<crate::misdelivery::known::KnownDomains>) {
        *self.inner.known.write().unwrap_or_else(|p| p.into_inner()) = Some(known);
    }

    /// Queues a message the box made itself (a bounce, a notice) after the generated-mail
    /// stages: held if they hold it, dropped (with its audit record, written by the stage)
    /// if they refuse it.
    pub async fn accept_generated(
        &self,
        env: Envelope,
        content: Vec<u8>,
    ) -> Result<(), QueueError> {
        let pipeline = self
            .inner
            .generated
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if pipeline.is_empty() {
            return self.accept(env, content).await;
        }
        let id = env.id.clone();
        let mut staged = StagedMessage::new(env, content);
        let (verdict, mut staged) = tokio::task::spawn_blocking(move || {
            let v = pipeline.run(&mut staged);
            (v, staged)
        })
        .await
        .map_err(|e| QueueError::Join(e.to_string()))?;
        match verdict {
            Verdict::Accept => {}
            Verdict::Hold { reason } => staged.envelope.held = Some(reason),
            Verdict::Reject { lines, .. } => {
                tracing::warn!(queue_id = %id, reason = %lines.join(" "), "generated message refused by its inspection; not sent");
                return Ok(());
            }
            Verdict::Discard { reason } => {
                tracing::warn!(queue_id = %id, %reason, "generated message discarded by its inspection");
                return Ok(());
            }
        }
        let (env, content, companions) = staged.into_parts();
        for (companion, content) in companions {
            self.accept(companion, content).await?;
        }
        self.accept(env, content).await
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The spool behind the queue.
    pub fn spool(&self) -> &Spool {
        &self.inner.spool
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.inner.stats
    }

    /// Stores a new message durably and schedules it. Returns once it is fsynced.
    pub async fn accept(&self, env: Envelope, content: Vec<u8>) -> Result<(), QueueError> {
        let spool = self.inner.spool.clone();
        let env = tokio::task::spawn_blocking(move || spool.store(&env, &content).map(|()| env))
            .await
            .map_err(|e| QueueError::Join(e.to_string()))??;
        self.schedule_new(env);
        Ok(())
    }

    /// Commits a message whose content was written while it arrived, and schedules it.
    /// Returns once it is fsynced.
    pub async fn accept_written(
        &self,
        env: Envelope,
        writer: SpoolWriter,
    ) -> Result<(), QueueError> {
        let env = tokio::task::spawn_blocking(move || writer.commit(&env).map(|()| env))
            .await
            .map_err(|e| QueueError::Join(e.to_string()))??;
        self.schedule_new(env);
        Ok(())
    }

    /// Puts a message just spooled in the queue's memory (or leaves it parked on disk
    /// when the index is full) and wakes the scheduler.
    fn schedule_new(&self, env: Envelope) {
        let parked = {
            let mut entries = self.entries();
            if self.has_room(entries.len()) {
                // A scan may have found the new file first: keep its entry.
                entries.entry(env.id.clone()).or_insert(Entry {
                    env,
                    in_flight: 0,
                    deleted: false,
                });
                None
            } else {
                Some(env.wake_at())
            }
        };
        if let Some(wake) = parked {
            self.note_parked(wake);
        }
        self.inner.wake.notify_one();
    }

    /// Summaries of every queued message, oldest first.
    pub fn list(&self) -> Vec<Summary> {
        let summary = |env: &Envelope, active: bool| Summary {
            id: env.id.clone(),
            from: env.mail_from.clone(),
            pending: env.pending().map(|r| r.address.clone()).collect(),
            size: env.size,
            arrived: env.arrived,
            attempts: env.attempts,
            next_attempt: env.next_attempt,
            held: env.held.clone(),
            active,
            last_error: env.pending().find_map(|r| match &r.status {
                RcptStatus::Pending { last_error } => last_error.clone(),
                _ => None,
            }),
        };
        let mut out: Vec<Summary> = self
            .entries()
            .values()
            .filter(|e| !e.deleted)
            .map(|e| summary(&e.env, e.in_flight > 0))
            .collect();
        // Those parked in the spool, read from it (one walk of its directory).
        out.extend(
            self.parked_envelopes(false)
                .iter()
                .map(|env| summary(env, false)),
        );
        out.sort_by(|a, b| a.arrived.cmp(&b.arrived).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// The quarantine: held messages that DLP held, oldest first.
    pub fn quarantined(&self) -> Vec<QuarantineSummary> {
        let summary = |env: &Envelope| {
            if !env.is_quarantined() {
                return None;
            }
            let held = env.held.clone()?;
            let dlp = env.dlp.as_ref()?;
            Some(QuarantineSummary {
                id: env.id.clone(),
                from: env.mail_from.clone(),
                recipients: env.pending().map(|r| r.address.clone()).collect(),
                size: env.size,
                arrived: env.arrived,
                held,
                rule: dlp.rule.clone(),
                findings: dlp
                    .findings
                    .len()
                    .max(dlp.totals.findings.iter().map(|c| c.count).sum::<usize>()),
                problems: dlp.problems.len(),
            })
        };
        let mut out: Vec<QuarantineSummary> = self
            .entries()
            .values()
            .filter(|e| !e.deleted)
            .filter_map(|e| summary(&e.env))
            .collect();
        out.extend(self.parked_envelopes(true).iter().filter_map(summary));
        out.sort_by(|a, b| a.arrived.cmp(&b.arrived).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// One message's envelope and state.
    pub fn show(&self, id: &str) -> Result<Envelope, QueueError> {
        self.ensure_resident(id);
        self.entries()
            .get(id)
            .filter(|e| !e.deleted)
            .map(|e| e.env.clone())
            .ok_or_else(|| QueueError::NotFound(id.into()))
    }

    /// Holds a message (it stays queued and is not delivered until released).
    pub async fn hold(&self, id: &str, reason: &str) -> Result<(), QueueError> {
        self.modify(id, |env| {
            env.held = Some(reason.to_string());
            // An administrator's hold has no time: a timed hold it replaces ends here.
            env.hold_until = None;
            env.hold_kind = None;
            env.hold_token = None;
        })
        .await
    }

    /// Releases a held message for delivery now. A message DLP holds (in the quarantine) is
    /// refused: it leaves only through [`Self::release_held`], the quarantine's audited
    /// release-once path.
    pub async fn release(&self, id: &str) -> Result<(), QueueError> {
        self.ensure_resident(id);
        {
            let entries = self.entries();
            if let Some(e) = entries.get(id).filter(|e| !e.deleted)
                && e.env.is_quarantined()
            {
                return Err(QueueError::Quarantined(id.into()));
            }
        }
        if let Some(parent) = self.held_parent(id) {
            return Err(QueueError::Companion(id.into(), parent));
        }
        let mut companions = Vec::new();
        self.modify(id, |env| {
            env.held = None;
            env.next_attempt = 0;
            env.hold_until = None;
            env.hold_kind = None;
            env.hold_token = None;
            companions = env.companions.clone();
        })
        .await?;
        self.follow(id, &companions, Follow::Release).await;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// The message that holds `id` (one of its companions) while it is held itself.
    fn held_parent(&self, id: &str) -> Option<String> {
        let parent = self
            .entries()
            .get(id)
            .and_then(|e| e.env.companion_of.clone())?;
        self.ensure_resident(&parent);
        let entries = self.entries();
        entries
            .get(&parent)
            .filter(|p| !p.deleted && p.env.held.is_some())
            .map(|_| parent.clone())
    }

    /// Lets companions spooled while their message was being accepted go (they were
    /// spooled held, so that none leaves before the message is committed): what the
    /// message's acceptance does once it is committed and not held.
    pub async fn release_companions(&self, id: &str, companions: &[String]) {
        self.follow(id, companions, Follow::Release).await;
        // The scheduler learns their times (a delayed password mail's) now.
        self.inner.wake.notify_one();
    }

    /// Takes back messages spooled for a message that was then not accepted (its
    /// companions): they leave the queue unsent.
    pub async fn withdraw(&self, ids: &[String]) {
        for id in ids {
            if let Err(e) = self.delete(id).await {
                tracing::error!(queue_id = %id, error = %e, "could not withdraw a message made with one not accepted");
            }
        }
    }

    /// Does to the held companions of message `id` what was done to it. A companion that
    /// is not held (the message was not held when they were accepted) goes its own way.
    async fn follow(&self, id: &str, companions: &[String], what: Follow<'_>) {
        let now = crate::datetime::unix_now();
        for cid in companions {
            self.ensure_resident(cid);
            let Some(env) = self
                .entries()
                .get(cid.as_str())
                .filter(|e| !e.deleted)
                .map(|e| e.env.clone())
            else {
                continue;
            };
            if env.held.is_none() {
                continue;
            }
            let done = match what {
                // A delayed companion (a password mail) keeps its delay from now.
                Follow::Release => {
                    self.modify(cid, |env| {
                        let delay = env.next_attempt.saturating_sub(env.arrived);
                        env.held = None;
                        env.next_attempt = if delay > 0 { now + delay } else { 0 };
                    })
                    .await
                }
                // Boxed: these follow their own companions (none: a companion has none).
                Follow::Refuse(reply) if !env.internal => {
                    Box::pin(self.reject_held(cid, reply)).await.map(|_| ())
                }
                Follow::Refuse(_) | Follow::Delete => Box::pin(self.delete(cid)).await,
            };
            match done {
                Ok(()) => {
                    tracing::info!(queue_id = %id, companion = %cid, action = ?what, "done with it")
                }
                Err(e) => {
                    tracing::error!(queue_id = %id, companion = %cid, error = %e, "could not do the same to a message made with it")
                }
            }
        }
    }

    /// Releases a message only if it is held, atomically: of two administrators releasing
    /// the same message at once, one succeeds and the other is told it is not held, so a
    /// quarantined message is delivered exactly once. Returns the envelope as it was.
    pub async fn release_held(&self, id: &str) -> Result<Envelope, QueueError> {
        self.ensure_resident(id);
        let (before, after) = {
            let mut entries = self.entries();
            let e = entries
                .get_mut(id)
                .filter(|e| !e.deleted)
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            if e.env.held.is_none() {
                return Err(QueueError::NotHeld(id.into()));
            }
            let before = e.env.clone();
            e.env.held = None;
            e.env.next_attempt = 0;
            (before, e.env.clone())
        };
        self.persist(after).await?;
        self.follow(id, &before.companions, Follow::Release).await;
        self.inner.wake.notify_one();
        Ok(before)
    }

    /// Refuses a held message, atomically like [`Self::release_held`] (of a release and a
    /// refusal at once, one wins): every pending recipient fails with `reply` (status
    /// 5.7.1), the sender gets the bounce owed, and the message leaves the queue. Returns the
    /// envelope as it was.
    pub async fn reject_held(&self, id: &str, reply: &str) -> Result<Envelope, QueueError> {
        let now = crate::datetime::unix_now();
        self.ensure_resident(id);
        let (before, after) = {
            let mut entries = self.entries();
            let e = entries
                .get(id)
                .filter(|e| !e.deleted)
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            if e.env.held.is_none() || e.in_flight > 0 {
                return Err(QueueError::NotHeld(id.into()));
            }
            let Some(e) = entries.remove(id) else {
                return Err(QueueError::NotFound(id.into()));
            };
            let before = e.env.clone();
            let mut after = e.env;
            for r in after.recipients.iter_mut().filter(|r| r.is_pending()) {
                Stats::bump(&self.inner.stats.bounced);
                r.status = RcptStatus::Failed {
                    reply: reply.to_string(),
                    status: "5.7.1".into(),
                    at: now,
                };
            }
            after.held = None;
            (before, after)
        };
        if let Err(e) = self.finish(after).await {
            // Still held on disk: put it back as it was, to be refused or released again.
            self.put_back(before);
            return Err(e);
        }
        self.follow(id, &before.companions, Follow::Refuse(reply))
            .await;
        Ok(before)
    }

    /// Puts a held message taken out of memory back as it was (its change could not be
    /// written: it is still held on disk).
    fn put_back(&self, env: Envelope) {
        self.entries().insert(
            env.id.clone(),
            Entry {
                env,
                in_flight: 0,
                deleted: false,
            },
        );
    }

    async fn modify(&self, id: &str, f: impl FnOnce(&mut Envelope)) -> Result<(), QueueError> {
        self.ensure_resident(id);
        let env = {
            let mut entries = self.entries();
            let e = entries
                .get_mut(id)
                .filter(|e| !e.deleted)
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            f(&mut e.env);
            e.env.clone()
        };
        self.persist(env).await
    }

    async fn persist(&self, env: Envelope) -> Result<(), QueueError> {
        let spool = self.inner.spool.clone();
        tokio::task::spawn_blocking(move || spool.update(&env))
            .await
            .map_err(|e| QueueError::Join(e.to_string()))??;
        Ok(())
    }

    /// Deletes a message without delivering or bouncing it (and its held companions).
    pub async fn delete(&self, id: &str) -> Result<(), QueueError> {
        self.ensure_resident(id);
        let (remove_now, companions) = {
            let mut entries = self.entries();
            let e = entries
                .get_mut(id)
                .filter(|e| !e.deleted)
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            let companions = std::mem::take(&mut e.env.companions);
            let remove_now = if e.in_flight > 0 {
                e.deleted = true;
                false
            } else {
                entries.remove(id);
                true
            };
            (remove_now, companions)
        };
        if remove_now {
            self.remove_from_spool(id.to_string()).await?;
        }
        tracing::info!(queue_id = %id, "deleted by administrator");
        self.follow(id, &companions, Follow::Delete).await;
        Ok(())
    }

    async fn remove_from_spool(&self, id: String) -> Result<(), QueueError> {
        let spool = self.inner.spool.clone();
        tokio::task::spawn_blocking(move || spool.remove(&id))
            .await
            .map_err(|e| QueueError::Join(e.to_string()))??;
        Ok(())
    }

    /// Makes every deferred (not held) message due now, parked ones too. Returns how many.
    pub fn retry_all(&self) -> usize {
        let mut n = 0;
        for e in self.entries().values_mut() {
            if e.env.held.is_none() && !e.deleted && e.env.next_attempt > 0 {
                e.env.next_attempt = 0;
                n += 1;
            }
        }
        // And those parked in the spool; the scheduler's next scan brings them back.
        let now = crate::datetime::unix_now();
        let is_resident = |id: &str| self.entries().contains_key(id);
        match self.inner.spool.wake_parked(now, &is_resident) {
            Ok(woken) => n += woken,
            Err(e) => tracing::error!(error = %e, "waking parked mail failed"),
        }
        self.note_wake(now);
        self.inner.wake.notify_one();
        n
    }

    /// Records the outcomes of one job. When the message has no job left in flight, it
    /// is removed (all done, bounces sent), or rescheduled with backoff, or bounced for
    /// good once past the queue lifetime.
    pub async fn complete(&self, id: &str, outcomes: Vec<(String, Outcome)>) {
        let now = crate::datetime::unix_now();
        self.learn_domains(id, &outcomes, now);
        let finished = {
            let mut entries = self.entries();
            let Some(e) = entries.get_mut(id) else { return };
            for (addr, outcome) in &outcomes {
                let Some(r) = e
                    .env
                    .recipients
                    .iter_mut()
                    .find(|r| r.is_pending() && &r.address == addr)
                else {
                    continue;
                };
                r.status = match outcome {
                    Outcome::Delivered { reply } => {
                        Stats::bump(&self.inner.stats.delivered);
                        tracing::info!(queue_id = %id, to = %addr, %reply, "delivered");
                        RcptStatus::Delivered {
                            reply: reply.clone(),
                            at: now,
                        }
                    }
                    Outcome::Deferred { reason } => {
                        Stats::bump(&self.inner.stats.deferred);
                        tracing::info!(queue_id = %id, to = %addr, %reason, "deferred");
                        RcptStatus::Pending {
                            last_error: Some(reason.clone()),
                        }
                    }
                    Outcome::Failed { status, reason } => {
                        Stats::bump(&self.inner.stats.bounced);
                        tracing::info!(queue_id = %id, to = %addr, %reason, "failed permanently");
                        RcptStatus::Failed {
                            reply: reason.clone(),
                            status: status.clone(),
                            at: now,
                        }
                    }
                };
            }
            e.in_flight = e.in_flight.saturating_sub(1);
            if e.in_flight > 0 {
                None
            } else {
                let retry = self.inner.retry;
                let expired = now.saturating_sub(e.env.arrived) >= retry.lifetime.as_secs();
                if expired && e.env.pending().next().is_some() {
                    for r in e.env.recipients.iter_mut().filter(|r| r.is_pending()) {
                        let last = match &r.status {
                            RcptStatus::Pending { last_error } => {
                                last_error.clone().unwrap_or_default()
                            }
                            _ => String::new(),
                        };
                        Stats::bump(&self.inner.stats.bounced);
                        tracing::info!(queue_id = %id, to = %r.address, "queue lifetime exceeded");
                        r.status = RcptStatus::Failed {
                            reply: format!("delivery time expired; last error: {last}"),
                            status: "4.4.7".into(),
                            at: now,
                        };
                    }
                }
                if e.deleted {
                    entries.remove(id).map(|e| (e.env, Finish::Silently))
                } else if e.env.pending().next().is_none() {
                    entries.remove(id).map(|e| (e.env, Finish::Done))
                } else {
                    e.env.next_attempt = now + retry.backoff(e.env.attempts);
                    Some((e.env.clone(), Finish::Retry))
                }
            }
        };
        match finished {
            None => {}
            Some((env, Finish::Silently)) => {
                if let Err(e) = self.remove_from_spool(env.id).await {
                    tracing::error!(queue_id = %id, error = %e, "removing deleted message failed");
                }
            }
            Some((env, Finish::Done)) => {
                if let Err(e) = self.finish(env).await {
                    tracing::error!(queue_id = %id, error = %e, "finishing message failed");
                }
                // Room was made: parked mail may come back.
                if self.parked_count() > 0 {
                    self.inner.wake.notify_one();
                }
            }
            Some((env, Finish::Retry)) => {
                if let Err(e) = self.persist(env).await {
                    tracing::error!(queue_id = %id, error = %e, "recording delivery state failed");
                } else {
                    // Its state and wake time are on disk: it may leave memory.
                    let parked = {
                        let mut entries = self.entries();
                        let idle = entries
                            .get(id)
                            .is_some_and(|e| e.in_flight == 0 && !e.deleted);
                        if idle && self.should_park(entries.len()) {
                            entries.remove(id).map(|e| e.env.wake_at())
                        } else {
                            None
                        }
                    };
                    if let Some(wake) = parked {
                        self.note_parked(wake);
                    }
                }
                self.inner.wake.notify_one();
            }
        }
    }

    /// A message with nothing pending: send any bounce owed, then remove it.
    async fn finish(&self, env: Envelope) -> Result<(), QueueError> {
        let policy = self
            .inner
            .bounces
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(bounce) =
            bounce::bounce_for(&env, &self.inner.spool, &self.inner.hostname, &policy)
        {
            self.accept_generated(bounce.0, bounce.1).await?;
        }
        self.remove_from_spool(env.id.clone()).await?;
        tracing::info!(queue_id = %env.id, "removed from queue");
        Ok(())
    }

    /// Wakes the scheduler.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }
}

/// Marks a test message as held by a DLP rule `r`, as the DLP stage does.
#[cfg(test)]
pub(crate) fn held_by_dlp(env: &mut Envelope) {
    env.held = Some("DLP: rule \"r\"".into());
    env.dlp = Some(crate::spool::DlpRecord {
        action: mamori_dlp::Action::Hold,
        rule: Some("r".into()),
        explanation: Vec::new(),
        findings: Vec::new(),
        problems: Vec::new(),
        totals: Default::default(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            initial: Duration::from_secs(300),
            max: Duration::from_secs(4000),
            lifetime: Duration::from_secs(5 * 86400),
        };
        assert_eq!(p.backoff(1), 300);
        assert_eq!(p.backoff(2), 600);
        assert_eq!(p.backoff(3), 1200);
        assert_eq!(p.backoff(5), 4000);
        assert_eq!(p.backoff(100), 4000);
    }
}

/// A queue over a spool in `dir` holding at most `limit` envelopes in memory, with
/// retries of 10 minutes to an hour for a day: what the queue's tests share.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn test_queue(dir: &std::path::Path, limit: usize) -> Queue {
    let retry = RetryPolicy {
        initial: Duration::from_secs(600),
        max: Duration::from_secs(3600),
        lifetime: Duration::from_secs(86_400),
    };
    let spool = Spool::open(dir.join("spool")).unwrap();
    Queue::open(spool, Default::default(), retry, "mx.test".into(), limit).unwrap()
}

#[cfg(test)]
mod companion_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::spool::{Recipient, new_id};

    const CONTENT: &[u8] = b"Subject: x\r\n\r\nbody\r\n";

    fn queue(dir: &std::path::Path) -> Queue {
        test_queue(dir, 100)
    }

    /// A held message with two held companions: an encrypted copy (the sender's mail) and
    /// a password mail due 300 s after its arrival.
    async fn held_with_companions(q: &Queue) -> (String, String, String) {
        let rcpt = || vec![Recipient::new("b@client.test")];
        let mut copy =
            Envelope::generated(new_id(), "a@office.test".into(), rcpt(), "mx.test", CONTENT);
        copy.internal = false;
        copy.held = Some("with main".into());
        let mut password = Envelope::generated(new_id(), String::new(), rcpt(), "mx.test", CONTENT);
        password.held = Some("with main".into());
        password.next_attempt = password.arrived + 300;
        let mut main =
            Envelope::generated(new_id(), "a@office.test".into(), rcpt(), "mx.test", CONTENT);
        held_by_dlp(&mut main);
        main.companions = vec![copy.id.clone(), password.id.clone()];
        let ids = (main.id.clone(), copy.id.clone(), password.id.clone());
        q.accept(copy, CONTENT.to_vec()).await.unwrap();
        q.accept(password, CONTENT.to_vec()).await.unwrap();
        q.accept(main, CONTENT.to_vec()).await.unwrap();
        ids
    }

    #[tokio::test]
    async fn companions_are_released_with_the_message_and_keep_their_delay() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path());
        let (main, copy, password) = held_with_companions(&q).await;
        let now = crate::datetime::unix_now();
        q.release_held(&main).await.unwrap();
        let copy = q.show(&copy).unwrap();
        assert!(copy.held.is_none());
        assert_eq!(copy.next_attempt, 0);
        let password = q.show(&password).unwrap();
        assert!(password.held.is_none());
        assert!(
            password.next_attempt >= now + 300,
            "{}",
            password.next_attempt
        );
        // And a second release finds nothing held.
        assert!(matches!(
            q.release_held(&main).await,
            Err(QueueError::NotHeld(_))
        ));
    }

    #[tokio::test]
    async fn companions_leave_with_a_deleted_or_refused_message() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path());
        let (main, copy, password) = held_with_companions(&q).await;
        q.delete(&main).await.unwrap();
        assert!(q.show(&copy).is_err() && q.show(&password).is_err());
        assert!(q.spool().load_all().unwrap().is_empty());

        let (main, copy, password) = held_with_companions(&q).await;
        q.reject_held(&main, "550 5.7.1 refused by the administrator")
            .await
            .unwrap();
        assert!(q.show(&password).is_err(), "the password mail is deleted");
        assert!(
            q.show(&copy).is_err(),
            "the copy is refused as the message is"
        );
    }

    #[tokio::test]
    async fn a_companion_not_held_goes_its_own_way() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path());
        let (main, copy, _) = held_with_companions(&q).await;
        q.release(&copy).await.unwrap();
        q.delete(&main).await.unwrap();
        assert!(
            q.show(&copy).is_ok(),
            "released on its own: not deleted with the message"
        );
    }
}
