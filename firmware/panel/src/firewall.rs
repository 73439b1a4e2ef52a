//! The firewall page's pure parts: a rule or a port forward typed into a form, checked
//! for what a form can get wrong (the settings service checks the whole model again, as
//! the firewall daemon will), and the new `firewall.rules` / `firewall.port_forwards`
//! lists a change writes.

use serde_json::Value;

/// Rule directions the form offers.
pub const DIRECTIONS: &[&str] = &["input", "forward"];
/// Zones.
pub const ZONES: &[&str] = &["lan", "wan", "dmz", "guest"];
/// Rule protocols the form offers.
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "tcp/udp", "icmp", "any"];
/// Port forward protocols.
pub const FORWARD_PROTOCOLS: &[&str] = &["tcp", "udp", "tcp/udp"];
/// Rule actions.
pub const ACTIONS: &[&str] = &["accept", "drop", "reject"];
/// The most rules, and the most port forwards, the page writes.
pub const MAX_ENTRIES: usize = 200;
/// The most ports or addresses one field takes.
pub const MAX_ITEMS: usize = 64;

/// What is wrong with a firewall form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FwProblem {
    /// Not 1 to 32 ASCII letters, digits, `-`, `_` or `.`.
    BadName,
    /// One of that name exists.
    NameTaken,
    /// A choice not on the form.
    BadChoice,
    /// Not a port or range (the entry).
    BadPort(String),
    /// Ports with a protocol that has none, or none where they are needed.
    PortsNotAllowed,
    /// Not an address or network (the entry).
    BadAddress(String),
    /// A forward rule needs a destination zone, other than its own.
    NeedsDestZone,
    /// Too many entries or items.
    TooMany,
}

/// A rule as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDraft {
    /// Its name.
    pub name: String,
    /// `input` or `forward`.
    pub direction: String,
    /// The zone traffic comes from.
    pub zone: String,
    /// For `forward`: the zone it goes to.
    pub dest_zone: String,
    /// The protocol.
    pub protocol: String,
    /// Ports and ranges (`25, 8000-8010`).
    pub ports: String,
    /// Source addresses and networks (empty: any).
    pub source: String,
    /// What to do.
    pub action: String,
}

/// A port forward as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardDraft {
    /// Its name.
    pub name: String,
    /// `tcp`, `udp` or `tcp/udp`.
    pub protocol: String,
    /// The port (or range) connections arrive on.
    pub external_port: String,
    /// The internal host.
    pub internal_address: String,
    /// Its port (empty: the same).
    pub internal_port: String,
}

fn name(text: &str) -> Result<String, FwProblem> {
    let n = text.trim();
    let ok = !n.is_empty()
        && n.len() <= 32
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| n.to_string()).ok_or(FwProblem::BadName)
}

fn choice(value: &str, allowed: &[&str]) -> Result<String, FwProblem> {
    allowed
        .contains(&value)
        .then(|| value.to_string())
        .ok_or(FwProblem::BadChoice)
}

fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
}

/// One port or range as the model writes it: a number, or `"8000-8010"`.
fn port(entry: &str) -> Result<Value, FwProblem> {
    let bad = || FwProblem::BadPort(entry.to_string());
    let num = |s: &str| s.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
    match entry.split_once('-') {
        None => Ok(num(entry)?.into()),
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(bad());
            }
            Ok(if a == b {
                a.into()
            } else {
                format!("{a}-{b}").into()
            })
        }
    }
}

/// The ports of a field.
pub fn ports(text: &str) -> Result<Vec<Value>, FwProblem> {
    let out: Vec<Value> = items(text).map(port).collect::<Result<_, _>>()?;
    if out.len() > MAX_ITEMS {
        return Err(FwProblem::TooMany);
    }
    Ok(out)
}

