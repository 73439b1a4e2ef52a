//! The settings document: what the administrator changed, as a TOML tree laid over the
//! board's defaults. Pure edits by key path (`smtp.max_recipients`,
//! `smtp.listeners[0].address`) and the flattened view that `diff` compares.

use toml::{Table, Value};

pub use mamori_core::tree::{Change, diff, flatten};

/// Why a key path or value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The key is empty or malformed.
    #[error("{0:?} is not a key such as smtp.max_recipients or smtp.listeners[0].address")]
    BadKey(String),
    /// A step of the path is not a table or list where one is needed.
    #[error("{key}: {reason}")]
    BadPath {
        /// The key.
        key: String,
        /// What is in the way.
        reason: String,
    },
    /// The value is not TOML.
    #[error("{key} = {value:?}: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Splits `a.b[2].c` into steps.
fn steps(key: &str) -> Result<Vec<Step>, DocumentError> {
    let bad = || DocumentError::BadKey(key.to_string());
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(bad());
        }
        out.push(Step::Key(name.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(bad)?;
            let index = rest
                .get(1..close)
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?;
            out.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(bad());
            }
        }
    }
    if out.len() > 32 {
        return Err(bad());
    }
    Ok(out)
}

/// Parses a value as an operator writes it on the command line: TOML (`500`, `true`,
/// `"x"`, `["a", "b"]`, `{ kind = "relay" }`), else a bare word as a string.
pub fn parse_value(key: &str, text: &str) -> Result<Value, DocumentError> {
    let wrapped = format!("v = {text}");
    match wrapped.parse::<Table>() {
        Ok(mut t) => t.remove("v").ok_or_else(|| DocumentError::BadValue {
            key: key.into(),
            value: text.into(),
            reason: "no value".into(),
        }),
        Err(e) => {
            let bare =
                !text.is_empty() && !text.contains(['"', '\'', '[', ']', '{', '}', '=', '\n']);
            if bare {
                Ok(Value::String(text.to_string()))
            } else {
                Err(DocumentError::BadValue {
                    key: key.into(),
                    value: text.into(),
                    reason: e.message().to_string(),
                })
            }
        }
    }
}

/// Sets `key` to `value` in `doc`, creating tables on the way; a list index may be at most
/// the list's length (appending). On an error `doc` is unchanged.
pub fn set(doc: &mut Table, key: &str, value: Value) -> Result<(), DocumentError> {
    let path = steps(key)?;
    let mut root = Value::Table(doc.clone());
    set_in(&mut root, &path, value).map_err(|reason| DocumentError::BadPath {
        key: key.to_string(),
        reason: reason.to_string(),
    })?;
    if let Value::Table(t) = root {
        *doc = t;
    }
    Ok(())
}

/// An empty container for the step that comes next.
fn empty_for(next: Option<&Step>) -> Value {
    match next {
        Some(Step::Index(_)) => Value::Array(Vec::new()),
        _ => Value::Table(Table::new()),
    }
}

fn set_in(slot: &mut Value, path: &[Step], value: Value) -> Result<(), &'static str> {
    let Some((first, rest)) = path.split_first() else {
        *slot = value;
        return Ok(());
    };
    let child = match (first, slot) {
        (Step::Key(k), Value::Table(t)) => t
            .entry(k.clone())
            .or_insert_with(|| empty_for(rest.first())),
        (Step::Index(n), Value::Array(a)) => {
            if *n == a.len() {
                a.push(empty_for(rest.first()));
            }
            a.get_mut(*n).ok_or("the list is shorter than that index")?
        }
        _ => return Err("a value is in the way of this path"),
    };
    set_in(child, rest, value)
}

/// Removes `key` from `doc` (back to the default); whether it was there.
pub fn unset(doc: &mut Table, key: &str) -> Result<bool, DocumentError> {
    let path = steps(key)?;
    let mut root = Value::Table(std::mem::take(doc));
    let removed = unset_in(&mut root, &path);
    if let Value::Table(t) = root {
        *doc = t;
    }
    Ok(removed)
}

