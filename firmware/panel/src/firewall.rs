//! The firewall pages' pure parts: a rule, a port forward, a zone or set elements typed
//! into a form, checked for what a form can get wrong (the settings service checks the
//! whole model again, as the firewall daemon will), and the new `firewall.rules` /
//! `firewall.port_forwards` lists, `firewall.zones.<name>` table or `firewall.sets` list a
//! change writes. Zones and set elements are checked with the firewall model's own types
//! ([`InterfaceName`], [`AddressSpec`]), so the panel refuses what the model refuses; and
//! whether a change weakens the box's protection (which asks for the password again) is
//! decided here too.

use mamori_firewall::model::{
    AddressSpec, FirewallConfig, InterfaceName, Policy, Set, SetElement, Zone, ZoneName,
};
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
/// Zone default actions (policies), as the model writes them.
pub const POLICIES: &[&str] = &["accept", "drop", "reject"];
/// The most interfaces one zone form takes.
pub const MAX_INTERFACES: usize = 16;
/// The most elements the panel lets a set grow to. The model sets no bound (a block list
/// written into the settings by other means may hold more: shown, and shrunk, but not
/// grown here); this keeps each settings version and the set's page a sensible size.
pub const MAX_SET_ELEMENTS: usize = 4096;
/// The most lines (elements) one add form takes.
pub const MAX_ADD_LINES: usize = 256;

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
    /// Not an interface name as the model takes it (the entry).
    BadInterface(String),
    /// A zone needs at least one interface.
    NoInterfaces,
    /// More interfaces than [`MAX_INTERFACES`].
    TooManyInterfaces,
    /// The form asks for what is in force already.
    NoChange,
    /// No such set.
    NoSuchSet,
    /// Nothing typed.
    NoElements,
    /// More lines than [`MAX_ADD_LINES`].
    TooManyLines,
    /// The set would hold more than [`MAX_SET_ELEMENTS`].
    SetFull,
    /// Not an address, network or range (the line).
    BadElement(String),
    /// A network written with host bits set (the line, and the network meant).
    HostBits {
        /// As typed.
        element: String,
        /// The network without host bits.
        network: String,
    },
    /// An address of the other family than the set's (the line, the set's family).
    WrongFamily {
        /// As typed.
        element: String,
        /// `ipv4` or `ipv6`.
        family: String,
    },
    /// A network or range in a set of single addresses (the line).
    NeedsInterval(String),
    /// A range whose first address is after its last (the line).
    ReversedRange(String),
    /// The element is in the set already (the line).
    AlreadyInSet(String),
    /// The element overlaps one in the set, or one above it in the form.
    Overlaps {
        /// As typed.
        element: String,
        /// The element it overlaps.
        other: String,
    },
    /// No such element in the set (as given).
    NotInSet(String),
    /// The set is used by these rules or port forwards.
    SetInUse(String),
    /// The zone is used by these rules or forwardings.
    ZoneInUse(String),
    /// `lan` and `wan` always exist; only `dmz` and `guest` are added or removed.
    ZoneFixed,
    /// The zone is there already (adding), or not (removing, forwarding).
    ZoneThere,
    /// The forwarding is there already, or not (removing).
    ForwardingThere,
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

/// A zone's form: interfaces, the three default actions and the switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneDraft {
    /// Interface names, separated by spaces or commas.
    pub interfaces: String,
    /// Traffic to the box: `accept`, `drop` or `reject`.
    pub input: String,
    /// Traffic through the box.
    pub forward: String,
    /// Traffic from the box.
    pub output: String,
    /// Masquerade IPv4 leaving through the zone.
    pub masquerade: bool,
    /// Answer ping.
    pub allow_ping: bool,
    /// Let the zone's hosts use the box's DHCP and DNS.
    pub allow_dhcp_dns: bool,
    /// Let the box's own DHCP client renew its lease on the zone.
    pub allow_dhcp_client: bool,
}

