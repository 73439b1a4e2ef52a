//! What the updater remembers across reboots, on the data partition: each slot's firmware
//! and status, the install waiting for its reboot, a bounded history, and the latest time the
//! box has known to be true (for boards without a real-time clock). Versioned, because after
//! a rollback the older firmware reads the same file.
//!
//! [`reconcile`] is the pure decision made at each start of `mamori updated`: whether the
//! running slot is on trial (run the health gate), whether a trial failed and the old slot
//! came back (a rollback to report), or whether an install was cut off (clean up).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::slots::{BootState, Slot};

/// The state file's format.
pub const FORMAT: u32 = 1;
/// History entries kept.
pub const HISTORY: usize = 100;

/// A slot's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    /// Nothing known (a factory slot not booted yet, or erased).
    Empty,
    /// Being written; never bootable.
    Writing,
    /// Written and verified, set to boot once at the next reboot.
    Installed,
    /// Booted once, waiting for the health gate.
    Trying,
    /// Passed the health gate.
    Good,
    /// Failed: its trial did not pass, or its install was cut off.
    Bad,
}

/// What is known of one slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRecord {
    /// Its status.
    pub status: SlotStatus,
    /// The firmware version in it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Since when (Unix seconds).
    pub since: u64,
    /// The boot during which it was installed (`/proc/sys/kernel/random/boot_id`): a slot
    /// `installed` in this same boot is waiting for the reboot, not failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
}

/// One line of the update history shown in the panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When (Unix seconds).
    pub time: u64,
    /// What happened: `installed`, `good`, `rolled_back`, `failed`, `interrupted`, `refused`.
    pub event: String,
    /// The slot concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The version concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why, in a sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    /// [`FORMAT`].
    pub format: u32,
    /// Slot records by letter.
    pub slots: BTreeMap<String, SlotRecord>,
    /// Newest last.
    pub history: VecDeque<HistoryEntry>,
    /// The latest Unix time known to be true (a synchronised clock reading), never lowered.
    pub last_known_time: u64,
    /// The slot the box ran at the last start (to notice the boot loader falling back from
    /// a good slot that no longer starts). Added within format 1: older releases ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_booted: Option<String>,
}

/// Why a state file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Written by a newer release this one cannot read (after a rollback past a format
    /// change): the updater says so and does not overwrite it.
    #[error("the update state was written in format {0}; this firmware reads format {FORMAT}")]
    Newer(u32),
    /// Not a state file.
    #[error("the update state is unreadable: {0}")]
    Malformed(String),
}

impl Default for UpdateState {
    fn default() -> Self {
        UpdateState {
            format: FORMAT,
            slots: BTreeMap::new(),
            history: VecDeque::new(),
            last_known_time: 0,
            last_booted: None,
        }
    }
}

impl UpdateState {
    /// Parses a state file, refusing one of a newer format.
    pub fn parse(bytes: &[u8]) -> Result<UpdateState, StateError> {
        #[derive(Deserialize)]
        struct Peek {
            format: u32,
        }
        let peek: Peek =
            serde_json::from_slice(bytes).map_err(|e| StateError::Malformed(e.to_string()))?;
        if peek.format > FORMAT {
            return Err(StateError::Newer(peek.format));
        }
        serde_json::from_slice(bytes).map_err(|e| StateError::Malformed(e.to_string()))
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// The record of `slot` (an empty one when unknown).
    pub fn slot(&self, slot: Slot) -> SlotRecord {
        self.slots.get(slot.name()).cloned().unwrap_or(SlotRecord {
            status: SlotStatus::Empty,
            version: None,
            since: 0,
            boot_id: None,
        })
    }

    /// Sets `slot`'s status (and version, when given).
    pub fn set(&mut self, slot: Slot, status: SlotStatus, version: Option<&str>, now: u64) {
        let mut rec = self.slot(slot);
        rec.status = status;
        if let Some(v) = version {
            rec.version = Some(v.to_string());
        }
        rec.since = now;
        if status != SlotStatus::Installed {
            rec.boot_id = None;
        }
        self.slots.insert(slot.name().into(), rec);
    }

    /// Appends to the history, dropping the oldest beyond [`HISTORY`].
    pub fn record(&mut self, entry: HistoryEntry) {
        self.history.push_back(entry);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// Raises the last known time (never lowers it).
    pub fn saw_time(&mut self, t: u64) {
        self.last_known_time = self.last_known_time.max(t);
    }
}

/// What `mamori updated` must do after it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// The running slot is on trial: run the health gate, then mark it good or fail it.
    Trial(Slot),
    /// The running slot was good before: run the health gate and re-arm its attempts.
    Rearm(Slot),
}

/// What [`reconcile`] found and changed, for the audit log and the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// What to do next.
    pub startup: Startup,
    /// History entries added (also to be audited).
    pub events: Vec<HistoryEntry>,
    /// Whether the boot environment changed and must be written.
    pub env_changed: bool,
}

