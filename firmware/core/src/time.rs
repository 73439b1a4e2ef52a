//! The box's clock: the `[time]` section (NTP on or off, the servers), the
//! `systemd-timesyncd` drop-in it becomes, and a request to set the clock by hand (for a
//! box with no NTP server in reach). No daemon may set the clock or write `/etc`: the
//! settings service writes the settings and a request file, and the small root-owned
//! `mamori time-apply` (started by a systemd path unit when they change) reads them back,
//! checks them again here, and applies them.

use serde::{Deserialize, Serialize};

use crate::report::Report;

/// The most NTP servers.
pub const MAX_SERVERS: usize = 8;
/// The earliest time the clock may be set to by hand (2024-01-01T00:00:00Z): older is a
/// mistake (certificates would all look not yet valid).
pub const EARLIEST: u64 = 1_704_067_200;
/// The latest (2100-01-01T00:00:00Z).
pub const LATEST: u64 = 4_102_444_800;
/// How long a request to set the clock stays good: an old one is not applied later.
pub const REQUEST_TTL_SECS: u64 = 120;

/// The `[time]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeSettings {
    /// Keep the clock by NTP (`systemd-timesyncd`).
    pub ntp: bool,
    /// The NTP servers, host names or addresses; by default Japan's public ones (NICT, and
    /// MFEED's for a second source).
    pub ntp_servers: Vec<String>,
}

impl Default for TimeSettings {
    fn default() -> Self {
        Self {
            ntp: true,
            ntp_servers: vec!["ntp.nict.jp".into(), "ntp.jst.mfeed.ad.jp".into()],
        }
    }
}

/// Whether `server` is a host name or an IP address that may go into the drop-in.
pub fn valid_server(server: &str) -> bool {
    if server.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    (1..=253).contains(&server.len())
        && server.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Checks `[time]` into `r`.
pub fn check(t: &TimeSettings, r: &mut Report) {
    if t.ntp_servers.len() > MAX_SERVERS {
        r.error(
            "time.ntp_servers",
            t.ntp_servers.len(),
            format!("at most {MAX_SERVERS} servers"),
        );
    }
    for (i, s) in t.ntp_servers.iter().enumerate() {
        if !valid_server(s) {
            r.error(
                format!("time.ntp_servers[{i}]"),
                format!("{s:?}"),
                "must be a host name such as ntp.nict.jp or an IP address",
            );
        }
    }
    if t.ntp && t.ntp_servers.is_empty() {
        r.error(
            "time.ntp_servers",
            "[]",
            "NTP is on: name at least one server (or turn NTP off and set the clock by hand)",
        );
    }
}

/// The `systemd-timesyncd` drop-in for `t` (`/run/systemd/timesyncd.conf.d/50-mamori.conf`):
/// the servers, and no fallback servers (the office chose its own). `None` when a server is
/// not valid (nothing is written then).
pub fn timesyncd_dropin(t: &TimeSettings) -> Option<String> {
    if !t.ntp_servers.iter().all(|s| valid_server(s)) || t.ntp_servers.len() > MAX_SERVERS {
        return None;
    }
    Some(format!(
        "# Written by mamori time-apply from the settings ([time]); changes here are replaced.\n[Time]\nNTP={}\nFallbackNTP=\n",
        t.ntp_servers.join(" ")
    ))
}

/// A request to set the clock by hand, as the settings service writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// The time to set (Unix seconds, UTC).
    pub time: u64,
    /// When it was asked (Unix seconds, by the box's clock then).
    pub asked_at: u64,
    /// Who asked.
    pub by: String,
}

/// Why a clock request is not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockRefusal {
    /// Outside [`EARLIEST`]..[`LATEST`].
    #[error("the time must be between 2024-01-01 and 2100-01-01 (UTC)")]
    OutOfRange,
    /// NTP keeps the clock.
    #[error("NTP keeps the clock: turn NTP off to set it by hand")]
    NtpOn,
    /// Older than [`REQUEST_TTL_SECS`].
    #[error("the request is older than {REQUEST_TTL_SECS} s: ask again")]
    Stale,
}

impl ClockRequest {
    /// Whether the request may be applied at `now` under `settings`; the time to set then
    /// (the asked time plus what has passed since the asking).
    pub fn check(&self, settings: &TimeSettings, now: u64) -> Result<u64, ClockRefusal> {
        if !(EARLIEST..LATEST).contains(&self.time) {
            return Err(ClockRefusal::OutOfRange);
        }
        if settings.ntp {
            return Err(ClockRefusal::NtpOn);
        }
        let waited = now.checked_sub(self.asked_at).ok_or(ClockRefusal::Stale)?;
        if waited > REQUEST_TTL_SECS {
            return Err(ClockRefusal::Stale);
        }
        Ok(self.time + waited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_host_names_or_addresses_and_nothing_else() {
        for ok in ["ntp.nict.jp", "192.168.1.1", "2001:db8::1", "ntp1"] {
            assert!(valid_server(ok), "{ok}");
        }
        for bad in [
            "",
            "ntp.nict.jp\nFallbackNTP=evil",
            "a b",
            "-x.jp",
            "x..jp",
            "ntp.nict.jp#",
            &"a".repeat(300),
        ] {
            assert!(!valid_server(bad), "{bad:?}");
        }
        let mut r = Report::default();
        check(
            &TimeSettings {
                ntp: true,
                ntp_servers: vec!["ok.jp".into(), "bad host".into()],
            },
            &mut r,
        );
        assert!(r.to_string().contains("time.ntp_servers[1]"), "{r}");
        let mut r = Report::default();
        check(
            &TimeSettings {
                ntp: true,
                ntp_servers: vec![],
            },
            &mut r,
        );
        assert!(!r.is_ok());
    }

    #[test]
    fn the_dropin_names_the_servers_and_no_fallback() {
        let text = timesyncd_dropin(&TimeSettings::default()).unwrap();
        assert!(text.contains("\n[Time]\nNTP=ntp.nict.jp ntp.jst.mfeed.ad.jp\nFallbackNTP=\n"));
        assert_eq!(
            timesyncd_dropin(&TimeSettings {
                ntp: true,
                ntp_servers: vec!["x\n[Other]".into()],
            }),
            None
        );
    }

    #[test]
    fn a_clock_request_is_applied_only_when_fresh_in_range_and_ntp_off() {
        let off = TimeSettings {
            ntp: false,
            ntp_servers: vec![],
        };
        let r = ClockRequest {
            time: 1_800_000_000,
            asked_at: 1_000,
            by: "tanaka".into(),
        };
        assert_eq!(r.check(&off, 1_010), Ok(1_800_000_010));
        assert_eq!(r.check(&off, 1_000 + 121), Err(ClockRefusal::Stale));
        assert_eq!(r.check(&off, 999), Err(ClockRefusal::Stale));
        assert_eq!(
            r.check(&TimeSettings::default(), 1_010),
            Err(ClockRefusal::NtpOn)
        );
        let old = ClockRequest { time: 1_000, ..r };
        assert_eq!(old.check(&off, 1_010), Err(ClockRefusal::OutOfRange));
    }
}
