//! Sending a batch over an mnl socket and checking every answer; dump requests.

use std::collections::BTreeMap;

use super::NetlinkError;
use super::encode::Built;
use super::ext::sock;

/// `NLMSG_ERROR`: an acknowledgement (error 0) or an error.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
const NLMSG_DONE: u16 = 3;
/// How long to wait for the first answers (they are queued before `sendmsg` returns, so
/// this only guards against a kernel that never answers).
const ANSWER_TIMEOUT_MS: i32 = 5_000;
/// Receive buffer for one `recvfrom` (a dump message can be large).
const RECV_CHUNK: usize = 256 * 1024;

/// What an answer says about the message with its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `NLMSG_ERROR` with error 0.
    Ack,
    /// `NLMSG_ERROR` with this (positive) errno.
    Error(i32),
    /// `NLMSG_DONE`.
    Done,
    /// Anything else: a data message of this type.
    Data(u16),
}

/// One netlink message's header fields and the answer it carries.
pub fn answer(msg: &[u8]) -> Option<(u32, Answer)> {
    let u32_at = |o: usize| -> Option<u32> {
        msg.get(o..o + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let kind = msg.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]))?;
    let seq = u32_at(8)?;
    let a = match kind {
        NLMSG_ERROR => {
            let err = u32_at(16)? as i32;
            if err == 0 {
                Answer::Ack
            } else {
                Answer::Error(-err)
            }
        }
        NLMSG_DONE => Answer::Done,
        other => Answer::Data(other),
    };
    Some((seq, a))
}

/// An open nf_tables socket.
pub struct Conn {
    socket: mnl::Socket,
    buf: Vec<u8>,
}

impl Conn {
    /// Opens a socket in the caller's network namespace.
    pub fn open() -> Result<Self, NetlinkError> {
        let socket = mnl::Socket::new(mnl::Bus::Netfilter).map_err(NetlinkError::Socket)?;
        Ok(Self {
            socket,
            buf: vec![0u8; RECV_CHUNK + 8],
        })
    }

    /// Receives what is queued (waiting up to `timeout_ms` for it) and hands each message
    /// to `each`; returns false when nothing came.
    fn receive(
        &mut self,
        timeout_ms: i32,
        mut each: impl FnMut(&[u8]) -> Result<(), NetlinkError>,
    ) -> Result<bool, NetlinkError> {
        if !sock::readable(&self.socket, timeout_ms).map_err(NetlinkError::Receive)? {
            return Ok(false);
        }
        // mnl wants a buffer aligned for nlmsghdr: start at the first 4-byte boundary.
        let start = self.buf.as_ptr().align_offset(4).min(4);
        let buf = &mut self.buf[start..start + RECV_CHUNK];
        for msg in self.socket.recv(buf).map_err(NetlinkError::Receive)? {
            let msg = msg.map_err(|e| NetlinkError::Malformed(e.to_string()))?;
            each(msg)?;
        }
        Ok(true)
    }

    /// Sends a batch in one `sendmsg` (the kernel takes a batch only whole) and checks the
    /// answer to every message: all acknowledged, or the first refusal as an error.
    pub fn send_batch(&mut self, built: &Built) -> Result<(), NetlinkError> {
        let bytes: Vec<u8> = built.batch.iter().flatten().copied().collect();
        let seqs = built.batch.sequence_numbers();
        let n = built.what.len();
        // nftnl numbers every message; begin and end are numbered (and acknowledged) only
        // on kernels that acknowledge them (6.10 and later).
        let span = seqs.end.saturating_sub(seqs.start) as usize;
        let framed = span == n + 2;
        let first = if framed { seqs.start + 1 } else { seqs.start };
        let mut pending: BTreeMap<u32, String> = (0..n)
            .map(|i| (first + i as u32, built.what[i].clone()))
            .collect();
        if framed {
            pending.insert(seqs.start, "batch begin".into());
            pending.insert(seqs.end - 1, "batch end (commit)".into());
        }
        let expected = pending.len();
        sock::tune(
            &self.socket,
            bytes.len() + 64 * 1024,
            (expected * 1024).max(1 << 20),
        )
        .map_err(NetlinkError::Socket)?;
        let sent = self.socket.send(&bytes).map_err(NetlinkError::Send)?;
        if sent != bytes.len() {
            return Err(NetlinkError::Send(std::io::Error::other(format!(
                "sent {sent} of {} bytes",
                bytes.len()
            ))));
        }
        let mut errors: Vec<(u32, i32)> = Vec::new();
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        while !pending.is_empty() {
            // Everything is queued before sendmsg returns; after a refusal, the kernel may
            // not acknowledge the rest, so only drain what is there.
            let timeout = if errors.is_empty() {
                ANSWER_TIMEOUT_MS
            } else {
                0
            };
            let got = self.receive(timeout, |msg| {
                if let Some((seq, a)) = answer(msg) {
                    match a {
                        Answer::Ack => {
                            pending.remove(&seq);
                        }
                        Answer::Error(errno) => {
                            if let Some(what) = pending.remove(&seq) {
                                names.insert(seq, what);
                            }
                            errors.push((seq, errno));
                        }
                        Answer::Done | Answer::Data(_) => {}
                    }
                }
                Ok(())
            })?;
            if !got {
                break;
            }
        }
        if let Some(&(seq, errno)) = errors.iter().min_by_key(|(seq, _)| *seq) {
            return Err(NetlinkError::Refused {
                object: names
                    .remove(&seq)
                    .unwrap_or_else(|| format!("the batch (sequence {seq})")),
                errno,
                others: errors.len() - 1,
            });
        }
        if let Some((_, what)) = pending.iter().next() {
            return Err(NetlinkError::MissingAck {
                acked: expected - pending.len(),
                expected,
                first_missing: what.clone(),
            });
        }
        Ok(())
    }

    /// Sends a dump request and returns every data message of the answer.
    pub fn dump(&mut self, request: &[u8], what: &str) -> Result<Vec<Vec<u8>>, NetlinkError> {
        self.socket.send(request).map_err(NetlinkError::Send)?;
        let mut out = Vec::new();
        let mut done = false;
        while !done {
            let got = self.receive(ANSWER_TIMEOUT_MS, |msg| {
                match answer(msg).map(|(_, a)| a) {
                    Some(Answer::Done) => done = true,
                    Some(Answer::Error(errno)) => {
                        return Err(NetlinkError::Dump {
                            what: what.to_string(),
                            errno,
                        });
                    }
                    Some(Answer::Ack) => done = true,
                    Some(Answer::Data(_)) => out.push(msg.to_vec()),
                    None => return Err(NetlinkError::Malformed("short message".into())),
                }
                Ok(())
            })?;
            if !got {
                return Err(NetlinkError::Timeout(what.to_string()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, seq: u32, error: Option<i32>) -> Vec<u8> {
        let mut m = Vec::new();
        let len: u32 = if error.is_some() { 36 } else { 16 };
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        if let Some(e) = error {
            m.extend_from_slice(&e.to_ne_bytes());
            m.extend_from_slice(&[0u8; 16]);
        }
        m
    }

    #[test]
    fn answers_are_told_apart() {
        assert_eq!(answer(&message(2, 5, Some(0))), Some((5, Answer::Ack)));
        assert_eq!(
            answer(&message(2, 6, Some(-2))),
            Some((6, Answer::Error(2)))
        );
        assert_eq!(answer(&message(3, 7, None)), Some((7, Answer::Done)));
        assert_eq!(
            answer(&message(0xa06, 8, None)),
            Some((8, Answer::Data(0xa06)))
        );
        assert_eq!(answer(&[0u8; 6]), None);
    }
}
