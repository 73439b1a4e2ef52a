//! Reading back: dump requests for a table's rules and a set's elements, and the parsing of
//! the kernel's answers through libnftnl.

use std::ffi::{CStr, c_char};
use std::ptr::NonNull;

use nftnl::nftnl_sys::{self as sys, libc};

use super::alloc_or_abort;

/// A rule as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDump {
    /// The chain it is in.
    pub chain: String,
    /// The kernel's handle of the rule.
    pub handle: u64,
    /// The rule's user data (nft's TLVs; the comment is type 0).
    pub userdata: Vec<u8>,
    /// `(packets, bytes)` of each counter expression, in order.
    pub counters: Vec<(u64, u64)>,
}

/// A set element as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElemDump {
    /// The key bytes.
    pub key: Vec<u8>,
    /// The element's `NFT_SET_ELEM_*` flags.
    pub flags: u32,
    /// Its timeout in milliseconds, when it has one of its own.
    pub timeout_ms: Option<u64>,
    /// Milliseconds until it expires, for elements that expire.
    pub expires_ms: Option<u64>,
}

/// The bytes of the message built in `buf` (its header's `nlmsg_len` of them).
fn truncate_to_message(buf: Vec<u32>) -> Vec<u8> {
    let mut bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    bytes.truncate(len);
    bytes
}

/// A buffer for building one small request: 8 KiB of words, so aligned for `nlmsghdr`.
fn request_buffer() -> Vec<u32> {
    vec![0u32; 2048]
}

/// NFT_MSG_GETRULE dump of every rule of `table` (family `family`).
pub fn rule_dump_request(seq: u32, table: &CStr, family: u16) -> Vec<u8> {
    let mut buf = request_buffer();
    // SAFETY: allocation only; null is handled by `alloc_or_abort`.
    let rule = alloc_or_abort(unsafe { sys::nftnl_rule_alloc() });
    // SAFETY: `buf` has 8 KiB, far more than a header, a table name (at most 256 bytes) and
    // a family; `rule` is live and freed once at the end; the table name is copied.
    unsafe {
        let header = sys::nftnl_nlmsg_build_hdr(
            buf.as_mut_ptr().cast::<c_char>(),
            libc::NFT_MSG_GETRULE as u16,
            family,
            (libc::NLM_F_DUMP | libc::NLM_F_ACK) as u16,
            seq,
        );
        sys::nftnl_rule_set_str(rule.as_ptr(), sys::NFTNL_RULE_TABLE as u16, table.as_ptr());
        sys::nftnl_rule_set_u32(
            rule.as_ptr(),
            sys::NFTNL_RULE_FAMILY as u16,
            u32::from(family),
        );
        sys::nftnl_rule_nlmsg_build_payload(header, rule.as_ptr());
        sys::nftnl_rule_free(rule.as_ptr());
    }
    truncate_to_message(buf)
}

/// NFT_MSG_GETSETELEM dump of the elements of `set` in `table`.
pub fn set_elems_dump_request(seq: u32, table: &CStr, family: u16, set: &CStr) -> Vec<u8> {
    let mut buf = request_buffer();
    // SAFETY: allocation only; null is handled by `alloc_or_abort`.
    let s = alloc_or_abort(unsafe { sys::nftnl_set_alloc() });
    // SAFETY: as in `rule_dump_request`: a large enough buffer, a live set freed once, and
    // copied strings. A set without elements builds only the table and set attributes.
    unsafe {
        let header = sys::nftnl_nlmsg_build_hdr(
            buf.as_mut_ptr().cast::<c_char>(),
            libc::NFT_MSG_GETSETELEM as u16,
            family,
            (libc::NLM_F_DUMP | libc::NLM_F_ACK) as u16,
            seq,
        );
        sys::nftnl_set_set_str(s.as_ptr(), sys::NFTNL_SET_TABLE as u16, table.as_ptr());
        sys::nftnl_set_set_str(s.as_ptr(), sys::NFTNL_SET_NAME as u16, set.as_ptr());
        sys::nftnl_set_set_u32(s.as_ptr(), sys::NFTNL_SET_FAMILY as u16, u32::from(family));
        sys::nftnl_set_elems_nlmsg_build_payload(header, s.as_ptr());
        sys::nftnl_set_free(s.as_ptr());
    }
    truncate_to_message(buf)
}

