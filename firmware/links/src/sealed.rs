//! A file sealed at rest: ChaCha20-Poly1305 in chunks of 64 KiB, in the STREAM
//! construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015), so that a file of any size is
//! sealed and opened with a small constant of memory, and a chunk moved, repeated, cut off
//! or changed is found.
//!
//! Layout: the magic line `MAMORI-LINK-1\n`, then the chunks. Every chunk but the last
//! holds [`CHUNK`] octets of the file and its 16-octet tag; the last holds fewer (possibly
//! none). Chunk *i*'s nonce is *i* (64 bits, big-endian), three zero octets and a last
//! flag (1 for the last chunk); the associated data is the link's id and the file number,
//! so a sealed file copied into another link or place does not open.

use std::io::{self, Read, Write};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

/// The magic line at the start of a sealed file.
pub const MAGIC: &[u8] = b"MAMORI-LINK-1\n";
/// Octets of the file per chunk.
pub const CHUNK: usize = 64 * 1024;
/// The tag after each chunk.
const TAG: usize = 16;

fn key(bytes: &[u8; 32]) -> LessSafeKey {
    // A 32-octet key is what ChaCha20-Poly1305 takes: this cannot fail.
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, bytes).unwrap_or_else(|_| unreachable!()))
}

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// Seals what is written to it into `inner`; [`Sealer::finish`] writes the last chunk.
pub struct Sealer<W: Write> {
    inner: W,
    key: LessSafeKey,
    aad: Vec<u8>,
    buffer: Vec<u8>,
    counter: u64,
    written: u64,
}

impl<W: Write> Sealer<W> {
    /// Starts a sealed file in `inner` with the file's key and associated data.
    pub fn new(mut inner: W, file_key: &[u8; 32], aad: Vec<u8>) -> io::Result<Self> {
        inner.write_all(MAGIC)?;
        Ok(Self {
            inner,
            key: key(file_key),
            aad,
            buffer: Vec::with_capacity(CHUNK + TAG),
            counter: 0,
            written: 0,
        })
    }

    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        let n = nonce(self.counter, last);
        self.key
            .seal_in_place_append_tag(n, Aad::from(&self.aad), &mut self.buffer)
            .map_err(|_| invalid("sealing failed"))?;
        self.inner.write_all(&self.buffer)?;
        self.buffer.clear();
        self.counter += 1;
        Ok(())
    }

    /// Seals the last chunk and gives back the writer and the file's size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.buffer.len() == CHUNK {
            self.seal_chunk(false)?;
        }
        self.seal_chunk(true)?;
        self.inner.flush()?;
        Ok((self.inner, self.written))
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // A full chunk is sealed only when more follows, so that the last chunk is always
        // the short one.
        if self.buffer.len() == CHUNK && !data.is_empty() {
            self.seal_chunk(false)?;
        }
        let take = (CHUNK - self.buffer.len()).min(data.len());
        self.buffer.extend_from_slice(&data[..take]);
        self.written += take as u64;
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Sealer<W> {
    /// Copies all of `reader` into the sealed file.
    pub fn copy_from(&mut self, reader: &mut impl Read) -> io::Result<u64> {
        io::copy(reader, self)
    }
}

/// Opens a sealed file: reading gives the file's octets, or an `InvalidData` error where
/// the file was changed, cut off or sealed under another key.
pub struct Opener<R: Read> {
    inner: R,
    key: LessSafeKey,
    aad: Vec<u8>,
    counter: u64,
    /// Opened octets not yet read, from `at`.
    plain: Vec<u8>,
    at: usize,
    done: bool,
    started: bool,
}

impl<R: Read> Opener<R> {
    /// Opens `inner` with the file's key and associated data.
    pub fn new(inner: R, file_key: &[u8; 32], aad: Vec<u8>) -> Self {
        Self {
            inner,
            key: key(file_key),
            aad,
            counter: 0,
            plain: Vec::with_capacity(CHUNK + TAG),
            at: 0,
            done: false,
            started: false,
        }
    }

