//! The A/B slots as the boot loader sees them: an order and a count of boot attempts left per
//! slot, in RAUC's variable names (`BOOT_ORDER="A B"`, `BOOT_A_LEFT=3`, `BOOT_B_LEFT=3`), so
//! that the same U-Boot script and GRUB configuration serve every board.
//!
//! The boot script's rule, which [`BootState::boot`] models exactly and the image's scripts
//! implement: take the first slot in `BOOT_ORDER` with attempts left, take one attempt away,
//! save, boot it. If no slot in the order has attempts left, give the LAST slot in the order
//! (the older, known-good one: a slot on trial is always put first) its attempts back and
//! boot it — so a box always boots something, and a slot on trial never twice after failing.

use crate::bootenv::Vars;

/// Boot attempts a good slot gets (a power cut during boot does not make it fall back).
pub const GOOD_TRIES: u32 = 3;
/// The variable holding the order.
pub const ORDER_VAR: &str = "BOOT_ORDER";

/// One of the two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl Slot {
    /// The slot's letter.
    pub fn name(self) -> &'static str {
        match self {
            Slot::A => "A",
            Slot::B => "B",
        }
    }

    /// The slot named `name` (`A`/`B`, either case).
    pub fn from_name(name: &str) -> Option<Slot> {
        match name {
            "A" | "a" => Some(Slot::A),
            "B" | "b" => Some(Slot::B),
            _ => None,
        }
    }

    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// The variable holding this slot's attempts left.
    pub fn left_var(self) -> &'static str {
        match self {
            Slot::A => "BOOT_A_LEFT",
            Slot::B => "BOOT_B_LEFT",
        }
    }

    fn index(self) -> usize {
        match self {
            Slot::A => 0,
            Slot::B => 1,
        }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the slot variables could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("boot environment: {0}")]
pub struct SlotError(pub String);

/// The order and attempts, read from and written back to an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootState {
    /// Slots to try, first first; each at most once.
    pub order: Vec<Slot>,
    /// Attempts left for A and B.
    pub left: [u32; 2],
}

impl Default for BootState {
    /// A freshly flashed box: A first, B as fallback (the image writes the same slot to both
    /// or marks B empty on first boot), both with full attempts.
    fn default() -> Self {
        BootState {
            order: vec![Slot::A, Slot::B],
            left: [GOOD_TRIES, GOOD_TRIES],
        }
    }
}

impl BootState {
    /// Reads the variables; missing ones take the defaults of a fresh box, malformed ones
    /// are an error (the updater does not guess what the boot loader will do).
    pub fn from_vars(vars: &Vars) -> Result<BootState, SlotError> {
        let mut state = BootState::default();
        if let Some(order) = vars.get(ORDER_VAR) {
            let mut slots = Vec::new();
            for word in order.split_whitespace() {
                let slot = Slot::from_name(word).ok_or_else(|| {
                    SlotError(format!("{ORDER_VAR}={order:?}: unknown slot {word:?}"))
                })?;
                if slots.contains(&slot) {
                    return Err(SlotError(format!(
                        "{ORDER_VAR}={order:?} names {slot} twice"
                    )));
                }
                slots.push(slot);
            }
            state.order = slots;
        }
        for slot in [Slot::A, Slot::B] {
            if let Some(v) = vars.get(slot.left_var()) {
                let n: u32 = v.trim().parse().ok().filter(|n| *n <= 99).ok_or_else(|| {
                    SlotError(format!("{}={v:?} is not a count", slot.left_var()))
                })?;
                state.left[slot.index()] = n;
            }
        }
        Ok(state)
    }

    /// Writes the state into `vars`, leaving every other variable as it was.
    pub fn apply(&self, vars: &mut Vars) {
        let order: Vec<&str> = self.order.iter().map(|s| s.name()).collect();
        vars.insert(ORDER_VAR.into(), order.join(" "));
        for slot in [Slot::A, Slot::B] {
            vars.insert(slot.left_var().into(), self.left[slot.index()].to_string());
        }
    }

    /// Attempts left for `slot`.
    pub fn left(&self, slot: Slot) -> u32 {
        self.left[slot.index()]
    }

    /// Whether the boot loader may still choose `slot`.
    pub fn bootable(&self, slot: Slot) -> bool {
        self.order.contains(&slot) && self.left(slot) > 0
    }

    /// Takes `slot` out of the order, before it is written: a cut while writing can then
    /// never boot a half-written slot.
    pub fn disable(&mut self, slot: Slot) {
        self.order.retain(|s| *s != slot);
        self.left[slot.index()] = 0;
    }

    /// Fails `slot` (its trial did not pass): out of the order, and the other slot in the
    /// order with at least one attempt, so that the next boot is the other's.
    pub fn fail(&mut self, slot: Slot) {
        self.disable(slot);
        let other = slot.other();
        if !self.order.contains(&other) {
            self.order.push(other);
        }
        self.left[other.index()] = self.left[other.index()].max(1);
    }

