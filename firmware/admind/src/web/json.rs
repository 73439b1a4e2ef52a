//! Reading the daemons' JSON answers for a page: a missing or mistyped field reads as empty,
//! since a page shows what it got rather than failing on it.

use serde_json::Value;

/// The string field `key` of `v` (empty when absent).
pub(crate) fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or("").to_string()
}

/// The elements of the array `v` (none when it is not one).
pub(crate) fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// The strings of the array `v` (other elements skipped).
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whole days of a humantime duration as the settings hold it (`"30days"`, `"0s"`, or what
/// they write back for longer periods: `"1month 29days 10h 30m"`); 0 when not one.
pub(crate) fn whole_days(v: &Value) -> u64 {
    v.as_str()
        .and_then(|t| humantime::parse_duration(t.trim()).ok())
        .map_or(0, |d| d.as_secs() / 86_400)
}

/// A number of days as a setting's duration: `"0s"` for none, else `"{days}d"`.
pub(crate) fn days_setting(days: u64) -> String {
    if days == 0 {
        "0s".to_string()
    } else {
        format!("{days}d")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_mistyped_fields_read_as_empty() {
        let v = serde_json::json!({"a": "x", "n": 1, "l": ["p", 2, "q"]});
        assert_eq!(text(&v, "a"), "x");
        assert_eq!(text(&v, "n"), "");
        assert_eq!(text(&v, "none"), "");
        assert_eq!(strings(&v["l"]), ["p", "q"]);
        assert_eq!(list(&v["l"]).len(), 3);
        assert!(list(&v["a"]).is_empty() && strings(&v["none"]).is_empty());
    }
}