impl ZoneDraft {
    /// The form filled with zone `kind` as it is in force (the kind's defaults for the
    /// settings left out).
    pub fn of(kind: ZoneName, zone: &Zone) -> Self {
        let now = zone.settings(kind);
        Self {
            interfaces: zone
                .interfaces
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            input: now.input.as_str().into(),
            forward: now.forward.as_str().into(),
            output: now.output.as_str().into(),
            masquerade: now.masquerade,
            allow_ping: now.allow_ping,
            allow_dhcp_dns: now.allow_dhcp_dns,
            allow_dhcp_client: now.allow_dhcp_client,
        }
    }
}

/// A zone kind from its name in a path or form (`lan`, `wan`, `dmz`, `guest`).
pub fn zone_name(text: &str) -> Option<ZoneName> {
    ZoneName::ALL.into_iter().find(|z| z.as_str() == text)
}

fn policy(text: &str) -> Result<Policy, FwProblem> {
    match text {
        "accept" => Ok(Policy::Accept),
        "drop" => Ok(Policy::Drop),
        "reject" => Ok(Policy::Reject),
        _ => Err(FwProblem::BadChoice),
    }
}

/// The interfaces of a field, each checked as the model checks it ([`InterfaceName`]).
pub fn interfaces(text: &str) -> Result<Vec<InterfaceName>, FwProblem> {
    let out: Vec<InterfaceName> = items(text)
        .map(|i| {
            i.parse::<InterfaceName>()
                .map_err(|_| FwProblem::BadInterface(i.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err(FwProblem::NoInterfaces);
    }
    if out.len() > MAX_INTERFACES {
        return Err(FwProblem::TooManyInterfaces);
    }
    Ok(out)
}

/// The value to write: what was written stays when the form keeps the value in force
/// (a setting left out keeps taking the kind's default), else the form's value.
fn keep<T: PartialEq + Copy>(written: Option<T>, in_force: T, wanted: T) -> Option<T> {
    if wanted == in_force {
        written
    } else {
        Some(wanted)
    }
}

/// Zone `kind` as the form `draft` changes `current`: the new `firewall.zones.<kind>`
/// table. [`FwProblem::NoChange`] when the form keeps everything as it is.
pub fn edit_zone(kind: ZoneName, current: &Zone, draft: &ZoneDraft) -> Result<Zone, FwProblem> {
    let interfaces = interfaces(&draft.interfaces)?;
    let (input, forward, output) = (
        policy(&draft.input)?,
        policy(&draft.forward)?,
        policy(&draft.output)?,
    );
    let now = current.settings(kind);
    let new = Zone {
        interfaces,
        input: keep(current.input, now.input, input),
        forward: keep(current.forward, now.forward, forward),
        output: keep(current.output, now.output, output),
        masquerade: keep(current.masquerade, now.masquerade, draft.masquerade),
        allow_ping: keep(current.allow_ping, now.allow_ping, draft.allow_ping),
        allow_dhcp_dns: keep(
            current.allow_dhcp_dns,
            now.allow_dhcp_dns,
            draft.allow_dhcp_dns,
        ),
        allow_dhcp_client: keep(
            current.allow_dhcp_client,
            now.allow_dhcp_client,
            draft.allow_dhcp_client,
        ),
    };
    if new == *current {
        return Err(FwProblem::NoChange);
    }
    Ok(new)
}

/// Whether changing zone `kind` from `before` to `after` weakens the box's protection:
/// a default action turned to accept, ping or DHCP/DNS or the DHCP client allowed where
/// they were not, or an interface added (its traffic, refused while it was in no zone,
/// gets the zone's treatment). Masquerade on or off, a refusal turned from drop to
/// reject or back, and a removed interface do not weaken it.
pub fn zone_opens(kind: ZoneName, before: &Zone, after: &Zone) -> bool {
    let (b, a) = (before.settings(kind), after.settings(kind));
    let accepts = |was: Policy, is: Policy| was != Policy::Accept && is == Policy::Accept;
    let allows = |was: bool, is: bool| !was && is;
    accepts(b.input, a.input)
        || accepts(b.forward, a.forward)
        || accepts(b.output, a.output)
        || allows(b.allow_ping, a.allow_ping)
        || allows(b.allow_dhcp_dns, a.allow_dhcp_dns)
        || allows(b.allow_dhcp_client, a.allow_dhcp_client)
        || after
            .interfaces
            .iter()
            .any(|i| !before.interfaces.contains(i))
}

/// One set element as typed, checked by the model's own type ([`AddressSpec`]).
pub fn element(text: &str) -> Result<AddressSpec, FwProblem> {
    let t = text.trim();
    t.parse::<AddressSpec>()
        .map_err(|_| match t.parse::<ipnet::IpNet>() {
            Ok(net) if net.trunc() != net => FwProblem::HostBits {
                element: t.to_string(),
                network: net.trunc().to_string(),
            },
            _ => FwProblem::BadElement(t.to_string()),
        })
}

/// Checks that `address` (typed as `typed`) fits `set`: its family, a range in order,
/// a network or range only in an interval set.
fn fits(set: &Set, address: &AddressSpec, typed: &str) -> Result<(), FwProblem> {
    if address.family() != set.family {
        return Err(FwProblem::WrongFamily {
            element: typed.to_string(),
            family: set.family.to_string(),
        });
    }
    let (first, last) = address.bounds();
    if first > last {
        return Err(FwProblem::ReversedRange(typed.to_string()));
    }
    if !set.interval && first != last {
        return Err(FwProblem::NeedsInterval(typed.to_string()));
    }
    Ok(())
}

/// The set named `name` in `sets`.
fn named_set<'a>(sets: &'a mut [Set], name: &str) -> Result<&'a mut Set, FwProblem> {
    sets.iter_mut()
        .find(|s| s.name.as_str() == name)
        .ok_or(FwProblem::NoSuchSet)
}

/// `sets` with the elements of `text` (one a line; blank lines skipped) added to set
/// `name`: the new `firewall.sets` list. Each line must fit the set, and be neither in it
/// already nor overlap an element (the kernel refuses overlapping elements).
pub fn add_elements(sets: &[Set], name: &str, text: &str) -> Result<Vec<Set>, FwProblem> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(FwProblem::NoElements);
    }
    if lines.len() > MAX_ADD_LINES {
        return Err(FwProblem::TooManyLines);
    }
    let mut out = sets.to_vec();
    let set = named_set(&mut out, name)?;
    if set.elements.len() + lines.len() > MAX_SET_ELEMENTS {
        return Err(FwProblem::SetFull);
    }
    for line in lines {
        let address = element(line)?;
        fits(set, &address, line)?;
        if let Some(e) = set.elements.iter().find(|e| e.address.overlaps(&address)) {
            return Err(if e.address == address {
                FwProblem::AlreadyInSet(line.to_string())
            } else {
                FwProblem::Overlaps {
                    element: line.to_string(),
                    other: e.address.to_string(),
                }
            });
        }
        set.elements.push(SetElement {
            address,
            timeout: None,
        });
    }
    Ok(out)
}

