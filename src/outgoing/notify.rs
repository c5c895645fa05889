//! Notifications to a desk's agents: a new ticket or a customer's new
//! message, with its new text, the ticket's state, who an answer will
//! reach, and its attachments (carried up to the desk's
//! `notify_attachments_max`, listed beyond). `Reply-To` is the desk, so
//! "Reply" in any client goes back through hilo; all notifications of a
//! ticket thread together in the agent's client. Also the loop breaker's
//! alert, and the receipt a customer gets when a new mail of theirs joined
//! a ticket by naming it.

use std::collections::HashMap;

use crate::config::Language;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::parse::Attachment;
use crate::mail::subject::TagMatcher;
use crate::mail::Mailbox;
use hilo_domain::Related;

/// Longest customer text a notification carries, in characters; the whole
/// text stays on the ticket (`hilo tickets show`).
pub const MAX_TEXT_CHARS: usize = 64 * 1024;

pub struct NotifyInput<'a> {
    pub about: super::About<'a>,
    /// Who wrote, under what subject, and what is new.
    pub from: &'a Mailbox,
    pub subject: &'a str,
    pub new_text: &'a str,
    /// The writer's signature, cut from the new text: shown below it.
    pub signature: Option<&'a str>,
    pub attachments: &'a [Attachment],
    /// Addresses of the first mail not made participants (over the cap).
    pub cc_left_out: usize,
    /// The one `notify` address this copy goes to: each gets its own, so
    /// that its signed id proves only that recipient (or list).
    pub to: &'a str,
    /// How the message came to this ticket.
    pub how: How<'a>,
}

/// How a customer's message came to its ticket, as the notification
/// tells the agents.
#[derive(Debug, Clone, Copy)]
pub enum How<'a> {
    /// A reply, or a tag: nothing to add.
    Reply,
    /// It opened the ticket; the requester's other open tickets, most
    /// similar first, and the knowledge-file answers the acknowledgement
    /// carried.
    Opened {
        related: &'a [Related],
        answers: &'a [crate::faq::Match],
    },
    /// It says an answer from the knowledge file solved it: resolved.
    Solved,
    /// It joined this open ticket by similarity (`auto_link_duplicates`).
    AutoLinked(&'a Related),
    /// It answered the acknowledgement of ticket `from` naming this one,
    /// and `from` was merged here.
    Merged { from: i64 },
    /// It answered the acknowledgement naming ticket `into`, but proves
    /// nothing of its sender: the agents may merge.
    MergeAsked { into: i64 },
}

/// A similarity in thousandths, as shown: "0.42".
fn score(s: u32) -> String {
    format!("{}.{:02}", s / 1000, (s % 1000) / 10)
}

/// The requester's other open tickets, as possible duplicates.
fn opened_related(related: &[Related], tags: &TagMatcher, lang: Language) -> String {
    let head = lang.say("notify.related_head", &[]);
    let lines: Vec<String> = related
        .iter()
        .map(|r| {
            lang.say(
                "notify.related_line",
                &[
                    ("tag", &tags.format(r.number)),
                    ("subject", &super::shown_subject(&r.subject)),
                    ("status", &super::status_word(r.status, lang)),
                    ("score", &score(r.score)),
                ],
            )
        })
        .collect();
    format!("{head}\n{}\n", lines.join("\n"))
}

