//! Timed holds (misdelivery prevention, FUTURERELEASE): a held message with a time
//! (`Envelope::hold_until`) leaves by itself then, or earlier when its sender (through a
//! capability link) or an administrator says "send now", or never when they say "cancel".
//! Each ends exactly once: the decision is taken under the queue's lock, and whoever comes
//! second is told the hold is over.

use super::{Follow, Queue, QueueError};
use crate::spool::Envelope;

/// How a timed hold ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldAction {
    /// Deliver now.
    Send,
    /// Do not deliver: the message (and its companions) leave the queue unsent, silently
    /// (its sender asked).
    Cancel,
    /// Do not deliver, and tell the sender why (a report, as for a refused message): an
    /// approver's refusal, or a decision that did not come in time.
    Reject,
}

/// What a timed hold waits for, and so who may end it and what happens at its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HoldKind {
    /// A pause to think again (or FUTURERELEASE): the sender may send now or cancel; it
    /// leaves at its time.
    Timed,
    /// A domain the office never sent to: the sender confirms (send) or cancels.
    NewDomain {
        /// At its time without a confirmation.
        on_timeout: crate::settings::TimeoutOutcome,
    },
    /// An approver approves (send) or rejects.
    Approval {
        /// At its time without a decision.
        on_timeout: crate::settings::TimeoutOutcome,
    },
}

impl HoldKind {
    /// What the hold's own time does.
    pub fn on_expiry(self) -> HoldAction {
        use crate::settings::TimeoutOutcome;
        match self {
            Self::Timed => HoldAction::Send,
            Self::NewDomain { on_timeout } | Self::Approval { on_timeout } => match on_timeout {
                TimeoutOutcome::Send => HoldAction::Send,
                TimeoutOutcome::Reject => HoldAction::Reject,
            },
        }
    }

    /// The action a link's button may take: an approver rejects (the sender is told), a
    /// sender cancels (silently).
    pub fn link_action(self, asked: HoldAction) -> HoldAction {
        match (self, asked) {
            (_, HoldAction::Send) => HoldAction::Send,
            (Self::Approval { .. }, _) => HoldAction::Reject,
            (_, _) => HoldAction::Cancel,
        }
    }

    /// The report's line when the hold ends in a refusal (`by_link`: someone decided;
    /// else its time ran out).
    fn refusal(self, by_link: bool) -> &'static str {
        match (self, by_link) {
            (Self::Approval { .. }, true) => {
                "550 5.7.1 not sent: the office's approver refused this message"
            }
            (Self::Approval { .. }, false) => {
                "550 5.7.1 not sent: no approver of the office decided on this message in time"
            }
            (Self::NewDomain { .. }, _) => {
                "550 5.7.1 not sent: the sender did not confirm a recipient domain the office never sent to before"
            }
            (Self::Timed, _) => "550 5.7.1 not sent: cancelled while it waited",
        }
    }
}

