//! Telling systemd that a daemon is ready (`sd_notify(3)`), so that units ordered after it
//! (`Type=notify`) start only once it really serves: `firewalld` when its table is in
//! force, `smtpd` when its listeners are bound.
//!
//! The protocol is one datagram of `KEY=value` lines to the socket named by
//! `NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`). Without that
//! variable (not started by systemd, or `Type=simple`) nothing is sent.

use std::io;
use std::os::unix::net::UnixDatagram;

/// The variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `READY=1` with a status line. Returns whether a notification was sent (false
/// when not under systemd's notify protocol).
pub fn ready(status: &str) -> io::Result<bool> {
    notify(&format!("READY=1\nSTATUS={}", one_line(status)))
}

/// Sends `state` (newline-separated `KEY=value` assignments) to `$NOTIFY_SOCKET`.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os(NOTIFY_SOCKET) {
        Some(target) => send_to(&target.to_string_lossy(), state).map(|()| true),
        None => Ok(false),
    }
}

/// Sends `state` to the notify socket `target` (a path, or `@name` for an abstract one).
pub fn send_to(target: &str, state: &str) -> io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    if let Some(name) = target.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        socket.send_to_addr(state.as_bytes(), &address)?;
    } else {
        socket.send_to(state.as_bytes(), target)?;
    }
    Ok(())
}

/// A status is one line: newlines would start new assignments.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_reaches_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        send_to(path.to_str().unwrap(), "READY=1\nSTATUS=listening\nX=1").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=listening\nX=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("mamori-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&address).unwrap();
        send_to(&format!("@{name}"), "READY=1").unwrap();
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        assert_eq!(one_line("a\nb\rc"), "a b c");
    }
}
