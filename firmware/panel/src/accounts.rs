//! The relay accounts page's pure parts: the addresses an account may send as, and the new
//! `smtp.accounts` list each change writes. Password hashes are kept as they are; the page
//! never shows one.

use serde_json::Value;

use crate::wizard::is_office_address;

/// The most sender entries one account may have.
pub const MAX_SENDERS: usize = 50;

/// Why a senders field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendersProblem {
    /// An entry is neither an address nor a domain of the office (the entry).
    NotOffice(String),
    /// More than [`MAX_SENDERS`] entries.
    TooMany,
}

/// Parses a senders field: one entry a line (or separated by spaces or commas), each an
/// address of an office domain (`taro@office.example.jp`) or an office domain itself
/// (`office.example.jp` or `@office.example.jp`: every address there). Empty means the
/// account sends as its own address only (the relay's rule for an address login).
pub fn senders(text: &str, domains: &[String]) -> Result<Vec<String>, SendersProblem> {
    let mut out: Vec<String> = Vec::new();
    for entry in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|e| !e.is_empty())
    {
        let entry = entry.to_lowercase();
        let domain = entry.strip_prefix('@').unwrap_or(&entry);
        let ok = if entry.contains('@') && !entry.starts_with('@') {
            is_office_address(domains, &entry)
        } else {
            domains.iter().any(|d| d == domain)
        };
        if !ok {
            return Err(SendersProblem::NotOffice(entry));
        }
        if !out.contains(&entry) {
            out.push(entry);
        }
        if out.len() > MAX_SENDERS {
            return Err(SendersProblem::TooMany);
        }
    }
    Ok(out)
}

fn username(v: &Value) -> &str {
    v["username"].as_str().unwrap_or("")
}

/// `accounts` with a new one (its name already checked as new).
pub fn add(accounts: &[Value], name: &str, password_hash: &str, senders: &[String]) -> Vec<Value> {
    let senders = if senders.is_empty() {
        vec![name.to_string()]
    } else {
        senders.to_vec()
    };
    let mut out = accounts.to_vec();
    out.push(
        serde_json::json!({"username": name, "password_hash": password_hash, "senders": senders}),
    );
    out
}

/// `accounts` with `name`'s field `key` set to `value`; `None` if there is no such account.
pub fn update(accounts: &[Value], name: &str, key: &str, value: Value) -> Option<Vec<Value>> {
    let mut out = accounts.to_vec();
    let account = out.iter_mut().find(|a| username(a) == name)?;
    account[key] = value;
    Some(out)
}

/// `accounts` without `name`; `None` if there is no such account.
pub fn remove(accounts: &[Value], name: &str) -> Option<Vec<Value>> {
    let out: Vec<Value> = accounts
        .iter()
        .filter(|a| username(a) != name)
        .cloned()
        .collect();
    (out.len() < accounts.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> Vec<String> {
        vec!["office.example.jp".into(), "branch.example.jp".into()]
    }

    #[test]
    fn senders_are_office_addresses_or_domains() {
        assert_eq!(
            senders(
                "Taro@Office.example.jp\n@branch.example.jp, office.example.jp taro@office.example.jp",
                &office()
            ),
            Ok(vec![
                "taro@office.example.jp".to_string(),
                "@branch.example.jp".into(),
                "office.example.jp".into()
            ])
        );
        assert_eq!(senders("  ", &office()), Ok(vec![]));
        assert_eq!(
            senders("ceo@gmail.com", &office()),
            Err(SendersProblem::NotOffice("ceo@gmail.com".into()))
        );
        assert_eq!(
            senders("evil.example.jp", &office()),
            Err(SendersProblem::NotOffice("evil.example.jp".into()))
        );
        assert_eq!(
            senders("@office.example.jp.evil.test", &office()),
            Err(SendersProblem::NotOffice(
                "@office.example.jp.evil.test".into()
            ))
        );
        let many: Vec<String> = (0..=MAX_SENDERS)
            .map(|i| format!("u{i}@office.example.jp"))
            .collect();
        assert_eq!(
            senders(&many.join("\n"), &office()),
            Err(SendersProblem::TooMany)
        );
    }

    #[test]
    fn accounts_are_added_changed_and_removed_by_name() {
        let one = add(&[], "taro@office.example.jp", "$argon2id$x", &[]);
        assert_eq!(
            one[0]["senders"],
            serde_json::json!(["taro@office.example.jp"])
        );
        let two = add(
            &one,
            "hana@office.example.jp",
            "$argon2id$y",
            &["office.example.jp".into()],
        );
        let changed = update(
            &two,
            "hana@office.example.jp",
            "password_hash",
            "$argon2id$z".into(),
        )
        .unwrap();
        assert_eq!(changed[1]["password_hash"], "$argon2id$z");
        assert_eq!(changed[0]["password_hash"], "$argon2id$x");
        assert!(update(&two, "nobody@office.example.jp", "senders", Value::Null).is_none());
        let left = remove(&changed, "taro@office.example.jp").unwrap();
        assert_eq!(left.len(), 1);
        assert!(remove(&left, "taro@office.example.jp").is_none());
    }
}
