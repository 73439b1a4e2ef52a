//! The bundle's archive: a push parser that turns the bytes of a download, as they arrive,
//! into the manifest and the images' bytes (nothing buffered but one 512-byte header and the
//! manifest), and a writer for the repository tool.
//!
//! Only the plain POSIX ustar subset is read: regular files, names of up to 99 bytes, no pax
//! or GNU extension headers (an extension header could rename or resize a member behind the
//! parser's back), the checksum checked, the manifest first and the images in its order.

use crate::bundle::{MAX_IMAGES, Manifest, Refusal};

const BLOCK: usize = 512;
/// Most bytes of `manifest.json`.
pub const MAX_MANIFEST: u64 = 64 * 1024;

/// What the parser found in the bytes fed to it.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The manifest, checked ([`Manifest::parse`]).
    Manifest(Manifest),
    /// The next bytes of image `image` (index into the manifest's images).
    Data {
        /// The image.
        image: usize,
        /// Its next bytes.
        bytes: &'a [u8],
    },
    /// Image `image` is complete.
    ImageDone(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Expecting a header for member number `member` (0 = the manifest).
    Header { member: usize },
    /// Reading the manifest's bytes.
    Manifest { left: u64 },
    /// Reading image `image`'s bytes.
    Image { image: usize, left: u64 },
    /// Skipping the padding to the next block.
    Pad { left: usize, then: usize },
    /// Past the first zero block of the end marker.
    Trailer,
}

/// The push parser (see the module's documentation).
#[derive(Debug)]
pub struct BundleParser {
    state: State,
    header: Vec<u8>,
    manifest_bytes: Vec<u8>,
    manifest: Option<Manifest>,
    images_done: usize,
}

impl Default for BundleParser {
    fn default() -> Self {
        Self::new()
    }
}

fn refuse(why: impl Into<String>) -> Refusal {
    Refusal::Description(format!("bundle archive: {}", why.into()))
}

fn octal(field: &[u8]) -> Option<u64> {
    let text: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|b| *b != 0)
        .filter(|b| *b != b' ')
        .collect();
    if text.is_empty() || text.len() > 12 {
        return None;
    }
    let mut v: u64 = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Name and size of a ustar header, checked.
fn read_header(h: &[u8]) -> Result<(String, u64), Refusal> {
    let stored = octal(&h[148..156]).ok_or_else(|| refuse("header checksum unreadable"))?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if sum != stored {
        return Err(refuse("header checksum wrong"));
    }
    if &h[257..262] != b"ustar" {
        return Err(refuse("not a ustar header"));
    }
    match h[156] {
        b'0' | 0 => {}
        t => {
            return Err(refuse(format!(
                "member type {:?}: only plain files (no pax, GNU, links or directories)",
                char::from(t)
            )));
        }
    }
    if h[345] != 0 {
        return Err(refuse("member names use the ustar prefix field"));
    }
    let name_end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
    let name = std::str::from_utf8(&h[..name_end])
        .map_err(|_| refuse("member name is not UTF-8"))?
        .to_string();
    let size = octal(&h[124..136]).ok_or_else(|| refuse("member size unreadable"))?;
    Ok((name, size))
}

fn pad_of(size: u64) -> usize {
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 { 0 } else { BLOCK - rem }
}

impl BundleParser {
    /// A parser at the start of an archive.
    pub fn new() -> BundleParser {
        BundleParser {
            state: State::Header { member: 0 },
            header: Vec::with_capacity(BLOCK),
            manifest_bytes: Vec::new(),
            manifest: None,
            images_done: 0,
        }
    }

