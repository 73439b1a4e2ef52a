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
    }
}
