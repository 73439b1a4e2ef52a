//! Which address families a rule or port forward can match, from its protocol, addresses
//! and sets: validation refuses an item with none, and the builder renders the item once
//! per family (or once for both when nothing ties it to one).

use crate::model::{AddressSpec, Family, FirewallConfig, Protocol, Rule, SetName};

/// The families an item applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Nothing ties the item to a family: one rendering, without `meta nfproto`.
    Any,
    /// Only these families (possibly none, when constraints contradict).
    Only(Vec<Family>),
}

/// Narrows a family list by one constraint: the families present in it.
fn narrow(families: &mut Option<Vec<Family>>, present: &[Family]) {
    let current = families.get_or_insert_with(|| Family::BOTH.to_vec());
    current.retain(|f| present.contains(f));
}

fn address_families(specs: &[AddressSpec]) -> Vec<Family> {
    Family::BOTH
        .into_iter()
        .filter(|f| specs.iter().any(|s| s.family() == *f))
        .collect()
}

/// The scope of an item with this protocol family, these address lists and sets. An
/// undefined set is no constraint here (validation reports it on its own).
pub(crate) fn scope(
    cfg: &FirewallConfig,
    protocol_family: Option<Family>,
    addresses: &[&[AddressSpec]],
    sets: &[Option<&SetName>],
) -> Scope {
    let mut families: Option<Vec<Family>> = None;
    if let Some(f) = protocol_family {
        narrow(&mut families, &[f]);
    }
    for list in addresses.iter().filter(|l| !l.is_empty()) {
        narrow(&mut families, &address_families(list));
    }
    for set in sets.iter().flatten() {
        if let Some(s) = cfg.set(set) {
            narrow(&mut families, &[s.family]);
        }
    }
    match families {
        None => Scope::Any,
        Some(f) => Scope::Only(f),
    }
}

/// The scope of an operator rule.
pub(crate) fn rule_scope(cfg: &FirewallConfig, rule: &Rule) -> Scope {
    let protocol_family = match rule.protocol {
        Protocol::Icmp => Some(Family::Ipv4),
        Protocol::Icmpv6 => Some(Family::Ipv6),
        _ => None,
    };
    scope(
        cfg,
        protocol_family,
        &[&rule.source, &rule.destination],
        &[rule.source_set.as_ref(), rule.destination_set.as_ref()],
    )
}