    /// The manifest, once read.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// Feeds the next bytes; appends what they held to `events`.
    pub fn feed<'a>(
        &mut self,
        mut chunk: &'a [u8],
        events: &mut Vec<Event<'a>>,
    ) -> Result<(), Refusal> {
        while !chunk.is_empty() {
            match self.state.clone() {
                State::Header { member }
                | State::Pad {
                    then: member,
                    left: 0,
                } => {
                    self.state = State::Header { member };
                    let take = (BLOCK - self.header.len()).min(chunk.len());
                    self.header.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.header.len() == BLOCK {
                        let header = std::mem::take(&mut self.header);
                        self.start_member(member, &header, events)?;
                    }
                }
                State::Manifest { left } => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
                    self.manifest_bytes.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    let left = left - take as u64;
                    if left == 0 {
                        let m = Manifest::parse(&self.manifest_bytes)?;
                        self.manifest = Some(m.clone());
                        events.push(Event::Manifest(m));
                        let pad = pad_of(self.manifest_bytes.len() as u64);
                        self.state = State::Pad { left: pad, then: 1 };
                    } else {
                        self.state = State::Manifest { left };
                    }
                }
                State::Image { image, left } => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
                    if take > 0 {
                        events.push(Event::Data {
                            image,
                            bytes: &chunk[..take],
                        });
                    }
                    chunk = &chunk[take..];
                    let left = left - take as u64;
                    if left == 0 {
                        events.push(Event::ImageDone(image));
                        self.images_done = image + 1;
                        let size = self.image_size(image);
                        self.state = State::Pad {
                            left: pad_of(size),
                            then: image + 2,
                        };
                    } else {
                        self.state = State::Image { image, left };
                    }
                }
                State::Pad { left, then } => {
                    let take = left.min(chunk.len());
                    if chunk[..take].iter().any(|b| *b != 0) {
                        return Err(refuse("padding is not zero"));
                    }
                    chunk = &chunk[take..];
                    self.state = State::Pad {
                        left: left - take,
                        then,
                    };
                }
                State::Trailer => {
                    if chunk.iter().any(|b| *b != 0) {
                        return Err(refuse("bytes after the end of the archive"));
                    }
                    chunk = &[];
                }
            }
        }
        Ok(())
    }

    fn image_size(&self, image: usize) -> u64 {
        self.manifest
            .as_ref()
            .and_then(|m| m.images.get(image))
            .map_or(0, |i| i.size)
    }

    fn start_member<'a>(
        &mut self,
        member: usize,
        header: &[u8],
        _events: &mut Vec<Event<'a>>,
    ) -> Result<(), Refusal> {
        let images = self.manifest.as_ref().map_or(0, |m| m.images.len());
        if header.iter().all(|b| *b == 0) {
            if member == 0 || member <= images {
                return Err(refuse("the archive ends before its last image"));
            }
            self.state = State::Trailer;
            return Ok(());
        }
        let (name, size) = read_header(header)?;
        if member == 0 {
            if name != "manifest.json" {
                return Err(refuse(format!(
                    "first member is {name:?}, not manifest.json"
                )));
            }
            if size == 0 || size > MAX_MANIFEST {
                return Err(refuse(format!("manifest.json of {size} bytes")));
            }
            self.state = State::Manifest { left: size };
            return Ok(());
        }
        let image = member - 1;
        let Some(expected) = self.manifest.as_ref().and_then(|m| m.images.get(image)) else {
            return Err(refuse(format!("member {name:?} is not in the manifest")));
        };
        if image >= MAX_IMAGES || name != expected.file || size != expected.size {
            return Err(refuse(format!(
                "member {name:?} of {size} bytes where the manifest names {:?} of {} bytes",
                expected.file, expected.size
            )));
        }
        if size == 0 {
            _events.push(Event::ImageDone(image));
            self.images_done = image + 1;
            self.state = State::Header { member: member + 1 };
        } else {
            self.state = State::Image { image, left: size };
        }
        Ok(())
    }

    /// Checks, after the last byte, that the archive was whole: manifest, every image, end.
    pub fn finish(&self) -> Result<&Manifest, Refusal> {
        match (&self.state, &self.manifest) {
            (State::Trailer, Some(m)) if self.images_done == m.images.len() => Ok(m),
            _ => Err(refuse("the archive is cut short")),
        }
    }
}