/// The SHA-256 (hex) of a capability token, as the envelope keeps it.
pub fn token_digest(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Does `token` open the hold of `env` (compared in constant time)? `None` (the queue's
/// own expiry, an administrator) always does.
fn token_opens(env: &Envelope, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let Some(stored) = env.hold_token.as_deref() else {
        return false;
    };
    let given = token_digest(token);
    given.len() == stored.len()
        && given
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl Queue {
    /// The envelope of a message on a timed hold, when `token` opens it (else `NotFound`,
    /// so that a guess learns nothing; `NotHeld` once the hold is over).
    pub fn timed_hold(&self, id: &str, token: Option<&str>) -> Result<Envelope, QueueError> {
        self.ensure_resident(id);
        let entries = self.entries();
        let e = entries
            .get(id)
            .filter(|e| !e.deleted && token_opens(&e.env, token))
            .ok_or_else(|| QueueError::NotFound(id.into()))?;
        if !e.env.on_timed_hold() {
            return Err(QueueError::NotHeld(id.into()));
        }
        Ok(e.env.clone())
    }

    /// Ends the timed hold of `id` now, once: `Send` delivers it (its companions follow,
    /// a delayed one keeping its delay), `Cancel` removes it and its companions unsent.
    /// `token` is the capability link's (checked); `None` for the queue's own expiry and
    /// for an administrator. Returns the envelope as it was.
    pub async fn end_timed_hold(
        &self,
        id: &str,
        token: Option<&str>,
        action: HoldAction,
    ) -> Result<Envelope, QueueError> {
        self.ensure_resident(id);
        if action == HoldAction::Reject {
            let env = self.timed_hold(id, token)?;
            let kind = env.hold_kind.unwrap_or(HoldKind::Timed);
            let before = self.reject_held(id, kind.refusal(token.is_some())).await?;
            tracing::info!(queue_id = %id, ?action, by_link = token.is_some(), "timed hold ended");
            return Ok(before);
        }
        let before = {
            let mut entries = self.entries();
            let e = entries
                .get_mut(id)
                .filter(|e| !e.deleted && token_opens(&e.env, token))
                .ok_or_else(|| QueueError::NotFound(id.into()))?;
            if !e.env.on_timed_hold() || e.in_flight > 0 {
                return Err(QueueError::NotHeld(id.into()));
            }
            let before = e.env.clone();
            match action {
                // The token's digest stays: a second click is told the hold is over.
                HoldAction::Send => {
                    e.env.held = None;
                    e.env.hold_until = None;
                    e.env.next_attempt = 0;
                }
                HoldAction::Cancel | HoldAction::Reject => {
                    entries.remove(id);
                }
            }
            before
        };
        let done = match action {
            HoldAction::Send => {
                let mut after = before.clone();
                after.held = None;
                after.hold_until = None;
                after.next_attempt = 0;
                self.persist(after).await
            }
            HoldAction::Cancel | HoldAction::Reject => self.remove_from_spool(id.to_string()).await,
        };
        if let Err(e) = done {
            // Still held on disk: put it back as it was, to be ended again.
            self.put_back(before);
            return Err(e);
        }
        let follow = match action {
            HoldAction::Send => Follow::Release,
            HoldAction::Cancel | HoldAction::Reject => Follow::Delete,
        };
        self.follow(id, &before.companions, follow).await;
        tracing::info!(queue_id = %id, ?action, by_link = token.is_some(), "timed hold ended");
        self.inner.wake.notify_one();
        Ok(before)
    }

    /// The messages whose timed hold is over at `now` with what their time does, and the
    /// earliest one still running.
    pub(super) fn expired_holds(&self, now: u64) -> (Vec<(String, HoldAction)>, Option<u64>) {
        let mut due = Vec::new();
        let mut next: Option<u64> = None;
        for e in self.entries().values().filter(|e| !e.deleted) {
            if let (Some(_), Some(until)) = (&e.env.held, e.env.hold_until) {
                if until <= now {
                    let kind = e.env.hold_kind.unwrap_or(HoldKind::Timed);
                    due.push((e.env.id.clone(), kind.on_expiry()));
                } else {
                    next = Some(next.map_or(until, |n| n.min(until)));
                }
            }
        }
        (due, next)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::spool::{Recipient, new_id};

    const CONTENT: &[u8] = b"Subject: x\r\n\r\nbody\r\n";

    fn queue(dir: &std::path::Path) -> Queue {
        crate::queue::test_queue(dir, 100)
    }

    async fn timed(q: &Queue, until: u64) -> String {
        let mut env = Envelope::generated(
            new_id(),
            "a@office.test".into(),
            vec![Recipient::new("b@client.test")],
            "mx.test",
            CONTENT,
        );
        env.internal = false;
        env.held = Some("timed hold".into());
        env.hold_until = Some(until);
        env.hold_token = Some(token_digest("secret-token"));
        let id = env.id.clone();
        q.accept(env, CONTENT.to_vec()).await.unwrap();
        id
    }

    #[tokio::test]
    async fn a_timed_hold_ends_once_and_only_with_the_right_token() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path());
        let now = crate::datetime::unix_now();
        let id = timed(&q, now + 3600).await;
        assert_eq!(q.take_due(now).0.len(), 0, "held: nothing due");
        assert!(matches!(
            q.end_timed_hold(&id, Some("wrong"), HoldAction::Send).await,
            Err(QueueError::NotFound(_))
        ));
        assert!(q.timed_hold(&id, Some("secret-token")).is_ok());
        q.end_timed_hold(&id, Some("secret-token"), HoldAction::Send)
            .await
            .unwrap();
        // The second word comes too late, whichever it is.
        assert!(matches!(
            q.end_timed_hold(&id, Some("secret-token"), HoldAction::Cancel)
                .await,
            Err(QueueError::NotHeld(_))
        ));
        assert_eq!(q.take_due(now).0.len(), 1, "due at once");
        // Cancelled: gone from memory and disk.
        let id = timed(&q, now + 3600).await;
        q.end_timed_hold(&id, Some("secret-token"), HoldAction::Cancel)
            .await
            .unwrap();
        assert!(q.show(&id).is_err());
        assert!(
            !q.spool().load_all().unwrap().iter().any(|e| e.id == id),
            "removed from the spool"
        );
    }

    #[tokio::test]
    async fn an_expired_hold_is_found_and_a_restart_keeps_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::datetime::unix_now();
        let (late, soon) = {
            let q = queue(dir.path());
            (timed(&q, now + 3600).await, timed(&q, now + 5).await)
        };
        // A new queue on the same spool: both still held, with their times.
        let q = queue(dir.path());
        q.load_due();
        assert!(q.show(&late).unwrap().on_timed_hold());
        let (due, next) = q.expired_holds(now);
        assert!(due.is_empty());
        assert_eq!(next, Some(now + 5));
        let (due, _) = q.expired_holds(now + 10);
        assert_eq!(due, [(soon.clone(), HoldAction::Send)]);
        q.end_timed_hold(&soon, None, HoldAction::Send)
            .await
            .unwrap();
        assert!(!q.show(&soon).unwrap().on_timed_hold());
    }

    #[tokio::test]
    async fn an_administrator_s_hold_ends_the_timer_and_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path());
        let now = crate::datetime::unix_now();
        let id = timed(&q, now + 5).await;
        q.hold(&id, "held by administrator").await.unwrap();
        let (due, _) = q.expired_holds(now + 10);
        assert!(due.is_empty(), "no timer left");
        assert!(
            q.end_timed_hold(&id, Some("secret-token"), HoldAction::Send)
                .await
                .is_err(),
            "the link no longer opens it"
        );
        assert!(q.show(&id).unwrap().held.is_some());
    }
}
