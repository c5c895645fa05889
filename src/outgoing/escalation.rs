//! The lead's mail when a ticket's service-level clock reaches its
//! warning point or goes past its target: the due time in the subject
//! (`[SOP-41 · vence 11:00]`), in the desk's calendar's time zone, and
//! threaded with the ticket's notifications so a reply with the usual
//! commands acts on the ticket.

use chrono::{DateTime, Utc};

use crate::mail::compose::{ComposeError, Outgoing};
use crate::sla::{Clock, Which};

/// Which mail of the two a clock gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warning,
    Breach,
}

pub struct EscalationInput<'a> {
    pub about: super::About<'a>,
    pub level: Level,
    pub clock: &'a Clock,
    pub due_at: DateTime<Utc>,
    /// The one `escalate_to` address this copy goes to.
    pub to: &'a str,
    pub now: DateTime<Utc>,
}

pub fn escalation(i: EscalationInput<'_>) -> Result<Outgoing, ComposeError> {
    let super::About {
        desk: d,
        tags,
        ticket,
        ..
    } = i.about;
    let lang = d.language;
    let tz = d.calendar.tz;
    let local = i.due_at.with_timezone(&tz);
    let time = local.format("%H:%M").to_string();
    let when = super::words::short_when(lang, tz, i.due_at, i.now);
    let (subject_key, text_key) = match i.level {
        Level::Warning => ("escalation.subject_warning", "escalation.warning"),
        Level::Breach => ("escalation.subject_breach", "escalation.breach"),
    };
    let tag = tags.format(ticket.number);
    let mark = lang.say(subject_key, &[("when", &when)]);
    let clock = lang.say(
        match i.clock.which {
            Which::FirstResponse => "escalation.first_response",
            Which::NextResponse => "escalation.next_response",
            Which::Resolution => "escalation.resolution",
        },
        &[],
    );
    let requester = match &ticket.requester.name {
        Some(n) => format!(
            "{} <{}>",
            crate::mail::header_text(n, 80),
            ticket.requester.address
        ),
        None => ticket.requester.address.clone(),
    };
    let subject = super::shown_subject(&ticket.subject);
    let head = lang.say(
        text_key,
        &[
            ("tag", &tag),
            ("subject", &subject),
            ("requester", &requester),
            ("day", &super::words::day(lang, tz, i.due_at, i.now)),
            ("time", &time),
            ("zone", tz.name()),
            ("clock", &clock),
            (
                "target",
                &crate::sla::minutes(i.clock.target_secs.unwrap_or(0)),
            ),
            ("elapsed", &crate::sla::minutes(i.clock.elapsed_secs)),
        ],
    );
    let nobody = lang.say("words.nobody", &[]);
    let state = lang.say(
        "escalation.state",
        &[
            ("status", &super::status_word(ticket.status, lang)),
            ("priority", &super::priority_word(ticket.priority, lang)),
            ("assignee", ticket.assignee.as_deref().unwrap_or(&nobody)),
        ],
    );
    let how = lang.say("escalation.how", &[]);
    // `[SOP-41 · vence 11:00] Subject`: the tag stays first, so the
    // reply threads by it as by the notifications' ids.
    let subject = format!(
        "[{} · {mark}] {}",
        tag.trim_start_matches('[').trim_end_matches(']'),
        tags.clean_subject(&ticket.subject)
    );
    super::notify::to_agent(
        i.about,
        i.to,
        subject,
        format!("{head}\n\n{state}\n\n{how}\n"),
    )
}
