//! nftables expressions nftnl 0.9 lacks, as implementations of its `Expression` trait.
//! Each sets exactly the attributes `nft` 1.0 sets for the same statement, so that the
//! kernel holds (and `nft list` prints) the same rule whichever tool loaded it.

use std::ffi::{CString, c_void};
use std::ptr::NonNull;

use nftnl::Rule;
use nftnl::expr::Expression;
use nftnl::nftnl_sys as sys;

use super::alloc_or_abort;

/// `NFT_REG_1`: the register every load and compare of this crate uses.
const REG_1: u32 = 1;
/// `NF_NAT_RANGE_PROTO_SPECIFIED`: the nat/redir expression has a port.
const NAT_RANGE_PROTO_SPECIFIED: u32 = 2;

/// Allocates an expression of that kind (`"limit"`, `"log"`…).
fn alloc(kind: &std::ffi::CStr) -> NonNull<sys::nftnl_expr> {
    // SAFETY: `kind` is a valid NUL-terminated string for the duration of the call;
    // libnftnl returns a new expression or null (handled by `alloc_or_abort`).
    alloc_or_abort(unsafe { sys::nftnl_expr_alloc(kind.as_ptr()) })
}

fn set_u32(e: NonNull<sys::nftnl_expr>, attr: u32, value: u32) {
    // SAFETY: `e` is a live expression allocated by `alloc`; libnftnl ignores attributes
    // unknown to the expression kind (all used here are known).
    unsafe { sys::nftnl_expr_set_u32(e.as_ptr(), attr as u16, value) }
}

fn set_u64(e: NonNull<sys::nftnl_expr>, attr: u32, value: u64) {
    // SAFETY: as in `set_u32`.
    unsafe { sys::nftnl_expr_set_u64(e.as_ptr(), attr as u16, value) }
}

fn set_str(e: NonNull<sys::nftnl_expr>, attr: u32, value: &CString) {
    // SAFETY: `e` is live; `value` is NUL-terminated and outlives the call (libnftnl
    // copies the string with strdup).
    unsafe { sys::nftnl_expr_set_str(e.as_ptr(), attr as u16, value.as_ptr()) };
}

/// Where a payload load starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadBase {
    /// `NFT_PAYLOAD_NETWORK_HEADER`.
    Network,
    /// `NFT_PAYLOAD_TRANSPORT_HEADER`.
    Transport,
}

/// `payload load LEN b @ BASE + OFFSET => reg 1` (offsets and lengths in bytes; nftnl's own
/// `Raw` variants take bytes but call them bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// The header the offset is counted from.
    pub base: PayloadBase,
    /// Offset in bytes.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Expression for Payload {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"payload");
        let base = match self.base {
            PayloadBase::Network => 1,   // NFT_PAYLOAD_NETWORK_HEADER
            PayloadBase::Transport => 2, // NFT_PAYLOAD_TRANSPORT_HEADER
        };
        set_u32(e, sys::NFTNL_EXPR_PAYLOAD_DREG, REG_1);
        set_u32(e, sys::NFTNL_EXPR_PAYLOAD_BASE, base);
        set_u32(e, sys::NFTNL_EXPR_PAYLOAD_OFFSET, self.offset);
        set_u32(e, sys::NFTNL_EXPR_PAYLOAD_LEN, self.len);
        e
    }
}

/// `lookup reg 1 set NAME`: a set referred to by name and by its id in the transaction
/// (how an anonymous set `__set%d` added in the same batch is found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The set's name (`__set%d` for an anonymous one).
    pub set: CString,
    /// The set's id in this batch.
    pub set_id: u32,
}

impl Expression for Lookup {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"lookup");
        set_u32(e, sys::NFTNL_EXPR_LOOKUP_SREG, REG_1);
        set_str(e, sys::NFTNL_EXPR_LOOKUP_SET, &self.set);
        set_u32(e, sys::NFTNL_EXPR_LOOKUP_SET_ID, self.set_id);
        e
    }
}

/// `limit rate [over] RATE/UNIT burst BURST packets`: a token bucket in packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Packets per unit.
    pub rate: u64,
    /// The unit in seconds (1, 60, 3600, 86400).
    pub unit_secs: u64,
    /// Burst in packets.
    pub burst: u32,
    /// `NFT_LIMIT_F_INV`: match beyond the rate (`over`).
    pub over: bool,
}

impl Limit {
    fn build(&self) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"limit");
        set_u64(e, sys::NFTNL_EXPR_LIMIT_RATE, self.rate);
        set_u64(e, sys::NFTNL_EXPR_LIMIT_UNIT, self.unit_secs);
        set_u32(e, sys::NFTNL_EXPR_LIMIT_BURST, self.burst);
        set_u32(e, sys::NFTNL_EXPR_LIMIT_TYPE, 0); // NFT_LIMIT_PKTS
        set_u32(e, sys::NFTNL_EXPR_LIMIT_FLAGS, u32::from(self.over)); // NFT_LIMIT_F_INV
        e
    }
}