/// What the notification says of how the message came.
fn how_text(how: How<'_>, tags: &TagMatcher, lang: Language) -> String {
    let line = |key: &str, vars: &[(&str, &str)]| format!("{}\n", lang.say(key, vars));
    match how {
        How::Reply => String::new(),
        How::Solved => line("notify.solved", &[]),
        How::Opened { related, answers } => {
            let mut out = String::new();
            if !answers.is_empty() {
                out.push_str(&line("notify.faq_head", &[]));
                for a in answers {
                    out.push_str(&line(
                        "notify.faq_line",
                        &[
                            ("title", &a.title),
                            ("id", &a.id),
                            ("score", &a.score.to_string()),
                        ],
                    ));
                }
            }
            if !related.is_empty() {
                out.push_str(&opened_related(related, tags, lang));
            }
            out
        }
        How::AutoLinked(r) => line("notify.auto_linked", &[("score", &score(r.score))]),
        How::Merged { from } => line(
            "notify.merged",
            &[
                ("from_tag", &tags.format(from)),
                ("from", &from.to_string()),
            ],
        ),
        How::MergeAsked { into } => line("notify.merge_asked", &[("into_tag", &tags.format(into))]),
    }
}

fn size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

pub fn notification(i: NotifyInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.about.desk;
    let lang = d.language;
    let total: usize = i.attachments.iter().map(|a| a.data.len()).sum();
    let attach = total as u64 <= d.notify_attachments_max;
    let attachments = if i.attachments.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = i
            .attachments
            .iter()
            .map(|a| {
                format!(
                    "- {} ({})",
                    a.filename.as_deref().unwrap_or("?"),
                    size(a.data.len())
                )
            })
            .collect();
        let n = i.about.ticket.number;
        let head = if attach {
            lang.say("notify.attachments_included", &[])
        } else {
            lang.say("notify.attachments_kept", &[("number", &n.to_string())])
        };
        format!("{head}\n{}\n", list.join("\n"))
    };
    let none = lang.say("words.nobody", &[]);
    // Who an answer reaches: agents must see it before they answer, since
    // anyone in the first mail's To/Cc became a participant, and the
    // author of this message gets the answer even when not one yet.
    let mut recipients: Vec<&str> = Vec::new();
    let customer_side = std::iter::once(&i.from.address)
        .filter(|a| !d.is_agent(a))
        .chain(std::iter::once(&i.about.ticket.requester.address))
        .chain(&i.about.ticket.cc);
    for a in customer_side {
        if !recipients.contains(&a.as_str()) {
            recipients.push(a);
        }
    }
    let mut recipients = recipients.join(", ");
    if !i.about.ticket.pending.is_empty() {
        let list = i.about.ticket.pending.join(", ");
        recipients.push('\n');
        recipients.push_str(&lang.say("notify.pending", &[("list", &list)]));
    }
    if i.cc_left_out > 0 {
        recipients.push(' ');
        recipients.push_str(&lang.say(
            "notify.cc_left_out",
            &[
                ("count", &i.cc_left_out.to_string()),
                ("max", &d.max_participants.to_string()),
            ],
        ));
    }
    let cut = lang.say("notify.text_cut", &[]);
    // A mail that joined by its tag may be about something else: the
    // agents see what the customer called it.
    let own_subject = i.about.tags.clean_subject(i.subject);
    let message_subject =
        if own_subject.is_empty() || own_subject.eq_ignore_ascii_case(&i.about.ticket.subject) {
            String::new()
        } else {
            let subject = super::shown_subject(&own_subject);
            format!(
                "{}\n",
                lang.say("notify.message_subject", &[("subject", &subject)])
            )
        };
    // Below the text, after the signature marker: clients show it apart
    // (or folded), and the agents still see who wrote and how to call them.
    let signature = i
        .signature
        .map(|s| format!("\n-- \n{}\n", s.trim_end()))
        .unwrap_or_default();
    let vars = HashMap::from([
        ("number", i.about.ticket.number.to_string()),
        ("tag", i.about.tags.format(i.about.ticket.number)),
        ("subject", super::shown_subject(&i.about.ticket.subject)),
        ("message_subject", message_subject),
        ("related", how_text(i.how, i.about.tags, d.language)),
        ("signature", signature),
        (
            "requester_name",
            i.from
                .name
                .clone()
                .unwrap_or_else(|| i.from.address.clone()),
        ),
        ("requester", i.from.address.clone()),
        ("desk", d.shown_name()),
        ("desk_address", d.from_for(i.about.ticket).to_string()),
        (
            "status",
            super::status_word(i.about.ticket.status, d.language),
        ),
        (
            "priority",
            super::priority_word(i.about.ticket.priority, d.language),
        ),
        ("assignee", i.about.ticket.assignee.clone().unwrap_or(none)),
        ("text", super::capped(i.new_text, MAX_TEXT_CHARS, &cut)),
        ("attachments", attachments),
        ("recipients", recipients),
    ]);
    let text = i
        .about
        .templates
        .get(&d.name, d.language, "notify")
        .render(&vars);
    // How to answer, in a part of its own: clients quote the body only, so
    // an agent's reply that reaches a customer (Cc, Reply All) carries
    // none of the desk's instructions or commands.
    let help = i
        .about
        .templates
        .get(&d.name, d.language, "notify_help")
        .render(&vars);
    let help = Attachment {
        filename: Some(lang.say("notify.help_file", &[])),
        content_type: "text/plain; charset=utf-8".to_string(),
        data: help.into_bytes(),
    };
    // The bare address: a display name here makes some clients (mutt)
    // ask on every reply which address to use.
    let desk_box = Mailbox::new(d.from_for(i.about.ticket), None);
    Outgoing::new(Draft {
        // The desk's name only: a customer in Cc of an agent's reply must
        // never see their own name on our address.
        from: Mailbox::new(d.from_for(i.about.ticket), Some(d.shown_name())),
        to: vec![Mailbox::new(i.to, None)],
        cc: Vec::new(),
        reply_to: Some(desk_box),
        subject: i
            .about
            .tags
            .tagged_subject(i.about.ticket.number, &i.about.ticket.subject),
        text,
        message_id: i.about.signer.new_id(i.about.ticket.number, d.domain()),
        in_reply_to: i.about.ticket.notifications.last().cloned(),
        references: i.about.ticket.notifications.clone(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: d.address.clone(),
        attachments: if attach {
            std::iter::once(help)
                .chain(i.attachments.iter().cloned())
                .collect()
        } else {
            vec![help]
        },
    })
}

