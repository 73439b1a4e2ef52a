//! Sets as `nft` makes them (flags, key type and byte order, timeout, size) and their
//! element messages, added to or deleted from a set in an [`nftnl::Batch`].

use std::cell::Cell;
use std::ffi::{CStr, c_char, c_void};
use std::ptr::NonNull;
use std::rc::Rc;

use nftnl::nftnl_sys::{self as sys, libc};
use nftnl::{MsgType, NlMsg};

use super::alloc_or_abort;

/// `NFTNL_UDATA_SET_KEYBYTEORDER`: the user-data TLV in which `nft` records the key's byte
/// order (it reads it back to print the elements).
const UDATA_SET_KEYBYTEORDER: u8 = 0;
/// `NFTNL_UDATA_SET_ELEM_FLAGS`: an element's user-data TLV of `nft` element flags.
const UDATA_SET_ELEM_FLAGS: u8 = 1;
/// `NFTNL_SET_ELEM_F_INTERVAL_OPEN`: an interval start whose range runs to the key's end.
const ELEM_F_INTERVAL_OPEN: u32 = 1;

/// One user-data TLV: type, length, value (libnftnl's `nftnl_udata` layout).
fn udata_u32(kind: u8, value: u32) -> [u8; 6] {
    let v = value.to_ne_bytes();
    [kind, 4, v[0], v[1], v[2], v[3]]
}

/// A set's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAttrs<'a> {
    /// The set's name (`__set%d` for an anonymous set: the kernel numbers it).
    pub name: &'a CStr,
    /// Its id in the batch (lookups refer to it).
    pub id: u32,
    /// `NFT_SET_*` flags.
    pub flags: u32,
    /// nft's data type number of the key (`ipv4_addr` 7…).
    pub key_type: u32,
    /// Key length in bytes.
    pub key_len: u32,
    /// nft's byte order of the key: 1 host, 2 big endian.
    pub key_byteorder: u32,
    /// Default element timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// `NFTA_SET_DESC_SIZE`: the most elements (meters) or, for anonymous sets, how many
    /// there are.
    pub size: Option<u32>,
}

/// One kernel set element (an interval set's range is two: start and end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elem {
    /// The key, `key_len` bytes in network order.
    pub key: Vec<u8>,
    /// `NFT_SET_ELEM_INTERVAL_END` for the end of a range.
    pub interval_end: bool,
    /// The element's own timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// A range start whose range runs to the largest key (it has no end element).
    pub open: bool,
}

/// A set (its attributes and elements) held by libnftnl.
pub struct RawSet {
    set: NonNull<sys::nftnl_set>,
    family: u16,
}

