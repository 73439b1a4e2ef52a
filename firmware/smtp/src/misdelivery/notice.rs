//! The notices of held mail: to the sender (the mail waits; with the link to cancel it or
//! send it now, or to confirm a new domain; for an approval, without a link), and to the
//! approvers (with the link to approve or reject). A link opens a confirmation page on
//! the panel, and only the page's button acts, so that a link scanner or a prefetching
//! mail program cannot cancel, send or approve anything. Japanese, then English.

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;

/// What a notice says about the mail.
pub struct HoldFacts<'a> {
    /// The queue ID.
    pub queue_id: &'a str,
    /// The mail's subject, decoded.
    pub subject: &'a str,
    /// Its sender.
    pub sender: &'a str,
    /// Everyone it reaches.
    pub recipients: &'a [String],
    /// When the hold ends by itself, as the office reads the time.
    pub until: &'a str,
}

/// Why the sender's mail waits.
pub enum SenderReason<'a> {
    /// A pause to think again; the link cancels it or sends it now.
    Timed {
        /// The confirmation page.
        link: &'a str,
    },
    /// Domains the office never sent to; the link confirms or cancels.
    NewDomain {
        /// The confirmation page.
        link: &'a str,
        /// The new domains.
        domains: &'a [String],
        /// What happens without a confirmation (`send` or `reject`).
        sent_anyway: bool,
    },
    /// It waits for an approver (no link: the sender does not approve their own mail).
    Approval {
        /// Sent when nobody decides in time.
        sent_anyway: bool,
    },
}

fn recipients_line(recipients: &[String]) -> String {
    let shown: Vec<&str> = recipients.iter().take(20).map(String::as_str).collect();
    let more = recipients.len().saturating_sub(shown.len());
    let mut line = shown.join(", ");
    if more > 0 {
        line.push_str(&format!(" … (+{more})"));
    }
    line
}

fn short(subject: &str) -> String {
    subject.chars().take(120).collect()
}

fn build(
    hostname: &str,
    to: &str,
    subject: String,
    id: String,
    body: String,
) -> std::io::Result<Vec<u8>> {
    MessageBuilder::new()
        .from(("Mamori", format!("postmaster@{hostname}").as_str()))
        .to(to)
        .subject(subject)
        .message_id(id)
        .date(crate::datetime::unix_now())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .text_body(body)
        .write_to_vec()
}

/// The notice to the sender.
pub fn for_sender(
    facts: &HoldFacts<'_>,
    reason: &SenderReason<'_>,
    hostname: &str,
) -> std::io::Result<Vec<u8>> {
    let subject = short(facts.subject);
    let recipients = recipients_line(facts.recipients);
    let until = facts.until;
    let (ja, en) = match reason {
        SenderReason::Timed { link } => (
            format!(
                "送信したメールは {until} まで送信待ちになっています。宛先に誤りがあれば、それまでに取り消せます。\n\n\
                 取り消す、またはすぐに送る: {link}\n(開いたページのボタンを押すまで何も変わりません)"
            ),
            format!(
                "Your mail waits until {until} before it leaves. If a recipient is wrong, you can cancel it until then.\n\n\
                 Cancel it, or send it now: {link}\n(nothing changes until you press the button on that page)"
            ),
        ),
        SenderReason::NewDomain {
            link,
            domains,
            sent_anyway,
        } => {
            let list = domains.join(", ");
            let (ja_then, en_then) = if *sent_anyway {
                ("確認がなければ", "Without your confirmation it is sent")
            } else {
                (
                    "確認がなければ送信されず",
                    "Without your confirmation it is not sent",
                )
            };
            (
                format!(
                    "送信したメールには、これまで送ったことのないドメインの宛先があります: {list}\n\
                     アドレスに誤りがないか確かめて、正しければ送信してください。{ja_then}、{until} に処理されます。\n\n\
                     確認して送る、または取り消す: {link}\n(開いたページのボタンを押すまで何も変わりません)"
                ),
                format!(
                    "Your mail has recipients in domains the office never sent to before: {list}\n\
                     Please check the addresses and send it if they are right. {en_then} at {until}.\n\n\
                     Confirm and send, or cancel: {link}\n(nothing changes until you press the button on that page)"
                ),
            )
        }
        SenderReason::Approval { sent_anyway } => {
            let (ja_then, en_then) = if *sent_anyway {
                (
                    "判断がなければ送信されます",
                    "Without a decision it is sent",
                )
            } else {
                (
                    "判断がなければ送信されません",
                    "Without a decision it is not sent",
                )
            };
            (
                format!(
                    "送信したメールは、事務所の承認者の承認を待っています。承認されると送信され、却下されるとお知らせします。{until} までに{ja_then}。"
                ),
                format!(
                    "Your mail waits for an approver of the office. It is sent once approved; if it is rejected, you will be told. {en_then} at {until}."
                ),
            )
        }
    };
    let body = format!(
        "{ja}\n\n件名: {subject}\n宛先: {recipients}\n\n\
         {en}\n\nSubject: {subject}\nRecipients: {recipients}\n\n(Mamori, {id})\n",
        id = facts.queue_id
    );
    let title = match reason {
        SenderReason::Approval { .. } => "承認待ち / Waiting for approval",
        SenderReason::NewDomain { .. } => "宛先ドメインの確認 / Please confirm a new domain",
        SenderReason::Timed { .. } => "送信待ち / Waiting to be sent",
    };
    build(
        hostname,
        facts.sender,
        format!("[Mamori] {title}: {subject}"),
        format!("{}.hold@{hostname}", facts.queue_id),
        body,
    )
}

/// The notice to an approver, with the link to approve or reject.
pub fn for_approver(
    facts: &HoldFacts<'_>,
    approver: &str,
    link: &str,
    hostname: &str,
) -> std::io::Result<Vec<u8>> {
    let subject = short(facts.subject);
    let recipients = recipients_line(facts.recipients);
    let body = format!(
        "{sender} さんのメールが承認を待っています({until} まで)。\n\n\
         件名: {subject}\n宛先: {recipients}\n\n承認する、または却下する: {link}\n\
         (開いたページのボタンを押すまで何も変わりません)\n\n\
         A mail from {sender} waits for your approval (until {until}).\n\n\
         Subject: {subject}\nRecipients: {recipients}\n\nApprove or reject: {link}\n\
         (nothing changes until you press the button on that page)\n\n(Mamori, {id})\n",
        sender = facts.sender,
        until = facts.until,
        id = facts.queue_id,
    );
    build(
        hostname,
        approver,
        format!("[Mamori] 承認依頼 / Approval needed: {subject}"),
        format!(
            "{}.approve.{}@{hostname}",
            facts.queue_id,
            approver.replace(['@', '<', '>'], ".")
        ),
        body,
    )
}
