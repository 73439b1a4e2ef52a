//! The log page's reading of the journal: `journalctl --output=json` lines of the Mamori
//! units turned into entries (time, service, level, message with the event's fields), and
//! the page's filters — service, least severity, text — checked here, so that what reaches
//! `journalctl` is only a unit name and a number from fixed lists.

use serde_json::Value;

/// The services whose journal the page reads, as `(name on the page, unit)`.
pub const UNITS: &[(&str, &str)] = &[
    ("smtpd", "mamori-smtpd.service"),
    ("firewalld", "mamori-firewalld.service"),
    ("settingsd", "mamori-settingsd.service"),
    ("admind", "mamori-admind.service"),
    ("linkd", "mamori-linkd.service"),
    ("updated", "mamori-updated.service"),
    ("time", "mamori-time.service"),
];

/// The most entries read from the journal for one page (newest first).
pub const MAX_READ: usize = 2000;
/// The most entries shown.
pub const MAX_SHOWN: usize = 300;
/// The longest message shown (characters).
pub const MAX_MESSAGE: usize = 2000;
/// The longest search text (characters).
pub const MAX_QUERY: usize = 200;

/// The levels a reader picks, as syslog priorities (0 emergency … 7 debug).
pub const LEVELS: &[(&str, u8)] = &[("error", 3), ("warning", 4), ("info", 6), ("debug", 7)];

/// One journal entry, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When (Unix microseconds).
    pub time_us: u64,
    /// The service's name on the page (`smtpd` …), or the unit when not one of [`UNITS`].
    pub service: String,
    /// The syslog priority (0–7; 6 when absent).
    pub priority: u8,
    /// The message, then the event's own fields (`key=value`), on one line.
    pub message: String,
}

/// What the reader asked for, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// One service's unit, or all of [`UNITS`].
    pub unit: Option<&'static str>,
    /// The least severe priority shown (`journalctl --priority=0..N`).
    pub max_priority: u8,
    /// Text every shown entry contains (case-insensitive).
    pub text: String,
}

impl Filter {
    /// The filter from the page's query: an unknown service or level is ignored (all
    /// services; `info`), the text cut to [`MAX_QUERY`] characters.
    pub fn from_query(service: &str, level: &str, text: &str) -> Self {
        Self {
            unit: UNITS.iter().find(|(n, _)| *n == service).map(|(_, u)| *u),
            max_priority: LEVELS
                .iter()
                .find(|(n, _)| *n == level)
                .map_or(6, |(_, p)| *p),
            text: text
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_QUERY)
                .collect::<String>()
                .trim()
                .to_string(),
        }
    }

    /// `journalctl`'s arguments for this filter (after `--directory` if any): JSON, newest
    /// first, at most [`MAX_READ`] entries, the units and the priority.
    pub fn journalctl_args(&self) -> Vec<String> {
        let mut args = vec![
            "--output=json".to_string(),
            "--no-pager".into(),
            "--reverse".into(),
            format!("--lines={MAX_READ}"),
            format!("--priority=0..{}", self.max_priority),
        ];
        match self.unit {
            Some(u) => args.push(format!("--unit={u}")),
            None => args.extend(UNITS.iter().map(|(_, u)| format!("--unit={u}"))),
        }
        args
    }

    /// Whether `entry` passes the text filter.
    pub fn matches(&self, entry: &Entry) -> bool {
        self.text.is_empty()
            || entry
                .message
                .to_lowercase()
                .contains(&self.text.to_lowercase())
    }
}