/// A ustar header for a regular file `name` of `size` bytes (mode 0644, owner 0, time 0, so
/// that the same inputs always make the same bundle).
pub fn header(name: &str, size: u64) -> Result<[u8; BLOCK], Refusal> {
    if name.is_empty() || name.len() > 99 || size >= 1 << 33 {
        return Err(refuse(format!(
            "cannot store {name:?} of {size} bytes in ustar"
        )));
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mut put = |range: std::ops::Range<usize>, text: String| {
        let bytes = text.as_bytes();
        h[range.start..range.start + bytes.len()].copy_from_slice(bytes);
    };
    put(100..108, "0000644".into());
    put(108..116, "0000000".into());
    put(116..124, "0000000".into());
    put(124..136, format!("{size:011o}"));
    put(136..148, "00000000000".into());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// Zero bytes that pad a member of `size` bytes to a whole block.
pub fn padding(size: u64) -> Vec<u8> {
    vec![0; pad_of(size)]
}

/// The end-of-archive marker: two zero blocks.
pub fn trailer() -> [u8; 2 * BLOCK] {
    [0; 2 * BLOCK]
}

/// Reads the next member header of a plain ustar archive from `r` (the same rules as the
/// bundle parser): `Ok(None)` at the end-of-archive block.
pub fn next_member<R: std::io::Read>(r: &mut R) -> Result<Option<(String, u64)>, Refusal> {
    let mut h = [0u8; BLOCK];
    r.read_exact(&mut h)
        .map_err(|e| refuse(format!("reading a header: {e}")))?;
    if h.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    read_header(&h).map(Some)
}

/// Skips the padding after a member of `size` bytes.
pub fn skip_padding<R: std::io::Read>(r: &mut R, size: u64) -> Result<(), Refusal> {
    let mut pad = vec![0u8; pad_of(size)];
    r.read_exact(&mut pad)
        .map_err(|e| refuse(format!("reading padding: {e}")))?;
    if pad.iter().any(|b| *b != 0) {
        return Err(refuse("padding is not zero"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(images: &[(&str, &str, &[u8])]) -> Vec<u8> {
        let list: Vec<_> = images
            .iter()
            .map(|(class, file, data)| json!({"class": class, "file": file, "size": data.len(),
                "sha256": crate::metadata::hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())}))
            .collect();
        let manifest = json!({"format": 1, "board": "b", "version": "1.1", "min_version": "1.0",
            "built": "2026-12-06T00:00:00Z", "images": list})
        .to_string();
        let mut out = Vec::new();
        out.extend_from_slice(&header("manifest.json", manifest.len() as u64).unwrap());
        out.extend_from_slice(manifest.as_bytes());
        out.extend(padding(manifest.len() as u64));
        for (_, file, data) in images {
            out.extend_from_slice(&header(file, data.len() as u64).unwrap());
            out.extend_from_slice(data);
            out.extend(padding(data.len() as u64));
        }
        out.extend_from_slice(&trailer());
        out
    }

    fn parse_in_chunks(bytes: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, Refusal> {
        let mut p = BundleParser::new();
        let mut images: Vec<Vec<u8>> = Vec::new();
        for c in bytes.chunks(chunk) {
            let mut ev = Vec::new();
            p.feed(c, &mut ev)?;
            for e in ev {
                if let Event::Data { image, bytes } = e {
                    if images.len() <= image {
                        images.resize(image + 1, Vec::new());
                    }
                    images[image].extend_from_slice(bytes);
                }
            }
        }
        p.finish()?;
        Ok(images)
    }

    #[test]
    fn streams_images_whatever_the_chunk_size() {
        let root: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let bytes = bundle(&[
            ("rootfs", "rootfs.img", &root),
            ("boot", "boot.img", b"kernel"),
        ]);
        for chunk in [1, 7, 511, 512, 513, 4096, bytes.len()] {
            let images = parse_in_chunks(&bytes, chunk).unwrap();
            assert_eq!(images[0], root);
            assert_eq!(images[1], b"kernel");
        }
    }

    #[test]
    fn cut_tampered_or_extended_archives_are_refused() {
        let bytes = bundle(&[("rootfs", "rootfs.img", b"0123456789")]);
        assert!(parse_in_chunks(&bytes[..bytes.len() - 1024], 100).is_err());
        assert!(parse_in_chunks(&bytes[..700], 100).is_err());
        let mut flipped = bytes.clone();
        flipped[3] ^= 1; // name in the first header: checksum fails
        assert!(parse_in_chunks(&flipped, 100).is_err());
        let mut extra = bytes.clone();
        extra.push(1);
        assert!(parse_in_chunks(&extra, 100).is_err());
        // A pax header is refused, whatever it says.
        let mut pax = bytes.clone();
        pax[156] = b'x';
        assert!(parse_in_chunks(&pax, 512).is_err());
    }

    #[test]
    fn headers_carry_size_checksum_and_magic() {
        // Python's tarfile reads whole bundles in the repository tool's tests; here the
        // fields one by one.
        let h = header("rootfs.img", 10).unwrap();
        assert_eq!(&h[124..135], b"00000000012");
        assert_eq!(read_header(&h).unwrap(), ("rootfs.img".to_string(), 10));
        assert!(header(&"x".repeat(100), 1).is_err());
    }
}
