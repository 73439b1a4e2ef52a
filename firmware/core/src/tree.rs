//! Settings trees compared key by key (`smtp.listeners[1].kind`): what a change touches,
//! for the settings' `diff`, the audit record of a change, and the relay's reply to one.

use std::collections::BTreeMap;

/// Every leaf of a JSON tree by its key path (lists of tables by index), for `diff`.
pub fn flatten(tree: &serde_json::Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match v {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", tree, &mut out);
    out
}

/// One difference between two flattened trees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// The key path.
    pub key: String,
    /// The value before (`None`: absent).
    pub before: Option<String>,
    /// The value after (`None`: absent).
    pub after: Option<String>,
}

/// What differs between `before` and `after`, by key.
pub fn diff(before: &serde_json::Value, after: &serde_json::Value) -> Vec<Change> {
    let (a, b) = (flatten(before), flatten(after));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change {
            key: k.clone(),
            before: a.get(k).cloned(),
            after: b.get(k).cloned(),
        })
        .collect()
}
