//! An agent's answer on its way to the customer: from the desk address
//! (shown as "Agent (Desk)"), with the tag and the agent's signature (or
//! the desk's), threaded under the message answered, to its author and,
//! in Cc, the ticket's other customer-side participants. Also the report
//! to an agent on the commands of their reply.

use std::collections::HashMap;

use crate::config::Language;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::parse::Attachment;
use crate::mail::subject::TagMatcher;
use crate::mail::Mailbox;
use crate::outgoing::templates::Template;
use hilo_domain::{Answer, Answered};

pub struct RelayInput<'a> {
    pub about: super::About<'a>,
    pub agent: &'a Mailbox,
    /// The answer, commands and quoted history already removed.
    pub body: &'a str,
    /// Written below the answer, above the desk's footer.
    pub signature: Option<&'a str>,
    /// The customer's message answered: its author is the addressee.
    pub answering: Option<&'a Answered>,
    /// Only to these (the participants an agent's group reply left out);
    /// empty: to everyone on the customer's side.
    pub only: &'a [String],
    pub attachments: &'a [Attachment],
}

/// The agent's answer to the customer.
pub fn relay(i: RelayInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.about.desk;
    let tag = i.about.tags.format(i.about.ticket.number);
    let signature = i
        .signature
        .map(|s| format!("{}\n\n", s.trim_end()))
        .unwrap_or_default();
    let vars = HashMap::from([
        ("tag", tag),
        ("number", i.about.ticket.number.to_string()),
        ("desk", d.shown_name()),
        ("desk_address", d.from_for(i.about.ticket).to_string()),
        ("subject", super::shown_subject(&i.about.ticket.subject)),
        ("signature", signature),
    ]);
    let footer = i
        .about
        .templates
        .get(&d.name, d.language, "relay_footer")
        .render(&vars);
    let agent_name = i
        .agent
        .name
        .clone()
        .unwrap_or_else(|| i.agent.address.split('@').next().unwrap_or("").to_string());
    let shown = Template::parse_with("relay_name", &d.relay_name, &["agent", "desk"])
        .map(|t| {
            t.render(&HashMap::from([
                ("agent", agent_name),
                ("desk", d.shown_name()),
            ]))
        })
        .unwrap_or_else(|_| d.shown_name());
    // The thread's root and its recent customer-facing mail: never the
    // References of anyone's mail, which may hold ids of our mail to the
    // agents (proof for them, not for the customer).
    let references = i.about.ticket.thread_refs.clone();
    // To the author of the message answered; everyone else on the
    // customer's side in Cc, so each sees who else got the answer.
    let to = i
        .answering
        .map(|a| a.author.clone())
        .unwrap_or_else(|| i.about.ticket.requester.clone());
    let mut cc: Vec<Mailbox> = Vec::new();
    if to.address != i.about.ticket.requester.address {
        cc.push(i.about.ticket.requester.clone());
    }
    cc.extend(
        i.about
            .ticket
            .cc
            .iter()
            .filter(|a| !d.is_agent(a) && !d.receives_at(a) && **a != to.address)
            .map(|a| Mailbox::new(a, None)),
    );
    let (to, cc) = match i.only.split_first() {
        Some((first, rest)) => (
            Mailbox::new(first, None),
            rest.iter().map(|a| Mailbox::new(a, None)).collect(),
        ),
        None => (to, cc),
    };
    // Under the message answered when this copy's recipients have it (see
    // `ticket_info_for`), else under their own last mail.
    let in_reply_to = i
        .answering
        .and_then(|a| a.message_id.clone())
        .filter(|id| i.about.ticket.thread_refs.contains(id))
        .or_else(|| i.about.ticket.last_customer_id.clone());
    Outgoing::new(Draft {
        from: Mailbox::new(d.from_for(i.about.ticket), Some(shown)),
        to: vec![to],
        cc,
        reply_to: None,
        subject: i
            .about
            .tags
            .tagged_subject(i.about.ticket.number, &i.about.ticket.subject),
        text: format!("{}\n{}", i.body.trim_end(), footer),
        message_id: i.about.signer.new_id(i.about.ticket.number, d.domain()),
        in_reply_to,
        references,
        // A person's answer, not an automatic one: vacation responders may reply.
        auto_submitted: None,
        loop_marker: d.address.clone(),
        attachments: i.attachments.to_vec(),
    })
}