/// `sets` without the element `text` in set `name`: the new `firewall.sets` list.
pub fn remove_element(sets: &[Set], name: &str, text: &str) -> Result<Vec<Set>, FwProblem> {
    let address = element(text)?;
    let mut out = sets.to_vec();
    let set = named_set(&mut out, name)?;
    let at = set
        .elements
        .iter()
        .position(|e| e.address == address)
        .ok_or_else(|| FwProblem::NotInSet(text.trim().to_string()))?;
    set.elements.remove(at);
    Ok(out)
}

/// A new zone `name` (`dmz` or `guest`, not yet in `model`) on the interfaces of `text`,
/// with its kind's defaults for the rest. Adding one always asks for the password: its
/// interfaces' traffic, refused while in no zone, gets the zone's treatment.
pub fn add_zone(
    model: &FirewallConfig,
    name: &str,
    text: &str,
) -> Result<(ZoneName, Zone), FwProblem> {
    let kind = match zone_name(name) {
        Some(k @ (ZoneName::Dmz | ZoneName::Guest)) => k,
        Some(_) => return Err(FwProblem::ZoneFixed),
        None => return Err(FwProblem::BadChoice),
    };
    if model.zones.get(kind).is_some() {
        return Err(FwProblem::ZoneThere);
    }
    let interfaces = interfaces(text)?;
    Ok((
        kind,
        Zone {
            interfaces,
            ..Zone::default()
        },
    ))
}

