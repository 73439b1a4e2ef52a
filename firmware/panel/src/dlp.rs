//! The DLP rules page's pure parts: checking a rule or a dictionary word typed into the
//! panel, and the new `dlp.rules` / `dlp.scan.custom.rules` lists a change writes. The
//! relay's own checks run again when the settings service validates the new version;
//! these catch what a form can get wrong and say it next to the field.

use serde_json::Value;

/// The detectors a rule may count, as the relay names them (`custom`: any dictionary word).
pub const DETECTORS: &[&str] = &[
    "my_number",
    "corporate_number",
    "credit_card",
    "phone",
    "email_list",
    "custom",
];

/// The actions the panel offers (the relay knows `discard` and `encrypt` too; those are
/// set in the configuration file by those who know what they do).
pub const ACTIONS: &[&str] = &["hold", "reject", "tag", "notify", "log"];

/// Where a rule applies.
pub const SCOPES: &[&str] = &["outbound", "internal", "any"];

/// How sure a finding must be.
pub const CONFIDENCES: &[&str] = &["low", "medium", "high"];

/// How a dictionary word's pattern is read.
pub const WORD_KINDS: &[&str] = &["keyword", "wildcard", "regex"];

/// Whether a keyword also matches with spaces and line breaks between its characters:
/// `auto` (the relay's default: yes for a keyword written in Japanese), `on`, `off`.
pub const SPACINGS: &[&str] = &["auto", "on", "off"];

/// The longest rule or word name.
pub const MAX_NAME_CHARS: usize = 64;

/// The longest dictionary pattern.
pub const MAX_PATTERN_CHARS: usize = 1000;

/// The most rules, and the most dictionary words, the panel writes.
pub const MAX_ENTRIES: usize = 200;

/// A rule as typed into the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDraft {
    /// Its name.
    pub name: String,
    /// Its name for English readers (ASCII; empty: none), for a name in Japanese.
    pub name_en: String,
    /// The detectors it counts.
    pub detectors: Vec<String>,
    /// The least confidence counted.
    pub min_confidence: String,
    /// How many findings make it apply.
    pub min_count: String,
    /// Where it applies.
    pub scope: String,
    /// What it does.
    pub action: String,
}

/// A dictionary word as typed into the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordDraft {
    /// The name findings show instead of the text.
    pub name: String,
    /// How the pattern is read.
    pub kind: String,
    /// The word, wildcard pattern or regular expression.
    pub pattern: String,
    /// Its findings' confidence.
    pub confidence: String,
    /// One of [`SPACINGS`] (empty: `auto`).
    pub spaced: String,
}

/// What is wrong with a form, and which field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DlpProblem {
    /// The name is empty, too long or has control characters.
    BadName,
    /// The English name is not one line of printable ASCII of at most 64 characters.
    BadEnglishName,
    /// Spacing asked for a wildcard or a regular expression (it applies to keywords).
    SpacingNotKeyword,
    /// Another rule (or word) has that name.
    NameTaken,
    /// No detector chosen, or one the relay does not know.
    NoDetector,
    /// A choice not on the form (a forged request).
    BadChoice,
    /// The count is not a number from 1 to 1000.
    BadCount,
    /// The pattern is empty or too long.
    BadPattern,
    /// Too many rules or words.
    TooMany,
}

fn name_ok(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control)
}

fn choice(value: &str, allowed: &[&str]) -> Result<String, DlpProblem> {
    allowed
        .iter()
        .find(|a| **a == value)
        .map(|a| a.to_string())
        .ok_or(DlpProblem::BadChoice)
}

fn name_of(v: &Value) -> &str {
    v["name"].as_str().unwrap_or("")
}

/// `rules` (the rules in force) with `draft` added at the end.
pub fn add_rule(rules: &[Value], draft: &RuleDraft) -> Result<Vec<Value>, DlpProblem> {
    let name = draft.name.trim();
    if !name_ok(name) {
        return Err(DlpProblem::BadName);
    }
    if rules.iter().any(|r| name_of(r) == name) {
        return Err(DlpProblem::NameTaken);
    }
    if rules.len() >= MAX_ENTRIES {
        return Err(DlpProblem::TooMany);
    }
    if draft.detectors.is_empty()
        || draft
            .detectors
            .iter()
            .any(|d| !DETECTORS.contains(&d.as_str()))
    {
        return Err(DlpProblem::NoDetector);
    }
    let count: u64 = draft
        .min_count
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or(DlpProblem::BadCount)?;
    let name_en = draft.name_en.trim();
    if name_en.chars().count() > MAX_NAME_CHARS
        || !name_en.chars().all(|c| c == ' ' || c.is_ascii_graphic())
    {
        return Err(DlpProblem::BadEnglishName);
    }
    let mut detectors = draft.detectors.clone();
    detectors.sort_by_key(|d| DETECTORS.iter().position(|k| k == d));
    detectors.dedup();
    let mut rule = serde_json::json!({
        "name": name,
        "detectors": detectors,
        "min_confidence": choice(&draft.min_confidence, CONFIDENCES)?,
        "min_count": count,
        "scope": choice(&draft.scope, SCOPES)?,
        "action": choice(&draft.action, ACTIONS)?,
    });
    if !name_en.is_empty() {
        rule["name_en"] = Value::from(name_en);
    }
    let mut out: Vec<Value> = rules.iter().cloned().map(without_nulls).collect();
    out.push(rule);
    Ok(out)
}

