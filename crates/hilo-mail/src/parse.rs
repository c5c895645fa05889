//! Received bytes → [`Inbound`], an owned, decoded view of one message.
//!
//! mail-parser does the MIME and charset work (ISO-8859-1, windows-1252, RFC
//! 2047 and RFC 2231 all come out as UTF-8). This module only decides what is
//! too broken to act on: such bytes are quarantined by the caller, never lost.

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::Mailbox;

/// Why bytes could not become an [`Inbound`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not an email message (no header section)")]
    NotAMessage,
    #[error("no usable From address")]
    NoFrom,
    #[error("the parser panicked: {0}")]
    Panicked(String),
}

/// How many References ids are kept: the first (the thread's root) and the
/// most recent. Past it the middle ones are dropped (the raw bytes keep them).
pub const MAX_REFERENCES: usize = 100;
/// How many In-Reply-To ids are kept (one is usual).
pub const MAX_IN_REPLY_TO: usize = 10;
/// How many addresses are kept from each of To and Cc; past it the rest are
/// ignored for participants and desk routing (the raw bytes keep them).
pub const MAX_ADDRESSES: usize = 100;
/// How many attachments are extracted; past it the rest stay in the raw
/// bytes only.
pub const MAX_ATTACHMENTS: usize = 100;
/// How many Authentication-Results headers are kept, from the top: ours is
/// near the top, and what lies further down came with the message.
pub const MAX_AUTH_RESULTS: usize = 20;
/// How many Received headers are read, from the top, to find our own
/// server's hop (`receiving_hosts`): past it a hop is not found, and no
/// Authentication-Results header is believed.
pub const MAX_RECEIVED: usize = 100;
/// Longest subject kept in the decoded view, in characters.
pub const MAX_SUBJECT_CHARS: usize = 998;

/// One received attachment.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// The headers that tell a machine's mail from a person's (RFC 3834 and friends).
#[derive(Debug, Clone, Default)]
pub struct AutoHeaders {
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    pub x_autoreply: Option<String>,
    pub x_autorespond: Option<String>,
    pub x_auto_response_suppress: Option<String>,
    pub list_id: Option<String>,
    pub list_unsubscribe: Option<String>,
    /// Older list managers' only marker.
    pub x_mailing_list: Option<String>,
    /// procmail, lists and auto-responders mark what passed through them.
    pub x_loop: Option<String>,
    /// Apple/iCloud's vacation responder: `VACATION`.
    pub x_apple_action: Option<String>,
    /// `Some("")` for the null reverse path `<>`.
    pub return_path: Option<String>,
    /// Our loop marker (`X-Hilo-Loop`), naming the desk that sent it.
    pub loop_marker: Option<String>,
    /// Top-level content type, lowercase, e.g. `multipart/report`.
    pub content_type: String,
    /// The `report-type` parameter of a multipart/report.
    pub report_type: Option<String>,
}

/// One Authentication-Results header and where it sits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthHeader {
    /// The value, unfolded and trimmed.
    pub value: String,
    /// How many Received headers are above it.
    pub received_above: usize,
}

/// A parsed, decoded received message. Owns its data; the raw bytes stay
/// with the caller (no second copy of a large mail).
#[derive(Debug, Clone)]
pub struct Inbound {
    /// A digest of the raw bytes, for a mail without Message-ID (its identity).
    pub digest: Option<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// The plain text body (HTML converted when there is no text part).
    pub text: String,
    /// What is new in `text`: quoted history and signature removed
    /// (computed here, off the store's path).
    pub new_text: String,
    /// The signature cut from `new_text` (see [`crate::quote::split`]).
    pub signature: Option<String>,
    pub attachments: Vec<Attachment>,
    pub auto: AutoHeaders,
    /// Outlook's conversation id: the first 22 bytes of Thread-Index (base64).
    pub thread_root: Option<String>,
    /// The Authentication-Results headers, top first (at most
    /// [`MAX_AUTH_RESULTS`]): which of them our server wrote is decided by
    /// their authserv-id and their place above our server's Received line
    /// (`pipeline::agent`).
    pub auth_results: Vec<AuthHeader>,
    /// The host in the `by` clause of each Received header, top first
    /// (lowercase, empty when there is none; at most [`MAX_RECEIVED`]).
    pub received_by: Vec<String>,
    /// Set when `from` is not the From header's (which had no usable
    /// address): where it came from, recorded with the message.
    pub from_note: Option<String>,
}