/// What uses zone `kind`: the rules (as their zone or destination zone), the forwardings.
pub fn zone_users(model: &FirewallConfig, kind: ZoneName) -> Vec<String> {
    let mut users: Vec<String> = model
        .rules
        .iter()
        .filter(|r| r.zone == Some(kind) || r.dest_zone == Some(kind))
        .map(|r| r.name.to_string())
        .collect();
    users.extend(
        model
            .forwardings
            .iter()
            .filter(|f| f.from == kind || f.to == kind)
            .map(|f| format!("{} → {}", f.from.as_str(), f.to.as_str())),
    );
    users
}

/// Zone `name` (`dmz` or `guest`) removed from `model`, when nothing uses it.
pub fn remove_zone(model: &FirewallConfig, name: &str) -> Result<ZoneName, FwProblem> {
    let kind = match zone_name(name) {
        Some(k @ (ZoneName::Dmz | ZoneName::Guest)) => k,
        Some(_) => return Err(FwProblem::ZoneFixed),
        None => return Err(FwProblem::BadChoice),
    };
    if model.zones.get(kind).is_none() {
        return Err(FwProblem::ZoneThere);
    }
    let users = zone_users(model, kind);
    if !users.is_empty() {
        return Err(FwProblem::ZoneInUse(users.join(", ")));
    }
    Ok(kind)
}

/// `model`'s forwardings with `from` → `to` added (both zones defined, not the same) or,
/// with `adding` false, removed: the new `firewall.forwardings` list.
pub fn change_forwarding(
    model: &FirewallConfig,
    from: &str,
    to: &str,
    adding: bool,
) -> Result<Vec<Value>, FwProblem> {
    let (Some(from), Some(to)) = (zone_name(from), zone_name(to)) else {
        return Err(FwProblem::BadChoice);
    };
    if from == to {
        return Err(FwProblem::NeedsDestZone);
    }
    if model.zones.get(from).is_none() || model.zones.get(to).is_none() {
        return Err(FwProblem::ZoneThere);
    }
    let there = model
        .forwardings
        .iter()
        .any(|f| f.from == from && f.to == to);
    if there == adding {
        return Err(FwProblem::ForwardingThere);
    }
    let mut list: Vec<(ZoneName, ZoneName)> =
        model.forwardings.iter().map(|f| (f.from, f.to)).collect();
    if adding {
        list.push((from, to));
    } else {
        list.retain(|(f, t)| !(*f == from && *t == to));
    }
    Ok(list
        .into_iter()
        .map(|(f, t)| serde_json::json!({"from": f.as_str(), "to": t.as_str()}))
        .collect())
}

/// The most named sets the panel makes.
pub const MAX_SETS: usize = 64;

/// `sets` with a new, empty set `name` of `family` (`ipv4` or `ipv6`) holding networks
/// and ranges: the new `firewall.sets` list.
pub fn new_set(sets: &[Set], name: &str, family: &str) -> Result<Vec<Set>, FwProblem> {
    let name = name.trim();
    let set_name: mamori_firewall::model::SetName = name.parse().map_err(|_| FwProblem::BadName)?;
    let family = match family {
        "ipv4" => mamori_firewall::model::Family::Ipv4,
        "ipv6" => mamori_firewall::model::Family::Ipv6,
        _ => return Err(FwProblem::BadChoice),
    };
    if sets.iter().any(|s| s.name.as_str() == name) {
        return Err(FwProblem::NameTaken);
    }
    if sets.len() >= MAX_SETS {
        return Err(FwProblem::TooMany);
    }
    let mut out = sets.to_vec();
    out.push(Set {
        name: set_name,
        family,
        interval: true,
        timeout: None,
        elements: Vec::new(),
    });
    Ok(out)
}