fn unset_in(slot: &mut Value, path: &[Step]) -> bool {
    match (path, slot) {
        ([Step::Key(k)], Value::Table(t)) => t.remove(k).is_some(),
        ([Step::Index(n)], Value::Array(a)) if *n < a.len() => {
            a.remove(*n);
            true
        }
        ([Step::Key(k), rest @ ..], Value::Table(t)) if !rest.is_empty() => {
            t.get_mut(k).is_some_and(|c| unset_in(c, rest))
        }
        ([Step::Index(n), rest @ ..], Value::Array(a)) if !rest.is_empty() => {
            a.get_mut(*n).is_some_and(|c| unset_in(c, rest))
        }
        _ => false,
    }
}

/// The value at `key` of a JSON tree (the effective settings), if any.
pub fn get<'a>(
    tree: &'a serde_json::Value,
    key: &str,
) -> Result<Option<&'a serde_json::Value>, DocumentError> {
    let mut at = tree;
    for step in steps(key)? {
        let next = match step {
            Step::Key(k) => at.get(k.as_str()),
            Step::Index(n) => at.get(n),
        };
        match next {
            Some(v) => at = v,
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_toml_or_bare_words() {
        assert_eq!(parse_value("k", "500").unwrap(), Value::Integer(500));
        assert_eq!(parse_value("k", "true").unwrap(), Value::Boolean(true));
        assert_eq!(
            parse_value("k", "mamori.example.jp").unwrap(),
            Value::String("mamori.example.jp".into())
        );
        assert_eq!(
            parse_value("k", r#"["a.jp", "b.jp"]"#).unwrap(),
            Value::Array(vec!["a.jp".into(), "b.jp".into()])
        );
        assert!(matches!(
            parse_value("k", "[1,"),
            Err(DocumentError::BadValue { .. })
        ));
    }

    #[test]
    fn set_and_unset_by_key_path() {
        let mut doc = Table::new();
        set(&mut doc, "smtp.max_recipients", Value::Integer(500)).unwrap();
        set(&mut doc, "smtp.listeners[0].kind", "relay".into()).unwrap();
        set(&mut doc, "smtp.listeners[0].address", "127.0.0.1:25".into()).unwrap();
        set(&mut doc, "smtp.listeners[1].kind", "submission".into()).unwrap();
        let text = toml::to_string(&doc).unwrap();
        assert!(text.contains("max_recipients = 500"), "{text}");
        assert_eq!(doc["smtp"]["listeners"].as_array().unwrap().len(), 2);
        // A gap in a list, a value in the way, a bad key: refused, nothing changed.
        let before = doc.clone();
        assert!(set(&mut doc, "smtp.listeners[5].kind", "relay".into()).is_err());
        assert!(set(&mut doc, "smtp.max_recipients.x", Value::Integer(1)).is_err());
        assert!(set(&mut doc, "smtp..x", Value::Integer(1)).is_err());
        assert!(set(&mut doc, "smtp.a[x]", Value::Integer(1)).is_err());
        assert_eq!(doc, before);
        assert!(unset(&mut doc, "smtp.max_recipients").unwrap());
        assert!(!unset(&mut doc, "smtp.max_recipients").unwrap());
        assert!(unset(&mut doc, "smtp.listeners[1]").unwrap());
        assert_eq!(doc["smtp"]["listeners"].as_array().unwrap().len(), 1);
        assert!(!unset(&mut doc, "nothing.here").unwrap());
    }

    #[test]
    fn diff_names_each_changed_key() {
        let a = serde_json::json!({"smtp": {"max_recipients": 1000, "listeners": [{"kind": "relay"}]}, "log": {"level": "info"}});
        let b = serde_json::json!({"smtp": {"max_recipients": 500, "listeners": [{"kind": "relay"}, {"kind": "smtps"}]}, "log": {"level": "info"}});
        let changes = diff(&a, &b);
        let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["smtp.listeners[1].kind", "smtp.max_recipients"]);
        assert_eq!(changes[1].before.as_deref(), Some("1000"));
        assert_eq!(changes[0].before, None);
        assert_eq!(
            get(&b, "smtp.listeners[1].kind").unwrap(),
            Some(&serde_json::json!("smtps"))
        );
        assert_eq!(get(&b, "smtp.nope").unwrap(), None);
    }
}
