//! Who may take a session: connection slots kept for the office, limits per client
//! address, and the pressure that shortens strangers' timeouts.
//!
//! A stranger holding connections open must not stop the office's mail. So the sessions
//! are split: a shared pool anyone may use, a reserve that only hosts of the trusted
//! networks may take, and one for the submission listeners (staff sending from outside
//! with AUTH). Clients outside the trusted networks are also limited in connections held
//! and opened per minute, as Postfix's anvil does; and when the shared pool is three
//! quarters taken, their sessions wait less for a command (Postfix's stress-adaptive
//! behaviour).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Who a connection is from, as far as slots go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A host of the trusted networks (the office's LAN).
    Office,
    /// Anyone else on a submission listener (AUTH will be required).
    Submission,
    /// Anyone else on the relay listener (mail from the Internet).
    Stranger,
}

/// Why a connection is turned away; the text of the 421 says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot this class may take is in use.
    Busy,
    /// This address holds as many connections as it may.
    ClientConnections,
    /// This address opened too many connections in the last minute.
    ClientRate,
}

impl Refusal {
    /// The reply line, CRLF included.
    pub fn wire(self) -> &'static [u8] {
        match self {
            Self::Busy => b"421 4.7.0 Too many connections, try again later\r\n",
            Self::ClientConnections => {
                b"421 4.7.0 Too many connections from your address, try again later\r\n"
            }
            Self::ClientRate => {
                b"421 4.7.0 Too many connections from your address in a short time, slow down\r\n"
            }
        }
    }
}

/// The limits the gate enforces.
#[derive(Debug, Clone, Copy)]
pub struct GateLimits {
    /// Sessions in all.
    pub max_sessions: usize,
    /// Of those, only for [`Class::Office`].
    pub reserved_office: usize,
    /// Of those, only for [`Class::Submission`] (and the office).
    pub reserved_submission: usize,
    /// Connections one address outside the office may hold.
    pub per_client: usize,
    /// Connections one address outside the office may open per minute.
    pub rate_per_minute: u32,
}

/// What the gate remembers of one client address.
#[derive(Debug)]
struct Client {
    open: usize,
    window_start: Instant,
    opened: u32,
}

/// How many client addresses are remembered before the idle ones are forgotten.
const CLIENTS_REMEMBERED: usize = 10_000;

/// The gate of one daemon: the pools and the clients.
#[derive(Debug)]
pub struct Gate {
    limits: GateLimits,
    shared: Arc<Semaphore>,
    shared_size: usize,
    office: Arc<Semaphore>,
    submission: Arc<Semaphore>,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

/// A session's slot; given back (and the client's count lowered) when dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    gate: Arc<Gate>,
    counted: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(ip) = self.counted
            && let Some(client) = self.gate.clients().get_mut(&ip)
        {
            client.open = client.open.saturating_sub(1);
        }
    }
}

impl Gate {
    /// A gate with these limits (the reserves must leave room in `max_sessions`, which
    /// configuration validation checks).
    pub fn new(limits: GateLimits) -> Arc<Self> {
        let shared_size = limits
            .max_sessions
            .saturating_sub(limits.reserved_office + limits.reserved_submission)
            .max(1);
        Arc::new(Self {
            limits,
            shared: Arc::new(Semaphore::new(shared_size)),
            shared_size,
            office: Arc::new(Semaphore::new(limits.reserved_office)),
            submission: Arc::new(Semaphore::new(limits.reserved_submission)),
            clients: Mutex::new(HashMap::new()),
        })
    }

    fn clients(&self) -> MutexGuard<'_, HashMap<IpAddr, Client>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Is the shared pool three quarters taken?
    pub fn under_stress(&self) -> bool {
        self.shared.available_permits() * 4 < self.shared_size
    }