impl RawSet {
    /// A complete set, to be created.
    pub fn new(table: &CStr, family: u16, attrs: &SetAttrs<'_>, elements: &[Elem]) -> Self {
        let this = Self::bare(table, family, attrs.name, elements);
        let s = this.set.as_ptr();
        let udata = udata_u32(UDATA_SET_KEYBYTEORDER, attrs.key_byteorder);
        // SAFETY: `s` is the live set allocated by `bare`; every setter copies its value
        // (u32/u64 by value, the user data with memcpy from a buffer alive for the call).
        unsafe {
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_ID as u16, attrs.id);
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_FLAGS as u16, attrs.flags);
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_KEY_TYPE as u16, attrs.key_type);
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_KEY_LEN as u16, attrs.key_len);
            if let Some(t) = attrs.timeout_ms {
                sys::nftnl_set_set_u64(s, sys::NFTNL_SET_TIMEOUT as u16, t);
            }
            if let Some(size) = attrs.size {
                sys::nftnl_set_set_u32(s, sys::NFTNL_SET_DESC_SIZE as u16, size);
            }
            sys::nftnl_set_set_data(
                s,
                sys::NFTNL_SET_USERDATA as u16,
                udata.as_ptr().cast::<c_void>(),
                udata.len() as u32,
            );
        }
        this
    }

    /// An existing set named by table and name, carrying only elements (to add or delete).
    pub fn elements_of(table: &CStr, family: u16, name: &CStr, elements: &[Elem]) -> Self {
        Self::bare(table, family, name, elements)
    }

    fn bare(table: &CStr, family: u16, name: &CStr, elements: &[Elem]) -> Self {
        // SAFETY: allocation only; null is handled by `alloc_or_abort`.
        let set = alloc_or_abort(unsafe { sys::nftnl_set_alloc() });
        let s = set.as_ptr();
        // SAFETY: `s` is live; the strings are NUL-terminated and copied by libnftnl.
        unsafe {
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_FAMILY as u16, u32::from(family));
            sys::nftnl_set_set_str(s, sys::NFTNL_SET_TABLE as u16, table.as_ptr());
            sys::nftnl_set_set_str(s, sys::NFTNL_SET_NAME as u16, name.as_ptr());
        }
        for e in elements {
            // SAFETY: allocation only; null is handled by `alloc_or_abort`.
            let elem = alloc_or_abort(unsafe { sys::nftnl_set_elem_alloc() });
            let p = elem.as_ptr();
            let open = udata_u32(UDATA_SET_ELEM_FLAGS, ELEM_F_INTERVAL_OPEN);
            // SAFETY: `p` is a live element; the key (at most 16 bytes, within libnftnl's
            // 64-byte data register) and the user data are copied by the setters. The
            // element is then handed to the set, which owns and frees it.
            unsafe {
                sys::nftnl_set_elem_set(
                    p,
                    sys::NFTNL_SET_ELEM_KEY as u16,
                    e.key.as_ptr().cast::<c_void>(),
                    e.key.len() as u32,
                );
                if e.interval_end {
                    sys::nftnl_set_elem_set_u32(
                        p,
                        sys::NFTNL_SET_ELEM_FLAGS as u16,
                        libc::NFT_SET_ELEM_INTERVAL_END as u32,
                    );
                }
                if let Some(t) = e.timeout_ms {
                    sys::nftnl_set_elem_set_u64(p, sys::NFTNL_SET_ELEM_TIMEOUT as u16, t);
                }
                if e.open {
                    sys::nftnl_set_elem_set(
                        p,
                        sys::NFTNL_SET_ELEM_USERDATA as u16,
                        open.as_ptr().cast::<c_void>(),
                        open.len() as u32,
                    );
                }
                sys::nftnl_set_elem_add(s, p);
            }
        }
        Self { set, family }
    }

    /// The element messages: each holds as many elements as fit in one netlink message.
    pub fn elem_messages(&self) -> ElemMessages<'_> {
        // SAFETY: `self.set` is live for the iterator's lifetime (borrowed); the iterator
        // is destroyed in `ElemMessages::drop`.
        let iter = alloc_or_abort(unsafe { sys::nftnl_set_elems_iter_create(self.set.as_ptr()) });
        ElemMessages {
            set: self,
            iter,
            ret: Rc::new(Cell::new(1)),
        }
    }
}

impl Drop for RawSet {
    fn drop(&mut self) {
        // SAFETY: the set (and the elements it owns) was allocated in `bare` and is freed
        // once, here.
        unsafe { sys::nftnl_set_free(self.set.as_ptr()) };
    }
}

// SAFETY: `write` builds one NEWSET/DELSET message; a set message (name, table, key,
// flags, timeout, size, 6 bytes of user data) is far below `nft_nlmsg_maxsize()`.
unsafe impl NlMsg for RawSet {
    unsafe fn write(&self, buf: *mut c_void, seq: u32, msg_type: MsgType) {
        let (kind, flags) = match msg_type {
            MsgType::Add => (libc::NFT_MSG_NEWSET, libc::NLM_F_CREATE | libc::NLM_F_ACK),
            MsgType::Del => (libc::NFT_MSG_DELSET, libc::NLM_F_ACK),
        };
        // SAFETY: the caller (nftnl's Batch) passes a buffer of at least
        // `nft_nlmsg_maxsize()` bytes; `self.set` is live.
        unsafe {
            let header = sys::nftnl_nlmsg_build_hdr(
                buf.cast::<c_char>(),
                kind as u16,
                self.family,
                flags as u16,
                seq,
            );
            sys::nftnl_set_nlmsg_build_payload(header, self.set.as_ptr());
        }
    }
}