/// `msg` (one whole netlink message) at an address aligned for `nlmsghdr`, copied into
/// `scratch` if it is not already.
fn aligned<'a>(msg: &'a [u8], scratch: &'a mut Vec<u32>) -> Option<&'a [u8]> {
    if msg.len() < 16 {
        return None;
    }
    let len = u32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]) as usize;
    if len < 16 || len > msg.len() {
        return None;
    }
    if msg
        .as_ptr()
        .align_offset(std::mem::align_of::<libc::nlmsghdr>())
        == 0
    {
        return Some(&msg[..len]);
    }
    scratch.clear();
    scratch.resize(len.div_ceil(4), 0);
    for (word, chunk) in scratch.iter_mut().zip(msg[..len].chunks(4)) {
        let mut b = [0u8; 4];
        b[..chunk.len()].copy_from_slice(chunk);
        *word = u32::from_ne_bytes(b);
    }
    // SAFETY: `scratch` holds `len.div_ceil(4) * 4 >= len` initialised bytes, is aligned
    // for u32 (the alignment of nlmsghdr) and is borrowed for the returned lifetime.
    Some(unsafe { std::slice::from_raw_parts(scratch.as_ptr().cast::<u8>(), len) })
}

/// Parses one NFT_MSG_NEWRULE message of a rule dump.
pub fn parse_rule(msg: &[u8]) -> Option<RuleDump> {
    let mut scratch = Vec::new();
    let msg = aligned(msg, &mut scratch)?;
    // SAFETY: allocation only; null is handled by `alloc_or_abort`.
    let rule = alloc_or_abort(unsafe { sys::nftnl_rule_alloc() });
    let r = rule.as_ptr();
    // SAFETY: `msg` is one complete, aligned netlink message whose `nlmsg_len` is within
    // the slice (checked by `aligned`); libnftnl validates the attributes inside. `r` is
    // live until freed at the end; the strings and data read from it are copied before.
    let out = unsafe {
        if sys::nftnl_rule_nlmsg_parse(msg.as_ptr().cast::<libc::nlmsghdr>(), r) < 0 {
            None
        } else {
            let chain_ptr = sys::nftnl_rule_get_str(r, sys::NFTNL_RULE_CHAIN as u16);
            let chain = if chain_ptr.is_null() {
                String::new()
            } else {
                CStr::from_ptr(chain_ptr).to_string_lossy().into_owned()
            };
            let handle = sys::nftnl_rule_get_u64(r, sys::NFTNL_RULE_HANDLE as u16);
            let mut len = 0u32;
            let data = sys::nftnl_rule_get_data(r, sys::NFTNL_RULE_USERDATA as u16, &mut len);
            let userdata = if data.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(data.cast::<u8>(), len as usize).to_vec()
            };
            let mut counters = Vec::new();
            let iter = sys::nftnl_expr_iter_create(r);
            if !iter.is_null() {
                let mut e = sys::nftnl_expr_iter_next(iter);
                while !e.is_null() {
                    let name = sys::nftnl_expr_get_str(e, sys::NFTNL_EXPR_NAME as u16);
                    if !name.is_null() && CStr::from_ptr(name) == c"counter" {
                        counters.push((
                            sys::nftnl_expr_get_u64(e, sys::NFTNL_EXPR_CTR_PACKETS as u16),
                            sys::nftnl_expr_get_u64(e, sys::NFTNL_EXPR_CTR_BYTES as u16),
                        ));
                    }
                    e = sys::nftnl_expr_iter_next(iter);
                }
                sys::nftnl_expr_iter_destroy(iter);
            }
            Some(RuleDump {
                chain,
                handle,
                userdata,
                counters,
            })
        }
    };
    // SAFETY: allocated above, freed once.
    unsafe { sys::nftnl_rule_free(r) };
    out
}

