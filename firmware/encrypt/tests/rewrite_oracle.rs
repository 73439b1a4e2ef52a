//! A mail written by Python's `email` package (a Japanese text body in ISO-2022-JP, an HTML
//! alternative, a PDF and a CSV with a Japanese name) goes through the whole ZIP mode as the
//! relay will run it: DLP's outline, the attachments decoded and packed, the mail
//! rewritten. Python's `email` then reads the result as a mail client would: one
//! attachment, the archive; both bodies begin with the notice in their own charset; and
//! `pyzipper` opens the archive with the password and gives back every attachment byte
//! for byte under its name.
//!
//! Needs the virtual environment with pyzipper that `ci/install-deps.sh` makes
//! (`target/formats-venv`; `MAMORI_FORMATS_PYTHON` overrides).
#![allow(clippy::unwrap_used)] // the helpers of a test

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use mamori_dlp::mime::{Node, outline};
use mamori_encrypt::notice::{Notice, PasswordTo};
use mamori_encrypt::rewrite::{Packing, attachments, rewrite};
use mamori_encrypt::{Cipher, Entry, Options, Password, pack};

const PASSWORD: &str = "Zr8kWm3pTq6vHc2N";

fn python_run(script: &str, args: &[&Path]) -> String {
    let output = Command::new(common::python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs (ci/install-deps.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    text
}

#[test]
fn python_reads_the_rewritten_mail_and_pyzipper_gives_back_the_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.eml");
    python_run(
        r#"
import sys
from email.message import EmailMessage
from email import policy
m = EmailMessage()
m['From'] = 'tanaka@office.test'
m['To'] = 'kyaku@example.jp'
m['Subject'] = '見積書の送付'
m.set_content('いつもお世話になっております。\n見積書をお送りします。\n', charset='iso-2022-jp')
m.add_alternative('<html><body><p>見積書をお送りします。</p></body></html>', subtype='html')
m.add_attachment(b'%PDF-1.4\n' + bytes(range(256)) * 40, maintype='application', subtype='pdf', filename='見積書.pdf')
m.add_attachment('社員番号,氏名\nE0001,山田\n'.encode('cp932'), maintype='text', subtype='csv', filename='名簿.csv')
open(sys.argv[1], 'wb').write(m.as_bytes(policy=policy.SMTP))
"#,
        &[&original],
    );
    let raw = std::fs::read(&original).unwrap();
    let structure = outline(&raw).unwrap();
    let found = attachments(&structure);
    assert_eq!(found.len(), 2);
    let entries: Vec<Entry<Cursor<Vec<u8>>>> = found
        .iter()
        .map(|node| {
            let Node::Attachment {
                name,
                content,
                transfer,
                ..
            } = node
            else {
                panic!("{node:?}")
            };
            Entry {
                name: name.clone().unwrap_or_default(),
                data: Cursor::new(transfer.decode(&raw[content.clone()])),
            }
        })
        .collect();
    let (archive, _) = pack(
        Cursor::new(Vec::new()),
        entries,
        &Password::from_text(PASSWORD),
        &Options {
            cipher: Cipher::Aes256,
            ..Options::default()
        },
    )
    .unwrap();
    let notice = Notice {
        archive: "添付ファイル.zip".to_owned(),
        cipher: Cipher::Aes256,
        password_to: PasswordTo::Recipients,
    };
    let out = rewrite(
        &raw,
        &structure,
        &[0, 1],
        &Packing {
            name: "添付ファイル.zip",
            archive: Some(&archive.into_inner()),
            notice: &notice,
        },
    )
    .unwrap();
    let rewritten = dir.path().join("rewritten.eml");
    std::fs::write(&rewritten, &out).unwrap();
    let log = python_run(
        r#"
import sys, io, pyzipper
from email import policy
from email.parser import BytesParser
orig = BytesParser(policy=policy.default).parse(open(sys.argv[1], 'rb'))
new = BytesParser(policy=policy.default).parse(open(sys.argv[2], 'rb'))
assert new['Subject'] == '見積書の送付', new['Subject']
atts = list(new.iter_attachments())
assert [a.get_filename() for a in atts] == ['添付ファイル.zip'], [a.get_filename() for a in atts]
plain = new.get_body(('plain',))
assert plain.get_content_charset() == 'iso-2022-jp', plain.get_content_charset()
text = plain.get_content()
assert text.startswith('【添付ファイル暗号化のお知らせ】'), text
assert text.rstrip().endswith('見積書をお送りします。'), text
html = new.get_body(('html',)).get_content()
assert '添付ファイル.zip' in html and html.index('添付ファイル.zip') < html.index('<p>見積書'), html
with pyzipper.AESZipFile(io.BytesIO(atts[0].get_content())) as z:
    z.setpassword(sys.argv[3].encode())
    got = {i.filename: z.read(i) for i in z.infolist()}
want = {a.get_filename(): a.get_content() if isinstance(a.get_content(), bytes) else a.get_payload(decode=True) for a in orig.iter_attachments()}
assert got == want, (sorted(got), sorted(want))
print('ok', sorted(got))
"#,
        &[&original, &rewritten, Path::new(PASSWORD)],
    );
    assert!(log.contains("ok ['名簿.csv', '見積書.pdf']"), "{log}");
}