/// The element messages of a [`RawSet`]; use each with `MsgType::Add` (NEWSETELEM, which
/// leaves elements already present alone) or `MsgType::Del` (DELSETELEM).
pub struct ElemMessages<'a> {
    set: &'a RawSet,
    iter: NonNull<sys::nftnl_set_elems_iter>,
    ret: Rc<Cell<i32>>,
}

impl<'a> Iterator for ElemMessages<'a> {
    type Item = ElemMessage<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: `self.iter` is live until drop. The previous message's `write` advanced
        // it (libnftnl's build_payload_iter fills one message and moves on); a negative or
        // zero return of that call, or no current element, ends the iteration.
        let done = self.ret.get() <= 0
            || unsafe { sys::nftnl_set_elems_iter_cur(self.iter.as_ptr()) }.is_null();
        (!done).then(|| ElemMessage {
            set: self.set,
            iter: self.iter,
            ret: self.ret.clone(),
        })
    }
}

impl Drop for ElemMessages<'_> {
    fn drop(&mut self) {
        // SAFETY: created in `elem_messages`, destroyed once, here.
        unsafe { sys::nftnl_set_elems_iter_destroy(self.iter.as_ptr()) };
    }
}

/// One NEWSETELEM/DELSETELEM message of a set's elements. Must be written (added to a
/// batch) before the next one is taken from [`ElemMessages`].
pub struct ElemMessage<'a> {
    set: &'a RawSet,
    iter: NonNull<sys::nftnl_set_elems_iter>,
    ret: Rc<Cell<i32>>,
}

// SAFETY: libnftnl's build_payload_iter stops adding elements before the message would
// exceed the 64 KiB netlink attribute limit, below `nft_nlmsg_maxsize()`.
unsafe impl NlMsg for ElemMessage<'_> {
    unsafe fn write(&self, buf: *mut c_void, seq: u32, msg_type: MsgType) {
        let (kind, flags) = match msg_type {
            MsgType::Add => (
                libc::NFT_MSG_NEWSETELEM,
                libc::NLM_F_CREATE | libc::NLM_F_ACK,
            ),
            MsgType::Del => (libc::NFT_MSG_DELSETELEM, libc::NLM_F_ACK),
        };
        // SAFETY: the caller passes a buffer of `nft_nlmsg_maxsize()` bytes; the set and
        // the iterator are alive (borrowed from `ElemMessages`).
        let ret = unsafe {
            let header = sys::nftnl_nlmsg_build_hdr(
                buf.cast::<c_char>(),
                kind as u16,
                self.set.family,
                flags as u16,
                seq,
            );
            sys::nftnl_set_elems_nlmsg_build_payload_iter(header, self.iter.as_ptr())
        };
        self.ret.set(ret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udata_is_a_type_length_value() {
        let tlv = udata_u32(0, 2);
        assert_eq!(&tlv[..2], &[0, 4]);
        assert_eq!(u32::from_ne_bytes([tlv[2], tlv[3], tlv[4], tlv[5]]), 2);
    }

    #[test]
    fn many_elements_need_several_messages() {
        let attrs = SetAttrs {
            name: c"big",
            id: 1,
            flags: 0,
            key_type: 7,
            key_len: 4,
            key_byteorder: 2,
            timeout_ms: None,
            size: None,
        };
        let elements: Vec<Elem> = (0..20_000u32)
            .map(|i| Elem {
                key: i.to_be_bytes().to_vec(),
                interval_end: false,
                timeout_ms: None,
                open: false,
            })
            .collect();
        let set = RawSet::new(c"mamori", libc::NFPROTO_INET as u16, &attrs, &elements);
        let mut batch = nftnl::Batch::new();
        batch.add(&set, MsgType::Add);
        let mut messages = 0;
        for m in set.elem_messages() {
            batch.add(&m, MsgType::Add);
            messages += 1;
        }
        assert!(messages > 1, "20 000 elements do not fit one message");
        let finalized = batch.finalize();
        let bytes: usize = finalized.iter().map(<[u8]>::len).sum();
        assert!(bytes > 20_000 * 4, "{bytes}");
    }
}
