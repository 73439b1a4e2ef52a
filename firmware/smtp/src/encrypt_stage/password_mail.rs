//! The mail that carries an archive's or a download link's password, sent apart from it:
//! to the recipients (from the sender's address, so that they know whose it is), or to the
//! sender (who passes it on by another way, a phone call or a chat) — in Japanese, then
//! English. In link mode the sender's mail is a receipt: the link's page, where the sender
//! sees the downloads and can revoke the link, and the password when the sender passes it on.

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use mamori_encrypt::{Cipher, Password};

/// What the password protects.
#[derive(Clone, Copy)]
pub enum Protected<'a> {
    /// An encrypted ZIP in the mail.
    Archive {
        /// The archive's file name.
        name: &'a str,
        /// Its cipher (which tools open it).
        cipher: Cipher,
    },
    /// A download link in the mail.
    Link {
        /// The sender's page of the link (downloads, revoke).
        manage_url: &'a str,
        /// When the link expires, as the notice wrote it.
        expires: &'a str,
    },
}

/// What the password mail is about.
#[derive(Clone)]
pub struct PasswordFacts<'a> {
    /// The queue ID of the mail that carries the archive or link.
    pub queue_id: &'a str,
    /// That mail's subject, decoded.
    pub subject: &'a str,
    /// The archive or the link.
    pub what: Protected<'a>,
    /// The password (`None`: a link without one, for the sender's receipt).
    pub password: Option<&'a Password>,
    /// Who received the mail.
    pub recipients: &'a [String],
}

/// Which tools open the archive, one line in each language.
fn tools(cipher: Cipher) -> (&'static str, &'static str) {
    match cipher {
        Cipher::Aes256 => (
            "AES-256 の ZIP です。7-Zip、Lhaplus、CubeICE などで開いてください(Windows の標準機能では開けません)。",
            "The ZIP is AES-256 encrypted: open it with 7-Zip, Lhaplus, CubeICE or a similar tool (Windows Explorer cannot).",
        ),
        Cipher::ZipCrypto => (
            "従来の ZIP 暗号(ZipCrypto)です。Windows の標準機能でも開けます。",
            "The ZIP uses traditional ZIP encryption (ZipCrypto), which Windows Explorer opens too.",
        ),
    }
}

fn subject_line(subject: &str) -> String {
    let short: String = subject.chars().take(120).collect();
    format!("[Mamori] パスワードのお知らせ / Password: {short}")
}

/// The password mail to the recipients of the archive, from `sender` (the original mail's
/// envelope sender; the box's postmaster when it has none).
pub fn for_recipients(
    facts: &PasswordFacts<'_>,
    sender: &str,
    hostname: &str,
) -> std::io::Result<Vec<u8>> {
    let password = facts.password.map_or("", |p| p.expose());
    let body = match facts.what {
        Protected::Archive { name, cipher } => {
            let (ja_tools, en_tools) = tools(cipher);
            format!(
                "先ほどお送りしたメール「{subject}」の添付ファイル「{name}」のパスワードをお知らせします。\n\n\
                 パスワード: {password}\n\n{ja_tools}\n\n\
                 The password of \"{name}\", attached to the mail \"{subject}\" sent a moment ago:\n\n\
                 Password: {password}\n\n{en_tools}\n\n\
                 (Mamori, {queue_id})\n",
                subject = facts.subject,
                queue_id = facts.queue_id,
            )
        }
        Protected::Link { .. } => format!(
            "先ほどお送りしたメール「{subject}」のダウンロードリンクのパスワードをお知らせします。\n\n\
             パスワード: {password}\n\n\
             The password of the download link in the mail \"{subject}\" sent a moment ago:\n\n\
             Password: {password}\n\n\
             (Mamori, {queue_id})\n",
            subject = facts.subject,
            queue_id = facts.queue_id,
        ),
    };
    let from = if sender.is_empty() {
        format!("postmaster@{hostname}")
    } else {
        sender.to_owned()
    };
    // The envelope carries the recipients; the header names none of them, so that a Bcc
    // recipient of the mail is not shown to the others here.
    MessageBuilder::new()
        .from(from.as_str())
        .header("To", Raw::new("undisclosed-recipients:;"))
        .subject(subject_line(facts.subject))
        .message_id(format!("{}.password@{hostname}", facts.queue_id))
        .date(crate::datetime::unix_now())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .text_body(body)
        .write_to_vec()
}

