//! The pacing page's pure parts: delivery limits typed into a form, and groups of
//! destination domains that share them (a mobile carrier's domains, a partner that
//! throttles). The relay checks the whole configuration again when it is saved.

use serde_json::Value;

use crate::wizard;

/// The limit fields of a form, with the least and the most each takes.
pub const LIMITS: &[(&str, u64, u64)] = &[
    ("messages_per_minute", 0, 10_000),
    ("max_connections", 1, 100),
    ("messages_per_connection", 1, 10_000),
    ("recipients_per_transaction", 1, 1000),
    ("recipients_per_connection", 1, 100_000),
];

/// The most groups, and the most domains in one group.
pub const MAX_GROUPS: usize = 50;
/// The most domains one group names.
pub const MAX_GROUP_DOMAINS: usize = 200;

/// What is wrong with a pacing form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacingProblem {
    /// A limit is not a whole number in its range: the field, its least and its most.
    Limit(&'static str, u64, u64),
    /// The group's name is empty, too long or has control characters.
    BadName,
    /// A group of that name exists.
    NameTaken,
    /// The domains field (the wizard's reason).
    Domains(wizard::Problem),
    /// Too many groups.
    TooMany,
}

/// The limits from form values (`value(field)` gives a field's text); every field must be
/// there.
pub fn limits(value: impl Fn(&str) -> String) -> Result<Value, PacingProblem> {
    let mut out = serde_json::Map::new();
    for &(field, least, most) in LIMITS {
        let n: u64 = value(field)
            .trim()
            .parse()
            .ok()
            .filter(|n| (least..=most).contains(n))
            .ok_or(PacingProblem::Limit(field, least, most))?;
        out.insert(field.into(), n.into());
    }
    Ok(Value::Object(out))
}

/// `groups` with a new one named `name` for the domains in `domains_text`.
pub fn add_group(
    groups: &[Value],
    name: &str,
    domains_text: &str,
    limits: Value,
) -> Result<Vec<Value>, PacingProblem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(PacingProblem::BadName);
    }
    if groups.iter().any(|g| g["name"].as_str() == Some(name)) {
        return Err(PacingProblem::NameTaken);
    }
    if groups.len() >= MAX_GROUPS {
        return Err(PacingProblem::TooMany);
    }
    // One at a time: a group may name more domains than the wizard's field takes.
    let mut domains: Vec<String> = Vec::new();
    for entry in domains_text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|e| !e.is_empty())
    {
        let d = crate::routes::domain(entry).map_err(PacingProblem::Domains)?;
        if !domains.contains(&d) {
            domains.push(d);
        }
        if domains.len() > MAX_GROUP_DOMAINS {
            return Err(PacingProblem::Domains(wizard::Problem::TooManyDomains));
        }
    }
    if domains.is_empty() {
        return Err(PacingProblem::Domains(wizard::Problem::Required));
    }
    let mut out = groups.to_vec();
    out.push(serde_json::json!({"name": name, "domains": domains, "limits": limits}));
    Ok(out)
}

/// `groups` without the one named `name`; `None` if there is none.
pub fn remove_group(groups: &[Value], name: &str) -> Option<Vec<Value>> {
    let out: Vec<Value> = groups
        .iter()
        .filter(|g| g["name"].as_str() != Some(name))
        .cloned()
        .collect();
    (out.len() < groups.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(per_minute: &str) -> impl Fn(&str) -> String {
        let per_minute = per_minute.to_string();
        move |f: &str| match f {
            "messages_per_minute" => per_minute.clone(),
            "max_connections" => "2".into(),
            _ => "20".into(),
        }
    }

    #[test]
    fn limits_are_whole_numbers_in_range() {
        let l = limits(form("30")).unwrap();
        assert_eq!(l["messages_per_minute"], 30);
        assert_eq!(l["max_connections"], 2);
        assert_eq!(l["recipients_per_connection"], 20);
        assert_eq!(limits(form("0")).unwrap()["messages_per_minute"], 0);
        assert_eq!(
            limits(form("-1")),
            Err(PacingProblem::Limit("messages_per_minute", 0, 10_000))
        );
        assert_eq!(
            limits(form("1e9")),
            Err(PacingProblem::Limit("messages_per_minute", 0, 10_000))
        );
        assert_eq!(
            limits(|_| String::new()),
            Err(PacingProblem::Limit("messages_per_minute", 0, 10_000))
        );
    }

    #[test]
    fn groups_are_named_once_with_real_domains() {
        let l = limits(form("30")).unwrap();
        let g = add_group(&[], "取引先 A", "a.example.jp\nb.example.jp", l.clone()).unwrap();
        assert_eq!(
            g[0]["domains"],
            serde_json::json!(["a.example.jp", "b.example.jp"])
        );
        assert_eq!(
            add_group(&g, "取引先 A", "c.jp", l.clone()),
            Err(PacingProblem::NameTaken)
        );
        assert_eq!(
            add_group(&g, " ", "c.jp", l.clone()),
            Err(PacingProblem::BadName)
        );
        assert!(matches!(
            add_group(&g, "B", "not a domain!", l.clone()),
            Err(PacingProblem::Domains(_))
        ));
        assert!(matches!(
            add_group(&g, "B", "", l),
            Err(PacingProblem::Domains(_))
        ));
        assert_eq!(remove_group(&g, "取引先 A"), Some(vec![]));
        assert_eq!(remove_group(&g, "nope"), None);
    }
}