/// Looks at the state, the boot environment and the slot that booted, right after start:
/// an install cut off is marked bad; a trial slot that is not the one running failed (the
/// boot count ran out) and is taken out of the boot order; the running slot is on trial or
/// was good.
pub fn reconcile(
    state: &mut UpdateState,
    env: &mut BootState,
    booted: Slot,
    boot_id: &str,
    now: u64,
) -> Reconciled {
    let mut events = Vec::new();
    let mut env_changed = false;
    let other = booted.other();
    let rec = state.slot(other);
    // The running slot is new: installed and booting for its trial (a slot can only boot
    // once step 5 of the install marked it, so one still recorded as being written was cut
    // off between the boot environment and the state file: on trial like any new slot).
    let booted_is_new = matches!(
        state.slot(booted).status,
        SlotStatus::Writing | SlotStatus::Installed | SlotStatus::Trying
    );
    let mut event =
        |state: &mut UpdateState, name: &str, slot: Slot, version: Option<String>, detail: &str| {
            let e = HistoryEntry {
                time: now,
                event: name.into(),
                slot: Some(slot.name().into()),
                version,
                detail: detail.into(),
            };
            state.record(e.clone());
            events.push(e);
        };
    match rec.status {
        SlotStatus::Writing => {
            state.set(other, SlotStatus::Bad, None, now);
            event(
                state,
                "interrupted",
                other,
                rec.version.clone(),
                "the install was cut off; the slot was never bootable",
            );
            if env.bootable(other) {
                env.disable(other);
                env_changed = true;
            }
        }
        SlotStatus::Installed if rec.boot_id.as_deref() == Some(boot_id) => {
            // Installed during this very boot, waiting for the reboot: nothing to do.
        }
        SlotStatus::Installed | SlotStatus::Trying => {
            state.set(other, SlotStatus::Bad, None, now);
            event(
                state,
                "rolled_back",
                other,
                rec.version.clone(),
                "the new firmware did not prove itself healthy; the previous firmware booted again",
            );
            env.disable(other);
            env_changed = true;
        }
        // A good slot ran at the last start, and now the other one runs with no update in
        // between (the running slot is not one just installed): the good slot no longer
        // starts (its attempts ran out) and the boot loader fell back. Said, never silent.
        SlotStatus::Good
            if state.last_booted.as_deref() == Some(other.name()) && !booted_is_new =>
        {
            event(
                state,
                "fell_back",
                other,
                rec.version.clone(),
                &format!(
                    "slot {other} stopped starting (its boot attempts ran out); the boot loader started slot {booted}"
                ),
            );
        }
        _ => {}
    }
    state.last_booted = Some(booted.name().to_string());
    let startup = if booted_is_new {
        state.set(booted, SlotStatus::Trying, None, now);
        Startup::Trial(booted)
    } else {
        Startup::Rearm(booted)
    };
    Reconciled {
        startup,
        events,
        env_changed,
    }
}

/// The health gate: the running slot is marked good once everything has been healthy for
/// `window` seconds without a break, and fails if that has not happened `deadline` seconds
/// after the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthGate {
    window: u64,
    deadline: u64,
    started: u64,
    healthy_since: Option<u64>,
}

/// The gate's verdict after an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep watching.
    Wait,
    /// Healthy for the whole window: mark good.
    Good,
    /// Not healthy in time: fail the slot.
    Failed,
}

impl HealthGate {
    /// A gate started at `now`.
    pub fn new(window: u64, deadline: u64, now: u64) -> HealthGate {
        HealthGate {
            window,
            deadline: deadline.max(window),
            started: now,
            healthy_since: None,
        }
    }