/// `rules` without the one named `name`; `None` if there is none.
pub fn remove_named(rules: &[Value], name: &str) -> Option<Vec<Value>> {
    let out: Vec<Value> = rules
        .iter()
        .filter(|r| name_of(r) != name)
        .cloned()
        .map(without_nulls)
        .collect();
    (out.len() < rules.len()).then_some(out)
}

/// `words` (the dictionary in force) with `draft` added at the end.
pub fn add_word(words: &[Value], draft: &WordDraft) -> Result<Vec<Value>, DlpProblem> {
    let name = draft.name.trim();
    if !name_ok(name) {
        return Err(DlpProblem::BadName);
    }
    if words.iter().any(|w| name_of(w) == name) {
        return Err(DlpProblem::NameTaken);
    }
    if words.len() >= MAX_ENTRIES {
        return Err(DlpProblem::TooMany);
    }
    let kind = choice(&draft.kind, WORD_KINDS)?;
    // A regular expression keeps its spaces; a word or wildcard is trimmed.
    let pattern = if kind == "regex" {
        draft.pattern.as_str()
    } else {
        draft.pattern.trim()
    };
    if pattern.trim().is_empty()
        || pattern.chars().count() > MAX_PATTERN_CHARS
        || pattern.contains(['\n', '\r', '\0'])
    {
        return Err(DlpProblem::BadPattern);
    }
    let mut word = serde_json::json!({
        "name": name,
        "kind": kind,
        "pattern": pattern,
        "confidence": choice(&draft.confidence, CONFIDENCES)?,
    });
    let spaced = if draft.spaced.is_empty() {
        "auto".to_owned()
    } else {
        choice(&draft.spaced, SPACINGS)?
    };
    match (spaced.as_str(), kind == "keyword") {
        ("on", false) => return Err(DlpProblem::SpacingNotKeyword),
        ("on", true) => word["spaced"] = Value::from(true),
        ("off", true) => word["spaced"] = Value::from(false),
        _ => {}
    }
    let mut out: Vec<Value> = words.iter().cloned().map(without_nulls).collect();
    out.push(word);
    Ok(out)
}

