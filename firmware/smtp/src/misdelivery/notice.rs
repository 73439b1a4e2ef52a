//! The notice a sender gets when their mail waits on a timed hold: to whom, which mail,
//! when it leaves, and two links — cancel, send now — that open a confirmation page on the
//! panel (only the page's button acts, so that a link scanner or a prefetching mail
//! program cannot cancel or send anything). Japanese, then English.

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;

/// What the notice says.
pub struct HoldFacts<'a> {
    /// The queue ID.
    pub queue_id: &'a str,
    /// The mail's subject, decoded.
    pub subject: &'a str,
    /// Its recipients.
    pub recipients: &'a [String],
    /// When it leaves by itself, as the office reads the time.
    pub leaves_at: &'a str,
    /// The confirmation page's address (it carries the capability token).
    pub link: &'a str,
}

/// Renders the notice to `sender`, from `postmaster@<hostname>`.
pub fn render(facts: &HoldFacts<'_>, sender: &str, hostname: &str) -> std::io::Result<Vec<u8>> {
    let shown: Vec<&str> = facts
        .recipients
        .iter()
        .take(20)
        .map(String::as_str)
        .collect();
    let more = facts.recipients.len().saturating_sub(shown.len());
    let mut recipients = shown.join(", ");
    if more > 0 {
        recipients.push_str(&format!(" … (+{more})"));
    }
    let subject: String = facts.subject.chars().take(120).collect();
    let body = format!(
        "送信したメールは {leaves_at} まで送信待ちになっています。宛先に誤りがあれば、\
         それまでに取り消せます。\n\n\
         件名: {subject}\n宛先: {recipients}\n\n\
         取り消す、またはすぐに送る: {link}\n\
         (開いたページのボタンを押すまで何も変わりません)\n\n\
         Your mail waits until {leaves_at} before it leaves. If a recipient is wrong, you can \
         cancel it until then.\n\n\
         Subject: {subject}\nRecipients: {recipients}\n\n\
         Cancel it, or send it now: {link}\n\
         (nothing changes until you press the button on that page)\n\n\
         (Mamori, {queue_id})\n",
        leaves_at = facts.leaves_at,
        link = facts.link,
        queue_id = facts.queue_id,
    );
    MessageBuilder::new()
        .from(("Mamori", format!("postmaster@{hostname}").as_str()))
        .to(sender)
        .subject(format!("[Mamori] 送信待ち / Waiting to be sent: {subject}"))
        .message_id(format!("{}.hold@{hostname}", facts.queue_id))
        .date(crate::datetime::unix_now())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .text_body(body)
        .write_to_vec()
}