impl Inbound {
    /// The key that makes a message unique within a desk: its Message-ID, or a
    /// digest of its bytes when it has none.
    pub fn dedup_key(&self) -> String {
        match &self.message_id {
            Some(id) => id.clone(),
            None => self.digest.clone().unwrap_or_default(),
        }
    }

    /// Every Message-ID this message refers to, most specific first.
    pub fn referenced_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.in_reply_to.iter().map(String::as_str).collect();
        for r in self.references.iter().rev() {
            if !out.contains(&r.as_str()) {
                out.push(r);
            }
        }
        out
    }
}

/// `sha256:<hex>` of raw bytes; the identity of a message without Message-ID.
pub fn digest_key(raw: &[u8]) -> String {
    format!("sha256:{}", super::msgid::hex(&Sha256::digest(raw)))
}

/// `sha256:<hex>` of what makes a message this message and not another one
/// reusing its Message-ID: its From, Date and Subject and its body. Trace
/// headers (Received, Delivered-To, Authentication-Results...) are left
/// out: two copies of one mail delivered by different paths are one mail.
pub fn content_digest(raw: &[u8]) -> String {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .unwrap_or((raw.len(), raw.len()));
    let (head, body) = (&raw[..split.0], &raw[split.1..]);
    let mut h = Sha256::new();
    let mut current: Option<&'static str> = None;
    let mut fields: [Vec<u8>; 3] = Default::default();
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(name) = current {
                let i = ["from", "date", "subject"]
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or(0);
                fields[i].extend_from_slice(line.trim_ascii());
            }
            continue;
        }
        current = None;
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            let name = line[..colon].trim_ascii().to_ascii_lowercase();
            for (i, n) in ["from", "date", "subject"].iter().enumerate() {
                if name == n.as_bytes() && fields[i].is_empty() {
                    fields[i].extend_from_slice(line[colon + 1..].trim_ascii());
                    current = Some(n);
                }
            }
        }
    }
    for f in &fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f);
    }
    h.update(body);
    format!("sha256:{}", super::msgid::hex(&h.finalize()))
}

/// mail-parser set to decode only the headers read here through its typed
/// accessors; the rest (Received, DKIM-Signature, List-*, ...) stay raw and
/// are read with `header_raw`. Its default decodes every known header: the
/// Received chains alone cost more than the body (measured with callgrind).
static PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
    MessageParser::new()
        .with_mime_headers()
        .with_address_headers()
        .with_message_ids()
        .header_date(mail_parser::HeaderName::Date)
        .header_text(mail_parser::HeaderName::Subject)
        .default_header_raw()
});

/// Parses raw message bytes. Never panics; what it cannot use is an error.
/// mail-parser itself can panic on hostile MIME (0.11.9: "Invalid part ID,
/// could not find multipart", found by fuzzing; kept in
/// `fuzz/regressions/`), so the work runs under `catch_unwind` and a panic
/// is [`ParseError::Panicked`]: the caller quarantines the bytes.
pub fn parse(raw: &[u8]) -> Result<Inbound, ParseError> {
    contained(|| {
        hilo_domain::fault::hit("parse", raw);
        parse_inner(&line_feeds(raw))
    })
    .unwrap_or_else(|why| Err(ParseError::Panicked(why)))
}

