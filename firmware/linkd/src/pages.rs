//! The service's pages, Japanese and English side by side (the visitor has no language
//! setting): a link's files with a download button each, and the messages for what cannot
//! be downloaded. Plain HTML, no script, no style sheet beyond a few inline-free defaults.

use mamori_links::{Link, State};

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>{}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

/// A page with one message (`ja`, `en`), for links that give nothing.
pub fn message(ja: &str, en: &str) -> String {
    page(
        "ファイルのダウンロード / File download",
        &format!(
            "<h1>ファイルのダウンロード / File download</h1>\n<p id=\"message\">{}<br>{}</p>",
            escape(ja),
            escape(en)
        ),
    )
}

/// Unix seconds as `2026-12-13 10:00` in Japan.
pub use mamori_core::clock::japan_minutes as japan_time;

fn size(octets: u64) -> String {
    match octets {
        n if n < 1000 => format!("{n} B"),
        n if n < 1_000_000 => format!("{:.1} KB", n as f64 / 1000.0),
        n => format!("{:.1} MB", n as f64 / 1_000_000.0),
    }
}

/// Why a link gives nothing, in both languages.
pub fn state_words(state: State) -> Option<(&'static str, &'static str)> {
    match state {
        State::Open => None,
        State::Expired => Some((
            "このリンクは有効期限を過ぎました。送信者にご連絡ください。",
            "This link has expired. Please ask the sender.",
        )),
        State::Revoked => Some((
            "このリンクは送信者または送信元の組織により無効にされました。",
            "This link was revoked by its sender or their office.",
        )),
        State::Locked => Some((
            "パスワードの誤りが多すぎるため、このリンクは使えなくなりました。送信者にご連絡ください。",
            "This link is locked after too many wrong passwords. Please ask the sender.",
        )),
        State::UsedUp => Some((
            "このリンクのファイルは、許可された回数ダウンロードされました。",
            "The files of this link were downloaded as often as allowed.",
        )),
    }
}

/// The page of an open link: its files, each with what is left of its downloads and a
/// button (a POST to `<action>/<n>`), and a password field when the link has one.
pub fn link(link: &Link, action: &str, now: u64, note: Option<(&str, &str)>) -> String {
    let record = &link.record;
    let mut body = String::from("<h1>ファイルのダウンロード / File download</h1>\n");
    if let Some((ja, en)) = note {
        body.push_str(&format!(
            "<p id=\"message\">{}<br>{}</p>\n",
            escape(ja),
            escape(en)
        ));
    }
    if let Some((ja, en)) = state_words(link.state(now)) {
        body.push_str(&format!("<p id=\"state\">{ja}<br>{en}</p>\n"));
        return page("ファイルのダウンロード / File download", &body);
    }
    let until = japan_time(record.expires);
    body.push_str(&format!(
        "<p>{}さんから送られたファイルです。{until}(日本時間)までダウンロードできます。<br>Files sent by {} — available until {until} (Japan time).</p>\n",
        escape(&record.sender),
        escape(&record.sender)
    ));
    body.push_str("<ul id=\"files\">\n");
    for (i, file) in record.files.iter().enumerate() {
        let left = record
            .max_downloads
            .saturating_sub(link.downloads_of(i as u32));
        body.push_str(&format!(
            "<li><form method=\"post\" action=\"{}/{i}\">{} ({}) ",
            escape(action),
            escape(&file.name),
            size(file.size)
        ));
        if left == 0 {
            body.push_str(
                "— ダウンロード回数の上限に達しました / downloaded as often as allowed</form></li>\n",
            );
            continue;
        }
        if record.password_hash.is_some() {
            body.push_str(&format!(
                "<label>パスワード / Password <input type=\"password\" name=\"password\" autocomplete=\"off\" required id=\"password-{i}\"></label> "
            ));
        }
        body.push_str(&format!(
            "<button type=\"submit\" id=\"download-{i}\">ダウンロード / Download</button> <small>残り {left} 回 / {left} left</small></form></li>\n"
        ));
    }
    body.push_str("</ul>\n<p><small>このページを開いただけではダウンロード回数は減りません。 Opening this page uses no download.</small></p>\n");
    page("ファイルのダウンロード / File download", &body)
}
