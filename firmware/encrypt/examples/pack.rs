//! Packs files into an encrypted ZIP archive, as the relay's encryption stage does with a
//! mail's attachments: `pack [--zipcrypto] [--cp932] PASSWORD OUT FILE...`. For
//! `ci/bench-encrypt` and for trying archives by hand; the files are streamed from disk.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use mamori_encrypt::{Cipher, Entry, NameCharset, Options, Password, pack};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = Options::default();
    args.retain(|arg| match arg.as_str() {
        "--zipcrypto" => {
            options.cipher = Cipher::ZipCrypto;
            false
        }
        "--cp932" => {
            options.names = NameCharset::Cp932;
            false
        }
        _ => true,
    });
    let [password, out, files @ ..] = args.as_slice() else {
        return Err("usage: pack [--zipcrypto] [--cp932] PASSWORD OUT FILE...".into());
    };
    let mut entries = Vec::new();
    for path in files {
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        entries.push(Entry {
            name,
            data: File::open(path)?,
        });
    }
    let out = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let (out, packed) = pack(out, entries, &Password::from_text(password), &options)?;
    // Written to the page cache, as 7-Zip leaves its archive (no fsync either side).
    out.into_inner().map_err(|e| e.into_error())?;
    for entry in packed.entries {
        let how = if entry.stored { "stored" } else { "deflated" };
        eprintln!("{} {} bytes {how}", entry.name, entry.size);
    }
    Ok(())
}
