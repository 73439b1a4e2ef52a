//! The delivery page's pure parts: routes for single domains, TLS policies per domain, and
//! which TLS changes weaken a protection (and so ask for the password again).

use serde_json::Value;

use crate::wizard::{self, Problem};

/// How delivery uses TLS, strongest first.
pub const TLS_MODES: &[&str] = &["required", "opportunistic", "disabled"];

/// The most routes, and the most TLS policies, the page writes.
pub const MAX_ENTRIES: usize = 200;

/// Why a route or policy form was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteProblem {
    /// The domain field (the wizard's reason).
    Domain(Problem),
    /// The host field.
    Host(Problem),
    /// The port field.
    Port(Problem),
    /// A route or policy for that domain exists.
    Exists,
    /// Not a TLS mode.
    BadMode,
    /// Too many entries.
    TooMany,
}

/// One domain from a field (lower case, checked like the wizard's domains).
pub fn domain(text: &str) -> Result<String, Problem> {
    let mut found = wizard::domains(text)?;
    match (found.pop(), found.is_empty()) {
        (Some(d), true) => Ok(d),
        (None, _) => Err(Problem::Required),
        (Some(_), false) => Err(Problem::NotADomain(text.trim().to_string())),
    }
}

fn domain_of(v: &Value) -> &str {
    v["domain"].as_str().unwrap_or("")
}

/// `routes` with one for `domain` to `host`:`port`.
pub fn add_route(
    routes: &[Value],
    domain_text: &str,
    host: &str,
    port: &str,
) -> Result<Vec<Value>, RouteProblem> {
    let d = domain(domain_text).map_err(RouteProblem::Domain)?;
    let h = wizard::host(host).map_err(RouteProblem::Host)?;
    let p = wizard::port(port).map_err(RouteProblem::Port)?;
    if routes.iter().any(|r| domain_of(r) == d) {
        return Err(RouteProblem::Exists);
    }
    if routes.len() >= MAX_ENTRIES {
        return Err(RouteProblem::TooMany);
    }
    let mut out = routes.to_vec();
    out.push(serde_json::json!({"domain": d, "host": h, "port": p}));
    Ok(out)
}

/// `policies` with `mode` for `domain`.
pub fn add_policy(
    policies: &[Value],
    domain_text: &str,
    mode: &str,
) -> Result<Vec<Value>, RouteProblem> {
    let d = domain(domain_text).map_err(RouteProblem::Domain)?;
    if !TLS_MODES.contains(&mode) {
        return Err(RouteProblem::BadMode);
    }
    if policies.iter().any(|r| domain_of(r) == d) {
        return Err(RouteProblem::Exists);
    }
    if policies.len() >= MAX_ENTRIES {
        return Err(RouteProblem::TooMany);
    }
    let mut out = policies.to_vec();
    out.push(serde_json::json!({"domain": d, "mode": mode}));
    Ok(out)
}

/// `list` without the entry for `domain`, and the entry; `None` if there is none.
pub fn remove_domain(list: &[Value], domain: &str) -> Option<(Vec<Value>, Value)> {
    let gone = list.iter().find(|r| domain_of(r) == domain)?.clone();
    let out = list
        .iter()
        .filter(|r| domain_of(r) != domain)
        .cloned()
        .collect();
    Some((out, gone))
}

/// Whether going from TLS mode `old` to `new` weakens delivery (`required` to anything
/// else, anything to `disabled`): turning a protection off, which asks for the password.
pub fn weakens(old: &str, new: &str) -> bool {
    let rank = |m: &str| TLS_MODES.iter().position(|k| *k == m).unwrap_or(1);
    rank(new) > rank(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_checked_and_one_per_domain() {
        let one = add_route(&[], " Partner.Example.JP ", "mx.partner.example.jp", "25").unwrap();
        assert_eq!(
            one[0],
            serde_json::json!({"domain": "partner.example.jp", "host": "mx.partner.example.jp", "port": 25})
        );
        assert_eq!(
            add_route(&one, "partner.example.jp", "10.0.0.5", "2525"),
            Err(RouteProblem::Exists)
        );
        assert!(matches!(
            add_route(&one, "", "h", "25"),
            Err(RouteProblem::Domain(Problem::Required))
        ));
        assert!(matches!(
            add_route(&one, "a.jp b.jp", "h.jp", "25"),
            Err(RouteProblem::Domain(_))
        ));
        assert!(matches!(
            add_route(&one, "b.jp", "not a host!", "25"),
            Err(RouteProblem::Host(_))
        ));
        assert!(matches!(
            add_route(&one, "b.jp", "h.jp", "70000"),
            Err(RouteProblem::Port(_))
        ));
        let (left, gone) = remove_domain(&one, "partner.example.jp").unwrap();
        assert!(left.is_empty() && gone["port"] == 25);
        assert!(remove_domain(&left, "partner.example.jp").is_none());
    }

    #[test]
    fn tls_policies_and_what_weakens_them() {
        let p = add_policy(&[], "bank.example.jp", "required").unwrap();
        assert_eq!(p[0]["mode"], "required");
        assert_eq!(
            add_policy(&p, "x.jp", "sometimes"),
            Err(RouteProblem::BadMode)
        );
        assert!(weakens("required", "opportunistic"));
        assert!(weakens("opportunistic", "disabled"));
        assert!(weakens("required", "disabled"));
        assert!(!weakens("opportunistic", "required"));
        assert!(!weakens("disabled", "opportunistic"));
        assert!(!weakens("required", "required"));
    }
}