/// A finding's detector as the relay reports it (`"my_number"`, or `{"custom": {"rule": 0}}`
/// for a dictionary word), as a form value (`my_number`, `custom`).
pub fn detector_name(detector: &Value) -> String {
    match detector {
        Value::String(name) => name.clone(),
        Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// `value` without null members: the settings are TOML, which has no null (an absent key
/// means the default).
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(without_nulls)
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> RuleDraft {
        RuleDraft {
            name: "社外秘を社外へ".into(),
            detectors: vec!["custom".into(), "my_number".into(), "custom".into()],
            min_confidence: "medium".into(),
            min_count: "1".into(),
            scope: "outbound".into(),
            action: "hold".into(),
            name_en: String::new(),
        }
    }

    fn in_force() -> Vec<Value> {
        vec![
            serde_json::json!({"name": "My Number sent outside", "detectors": ["my_number"],
            "min_confidence": "high", "min_count": 1, "scope": "outbound", "action": "hold",
            "tag": null, "message_ja": null, "notify_sender": true}),
        ]
    }

    #[test]
    fn a_rule_joins_the_rules_in_force_without_nulls() {
        let out = add_rule(&in_force(), &draft()).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].get("tag").is_none() && out[0]["notify_sender"] == true);
        assert_eq!(
            out[1]["detectors"],
            serde_json::json!(["my_number", "custom"])
        );
        assert_eq!(out[1]["min_count"], 1);
        assert_eq!(out[1]["name"], "社外秘を社外へ");
        assert!(out[1].get("name_en").is_none());
        let mut named = draft();
        named.name_en = " Confidential outside ".into();
        let out = add_rule(&in_force(), &named).unwrap();
        assert_eq!(out[1]["name_en"], "Confidential outside");
    }

    #[test]
    fn a_bad_rule_form_says_which_field() {
        let rules = in_force();
        let with = |f: fn(&mut RuleDraft)| {
            let mut d = draft();
            f(&mut d);
            add_rule(&rules, &d)
        };
        assert_eq!(with(|d| d.name = "  ".into()), Err(DlpProblem::BadName));
        assert_eq!(
            with(|d| d.name = "a\u{7}b".into()),
            Err(DlpProblem::BadName)
        );
        assert_eq!(with(|d| d.name = "x".repeat(65)), Err(DlpProblem::BadName));
        assert_eq!(
            with(|d| d.name = "My Number sent outside".into()),
            Err(DlpProblem::NameTaken)
        );
        assert_eq!(with(|d| d.detectors.clear()), Err(DlpProblem::NoDetector));
        assert_eq!(
            with(|d| d.detectors = vec!["rm -rf".into()]),
            Err(DlpProblem::NoDetector)
        );
        assert_eq!(
            with(|d| d.min_count = "0".into()),
            Err(DlpProblem::BadCount)
        );
        assert_eq!(
            with(|d| d.min_count = "many".into()),
            Err(DlpProblem::BadCount)
        );
        assert_eq!(
            with(|d| d.action = "discard".into()),
            Err(DlpProblem::BadChoice)
        );
        assert_eq!(
            with(|d| d.scope = "mars".into()),
            Err(DlpProblem::BadChoice)
        );
        assert_eq!(
            with(|d| d.name_en = "社外秘".into()),
            Err(DlpProblem::BadEnglishName)
        );
        assert_eq!(
            with(|d| d.name_en = "a\r\nb".into()),
            Err(DlpProblem::BadEnglishName)
        );
        assert_eq!(
            with(|d| d.name_en = "x".repeat(65)),
            Err(DlpProblem::BadEnglishName)
        );
        let full: Vec<Value> = (0..MAX_ENTRIES)
            .map(|i| serde_json::json!({"name": format!("r{i}")}))
            .collect();
        assert_eq!(add_rule(&full, &draft()), Err(DlpProblem::TooMany));
    }

    #[test]
    fn removing_names_one_rule() {
        let two = add_rule(&in_force(), &draft()).unwrap();
        let one = remove_named(&two, "社外秘を社外へ").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(remove_named(&one, "no such rule"), None);
    }

    #[test]
    fn dictionary_words_are_checked() {
        let w = WordDraft {
            name: "社外秘".into(),
            kind: "keyword".into(),
            pattern: "  社外秘 ".into(),
            confidence: "high".into(),
            spaced: String::new(),
        };
        let out = add_word(&[], &w).unwrap();
        assert_eq!(out[0]["pattern"], "社外秘");
        assert!(out[0].get("spaced").is_none());
        let spaced = |value: &str, kind: &str| {
            let mut d = w.clone();
            d.spaced = value.into();
            d.kind = kind.into();
            add_word(&[], &d).map(|out| out[0].get("spaced").cloned())
        };
        assert_eq!(spaced("auto", "keyword"), Ok(None));
        assert_eq!(spaced("on", "keyword"), Ok(Some(Value::from(true))));
        assert_eq!(spaced("off", "keyword"), Ok(Some(Value::from(false))));
        assert_eq!(spaced("off", "regex"), Ok(None));
        assert_eq!(spaced("on", "wildcard"), Err(DlpProblem::SpacingNotKeyword));
        assert_eq!(spaced("sometimes", "keyword"), Err(DlpProblem::BadChoice));
        assert_eq!(add_word(&out, &w), Err(DlpProblem::NameTaken));
        let mut bad = w.clone();
        bad.pattern = " ".into();
        assert_eq!(add_word(&[], &bad), Err(DlpProblem::BadPattern));
        bad.pattern = "a\nb".into();
        assert_eq!(add_word(&[], &bad), Err(DlpProblem::BadPattern));
        bad.pattern = "x".repeat(MAX_PATTERN_CHARS + 1);
        assert_eq!(add_word(&[], &bad), Err(DlpProblem::BadPattern));
        let mut regex = w.clone();
        regex.kind = "regex".into();
        regex.pattern = "PRJ-[0-9]{4} ".into();
        assert_eq!(
            add_word(&[], &regex).unwrap()[0]["pattern"],
            "PRJ-[0-9]{4} "
        );
        regex.kind = "perl".into();
        assert_eq!(add_word(&[], &regex), Err(DlpProblem::BadChoice));
    }

    #[test]
    fn detectors_are_named_as_the_forms_name_them() {
        assert_eq!(detector_name(&serde_json::json!("my_number")), "my_number");
        assert_eq!(
            detector_name(&serde_json::json!({"custom": {"rule": 3}})),
            "custom"
        );
        assert_eq!(detector_name(&serde_json::json!(null)), "");
    }

    #[test]
    fn nulls_go_at_every_depth() {
        let v = serde_json::json!({"a": null, "b": [1, null, {"c": null, "d": 2}]});
        assert_eq!(without_nulls(v), serde_json::json!({"b": [1, {"d": 2}]}));
    }
}