/// Mail written with CR alone ending its lines (old Mac clients) has no
/// header section a parser can find: such bytes are read with CRLF. The
/// stored raw bytes stay as they came.
fn line_feeds(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if raw.contains(&b'\n') || !raw.contains(&b'\r') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for &b in raw {
        out.push(b);
        if b == b'\r' {
            out.push(b'\n');
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The raw value of the first header `name`, if any.
fn raw_header<'r>(msg: &mail_parser::Message<'_>, raw: &'r [u8], name: &str) -> Option<&'r [u8]> {
    msg.headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .and_then(|h| raw.get(h.offset_start() as usize..h.offset_end() as usize))
}

/// The charset the message's first text part declares, if any: raw 8-bit
/// headers are most often in it.
fn body_charset(msg: &mail_parser::Message<'_>) -> Option<String> {
    msg.text_body
        .iter()
        .chain(&msg.html_body)
        .filter_map(|id| msg.parts.get(*id as usize))
        .chain(std::iter::once(msg.root_part()))
        .find_map(|p| p.content_type()?.attribute("charset").map(str::to_string))
}

/// Whether text decoded by mail-parser lost bytes it could not decode.
fn lossy(s: &str) -> bool {
    s.contains('\u{fffd}')
}

/// Who wrote a message whose From has no usable address: Sender, then
/// Reply-To, then the envelope (Return-Path), with a note saying so; a
/// mail system's report from `MAILER-DAEMON` without a domain is from
/// `mailer-daemon@invalid`. `None`: nobody to answer, or a mail cut off in
/// its header section (no blank line ends it): quarantine it.
fn from_fallback(msg: &mail_parser::Message<'_>, raw: &[u8]) -> Option<(Mailbox, String)> {
    let complete = raw.windows(2).any(|w| w == b"\n\n") || raw.windows(4).any(|w| w == b"\r\n\r\n");
    if !complete {
        return None;
    }
    if let Some(m) = msg.sender().and_then(first_mailbox) {
        return Some((m, "no usable From address: the Sender's is used".into()));
    }
    if let Some(m) = msg.reply_to().and_then(first_mailbox) {
        return Some((m, "no usable From address: the Reply-To's is used".into()));
    }
    if let Some(rp) = msg.header_raw("Return-Path") {
        let a = unfold(rp);
        let a = a
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        if let Some(m) = MessageParser::default()
            .parse_headers(format!("From: <{a}>\r\n\r\n").as_bytes())
            .and_then(|h| h.from().and_then(first_mailbox))
        {
            return Some((
                m,
                "no usable From address: the envelope sender's is used".into(),
            ));
        }
    }
    let from = raw_header(msg, raw, "From").map(|v| String::from_utf8_lossy(v).to_lowercase())?;
    (from.contains("mailer-daemon")
        || from.contains("postmaster")
        || from.contains("mail delivery"))
    .then(|| {
        (
            Mailbox::new("mailer-daemon@invalid", Some("MAILER-DAEMON".into())),
            "no usable From address: a mail system's report".to_string(),
        )
    })
}

/// Runs `f`, turning a panic into its message.
pub(crate) fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|p| hilo_domain::panic_message(&*p))
}

fn parse_inner(raw: &[u8]) -> Result<Inbound, ParseError> {
    let mut msg = PARSER.parse(raw).ok_or(ParseError::NotAMessage)?;
    if msg.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let (mut from, from_note) = match msg.from().and_then(first_mailbox) {
        Some(m) => (m, None),
        None => {
            let (m, note) = from_fallback(&msg, raw).ok_or(ParseError::NoFrom)?;
            (m, Some(note))
        }
    };
    // A display name in raw 8-bit bytes of another charset.
    if from.name.as_deref().is_some_and(lossy) {
        if let Some(v) = raw_header(&msg, raw, "From") {
            let decoded = super::charset::header(v, body_charset(&msg).as_deref());
            if let Some(m) = MessageParser::default()
                .parse_headers(format!("From: {decoded}\r\n\r\n").as_bytes())
                .and_then(|h| h.from().and_then(first_mailbox))
            {
                from.name = m.name;
            }
        }
    }

    let header = |name: &str| -> Option<String> {
        msg.header_raw(name)
            .map(|v| unfold(v).trim().to_string())
            .filter(|v| !v.is_empty() || name.eq_ignore_ascii_case("Return-Path"))
    };
    let return_path = msg.header_raw("Return-Path").map(|v| {
        let v = unfold(v);
        v.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_ascii_lowercase()
    });
    let (content_type, report_type) = match msg.root_part().content_type() {
        Some(ct) => (
            format!(
                "{}/{}",
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase()
            ),
            ct.attribute("report-type").map(|s| s.to_ascii_lowercase()),
        ),
        None => ("text/plain".to_string(), None),
    };
    let auto = AutoHeaders {
        auto_submitted: header("Auto-Submitted"),
        precedence: header("Precedence"),
        x_autoreply: header("X-Autoreply"),
        x_autorespond: header("X-Autorespond"),
        x_auto_response_suppress: header("X-Auto-Response-Suppress"),
        list_id: header("List-Id"),
        list_unsubscribe: header("List-Unsubscribe"),
        x_mailing_list: header("X-Mailing-List"),
        x_loop: header("X-Loop"),
        x_apple_action: header("X-Apple-Action"),
        return_path,
        loop_marker: header(super::compose::LOOP_HEADER),
        content_type,
        report_type,
    };

    // Names and types now; the bytes are moved out of the parsed message
    // at the end, not copied (a large attachment would be held twice).
    let attachment_parts: Vec<(usize, Option<String>, String)> = msg
        .attachments
        .iter()
        .take(MAX_ATTACHMENTS)
        .filter_map(|&id| {
            let part = msg.parts.get(id as usize)?;
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            Some((
                id as usize,
                part.attachment_name().map(str::to_string),
                content_type,
            ))
        })
        .collect();

    let subject = match (msg.subject(), raw_header(&msg, raw, "Subject")) {
        (Some(s), Some(v)) if lossy(s) => super::charset::header(v, body_charset(&msg).as_deref()),
        (Some(s), _) => s.to_string(),
        (None, _) => String::new(),
    };
    let subject = super::header_text(&subject, MAX_SUBJECT_CHARS);
    let text = body_text(&msg, raw);
    let split = crate::quote::split(&text, &subject);
    let mut inbound = Inbound {
        new_text: split.new_text,
        signature: split.signature,
        message_id: msg.message_id().and_then(clean_id),
        in_reply_to: keep_ends(id_list(msg.in_reply_to()), MAX_IN_REPLY_TO),
        references: keep_ends(id_list(msg.references()), MAX_REFERENCES),
        from,
        reply_to: msg.reply_to().and_then(first_mailbox),
        to: mailboxes(msg.to()),
        cc: mailboxes(msg.cc()),
        subject,
        date: msg.date().and_then(|d| {
            if d.is_valid() {
                Utc.timestamp_opt(d.to_timestamp(), 0).single()
            } else {
                None
            }
        }),
        text,
        attachments: Vec::new(),
        auto,
        thread_root: msg.header_raw("Thread-Index").and_then(thread_root),
        digest: msg.message_id().is_none().then(|| digest_key(raw)),
        from_note,
        auth_results: auth_headers(&msg, raw),
        received_by: msg
            .headers()
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case("Received"))
            .take(MAX_RECEIVED)
            .map(|h| {
                let v = raw
                    .get(h.offset_start() as usize..h.offset_end() as usize)
                    .unwrap_or_default();
                received_by(&String::from_utf8_lossy(&v[..v.len().min(2000)]))
            })
            .collect(),
    };
    inbound.attachments = attachment_parts
        .into_iter()
        .map(|(id, filename, content_type)| Attachment {
            filename,
            content_type,
            data: take_contents(&mut msg.parts[id]),
        })
        .collect();
    Ok(inbound)
}

