//! Socket options libmnl's safe wrapper does not offer: buffer sizes for large batches,
//! `NETLINK_CAP_ACK`, and waiting for an answer with a timeout.

use std::io;

use mnl::mnl_sys;
use nftnl::nftnl_sys::libc;

/// `NETLINK_CAP_ACK`: error messages do not echo the refused message back.
const NETLINK_CAP_ACK: libc::c_int = 10;

fn fd(socket: &mnl::Socket) -> libc::c_int {
    // SAFETY: the socket is open for as long as it is borrowed.
    unsafe { mnl_sys::mnl_socket_get_fd(socket.as_raw_socket()) }
}

fn set_int(
    socket: &mnl::Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a live c_int whose size is passed; the fd is open (see `fd`).
    let rc = unsafe {
        libc::setsockopt(
            fd(socket),
            level,
            name,
            (&value as *const libc::c_int).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sizes the socket's buffers for one batch: the kernel takes a batch only whole, in one
/// `sendmsg` no larger than the send buffer, and queues every ACK in the receive buffer
/// before the call returns. The `…FORCE` options (CAP_NET_ADMIN, which applying needs
/// anyway) pass the system limits; without them the plain options are tried. Also asks for
/// short error messages (`NETLINK_CAP_ACK`).
pub fn tune(socket: &mnl::Socket, send: usize, receive: usize) -> io::Result<()> {
    let clamp = |n: usize| libc::c_int::try_from(n).unwrap_or(libc::c_int::MAX);
    for (force, plain, size) in [
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, send),
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, receive),
    ] {
        if set_int(socket, libc::SOL_SOCKET, force, clamp(size)).is_err() {
            set_int(socket, libc::SOL_SOCKET, plain, clamp(size))?;
        }
    }
    // Older kernels lack it; errors then carry the message, which is only longer.
    let _ = set_int(socket, libc::SOL_NETLINK, NETLINK_CAP_ACK, 1);
    Ok(())
}

/// Waits up to `timeout_ms` for the socket to have something to read.
pub fn readable(socket: &mnl::Socket, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd(socket),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, the count 1 matches.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc >= 0 {
            return Ok(rc > 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