    /// Takes one observation: whether every unit and daemon was healthy at `now`.
    pub fn observe(&mut self, now: u64, all_healthy: bool) -> Verdict {
        if all_healthy {
            let since = *self.healthy_since.get_or_insert(now);
            if now.saturating_sub(since) >= self.window {
                return Verdict::Good;
            }
        } else {
            self.healthy_since = None;
        }
        if now.saturating_sub(self.started) >= self.deadline {
            Verdict::Failed
        } else {
            Verdict::Wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_needs_an_unbroken_window_before_the_deadline() {
        let mut g = HealthGate::new(60, 300, 0);
        assert_eq!(g.observe(0, true), Verdict::Wait);
        assert_eq!(g.observe(50, false), Verdict::Wait);
        assert_eq!(g.observe(60, true), Verdict::Wait);
        assert_eq!(g.observe(120, true), Verdict::Good);
        let mut g = HealthGate::new(60, 300, 0);
        for t in (0..300).step_by(30) {
            assert_eq!(g.observe(t, t % 60 == 0), Verdict::Wait);
        }
        assert_eq!(g.observe(300, true), Verdict::Failed);
    }

    #[test]
    fn a_trial_that_did_not_come_back_is_a_rollback() {
        let mut st = UpdateState::default();
        st.set(Slot::A, SlotStatus::Good, Some("1.0"), 1);
        st.set(Slot::B, SlotStatus::Installed, Some("1.1"), 2);
        if let Some(r) = st.slots.get_mut("B") {
            r.boot_id = Some("boot-1".into());
        }
        let mut env = BootState::default();
        env.try_next(Slot::B, 1);
        // Same boot (the daemon restarted before the reboot): still waiting.
        let r = reconcile(&mut st, &mut env, Slot::A, "boot-1", 3);
        assert!(r.events.is_empty());
        assert_eq!(st.slot(Slot::B).status, SlotStatus::Installed);
        // Rebooted, B was tried and A came back: a rollback.
        env.boot();
        env.boot();
        let r = reconcile(&mut st, &mut env, Slot::A, "boot-3", 4);
        assert_eq!(r.events[0].event, "rolled_back");
        assert_eq!(st.slot(Slot::B).status, SlotStatus::Bad);
        assert!(!env.bootable(Slot::B));
        assert_eq!(r.startup, Startup::Rearm(Slot::A));
    }

    #[test]
    fn the_new_slot_booting_is_on_trial_and_a_cut_install_is_bad() {
        let mut st = UpdateState::default();
        st.set(Slot::A, SlotStatus::Good, Some("1.0"), 1);
        let mut env = BootState::default();
        // A ran (and was good) when B was installed: B's first start is the update, not
        // the boot loader falling back from A.
        assert!(
            reconcile(&mut st, &mut env, Slot::A, "boot-1", 2)
                .events
                .is_empty()
        );
        st.set(Slot::B, SlotStatus::Installed, Some("1.1"), 2);
        let r = reconcile(&mut st, &mut env, Slot::B, "boot-2", 3);
        assert!(r.events.is_empty(), "{:?}", r.events);
        assert_eq!(r.startup, Startup::Trial(Slot::B));
        assert_eq!(st.slot(Slot::B).status, SlotStatus::Trying);
        // Restarted during the trial: still no fall-back.
        let r = reconcile(&mut st, &mut env, Slot::B, "boot-3", 4);
        assert!(r.events.is_empty(), "{:?}", r.events);

        let mut st = UpdateState::default();
        st.set(Slot::B, SlotStatus::Writing, Some("1.1"), 2);
        let mut env = BootState::default();
        let r = reconcile(&mut st, &mut env, Slot::A, "boot-2", 3);
        assert_eq!(r.events[0].event, "interrupted");
        assert!(r.env_changed && !env.bootable(Slot::B));
    }

    #[test]
    fn falling_back_from_a_good_slot_is_reported_once() {
        let mut st = UpdateState::default();
        st.set(Slot::A, SlotStatus::Good, Some("1.0"), 1);
        st.set(Slot::B, SlotStatus::Good, Some("1.1"), 1);
        let mut env = BootState::default();
        assert!(
            reconcile(&mut st, &mut env, Slot::B, "b1", 2)
                .events
                .is_empty()
        );
        assert!(
            reconcile(&mut st, &mut env, Slot::B, "b2", 3)
                .events
                .is_empty()
        );
        let r = reconcile(&mut st, &mut env, Slot::A, "b3", 4);
        assert_eq!(r.events.len(), 1, "{:?}", r.events);
        assert_eq!(r.events[0].event, "fell_back");
        assert_eq!(r.events[0].slot.as_deref(), Some("B"));
        assert!(
            reconcile(&mut st, &mut env, Slot::A, "b4", 5)
                .events
                .is_empty()
        );
    }

    #[test]
    fn a_cut_between_the_environment_and_the_state_is_still_a_trial() {
        let mut st = UpdateState::default();
        st.set(Slot::A, SlotStatus::Good, Some("1.0"), 1);
        st.set(Slot::B, SlotStatus::Writing, Some("1.1"), 2);
        let mut env = BootState::default();
        env.try_next(Slot::B, 1);
        assert_eq!(env.boot(), Some(Slot::B));
        let r = reconcile(&mut st, &mut env, Slot::B, "boot-2", 3);
        assert_eq!(r.startup, Startup::Trial(Slot::B));
        assert_eq!(st.slot(Slot::B).status, SlotStatus::Trying);
    }

    #[test]
    fn a_newer_format_is_refused_not_overwritten() {
        let st = UpdateState {
            format: FORMAT + 1,
            ..UpdateState::default()
        };
        assert_eq!(
            UpdateState::parse(&st.to_bytes()),
            Err(StateError::Newer(FORMAT + 1))
        );
        let st = UpdateState::default();
        assert_eq!(UpdateState::parse(&st.to_bytes()).unwrap(), st);
    }
}
