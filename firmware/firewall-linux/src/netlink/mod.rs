//! The netlink back end: the IR applied to the kernel with `nftnl` batches over an `mnl`
//! socket, in the caller's network namespace (needs `CAP_NET_ADMIN`).
//!
//! [`apply`] replaces the whole `inet mamori` table in one batch, one kernel transaction:
//!
//! ```text
//! NEWTABLE inet mamori          (creates it if missing, so that the delete cannot fail)
//! DELTABLE inet mamori          (with every chain, rule and set)
//! NEWTABLE inet mamori
//! NEWSET + NEWSETELEM…          named sets and their elements
//! NEWCHAIN…                     every chain (base chains with hook, priority, policy)
//! NEWSET + NEWSETELEM, NEWRULE… each rule after the anonymous sets it looks up
//! ```
//!
//! Every message asks for an acknowledgement and every answer is checked (as nftnl's
//! `add-rules` example and Mullvad's talpid-core do): a refusal names the object and the
//! kernel's errno, and since the batch is one transaction the running table is untouched.
//! The batch goes out in one `sendmsg`, with the socket's buffers sized for it.
//!
//! The layers: [`plan`] (IR → kernel objects as plain data, pure), [`encode`] (plan →
//! nftnl objects in a batch), [`transport`] (send, acknowledgements, dumps) and [`ext`],
//! the one module with `unsafe`: the expressions and set features nftnl 0.9 lacks, over
//! `nftnl-sys`.

mod encode;
mod error;
pub mod ext;
pub mod plan;
mod transport;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use nftnl::MsgType;

pub use error::NetlinkError;

use encode::{Builder, INET};
use mamori_firewall::ir::{Set, TABLE_NAME, Table};
use mamori_firewall::model::{AddressSpec, SetElement};
use transport::Conn;

/// What [`apply`] sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyReport {
    /// Messages in the batch (begin and end not counted), each acknowledged.
    pub messages: usize,
    /// Bytes sent.
    pub bytes: usize,
}

/// Replaces the `inet mamori` table with `table`, atomically.
pub fn apply(table: &Table) -> Result<ApplyReport, NetlinkError> {
    let built = encode::replace(&plan::plan(table))?;
    let report = ApplyReport {
        messages: built.what.len(),
        bytes: built.batch.iter().map(<[u8]>::len).sum(),
    };
    Conn::open()?.send_batch(&built)?;
    Ok(report)
}

