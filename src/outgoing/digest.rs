//! The daily digest of a desk's work, for its agents: tickets past a
//! target, those due today, the unassigned, those waiting on the
//! customer for long, and each agent's own, one line a ticket.

use chrono::{DateTime, Utc};

use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::subject::TagMatcher;
use crate::mail::Mailbox;

/// Most lines of one section; past it the section says how many more.
pub const MAX_LINES: usize = 50;

/// One ticket's line: `[SOP-41] «Factura» · ana@cliente.test · vence 11:00`.
pub struct Line {
    pub number: i64,
    pub subject: String,
    pub requester: String,
    /// What is said of it after the requester (empty: nothing).
    pub note: String,
}

/// A titled list of tickets.
pub struct Section {
    pub title: String,
    pub lines: Vec<Line>,
}

pub struct DigestInput<'a> {
    pub desk: &'a DeskConfig,
    pub tags: &'a TagMatcher,
    pub signer: &'a Signer,
    pub to: &'a str,
    pub now: DateTime<Utc>,
    /// Open tickets in all, and those the digest did not read (over its cap).
    pub open: usize,
    pub left_out: usize,
    pub sections: &'a [Section],
}

pub fn digest(i: DigestInput<'_>) -> Result<Outgoing, ComposeError> {
    let (d, lang) = (i.desk, i.desk.language);
    let day = super::words::day(lang, d.calendar.tz, i.now, i.now);
    let name = d.shown_name();
    let mut text = lang.say(
        "digest.head",
        &[
            ("desk", &name),
            ("day", &day),
            ("open", &i.open.to_string()),
        ],
    );
    text.push_str("\n\n");
    let mut any = false;
    for s in i.sections {
        if s.lines.is_empty() {
            continue;
        }
        any = true;
        text.push_str(&s.title);
        text.push('\n');
        for l in s.lines.iter().take(MAX_LINES) {
            let subject = lang.quoted(&super::shown_subject(&l.subject));
            text.push_str(&format!(
                "  {} {subject} · {}",
                i.tags.format(l.number),
                l.requester
            ));
            if !l.note.is_empty() {
                text.push_str(&format!(" · {}", l.note));
            }
            text.push('\n');
        }
        if s.lines.len() > MAX_LINES {
            text.push_str(&lang.say(
                "digest.more",
                &[("count", &(s.lines.len() - MAX_LINES).to_string())],
            ));
            text.push('\n');
        }
        text.push('\n');
    }
    if !any {
        text.push_str(&lang.say("digest.nothing", &[]));
        text.push_str("\n\n");
    }
    if i.left_out > 0 {
        text.push_str(&lang.say(
            "digest.left_out",
            &[
                ("count", &i.left_out.to_string()),
                ("max", &(i.open - i.left_out).to_string()),
            ],
        ));
        text.push('\n');
    }
    Outgoing::new(Draft {
        from: Mailbox::new(&d.address, Some(name.clone())),
        to: vec![Mailbox::new(i.to, None)],
        cc: Vec::new(),
        reply_to: None,
        subject: lang.say("digest.subject", &[("desk", &name), ("day", &day)]),
        text,
        message_id: i.signer.new_id(0, d.domain()),
        in_reply_to: None,
        references: Vec::new(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: d.address.clone(),
        attachments: Vec::new(),
    })
}

pub struct ConfirmInput<'a> {
    pub desk: &'a DeskConfig,
    pub signer: &'a Signer,
    pub to: &'a Mailbox,
    pub in_reply_to: Option<&'a str>,
    /// The reply's subject, answered with `RE:`.
    pub subject: &'a str,
    /// What became of each line.
    pub lines: &'a [String],
}

/// Tells the agent what each line of their reply to the digest did.
pub fn confirmation(i: ConfirmInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.desk;
    let lang = d.language;
    let mut text = lang.say("digest.done_head", &[]);
    text.push('\n');
    for l in i.lines {
        text.push_str(&format!("  {l}\n"));
    }
    let subject = crate::mail::subject::strip_prefixes(i.subject);
    Outgoing::new(Draft {
        from: Mailbox::new(&d.address, Some(d.shown_name())),
        to: vec![i.to.clone()],
        cc: Vec::new(),
        reply_to: None,
        subject: format!("RE: {subject}"),
        text,
        message_id: i.signer.new_id(0, d.domain()),
        in_reply_to: i.in_reply_to.map(str::to_string),
        references: i.in_reply_to.map(str::to_string).into_iter().collect(),
        auto_submitted: Some(AutoSubmitted::Replied),
        loop_marker: d.address.clone(),
        attachments: Vec::new(),
    })
}