/// The message's text: every inline text part in order (Apple Mail sends
/// text, HTML, text around an inline image), HTML converted by
/// [`super::html`]; when no text part has any text, the HTML alternative.
fn body_text(msg: &mail_parser::Message<'_>, raw: &[u8]) -> String {
    use mail_parser::PartType;
    let text_of = |ids: &[u32]| -> Vec<String> {
        ids.iter()
            .filter_map(|id| msg.parts.get(*id as usize))
            .filter_map(|p| match &p.body {
                PartType::Text(t) => Some(redecoded(p, raw).unwrap_or_else(|| t.to_string())),
                PartType::Html(h) => Some(super::html::html_to_text(
                    &redecoded(p, raw).unwrap_or_else(|| h.to_string()),
                )),
                _ => None,
            })
            .filter(|t| !t.trim().is_empty())
            // The line break before a part's boundary is not text.
            .map(|t| t.trim_end_matches(['\r', '\n']).to_string())
            .collect()
    };
    let mut parts = text_of(&msg.text_body);
    if parts.is_empty() {
        parts = text_of(&msg.html_body);
    }
    parts.join("\n")
}

/// A text part that mail-parser could not decode (no charset, or one its
/// bytes do not fit): its bytes again, transfer-decoded, in the charset
/// the detector guesses. `None` when the part decoded cleanly.
fn redecoded(part: &mail_parser::MessagePart<'_>, raw: &[u8]) -> Option<String> {
    use mail_parser::{Encoding, PartType};
    let text = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t,
        _ => return None,
    };
    if !lossy(text) {
        return None;
    }
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    let bytes = match part.encoding {
        Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)?
        }
        Encoding::Base64 => mail_parser::decoders::base64::base64_decode(body)?,
        Encoding::None => body.to_vec(),
    };
    Some(super::charset::guess(&bytes))
}

