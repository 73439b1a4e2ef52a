//! The time page's forms: the NTP servers as people type them (one a line, or separated by
//! spaces or commas) and a time to set the clock to, typed in Japan's time.

use mamori_core::time::{EARLIEST, LATEST, MAX_SERVERS, valid_server};

/// Japan's offset from UTC (seconds): the office types and reads Japan's time.
pub const JST_OFFSET: u64 = 9 * 3600;

/// What is wrong with a field of the time page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockProblem {
    /// A server that is not a host name or address (the value).
    NotAServer(String),
    /// More than [`MAX_SERVERS`].
    TooManyServers,
    /// NTP on with no server.
    NoServer,
    /// Not a date and time such as `2026-12-04T09:30`.
    NotATime,
    /// Before 2024 or from 2100.
    OutOfRange,
}

/// The servers field: one a line, or separated by spaces, commas or `、`; duplicates
/// dropped, lower case.
pub fn servers(text: &str, ntp: bool) -> Result<Vec<String>, ClockProblem> {
    let mut out: Vec<String> = Vec::new();
    for s in text.split(|c: char| c.is_whitespace() || c == ',' || c == '、') {
        let s = s.trim().trim_end_matches('.').to_lowercase();
        if s.is_empty() || out.contains(&s) {
            continue;
        }
        if !valid_server(&s) {
            return Err(ClockProblem::NotAServer(s.chars().take(80).collect()));
        }
        out.push(s);
        if out.len() > MAX_SERVERS {
            return Err(ClockProblem::TooManyServers);
        }
    }
    if ntp && out.is_empty() {
        return Err(ClockProblem::NoServer);
    }
    Ok(out)
}

/// A `datetime-local` value in Japan's time (`2026-12-04T09:30`, seconds optional) as Unix
/// seconds.
pub fn parse_local(text: &str) -> Result<u64, ClockProblem> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' ']).ok_or(ClockProblem::NotATime)?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day)), None) = (d.next(), d.next(), d.next(), d.next())
    else {
        return Err(ClockProblem::NotATime);
    };
    let mut t = time.split(':').map(str::parse::<u64>);
    let (Some(Ok(h)), Some(Ok(min))) = (t.next(), t.next()) else {
        return Err(ClockProblem::NotATime);
    };
    let sec = match t.next() {
        None => 0,
        Some(Ok(s)) if t.next().is_none() => s,
        _ => return Err(ClockProblem::NotATime),
    };
    let month = u32::try_from(m).map_err(|_| ClockProblem::NotATime)?;
    let day_u = u32::try_from(day).map_err(|_| ClockProblem::NotATime)?;
    let days_in = |y: i64, m: u32| match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    };
    if !(1..=12).contains(&month)
        || !(1..=days_in(y, month)).contains(&day_u)
        || h > 23
        || min > 59
        || sec > 59
    {
        return Err(ClockProblem::NotATime);
    }
    let days =
        mamori_core::clock::days_from_civil(y, month, day_u).ok_or(ClockProblem::OutOfRange)?;
    let local = days
        .checked_mul(86_400)
        .and_then(|d| d.checked_add(i64::try_from(h * 3600 + min * 60 + sec).ok()?))
        .ok_or(ClockProblem::OutOfRange)?;
    let utc = u64::try_from(local)
        .ok()
        .and_then(|l| l.checked_sub(JST_OFFSET))
        .ok_or(ClockProblem::OutOfRange)?;
    if !(EARLIEST..LATEST).contains(&utc) {
        return Err(ClockProblem::OutOfRange);
    }
    Ok(utc)
}

/// Unix seconds as Japan's time for a `datetime-local` field (`2026-12-04T09:30:00`).
pub fn local_text(secs: u64) -> String {
    let text = mamori_core::clock::rfc3339_utc(secs.saturating_add(JST_OFFSET));
    text.get(..19).unwrap_or(&text).to_string()
}

/// Unix seconds as Japan's time for people (`2026-12-04 09:30:00`): the pages' one way to
/// show a moment the box keeps in UTC.
pub fn jst_text(secs: u64) -> String {
    local_text(secs).replace('T', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_as_people_type_them() {
        assert_eq!(
            servers(
                "ntp.nict.jp\nNTP.jst.mfeed.ad.jp., 192.168.1.1、ntp.nict.jp",
                true
            )
            .unwrap(),
            vec!["ntp.nict.jp", "ntp.jst.mfeed.ad.jp", "192.168.1.1"]
        );
        assert_eq!(servers("", true), Err(ClockProblem::NoServer));
        assert_eq!(servers("", false), Ok(vec![]));
        assert!(matches!(
            servers("ntp.nict.jp\nFallbackNTP=x", true),
            Err(ClockProblem::NotAServer(_))
        ));
        let many: String = (0..9).map(|i| format!("n{i}.jp ")).collect();
        assert_eq!(servers(&many, true), Err(ClockProblem::TooManyServers));
    }

    #[test]
    fn a_local_time_in_japan_becomes_utc() {
        // 2026-12-04 09:30 JST = 00:30 UTC.
        let t = parse_local("2026-12-04T09:30").unwrap();
        assert_eq!(mamori_core::clock::rfc3339_utc(t), "2026-12-04T00:30:00Z");
        assert_eq!(local_text(t), "2026-12-04T09:30:00");
        assert_eq!(parse_local("2026-12-04T09:30:15").unwrap(), t + 15);
        for bad in [
            "",
            "2026-13-01T00:00",
            "2026-02-30T00:00",
            "2026-12-04",
            "x-y-zTa:b",
            "2026-12-04T24:00",
            "2026-12-04T09:30:15:1",
        ] {
            assert_eq!(parse_local(bad), Err(ClockProblem::NotATime), "{bad}");
        }
        assert_eq!(
            parse_local("2020-01-01T00:00"),
            Err(ClockProblem::OutOfRange)
        );
        // Years no calendar reaches (one the fuzzer found overflowed the day count).
        for far in [
            "2200-01-01T00:00",
            "896005067792792026-12-04T09:15",
            "9223372036854775807-12-31T23:59",
        ] {
            assert_eq!(parse_local(far), Err(ClockProblem::OutOfRange), "{far}");
        }
        assert_eq!(parse_local("2024-02-29T12:00").map(|_| ()), Ok(()));
    }
}
