//! The daemons' listening TCP sockets. Bound with `IP_FREEBIND`, so that a listener on one
//! of the box's own addresses (the LAN's `192.168.1.1:25`, say) can be opened before the
//! network has put that address on its interface: the panel and the relay start beside
//! the network at boot instead of waiting for it to be configured (the firewall is in place
//! before any interface comes up either way). What else a listener gets is what
//! `tokio::net::TcpListener::bind` gives: `SO_REUSEADDR`, close-on-exec, non-blocking.

use std::io;
use std::net::SocketAddr;

/// How many connections may wait to be accepted (as `tokio` and the Rust standard library).
const BACKLOG: i32 = 1024;

/// Opens a listening socket on `addr`, which need not be configured yet. Must be called
/// inside a tokio runtime.
pub fn tcp(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    match addr {
        SocketAddr::V4(_) => socket.set_freebind_v4(true)?,
        SocketAddr::V6(_) => socket.set_freebind_v6(true)?,
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    tokio::net::TcpListener::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_the_box_does_not_have_yet_can_be_listened_on() {
        // 192.0.2.1 (TEST-NET-1) is on no interface here: a plain bind fails with
        // EADDRNOTAVAIL, the free bind does not.
        let addr: SocketAddr = "192.0.2.1:0".parse().expect("address");
        assert!(std::net::TcpListener::bind(addr).is_err());
        let l = tcp(addr).expect("free bind");
        assert_eq!(l.local_addr().expect("bound").ip(), addr.ip());
    }

    #[tokio::test]
    async fn a_listener_accepts_and_a_busy_port_is_refused() {
        let l = tcp("127.0.0.1:0".parse().expect("address")).expect("listen");
        let at = l.local_addr().expect("bound");
        let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(at), l.accept());
        client.expect("connect");
        accepted.expect("accept");
        let err = tcp(at).expect_err("the port is taken");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