/// The password mail to the sender, who passes the password on by another way.
pub fn for_sender(
    facts: &PasswordFacts<'_>,
    sender: &str,
    hostname: &str,
) -> std::io::Result<Vec<u8>> {
    let recipients = facts.recipients.join(", ");
    let password = facts.password.map_or("", |p| p.expose());
    let body = match facts.what {
        Protected::Link {
            manage_url,
            expires,
        } => {
            let (ja_password, en_password) = if password.is_empty() {
                (String::new(), String::new())
            } else {
                (
                    format!(
                        "パスワード: {password}\nこのパスワードは、メール以外の方法(電話、チャットなど)で宛先の方にお伝えください。\n\n"
                    ),
                    format!(
                        "Password: {password}\nPlease tell the recipients this password by another way than mail (a phone call, a chat).\n\n"
                    ),
                )
            };
            format!(
                "あなたが送信したメール「{subject}」の添付ファイルは、メールから外してダウンロードリンクにして送信しました(有効期限 {expires})。\n\
                 宛先: {recipients}\n\n{ja_password}\
                 ダウンロードの記録はこのページで見られます。宛先を誤った場合は、このページでリンクを無効にできます:\n{manage_url}\n\n\
                 The attachments of your mail \"{subject}\" were taken out of it and sent as a download link (until {expires}).\n\
                 Recipients: {recipients}\n\n{en_password}\
                 This page shows the downloads; if the mail went to the wrong person, revoke the link there:\n{manage_url}\n\n\
                 (Mamori, {queue_id})\n",
                subject = facts.subject,
                queue_id = facts.queue_id,
            )
        }
        Protected::Archive { name, cipher } => {
            sender_archive_body(facts, name, cipher, &recipients, password)
        }
    };
    MessageBuilder::new()
        .from(("Mamori", format!("postmaster@{hostname}").as_str()))
        .to(sender)
        .subject(match facts.what {
            Protected::Link { .. } => {
                let short: String = facts.subject.chars().take(120).collect();
                format!("[Mamori] ダウンロードリンクを送信しました / Link sent: {short}")
            }
            Protected::Archive { .. } => subject_line(facts.subject),
        })
        .message_id(format!("{}.password-sender@{hostname}", facts.queue_id))
        .date(crate::datetime::unix_now())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .text_body(body)
        .write_to_vec()
}

/// The sender's password mail of an archive.
fn sender_archive_body(
    facts: &PasswordFacts<'_>,
    archive: &str,
    cipher: Cipher,
    recipients: &str,
    password: &str,
) -> String {
    let (ja_tools, en_tools) = tools(cipher);
    format!(
        "あなたが送信したメール「{subject}」の添付ファイルは、暗号化した ZIP「{archive}」にまとめて送信しました。\n\
         宛先: {recipients}\n\n\
         パスワード: {password}\n\n\
         このパスワードは、メール以外の方法(電話、チャットなど)で宛先の方にお伝えください。\n{ja_tools}\n\n\
         The attachments of your mail \"{subject}\" were sent in the encrypted ZIP \"{archive}\".\n\
         Recipients: {recipients}\n\n\
         Password: {password}\n\n\
         Please tell the recipients this password by another way than mail (a phone call, a chat).\n{en_tools}\n\n\
         (Mamori, {queue_id})\n",
        subject = facts.subject,
        queue_id = facts.queue_id,
    )
}
