//! The archives opened by independent implementations: 7-Zip (`7zz`) and Python's
//! `pyzipper` open the AES archive with the password and give the attachments byte for
//! byte, `unzip` (Info-ZIP) opens the ZipCrypto one; each refuses a wrong password; Python's
//! `zipfile` reads the names as UTF-8 where the language-encoding flag says so and finds the
//! CP932 ones without it.
//!
//! Needs `7zz` (Debian's 7zip), `unzip` and the virtual environment with pyzipper that
//! `ci/install-deps.sh` makes (`target/formats-venv`; `MAMORI_FORMATS_PYTHON` overrides).
#![allow(clippy::unwrap_used)] // the helpers of a test

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use mamori_encrypt::{Cipher, Entry, NameCharset, Options, Password, pack};

const PASSWORD: &str = "Kx7mPq2vRt9wZa4N";

/// Office-like attachments: a text (deflated), a "JPEG" (stored), 3 MiB of noise (a large
/// incompressible file), an empty file, and the same name twice.
fn attachments() -> Vec<(&'static str, Vec<u8>)> {
    let mut noise = Vec::with_capacity(3 << 20);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while noise.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    let text = "社員番号,氏名,部署\nE0001,山田 太郎,総務部\n".repeat(2000);
    vec![
        ("社員名簿.csv", text.into_bytes()),
        (
            "写真.jpg",
            [b"\xFF\xD8\xFF\xE0".as_slice(), &noise[..100_000]].concat(),
        ),
        ("backup.bin", noise),
        ("空.txt", Vec::new()),
        ("社員名簿.csv", b"second copy".to_vec()),
    ]
}

fn make(dir: &Path, cipher: Cipher, names: NameCharset) -> PathBuf {
    let entries = attachments().into_iter().map(|(name, data)| Entry {
        name: name.to_owned(),
        data: Cursor::new(data),
    });
    let options = Options {
        cipher,
        names,
        modified: None,
    };
    let (out, packed) = pack(
        Cursor::new(Vec::new()),
        entries,
        &Password::from_text(PASSWORD),
        &options,
    )
    .unwrap();
    assert_eq!(packed.entries[4].name, "社員名簿 (2).csv");
    let path = dir.join(format!("{cipher:?}-{names:?}.zip"));
    std::fs::write(&path, out.into_inner()).unwrap();
    path
}

/// The attachments as they must come out: names made unique.
fn expected() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = attachments()
        .into_iter()
        .map(|(n, d)| (n.to_owned(), d))
        .collect();
    out[4].0 = "社員名簿 (2).csv".to_owned();
    out
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command
        .output()
        .expect("the tool runs (ci/install-deps.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn check_dir(dir: &Path) {
    for (name, data) in expected() {
        let got = std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == data, "{name} differs");
    }
}

#[test]
fn seven_zip_opens_the_aes_archive_with_the_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let zip = make(dir.path(), Cipher::Aes256, NameCharset::Utf8);
    let (ok, listing) = run(Command::new("7zz").args(["l", "-slt"]).arg(&zip));
    assert!(ok, "{listing}");
    assert!(listing.contains("Method = AES-256 Deflate"), "{listing}");
    assert!(listing.contains("Method = AES-256 Store"), "{listing}");
    let out = dir.path().join("7z");
    let (ok, log) = run(Command::new("7zz")
        .args(["x", "-y", "-bd"])
        .arg(format!("-p{PASSWORD}"))
        .arg(format!("-o{}", out.display()))
        .arg(&zip));
    assert!(ok, "{log}");
    check_dir(&out);
    let wrong = dir.path().join("wrong");
    let (ok, log) = run(Command::new("7zz")
        .args(["x", "-y", "-bd", "-pnot-the-password"])
        .arg(format!("-o{}", wrong.display()))
        .arg(&zip));
    assert!(!ok, "a wrong password opened it: {log}");
    assert!(log.contains("Wrong password"), "{log}");
}

#[test]
fn pyzipper_opens_the_aes_archive_and_zipfile_reads_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = make(dir.path(), Cipher::Aes256, NameCharset::Utf8);
    let cp932 = make(dir.path(), Cipher::Aes256, NameCharset::Cp932);
    let script = r#"
import sys, pyzipper, zipfile
utf8, cp932, out, password = sys.argv[1:5]
with pyzipper.AESZipFile(utf8) as z:
    z.setpassword(password.encode())
    for info in z.infolist():
        assert info.flag_bits & 0x800 or info.filename.isascii(), info.filename  # UTF-8 names say so
        assert info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED)
        open(out + '/' + info.filename, 'wb').write(z.read(info))
    try:
        z.setpassword(b'wrong')
        z.read(z.infolist()[0])
        sys.exit('a wrong password opened it')
    except RuntimeError:
        pass
with zipfile.ZipFile(cp932) as z:
    names = []
    for info in z.infolist():
        assert not info.flag_bits & 0x800, info.filename
        names.append(info.filename.encode('cp437').decode('cp932'))
    print('\n'.join(names))
"#;
    let out = dir.path().join("py");
    std::fs::create_dir(&out).unwrap();
    let (ok, log) = run(Command::new(common::python())
        .arg("-c")
        .arg(script)
        .arg(&utf8)
        .arg(&cp932)
        .arg(&out)
        .arg(PASSWORD));
    assert!(ok, "{log}");
    check_dir(&out);
    let names: Vec<String> = expected().into_iter().map(|(n, _)| n).collect();
    assert_eq!(log.lines().collect::<Vec<_>>(), names);
}

#[test]
fn unzip_opens_the_zipcrypto_archive_with_the_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let zip = make(dir.path(), Cipher::ZipCrypto, NameCharset::Utf8);
    let out = dir.path().join("unzip");
    let (ok, log) = run(Command::new("unzip")
        .args(["-q", "-P", PASSWORD, "-d"])
        .arg(&out)
        .arg(&zip));
    assert!(ok, "{log}");
    check_dir(&out);
    let wrong = dir.path().join("wrong");
    let (ok, log) = run(Command::new("unzip")
        .args(["-P", "not-the-password", "-d"])
        .arg(&wrong)
        .arg(&zip));
    assert!(!ok, "a wrong password opened it: {log}");
    assert!(log.contains("incorrect password"), "{log}");
}
