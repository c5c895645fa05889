//! The decision for one received message, as data. Every rule of what hilo
//! does with mail is here and nowhere else: the first-listed-desk rule,
//! agents' proof of origin and commands, open or append, the reopen window,
//! who joins a ticket (and the cap on Cc participants), who is acknowledged
//! and notified (and the rate limits on both), the loop breaker, what a
//! bounce marks. Pure: it reads values and a read-only [`Lookup`];
//! [`super::apply`] carries the plan out.

use chrono::{DateTime, Utc};
pub use hilo_domain::{Answer, Held, Notice, Related, Unheard, MAX_RELATED};

use super::classify::Classification;
use super::parse::Bounce;
use super::thread::{Thread, Via};
use super::{commands, DeskRuntime, Lookup, TicketRef};
use crate::config::{AckQuote, AgentTrust, RelaySignature};
use crate::mail::msgid::Signer;
use crate::mail::{Inbound, Mailbox};
use crate::model::{MessageKind, Status};
use hilo_domain::EventKind;

mod agent;
pub mod command_line;
mod customer;
mod limits;
#[cfg(test)]
mod tests;

use agent::*;
pub use agent::{answer_status, relay_signature};
use customer::*;
use limits::*;

/// Everything the decision depends on, for one message.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The desk whose mailbox the message came from.
    pub desk: &'a DeskRuntime,
    /// Every desk, in the order the configuration lists them.
    pub desks: &'a [DeskRuntime],
    /// Every desk and comment address of this installation, lowercase.
    pub own_addresses: &'a [String],
    pub signer: &'a Signer,
    pub msg: &'a Inbound,
    /// What the message adds: its text without quoted history.
    pub new_text: &'a str,
    pub class: &'a Classification,
    pub thread: &'a Thread,
    /// For a bounce: what it reports.
    pub bounce: Option<&'a Bounce>,
    /// Old mail being imported: no acknowledgements, no notifications.
    pub backlog: bool,
    pub now: DateTime<Utc>,
}

/// What to do with one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub step: Step,
    /// A bounce: our outgoing mail it reports is marked undeliverable.
    pub undeliverable: Option<Bounce>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Also addressed to a desk listed before this one, which handles it:
    /// recorded here without a ticket.
    OtherDesk { note: String },
    /// Open a ticket with this message.
    Open(Open),
    /// Record the message on an existing ticket.
    Append(Append),
    /// Record the message without a ticket (machines that match nothing).
    SetAside {
        kind: MessageKind,
        reason: &'static str,
        note: String,
    },
    /// An agent's mail on `ticket` without proof of origin: recorded on
    /// it, relayed to no one, and an event says so; the agent hears it.
    Unverified { ticket: i64, notice: Notice },
    /// A trusted agent's answer or internal note (boxed: the largest step).
    Answer(Box<Answer>),
    /// An agent's proven reply to the daily digest: a command line per
    /// ticket (`SOP-41 #cerrar`), each carried out and confirmed.
    DigestReply { lines: Vec<DigestLine> },
}

/// One line of a reply to the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLine {
    /// As written.
    pub line: String,
    /// The ticket it names (by the desk's tag), if any.
    pub ticket: Option<i64>,
    pub status: Option<Status>,
    pub assign: Option<String>,
    pub priority: Option<crate::model::Priority>,
    /// Commands not understood (a note or an answer is not taken here).
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The ticket's subject: the message's, without tags and reply prefixes.
    pub subject: String,
    /// The desk address the customer wrote to (an alias, a plus-address):
    /// all mail about the ticket goes from it.
    pub address: String,
    /// A ticket the message refers to but may not join.
    pub linked_to: Option<i64>,
    /// The message's other recipients, who become Cc participants (at most
    /// the desk's `max_participants`).
    pub cc: Vec<Mailbox>,
    /// Recipients past `max_participants`, left out.
    pub cc_left_out: usize,
    /// Of `cc`, those who get no answer until an agent adds them
    /// (`#añadir`) or the requester's verified mail names them: the first
    /// mail proves nothing of its sender (a forged From with a Cc of the
    /// forger's), and they are outside the requester's domain.
    pub pending: Vec<String>,
    /// The requester's other open tickets, most similar first: the
    /// acknowledgement lists them, the notification calls them possible
    /// duplicates.
    pub related: Vec<Related>,
    /// Whether the acknowledgement quotes the first lines of the mail
    /// (`ack_quote`).
    pub quote: bool,
    /// Knowledge-file answers the acknowledgement offers (none when there
    /// is no acknowledgement).
    pub answers: Vec<crate::faq::Match>,
    pub ack: Ack,
    pub notify: Notify,
}

/// Whether the desk's agents hear of a customer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// No: old mail, or nobody to notify.
    No,
    Yes,
    /// The sender's notification limit is reached: an event says why.
    Limited {
        why: String,
    },
}

