//! A [`Plan`] → nftnl objects in one [`nftnl::Batch`], with a description of every message
//! so that a refusal names its object.

use std::ffi::{CStr, CString};

use nftnl::expr::{
    Bitwise, Cmp, Conntrack, Counter, IcmpCode, Immediate, Masquerade, Meta, Register,
    RejectionType, Verdict as NfVerdict,
};
use nftnl::nftnl_sys::libc;
use nftnl::{Batch, Chain, ChainType, FinalizedBatch, Hook, MsgType, NlMsg, Policy, ProtoFamily};

use super::NetlinkError;
use super::ext::expr::{Dnat, DynsetLimit, FibDaddr, Limit, Log, Lookup, Payload, Redirect};
use super::ext::set::{Elem, RawSet, SetAttrs};
use super::plan::{ChainPlan, CmpOp, CtKey, Low, MetaKey, Plan, RulePlan, SetPlan};
use mamori_firewall::ir::{self, ChainPolicy, ChainType as IrChainType, RejectWith};
use mamori_firewall::model::Family;

/// `NFPROTO_INET`.
pub const INET: u16 = libc::NFPROTO_INET as u16;

/// A finished batch and what each of its messages (in order) is about.
pub struct Built {
    /// The batch, begin and end messages included.
    pub batch: FinalizedBatch,
    /// One description per message between begin and end.
    pub what: Vec<String>,
}

/// Collects messages and their descriptions.
pub struct Builder {
    batch: Batch,
    what: Vec<String>,
}

impl Builder {
    /// An empty batch.
    pub fn new() -> Self {
        Self {
            batch: Batch::new(),
            what: Vec::new(),
        }
    }

    /// Adds one message.
    pub fn add<T: NlMsg>(&mut self, msg: &T, kind: MsgType, what: impl Into<String>) {
        self.batch.add(msg, kind);
        self.what.push(what.into());
    }

    /// True when no message was added.
    pub fn is_empty(&self) -> bool {
        self.what.is_empty()
    }

    /// Ends the batch.
    pub fn finish(self) -> Built {
        Built {
            batch: self.batch.finalize(),
            what: self.what,
        }
    }
}

/// The name as a C string.
pub fn cstring(name: &str) -> Result<CString, NetlinkError> {
    CString::new(name).map_err(|_| NetlinkError::BadName(name.to_string()))
}

/// The table's name.
pub fn table_name() -> Result<CString, NetlinkError> {
    cstring(ir::TABLE_NAME)
}

/// The replacing batch: add table (creates it if missing), delete it, add it, then its
/// sets with their elements, its chains, and its rules (each after its anonymous sets).
pub fn replace(plan: &Plan) -> Result<Built, NetlinkError> {
    let name = table_name()?;
    let table = nftnl::Table::new(&name, ProtoFamily::Inet);
    let mut b = Builder::new();
    let t = ir::TABLE_NAME;
    b.add(
        &table,
        MsgType::Add,
        format!("table inet {t} (ensure it exists)"),
    );
    b.add(&table, MsgType::Del, format!("delete of table inet {t}"));
    b.add(&table, MsgType::Add, format!("table inet {t}"));
    for set in &plan.sets {
        add_set(&mut b, &name, set, &format!("set {}", set.name))?;
    }
    let chains = plan
        .chains
        .iter()
        .map(|c| chain(&table, c))
        .collect::<Result<Vec<_>, _>>()?;
    for (c, p) in chains.iter().zip(&plan.chains) {
        b.add(c, MsgType::Add, format!("chain {}", p.name));
    }
    for (c, p) in chains.iter().zip(&plan.chains) {
        for (i, r) in p.rules.iter().enumerate() {
            let what = rule_name(&p.name, i, r);
            for s in &r.anon_sets {
                add_set(&mut b, &name, s, &format!("anonymous set of {what}"))?;
            }
            let rule = rule(c, r)?;
            b.add(&rule, MsgType::Add, what);
        }
    }
    Ok(b.finish())
}