    /// Takes a slot for a connection of `class` from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, class: Class) -> Result<Slot, Refusal> {
        let counted = if class == Class::Office {
            None
        } else {
            self.count_client(ip)?;
            Some(ip)
        };
        let reserve = match class {
            Class::Office => Some(&self.office),
            Class::Submission => Some(&self.submission),
            Class::Stranger => None,
        };
        let permit = self
            .shared
            .clone()
            .try_acquire_owned()
            .ok()
            .or_else(|| reserve.and_then(|r| r.clone().try_acquire_owned().ok()));
        let Some(permit) = permit else {
            if let Some(ip) = counted
                && let Some(client) = self.clients().get_mut(&ip)
            {
                client.open = client.open.saturating_sub(1);
            }
            return Err(Refusal::Busy);
        };
        Ok(Slot {
            _permit: permit,
            gate: self.clone(),
            counted,
        })
    }

    /// Counts one more connection of `ip` against its limits.
    fn count_client(&self, ip: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut clients = self.clients();
        if clients.len() >= CLIENTS_REMEMBERED {
            clients.retain(|_, c| c.open > 0 || now - c.window_start < Duration::from_secs(60));
        }
        let client = clients.entry(ip).or_insert(Client {
            open: 0,
            window_start: now,
            opened: 0,
        });
        if now - client.window_start >= Duration::from_secs(60) {
            client.window_start = now;
            client.opened = 0;
        }
        if client.open >= self.limits.per_client {
            return Err(Refusal::ClientConnections);
        }
        if client.opened >= self.limits.rate_per_minute {
            return Err(Refusal::ClientRate);
        }
        client.open += 1;
        client.opened += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> Arc<Gate> {
        Gate::new(GateLimits {
            max_sessions: 10,
            reserved_office: 3,
            reserved_submission: 2,
            per_client: 2,
            rate_per_minute: 100,
        })
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, n])
    }

    #[tokio::test]
    async fn strangers_cannot_take_the_office_reserve() {
        let g = gate();
        let mut held = Vec::new();
        for n in 0..5 {
            held.push(g.admit(ip(n), Class::Stranger).unwrap());
        }
        assert!(g.under_stress());
        assert_eq!(g.admit(ip(99), Class::Stranger).unwrap_err(), Refusal::Busy);
        // The office still gets its three, submission its two.
        let office: Vec<Slot> = (0..3)
            .map(|n| {
                g.admit(IpAddr::from([192, 168, 1, n]), Class::Office)
                    .unwrap()
            })
            .collect();
        assert!(
            g.admit(IpAddr::from([192, 168, 1, 9]), Class::Office)
                .is_err()
        );
        let sub: Vec<Slot> = (0..2)
            .map(|n| g.admit(ip(50 + n), Class::Submission).unwrap())
            .collect();
        assert!(g.admit(ip(60), Class::Submission).is_err());
        drop(held);
        assert!(!g.under_stress());
        assert!(g.admit(ip(99), Class::Stranger).is_ok());
        drop((office, sub));
    }

    #[tokio::test]
    async fn one_address_is_limited_in_connections_and_rate() {
        let g = gate();
        let a = g.admit(ip(1), Class::Stranger).unwrap();
        let _b = g.admit(ip(1), Class::Stranger).unwrap();
        assert_eq!(
            g.admit(ip(1), Class::Stranger).unwrap_err(),
            Refusal::ClientConnections
        );
        drop(a);
        assert!(g.admit(ip(1), Class::Stranger).is_ok());
        // The office is not counted.
        let office = IpAddr::from([192, 168, 1, 1]);
        let _o: Vec<Slot> = (0..3)
            .map(|_| g.admit(office, Class::Office).unwrap())
            .collect();
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_is_per_minute() {
        let g = Gate::new(GateLimits {
            rate_per_minute: 3,
            ..gate().limits
        });
        for _ in 0..3 {
            drop(g.admit(ip(7), Class::Stranger).unwrap());
        }
        assert_eq!(
            g.admit(ip(7), Class::Stranger).unwrap_err(),
            Refusal::ClientRate
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(g.admit(ip(7), Class::Stranger).is_ok());
    }
}
