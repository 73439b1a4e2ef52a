//! Named address sets (block lists, allow lists) that rules refer to as `source_set` or
//! `destination_set`. Their contents can be replaced on their own, without rebuilding the
//! rules (see [`crate::render::set_update`]).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::names::SetName;
use super::values::{AddressSpec, Family, Timeout};

/// A named set of addresses of one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    /// The set's name, unique; rendered as is.
    pub name: SetName,
    /// `ipv4` or `ipv6`: a kernel set holds one address type.
    pub family: Family,
    /// Hold networks and ranges, not only single addresses (default yes: a block list
    /// grows CIDRs; the kernel cannot change this without rebuilding the set).
    #[serde(default = "yes")]
    pub interval: bool,
    /// Elements expire this long after they are added, unless they say otherwise. Also
    /// lets timed elements be added later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// The elements: `"203.0.113.0/24"`, `"198.51.100.7"`, `"10.0.0.1-10.0.0.9"`, or
    /// `{ address = "198.51.100.9", timeout = "1h" }`.
    #[serde(default)]
    pub elements: Vec<SetElement>,
}

fn yes() -> bool {
    true
}

impl Set {
    /// True when elements can expire (a default timeout, or a timed element).
    pub fn has_timeouts(&self) -> bool {
        self.timeout.is_some() || self.elements.iter().any(|e| e.timeout.is_some())
    }
}

/// One element of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetElement {
    /// The address, network or range.
    pub address: AddressSpec,
    /// When it expires, if not at the set's default.
    pub timeout: Option<Timeout>,
}

impl Serialize for SetElement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.timeout {
            None => self.address.serialize(s),
            Some(timeout) => Timed {
                address: self.address,
                timeout,
            }
            .serialize(s),
        }
    }
}

/// The table form of an element.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Timed {
    address: AddressSpec,
    timeout: Timeout,
}

impl<'de> Deserialize<'de> for SetElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SetElement;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address, network or range, or { address = ..., timeout = ... }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SetElement, E> {
                Ok(SetElement {
                    address: v.parse().map_err(E::custom)?,
                    timeout: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SetElement, A::Error> {
                let t = Timed::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(SetElement {
                    address: t.address,
                    timeout: Some(t.timeout),
                })
            }
        }
        d.deserialize_any(V)
    }
}