/// Tells the agents that the loop breaker stopped relaying on a ticket.
pub fn alert(about: super::About<'_>, to: &str, why: &str) -> Result<Outgoing, ComposeError> {
    let super::About {
        desk: d,
        tags,
        ticket,
        ..
    } = about;
    let tag = tags.format(ticket.number);
    let text = d
        .language
        .say("notify.loop_alert", &[("tag", &tag), ("why", why)]);
    let subject = tags.tagged_subject(ticket.number, &ticket.subject);
    to_agent(about, to, subject, text)
}

/// hilo's own mail about a ticket to one agent (an alert, an escalation,
/// a reminder): from the ticket's address, signed, and threaded with the
/// ticket's notifications, so a reply with commands acts on the ticket.
pub(super) fn to_agent(
    about: super::About<'_>,
    to: &str,
    subject: String,
    text: String,
) -> Result<Outgoing, ComposeError> {
    let (d, ticket) = (about.desk, about.ticket);
    Outgoing::new(Draft {
        from: Mailbox::new(d.from_for(ticket), Some(d.shown_name())),
        to: vec![Mailbox::new(to, None)],
        cc: Vec::new(),
        reply_to: None,
        subject,
        text,
        message_id: about.signer.new_id(ticket.number, d.domain()),
        in_reply_to: ticket.notifications.last().cloned(),
        references: ticket.notifications.clone(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: d.address.clone(),
        attachments: Vec::new(),
    })
}

/// The reminder an agent asked for with `#recordar`, threaded with the
/// ticket's notifications (a reply with commands acts on the ticket).
pub fn agent_reminder(about: super::About<'_>, to: &str) -> Result<Outgoing, ComposeError> {
    let (d, tags, ticket) = (about.desk, about.tags, about.ticket);
    let lang = d.language;
    let nobody = lang.say("words.nobody", &[]);
    let text = lang.say(
        "notify.reminder",
        &[
            ("tag", &tags.format(ticket.number)),
            ("subject", &super::shown_subject(&ticket.subject)),
            ("status", &super::status_word(ticket.status, lang)),
            ("assignee", ticket.assignee.as_deref().unwrap_or(&nobody)),
        ],
    );
    let subject = tags.tagged_subject(ticket.number, &ticket.subject);
    to_agent(about, to, subject, text)
}

/// What a receipt confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    /// A new mail of theirs that named the ticket was added to it.
    Added,
    /// Their new ticket `from` was joined to this one at their word.
    Merged { from: i64 },
    /// Their "#resuelto" resolved the ticket.
    Resolved,
}

