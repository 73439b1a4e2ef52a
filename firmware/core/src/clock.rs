//! The wall clock as the daemons record it: Unix seconds.

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Howard Hinnant's days-to-civil algorithm: days since 1970-01-01 to (year, month 1–12,
/// day 1–31), proleptic Gregorian. Shared by every date format the box writes.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The years [`days_from_civil`] computes for: far beyond any date the box handles, and
/// small enough that days and seconds of them fit an `i64` with room for offsets.
pub const YEARS: std::ops::RangeInclusive<i64> = -1_000_000..=1_000_000;

/// The inverse of [`civil_from_days`]: days since 1970-01-01 of (year, month, day); `None`
/// for a year outside [`YEARS`], a month outside 1–12 or a day outside 1–31 (so that a
/// year typed into a form or sent over a socket cannot overflow the arithmetic).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !YEARS.contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `2026-11-23T13:44:30Z` for Unix seconds.
pub fn rfc3339_utc(secs: u64) -> String {
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Unix seconds as Japan's time to the minute, for people (`2026-12-13 10:00`): the notices,
/// the sender's and the recipients' pages.
pub fn japan_minutes(secs: u64) -> String {
    let text = rfc3339_utc(secs.saturating_add(9 * 3600));
    text.get(..16).unwrap_or(&text).replace('T', " ")
}

/// The inverse of [`rfc3339_utc`]: Unix seconds of `2026-11-23T13:44:30Z` (that form
/// only, as the box writes it); `None` for anything else.
pub fn parse_rfc3339_utc(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u32>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d)?;
    u64::try_from(days * 86_400 + i64::from(h * 3600 + mi * 60 + s)).ok()
}

/// Unix seconds of the first instant of `year`-`month` at a UTC offset of
/// `offset_minutes` (Japan: +540), and of the next month's: the bounds of a monthly report.
pub fn month_bounds(year: i64, month: u32, offset_minutes: i64) -> Option<(u64, u64)> {
    if !(1..=12).contains(&month) {
        return None;
    }
    let (ny, nm) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month + 1)
    };
    let at = |y, m| {
        let offset = offset_minutes.checked_mul(60)?;
        let secs = days_from_civil(y, m, 1)?
            .checked_mul(86_400)?
            .checked_sub(offset)?;
        u64::try_from(secs).ok()
    };
    Some((at(year, month)?, at(ny, nm)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn japan_minutes_are_utc_plus_nine() {
        assert_eq!(super::japan_minutes(0), "1970-01-01 09:00");
        assert_eq!(super::japan_minutes(1_795_431_889), "2026-11-23 20:04");
    }

    use super::*;

    #[test]
    fn rfc3339_reads_back_and_months_have_bounds() {
        for t in [0, 951_782_400, 1_795_441_470] {
            assert_eq!(parse_rfc3339_utc(&rfc3339_utc(t)), Some(t));
        }
        for bad in [
            "",
            "2026-11-23 13:44:30Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T13:44:30+09:00",
        ] {
            assert_eq!(parse_rfc3339_utc(bad), None, "{bad}");
        }
        // December 2026 in Japan: from 2026-11-30T15:00Z to 2026-12-31T15:00Z.
        // Years, months and offsets from a form or a socket never overflow.
        for (y, m, off) in [
            (i64::MAX, 12, 0),
            (i64::MIN, 1, 0),
            (896_005_067_792_792_026, 12, 540),
            (2026, 12, i64::MAX),
            (2026, 12, i64::MIN),
            (2026, 13, 0),
        ] {
            assert_eq!(month_bounds(y, m, off), None, "{y}-{m} {off}");
        }
        assert_eq!(days_from_civil(1_000_001, 1, 1), None);
        assert_eq!(days_from_civil(2026, 2, 32), None);
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        let far = days_from_civil(*YEARS.end(), 12, 31).unwrap();
        assert_eq!(civil_from_days(far), (*YEARS.end(), 12, 31));
        let (from, to) = month_bounds(2026, 12, 540).unwrap();
        assert_eq!(rfc3339_utc(from), "2026-11-30T15:00:00Z");
        assert_eq!(rfc3339_utc(to), "2026-12-31T15:00:00Z");
        assert_eq!(month_bounds(2026, 13, 0), None);
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_441_470), "2026-11-23T13:44:30Z");
    }

    #[test]
    fn days_and_dates_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 11_016, 20_780, 24_000, 100_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), Some(z), "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
    }
}