fn rule_name(chain: &str, index: usize, r: &RulePlan) -> String {
    match &r.comment {
        Some(c) => format!("rule {} of chain {chain} ({c:?})", index + 1),
        None => format!("rule {} of chain {chain}", index + 1),
    }
}

/// Adds a set and its element messages.
pub fn add_set(b: &mut Builder, table: &CStr, s: &SetPlan, what: &str) -> Result<(), NetlinkError> {
    let name = cstring(&s.name)?;
    let attrs = SetAttrs {
        name: &name,
        id: s.id,
        flags: s.flags,
        key_type: s.key.type_id,
        key_len: s.key.len,
        key_byteorder: s.key.byteorder,
        timeout_ms: s.timeout_ms,
        size: s.size,
    };
    let raw = RawSet::new(table, INET, &attrs, &s.elements);
    b.add(&raw, MsgType::Add, what.to_string());
    for (i, m) in raw.elem_messages().enumerate() {
        b.add(
            &m,
            MsgType::Add,
            format!("elements of {what} (message {})", i + 1),
        );
    }
    Ok(())
}

/// Adds element messages (add or delete) for an existing named set.
pub fn set_elements(
    b: &mut Builder,
    table: &CStr,
    set: &str,
    elements: &[Elem],
    kind: MsgType,
) -> Result<(), NetlinkError> {
    let name = cstring(set)?;
    let raw = RawSet::elements_of(table, INET, &name, elements);
    let verb = match kind {
        MsgType::Add => "adding",
        MsgType::Del => "deleting",
    };
    for (i, m) in raw.elem_messages().enumerate() {
        b.add(
            &m,
            kind,
            format!("{verb} elements of set {set} (message {})", i + 1),
        );
    }
    Ok(())
}

fn chain<'a>(table: &'a nftnl::Table, p: &ChainPlan) -> Result<Chain<'a>, NetlinkError> {
    let mut c = Chain::new(cstring(&p.name)?, table);
    if let Some(base) = &p.base {
        c.set_type(match base.kind {
            IrChainType::Filter => ChainType::Filter,
            IrChainType::Nat => ChainType::Nat,
        });
        let hook = match base.hook {
            ir::Hook::Prerouting => Hook::PreRouting,
            ir::Hook::Input => Hook::In,
            ir::Hook::Forward => Hook::Forward,
            ir::Hook::Output => Hook::Out,
            ir::Hook::Postrouting => Hook::PostRouting,
        };
        c.set_hook(hook, base.priority);
        c.set_policy(match base.policy {
            ChainPolicy::Accept => Policy::Accept,
            ChainPolicy::Drop => Policy::Drop,
        });
    }
    Ok(c)
}

/// nftnl's comment buffer holds 128 bytes including its 2-byte header and the NUL.
const MAX_NFTNL_COMMENT: usize = 125;

fn rule<'a>(chain: &'a Chain<'a>, p: &RulePlan) -> Result<nftnl::Rule<'a>, NetlinkError> {
    let mut r = nftnl::Rule::new(chain);
    for low in &p.exprs {
        add_low(&mut r, low)?;
    }
    if let Some(comment) = &p.comment {
        let mut text = comment.as_str();
        if text.len() > MAX_NFTNL_COMMENT {
            let mut end = MAX_NFTNL_COMMENT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text = &text[..end];
        }
        r.set_comment(cstring(text)?)
            .map_err(|e| NetlinkError::BadName(format!("{text}: {e}")))?;
    }
    Ok(r)
}

fn register(n: u32) -> Register {
    match n {
        2 => Register::Reg2,
        3 => Register::Reg3,
        4 => Register::Reg4,
        _ => Register::Reg1,
    }
}