/// Deletes the `inet mamori` table. Returns false when there was none.
pub fn delete_table() -> Result<bool, NetlinkError> {
    let name = encode::table_name()?;
    let table = nftnl::Table::new(&name, nftnl::ProtoFamily::Inet);
    let mut b = Builder::new();
    b.add(
        &table,
        MsgType::Del,
        format!("delete of table inet {TABLE_NAME}"),
    );
    match Conn::open()?.send_batch(&b.finish()) {
        Ok(()) => Ok(true),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Changes the elements of the named set `set` (as declared in the IR: its family and
/// flags) without touching the rules, in one transaction: `remove` first, then `add`.
/// Elements to remove must be present as written (a range as a whole); elements to add
/// that are present already are left alone.
pub fn update_set(
    set: &Set,
    add: &[SetElement],
    remove: &[SetElement],
) -> Result<(), NetlinkError> {
    let name = encode::table_name()?;
    let mut b = Builder::new();
    if !remove.is_empty() {
        let elems = plan::set_elements(set, remove, false);
        encode::set_elements(&mut b, &name, &set.name, &elems, MsgType::Del)?;
    }
    if !add.is_empty() {
        let elems = plan::set_elements(set, add, false);
        encode::set_elements(&mut b, &name, &set.name, &elems, MsgType::Add)?;
    }
    if b.is_empty() {
        return Ok(());
    }
    Conn::open()?.send_batch(&b.finish())
}

/// One rule's counter, as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCounter {
    /// The chain.
    pub chain: String,
    /// The kernel's handle of the rule (stable until the table is replaced).
    pub handle: u64,
    /// The rule's comment (operator rule name or what the built-in is for).
    pub comment: Option<String>,
    /// Packets counted.
    pub packets: u64,
    /// Bytes counted.
    pub bytes: u64,
}

/// Every rule of `inet mamori` that has a counter, in the kernel's order (chain by chain).
pub fn rule_counters() -> Result<Vec<RuleCounter>, NetlinkError> {
    let name = encode::table_name()?;
    let request = ext::dump::rule_dump_request(1, &name, INET);
    let messages =
        Conn::open()?.dump(&request, &format!("the rules of table inet {TABLE_NAME}"))?;
    let mut out = Vec::new();
    for msg in messages {
        let rule = ext::dump::parse_rule(&msg)
            .ok_or_else(|| NetlinkError::Malformed("a rule that does not parse".into()))?;
        let comment = rule_comment(&rule.userdata);
        for (packets, bytes) in rule.counters {
            out.push(RuleCounter {
                chain: rule.chain.clone(),
                handle: rule.handle,
                comment: comment.clone(),
                packets,
                bytes,
            });
        }
    }
    Ok(out)
}

/// The comment TLV (`NFTNL_UDATA_RULE_COMMENT`, type 0, NUL-terminated) in rule user data.
pub fn rule_comment(userdata: &[u8]) -> Option<String> {
    let mut rest = userdata;
    while let [kind, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let value = tail.get(..len)?;
        if *kind == 0 {
            let text = value.split(|b| *b == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        rest = &tail[len..];
    }
    None
}

/// One element of a named set, as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementState {
    /// The address, network or range.
    pub address: AddressSpec,
    /// Its own timeout in milliseconds, if it has one.
    pub timeout_ms: Option<u64>,
    /// Milliseconds until it expires, if it expires.
    pub expires_ms: Option<u64>,
}

/// The elements of the named set `set` of `inet mamori`, sorted, ranges joined.
pub fn set_elements(set: &str) -> Result<Vec<ElementState>, NetlinkError> {
    let name = encode::table_name()?;
    let set_name = encode::cstring(set)?;
    let request = ext::dump::set_elems_dump_request(1, &name, INET, &set_name);
    let messages = Conn::open()?.dump(&request, &format!("the elements of set {set}"))?;
    let mut raw = Vec::new();
    for msg in messages {
        raw.extend(
            ext::dump::parse_set_elems(&msg)
                .ok_or_else(|| NetlinkError::Malformed("set elements that do not parse".into()))?,
        );
    }
    decode_elements(raw)
}

/// Kernel elements → addresses: an interval set's start and `INTERVAL_END` elements are
/// paired (`[start, end - 1]`), its leading zero end element dropped.
fn decode_elements(mut raw: Vec<ext::dump::ElemDump>) -> Result<Vec<ElementState>, NetlinkError> {
    const END: u32 = 1; // NFT_SET_ELEM_INTERVAL_END
    // Ends sort before starts of the same key (a range ending where the next begins).
    raw.sort_by(|a, b| (&a.key, a.flags & END == 0).cmp(&(&b.key, b.flags & END == 0)));
    let interval = raw.iter().any(|e| e.flags & END != 0);
    let mut out = Vec::new();
    let mut open: Option<ext::dump::ElemDump> = None;
    for e in raw {
        if e.flags & END != 0 {
            if let Some(start) = open.take() {
                let last = predecessor(&e.key);
                out.push(state(&start, &last)?);
            }
        } else if interval {
            if let Some(start) = open.replace(e) {
                // A start without an end before the next start: runs to the top.
                out.push(state(&start, &vec![0xff; start.key.len()])?);
            }
        } else {
            out.push(state(&e, &e.key)?);
        }
    }
    if let Some(start) = open {
        out.push(state(&start, &vec![0xff; start.key.len()])?);
    }
    Ok(out)
}

fn predecessor(key: &[u8]) -> Vec<u8> {
    let mut out = key.to_vec();
    for b in out.iter_mut().rev() {
        if *b == 0 {
            *b = 0xff;
        } else {
            *b -= 1;
            break;
        }
    }
    out
}

fn ip(key: &[u8]) -> Result<IpAddr, NetlinkError> {
    if let Ok(a) = <[u8; 4]>::try_from(key) {
        Ok(IpAddr::V4(Ipv4Addr::from(a)))
    } else if let Ok(a) = <[u8; 16]>::try_from(key) {
        Ok(IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        Err(NetlinkError::Malformed(format!(
            "a set key of {} bytes is no address",
            key.len()
        )))
    }
}

fn state(start: &ext::dump::ElemDump, last: &[u8]) -> Result<ElementState, NetlinkError> {
    let (a, b) = (ip(&start.key)?, ip(last)?);
    let address = match IpNet::new(a, common_prefix(&start.key, last)) {
        Ok(net) if net.network() == a && net.broadcast() == b => AddressSpec::Net(net),
        _ => AddressSpec::Range(a, b),
    };
    Ok(ElementState {
        address,
        timeout_ms: start.timeout_ms,
        expires_ms: start.expires_ms,
    })
}

/// The number of leading bits `a` and `b` share.
fn common_prefix(a: &[u8], b: &[u8]) -> u8 {
    let mut bits = 0u8;
    for (x, y) in a.iter().zip(b) {
        let diff = x ^ y;
        if diff == 0 {
            bits += 8;
        } else {
            bits += diff.leading_zeros() as u8;
            break;
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use ext::dump::ElemDump;

    fn e(key: [u8; 4], flags: u32) -> ElemDump {
        ElemDump {
            key: key.to_vec(),
            flags,
            timeout_ms: None,
            expires_ms: None,
        }
    }

    #[test]
    fn comments_come_out_of_user_data() {
        assert_eq!(
            rule_comment(b"\x00\x09loopback\x00").as_deref(),
            Some("loopback")
        );
        assert_eq!(
            rule_comment(b"\x01\x01x\x00\x03ab\x00").as_deref(),
            Some("ab")
        );
        assert_eq!(rule_comment(b"\x00\x09lo"), None);
        assert_eq!(rule_comment(b""), None);
    }

    #[test]
    fn interval_elements_pair_into_ranges_and_networks() {
        let raw = vec![
            e([203, 0, 114, 0], 1),
            e([0, 0, 0, 0], 1),
            e([192, 0, 2, 10], 0),
            e([198, 51, 100, 8], 1),
            e([192, 0, 2, 20], 1),
            e([198, 51, 100, 7], 0),
            e([203, 0, 113, 0], 0),
        ];
        let got: Vec<String> = decode_elements(raw)
            .unwrap()
            .iter()
            .map(|s| s.address.to_string())
            .collect();
        assert_eq!(
            got,
            ["192.0.2.10-192.0.2.19", "198.51.100.7", "203.0.113.0/24"]
        );
        let plain = decode_elements(vec![e([10, 0, 0, 2], 0), e([10, 0, 0, 1], 0)]).unwrap();
        assert_eq!(plain[0].address.to_string(), "10.0.0.1");
        assert_eq!(plain.len(), 2);
    }
}
