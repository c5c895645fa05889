//! What a delivery report says: which of our mails (by Message-ID), to
//! which recipients, and why. Read from the decoded parts, so reports sent
//! quoted-printable or base64 (Exchange, some Japanese carriers) read like
//! plain ones; reports without multipart/report (qmail, older Exim, Apache
//! James) are read from their text. Linear in the message; every list is
//! capped and the reason is one short line.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use regex::Regex;
use std::sync::LazyLock;

use super::parse::{clean_id, contained};

/// Most Message-IDs and recipients read from one report.
pub const MAX_REPORTED: usize = 10;
/// Longest reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 300;
/// Most decoded text read from one report.
const MAX_TEXT: usize = 1024 * 1024;

/// A delivery report's account of the mail it returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Message-IDs of the returned mail, without angle brackets.
    pub ids: Vec<String>,
    /// `Final-Recipient`/`Original-Recipient` addresses, lowercase.
    pub recipients: Vec<String>,
    /// Status and Diagnostic-Code, else the subject: one line.
    pub reason: String,
}

/// Reads `raw` as a delivery report. Never panics: mail-parser's own
/// panics are contained, and then nothing is reported.
pub fn read(raw: &[u8], subject: &str) -> Report {
    contained(|| read_inner(raw, subject)).unwrap_or_else(|_| Report {
        reason: super::header_text(subject, MAX_REASON_CHARS),
        ..Report::default()
    })
}

fn read_inner(raw: &[u8], subject: &str) -> Report {
    static QUOTED_ID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?im)^[ \t>]*Message-ID:[ \t]*<([^>\s]+)>").expect("static regex")
    });
    static RECIPIENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?im)^[ \t]*(?:Final|Original)-Recipient:[ \t]*(?:rfc822[ \t]*;)?[ \t]*<?([^<>\s;]+@[^<>\s;]+?)>?[ \t]*\r?$",
        )
        .expect("static regex")
    });
    static FIELD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?im)^[ \t]*(Status|Diagnostic-Code):[ \t]*([^\r\n]+)").expect("static regex")
    });
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Report {
            reason: super::header_text(subject, MAX_REASON_CHARS),
            ..Report::default()
        };
    };
    let own = msg.message_id().map(str::to_string);
    let mut ids: Vec<String> = Vec::new();
    let mut push = |id: Option<&str>| {
        if let Some(id) = id.and_then(clean_id) {
            if Some(&id) != own.as_ref() && !ids.contains(&id) && ids.len() < MAX_REPORTED {
                ids.push(id);
            }
        }
    };
    // The decoded text of every part that is not an attachment's bytes.
    let mut text = String::new();
    for part in &msg.parts {
        if text.len() >= MAX_TEXT {
            break;
        }
        match &part.body {
            PartType::Message(inner) => push(inner.message_id()),
            PartType::Text(t) | PartType::Html(t) => text.push_str(t),
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                let ct = part.content_type();
                let kind = ct.map(|c| {
                    format!(
                        "{}/{}",
                        c.ctype().to_ascii_lowercase(),
                        c.subtype().unwrap_or("").to_ascii_lowercase()
                    )
                });
                // message/delivery-status and its global form are text.
                if kind
                    .as_deref()
                    .is_some_and(|k| k.contains("delivery-status") || k.ends_with("rfc822-headers"))
                {
                    text.push_str(&String::from_utf8_lossy(b));
                }
            }
            _ => {}
        }
        text.push('\n');
    }
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    for c in QUOTED_ID.captures_iter(&text) {
        push(Some(&c[1]));
    }
    let mut recipients: Vec<String> = Vec::new();
    for c in RECIPIENT.captures_iter(&text) {
        let a = c[1].to_ascii_lowercase();
        if !recipients.contains(&a) {
            recipients.push(a);
            if recipients.len() == MAX_REPORTED {
                break;
            }
        }
    }
    let (mut status, mut diag) = (None, None);
    for c in FIELD.captures_iter(&text) {
        let value = c[2].trim().to_string();
        if c[1].eq_ignore_ascii_case("status") {
            status.get_or_insert(value);
        } else {
            diag.get_or_insert(value);
        }
        if status.is_some() && diag.is_some() {
            break;
        }
    }
    let reason = match (status, diag) {
        (Some(s), Some(d)) => format!("{s} ({d})"),
        (Some(s), None) => s,
        (None, Some(d)) => d,
        (None, None) => subject.to_string(),
    };
    Report {
        ids,
        recipients,
        // Whoever sent the report wrote this: one short line.
        reason: super::header_text(&reason, MAX_REASON_CHARS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_printable_and_base64_report_reads_like_a_plain_one() {
        use base64::Engine;
        let headers = base64::engine::general_purpose::STANDARD
            .encode("Message-ID: <hilo.1.aa.bb@example.test>\r\nTo: ana@cliente.test\r\n");
        let raw = format!(
            "From: MAILER-DAEMON@mx.test\r\nSubject: Undeliverable\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
             --r\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n\
             --r\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
             Reporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; =\r\nana@cliente.test\r\n\
             Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <ana@cliente.test>: user =3D unknown\r\n\
             --r\r\nContent-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: base64\r\n\r\n{headers}\r\n\
             --r--\r\n"
        );
        let r = read(raw.as_bytes(), "Undeliverable");
        assert_eq!(r.ids, ["hilo.1.aa.bb@example.test"]);
        assert_eq!(r.recipients, ["ana@cliente.test"]);
        assert_eq!(
            r.reason,
            "5.1.1 (smtp; 550 5.1.1 <ana@cliente.test>: user = unknown)"
        );
    }

    #[test]
    fn lists_and_reason_are_bounded() {
        let mut raw =
            String::from("From: MAILER-DAEMON@mx.test\r\nSubject: failure notice\r\n\r\n");
        for i in 0..1000 {
            raw.push_str(&format!(
                "Message-ID: <m{i}@x.test>\r\nFinal-Recipient: rfc822; r{i}@x.test\r\n"
            ));
        }
        raw.push_str(&format!("Diagnostic-Code: {}\r\n", "x".repeat(100_000)));
        let r = read(raw.as_bytes(), "failure notice");
        assert_eq!(r.ids.len(), MAX_REPORTED);
        assert_eq!(r.recipients.len(), MAX_REPORTED);
        assert!(r.reason.chars().count() <= MAX_REASON_CHARS + 1);
    }
}