/// Whether a new ticket is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Not at all: a machine, someone who asked for no auto-reply, old mail.
    No,
    /// Yes; `closed_before` is the long-closed ticket this one follows,
    /// which the acknowledgement names.
    Send { closed_before: Option<i64> },
    /// The sender's rate limit is reached: an event on the ticket says why.
    Limited { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub ticket: i64,
    pub kind: MessageKind,
    /// Move the ticket to this status.
    pub status: Option<Status>,
    pub notify: Notify,
    /// Recorded with the message (a bounce's reason).
    pub note: Option<String>,
    /// A bounce's reason, recorded as an event on the ticket.
    pub bounce: Option<String>,
    /// Whether the customer hears that their mail, written outside the
    /// thread, was added to the ticket.
    pub receipt: Receipt,
    /// It joined this ticket by being this similar to it
    /// (`auto_link_duplicates`).
    pub auto_linked: Option<Related>,
    /// The customer answered the acknowledgement of this new ticket naming
    /// the ticket above: this one is merged into it first.
    pub merge_from: Option<i64>,
    /// The customer asked, as above, to merge this ticket into that one,
    /// but their mail proves nothing of its sender: the agents are asked to
    /// confirm (`#fusionar`), and nothing moves.
    pub merge_asked: Option<i64>,
    /// The customer says an answer from the knowledge file solved it: the
    /// ticket is resolved, and the agents told.
    pub solved_by_faq: bool,
    /// Addresses this verified mail of the requester names in To/Cc: any
    /// of them waiting for confirmation starts getting the answers.
    pub confirm_pending: Vec<String>,
}

impl Append {
    /// A customer's mail added to `ticket`, changing nothing but its
    /// status, with who hears of it; the other fields say what else
    /// happens and are set where it does.
    fn customer(ticket: i64, status: Option<Status>, notify: Notify, receipt: Receipt) -> Append {
        Append {
            ticket,
            kind: MessageKind::Customer,
            status,
            notify,
            note: None,
            bounce: None,
            receipt,
            auto_linked: None,
            merge_from: None,
            merge_asked: None,
            solved_by_faq: false,
            confirm_pending: Vec::new(),
        }
    }
}

/// Whether a customer's mail that joined a ticket by its tag (a new mail,
/// not a reply) is confirmed to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    No,
    Send,
    /// The sender's rate limit is reached: an event says why.
    Limited {
        why: String,
    },
}

pub fn decide<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Plan, L::Error> {
    Ok(Plan {
        step: step(i, lookup)?,
        undeliverable: i.bounce.cloned(),
    })
}

/// Longest line of a digest reply echoed back, in characters.
const DIGEST_LINE_CHARS: usize = 200;

/// An agent's reply to a digest we sent them (its signed id, ticket 0,
/// and the digest's recipients are the proof, as a notification's are):
/// its lines, at most [`commands::MAX_COMMANDS`].
fn digest_reply<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Option<Step>, L::Error> {
    let (msg, d) = (i.msg, &i.desk.cfg);
    let mut proven = false;
    for id in msg.referenced_ids() {
        if i.signer.verify(id) != Some(0) {
            continue;
        }
        if let Some(rcpts) = lookup.digest_recipients(id)? {
            if rcpts
                .iter()
                .any(|r| *r == msg.from.address || d.notify_lists.contains(r))
            {
                proven = true;
                break;
            }
        }
    }
    if !proven {
        return Ok(None);
    }
    let mut lines = Vec::new();
    for line in i
        .new_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(commands::MAX_COMMANDS)
    {
        let ticket = i
            .desk
            .tags
            .find(line)
            .or_else(|| i.desk.tags.find_in_text(line).first().copied());
        // `SOP-41 #cerrar #asignar ana@…`: each `#` a command of its own.
        let rest = line.find('#').map_or("", |at| &line[at..]);
        let cmds: String = rest
            .split('#')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| format!("#{c}\n"))
            .collect();
        let c = commands::parse(&cmds);
        let mut unknown = c.unknown;
        if c.internal || !c.body.trim().is_empty() || c.merge.is_some() || c.split || c.send {
            unknown.push(crate::mail::header_text(rest, DIGEST_LINE_CHARS));
        }
        lines.push(DigestLine {
            // Echoed in the confirmation: one line, capped.
            line: crate::mail::header_text(line, DIGEST_LINE_CHARS),
            ticket,
            status: c.status,
            assign: c.assign,
            priority: c.priority,
            unknown,
        });
    }
    Ok(Some(Step::DigestReply { lines }))
}

