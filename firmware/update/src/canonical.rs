//! Canonical JSON as TUF signs it (the OLPC form that securesystemslib's `encode_canonical`
//! writes): object keys sorted by code point, no white space, strings escaped only for `\`
//! and `"`, integers only. A signature covers these bytes of the `signed` object exactly as
//! it was received — unknown fields included — so the verifier canonicalises the parsed
//! value, never a re-serialised typed copy.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// Canonical JSON has no floating-point numbers.
    #[error("a number that is not an integer ({0}) has no canonical JSON form")]
    Float(String),
    /// Deeper than [`MAX_DEPTH`]: refused rather than recursed into.
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// How deep a metadata document may nest. TUF metadata is about five levels deep; the bound
/// keeps a hostile document from exhausting the stack.
pub const MAX_DEPTH: usize = 32;

/// The canonical bytes of `value`.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out, 0)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(CanonicalError::TooDeep);
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CanonicalError::Float(n.to_string()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out, depth + 1)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map is sorted (no `preserve_order`), but sort here so that the
            // form never depends on a feature flag elsewhere in the build. UTF-8 byte order
            // is code point order.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                if let Some(v) = map.get(key) {
                    write(v, out, depth + 1)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'\\' || b == b'"' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Parses JSON text into a value, refusing documents nested deeper than [`MAX_DEPTH`] before
/// anything recursive runs over them (serde_json's own limit is 128).
pub fn parse_bounded(bytes: &[u8]) -> Result<Value, String> {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_escapes_only_backslash_and_quote() {
        let v = json!({"b": 1, "a": [true, null, "x\"y\\z\n\u{3042}"], "A": -5});
        let out = to_canonical(&v).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"A\":-5,\"a\":[true,null,\"x\\\"y\\\\z\n\u{3042}\"],\"b\":1}"
        );
    }

    #[test]
    fn floats_and_deep_nesting_are_refused() {
        assert!(matches!(
            to_canonical(&json!({"x": 1.5})),
            Err(CanonicalError::Float(_))
        ));
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert!(parse_bounded(deep.as_bytes()).is_err());
        let ok = "[".repeat(10) + &"]".repeat(10);
        assert!(parse_bounded(ok.as_bytes()).is_ok());
        // Brackets inside strings do not count.
        let s = format!("{{\"k\": \"{}\"}}", "[".repeat(100));
        assert!(parse_bounded(s.as_bytes()).is_ok());
    }

    #[test]
    fn key_order_is_code_point_order() {
        let v = json!({"\u{ff21}": 1, "z": 2, "\u{e9}": 3});
        let out = String::from_utf8(to_canonical(&v).unwrap()).unwrap();
        assert_eq!(out, "{\"z\":2,\"\u{e9}\":3,\"\u{ff21}\":1}");
    }
}
