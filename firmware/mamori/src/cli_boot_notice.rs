//! `mamori boot-notice`: what a person setting up a new box needs before the panel can tell
//! them anything — the panel's address, its certificate's SHA-256 fingerprint (to check the
//! browser's warning against) and the one-time setup code — on the console and in a file on
//! the boot (FAT) partition, which the PC that wrote the SD card can read. Run by root
//! (`mamori-boot-notice.service`, after the panel started, and again whenever its setup
//! code file changes), so that the panel itself needs no write access to the partition the
//! boot loader lives on. Once the panel has its administrator (no setup code kept), the
//! file is removed: the code is one-time.

use std::path::Path;

use anyhow::Context;

/// The most read of a certificate or code file (they are a few kilobytes).
const MAX_FILE: u64 = 1 << 20;

/// What the notice says, from the panel's state directory: `None` when the panel has its
/// administrator (no setup code kept).
pub fn notice(panel_dir: &Path, url: &str) -> anyhow::Result<Option<String>> {
    let code_file = panel_dir.join("setup-code");
    let code = match read_small(&code_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", code_file.display())),
    };
    let code = code.trim();
    anyhow::ensure!(
        mamori_panel::setup_code::normalize(code).is_some(),
        "{}: not a setup code",
        code_file.display()
    );
    let fingerprint = fingerprint(panel_dir)?;
    let url = if url.is_empty() {
        "https://<this box's LAN address>/"
    } else {
        url
    };
    Ok(Some(format!(
        "Mamori: first setup / 初期設定\r\n\
         \r\n\
         Admin panel / 管理画面:            {url}\r\n\
         Certificate SHA-256 / 証明書の指紋: {fingerprint}\r\n\
         Setup code / 初期設定コード:       {code}\r\n\
         \r\n\
         Open the panel from the office LAN, check that the browser shows this fingerprint\r\n\
         for the certificate, and enter the setup code. It works once.\r\n\
         事務所の LAN から管理画面を開き、ブラウザーが示す証明書の指紋が上と同じことを確かめて、\r\n\
         初期設定コードを入力してください。コードは一度だけ使えます。\r\n"
    )))
}

/// The fingerprint of the certificate the panel serves: an uploaded one, else its own.
fn fingerprint(panel_dir: &Path) -> anyhow::Result<String> {
    let tls = panel_dir.join("tls");
    let (uploaded, _) = mamori_admind::tls::uploaded_paths(&tls);
    let path = if uploaded.exists() {
        uploaded
    } else {
        tls.join("admind-cert.pem")
    };
    let pem = read_small(&path).with_context(|| format!("reading {}", path.display()))?;
    mamori_admind::tls::pem_fingerprint(pem.as_bytes())
        .with_context(|| format!("reading {}", path.display()))
}

fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Prints the notice and writes it to `file` (replacing it), or removes `file` when the
/// panel needs no setup any more.
pub fn run(panel_dir: &Path, file: Option<&Path>, url: &str) -> anyhow::Result<()> {
    match notice(panel_dir, url)? {
        Some(text) => {
            println!("\n{}", text.replace("\r\n", "\n"));
            if let Some(file) = file {
                write_synced(file, text.as_bytes())
                    .with_context(|| format!("writing {}", file.display()))?;
            }
        }
        None => {
            println!("Mamori: the admin panel is set up (no setup code).");
            if let Some(file) = file {
                match std::fs::remove_file(file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| format!("removing {}", file.display()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Replaces `file` whole and puts it on the medium before returning: the card may be taken
/// out to be read on a PC soon after the box shows the code.
fn write_synced(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = file.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, file)?;
    // The renamed entry with its size: on FAT the directory entry is the inode, and it is
    // written by a sync of the file under its new name (a directory's fsync does not).
    std::fs::File::open(file)?.sync_all()?;
    if let Some(dir) = file.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_notice_names_the_code_and_fingerprint_and_goes_once_set_up() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) =
            mamori_admind::tls::load_or_make(None, &dir.path().join("tls"), &["mamori.lan".into()])
                .unwrap();
        let code = mamori_panel::setup_code::generate().unwrap();
        std::fs::write(dir.path().join("setup-code"), format!("{code}\n")).unwrap();
        let file = dir.path().join("mamori-setup.txt");
        run(dir.path(), Some(&file), "https://192.168.1.1/").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("https://192.168.1.1/"), "{text}");
        assert!(text.contains(&cert.fingerprint), "{text}");
        assert!(text.contains(&code), "{text}");
        // A garbled code file is an error, not a notice with garbage in it.
        std::fs::write(dir.path().join("setup-code"), "\u{0}\u{1}").unwrap();
        assert!(notice(dir.path(), "").is_err());
        // Set up: the code file is gone, and so is the notice.
        std::fs::remove_file(dir.path().join("setup-code")).unwrap();
        run(dir.path(), Some(&file), "").unwrap();
        assert!(!file.exists());
    }
}