fn step<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Step, L::Error> {
    let (msg, class) = (i.msg, i.class);
    if class.kind == MessageKind::Customer {
        if let Some(first) = earlier_desk(i) {
            return other_desk(i, first, lookup);
        }
        if i.desk.cfg.is_agent(&msg.from.address) {
            if let Some(s) = digest_reply(i, lookup)? {
                return Ok(s);
            }
            if let Some(s) = agent(i, lookup)? {
                return Ok(s);
            }
            // An agent's mail about no ticket is handled like anyone's.
        }
    }
    let bounce = i.bounce.map(|b| b.reason.clone());
    Ok(match (class.kind, i.thread) {
        (MessageKind::Customer, Thread::New { linked_to }) => {
            let related = related(i, lookup)?;
            match auto_link(i, &related) {
                Some(best) => {
                    let base = Append::customer(
                        best.number,
                        customer_reply_status(best.status),
                        notifies(i, lookup)?,
                        receipt(i, lookup, true)?,
                    );
                    Step::Append(Append {
                        note: Some(format!(
                            "joined by similarity {:.2} to this open ticket (auto_link_duplicates)",
                            f64::from(best.score) / 1000.0
                        )),
                        auto_linked: Some(best),
                        ..base
                    })
                }
                None => open(i, lookup, *linked_to, None, related)?,
            }
        }
        (MessageKind::Customer, Thread::Existing { ticket, via }) => {
            if ticket.status == Status::Closed && !reopenable(ticket, i) {
                let related = related(i, lookup)?;
                open(i, lookup, Some(ticket.number), Some(ticket.number), related)?
            } else if solved_by_faq(i, lookup, ticket, *via)? {
                Step::Append(Append {
                    note: Some("the customer says the knowledge-file answer solved it".into()),
                    solved_by_faq: true,
                    // Confirmed in one line.
                    ..Append::customer(
                        ticket.number,
                        Some(Status::Resolved),
                        notifies(i, lookup)?,
                        receipt(i, lookup, true)?,
                    )
                })
            } else if let Some(into) = customer_merge(i, lookup, ticket, *via)? {
                if verified_sender(i) {
                    Step::Append(Append {
                        note: Some(format!(
                            "the customer answered the acknowledgement of ticket {} naming this one: merged here",
                            ticket.number
                        )),
                        merge_from: Some(ticket.number),
                        ..Append::customer(
                            into.number,
                            customer_reply_status(into.status),
                            notifies(i, lookup)?,
                            receipt(i, lookup, true)?,
                        )
                    })
                } else {
                    // A From anyone can forge: merging on its word could
                    // bring a stranger's ticket (and its Cc) into the
                    // victim's. The agents decide.
                    Step::Append(Append {
                        note: Some(format!(
                            "the customer asks to merge this ticket into ticket {}; the mail proves nothing of its sender, so an agent confirms (#fusionar)",
                            into.number
                        )),
                        merge_asked: Some(into.number),
                        ..Append::customer(
                            ticket.number,
                            customer_reply_status(ticket.status),
                            notifies(i, lookup)?,
                            Receipt::No,
                        )
                    })
                }
            } else {
                let outside = matches!(via, Via::SubjectTag | Via::BodyTag);
                let confirm_pending = if verified_sender(i)
                    && lookup
                        .open_tickets(&i.desk.cfg.name, &i.msg.from.address)?
                        .iter()
                        .any(|t| t.number == ticket.number)
                {
                    i.msg
                        .to
                        .iter()
                        .chain(&i.msg.cc)
                        .map(|m| m.address.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                Step::Append(Append {
                    confirm_pending,
                    ..Append::customer(
                        ticket.number,
                        customer_reply_status(ticket.status),
                        notifies(i, lookup)?,
                        receipt(i, lookup, outside)?,
                    )
                })
            }
        }
        // Machines and our own mail are recorded where they belong, and change nothing.
        (kind, Thread::Existing { ticket, .. }) => Step::Append(Append {
            kind,
            note: bounce.clone(),
            bounce,
            ..Append::customer(ticket.number, None, Notify::No, Receipt::No)
        }),
        (kind, Thread::New { .. }) => Step::SetAside {
            kind,
            reason: class.reason,
            note: bounce.unwrap_or_else(|| class.reason.to_string()),
        },
    })
}

/// A desk listed before this one that the message is also addressed to.
fn earlier_desk<'a>(i: &Input<'a>) -> Option<&'a DeskRuntime> {
    let addressed = |d: &DeskRuntime| {
        i.msg
            .to
            .iter()
            .chain(&i.msg.cc)
            .any(|m| d.cfg.receives_at(&m.address))
    };
    i.desks
        .iter()
        .take_while(|d| d.cfg.name != i.desk.cfg.name)
        .find(|d| addressed(d))
}

fn other_desk<L: Lookup>(i: &Input<'_>, first: &DeskRuntime, lookup: &L) -> Result<Step, L::Error> {
    let there = match &i.msg.message_id {
        Some(id) => lookup.ticket_by_message_ids(&first.cfg.name, &[id.as_str()])?,
        None => None,
    };
    let note = match there {
        Some(n) => format!(
            "also sent to desk {}: handled there as {}",
            first.cfg.name,
            first.tags.format(n)
        ),
        None => format!(
            "also sent to desk {}, listed first: handled there",
            first.cfg.name
        ),
    };
    Ok(Step::OtherDesk { note })
}
