//! Alert mails to the office's administrators (`smtp.alert_to`): the panel's watchdog asks
//! the relay to send one when held mail waits too long, a certificate nears its end, the
//! data partition fills or a daemon is down. The relay writes and queues it like any mail
//! it makes itself (DLP inspects it too); only the addresses of its own settings receive it.

use mail_builder::MessageBuilder;

/// The longest subject and body an alert carries.
pub const MAX_SUBJECT: usize = 200;
/// See [`MAX_SUBJECT`].
pub const MAX_BODY: usize = 16 * 1024;

/// Renders an alert from `postmaster@<hostname>` to `to`.
pub fn render(
    subject: &str,
    body: &str,
    to: &[String],
    hostname: &str,
) -> std::io::Result<Vec<u8>> {
    let subject: String = subject
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SUBJECT)
        .collect();
    let body: String = body.chars().take(MAX_BODY).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let id = crate::spool::new_id();
    MessageBuilder::new()
        .from(("Mamori", format!("postmaster@{hostname}").as_str()))
        .to(to)
        .subject(format!("[Mamori] {subject}"))
        .message_id(format!("{id}.alert@{hostname}"))
        .date(crate::datetime::unix_now())
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-generated"),
        )
        .text_body(body)
        .write_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_a_plain_auto_generated_mail() {
        let raw = render(
            "保留メールが 2 通待っています\r\nBcc: x@evil.test",
            "本文",
            &["boss@office.test".into()],
            "mamori.office.test",
        )
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("Auto-Submitted: auto-generated"));
        assert!(text.contains("To: <boss@office.test>"));
        assert!(
            !text.contains("\r\nBcc:"),
            "no header injection through the subject: {text}"
        );
    }
}
