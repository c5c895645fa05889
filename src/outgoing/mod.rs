//! Mail hilo writes: each module turns a ticket and what happened into an
//! [`Outgoing`](crate::mail::compose::Outgoing) (a draft, or bytes for
//! mail with attachments) from the desk's templates. Nothing here reads
//! or writes the store, or sends: the pipeline queues what these return.

use crate::config::DeskConfig;
use crate::mail::msgid::Signer;
use crate::mail::subject::TagMatcher;
use hilo_domain::TicketInfo;
use templates::Templates;

pub mod ack;
pub mod alert;
pub mod chart;
pub mod digest;
pub mod escalation;
pub mod notify;
pub mod relay;
pub mod templates;
pub mod weekly;
pub mod words;

/// What every mail about an existing ticket is written from: its desk
/// (with tag and templates), the signer of our Message-IDs, the ticket.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub desk: &'a DeskConfig,
    pub tags: &'a TagMatcher,
    pub templates: &'a Templates,
    pub signer: &'a Signer,
    pub ticket: &'a TicketInfo,
}

/// Longest ticket subject written into the text of a mail we send, in
/// characters (the Subject header has its own cap, `mail::MAX_SUBJECT_CHARS`).
pub const SUBJECT_CHARS: usize = 200;

/// A sender-written subject as our mail's text shows it: one line, capped.
pub fn shown_subject(s: &str) -> String {
    crate::mail::header_text(s, SUBJECT_CHARS)
}

/// `text` cut at `max` characters, with `note` after the cut. Whole when
/// shorter.
pub fn capped(text: &str, max: usize, note: &str) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((i, _)) => format!("{}\n[…] {note}", &text[..i]),
    }
}

/// A ticket's status as the desk's language says it.
pub fn status_word(s: crate::model::Status, lang: crate::config::Language) -> String {
    lang.say(&format!("status.{}", s.as_str()), &[])
}

/// A priority (stored in English) as the desk's language says it.
pub fn priority_word(p: crate::model::Priority, lang: crate::config::Language) -> String {
    lang.say(&format!("priority.{}", p.as_str()), &[])
}