fn immediate(r: &mut nftnl::Rule<'_>, reg: u32, data: &[u8]) -> Result<(), NetlinkError> {
    let reg = register(reg);
    if let Ok(d) = <[u8; 2]>::try_from(data) {
        r.add_expr(&Immediate::new(d, reg));
    } else if let Ok(d) = <[u8; 4]>::try_from(data) {
        r.add_expr(&Immediate::new(d, reg));
    } else if let Ok(d) = <[u8; 16]>::try_from(data) {
        r.add_expr(&Immediate::new(d, reg));
    } else {
        return Err(NetlinkError::Malformed(format!(
            "immediate of {} bytes",
            data.len()
        )));
    }
    Ok(())
}

fn add_low(r: &mut nftnl::Rule<'_>, low: &Low) -> Result<(), NetlinkError> {
    match low {
        Low::Meta(k) => r.add_expr(&match k {
            MetaKey::IifName => Meta::IifName,
            MetaKey::OifName => Meta::OifName,
            MetaKey::NfProto => Meta::NfProto,
            MetaKey::L4Proto => Meta::L4Proto,
        }),
        Low::Cmp(op, data) => {
            let op = match op {
                CmpOp::Eq => nftnl::expr::CmpOp::Eq,
                CmpOp::Neq => nftnl::expr::CmpOp::Neq,
                CmpOp::Gte => nftnl::expr::CmpOp::Gte,
                CmpOp::Lte => nftnl::expr::CmpOp::Lte,
            };
            r.add_expr(&Cmp::new(op, data.as_slice()));
        }
        Low::Payload { base, offset, len } => r.add_expr(&Payload {
            base: *base,
            offset: *offset,
            len: *len,
        }),
        Low::Bitwise(mask) => {
            let xor = vec![0u8; mask.len()];
            r.add_expr(&Bitwise::new(mask.as_slice(), xor.as_slice()));
        }
        Low::Lookup { set, id } => r.add_expr(&Lookup {
            set: cstring(set)?,
            set_id: *id,
        }),
        Low::Ct(k) => r.add_expr(&match k {
            CtKey::State => Conntrack::State,
            CtKey::Status => Conntrack::Status,
        }),
        Low::Fib(result) => r.add_expr(&FibDaddr(*result)),
        Low::Counter => r.add_expr(&Counter),
        Low::Limit {
            rate,
            unit_secs,
            burst,
            over,
        } => r.add_expr(&Limit {
            rate: *rate,
            unit_secs: *unit_secs,
            burst: *burst,
            over: *over,
        }),
        Low::Log { prefix, level } => r.add_expr(&Log {
            prefix: cstring(prefix)?,
            level: *level,
        }),
        Low::MeterOver {
            set,
            id,
            rate,
            unit_secs,
            burst,
        } => r.add_expr(&DynsetLimit {
            set: cstring(set)?,
            set_id: *id,
            limit: Limit {
                rate: *rate,
                unit_secs: *unit_secs,
                burst: *burst,
                over: true,
            },
        }),
        Low::Immediate { reg, data } => immediate(r, *reg, data)?,
        Low::Dnat {
            family,
            port,
            port_range,
        } => r.add_expr(&Dnat {
            family: match family {
                Family::Ipv4 => libc::NFPROTO_IPV4 as u32,
                Family::Ipv6 => libc::NFPROTO_IPV6 as u32,
            },
            proto_min_reg: port.then_some(2),
            proto_max_reg: port_range.then_some(3),
        }),
        Low::Redirect => r.add_expr(&Redirect),
        Low::Masquerade => r.add_expr(&Masquerade),
        Low::Reject(RejectWith::TcpReset) => r.add_expr(&NfVerdict::Reject(RejectionType::TcpRst)),
        Low::Reject(RejectWith::IcmpxPortUnreachable) => r.add_expr(&NfVerdict::Reject(
            RejectionType::Icmp(IcmpCode::PortUnreach),
        )),
        Low::Accept => r.add_expr(&NfVerdict::Accept),
        Low::Drop => r.add_expr(&NfVerdict::Drop),
        Low::Jump(c) => r.add_expr(&NfVerdict::Jump { chain: cstring(c)? }),
        Low::Goto(c) => r.add_expr(&NfVerdict::Goto { chain: cstring(c)? }),
    }
    Ok(())
}
