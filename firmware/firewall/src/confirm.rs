//! Confirm-or-revert, after OPNsense and LuCI: a new model is applied on probation; unless
//! the administrator confirms it within the deadline (default 60 s), the previous model is
//! put back. A change that cuts the administrator off therefore undoes itself.
//!
//! This is the pure state machine; the daemon applies the models it hands out, keeps the
//! state on disk (so a restart during probation boots the confirmed model) and runs the
//! timer. One probation at a time.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::model::{FirewallConfig, SetElement};

/// The format of the saved models this firmware writes.
pub const FORMAT: u32 = 1;

fn first_format() -> u32 {
    1
}

/// The default probation.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// The longest probation allowed (an hour).
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// A model on probation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probation {
    /// Increases with every apply, so a confirm cannot confirm a later apply by mistake.
    pub serial: u64,
    /// The model being tried.
    pub candidate: FirewallConfig,
    /// Unix seconds after which it is reverted.
    pub deadline: u64,
    /// The settings version this model comes from, when the firewall is part of the
    /// settings service (a revert is then recorded as a new version).
    #[serde(default)]
    pub settings_version: Option<u64>,
}

/// The firewall's models: the confirmed one, and possibly one on probation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Models {
    /// The format of the state file ([`FORMAT`]); a newer one is refused, never misread.
    #[serde(default = "first_format")]
    pub format: u32,
    /// The last confirmed model (what boot applies); `None` before the first confirm, when
    /// the configuration's `[firewall]` section is used.
    pub confirmed: Option<FirewallConfig>,
    /// The model on probation, if any.
    pub probation: Option<Probation>,
    /// The serial of the last apply.
    pub last_serial: u64,
    /// Run-time changes to named sets (`mamori fw set`), by set: kept across restarts and
    /// laid over every model put in force, but never part of the settings.
    #[serde(default)]
    pub run_time: BTreeMap<String, SetEdits>,
    /// The firewall section of the settings version confirmed in force, without the
    /// run-time changes (what a revert records when the firewall is on the settings).
    #[serde(default)]
    pub settings_confirmed: Option<FirewallConfig>,
}

/// Elements added to and removed from one set at run time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetEdits {
    /// Added.
    #[serde(default)]
    pub added: Vec<SetElement>,
    /// Removed.
    #[serde(default)]
    pub removed: Vec<SetElement>,
}

/// Adds and removes elements of set `set` of `model` (nothing when it has no such set).
pub fn edit_set(model: &mut FirewallConfig, set: &str, add: &[SetElement], remove: &[SetElement]) {
    if let Some(s) = model.sets.iter_mut().find(|s| s.name.as_str() == set) {
        s.elements
            .retain(|e| !remove.iter().any(|r| r.address == e.address));
        for a in add {
            if !s.elements.iter().any(|e| e.address == a.address) {
                s.elements.push(*a);
            }
        }
    }
}

/// Why a step of confirm-or-revert was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    /// Another model is already on probation.
    #[error(
        "another change (apply #{serial}) is waiting for confirmation; confirm or roll it back first"
    )]
    Busy {
        /// Its serial.
        serial: u64,
    },
    /// Nothing is on probation.
    #[error("no change is waiting for confirmation")]
    NothingPending,
    /// The confirm names another apply than the one on probation.
    #[error("apply #{asked} is not the one waiting for confirmation (#{pending})")]
    WrongSerial {
        /// What the caller confirmed.
        asked: u64,
        /// What is on probation.
        pending: u64,
    },
    /// The deadline has passed: the change is being reverted.
    #[error("apply #{serial} was not confirmed in time and is reverted")]
    Expired {
        /// Its serial.
        serial: u64,
    },
    /// A probation of 0 s or longer than the maximum.
    #[error("the confirmation timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds, not {0}")]
    BadTimeout(u64),
}

impl Default for Models {
    fn default() -> Self {
        Self {
            format: FORMAT,
            confirmed: None,
            probation: None,
            last_serial: 0,
            run_time: BTreeMap::new(),
            settings_confirmed: None,
        }
    }
}

impl Models {
    /// Remembers a run-time change of set `set` (the latest word on an element wins).
    pub fn record_set_edit(&mut self, set: &str, add: &[SetElement], remove: &[SetElement]) {
        let edits = self.run_time.entry(set.to_string()).or_default();
        let named =
            |list: &[SetElement], e: &SetElement| list.iter().any(|x| x.address == e.address);
        edits.added.retain(|e| !named(remove, e) && !named(add, e));
        edits
            .removed
            .retain(|e| !named(add, e) && !named(remove, e));
        edits.added.extend_from_slice(add);
        edits.removed.extend_from_slice(remove);
    }

    /// `model` with the run-time set changes laid over it.
    pub fn with_run_time(&self, model: &FirewallConfig) -> FirewallConfig {
        let mut model = model.clone();
        for (set, edits) in &self.run_time {
            edit_set(&mut model, set, &edits.added, &edits.removed);
        }
        model
    }

    /// The model in force now: the one on probation, else the confirmed one.
    pub fn current(&self) -> Option<&FirewallConfig> {
        self.probation
            .as_ref()
            .map(|p| &p.candidate)
            .or(self.confirmed.as_ref())
    }

    /// Puts `candidate` on probation until `now + timeout`. The caller applies it next
    /// (and calls [`Self::rollback`] if that fails). Returns its serial.
    pub fn begin(
        &mut self,
        candidate: FirewallConfig,
        now: u64,
        timeout: u64,
    ) -> Result<u64, ConfirmError> {
        if let Some(p) = &self.probation {
            return Err(ConfirmError::Busy { serial: p.serial });
        }
        if timeout == 0 || timeout > MAX_TIMEOUT_SECS {
            return Err(ConfirmError::BadTimeout(timeout));
        }
        self.last_serial += 1;
        self.probation = Some(Probation {
            serial: self.last_serial,
            candidate,
            deadline: now.saturating_add(timeout),
            settings_version: None,
        });
        Ok(self.last_serial)
    }