    /// Reads up to `buf.len()` octets, fewer only at the end.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        if !self.started {
            let mut magic = [0u8; MAGIC.len()];
            if self.fill(&mut magic)? != MAGIC.len() || magic != MAGIC {
                return Err(invalid("not a sealed file of a download link"));
            }
            self.started = true;
        }
        self.plain.resize(CHUNK + TAG, 0);
        let mut buffer = std::mem::take(&mut self.plain);
        let got = self.fill(&mut buffer)?;
        buffer.truncate(got);
        if got < TAG {
            return Err(invalid("the sealed file is cut off"));
        }
        let last = got < CHUNK + TAG;
        let opened = self
            .key
            .open_in_place(nonce(self.counter, last), Aad::from(&self.aad), &mut buffer)
            .map_err(|_| invalid("the sealed file was changed, cut off, or is not this link's"))?
            .len();
        buffer.truncate(opened);
        self.plain = buffer;
        self.at = 0;
        self.counter += 1;
        if last {
            let mut extra = [0u8; 1];
            if self.fill(&mut extra)? != 0 {
                return Err(invalid("the sealed file goes on after its last chunk"));
            }
            self.done = true;
        }
        Ok(())
    }
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = buf.len().min(self.plain.len() - self.at);
        buf[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(data: &[u8], k: &[u8; 32], aad: &[u8]) -> Vec<u8> {
        let mut s = Sealer::new(Vec::new(), k, aad.to_vec()).unwrap();
        s.copy_from(&mut &data[..]).unwrap();
        let (out, size) = s.finish().unwrap();
        assert_eq!(size, data.len() as u64);
        out
    }

    fn open(sealed: &[u8], k: &[u8; 32], aad: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Opener::new(sealed, k, aad.to_vec()).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn files_of_every_size_round_trip() {
        let k = [7u8; 32];
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5] {
            let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let sealed = seal(&data, &k, b"id0");
            assert_eq!(
                sealed.len(),
                MAGIC.len() + size + (size / CHUNK + 1) * TAG,
                "{size}"
            );
            assert_eq!(open(&sealed, &k, b"id0").unwrap(), data, "{size}");
        }
    }

    #[test]
    fn the_sealed_file_shows_nothing_of_the_plaintext() {
        let data = b"My Number 123456789018 ".repeat(5000);
        let sealed = seal(&data, &[1u8; 32], b"x");
        assert!(!sealed.windows(9).any(|w| w == b"My Number"));
    }

    #[test]
    fn changes_cuts_reorders_and_wrong_keys_are_found() {
        let k = [9u8; 32];
        let data: Vec<u8> = (0..2 * CHUNK + 100).map(|i| i as u8).collect();
        let sealed = seal(&data, &k, b"a");
        assert!(open(&sealed, &[8u8; 32], b"a").is_err(), "wrong key");
        assert!(open(&sealed, &k, b"b").is_err(), "other link or file");
        let mut flipped = sealed.clone();
        flipped[MAGIC.len() + 10] ^= 1;
        assert!(open(&flipped, &k, b"a").is_err(), "changed");
        // Cut after a whole chunk: the remaining full chunk is not marked last.
        let cut = &sealed[..MAGIC.len() + CHUNK + TAG];
        assert!(open(cut, &k, b"a").is_err(), "cut at a chunk");
        assert!(
            open(&sealed[..sealed.len() - 1], &k, b"a").is_err(),
            "cut short"
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(open(&longer, &k, b"a").is_err(), "extended");
        // Two chunks swapped.
        let (a, b) = (MAGIC.len(), MAGIC.len() + CHUNK + TAG);
        let mut swapped = sealed[..a].to_vec();
        swapped.extend_from_slice(&sealed[b..b + CHUNK + TAG]);
        swapped.extend_from_slice(&sealed[a..b]);
        swapped.extend_from_slice(&sealed[b + CHUNK + TAG..]);
        assert!(open(&swapped, &k, b"a").is_err(), "reordered");
        assert!(open(b"not sealed", &k, b"a").is_err());
    }
}
