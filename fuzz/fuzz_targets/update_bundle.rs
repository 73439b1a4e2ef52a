//! Firmware bundles and offline update files as the box reads them
//! (`mamori_update::{tar, offline}`): the push parser fed in pieces of every size, and the
//! offline file's head.
//!
//! Input layout: byte 0 is the piece size (1–256, 0 = all at once); the rest is the archive.
//!
//! Checked, besides "never panics":
//! - the bytes the parser hands out for an image never exceed the size its manifest gives,
//!   and come only after the manifest;
//! - when the parser says the archive was whole, every image got exactly its size;
//! - the result does not depend on how the input was cut into pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_update::tar::{BundleParser, Event};

fn parse(bytes: &[u8], piece: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut p = BundleParser::new();
    let mut images: Vec<Vec<u8>> = Vec::new();
    let mut sizes: Vec<u64> = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        let mut events = Vec::new();
        p.feed(chunk, &mut events).map_err(|e| e.to_string())?;
        for e in events {
            match e {
                Event::Manifest(m) => {
                    sizes = m.images.iter().map(|i| i.size).collect();
                    images = vec![Vec::new(); sizes.len()];
                }
                Event::Data { image, bytes } => {
                    assert!(image < images.len(), "data before the manifest");
                    images[image].extend_from_slice(bytes);
                    assert!(
                        images[image].len() as u64 <= sizes[image],
                        "more than the manifest's size"
                    );
                }
                Event::ImageDone(image) => {
                    assert_eq!(
                        images[image].len() as u64,
                        sizes[image],
                        "an image done short"
                    );
                }
            }
        }
    }
    let m = p.finish().map_err(|e| e.to_string())?;
    for (img, data) in m.images.iter().zip(&images) {
        assert_eq!(img.size, data.len() as u64);
    }
    Ok(images)
}

fuzz_target!(|input: &[u8]| {
    let [piece, archive @ ..] = input else {
        return;
    };
    let piece = if *piece == 0 {
        archive.len()
    } else {
        usize::from(*piece)
    };
    let a = parse(archive, piece);
    let b = parse(archive, archive.len());
    assert_eq!(a.is_ok(), b.is_ok(), "the verdict depends on the pieces");
    if let (Ok(a), Ok(b)) = (a, b) {
        assert_eq!(a, b);
    }
    let mut reader = archive;
    if let Ok((_, name, size)) = mamori_update::offline::read_head(&mut reader) {
        assert!(mamori_update::client::valid_target_name(&name));
        let _ = size;
    }
});