/// The addresses and networks of a field, as written (`192.168.1.10`, `10.0.0.0/8`).
pub fn addresses(text: &str) -> Result<Vec<String>, FwProblem> {
    let out: Vec<String> = items(text)
        .map(|a| {
            let ok = a.parse::<std::net::IpAddr>().is_ok() || a.parse::<ipnet::IpNet>().is_ok();
            ok.then(|| a.to_string())
                .ok_or_else(|| FwProblem::BadAddress(a.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if out.len() > MAX_ITEMS {
        return Err(FwProblem::TooMany);
    }
    Ok(out)
}

fn name_of(v: &Value) -> &str {
    v["name"].as_str().unwrap_or("")
}

fn check_new(list: &[Value], name: &str) -> Result<(), FwProblem> {
    if list.iter().any(|r| name_of(r) == name) {
        return Err(FwProblem::NameTaken);
    }
    if list.len() >= MAX_ENTRIES {
        return Err(FwProblem::TooMany);
    }
    Ok(())
}

/// `rules` with `draft` at the end.
pub fn add_rule(rules: &[Value], draft: &RuleDraft) -> Result<Vec<Value>, FwProblem> {
    let n = name(&draft.name)?;
    check_new(rules, &n)?;
    let direction = choice(&draft.direction, DIRECTIONS)?;
    let zone = choice(&draft.zone, ZONES)?;
    let protocol = choice(&draft.protocol, PROTOCOLS)?;
    let action = choice(&draft.action, ACTIONS)?;
    let ports = ports(&draft.ports)?;
    let has_ports = matches!(protocol.as_str(), "tcp" | "udp" | "tcp/udp");
    if !ports.is_empty() && !has_ports {
        return Err(FwProblem::PortsNotAllowed);
    }
    let source = addresses(&draft.source)?;
    let mut rule = serde_json::json!({
        "name": n, "direction": direction, "zone": zone, "protocol": protocol, "action": action,
    });
    if direction == "forward" {
        let dest = choice(&draft.dest_zone, ZONES).map_err(|_| FwProblem::NeedsDestZone)?;
        if dest == zone {
            return Err(FwProblem::NeedsDestZone);
        }
        rule["dest_zone"] = dest.into();
    }
    if !ports.is_empty() {
        rule["ports"] = ports.into();
    }
    if !source.is_empty() {
        rule["source"] = source.into();
    }
    let mut out = rules.to_vec();
    out.push(rule);
    Ok(out)
}

/// `forwards` with `draft` at the end.
pub fn add_forward(forwards: &[Value], draft: &ForwardDraft) -> Result<Vec<Value>, FwProblem> {
    let n = name(&draft.name)?;
    check_new(forwards, &n)?;
    let protocol = choice(&draft.protocol, FORWARD_PROTOCOLS)?;
    let one_port = |text: &str| match ports(text)?.as_slice() {
        [p] => Ok(p.clone()),
        _ => Err(FwProblem::BadPort(text.trim().to_string())),
    };
    let external = one_port(&draft.external_port)?;
    let internal: std::net::IpAddr = draft
        .internal_address
        .trim()
        .parse()
        .map_err(|_| FwProblem::BadAddress(draft.internal_address.trim().to_string()))?;
    let mut forward = serde_json::json!({
        "name": n, "protocol": protocol, "external_port": external,
        "internal_address": internal.to_string(),
    });
    if !draft.internal_port.trim().is_empty() {
        forward["internal_port"] = one_port(&draft.internal_port)?;
    }
    let mut out = forwards.to_vec();
    out.push(forward);
    Ok(out)
}

/// `list` without the entry named `name`; `None` if there is none.
pub fn remove_named(list: &[Value], name: &str) -> Option<Vec<Value>> {
    let out: Vec<Value> = list
        .iter()
        .filter(|r| name_of(r) != name)
        .cloned()
        .collect();
    (out.len() < list.len()).then_some(out)
}

/// `list` with the entry named `name` turned on or off; `None` if there is none.
pub fn set_enabled(list: &[Value], name: &str, enabled: bool) -> Option<Vec<Value>> {
    let mut out = list.to_vec();
    let entry = out.iter_mut().find(|r| name_of(r) == name)?;
    entry["enabled"] = enabled.into();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleDraft {
        RuleDraft {
            name: "block-8080".into(),
            direction: "forward".into(),
            zone: "lan".into(),
            dest_zone: "wan".into(),
            protocol: "tcp".into(),
            ports: "8080, 9000-9010".into(),
            source: "192.168.10.0/24 192.168.10.5".into(),
            action: "reject".into(),
        }
    }

    #[test]
    fn a_rule_is_written_as_the_model_reads_it() {
        let out = add_rule(&[], &rule()).unwrap();
        assert_eq!(
            out[0],
            serde_json::json!({"name": "block-8080", "direction": "forward", "zone": "lan",
                "dest_zone": "wan", "protocol": "tcp", "action": "reject",
                "ports": [8080, "9000-9010"], "source": ["192.168.10.0/24", "192.168.10.5"]})
        );
        let mut input = rule();
        input.direction = "input".into();
        input.dest_zone = "wan".into();
        assert!(add_rule(&[], &input).unwrap()[0].get("dest_zone").is_none());
    }

    #[test]
    fn bad_rule_forms_name_what_is_wrong() {
        let with = |f: fn(&mut RuleDraft)| {
            let mut d = rule();
            f(&mut d);
            add_rule(&[], &d)
        };
        assert_eq!(
            with(|d| d.name = "ブロック".into()),
            Err(FwProblem::BadName)
        );
        assert_eq!(with(|d| d.name = "a\"b".into()), Err(FwProblem::BadName));
        assert_eq!(with(|d| d.name = "x".repeat(33)), Err(FwProblem::BadName));
        assert_eq!(
            with(|d| d.ports = "0".into()),
            Err(FwProblem::BadPort("0".into()))
        );
        assert_eq!(
            with(|d| d.ports = "70000".into()),
            Err(FwProblem::BadPort("70000".into()))
        );
        assert_eq!(
            with(|d| d.ports = "90-80".into()),
            Err(FwProblem::BadPort("90-80".into()))
        );
        assert_eq!(
            with(|d| {
                d.protocol = "icmp".into();
            }),
            Err(FwProblem::PortsNotAllowed)
        );
        assert_eq!(
            with(|d| d.source = "192.168.1.300".into()),
            Err(FwProblem::BadAddress("192.168.1.300".into()))
        );
        assert_eq!(
            with(|d| d.dest_zone = "lan".into()),
            Err(FwProblem::NeedsDestZone)
        );
        assert_eq!(
            with(|d| d.dest_zone = String::new()),
            Err(FwProblem::NeedsDestZone)
        );
        assert_eq!(
            with(|d| d.action = "masquerade".into()),
            Err(FwProblem::BadChoice)
        );
        let one = add_rule(&[], &rule()).unwrap();
        assert_eq!(add_rule(&one, &rule()), Err(FwProblem::NameTaken));
    }

    #[test]
    fn port_forwards_take_one_port_and_an_address() {
        let d = ForwardDraft {
            name: "nas".into(),
            protocol: "tcp".into(),
            external_port: "8443".into(),
            internal_address: "192.168.10.20".into(),
            internal_port: "443".into(),
        };
        let out = add_forward(&[], &d).unwrap();
        assert_eq!(out[0]["external_port"], 8443);
        assert_eq!(out[0]["internal_port"], 443);
        let mut bad = d.clone();
        bad.external_port = "80 443".into();
        assert!(matches!(add_forward(&[], &bad), Err(FwProblem::BadPort(_))));
        let mut bad = d.clone();
        bad.internal_address = "nas.local".into();
        assert!(matches!(
            add_forward(&[], &bad),
            Err(FwProblem::BadAddress(_))
        ));
        let mut no_internal = d;
        no_internal.internal_port = " ".into();
        assert!(
            add_forward(&[], &no_internal).unwrap()[0]
                .get("internal_port")
                .is_none()
        );
    }

    #[test]
    fn entries_are_removed_and_switched_by_name() {
        let one = add_rule(&[], &rule()).unwrap();
        let off = set_enabled(&one, "block-8080", false).unwrap();
        assert_eq!(off[0]["enabled"], false);
        assert!(set_enabled(&one, "nope", true).is_none());
        assert_eq!(remove_named(&one, "block-8080"), Some(vec![]));
        assert_eq!(remove_named(&one, "nope"), None);
    }
}
