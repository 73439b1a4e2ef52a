//! Paced delivery: per destination domain, at most N connections, M transactions per
//! connection, R transactions per minute, and caps on recipients per transaction and
//! per connection. A destination that answers 421 or "too fast" is slowed down.
//!
//! Each destination domain has a [`Lane`] with a queue of jobs. Up to `max_connections`
//! connection tasks drain it; each takes jobs while its per-connection limits allow,
//! splits them into transactions, and waits for the lane's rate limiter before each
//! transaction. Mail the box makes itself (bounces) skips the rate limiter: it must not
//! eat the office's allowance.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::settings::{PaceGroup, PaceLimits, Pacing};
use tokio::time::Instant;
use tracing::Instrument;

use super::transport::Transport;
use super::{Job, Outcome, Queue};

/// Slow-down factor cap after repeated throttling.
const MAX_SLOWDOWN: u32 = 16;
/// A throttled lane returns to full speed after this long without being throttled.
const RECOVERY: Duration = Duration::from_secs(600);

/// Limits for each destination: operator groups first, then the carrier preset, then the default.
#[derive(Debug, Clone)]
pub struct PacePolicy {
    groups: Vec<PaceGroup>,
    default: PaceLimits,
    throttle_pause: Duration,
}

impl PacePolicy {
    /// Builds the policy from configuration.
    pub fn new(cfg: &Pacing) -> Self {
        let mut groups = cfg.groups.clone();
        if cfg.jp_mobile_preset {
            groups.push(crate::settings::jp_mobile_group());
        }
        Self {
            groups,
            default: cfg.default,
            throttle_pause: cfg.throttle_pause,
        }
    }

    /// The group name and limits for a destination domain.
    pub fn limits_for(&self, domain: &str) -> (&str, PaceLimits) {
        self.groups
            .iter()
            .find(|g| g.domains.iter().any(|d| d.contains(domain)))
            .map(|g| (g.name.as_str(), g.limits))
            .unwrap_or(("default", self.default))
    }
}

/// The rate limiter and throttle state of one lane (pure; time is passed in).
#[derive(Debug, Clone)]
pub struct RateGate {
    per_minute: u32,
    pause: Duration,
    next_slot: Option<Instant>,
    slowdown: u32,
    paused_until: Option<Instant>,
    last_throttle: Option<Instant>,
}

impl RateGate {
    /// A gate allowing `per_minute` transactions a minute (0: unlimited).
    pub fn new(per_minute: u32, pause: Duration) -> Self {
        Self {
            pause,
            per_minute,
            next_slot: None,
            slowdown: 1,
            paused_until: None,
            last_throttle: None,
        }
    }

    fn interval(&self) -> Duration {
        match self.per_minute {
            0 if self.slowdown <= 1 => Duration::ZERO,
            0 => Duration::from_secs(u64::from(self.slowdown)),
            n => Duration::from_secs(60) * self.slowdown / n,
        }
    }

    /// Reserves the next slot; returns when the transaction may start.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        if self
            .last_throttle
            .is_some_and(|t| now.duration_since(t) >= RECOVERY)
        {
            self.slowdown = 1;
            self.last_throttle = None;
        }
        let mut at = self.next_slot.map_or(now, |s| s.max(now));
        if let Some(p) = self.paused_until {
            at = at.max(p);
        }
        self.next_slot = Some(at + self.interval());
        at
    }

    /// The destination pushed back: pause, then go slower.
    pub fn throttle(&mut self, now: Instant) {
        self.slowdown = (self.slowdown * 2).min(MAX_SLOWDOWN);
        self.paused_until = Some(now + self.pause);
        self.last_throttle = Some(now);
        self.next_slot = None;
    }

    /// True when forgetting this gate changes nothing: no slot reserved in the future,
    /// no pause, no recent throttling.
    pub fn is_idle(&self, now: Instant) -> bool {
        self.next_slot.is_none_or(|s| s <= now)
            && self.paused_until.is_none_or(|p| p <= now)
            && self
                .last_throttle
                .is_none_or(|t| now.duration_since(t) >= RECOVERY)
    }

    /// Takes a new rate (the settings changed); the slow-down and pause stay.
    pub fn set_rate(&mut self, per_minute: u32, pause: Duration) {
        self.per_minute = per_minute;
        self.pause = pause;
    }

    /// The current slow-down factor (1 = normal).
    pub fn slowdown(&self) -> u32 {
        self.slowdown
    }
}

struct LaneState {
    jobs: VecDeque<Job>,
    connections: usize,
    gate: RateGate,
    /// The group whose limits apply (they may change with the settings).
    group: String,
    limits: PaceLimits,
}