pub struct ReceiptInput<'a> {
    pub about: super::About<'a>,
    /// The customer's mail it answers.
    pub msg: &'a crate::mail::Inbound,
    pub what: ReceiptKind,
}

/// " «subject»" of a message when it differs from its ticket's, else "".
fn about_message(tags: &TagMatcher, lang: Language, subject: &str, ticket_subject: &str) -> String {
    let own = tags.clean_subject(subject);
    if own.trim().is_empty() || own.trim().eq_ignore_ascii_case(ticket_subject.trim()) {
        return String::new();
    }
    let own = super::shown_subject(&own);
    format!(" {}", lang.quoted(&own))
}

/// A mail to someone on the customer's side about their ticket, from the
/// ticket's address, written from template `kind`.
struct ToCustomer<'a> {
    about: super::About<'a>,
    to: &'a Mailbox,
    kind: &'a str,
    /// The other ticket it speaks of (`{previous_tag}`).
    previous: Option<i64>,
    about_message: String,
    in_reply_to: Option<String>,
    references: Vec<String>,
    auto_submitted: AutoSubmitted,
    /// Placeholders of this kind of mail alone.
    extra: Vec<(&'static str, String)>,
}

fn to_customer(c: ToCustomer<'_>) -> Result<Outgoing, ComposeError> {
    let (d, tags, ticket) = (c.about.desk, c.about.tags, c.about.ticket);
    let mut vars = HashMap::from([
        ("number", ticket.number.to_string()),
        ("tag", tags.format(ticket.number)),
        ("subject", super::shown_subject(&ticket.subject)),
        ("greeting", super::words::greeting(d.language, c.to)),
        ("about_message", c.about_message),
        (
            "requester_name",
            c.to.name.clone().unwrap_or_else(|| c.to.address.clone()),
        ),
        ("requester", c.to.address.clone()),
        ("desk", d.shown_name()),
        ("desk_address", d.from_for(ticket).to_string()),
    ]);
    if let Some(p) = c.previous {
        vars.insert("previous_tag", tags.format(p));
    }
    vars.extend(c.extra);
    let text = c
        .about
        .templates
        .get(&d.name, d.language, c.kind)
        .render(&vars);
    Outgoing::new(Draft {
        from: Mailbox::new(d.from_for(ticket), Some(d.shown_name())),
        to: vec![c.to.clone()],
        cc: Vec::new(),
        reply_to: None,
        subject: tags.tagged_subject(ticket.number, &ticket.subject),
        text,
        message_id: c.about.signer.new_id(ticket.number, d.domain()),
        in_reply_to: c.in_reply_to,
        references: c.references,
        auto_submitted: Some(c.auto_submitted),
        loop_marker: d.address.clone(),
        attachments: Vec::new(),
    })
}