/// `model`'s sets without set `name`, which no rule or port forward may use any more.
pub fn delete_set(model: &FirewallConfig, name: &str) -> Result<Vec<Set>, FwProblem> {
    let users = set_users(model, name);
    if !users.is_empty() {
        let names: Vec<String> = users.into_iter().map(|(n, _)| n).collect();
        return Err(FwProblem::SetInUse(names.join(", ")));
    }
    let before = model.sets.len();
    let out: Vec<Set> = model
        .sets
        .iter()
        .filter(|s| s.name.as_str() != name)
        .cloned()
        .collect();
    if out.len() == before {
        return Err(FwProblem::NoSuchSet);
    }
    Ok(out)
}

/// The rules and port forwards that use set `name` (as a source or destination set): each
/// name with what it does with what matches (`accept`, `drop`, `reject`; `forward` for a
/// port forward, which lets it in).
pub fn set_users(model: &FirewallConfig, name: &str) -> Vec<(String, &'static str)> {
    let is = |s: &Option<mamori_firewall::model::SetName>| {
        s.as_ref().is_some_and(|s| s.as_str() == name)
    };
    let rules = model
        .rules
        .iter()
        .filter(|r| is(&r.source_set) || is(&r.destination_set))
        .map(|r| (r.name.to_string(), r.action.as_str()));
    let forwards = model
        .port_forwards
        .iter()
        .filter(|f| is(&f.source_set))
        .map(|f| (f.name.to_string(), "forward"));
    rules.chain(forwards).collect()
}