/// A part's decoded bytes, moved out of the parsed message when it owns them.
fn take_contents(part: &mut mail_parser::MessagePart<'_>) -> Vec<u8> {
    use mail_parser::PartType;
    match std::mem::take(&mut part.body) {
        PartType::Binary(b) | PartType::InlineBinary(b) => b.into_owned(),
        PartType::Text(t) | PartType::Html(t) => t.into_owned().into_bytes(),
        other => {
            part.body = other;
            part.contents().to_vec()
        }
    }
}

/// The conversation part of an Outlook Thread-Index: a 22-byte header
/// (time and GUID) that every reply in the conversation keeps, followed by
/// 5 bytes per reply.
fn thread_root(v: &str) -> Option<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = b64.decode(v).ok()?;
    (bytes.len() >= 22).then(|| b64.encode(&bytes[..22]))
}

/// The Authentication-Results headers, top first, each with the number of
/// Received headers above it.
fn auth_headers(msg: &mail_parser::Message<'_>, raw: &[u8]) -> Vec<AuthHeader> {
    let mut received = 0;
    let mut out = Vec::new();
    for h in msg.headers() {
        if h.name().eq_ignore_ascii_case("Received") {
            received += 1;
        } else if h.name().eq_ignore_ascii_case("Authentication-Results") {
            let Some(v) = raw.get(h.offset_start() as usize..h.offset_end() as usize) else {
                continue;
            };
            let v = &v[..v.len().min(super::authres::MAX_LEN)];
            out.push(AuthHeader {
                value: unfold(&String::from_utf8_lossy(v)).trim().to_string(),
                received_above: received,
            });
            if out.len() == MAX_AUTH_RESULTS {
                break;
            }
        }
    }
    out
}

/// The host a Received header's `by` clause names (RFC 5321 §4.4),
/// lowercase; empty when it has none. Comments are skipped.
pub fn received_by(value: &str) -> String {
    let mut plain = String::with_capacity(value.len());
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => plain.push(' '),
        }
    }
    let plain = plain.split(';').next().unwrap_or_default();
    let mut words = plain.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("by") {
            return words
                .next()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_ascii_lowercase();
        }
    }
    String::new()
}

fn unfold(v: &str) -> String {
    v.replace("\r\n", "").replace('\n', "")
}

fn first_mailbox(a: &Address<'_>) -> Option<Mailbox> {
    a.iter().find_map(to_mailbox)
}

fn to_mailbox(a: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let addr = a.address()?.trim();
    if !addr.contains('@') || addr.starts_with('@') || addr.ends_with('@') {
        return None;
    }
    if addr.len() > 254 || addr.contains(|c: char| c.is_control() || c.is_whitespace()) {
        return None;
    }
    Some(Mailbox::new(
        addr,
        a.name().map(|n| super::header_text(n, 256)),
    ))
}

fn mailboxes(a: Option<&Address<'_>>) -> Vec<Mailbox> {
    a.map(|a| {
        a.iter()
            .filter_map(to_mailbox)
            .take(MAX_ADDRESSES)
            .collect()
    })
    .unwrap_or_default()
}

/// The first id and the `max - 1` last ones.
fn keep_ends(mut ids: Vec<String>, max: usize) -> Vec<String> {
    if ids.len() > max {
        ids.drain(1..ids.len() + 1 - max);
    }
    ids
}

pub(crate) fn clean_id(s: &str) -> Option<String> {
    let s = s
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!s.is_empty() && s.len() <= 998 && !s.contains(|c: char| c.is_whitespace() || c.is_control()))
        .then(|| s.to_string())
}

/// In-Reply-To and References come as one text or a list, depending on count.
fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        HeaderValue::Text(t) => out.extend(split_ids(t)),
        HeaderValue::TextList(l) => {
            for t in l {
                out.extend(split_ids(t));
            }
        }
        _ => {}
    }
    out.dedup();
    out
}