/// What a merge or split command did, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Merged {
        from: i64,
        into: i64,
        messages: usize,
        /// Participants of the source who joined the target: they get its
        /// answers from now on.
        participants: Vec<String>,
    },
    Split {
        from: i64,
        into: i64,
        messages: usize,
    },
    /// Refused by the store, with why.
    Refused(String),
}

pub struct ReportInput<'a> {
    pub about: super::About<'a>,
    pub agent: &'a Mailbox,
    /// What the agent's reply asked for, and what became of it.
    pub answer: &'a Answer,
    /// What its merge or split did.
    pub moved: &'a [Moved],
}

/// The lines of a report saying what the commands did.
fn done_lines(
    a: &Answer,
    moved: &[Moved],
    tags: &TagMatcher,
    lang: Language,
    tz: chrono_tz::Tz,
) -> Vec<String> {
    let mut out = Vec::new();
    for m in moved {
        out.push(match m {
            Moved::Merged {
                from,
                into,
                messages,
                participants,
            } => {
                let who = match participants.as_slice() {
                    [] => lang.say("report.no_new_participants", &[]),
                    p => lang.say("report.new_participants", &[("list", &p.join(", "))]),
                };
                lang.say(
                    "report.merged",
                    &[
                        ("from_tag", &tags.format(*from)),
                        ("into_tag", &tags.format(*into)),
                        ("messages", &messages.to_string()),
                        ("participants", &who),
                        ("from", &from.to_string()),
                    ],
                )
            }
            Moved::Split {
                from,
                into,
                messages,
            } => lang.say(
                "report.split",
                &[
                    ("from_tag", &tags.format(*from)),
                    ("into_tag", &tags.format(*into)),
                    ("messages", &messages.to_string()),
                ],
            ),
            Moved::Refused(why) => lang.say("report.not_done", &[("why", why)]),
        });
    }
    for why in &a.refused {
        out.push(lang.say("report.not_done", &[("why", why)]));
    }
    if a.internal {
        out.push(lang.say("report.internal", &[]));
    }
    if let Some(s) = a.status {
        let w = super::status_word(s, lang);
        out.push(lang.say("report.status", &[("status", &w)]));
    }
    if let Some(who) = &a.assign {
        out.push(lang.say("report.assigned", &[("who", who)]));
    }
    if let Some(p) = &a.priority {
        let w = super::priority_word(*p, lang);
        out.push(lang.say("report.priority", &[("priority", &w)]));
    }
    if let Some(at) = a.remind {
        out.push(lang.say(
            "report.remind",
            &[
                ("day", &super::words::day(lang, tz, at, at)),
                ("time", &at.with_timezone(&tz).format("%H:%M").to_string()),
            ],
        ));
    }
    for who in &a.add {
        out.push(lang.say("report.added", &[("who", who)]));
    }
    for who in &a.remove {
        out.push(lang.say("report.removed", &[("who", who)]));
    }
    let direct = a.direct_to.join(", ");
    let only = a.only.join(", ");
    let sent = [("direct", direct.as_str()), ("only", only.as_str())];
    match (&a.relay, &a.held) {
        (Some(_), _) if a.release.is_some() => out.push(lang.say("report.released", &[])),
        (Some(_), _) if !a.only.is_empty() => out.push(lang.say("report.sent_to_left_out", &sent)),
        (None, None) if !a.direct_to.is_empty() && !a.internal => {
            out.push(lang.say("report.direct_to_all", &sent))
        }
        (Some(_), _) => out.push(lang.say("report.sent", &[])),
        (None, Some(h)) => out.push(lang.say("report.not_sent", &[("why", &h.why)])),
        (None, None) => {}
    }
    out
}

