//! The notice put at the top of a mail whose attachments were packed: what happened, where
//! the password comes from, and which tools open the archive, in Japanese and in English.

use crate::archive::Cipher;

/// What the notice says, for one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The archive's file name.
    pub archive: String,
    /// The cipher it was made with (which tools open it).
    pub cipher: Cipher,
    /// Who receives the password mail.
    pub password_to: PasswordTo,
}

/// Who is sent the password.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PasswordTo {
    /// The sender, who passes it on by another way (a phone call, a chat).
    Sender,
    /// The recipients, in a separate mail.
    Recipients,
    /// Both.
    Both,
}

impl Notice {
    /// The notice as plain text (CRLF line ends), Japanese first.
    pub fn text(&self) -> String {
        let archive = &self.archive;
        let (ja_tools, en_tools) = match self.cipher {
            Cipher::Aes256 => (
                "AES-256 で暗号化しています。Windows の標準機能(エクスプローラー)では開けません。7-Zip、Lhaplus、CubeICE などで開いてください。",
                "It is encrypted with AES-256, which Windows Explorer cannot open: use 7-Zip, Lhaplus, CubeICE or a similar tool.",
            ),
            Cipher::ZipCrypto => (
                "従来の ZIP 暗号(ZipCrypto)で暗号化しています。Windows の標準機能で開けますが、AES-256 より弱い暗号です。",
                "It is encrypted with traditional ZIP encryption (ZipCrypto), which Windows Explorer opens but which is weaker than AES-256.",
            ),
        };
        let (ja_password, en_password) = match self.password_to {
            PasswordTo::Recipients | PasswordTo::Both => (
                "パスワードは別のメールでお送りします。",
                "The password follows in a separate mail.",
            ),
            PasswordTo::Sender => (
                "パスワードは送信者から別の方法でお知らせします。",
                "The sender will tell you the password by another way.",
            ),
        };
        [
            "【添付ファイル暗号化のお知らせ】".to_owned(),
            format!("このメールの添付ファイルは、暗号化した ZIP ファイル「{archive}」にまとめられています。{ja_password}"),
            ja_tools.to_owned(),
            String::new(),
            "[Encrypted attachments]".to_owned(),
            format!("The attachments of this mail are in the encrypted ZIP file \"{archive}\". {en_password}"),
            en_tools.to_owned(),
            "================================================================".to_owned(),
            String::new(),
        ]
        .join("\r\n")
    }

    /// The notice as an HTML block for the top of an HTML body.
    pub fn html(&self) -> String {
        let escaped = escape(&self.text());
        let lines: Vec<&str> = escaped.split("\r\n").collect();
        // One paragraph a line, so that no line of the body grows long.
        format!(
            "<div style=\"border:1px solid #888;padding:8px;margin-bottom:12px\">\r\n{}\r\n</div>\r\n",
            lines
                .iter()
                .filter(|line| !line.is_empty() && !line.starts_with("==="))
                .map(|line| format!("<p>{line}</p>"))
                .collect::<Vec<_>>()
                .join("\r\n")
        )
    }
}

/// `text` with HTML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_the_archive_the_password_and_the_tools() {
        let notice = Notice {
            archive: "<見積>.zip".to_owned(),
            cipher: Cipher::ZipCrypto,
            password_to: PasswordTo::Sender,
        };
        let text = notice.text();
        assert!(text.contains("「<見積>.zip」") && text.contains("ZipCrypto"));
        assert!(text.contains("送信者から別の方法"));
        assert!(text.ends_with("\r\n") && !text.contains("\n\n"));
        let html = notice.html();
        assert!(html.contains("&lt;見積&gt;.zip") && !html.contains("<見積>"));
        let aes = Notice {
            cipher: Cipher::Aes256,
            password_to: PasswordTo::Recipients,
            ..notice
        };
        assert!(aes.text().contains("7-Zip") && aes.text().contains("別のメールでお送りします"));
    }
}