    /// Keeps the model on probation: it becomes the confirmed one. `serial`, when given,
    /// must be the one on probation.
    pub fn confirm(&mut self, serial: Option<u64>, now: u64) -> Result<u64, ConfirmError> {
        let p = self
            .probation
            .as_ref()
            .ok_or(ConfirmError::NothingPending)?;
        if let Some(asked) = serial
            && asked != p.serial
        {
            return Err(ConfirmError::WrongSerial {
                asked,
                pending: p.serial,
            });
        }
        if now >= p.deadline {
            return Err(ConfirmError::Expired { serial: p.serial });
        }
        let p = self.probation.take().ok_or(ConfirmError::NothingPending)?;
        self.confirmed = Some(p.candidate);
        Ok(p.serial)
    }

    /// Ends the probation without keeping it (a failed apply, an explicit rollback, or the
    /// deadline). Returns the model to put back (`None`: the configuration's own).
    pub fn rollback(&mut self) -> Result<Option<FirewallConfig>, ConfirmError> {
        self.probation.take().ok_or(ConfirmError::NothingPending)?;
        Ok(self.confirmed.clone())
    }

    /// The seconds left before the probation's deadline, or `None` when nothing is pending.
    pub fn remaining(&self, now: u64) -> Option<u64> {
        self.probation
            .as_ref()
            .map(|p| p.deadline.saturating_sub(now))
    }

    /// Is a probation past its deadline at `now` (the timer must revert it)?
    pub fn expired(&self, now: u64) -> bool {
        self.probation.as_ref().is_some_and(|p| now >= p.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> FirewallConfig {
        let text = format!("[[rules]]\nname = \"{name}\"\naction = \"accept\"\n");
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn confirmed_in_time_is_kept() {
        let mut m = Models::default();
        let serial = m.begin(model("a"), 100, 60).unwrap();
        assert_eq!(m.current(), Some(&model("a")));
        assert_eq!(m.remaining(130), Some(30));
        assert_eq!(m.confirm(Some(serial), 159), Ok(serial));
        assert_eq!(m.confirmed, Some(model("a")));
        assert!(m.probation.is_none());
    }

    #[test]
    fn not_confirmed_in_time_goes_back_to_the_confirmed_model() {
        let mut m = Models::default();
        let s1 = m.begin(model("a"), 0, 60).unwrap();
        m.confirm(Some(s1), 1).unwrap();
        let s2 = m.begin(model("b"), 10, 60).unwrap();
        assert!(!m.expired(69));
        assert!(m.expired(70));
        assert_eq!(
            m.confirm(Some(s2), 70),
            Err(ConfirmError::Expired { serial: s2 })
        );
        assert_eq!(m.rollback(), Ok(Some(model("a"))));
        assert_eq!(m.current(), Some(&model("a")));
    }

    #[test]
    fn one_probation_at_a_time_and_confirms_name_the_right_one() {
        let mut m = Models::default();
        let s1 = m.begin(model("a"), 0, 60).unwrap();
        assert_eq!(
            m.begin(model("b"), 1, 60),
            Err(ConfirmError::Busy { serial: s1 })
        );
        assert_eq!(
            m.confirm(Some(s1 + 1), 2),
            Err(ConfirmError::WrongSerial {
                asked: s1 + 1,
                pending: s1
            })
        );
        assert_eq!(
            m.rollback(),
            Ok(None),
            "no confirmed model yet: the configuration's"
        );
        assert_eq!(m.confirm(None, 3), Err(ConfirmError::NothingPending));
        assert_eq!(m.rollback(), Err(ConfirmError::NothingPending));
        assert_eq!(m.begin(model("b"), 0, 0), Err(ConfirmError::BadTimeout(0)));
        assert_eq!(
            m.begin(model("b"), 0, MAX_TIMEOUT_SECS + 1),
            Err(ConfirmError::BadTimeout(MAX_TIMEOUT_SECS + 1))
        );
    }

    #[test]
    fn the_state_survives_a_round_trip_to_disk() {
        let mut m = Models::default();
        m.begin(model("a"), 5, 60).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Models>(&json).unwrap(), m);
    }

    #[test]
    fn run_time_set_edits_keep_the_latest_word_on_each_element() {
        let model: FirewallConfig = toml::from_str(
            "[[sets]]\nname = \"b\"\nfamily = \"ipv4\"\nelements = [\"192.0.2.1\"]\n",
        )
        .unwrap();
        let e = |a: &str| serde_json::from_str::<SetElement>(&format!("\"{a}\"")).unwrap();
        let mut m = Models::default();
        m.record_set_edit("b", &[e("198.51.100.7")], &[]);
        m.record_set_edit("b", &[], &[e("192.0.2.1")]);
        m.record_set_edit("b", &[], &[e("198.51.100.7")]);
        m.record_set_edit("b", &[e("203.0.113.0/24")], &[]);
        m.record_set_edit("nosuch", &[e("203.0.113.9")], &[]);
        let laid = m.with_run_time(&model);
        let elements: Vec<String> = laid.sets[0]
            .elements
            .iter()
            .map(|x| x.address.to_string())
            .collect();
        assert_eq!(elements, ["203.0.113.0/24"]);
        let again: Models = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(again, m);
    }
}
