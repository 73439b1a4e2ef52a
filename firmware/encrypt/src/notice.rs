//! The notice put at the top of a mail whose attachments were packed (where the password
//! comes from, which tools open the archive) or replaced by a download link (the link, its
//! files, until when and how often), in Japanese and in English.

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

/// A notice as the rewrite puts it into a mail: as plain text and as HTML.
pub trait NoticeText {
    /// The notice as plain text (CRLF line ends), Japanese first.
    fn text(&self) -> String;

    /// The notice as an HTML block for the top of an HTML body: a paragraph a line, a line
    /// that is an `https://` address made a link.
    fn html(&self) -> String {
        let text = self.text();
        let lines: Vec<String> = text
            .split("\r\n")
            .filter(|line| !line.is_empty() && !line.starts_with("==="))
            .map(|line| {
                let escaped = escape(line);
                if line.starts_with("https://") && !line.contains(char::is_whitespace) {
                    format!("<p><a href=\"{escaped}\">{escaped}</a></p>")
                } else {
                    format!("<p>{escaped}</p>")
                }
            })
            .collect();
        format!(
            "<div style=\"border:1px solid #888;padding:8px;margin-bottom:12px\">\r\n{}\r\n</div>\r\n",
            lines.join("\r\n")
        )
    }
}

impl NoticeText for Notice {
    fn text(&self) -> String {
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

/// The notice of a mail whose attachments were replaced by a download link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkNotice {
    /// The download link.
    pub url: String,
    /// The files (name, size in octets).
    pub files: Vec<(String, u64)>,
    /// When the link stops working (Unix seconds).
    pub expires: u64,
    /// How often each file may be downloaded.
    pub downloads: u32,
    /// Who is sent the link's password, when it has one.
    pub password_to: Option<PasswordTo>,
}

/// `unix` as `2026-12-13 10:00` in Japan's time (the notices' and password mails' form).
pub use mamori_core::clock::japan_minutes as jst;

/// A size as people read it: `850 B`, `12.4 KB`, `3.1 MB`.
fn size(octets: u64) -> String {
    match octets {
        n if n < 1000 => format!("{n} B"),
        n if n < 1_000_000 => format!("{:.1} KB", n as f64 / 1000.0),
        n => format!("{:.1} MB", n as f64 / 1_000_000.0),
    }
}

impl NoticeText for LinkNotice {
    fn text(&self) -> String {
        let count = self.files.len();
        let expires = jst(self.expires);
        let downloads = self.downloads;
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(name, octets)| {
                let name: String = name.chars().filter(|c| !c.is_control()).collect();
                format!("  - {name} ({})", size(*octets))
            })
            .collect();
        let (ja_password, en_password) = match self.password_to {
            None => ("", ""),
            Some(PasswordTo::Recipients | PasswordTo::Both) => (
                "ダウンロードにはパスワードが必要です。パスワードは別のメールでお送りします。",
                "Downloading asks for a password, which follows in a separate mail.",
            ),
            Some(PasswordTo::Sender) => (
                "ダウンロードにはパスワードが必要です。パスワードは送信者から別の方法でお知らせします。",
                "Downloading asks for a password, which the sender will tell you by another way.",
            ),
        };
        let mut lines = vec![
            "【添付ファイルのダウンロードのお知らせ】".to_owned(),
            format!(
                "このメールの添付ファイル({count} 件)は、次のリンクからダウンロードしてください。"
            ),
            self.url.clone(),
        ];
        lines.extend(files.iter().cloned());
        lines.push(format!(
            "有効期限は {expires}(日本時間)までです。各ファイルは {downloads} 回までダウンロードできます。{ja_password}"
        ));
        lines.extend([
            String::new(),
            "[Attachments to download]".to_owned(),
            format!(
                "The attachments of this mail ({count} file{}) are to be downloaded from this link:",
                if count == 1 { "" } else { "s" }
            ),
            self.url.clone(),
        ]);
        lines.extend(files);
        lines.push(format!(
            "The link works until {expires} (Japan time); each file can be downloaded {downloads} time{}. {en_password}",
            if downloads == 1 { "" } else { "s" }
        ));
        lines.push("================================================================".to_owned());
        lines.push(String::new());
        lines.join("\r\n").replace(". \r\n", ".\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_notice_names_the_link_files_expiry_and_password() {
        let notice = LinkNotice {
            url: "https://files.office.test/d/abc/def".into(),
            files: vec![("見積書.pdf".into(), 1_234_567), ("a\r\nb.txt".into(), 12)],
            // 2026-12-13 01:00 UTC is 10:00 in Japan.
            expires: 1_796_000_400 + 3600,
            downloads: 3,
            password_to: Some(PasswordTo::Recipients),
        };
        let text = notice.text();
        assert!(
            text.contains("https://files.office.test/d/abc/def\r\n"),
            "{text}"
        );
        assert!(
            text.contains("見積書.pdf (1.2 MB)") && text.contains("ab.txt (12 B)"),
            "{text}"
        );
        assert!(
            text.contains("3 回まで") && text.contains("3 times"),
            "{text}"
        );
        assert!(text.contains("別のメールでお送りします"), "{text}");
        assert!(text.contains(&jst(notice.expires)), "{text}");
        let html = notice.html();
        assert!(
            html.contains("<a href=\"https://files.office.test/d/abc/def\">"),
            "{html}"
        );
        let plain = LinkNotice {
            password_to: None,
            ..notice
        };
        assert!(!plain.text().contains("パスワード"));
        assert_eq!(jst(0), "1970-01-01 09:00");
    }

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