/// One destination domain.
struct Lane {
    domain: String,
    state: Mutex<LaneState>,
}

impl Lane {
    fn state(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The pacer: owns the lanes and starts connection tasks.
pub struct Pacer {
    policy: std::sync::RwLock<PacePolicy>,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    transport: std::sync::RwLock<Arc<Transport>>,
    queue: Queue,
}

impl Pacer {
    /// A pacer delivering through `transport` and reporting to `queue`.
    pub fn new(policy: PacePolicy, transport: Arc<Transport>, queue: Queue) -> Arc<Self> {
        Arc::new(Self {
            policy: std::sync::RwLock::new(policy),
            lanes: Mutex::new(HashMap::new()),
            transport: std::sync::RwLock::new(transport),
            queue,
        })
    }

    /// Takes new settings: routes and TLS policy (`transport`) for the next connection, and
    /// `policy`'s limits for every lane at once (connections already open finish with the
    /// limits they started with).
    pub fn reconfigure(&self, policy: PacePolicy, transport: Arc<Transport>) {
        let lanes = self.lanes();
        for lane in lanes.values() {
            let (group, limits) = policy.limits_for(&lane.domain);
            let mut st = lane.state();
            st.group = group.to_string();
            st.limits = limits;
            st.gate
                .set_rate(limits.messages_per_minute, policy.throttle_pause);
        }
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
        *self.transport.write().unwrap_or_else(|p| p.into_inner()) = transport;
        drop(lanes);
    }

    fn transport(&self) -> Arc<Transport> {
        self.transport
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Queues a job on its domain's lane and starts a connection if the lane may have another.
    pub fn submit(self: &Arc<Self>, job: Job) {
        // Lock order everywhere: the lane map, then a lane. The job is queued while the
        // map is held so that an idle lane cannot be dropped between look-up and push.
        let mut lanes = self.lanes();
        let lane = lanes
            .entry(job.domain.clone())
            .or_insert_with(|| {
                let policy = self.policy.read().unwrap_or_else(|p| p.into_inner());
                let (group, limits) = policy.limits_for(&job.domain);
                Arc::new(Lane {
                    domain: job.domain.clone(),
                    state: Mutex::new(LaneState {
                        jobs: VecDeque::new(),
                        connections: 0,
                        gate: RateGate::new(limits.messages_per_minute, policy.throttle_pause),
                        group: group.to_string(),
                        limits,
                    }),
                })
            })
            .clone();
        let start = {
            let mut st = lane.state();
            st.jobs.push_back(job);
            if st.connections < st.limits.max_connections {
                st.connections += 1;
                true
            } else {
                false
            }
        };
        drop(lanes);
        if start {
            let me = self.clone();
            tokio::spawn(async move { me.connection_task(lane).await });
        }
    }

    fn lanes(&self) -> MutexGuard<'_, HashMap<String, Arc<Lane>>> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the next job a connection may carry, splitting off what exceeds the
    /// connection's remaining recipient allowance (the rest goes back to the front).
    fn next_job(lane: &Lane, rcpt_room: usize) -> Option<Job> {
        let mut st = lane.state();
        let mut job = st.jobs.pop_front()?;
        if job.recipients.len() > rcpt_room {
            let rest = job.recipients.split_off(rcpt_room);
            let mut tail = job.clone();
            tail.recipients = rest;
            st.jobs.push_front(tail);
        }
        Some(job)
    }

    async fn connection_task(self: Arc<Self>, lane: Arc<Lane>) {
        loop {
            self.one_connection(&lane).await;
            let mut lanes = self.lanes();
            let mut st = lane.state();
            if st.jobs.is_empty() {
                st.connections -= 1;
                // A lane with nothing to do and no pacing state worth keeping is dropped,
                // so a box that mails thousands of domains does not keep them all.
                if st.connections == 0 && st.gate.is_idle(Instant::now()) {
                    lanes.remove(&lane.domain);
                }
                return;
            }
        }
    }

    async fn one_connection(&self, lane: &Lane) {
        let limits = lane.state().limits;
        let mut link = match self.transport().connect(&lane.domain).await {
            Ok(link) => link,
            Err(err) => {
                // Nobody to talk to: every job waiting for this domain shares the fate.
                if err.throttle {
                    lane.state().gate.throttle(Instant::now());
                }
                let jobs: Vec<Job> = lane.state().jobs.drain(..).collect();
                tracing::info!(domain = %lane.domain, jobs = jobs.len(), reason = %err.reason, "destination unreachable");
                for job in jobs {
                    let outcome = err.outcome();
                    let results = job
                        .recipients
                        .iter()
                        .map(|r| (r.address.clone(), outcome.clone()))
                        .collect();
                    self.queue.complete(&job.id, results).await;
                }
                return;
            }
        };
        let mut messages = 0usize;
        let mut rcpts = 0usize;
        while messages < limits.messages_per_connection && rcpts < limits.recipients_per_connection
        {
            let Some(job) = Self::next_job(lane, limits.recipients_per_connection - rcpts) else {
                break;
            };
            let spool = self.queue.spool().clone();
            let id = job.id.clone();
            let opened =
                tokio::task::spawn_blocking(move || super::transport::spooled_body(&spool, &id))
                    .await
                    .unwrap_or_else(|e| {
                        Err(crate::spool::SpoolError::Corrupt {
                            path: job.id.clone().into(),
                            reason: e.to_string(),
                        })
                    });
            let content = match opened {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(queue_id = %job.id, error = %e, "cannot read spooled content");
                    let o = Outcome::Deferred {
                        reason: format!("local error reading the spool: {e}"),
                    };
                    let results = job
                        .recipients
                        .iter()
                        .map(|r| (r.address.clone(), o.clone()))
                        .collect();
                    self.queue.complete(&job.id, results).await;
                    continue;
                }
            };
            let mut results = Vec::with_capacity(job.recipients.len());
            let mut alive = true;
            for chunk in job.recipients.chunks(limits.recipients_per_transaction) {
                if !alive || messages >= limits.messages_per_connection {
                    let o = Outcome::Deferred {
                        reason: "connection limit reached; will retry".into(),
                    };
                    results.extend(chunk.iter().map(|r| (r.address.clone(), o.clone())));
                    continue;
                }
                if !job.internal {
                    let at = lane.state().gate.reserve(Instant::now());
                    tokio::time::sleep_until(at).await;
                }
                // Every log line of the client about this transaction carries the queue ID.
                let span =
                    tracing::info_span!("delivery", queue_id = %job.id, domain = %lane.domain);
                let sent = link
                    .send(&job, chunk, content.clone())
                    .instrument(span)
                    .await;
                messages += 1;
                rcpts += chunk.len();
                if sent.throttle {
                    let mut st = lane.state();
                    st.gate.throttle(Instant::now());
                    tracing::warn!(domain = %lane.domain, group = %st.group, slowdown = st.gate.slowdown(), "destination throttled us; slowing down");
                }
                alive = sent.alive;
                results.extend(sent.outcomes);
            }
            // Closed while the file is still linked (cheap): the last close of a removed
            // file frees its blocks, a wait for the disk that belongs in the removal's
            // blocking task, not on this one.
            drop(content);
            self.queue.complete(&job.id, results).await;
            if !alive {
                return;
            }
        }
        link.quit().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THROTTLE_PAUSE: Duration = Duration::from_secs(60);

    #[test]
    fn carriers_get_the_preset_and_others_the_default() {
        let p = PacePolicy::new(&Pacing::default());
        assert_eq!(p.limits_for("docomo.ne.jp").0, "jp-mobile");
        assert_eq!(p.limits_for("t.vodafone.ne.jp").0, "jp-mobile");
        assert_eq!(p.limits_for("example.co.jp").0, "default");
        let off = Pacing {
            jp_mobile_preset: false,
            ..Pacing::default()
        };
        assert_eq!(
            PacePolicy::new(&off).limits_for("docomo.ne.jp").0,
            "default"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gate_spaces_transactions_and_slows_when_throttled() {
        let mut g = RateGate::new(30, THROTTLE_PAUSE);
        let t0 = Instant::now();
        assert_eq!(g.reserve(t0), t0);
        assert_eq!(g.reserve(t0), t0 + Duration::from_secs(2));
        assert_eq!(g.reserve(t0), t0 + Duration::from_secs(4));
        assert!(!g.is_idle(t0), "slots reserved ahead");
        g.throttle(t0);
        let after = g.reserve(t0);
        assert_eq!(after, t0 + THROTTLE_PAUSE);
        assert_eq!(
            g.reserve(t0),
            after + Duration::from_secs(4),
            "interval doubled"
        );
        let later = t0 + RECOVERY + Duration::from_secs(1);
        g.reserve(later);
        assert_eq!(g.slowdown(), 1, "recovers after a quiet period");
    }

    #[test]
    fn unlimited_gate_never_waits_until_throttled() {
        let mut g = RateGate::new(0, THROTTLE_PAUSE);
        let t0 = Instant::now();
        assert!(g.is_idle(t0));
        for _ in 0..100 {
            assert_eq!(g.reserve(t0), t0);
        }
    }
}