fn split_ids(t: &str) -> Vec<String> {
    t.split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(clean_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_digest_ignores_trace_headers_only() {
        let a = b"Received: from a\r\nFrom: Ana <a@c.test>\r\nSubject: Hola\r\n\tmundo\r\nMessage-ID: <x@c>\r\n\r\nCuerpo\r\n";
        let b = b"Received: from b\r\nReceived: from c\r\nDelivered-To: s@e.test\r\nFrom: Ana <a@c.test>\r\nSubject: Hola\r\n\tmundo\r\nMessage-ID: <x@c>\r\n\r\nCuerpo\r\n";
        let other_body = b"From: Ana <a@c.test>\r\nSubject: Hola\r\n\tmundo\r\nMessage-ID: <x@c>\r\n\r\nOtro\r\n";
        let other_subject = b"From: Ana <a@c.test>\r\nSubject: Hola\r\n\ttodos\r\nMessage-ID: <x@c>\r\n\r\nCuerpo\r\n";
        assert_eq!(content_digest(a), content_digest(b));
        assert_ne!(content_digest(a), content_digest(other_body));
        assert_ne!(content_digest(a), content_digest(other_subject));
    }

    #[test]
    fn lists_are_capped_keeping_the_ends() {
        let refs: Vec<String> = (0..40_000).map(|i| format!("<r{i}@x.test>")).collect();
        let cc: Vec<String> = (0..5000).map(|i| format!("c{i}@x.test")).collect();
        let atts: String = (0..300)
            .map(|i| {
                format!("--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a{i}.bin\"\r\n\r\nx\r\n")
            })
            .collect();
        let raw = format!(
            "From: Ana <ana@c.test>\r\nTo: s@e.test\r\nCc: {}\r\nReferences: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhola\r\n{atts}--b--\r\n",
            cc.join(", "),
            refs.join(" "),
            "s".repeat(5000),
        );
        let m = parse(raw.as_bytes()).unwrap();
        assert_eq!(m.references.len(), MAX_REFERENCES);
        assert_eq!(m.references[0], "r0@x.test");
        assert_eq!(m.references[MAX_REFERENCES - 1], "r39999@x.test");
        assert_eq!(
            m.references[1],
            format!("r{}@x.test", 40_000 - MAX_REFERENCES + 1)
        );
        assert_eq!(m.cc.len(), MAX_ADDRESSES);
        assert_eq!(m.attachments.len(), MAX_ATTACHMENTS);
        assert_eq!(m.subject.chars().count(), MAX_SUBJECT_CHARS + 1);
        assert_eq!(m.text.trim(), "hola");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"").is_err());
        assert!(parse(&[0xff, 0x00, 0x13, 0x37, 0x80]).is_err());
        assert!(parse(b"just some text without headers\r\n").is_err());
        assert_eq!(
            parse(b"Subject: hi\r\nTo: a@b.c\r\n\r\nbody").unwrap_err(),
            ParseError::NoFrom
        );
    }

    #[test]
    fn every_inline_text_part_is_read_in_order() {
        let raw = b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPrimera parte.\r\n\
--m\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--m\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>Segunda</div><div>parte.</div>\r\n\
--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTercera parte.\r\n--m--\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(
            m.text.trim(),
            "Primera parte.\nSegunda\nparte.\nTercera parte."
        );
    }

    #[test]
    fn html_only_mail_keeps_its_line_breaks_and_an_empty_text_part_falls_back() {
        let raw = b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>Gracias,</div><div>Alex</div>\r\n";
        assert_eq!(parse(raw).unwrap().text, "Gracias,\nAlex");
        let raw = b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n\
--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\
--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Solo aqu&iacute;</p>\r\n--a--\r\n";
        assert_eq!(parse(raw).unwrap().text, "Solo aquí");
    }

    #[test]
    fn null_return_path_is_kept_as_empty() {
        let m =
            parse(b"Return-Path: <>\r\nFrom: MAILER-DAEMON@x.test\r\nSubject: x\r\n\r\nb").unwrap();
        assert_eq!(m.auto.return_path.as_deref(), Some(""));
    }

    #[test]
    fn ids_without_brackets_and_deduplicated_key() {
        let m = parse(
            b"From: a@b.test\r\nMessage-ID: <x1@b.test>\r\nIn-Reply-To: <p@q.test>\r\nReferences: <r1@q.test>\r\n <p@q.test>\r\n\r\nhi",
        )
        .unwrap();
        assert_eq!(m.message_id.as_deref(), Some("x1@b.test"));
        assert_eq!(m.in_reply_to, vec!["p@q.test"]);
        assert_eq!(m.references, vec!["r1@q.test", "p@q.test"]);
        assert_eq!(m.referenced_ids(), vec!["p@q.test", "r1@q.test"]);
        assert_eq!(m.dedup_key(), "x1@b.test");
        let n = parse(b"From: a@b.test\r\n\r\nhi").unwrap();
        assert!(n.dedup_key().starts_with("sha256:"));
    }
}
