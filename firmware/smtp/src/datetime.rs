//! RFC 5322 dates (`Mon, 23 Nov 2026 11:04:49 +0000`) for `Received:`, `Date:` and DSNs,
//! computed from the Unix clock in UTC without a calendar library.

use mamori_core::clock::civil_from_days;
pub use mamori_core::clock::unix_now;

/// Formats Unix seconds as an RFC 5322 date-time in UTC.
pub fn rfc5322(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Formats Unix seconds as an RFC 3339 date-time in UTC (`2026-12-13T05:00:00Z`).
pub fn rfc3339(unix: u64) -> String {
    let (y, m, d) = civil_from_days((unix / 86_400) as i64);
    let secs = unix % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Unix seconds as the office reads a time: `2026-12-06 13:30` at `offset` seconds east
/// of UTC (Japan: 9 hours).
pub fn local_minutes(unix: u64, offset: i64) -> String {
    let local = i64::try_from(unix)
        .unwrap_or(i64::MAX)
        .saturating_add(offset);
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs / 60 % 60
    )
}

/// The current time as an RFC 5322 date-time.
pub fn rfc5322_now() -> String {
    rfc5322(unix_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322(1_795_431_889), "Mon, 23 Nov 2026 11:04:49 +0000");
        assert_eq!(rfc3339(1_795_431_889), "2026-11-23T11:04:49Z");
        assert_eq!(local_minutes(1_795_431_889, 9 * 3600), "2026-11-23 20:04");
    }
}