impl Expression for Limit {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        self.build()
    }
}

/// `log prefix "…" level L`: a kernel log line (syslog level 0-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The prefix (at most 127 bytes, no NUL).
    pub prefix: CString,
    /// The syslog level.
    pub level: u32,
}

impl Expression for Log {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"log");
        set_str(e, sys::NFTNL_EXPR_LOG_PREFIX, &self.prefix);
        set_u32(e, sys::NFTNL_EXPR_LOG_LEVEL, self.level);
        e
    }
}

/// `update @SET { <key in reg 1> limit rate over … }`: a dynset that keeps one token bucket
/// per key (a per-source meter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynsetLimit {
    /// The meter set (dynamic, with a timeout).
    pub set: CString,
    /// Its id in this batch.
    pub set_id: u32,
    /// The bucket kept per key.
    pub limit: Limit,
}

impl Expression for DynsetLimit {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"dynset");
        set_u32(e, sys::NFTNL_EXPR_DYNSET_SREG_KEY, REG_1);
        set_u32(e, sys::NFTNL_EXPR_DYNSET_OP, 1); // NFT_DYNSET_OP_UPDATE
        set_str(e, sys::NFTNL_EXPR_DYNSET_SET_NAME, &self.set);
        set_u32(e, sys::NFTNL_EXPR_DYNSET_SET_ID, self.set_id);
        let inner = self.limit.build();
        // SAFETY: `e` is a live dynset expression and `inner` a live limit expression that
        // nothing else owns; for NFTNL_EXPR_DYNSET_EXPR libnftnl takes the pointer itself
        // (the data length is ignored) and frees it with the dynset, as nft does.
        unsafe {
            sys::nftnl_expr_set(
                e.as_ptr(),
                sys::NFTNL_EXPR_DYNSET_EXPR as u16,
                inner.as_ptr().cast::<c_void>().cast_const(),
                0,
            );
        }
        e
    }
}

/// What a `fib daddr` lookup yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FibResult {
    /// `fib daddr type`: the address type (`NFT_FIB_RESULT_ADDRTYPE`, 4 bytes).
    AddrType,
    /// `fib daddr oifname`: the output interface's name (`NFT_FIB_RESULT_OIFNAME`, 16 bytes).
    OifName,
}

/// `fib daddr <result> => reg 1`: a route lookup of the destination address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibDaddr(pub FibResult);

impl Expression for FibDaddr {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"fib");
        let result = match self.0 {
            FibResult::OifName => 2,  // NFT_FIB_RESULT_OIFNAME
            FibResult::AddrType => 3, // NFT_FIB_RESULT_ADDRTYPE
        };
        set_u32(e, sys::NFTNL_EXPR_FIB_DREG, REG_1);
        set_u32(e, sys::NFTNL_EXPR_FIB_RESULT, result);
        set_u32(e, sys::NFTNL_EXPR_FIB_FLAGS, 1 << 1); // NFTA_FIB_F_DADDR
        e
    }
}

/// `dnat ip to …`: destination NAT from registers (address in reg 1, ports in 2 and 3),
/// with the flags nftnl's `Nat` cannot set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dnat {
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
    pub family: u32,
    /// The register holding the first port, if the port changes.
    pub proto_min_reg: Option<u32>,
    /// The register holding the last port of a range.
    pub proto_max_reg: Option<u32>,
}

impl Expression for Dnat {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"nat");
        set_u32(e, sys::NFTNL_EXPR_NAT_TYPE, 1); // NFT_NAT_DNAT
        set_u32(e, sys::NFTNL_EXPR_NAT_FAMILY, self.family);
        set_u32(e, sys::NFTNL_EXPR_NAT_REG_ADDR_MIN, REG_1);
        if let Some(reg) = self.proto_min_reg {
            set_u32(e, sys::NFTNL_EXPR_NAT_REG_PROTO_MIN, reg);
            if let Some(max) = self.proto_max_reg {
                set_u32(e, sys::NFTNL_EXPR_NAT_REG_PROTO_MAX, max);
            }
            set_u32(e, sys::NFTNL_EXPR_NAT_FLAGS, NAT_RANGE_PROTO_SPECIFIED);
        }
        e
    }
}

/// `redirect to :PORT`: deliver locally on the port held in reg 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirect;

impl Expression for Redirect {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let e = alloc(c"redir");
        set_u32(e, sys::NFTNL_EXPR_REDIR_REG_PROTO_MIN, REG_1);
        set_u32(e, sys::NFTNL_EXPR_REDIR_FLAGS, NAT_RANGE_PROTO_SPECIFIED);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nftnl::{Chain, ProtoFamily, Table};