/// Whether adding to (`adding`) or removing from set `name` weakens the box's protection:
/// adding to a set that an accepting rule or a port forward uses lets more in; removing
/// from one that a dropping or rejecting rule uses lets more through. Switched-off rules
/// count too: they may be switched back on.
pub fn set_change_opens(model: &FirewallConfig, name: &str, adding: bool) -> bool {
    set_users(model, name)
        .iter()
        .any(|(_, does)| matches!(*does, "accept" | "forward") == adding)
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

    fn model(text: &str) -> FirewallConfig {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        serde_json::from_value(v).unwrap()
    }

    fn wan() -> Zone {
        Zone {
            interfaces: vec!["eth0".parse().unwrap()],
            ..Zone::default()
        }
    }

    #[test]
    fn a_zone_form_starts_from_what_is_in_force() {
        let d = ZoneDraft::of(ZoneName::Wan, &wan());
        assert_eq!(
            (d.interfaces.as_str(), d.input.as_str(), d.output.as_str()),
            ("eth0", "drop", "accept")
        );
        assert!(d.masquerade && d.allow_dhcp_client && !d.allow_ping);
        assert_eq!(
            edit_zone(ZoneName::Wan, &wan(), &d),
            Err(FwProblem::NoChange)
        );
    }

    #[test]
    fn a_zone_edit_writes_only_what_changed() {
        let mut d = ZoneDraft::of(ZoneName::Wan, &wan());
        d.input = "reject".into();
        d.interfaces = "eth0, ppp0".into();
        let z = edit_zone(ZoneName::Wan, &wan(), &d).unwrap();
        assert_eq!(z.input, Some(Policy::Reject));
        assert_eq!((z.forward, z.masquerade, z.allow_ping), (None, None, None));
        assert_eq!(
            serde_json::to_value(&z).unwrap(),
            serde_json::json!({"interfaces": ["eth0", "ppp0"], "input": "reject"})
        );
        // A written value the form keeps stays written; back to the default stays written.
        let written = Zone {
            input: Some(Policy::Drop),
            ..wan()
        };
        d = ZoneDraft::of(ZoneName::Wan, &written);
        d.allow_ping = true;
        let z = edit_zone(ZoneName::Wan, &written, &d).unwrap();
        assert_eq!((z.input, z.allow_ping), (Some(Policy::Drop), Some(true)));
    }

    #[test]
    fn bad_zone_forms_name_what_is_wrong() {
        let with = |f: fn(&mut ZoneDraft)| {
            let mut d = ZoneDraft::of(ZoneName::Lan, &wan());
            f(&mut d);
            edit_zone(ZoneName::Lan, &wan(), &d)
        };
        assert_eq!(
            with(|d| d.interfaces = "eth0 et*h".into()),
            Err(FwProblem::BadInterface("et*h".into()))
        );
        assert_eq!(
            with(|d| d.interfaces = "averyveryverylongname".into()),
            Err(FwProblem::BadInterface("averyveryverylongname".into()))
        );
        assert_eq!(
            with(|d| d.interfaces = "eth0;reboot".into()),
            Err(FwProblem::BadInterface("eth0;reboot".into()))
        );
        assert_eq!(
            with(|d| d.interfaces = " , ".into()),
            Err(FwProblem::NoInterfaces)
        );
        assert_eq!(
            with(|d| d.interfaces = (0..17).map(|i| format!("eth{i} ")).collect()),
            Err(FwProblem::TooManyInterfaces)
        );
        assert_eq!(
            with(|d| d.output = "masquerade".into()),
            Err(FwProblem::BadChoice)
        );
        assert_eq!(zone_name("dmz"), Some(ZoneName::Dmz));
        assert_eq!(zone_name("office"), None);
    }

    #[test]
    fn weakening_a_zone_is_told_apart() {
        let opens = |f: fn(&mut ZoneDraft)| {
            let mut d = ZoneDraft::of(ZoneName::Wan, &wan());
            f(&mut d);
            let after = edit_zone(ZoneName::Wan, &wan(), &d).unwrap();
            zone_opens(ZoneName::Wan, &wan(), &after)
        };
        assert!(opens(|d| d.input = "accept".into()));
        assert!(opens(|d| d.forward = "accept".into()));
        assert!(opens(|d| d.allow_ping = true));
        assert!(opens(|d| d.allow_dhcp_dns = true));
        assert!(opens(|d| d.interfaces = "eth0 eth2".into()));
        assert!(!opens(|d| d.masquerade = false));
        assert!(!opens(|d| d.input = "reject".into()));
        assert!(!opens(|d| d.allow_dhcp_client = false));
        // Swapping the interface for another adds one: it opens.
        assert!(opens(|d| d.interfaces = "eth2".into()));
        // On the LAN (accept by default) tightening then loosening back.
        let lan = Zone {
            input: Some(Policy::Drop),
            ..wan()
        };
        let mut d = ZoneDraft::of(ZoneName::Lan, &lan);
        d.input = "accept".into();
        let after = edit_zone(ZoneName::Lan, &lan, &d).unwrap();
        assert!(zone_opens(ZoneName::Lan, &lan, &after));
        assert!(!zone_opens(ZoneName::Lan, &after, &lan));
    }

    fn sets() -> Vec<Set> {
        model(
            r#"{"sets": [
                {"name": "blocked", "family": "ipv4", "elements": ["203.0.113.0/28", "198.51.100.7"]},
                {"name": "hosts", "family": "ipv6", "interval": false}
            ]}"#,
        )
        .sets
    }

    #[test]
    fn elements_are_added_one_a_line() {
        let out = add_elements(&sets(), "blocked", "192.0.2.1\n\n  10.0.0.0/8 \n10.1-10.2").err();
        assert_eq!(out, Some(FwProblem::BadElement("10.1-10.2".into())));
        let out = add_elements(
            &sets(),
            "blocked",
            "192.0.2.1\n 10.0.0.0/8\n172.16.0.1-172.16.0.9",
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&out[0]).unwrap()["elements"],
            serde_json::json!([
                "203.0.113.0/28",
                "198.51.100.7",
                "192.0.2.1",
                "10.0.0.0/8",
                "172.16.0.1-172.16.0.9"
            ])
        );
        assert_eq!(out[1], sets()[1], "the other set is left alone");
        let out = add_elements(&sets(), "hosts", "2001:db8::7").unwrap();
        assert_eq!(out[1].elements.len(), 1);
    }

    #[test]
    fn bad_elements_are_named() {
        let add = |set: &str, text: &str| add_elements(&sets(), set, text).err();
        assert_eq!(
            add("blocked", "192.0.2.1\n192.0.2.300"),
            Some(FwProblem::BadElement("192.0.2.300".into()))
        );
        assert_eq!(
            add("blocked", "192.0.2.1/24"),
            Some(FwProblem::HostBits {
                element: "192.0.2.1/24".into(),
                network: "192.0.2.0/24".into()
            })
        );
        assert_eq!(
            add("blocked", "2001:db8::1"),
            Some(FwProblem::WrongFamily {
                element: "2001:db8::1".into(),
                family: "ipv4".into()
            })
        );
        assert_eq!(
            add("blocked", "10.0.0.9-10.0.0.1"),
            Some(FwProblem::ReversedRange("10.0.0.9-10.0.0.1".into()))
        );
        assert_eq!(
            add("hosts", "2001:db8::/64"),
            Some(FwProblem::NeedsInterval("2001:db8::/64".into()))
        );
        assert_eq!(
            add("blocked", "198.51.100.7"),
            Some(FwProblem::AlreadyInSet("198.51.100.7".into()))
        );
        assert_eq!(
            add("blocked", "203.0.113.5"),
            Some(FwProblem::Overlaps {
                element: "203.0.113.5".into(),
                other: "203.0.113.0/28".into()
            })
        );
        assert_eq!(
            add("blocked", "192.0.2.0/24\n192.0.2.9"),
            Some(FwProblem::Overlaps {
                element: "192.0.2.9".into(),
                other: "192.0.2.0/24".into()
            }),
            "within the form too"
        );
        assert_eq!(add("blocked", " \n \n"), Some(FwProblem::NoElements));
        assert_eq!(add("nope", "192.0.2.1"), Some(FwProblem::NoSuchSet));
    }

    #[test]
    fn set_sizes_are_bounded() {
        let lines = |n: u32, from: u32| -> String {
            (from..from + n)
                .map(|i| format!("10.{}.{}.{}\n", i >> 16 & 255, i >> 8 & 255, i & 255))
                .collect()
        };
        assert_eq!(
            add_elements(&sets(), "blocked", &lines(257, 0)).err(),
            Some(FwProblem::TooManyLines)
        );
        let mut full = sets();
        for chunk in 0..15 {
            full = add_elements(&full, "blocked", &lines(256, chunk * 256)).unwrap();
        }
        assert_eq!(full[0].elements.len(), 2 + 15 * 256);
        assert_eq!(
            add_elements(&full, "blocked", &lines(255, 15 * 256)).err(),
            Some(FwProblem::SetFull)
        );
        let full = add_elements(&full, "blocked", &lines(254, 15 * 256)).unwrap();
        assert_eq!(full[0].elements.len(), MAX_SET_ELEMENTS);
        // Smaller again by a removal.
        let fewer = remove_element(&full, "blocked", "10.0.0.0").unwrap();
        assert_eq!(fewer[0].elements.len(), MAX_SET_ELEMENTS - 1);
    }

    #[test]
    fn elements_are_removed_by_address() {
        let out = remove_element(&sets(), "blocked", " 198.51.100.7 ").unwrap();
        assert_eq!(out[0].elements.len(), 1);
        assert_eq!(
            remove_element(&sets(), "blocked", "198.51.100.8").err(),
            Some(FwProblem::NotInSet("198.51.100.8".into()))
        );
        assert_eq!(
            remove_element(&sets(), "blocked", "x").err(),
            Some(FwProblem::BadElement("x".into()))
        );
        assert_eq!(
            remove_element(&sets(), "nope", "198.51.100.7").err(),
            Some(FwProblem::NoSuchSet)
        );
    }

    #[test]
    fn a_set_change_weakens_by_the_rules_that_use_it() {
        let m = model(
            r#"{"sets": [{"name": "blocked", "family": "ipv4"}, {"name": "partners", "family": "ipv4"},
                         {"name": "spare", "family": "ipv4"}, {"name": "nas", "family": "ipv4"}],
                "rules": [{"name": "drop-blocked", "source_set": "blocked", "action": "drop"},
                          {"name": "partners-in", "zone": "wan", "destination_set": "partners", "action": "accept", "enabled": false}],
                "port_forwards": [{"name": "nas", "external_port": 8443, "internal_address": "192.168.1.5", "source_set": "nas"}]}"#,
        );
        assert!(!set_change_opens(&m, "blocked", true));
        assert!(set_change_opens(&m, "blocked", false));
        assert!(set_change_opens(&m, "partners", true));
        assert!(!set_change_opens(&m, "partners", false));
        assert!(set_change_opens(&m, "nas", true));
        assert!(!set_change_opens(&m, "spare", true) && !set_change_opens(&m, "spare", false));
        assert_eq!(set_users(&m, "nas"), vec![("nas".to_string(), "forward")]);
        assert_eq!(
            set_users(&m, "blocked"),
            vec![("drop-blocked".to_string(), "drop")]
        );
    }

    #[test]
    fn sets_are_made_empty_and_deleted_only_when_unused() {
        let made = new_set(&[], "blocklist", "ipv4").unwrap();
        assert_eq!(made.len(), 1);
        assert!(made[0].elements.is_empty() && made[0].interval);
        assert_eq!(
            new_set(&made, "blocklist", "ipv6"),
            Err(FwProblem::NameTaken)
        );
        assert_eq!(new_set(&made, "bad name!", "ipv4"), Err(FwProblem::BadName));
        assert_eq!(new_set(&made, "mamori_x", "ipv4"), Err(FwProblem::BadName));
        assert_eq!(new_set(&made, "other", "ipx"), Err(FwProblem::BadChoice));
        let model = FirewallConfig {
            sets: made,
            ..FirewallConfig::default()
        };
        assert_eq!(delete_set(&model, "blocklist").unwrap(), Vec::new());
        assert_eq!(delete_set(&model, "nothing"), Err(FwProblem::NoSuchSet));
        let model = self::model(
            r#"{"sets": [{"name": "blocklist", "family": "ipv4"}],
                "rules": [{"name": "block", "source_set": "blocklist", "action": "drop"}]}"#,
        );
        assert!(matches!(
            delete_set(&model, "blocklist"),
            Err(FwProblem::SetInUse(users)) if users.contains("block")
        ));
    }

    #[test]
    fn zones_are_added_and_removed_and_forwardings_changed() {
        let m = model(
            r#"{"zones": {"lan": {"interfaces": ["eth1"]}, "wan": {"interfaces": ["eth0"]}},
                "rules": [{"name": "to-dmz", "zone": "wan", "dest_zone": "dmz", "direction": "forward", "action": "drop"}]}"#,
        );
        let (kind, zone) = add_zone(&m, "dmz", "eth2").unwrap();
        assert_eq!(kind, ZoneName::Dmz);
        assert_eq!(zone.interfaces.len(), 1);
        assert_eq!(add_zone(&m, "lan", "eth2"), Err(FwProblem::ZoneFixed));
        assert_eq!(add_zone(&m, "moon", "eth2"), Err(FwProblem::BadChoice));
        assert!(matches!(
            add_zone(&m, "guest", "eth/2"),
            Err(FwProblem::BadInterface(_))
        ));
        assert_eq!(remove_zone(&m, "dmz"), Err(FwProblem::ZoneThere));
        assert_eq!(remove_zone(&m, "wan"), Err(FwProblem::ZoneFixed));
        let with_dmz = model(
            r#"{"zones": {"dmz": {"interfaces": ["eth2"]}},
                "forwardings": [{"from": "lan", "to": "wan"}, {"from": "lan", "to": "dmz"}],
                "rules": [{"name": "to-dmz", "zone": "wan", "dest_zone": "dmz", "direction": "forward", "action": "drop"}]}"#,
        );
        assert!(matches!(
            remove_zone(&with_dmz, "dmz"),
            Err(FwProblem::ZoneInUse(u)) if u.contains("to-dmz") && u.contains("lan → dmz")
        ));
        let list = change_forwarding(&with_dmz, "dmz", "wan", true).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2], serde_json::json!({"from": "dmz", "to": "wan"}));
        assert_eq!(
            change_forwarding(&with_dmz, "lan", "dmz", true),
            Err(FwProblem::ForwardingThere)
        );
        assert_eq!(
            change_forwarding(&with_dmz, "lan", "dmz", false)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            change_forwarding(&with_dmz, "lan", "guest", true),
            Err(FwProblem::ZoneThere)
        );
        assert_eq!(
            change_forwarding(&with_dmz, "lan", "lan", true),
            Err(FwProblem::NeedsDestZone)
        );
    }
}