    /// Puts `slot` first with `tries` attempts (1 = boot it once), the other slot after it
    /// as the fallback.
    pub fn try_next(&mut self, slot: Slot, tries: u32) {
        self.order = vec![slot, slot.other()];
        self.left[slot.index()] = tries.max(1);
        let other = slot.other().index();
        self.left[other] = self.left[other].max(1);
    }

    /// Marks `slot` good: first in the order with full attempts; the other slot stays after
    /// it only if it was in the order (a slot that failed its trial stays out).
    pub fn mark_good(&mut self, slot: Slot) {
        let keep_other = self.order.contains(&slot.other()) && self.left(slot.other()) > 0;
        self.order = if keep_other {
            vec![slot, slot.other()]
        } else {
            vec![slot]
        };
        self.left[slot.index()] = GOOD_TRIES;
    }

    /// Gives the running good `slot` its attempts back, leaving the order alone (an update
    /// installed meanwhile keeps its place in front).
    pub fn rearm(&mut self, slot: Slot) {
        if !self.order.contains(&slot) {
            self.order.push(slot);
        }
        self.left[slot.index()] = GOOD_TRIES;
    }

    /// What the boot script does at power-on: the slot it boots, the state it saves.
    pub fn boot(&mut self) -> Option<Slot> {
        if let Some(slot) = self.order.iter().copied().find(|s| self.left(*s) > 0) {
            self.left[slot.index()] -= 1;
            return Some(slot);
        }
        let last = *self.order.last()?;
        self.left[last.index()] = GOOD_TRIES - 1;
        Some(last)
    }
}

/// The slot the running system booted from, as the boot loader tells the kernel
/// (`mamori.slot=B`, or RAUC's `rauc.slot=B`, on the kernel command line).
pub fn booted_slot(cmdline: &str) -> Option<Slot> {
    cmdline.split_whitespace().find_map(|w| {
        let v = w
            .strip_prefix("mamori.slot=")
            .or_else(|| w.strip_prefix("rauc.slot="))?;
        Slot::from_name(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_boots_once_then_falls_back_for_good() {
        let mut s = BootState::default();
        s.disable(Slot::B);
        assert_eq!(
            s.clone().boot(),
            Some(Slot::A),
            "a slot being written is never booted"
        );
        s.try_next(Slot::B, 1);
        assert_eq!(s.boot(), Some(Slot::B));
        // B hung without being marked good: the next boots are A's.
        assert_eq!(s.boot(), Some(Slot::A));
        assert_eq!(s.boot(), Some(Slot::A));
        assert_eq!(s.boot(), Some(Slot::A));
        // Even with A's attempts spent, the last in the order (A) boots, never B again.
        assert_eq!(s.boot(), Some(Slot::A));
        assert_eq!(s.left(Slot::B), 0);
    }

    #[test]
    fn marking_good_rearms_and_keeps_a_good_fallback() {
        let mut s = BootState::default();
        s.try_next(Slot::B, 1);
        assert_eq!(s.boot(), Some(Slot::B));
        s.mark_good(Slot::B);
        assert_eq!(s.order, vec![Slot::B, Slot::A]);
        assert_eq!(s.left(Slot::B), GOOD_TRIES);
        for _ in 0..10 {
            let slot = s.boot().unwrap();
            s.mark_good(slot);
            assert_eq!(slot, Slot::B);
        }
    }

    #[test]
    fn rearming_keeps_a_pending_update_in_front() {
        let mut s = BootState::default();
        assert_eq!(s.boot(), Some(Slot::A));
        s.try_next(Slot::B, 1);
        s.rearm(Slot::A);
        assert_eq!(s.order, vec![Slot::B, Slot::A]);
        assert_eq!(s.left(Slot::A), GOOD_TRIES);
        assert_eq!(s.boot(), Some(Slot::B));
    }

    #[test]
    fn variables_round_trip_and_bad_values_are_refused() {
        let mut vars = Vars::new();
        vars.insert("bootcmd".into(), "run mamori_boot".into());
        let mut s = BootState::from_vars(&vars).unwrap();
        s.try_next(Slot::B, 2);
        s.apply(&mut vars);
        assert_eq!(vars["BOOT_ORDER"], "B A");
        assert_eq!(vars["BOOT_B_LEFT"], "2");
        assert_eq!(vars["bootcmd"], "run mamori_boot");
        assert_eq!(BootState::from_vars(&vars).unwrap(), s);
        for (k, v) in [
            ("BOOT_ORDER", "A C"),
            ("BOOT_ORDER", "A A"),
            ("BOOT_A_LEFT", "x"),
            ("BOOT_B_LEFT", "-1"),
        ] {
            let mut bad = vars.clone();
            bad.insert(k.into(), v.into());
            assert!(BootState::from_vars(&bad).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn the_booted_slot_comes_from_the_command_line() {
        assert_eq!(
            booted_slot("console=ttyAMA0 mamori.slot=B root=/dev/vda3"),
            Some(Slot::B)
        );
        assert_eq!(booted_slot("rauc.slot=A"), Some(Slot::A));
        assert_eq!(booted_slot("root=/dev/vda2"), None);
    }
}