/// Parses one NFT_MSG_NEWSETELEM message of an element dump.
pub fn parse_set_elems(msg: &[u8]) -> Option<Vec<ElemDump>> {
    let mut scratch = Vec::new();
    let msg = aligned(msg, &mut scratch)?;
    // SAFETY: allocation only; null is handled by `alloc_or_abort`.
    let set: NonNull<sys::nftnl_set> = alloc_or_abort(unsafe { sys::nftnl_set_alloc() });
    let s = set.as_ptr();
    // SAFETY: as in `parse_rule`: a complete aligned message, a live set freed at the end,
    // element attributes copied out before it is freed. The element pointers come from
    // libnftnl's iterator over the set's own list.
    let out = unsafe {
        if sys::nftnl_set_elems_nlmsg_parse(msg.as_ptr().cast::<libc::nlmsghdr>(), s) < 0 {
            None
        } else {
            let mut elems = Vec::new();
            let iter = sys::nftnl_set_elems_iter_create(s);
            if !iter.is_null() {
                // libnftnl's `iter_next` returns the current element and moves on.
                let mut e = sys::nftnl_set_elems_iter_next(iter);
                while !e.is_null() {
                    let mut len = 0u32;
                    let key = sys::nftnl_set_elem_get(e, sys::NFTNL_SET_ELEM_KEY as u16, &mut len);
                    let key = if key.is_null() {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(key.cast::<u8>(), len as usize).to_vec()
                    };
                    let is_set = |attr: u32| sys::nftnl_set_elem_is_set(e, attr as u16);
                    let flags = if is_set(sys::NFTNL_SET_ELEM_FLAGS) {
                        sys::nftnl_set_elem_get_u32(e, sys::NFTNL_SET_ELEM_FLAGS as u16)
                    } else {
                        0
                    };
                    let timeout_ms = is_set(sys::NFTNL_SET_ELEM_TIMEOUT).then(|| {
                        sys::nftnl_set_elem_get_u64(e, sys::NFTNL_SET_ELEM_TIMEOUT as u16)
                    });
                    let expires_ms = is_set(sys::NFTNL_SET_ELEM_EXPIRATION).then(|| {
                        sys::nftnl_set_elem_get_u64(e, sys::NFTNL_SET_ELEM_EXPIRATION as u16)
                    });
                    elems.push(ElemDump {
                        key,
                        flags,
                        timeout_ms,
                        expires_ms,
                    });
                    e = sys::nftnl_set_elems_iter_next(iter);
                }
                sys::nftnl_set_elems_iter_destroy(iter);
            }
            Some(elems)
        }
    };
    // SAFETY: allocated above, freed once (with the elements it owns).
    unsafe { sys::nftnl_set_free(s) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(msg: &[u8]) -> (u32, u16, u16, u32) {
        (
            u32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]),
            u16::from_ne_bytes([msg[4], msg[5]]),
            u16::from_ne_bytes([msg[6], msg[7]]),
            u32::from_ne_bytes([msg[8], msg[9], msg[10], msg[11]]),
        )
    }

    #[test]
    fn dump_requests_are_single_dump_messages() {
        let req = rule_dump_request(42, c"mamori", libc::NFPROTO_INET as u16);
        let (len, kind, flags, seq) = header(&req);
        assert_eq!(len as usize, req.len());
        assert_eq!(kind, (10 << 8) | libc::NFT_MSG_GETRULE as u16);
        assert_ne!(flags & libc::NLM_F_DUMP as u16, 0);
        assert_eq!(seq, 42);
        assert!(req.windows(7).any(|w| w == b"mamori\0"));

        let req = set_elems_dump_request(7, c"mamori", 1, c"blocklist");
        let (len, kind, _, _) = header(&req);
        assert_eq!(len as usize, req.len());
        assert_eq!(kind, (10 << 8) | libc::NFT_MSG_GETSETELEM as u16);
        assert!(req.windows(10).any(|w| w == b"blocklist\0"));
    }

    #[test]
    fn garbage_does_not_parse() {
        assert!(parse_rule(&[0u8; 8]).is_none());
        let mut bogus = vec![0u8; 20];
        bogus[0..4].copy_from_slice(&200u32.to_ne_bytes());
        assert!(parse_rule(&bogus).is_none());
        assert!(parse_set_elems(&bogus).is_none());
    }
}