/// Tells a customer what became of their mail: added to the ticket it
/// named rather than opening another, their new ticket joined to this
/// one, or the ticket resolved at their word. Threaded under their mail
/// and the ticket's conversation as they have it.
pub fn receipt(i: ReceiptInput<'_>) -> Result<Outgoing, ComposeError> {
    let (d, tags, ticket) = (i.about.desk, i.about.tags, i.about.ticket);
    let (kind, previous) = match i.what {
        ReceiptKind::Added => ("receipt", None),
        ReceiptKind::Merged { from } => ("merged", Some(from)),
        ReceiptKind::Resolved => ("resolved", None),
    };
    // The ticket's conversation as this customer has it (`thread_refs`
    // from `ticket_info_for`), then their mail.
    let mut references = ticket.thread_refs.clone();
    if let Some(id) = &i.msg.message_id {
        if !references.contains(id) {
            references.push(id.clone());
        }
    }
    to_customer(ToCustomer {
        about: i.about,
        to: &i.msg.from,
        kind,
        previous,
        about_message: about_message(tags, d.language, &i.msg.subject, &ticket.subject),
        in_reply_to: i.msg.message_id.clone(),
        references,
        auto_submitted: AutoSubmitted::Replied,
        extra: Vec::new(),
    })
}

/// After an agent's merge or split: the customer hears it once, in the
/// thread they have. `about` is the ticket they carry on in.
pub struct MovedInput<'a> {
    pub about: super::About<'a>,
    pub to: &'a Mailbox,
    pub what: Moved<'a>,
    /// The customer's mail to thread under, and the References to give.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum Moved<'a> {
    /// Their ticket `from` was merged into this one.
    Merged { from: i64 },
    /// Their message (with this subject) was split off ticket `from` into
    /// this new one.
    Split { from: i64, subject: &'a str },
}

pub fn moved(i: MovedInput<'_>) -> Result<Outgoing, ComposeError> {
    let (d, tags) = (i.about.desk, i.about.tags);
    let (kind, previous, about) = match i.what {
        Moved::Merged { from } => ("merged", from, String::new()),
        // The new ticket is named after the message: said once.
        Moved::Split { from, subject } => (
            "split",
            from,
            about_message(tags, d.language, subject, &i.about.ticket.subject),
        ),
    };
    to_customer(ToCustomer {
        about: i.about,
        to: i.to,
        kind,
        previous: Some(previous),
        about_message: about,
        in_reply_to: i.in_reply_to,
        references: i.references,
        auto_submitted: AutoSubmitted::Generated,
        extra: Vec::new(),
    })
}

/// While a ticket waits on its customer: a reminder (saying when it will
/// close, if it will), or word that it closed and how to reopen it.
/// Threaded under the last mail of the ticket the customer has.
pub struct PendingInput<'a> {
    pub about: super::About<'a>,
    pub to: &'a Mailbox,
    /// `None`: a reminder; `Some(reopen_days)`: the close.
    pub closed: Option<u64>,
    /// When the close comes, for a reminder.
    pub closes_at: Option<chrono::DateTime<chrono::Utc>>,
    pub now: chrono::DateTime<chrono::Utc>,
}

pub fn pending_step(i: PendingInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.about.desk;
    let lang = d.language;
    let (kind, extra) = match i.closed {
        None => {
            let closes = match i.closes_at {
                Some(at) => lang.say(
                    "pending.closes",
                    &[("day", &super::words::day(lang, d.calendar.tz, at, i.now))],
                ),
                None => lang.say("pending.no_close", &[]),
            };
            ("reminder", vec![("closes", closes)])
        }
        Some(days) => {
            let reopen = if days > 0 {
                lang.say("pending.reopen_within", &[("days", &days.to_string())])
            } else {
                String::new()
            };
            ("pending_closed", vec![("reopen", reopen)])
        }
    };
    let ticket = i.about.ticket;
    to_customer(ToCustomer {
        about: i.about,
        to: i.to,
        kind,
        previous: None,
        about_message: String::new(),
        in_reply_to: ticket.thread_refs.last().cloned(),
        references: ticket.thread_refs.clone(),
        auto_submitted: AutoSubmitted::Generated,
        extra,
    })
}