/// Tells an agent what the commands of their reply did, and which were
/// not understood.
pub fn report(i: ReportInput<'_>) -> Result<Outgoing, ComposeError> {
    let (desk, tags, ticket) = (i.about.desk, i.about.tags, i.about.ticket);
    let list = |lines: Vec<String>| {
        lines
            .iter()
            .map(|c| format!("  {c}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let lang = desk.language;
    let done = done_lines(i.answer, i.moved, tags, lang, i.about.desk.calendar.tz);
    let done = if done.is_empty() {
        String::new()
    } else {
        format!("{}\n{}\n\n", lang.say("report.done_head", &[]), list(done))
    };
    let unknown = if i.answer.unknown.is_empty() {
        String::new()
    } else {
        let head = lang.say("report.unknown_head", &[]);
        format!("{head}\n{}\n\n", list(i.answer.unknown.clone()))
    };
    let vars = HashMap::from([
        ("tag", tags.format(ticket.number)),
        ("subject", super::shown_subject(&ticket.subject)),
        ("done", done),
        ("commands", unknown),
        ("desk", desk.shown_name()),
    ]);
    let text = i
        .about
        .templates
        .get(&desk.name, desk.language, "report")
        .render(&vars);
    let signer = i.about.signer;
    Outgoing::new(Draft {
        from: Mailbox::new(desk.from_for(ticket), Some(desk.shown_name())),
        to: vec![i.agent.clone()],
        cc: Vec::new(),
        reply_to: None,
        subject: tags.tagged_subject(ticket.number, &ticket.subject),
        text,
        message_id: signer.new_id(ticket.number, desk.domain()),
        in_reply_to: ticket.notifications.last().cloned(),
        references: ticket.notifications.clone(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: desk.address.clone(),
        attachments: Vec::new(),
    })
}

pub struct NoticeInput<'a> {
    pub about: super::About<'a>,
    /// The agent's address the unsent answer came from: an agent's by
    /// configuration, so the real agent reads this, never a forger.
    pub agent: &'a Mailbox,
    pub why: hilo_domain::Unheard,
    /// What the mail said (commands included), shown in full up to a cap.
    pub text: &'a str,
    /// The Message-ID of the agent's mail, to thread under it.
    pub their_id: Option<&'a str>,
}

/// Longest answer a notice shows, in characters.
const NOTICE_TEXT_CHARS: usize = 8000;

/// Tells an agent that their answer was not sent, why, and how to send it
/// as written (`#enviar` in reply); warns that someone may be writing in
/// their name.
pub fn notice(i: NoticeInput<'_>) -> Result<Outgoing, ComposeError> {
    use hilo_domain::Unheard;
    let (desk, tags, ticket) = (i.about.desk, i.about.tags, i.about.ticket);
    let tag = tags.format(ticket.number);
    let subject = super::shown_subject(&ticket.subject);
    let lang = desk.language;
    let quoted: String = super::capped(
        i.text.trim(),
        NOTICE_TEXT_CHARS,
        &lang.say("words.cut", &[]),
    )
    .lines()
    .map(|l| format!("> {l}\n"))
    .collect();
    let why = match i.why {
        Unheard::NoProof => lang.say(
            "notice.no_proof",
            &[("agent", &i.agent.address), ("tag", &tag)],
        ),
        Unheard::LoopBreaker => lang.say("notice.loop_breaker", &[]),
    };
    let text = lang.say(
        "notice.text",
        &[
            ("tag", &tag),
            ("subject", &subject),
            ("why", &why),
            ("quoted", &quoted),
            ("desk", &desk.shown_name()),
        ],
    );
    let mut references = ticket.notifications.clone();
    references.extend(i.their_id.map(str::to_string));
    Outgoing::new(Draft {
        from: Mailbox::new(desk.from_for(ticket), Some(desk.shown_name())),
        to: vec![i.agent.clone()],
        cc: Vec::new(),
        reply_to: None,
        subject: tags.tagged_subject(ticket.number, &ticket.subject),
        text,
        message_id: i.about.signer.new_id(ticket.number, desk.domain()),
        in_reply_to: i.their_id.map(str::to_string),
        references,
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: desk.address.clone(),
        attachments: Vec::new(),
    })
}