/// A journal field's text: a string, or (for bytes that are not UTF-8) an array of numbers.
fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(bytes) => {
            let bytes: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One `journalctl --output=json` line as an entry; `None` for a line that is not one.
pub fn parse_line(line: &str) -> Option<Entry> {
    let v: Value = serde_json::from_str(line).ok()?;
    let object = v.as_object()?;
    let time_us = field_text(object.get("__REALTIME_TIMESTAMP")?)?
        .parse()
        .ok()?;
    let unit = object
        .get("_SYSTEMD_UNIT")
        .or_else(|| object.get("UNIT"))
        .and_then(field_text)
        .unwrap_or_default();
    let service = UNITS
        .iter()
        .find(|(_, u)| *u == unit)
        .map_or(unit.clone(), |(n, _)| (*n).to_string());
    let priority = object
        .get("PRIORITY")
        .and_then(field_text)
        .and_then(|p| p.parse().ok())
        .filter(|p| *p <= 7)
        .unwrap_or(6);
    let mut message = object
        .get("MESSAGE")
        .and_then(field_text)
        .unwrap_or_default();
    // The event's own fields (tracing-journald writes them as F_NAME).
    let mut fields: Vec<(&String, String)> = object
        .iter()
        .filter(|(k, _)| k.starts_with("F_"))
        .filter_map(|(k, v)| Some((k, field_text(v)?)))
        .collect();
    fields.sort();
    for (k, v) in fields {
        message.push_str(&format!(
            " {}={v}",
            k.trim_start_matches("F_").to_lowercase()
        ));
    }
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    Some(Entry {
        time_us,
        service,
        priority,
        message,
    })
}

/// The entries of `journalctl`'s output that pass `filter`, newest first, at most
/// [`MAX_SHOWN`]; and how many lines were read.
pub fn entries(output: &str, filter: &Filter) -> (Vec<Entry>, usize) {
    let mut read = 0;
    let mut shown = Vec::new();
    for line in output.lines().take(MAX_READ) {
        read += 1;
        if let Some(e) = parse_line(line)
            && filter.matches(&e)
        {
            shown.push(e);
            if shown.len() == MAX_SHOWN {
                break;
            }
        }
    }
    (shown, read)
}

/// The level's name for a priority.
pub fn level_name(priority: u8) -> &'static str {
    match priority {
        0..=3 => "error",
        4 => "warning",
        5 | 6 => "info",
        _ => "debug",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"__REALTIME_TIMESTAMP":"1764800000123456","_SYSTEMD_UNIT":"mamori-smtpd.service","PRIORITY":"4","MESSAGE":"delivery deferred","F_QUEUE_ID":"A1B2","F_ERROR":"421 try later","SYSLOG_IDENTIFIER":"mamori"}"#;

    #[test]
    fn a_journal_line_becomes_an_entry_with_its_fields() {
        let e = parse_line(LINE).unwrap();
        assert_eq!(e.time_us, 1_764_800_000_123_456);
        assert_eq!(e.service, "smtpd");
        assert_eq!(e.priority, 4);
        assert_eq!(
            e.message,
            "delivery deferred error=421 try later queue_id=A1B2"
        );
        // Bytes that are not UTF-8 come as numbers; control characters become spaces.
        let e = parse_line(
            r#"{"__REALTIME_TIMESTAMP":"1","_SYSTEMD_UNIT":"other.service","MESSAGE":[104,105,10,255]}"#,
        )
        .unwrap();
        assert_eq!(e.message, "hi \u{fffd}");
        assert_eq!(e.service, "other.service");
        assert_eq!(e.priority, 6);
        assert_eq!(parse_line("not json"), None);
        assert_eq!(parse_line(r#"{"MESSAGE":"no time"}"#), None);
    }

    #[test]
    fn the_filters_take_only_known_units_and_levels() {
        let f = Filter::from_query("smtpd", "warning", "  Deferred\u{7}  ");
        assert_eq!(f.unit, Some("mamori-smtpd.service"));
        assert_eq!(f.max_priority, 4);
        assert_eq!(f.text, "Deferred");
        let args = f.journalctl_args();
        assert!(args.contains(&"--unit=mamori-smtpd.service".to_string()));
        assert!(args.contains(&"--priority=0..4".to_string()));
        // Anything else falls back to every Mamori unit at info; nothing else reaches
        // journalctl.
        let f = Filter::from_query("--since=yesterday", "-p 7; rm", "x");
        assert_eq!(f.unit, None);
        assert_eq!(f.max_priority, 6);
        let args = f.journalctl_args();
        assert_eq!(
            args.iter().filter(|a| a.starts_with("--unit=")).count(),
            UNITS.len()
        );
        assert!(
            args.iter()
                .all(|a| !a.contains("since") && !a.contains("rm"))
        );
        assert_eq!(
            Filter::from_query("", "", &"あ".repeat(1000))
                .text
                .chars()
                .count(),
            MAX_QUERY
        );
    }

    #[test]
    fn text_search_is_case_insensitive_and_bounded() {
        let output = format!("{LINE}\nnot json\n{LINE}\n");
        let (shown, read) = entries(&output, &Filter::from_query("", "", "QUEUE_ID=a1b2"));
        assert_eq!((shown.len(), read), (2, 3));
        let (shown, _) = entries(&output, &Filter::from_query("", "", "nothing like it"));
        assert!(shown.is_empty());
        let many = format!("{LINE}\n").repeat(MAX_READ + 50);
        let (shown, read) = entries(&many, &Filter::default());
        assert_eq!(shown.len(), MAX_SHOWN);
        assert!(read <= MAX_READ);
    }
}
