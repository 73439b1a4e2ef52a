//! What `nftnl` 0.9 lacks, built over `nftnl-sys`: the one place in the crate with `unsafe`.
//!
//! nftnl's safe API covers tables, chains, rules and the common expressions (meta, cmp,
//! bitwise, ct, counter, immediate, verdicts, reject, masquerade), and this crate uses them.
//! It has no `limit`, `log`, `dynset`, `fib` or `redir` expression, a `nat` without flags or
//! a port maximum, a raw payload load only under a misleading name, a set type without
//! interval/timeout flags, element flags, timeouts or descriptions, no element deletion and
//! no way to read rules or elements back. Those are here:
//!
//! * [`expr`]: types implementing nftnl's [`nftnl::expr::Expression`] trait;
//! * [`set`]: a set with every attribute `nft` sends, and its element messages (add and
//!   delete) implementing [`nftnl::NlMsg`] so that they go into an [`nftnl::Batch`];
//! * [`dump`]: dump requests for rules and set elements, and their parsing;
//! * [`sock`]: socket options (buffer sizes, `NETLINK_CAP_ACK`) and a readiness poll.
//!
//! Every `unsafe` block carries a `// SAFETY:` comment. The pattern is always the same:
//! an object is allocated by libnftnl (abort on allocation failure, as nftnl does), set
//! through its typed setters with pointers that outlive the call (libnftnl copies strings
//! and data), and either handed to libnftnl (which then owns it) or freed in `Drop`.

#![allow(unsafe_code)]

pub mod dump;
pub mod expr;
pub mod set;
pub mod sock;

use std::ptr::NonNull;

/// Aborts the process on a null pointer from a libnftnl allocator, as nftnl itself does
/// (the allocation was tiny: the process is out of memory).
fn alloc_or_abort<T>(ptr: *mut T) -> NonNull<T> {
    match NonNull::new(ptr) {
        Some(p) => p,
        None => std::process::abort(),
    }
}