    /// The attributes an expression was given, read back through libnftnl.
    fn with_expr(e: &impl Expression, check: impl FnOnce(NonNull<sys::nftnl_expr>)) {
        let table = Table::new(c"t", ProtoFamily::Inet);
        let chain = Chain::new(c"c", &table);
        let rule = Rule::new(&chain);
        let raw = e.to_expr(&rule);
        check(raw);
        // SAFETY: `raw` was allocated by `to_expr`, was never added to a rule and is freed
        // exactly once here.
        unsafe { sys::nftnl_expr_free(raw.as_ptr()) };
    }

    fn get_u32(e: NonNull<sys::nftnl_expr>, attr: u32) -> u32 {
        // SAFETY: `e` is live; reading an attribute that is set returns its value.
        unsafe { sys::nftnl_expr_get_u32(e.as_ptr(), attr as u16) }
    }

    fn get_u64(e: NonNull<sys::nftnl_expr>, attr: u32) -> u64 {
        // SAFETY: as in `get_u32`.
        unsafe { sys::nftnl_expr_get_u64(e.as_ptr(), attr as u16) }
    }

    fn is_set(e: NonNull<sys::nftnl_expr>, attr: u32) -> bool {
        // SAFETY: as in `get_u32`.
        unsafe { sys::nftnl_expr_is_set(e.as_ptr(), attr as u16) }
    }

    fn get_str(e: NonNull<sys::nftnl_expr>, attr: u32) -> String {
        // SAFETY: `e` is live and the string attribute is set, so libnftnl returns a
        // NUL-terminated string owned by the expression, read before it is freed.
        unsafe {
            std::ffi::CStr::from_ptr(sys::nftnl_expr_get_str(e.as_ptr(), attr as u16))
                .to_string_lossy()
                .into_owned()
        }
    }

    #[test]
    fn limit_sets_rate_unit_burst_and_inversion() {
        let limit = Limit {
            rate: 10,
            unit_secs: 60,
            burst: 5,
            over: true,
        };
        with_expr(&limit, |e| {
            assert_eq!(get_str(e, sys::NFTNL_EXPR_NAME), "limit");
            assert_eq!(get_u64(e, sys::NFTNL_EXPR_LIMIT_RATE), 10);
            assert_eq!(get_u64(e, sys::NFTNL_EXPR_LIMIT_UNIT), 60);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_LIMIT_BURST), 5);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_LIMIT_TYPE), 0);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_LIMIT_FLAGS), 1);
        });
    }

    #[test]
    fn log_sets_prefix_and_level() {
        let log = Log {
            prefix: c"mamori drop input: ".to_owned(),
            level: 6,
        };
        with_expr(&log, |e| {
            assert_eq!(
                get_str(e, sys::NFTNL_EXPR_LOG_PREFIX),
                "mamori drop input: "
            );
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_LOG_LEVEL), 6);
            assert!(!is_set(e, sys::NFTNL_EXPR_LOG_GROUP));
        });
    }

    #[test]
    fn dynset_updates_its_set_with_a_limit() {
        let d = DynsetLimit {
            set: c"meter".to_owned(),
            set_id: 7,
            limit: Limit {
                rate: 3,
                unit_secs: 60,
                burst: 5,
                over: true,
            },
        };
        with_expr(&d, |e| {
            assert_eq!(get_str(e, sys::NFTNL_EXPR_DYNSET_SET_NAME), "meter");
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_DYNSET_SET_ID), 7);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_DYNSET_OP), 1);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_DYNSET_SREG_KEY), 1);
            assert!(is_set(e, sys::NFTNL_EXPR_DYNSET_EXPR));
        });
    }

    #[test]
    fn fib_nat_redirect_payload_lookup() {
        with_expr(&FibDaddr(FibResult::AddrType), |e| {
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_FIB_RESULT), 3);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_FIB_FLAGS), 2);
        });
        let dnat = Dnat {
            family: 2,
            proto_min_reg: Some(2),
            proto_max_reg: None,
        };
        with_expr(&dnat, |e| {
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_NAT_REG_PROTO_MIN), 2);
            assert!(!is_set(e, sys::NFTNL_EXPR_NAT_REG_PROTO_MAX));
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_NAT_FLAGS), 2);
        });
        let plain = Dnat {
            family: 2,
            proto_min_reg: None,
            proto_max_reg: None,
        };
        with_expr(&plain, |e| assert!(!is_set(e, sys::NFTNL_EXPR_NAT_FLAGS)));
        with_expr(&Redirect, |e| {
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_REDIR_FLAGS), 2)
        });
        let p = Payload {
            base: PayloadBase::Transport,
            offset: 2,
            len: 2,
        };
        with_expr(&p, |e| {
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_PAYLOAD_BASE), 2);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_PAYLOAD_OFFSET), 2);
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_PAYLOAD_LEN), 2);
        });
        let l = Lookup {
            set: c"__set%d".to_owned(),
            set_id: 3,
        };
        with_expr(&l, |e| {
            assert_eq!(get_str(e, sys::NFTNL_EXPR_LOOKUP_SET), "__set%d");
            assert_eq!(get_u32(e, sys::NFTNL_EXPR_LOOKUP_SET_ID), 3);
        });
    }
}
