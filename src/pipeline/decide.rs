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

fn step<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Step, L::Error> {
    let (msg, class) = (i.msg, i.class);
    if class.kind == MessageKind::Customer {
        if let Some(first) = earlier_desk(i) {
            return other_desk(i, first, lookup);
        }
        if i.desk.cfg.is_agent(&msg.from.address) {
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

/// The requester's open tickets on this desk, most similar to this mail
/// first (ties: the most recent), at most [`MAX_RELATED`].
fn related<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Vec<Related>, L::Error> {
    let open = lookup.open_tickets(&i.desk.cfg.name, &i.msg.from.address)?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let subject = i.desk.tags.clean_subject(&i.msg.subject);
    let mine = crate::text::stems(&format!("{subject}\n{}", i.new_text));
    let mut out: Vec<Related> = open
        .into_iter()
        .map(|t| {
            let theirs = crate::text::stems(&format!("{}\n{}", t.subject, t.text));
            Related {
                number: t.number,
                subject: t.subject,
                status: t.status,
                created_at: t.created_at,
                score: (crate::text::jaccard(&mine, &theirs) * 1000.0).round() as u32,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(b.number.cmp(&a.number)));
    out.truncate(MAX_RELATED);
    Ok(out)
}

/// With `auto_link_duplicates`, the open ticket a new mail joins: the most
/// similar, when at least `auto_link_threshold` and changed within
/// `auto_link_window`. Never for old mail being imported.
fn auto_link(i: &Input<'_>, related: &[Related]) -> Option<Related> {
    let d = &i.desk.cfg;
    if !d.auto_link_duplicates || i.backlog {
        return None;
    }
    let best = related.first()?;
    let threshold = (d.auto_link_threshold * 1000.0).round() as u32;
    (best.score >= threshold && changed_within(best, i, d.auto_link_window)).then(|| best.clone())
}

/// Whether `t` was opened within `window` of now: a ticket opened long ago
/// and still open is no fresh duplicate.
fn changed_within(t: &Related, i: &Input<'_>, window: std::time::Duration) -> bool {
    t.created_at >= since(i.now, window)
}

/// A short reply saying it is solved (`resolved_phrases`) to an
/// acknowledgement that carried knowledge-file answers, on a ticket no
/// agent has answered yet (new or open).
fn solved_by_faq<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    ticket: &TicketRef,
    via: Via,
) -> Result<bool, L::Error> {
    if via != Via::SignedHeader
        || !matches!(ticket.status, Status::New | Status::Open)
        || !crate::faq::says_resolved(i.new_text, &i.desk.cfg.resolved_phrases)
    {
        return Ok(false);
    }
    // Only the requester (agents resolve with their own commands): a Cc
    // participant may not close someone else's request.
    let open = lookup.open_tickets(&i.desk.cfg.name, &i.msg.from.address)?;
    if !open.iter().any(|t| t.number == ticket.number) {
        return Ok(false);
    }
    let acks = lookup.faq_acks(ticket.number)?;
    Ok(i.msg
        .referenced_ids()
        .iter()
        .any(|id| acks.iter().any(|a| a == id)))
}

/// The requester of a new ticket answering its acknowledgement and naming
/// another of their open tickets ("es sobre SOP-41"), as the
/// acknowledgement invites: that ticket, which this one merges into.
/// Only while nobody has acted on the new ticket (status `new`).
fn customer_merge<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    ticket: &TicketRef,
    via: Via,
) -> Result<Option<Related>, L::Error> {
    if via != Via::SignedHeader || ticket.status != Status::New || i.backlog {
        return Ok(None);
    }
    let named = i.desk.tags.find_in_text(i.new_text);
    if named.iter().all(|n| *n == ticket.number) {
        return Ok(None);
    }
    let open = lookup.open_tickets(&i.desk.cfg.name, &i.msg.from.address)?;
    if !open.iter().any(|t| t.number == ticket.number) {
        return Ok(None); // not the requester of the new ticket
    }
    Ok(named.iter().find_map(|n| {
        open.iter()
            .find(|t| t.number == *n && t.number != ticket.number)
            .map(|t| Related {
                number: t.number,
                subject: t.subject.clone(),
                status: t.status,
                created_at: t.created_at,
                score: 0,
            })
    }))
}

/// A new ticket; `closed_before` is the long-closed one it follows.
fn open<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    linked_to: Option<i64>,
    closed_before: Option<i64>,
    related: Vec<Related>,
) -> Result<Step, L::Error> {
    let (msg, d) = (i.msg, &i.desk.cfg);
    let cleaned = i.desk.tags.clean_subject(&msg.subject);
    let subject = match cleaned.as_ref() {
        "" => "(no subject)".to_string(),
        s => s.to_string(),
    };
    let mut cc: Vec<Mailbox> = Vec::new();
    let mut cc_left_out = 0;
    for m in msg.to.iter().chain(&msg.cc) {
        let ours = crate::mail::is_own(i.own_addresses, &m.address)
            || d.comment_address.as_deref() == Some(&m.address);
        if ours || m.address == msg.from.address || cc.iter().any(|c| c.address == m.address) {
            continue;
        }
        if cc.len() < d.max_participants as usize {
            cc.push(m.clone());
        } else {
            cc_left_out += 1;
        }
    }
    let verified = verified_sender(i);
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_string());
    let pending = cc
        .iter()
        .filter(|m| !verified && domain(&m.address) != domain(&msg.from.address))
        .map(|m| m.address.clone())
        .collect();
    let ack = if !i.class.may_autoreply || i.backlog {
        Ack::No
    } else {
        let (max, window) = (d.max_autoreplies, d.autoreply_window);
        match over_limit(
            i,
            lookup,
            MessageKind::Ack,
            max,
            window,
            "acknowledgements to",
        )? {
            Some(why) => Ack::Limited { why },
            None => Ack::Send { closed_before },
        }
    };
    let address = d
        .address_for(msg.to.iter().chain(&msg.cc).map(|m| m.address.as_str()))
        .to_string();
    // Answers from the knowledge file ride on the acknowledgement only,
    // within a size, and a few a day to a sender nothing proves.
    let answers = match (&d.faq, &ack) {
        (Some(faq), Ack::Send { .. }) if answers_allowed(i, lookup, verified)? => {
            let mut m = faq.matches(
                &format!("{cleaned}\n{}", i.new_text),
                d.faq_threshold,
                d.faq_max_answers as usize,
            );
            let mut total = 0;
            m.retain(|a| {
                let n = faq.entry(&a.id).map_or(0, |e| e.answer.chars().count());
                total += n;
                total == n || total <= crate::faq::MAX_ACK_ANSWER_CHARS
            });
            m
        }
        _ => Vec::new(),
    };
    Ok(Step::Open(Open {
        subject,
        address,
        linked_to,
        cc,
        cc_left_out,
        pending,
        quote: match d.ack_quote {
            AckQuote::Always => true,
            AckQuote::Never => false,
            AckQuote::Known => verified || lookup.wrote_before(&d.name, &msg.from.address)?,
        },
        related,
        answers,
        ack,
        notify: notifies(i, lookup)?,
    }))
}

/// May this sender's acknowledgement carry answers? Always when their
/// mail is verified; else at most [`crate::faq::UNVERIFIED_ANSWERS_PER_DAY`]
/// such acknowledgements per 24 hours.
fn answers_allowed<L: Lookup>(i: &Input<'_>, lookup: &L, verified: bool) -> Result<bool, L::Error> {
    if verified {
        return Ok(true);
    }
    let day = since(i.now, std::time::Duration::from_secs(24 * 3600));
    let key = crate::mail::rate_key(&i.msg.from.address);
    Ok(lookup.faq_acks_caused_since(&i.desk.cfg.name, &key, day)?
        < crate::faq::UNVERIFIED_ANSWERS_PER_DAY)
}

/// Mail of `kind` this message's sender (by rate key) caused within `window`.
fn caused<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    kind: MessageKind,
    window: std::time::Duration,
) -> Result<u32, L::Error> {
    lookup.caused_since(
        &i.desk.cfg.name,
        kind,
        &crate::mail::rate_key(&i.msg.from.address),
        since(i.now, window),
    )
}

/// `now` less `window`, saturating.
fn since(now: DateTime<Utc>, window: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Customers' new mail is notified to the desk's agents, except old mail,
/// and at most `max_notifications` per sender and `notify_window`.
fn notifies<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Notify, L::Error> {
    let d = &i.desk.cfg;
    if i.backlog || d.notify.is_empty() {
        return Ok(Notify::No);
    }
    let (max, window) = (d.max_notifications, d.notify_window);
    let what = "notifications about mail from";
    Ok(
        match over_limit(i, lookup, MessageKind::Notification, max, window, what)? {
            Some(why) => Notify::Limited { why },
            None => Notify::Yes,
        },
    )
}

/// Why the sender's limit of `max` mails of `kind` per `window` is
/// reached, if it is.
fn over_limit<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    kind: MessageKind,
    max: u32,
    window: std::time::Duration,
    what: &str,
) -> Result<Option<String>, L::Error> {
    let recent = caused(i, lookup, kind, window)?;
    Ok((recent >= max).then(|| {
        format!(
            "rate limit: {recent} {what} {} within {}",
            crate::mail::rate_key(&i.msg.from.address),
            humantime::format_duration(window)
        )
    }))
}

/// A customer's mail that joined a ticket other than the one its thread
/// leads to (by the ticket's tag, by similarity, by naming it in answer to
/// an acknowledgement): they were told a new mail opens a new ticket, so
/// they hear where it went.
/// At most `max_autoreplies` per sender and `autoreply_window`.
fn receipt<L: Lookup>(i: &Input<'_>, lookup: &L, outside: bool) -> Result<Receipt, L::Error> {
    let d = &i.desk.cfg;
    if !outside || !i.class.may_autoreply || i.backlog {
        return Ok(Receipt::No);
    }
    let (max, window) = (d.max_autoreplies, d.autoreply_window);
    Ok(
        match over_limit(i, lookup, MessageKind::Receipt, max, window, "receipts to")? {
            Some(why) => Receipt::Limited { why },
            None => Receipt::Send,
        },
    )
}

fn reopenable(t: &TicketRef, i: &Input<'_>) -> bool {
    let Some(closed) = t.closed_at else {
        return true; // closed before hilo recorded when: give the customer the benefit
    };
    let age = i.now.signed_duration_since(closed);
    age.to_std()
        .map_or(true, |a| a <= i.desk.cfg.reopen_after_close)
}

/// A customer writing again puts the ticket back in the agents' court.
fn customer_reply_status(s: Status) -> Option<Status> {
    match s {
        Status::New | Status::Open => None,
        Status::Pending | Status::Resolved | Status::Closed => Some(Status::Open),
    }
}

/// An agent's mail. `None` when it concerns no ticket. A From header can
/// be forged: only a reply to our signed mail to the agents, or (with
/// `agent_trust = "authenticated"`) the receiving server's verdict for the
/// agent's domain, lets it speak for the desk.
fn agent<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Option<Step>, L::Error> {
    let (msg, d) = (i.msg, &i.desk.cfg);
    let authenticated = d.agent_trust == AgentTrust::Authenticated
        && super::agent::authenticated(msg, trusted(d), &msg.from.address);
    let number = match i.thread {
        Thread::Existing { ticket, .. } => ticket.number,
        // A ticket the mail names by its tag (agents are seldom participants).
        Thread::New { .. } => match named_ticket(i, lookup)? {
            Some(n) => n,
            None => return Ok(None),
        },
    };
    // A signed id proves only for whom it was sent to: the agent it was
    // addressed to, or any agent when it went to a list or alias the desk
    // names in `notify_lists`.
    let mut signed_reply = false;
    for id in msg.referenced_ids() {
        // Ours, and (below) stored on this ticket now: a merge or split
        // moves our notifications with the messages they are about.
        if i.signer.verify(id).is_none() {
            continue;
        }
        if let Some(rcpts) = lookup.agent_mail_recipients(number, id)? {
            if rcpts
                .iter()
                .any(|r| *r == msg.from.address || d.notify_lists.contains(r))
            {
                signed_reply = true;
                break;
            }
        }
    }
    if !(signed_reply || authenticated) {
        // Never silently: the agent is told at the From address, which is
        // an agent's (a forger never reads it), and may confirm.
        let notice = notice(i, lookup, Unheard::NoProof)?;
        return Ok(Some(Step::Unverified {
            ticket: number,
            notice,
        }));
    }

    let cmds = commands::parse(i.new_text);
    let recipients = || msg.to.iter().chain(&msg.cc);
    let to_comment = d
        .comment_address
        .as_deref()
        .is_some_and(|c| recipients().any(|m| m.address == c));
    let internal = cmds.internal || to_comment;
    // Written to the customer directly, with the desk in Cc: they have it already.
    let customers = lookup.customer_addresses(number)?;
    let direct = recipients().any(|m| customers.contains(&m.address));
    // Those the agent left out of a group reply still get the answer, once.
    let addressed: Vec<&str> = recipients().map(|m| m.address.as_str()).collect();
    let left_out: Vec<String> = if direct {
        customers
            .iter()
            .filter(|c| !addressed.contains(&c.as_str()))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let direct_to: Vec<String> = if direct {
        customers
            .iter()
            .filter(|c| addressed.contains(&c.as_str()))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let note = match (internal, direct, left_out.is_empty()) {
        (true, _, _) => Some("internal note"),
        (false, true, true) => Some("written to the customer directly: not relayed again"),
        (false, true, false) => {
            Some("written to some participants directly: relayed to the others only")
        }
        _ => None,
    };
    let status = match (cmds.status, internal) {
        (Some(s), _) => Some(s),
        // An answer leaves the ticket waiting for the customer.
        (None, false) => Some(Status::Pending),
        (None, true) => None,
    };
    let confirm = cmds.internal
        || cmds.merge.is_some()
        || cmds.split
        || cmds.status.is_some()
        || cmds.assign.is_some()
        || cmds.priority.is_some()
        || !cmds.add.is_empty()
        || !cmds.remove.is_empty()
        || !cmds.unknown.is_empty()
        || cmds.send
        || (direct && !internal);
    let partial = direct && !left_out.is_empty();
    let mut relay =
        (!internal && (!direct || partial) && !cmds.body.is_empty()).then_some(cmds.body);
    let mut held = None;
    if relay.is_some() {
        // The loop breaker: answers this fast are a machine's, whatever
        // their headers say (two out-of-office replies answering each other
        // through us).
        let from = since(i.now, d.loop_window);
        let recent = lookup.relays_since(number, from)?;
        if recent >= d.loop_max_relays {
            relay = None;
            held = Some(Held {
                why: format!(
                    "loop breaker: {recent} relays on this ticket within {}; not relayed",
                    humantime::format_duration(d.loop_window)
                ),
                alert: !lookup.event_since(number, EventKind::LoopBreaker, from)?,
            });
        }
    }
    let notice = match held {
        Some(_) => notice(i, lookup, Unheard::LoopBreaker)?,
        None => Notice::No,
    };
    let mut refused = Vec::new();
    // `#enviar` in answer to our notice: the answer held then, as written,
    // once (the agent's word is proof and the loop breaker's hold lifted).
    let mut release = None;
    let mut only = if partial { left_out } else { Vec::new() };
    if cmds.send {
        match lookup.held_answer(number, &msg.referenced_ids())? {
            Some(h) => {
                let body = commands::parse(&h.text).body;
                if body.is_empty() {
                    refused.push("#enviar: the answer held has no text to send".to_string());
                } else {
                    relay = Some(body);
                    release = Some(h.message);
                    only.clear();
                }
            }
            None => refused.push(
                "#enviar: reply to hilo's notice of an answer not sent (this one was sent already, or the notice went to someone else)"
                    .to_string(),
            ),
        }
    }
    // The answer goes to the author of the message answered (a colleague
    // the customer forwarded our mail to, say), who joins the ticket: the
    // agent chose to answer them. Never to an agent or to ourselves.
    let mut answering = None;
    let mut join = false;
    let answered = if relay.is_some() || cmds.split {
        lookup.answered(number, &msg.referenced_ids())?
    } else {
        None
    };
    let split = match (&answered, cmds.split, &cmds.merge) {
        (_, false, _) => None,
        (_, true, Some(_)) => {
            refused.push("#separar: one of #fusionar and #separar at a time".to_string());
            None
        }
        (Some(a), true, None) => Some(a.message),
        (None, true, None) => {
            refused.push(
                "#separar: reply to the notification of the customer's message that starts the new topic"
                    .to_string(),
            );
            None
        }
    };
    if relay.is_some() && release.is_none() {
        answering = answered.filter(|a| {
            !d.is_agent(&a.author.address)
                && !crate::mail::is_own(i.own_addresses, &a.author.address)
        });
        join = answering
            .as_ref()
            .is_some_and(|a| !customers.contains(&a.author.address));
    }
    let merge_into = match &cmds.merge {
        None => None,
        Some(arg) => match merge_target(i, lookup, number, arg)? {
            Ok(n) => Some(n),
            Err(why) => {
                refused.push(format!("#fusionar {arg}: {why}"));
                None
            }
        },
    };
    // Never one of our own addresses (a relay to ourselves is a loop), and
    // no more Cc participants than `max_participants` allows.
    let mut add = Vec::new();
    let mut room = (d.max_participants as usize)
        .saturating_sub(lookup.cc_participants(number)? as usize)
        .saturating_sub(usize::from(join))
        + cmds.remove.len();
    for a in cmds.add {
        if crate::mail::is_own(i.own_addresses, &a) {
            refused.push(format!("#añadir {a}: an address of this desk"));
        } else if customers.contains(&a) {
            continue; // already receives the answers
        } else if room == 0 {
            refused.push(format!(
                "#añadir {a}: the ticket has its {} Cc participants (max_participants)",
                d.max_participants
            ));
        } else {
            room -= 1;
            add.push(a);
        }
    }
    let signature = match d.relay_signature {
        _ if relay.is_none() => None,
        RelaySignature::Agent => msg.signature.clone(),
        RelaySignature::Desk => Some(d.signature.trim().to_string()).filter(|s| !s.is_empty()),
    };
    Ok(Some(Step::Answer(Box::new(Answer {
        ticket: number,
        internal,
        note,
        assign: cmds.assign,
        priority: cmds.priority,
        status,
        relay,
        held,
        add,
        remove: cmds.remove,
        unknown: cmds.unknown,
        answering,
        join,
        signature,
        confirm,
        merge_into,
        split,
        refused,
        notice,
        release,
        only,
        direct_to,
    }))))
}

/// Does our receiving server's verdict prove the From address's domain
/// wrote this mail (DKIM or DMARC, see [`super::agent`])? Without
/// `authserv_ids`, nothing is ever verified.
fn verified_sender(i: &Input<'_>) -> bool {
    super::agent::authenticated(i.msg, trusted(&i.desk.cfg), &i.msg.from.address)
}

/// Where our receiving server's verdicts may be read, for desk `d`.
fn trusted(d: &crate::config::DeskConfig) -> super::agent::Trusted<'_> {
    super::agent::Trusted {
        authserv_ids: &d.authserv_ids,
        receiving_hosts: &d.receiving_hosts,
    }
}

/// Whether the agent who wrote this mail hears that it was not sent: not
/// for old mail, and at most `max_notifications` notices per address and
/// `notify_window`.
fn notice<L: Lookup>(i: &Input<'_>, lookup: &L, why: Unheard) -> Result<Notice, L::Error> {
    let d = &i.desk.cfg;
    if i.backlog {
        return Ok(Notice::No);
    }
    let (max, window) = (d.max_notifications, d.notify_window);
    Ok(
        match over_limit(i, lookup, MessageKind::Notice, max, window, "notices to")? {
            Some(why) => Notice::Limited { why },
            None => Notice::Send(why),
        },
    )
}

/// The ticket `#fusionar ARG` names: `SOP-41`, `[SOP-41]` or `41`, of this
/// desk, now (a merged one stands for its target), other than `number`.
fn merge_target<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    number: i64,
    arg: &str,
) -> Result<Result<i64, String>, L::Error> {
    let bare = arg.trim_matches(['[', ']', '#']);
    let named = match bare.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => i.desk.tags.find(&format!("[{bare}]")),
    };
    let Some(n) = named else {
        return Ok(Err(format!(
            "not a ticket of this desk (write {})",
            i.desk.tags.format(41)
        )));
    };
    // The target a merge leads to, by the one rule of what may merge.
    let (Some(from), Some(into)) = (lookup.ticket(number)?, super::thread::current(lookup, n)?)
    else {
        return Ok(Err(hilo_domain::Refusal::NoSuchTicket(n).to_string()));
    };
    Ok(match hilo_domain::may_merge(&from, &into) {
        Ok(()) => Ok(into.number),
        Err(why) => Err(why.to_string()),
    })
}

/// The first ticket of this desk that the subject, else the body, names.
fn named_ticket<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Option<i64>, L::Error> {
    let tags = &i.desk.tags;
    let named = tags
        .find(&i.msg.subject)
        .into_iter()
        .chain(tags.find_in_text(&i.msg.text));
    for n in named {
        if let Some(t) = super::thread::current(lookup, n)?.filter(|t| t.desk == i.desk.cfg.name) {
            return Ok(Some(t.number));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::pipeline::memory::MemoryLookup;
    use crate::pipeline::Answered;

    const NOW: &str = "2026-11-29T12:00:00Z";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(NOW)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Two desks, `ventas` listed before `soporte`; `soporte` has agents,
    /// notifications, a comment address and room for 2 acknowledgements.
    fn desks(trust: &str, settings: &str) -> Vec<DeskRuntime> {
        let imap = "[desk.imap]\nhost = \"127.0.0.1\"\nport = 143\nsecurity = \"none\"\nusername = \"u\"\npassword = \"p\"\n";
        let toml = format!(
            "[store]\npath = \"x.db\"\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"none\"\n\
             [[desk]]\nname = \"ventas\"\naddress = \"ventas@example.test\"\ntag = \"VEN\"\nlanguage = \"es\"\n{imap}\
             [[desk]]\nname = \"soporte\"\naddress = \"soporte@example.test\"\naddresses = [\"ayuda@example.test\"]\nplus_addressing = true\ntag = \"SOP\"\nlanguage = \"es\"\n\
             agents = [\"@agentes.test\", \"eva@agentes.test\"]\nagent_trust = \"{trust}\"\nauthserv_ids = [\"mx.example.test\"]\nnotify = [\"equipo@agentes.test\"]\nnotify_lists = [\"equipo@agentes.test\"]\n\
             max_participants = 3\nmax_notifications = 2\nnotify_window = \"1h\"\nloop_max_relays = 3\nloop_window = \"10m\"\n\
             comment_address = \"soporte+nota@example.test\"\nmax_autoreplies = 2\nautoreply_window = \"1h\"\n\
             reopen_days = 30\n{settings}\n{imap}"
        );
        let config = Config::from_toml(&toml, Vec::<(String, String)>::new()).unwrap();
        config.desks.iter().map(DeskRuntime::new).collect()
    }

    fn ticket(number: i64, status: Status, closed_at: Option<&str>) -> TicketRef {
        TicketRef {
            number,
            desk: "soporte".into(),
            status,
            closed_at: closed_at.map(|c| c.parse().expect("a test time")),
            merged_into: None,
        }
    }

    fn existing(status: Status, closed_at: Option<&str>) -> Thread {
        Thread::Existing {
            ticket: ticket(5, status, closed_at),
            via: Via::Header,
        }
    }

    fn class(kind: MessageKind, may_autoreply: bool) -> Classification {
        Classification {
            kind,
            may_autoreply,
            reason: "test",
        }
    }

    fn customer() -> Classification {
        class(MessageKind::Customer, true)
    }

    /// One decision over desk `soporte`.
    struct Case {
        raw: String,
        class: Classification,
        thread: Thread,
        bounce: Option<Bounce>,
        backlog: bool,
        trust: &'static str,
        /// Extra keys for desk `soporte`.
        settings: &'static str,
    }

    impl Case {
        fn new(headers: &str, body: &str) -> Case {
            Case {
                raw: format!("{headers}\r\n\r\n{body}"),
                class: customer(),
                thread: Thread::New { linked_to: None },
                bounce: None,
                backlog: false,
                trust: "signed-reply",
                settings: "",
            }
        }

        fn from(from: &str) -> Case {
            Case::new(
                &format!("From: {from}\r\nTo: soporte@example.test\r\nSubject: Hola"),
                "texto",
            )
        }

        fn run(&self, lookup: &MemoryLookup) -> Plan {
            let desks = desks(self.trust, self.settings);
            let own = vec![
                "ventas@example.test".to_string(),
                "soporte@example.test".to_string(),
                "ayuda@example.test".to_string(),
                "soporte+nota@example.test".to_string(),
            ];
            let msg = crate::mail::parse(self.raw.as_bytes()).unwrap();
            let input = Input {
                desk: &desks[1],
                desks: &desks,
                own_addresses: &own,
                signer: &Signer::new(b"k"),
                msg: &msg,
                new_text: &msg.new_text,
                class: &self.class,
                thread: &self.thread,
                bounce: self.bounce.as_ref(),
                backlog: self.backlog,
                now: now(),
            };
            decide(&input, lookup).unwrap()
        }

        fn step(&self) -> Step {
            self.run(&MemoryLookup::default()).step
        }
    }

    fn open_of(s: Step) -> Open {
        match s {
            Step::Open(o) => o,
            other => panic!("expected Open, got {other:?}"),
        }
    }

    fn append_of(s: Step) -> Append {
        match s {
            Step::Append(a) => a,
            other => panic!("expected Append, got {other:?}"),
        }
    }

    fn answer_of(s: Step) -> Answer {
        match s {
            Step::Answer(a) => *a,
            other => panic!("expected Answer, got {other:?}"),
        }
    }

    #[test]
    fn a_customers_new_mail_opens_an_acknowledged_notified_ticket() {
        let o = open_of(Case::from("ana@cliente.test").step());
        assert_eq!(o.subject, "Hola");
        assert_eq!(o.linked_to, None);
        assert_eq!(
            o.ack,
            Ack::Send {
                closed_before: None
            }
        );
        assert_eq!(o.notify, Notify::Yes);
    }

    #[test]
    fn the_ticket_subject_loses_tags_and_prefixes_and_is_never_empty() {
        let c = Case::new(
            "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: RE: [SOP-9] Factura",
            "x",
        );
        assert_eq!(open_of(c.step()).subject, "Factura");
        let c = Case::new("From: ana@cliente.test\r\nTo: soporte@example.test", "x");
        assert_eq!(open_of(c.step()).subject, "(no subject)");
    }

    #[test]
    fn other_recipients_become_cc_but_never_our_addresses_or_the_sender() {
        let c = Case::new(
            "From: ana@cliente.test\r\nTo: soporte@example.test, jefe@cliente.test\r\n\
             Cc: ana@cliente.test, soporte+nota@example.test, ventas@example.test\r\nSubject: x",
            "x",
        );
        // ventas is listed first and addressed: that is the other-desk rule.
        assert!(matches!(c.step(), Step::OtherDesk { .. }));
        let c = Case::new(
            "From: ana@cliente.test\r\nTo: soporte@example.test, jefe@cliente.test\r\n\
             Cc: ana@cliente.test, soporte+nota@example.test\r\nSubject: x",
            "x",
        );
        let cc: Vec<String> = open_of(c.step())
            .cc
            .into_iter()
            .map(|m| m.address)
            .collect();
        assert_eq!(cc, ["jefe@cliente.test"]);
    }

    fn open_ticket(
        number: i64,
        subject: &str,
        text: &str,
        days_ago: i64,
    ) -> crate::pipeline::OpenTicket {
        let at = now() - chrono::Duration::days(days_ago);
        crate::pipeline::OpenTicket {
            number,
            subject: subject.into(),
            status: Status::Open,
            created_at: at,
            updated_at: at,
            text: text.into(),
        }
    }

    #[test]
    fn a_new_ticket_knows_the_requesters_open_ones_most_similar_first() {
        let c = Case::new(
            "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: La impresora sigue sin imprimir",
            "La impresora de la planta 2 no imprime.",
        );
        let mut f = MemoryLookup::default();
        f.open.insert(
            "ana@cliente.test".into(),
            vec![
                open_ticket(9, "Factura duplicada", "Me cobraron dos veces.", 1),
                open_ticket(
                    8,
                    "No imprime",
                    "La impresora de la planta 2 no imprime nada.",
                    2,
                ),
            ],
        );
        let o = open_of(c.run(&f).step);
        let order: Vec<i64> = o.related.iter().map(|r| r.number).collect();
        assert_eq!(order, [8, 9]);
        assert!(o.related[0].score > 400, "{:?}", o.related[0]);
        assert_eq!(o.related[1].score, 0);
        // Off by default: the mail still opens its own ticket.
        assert!(matches!(c.run(&f).step, Step::Open(_)));
    }

    #[test]
    fn auto_link_joins_only_a_similar_recent_ticket() {
        let mut c = Case::new(
            "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: La impresora no imprime",
            "La impresora de la planta 2 no imprime nada.",
        );
        let with = |days| {
            let mut f = MemoryLookup::default();
            f.open.insert(
                "ana@cliente.test".into(),
                vec![open_ticket(
                    8,
                    "No imprime",
                    "La impresora de la planta 2 no imprime nada.",
                    days,
                )],
            );
            f
        };
        c.settings = "auto_link_duplicates = true\nauto_link_threshold = 0.5\nauto_link_days = 7";
        let a = append_of(c.run(&with(2)).step);
        assert_eq!(a.ticket, 8);
        assert!(a.auto_linked.is_some());
        assert_eq!(a.receipt, Receipt::Send, "the customer hears where it went");
        // Opened too long ago: a new ticket.
        assert!(matches!(c.run(&with(30)).step, Step::Open(_)));
        // Not similar enough: a new ticket.
        c.raw = c.raw.replace(
            "Subject: La impresora no imprime",
            "Subject: Y la factura 12 duplicada",
        );
        c.settings = "auto_link_duplicates = true\nauto_link_threshold = 0.7";
        assert!(matches!(c.run(&with(2)).step, Step::Open(_)));
    }

    #[test]
    fn a_customer_naming_an_open_ticket_in_answer_to_an_acknowledgement_merges() {
        let headers =
            "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: Re: [SOP-9] Impresora";
        // Her domain's signature, as our receiving server saw it.
        let verified = format!(
            "Authentication-Results: mx.example.test; dkim=pass header.d=cliente.test\r\n{headers}"
        );
        let mut c = Case::new(&verified, "Es sobre SOP-8, perdón.");
        let mut f = MemoryLookup::default();
        f.open.insert(
            "ana@cliente.test".into(),
            vec![
                open_ticket(9, "Impresora", "x", 0),
                open_ticket(8, "No imprime", "y", 1),
            ],
        );
        let signed = |status| Thread::Existing {
            ticket: ticket(9, status, None),
            via: Via::SignedHeader,
        };
        c.thread = signed(Status::New);
        let a = append_of(c.run(&f).step);
        assert_eq!((a.ticket, a.merge_from), (8, Some(9)));
        // Once an agent acted (not new), or by a tag only, or naming a
        // ticket that is not hers: no merge.
        c.thread = signed(Status::Pending);
        assert_eq!(append_of(c.run(&f).step).merge_from, None);
        c.thread = Thread::Existing {
            ticket: ticket(9, Status::New, None),
            via: Via::SubjectTag,
        };
        assert_eq!(append_of(c.run(&f).step).merge_from, None);
        c.thread = signed(Status::New);
        // Unauthenticated, the same words only ask the agents.
        let mut forged = Case::new(headers, "Es sobre SOP-8, perdón.");
        forged.thread = signed(Status::New);
        let a = append_of(forged.run(&f).step);
        assert_eq!((a.ticket, a.merge_from, a.merge_asked), (9, None, Some(8)));
        assert_eq!(a.receipt, Receipt::No);
        f.open.get_mut("ana@cliente.test").unwrap().pop();
        assert_eq!(append_of(c.run(&f).step).merge_from, None);
    }

    #[test]
    fn strangers_in_cc_of_an_unverified_first_mail_wait_for_an_agent() {
        let headers = "From: ana@cliente.test\r\nTo: soporte@example.test\r\nCc: jefe@cliente.test, eve@evil.test\r\nSubject: IBAN";
        let o = open_of(Case::new(headers, "x").step());
        assert_eq!(o.cc.len(), 2);
        assert_eq!(o.pending, ["eve@evil.test"]);
        // Her own domain's verified mail: she chose whom to copy.
        let signed = format!("Authentication-Results: mx.example.test; dmarc=pass header.from=cliente.test\r\n{headers}");
        assert!(open_of(Case::new(&signed, "x").step()).pending.is_empty());
    }

    #[test]
    fn adding_participants_stops_at_the_cap() {
        let mut f = MemoryLookup::default();
        f.to_agents.push((
            5,
            "n1@agentes.test".into(),
            vec!["equipo@agentes.test".into()],
        ));
        f.customers
            .insert(5, vec!["ana@cliente.test".into(), "b@cliente.test".into()]);
        let mut c = Case::new(
            "From: eva@agentes.test\r\nTo: soporte@example.test\r\nSubject: Re: [SOP-5] x\r\nIn-Reply-To: <n1@agentes.test>",
            "#añadir c@cliente.test\n#añadir d@cliente.test\n#añadir b@cliente.test\n#añadir soporte@example.test\n\nHecho.",
        );
        c.thread = existing(Status::Open, None);
        // Signed ids only: make the notification id one of ours.
        let id = Signer::new(b"k").new_id(5, "example.test");
        c.raw = c.raw.replace("n1@agentes.test", &id);
        f.to_agents[0].1 = id;
        // max_participants = 3, one Cc already (b@).
        f.participants.push((5, "b@cliente.test".into()));
        let a = match c.run(&f).step {
            Step::Answer(a) => a,
            other => panic!("{other:?}"),
        };
        assert_eq!(a.add, ["c@cliente.test", "d@cliente.test"]);
        assert_eq!(a.refused.len(), 1, "{:?}", a.refused);
        assert!(a.refused[0].contains("soporte@example.test"));
    }

    #[test]
    fn only_the_requester_resolves_with_a_faq_phrase() {
        let mut f = MemoryLookup::default();
        f.faq_acks.push((9, "ack9@example.test".into()));
        let mut c = Case::new(
            "From: irene@cliente.test\r\nTo: soporte@example.test\r\nSubject: Re: [SOP-9] x\r\nIn-Reply-To: <ack9@example.test>",
            "#resuelto",
        );
        c.thread = Thread::Existing {
            ticket: ticket(9, Status::New, None),
            via: Via::SignedHeader,
        };
        assert!(!append_of(c.run(&f).step).solved_by_faq, "a Cc participant");
        f.open.insert(
            "irene@cliente.test".into(),
            vec![open_ticket(9, "x", "x", 0)],
        );
        assert!(append_of(c.run(&f).step).solved_by_faq, "the requester");
    }

    #[test]
    fn a_ticket_remembers_the_desk_address_written_to() {
        let to = |to: &str| {
            let c = Case::new(
                &format!("From: ana@cliente.test\r\nTo: {to}\r\nSubject: x"),
                "x",
            );
            open_of(c.step()).address
        };
        assert_eq!(to("soporte@example.test"), "soporte@example.test");
        assert_eq!(to("Ayuda <AYUDA@example.test>"), "ayuda@example.test");
        assert_eq!(
            to("ayuda+facturas@example.test"),
            "ayuda+facturas@example.test"
        );
        // Bcc: the desk is in no header.
        assert_eq!(to("otro@cliente.test"), "soporte@example.test");
        // An alias and a plus-address in Cc are ours, not participants.
        let c = Case::new(
            "From: ana@cliente.test\r\nTo: ayuda@example.test\r\nCc: soporte+x@example.test, jefe@cliente.test\r\nSubject: x",
            "x",
        );
        let cc: Vec<String> = open_of(c.step())
            .cc
            .into_iter()
            .map(|m| m.address)
            .collect();
        assert_eq!(cc, ["jefe@cliente.test"]);
    }

    #[test]
    fn mail_also_sent_to_a_desk_listed_first_is_left_to_it() {
        let c = Case::new(
            "From: ana@cliente.test\r\nTo: soporte@example.test\r\nCc: ventas@example.test\r\n\
             Message-ID: <m1@cliente.test>\r\nSubject: x",
            "x",
        );
        let Step::OtherDesk { note } = c.step() else {
            panic!("not left to the other desk")
        };
        assert_eq!(
            note,
            "also sent to desk ventas, listed first: handled there"
        );
        let mut f = MemoryLookup::default();
        f.ids.insert("m1@cliente.test".into(), 12);
        let Step::OtherDesk { note } = c.run(&f).step else {
            panic!("not left to the other desk")
        };
        assert_eq!(note, "also sent to desk ventas: handled there as [VEN-12]");
        // A machine's copy is not a customer's: the rule is for customers.
        let mut ooo = c;
        ooo.class = class(MessageKind::AutoReply, false);
        assert!(matches!(ooo.step(), Step::SetAside { .. }));
    }

    #[test]
    fn acknowledgements_stop_at_the_rate_limit_within_the_window() {
        let c = Case::from("ana@cliente.test");
        let mut f = MemoryLookup::default();
        let ago = |mins| now() - chrono::Duration::minutes(mins);
        // Two in the window reach max_autoreplies = 2; older ones do not count.
        let ack = |who: &str, t| (MessageKind::Ack, who.to_string(), t);
        f.caused.push(ack("ana@cliente.test", ago(90)));
        f.caused.push(ack("ana@cliente.test", ago(30)));
        f.caused.push(ack("otro@cliente.test", ago(10)));
        assert_eq!(
            open_of(c.run(&f).step).ack,
            Ack::Send {
                closed_before: None
            }
        );
        f.caused.push(ack("ana@cliente.test", ago(5)));
        let Ack::Limited { why } = open_of(c.run(&f).step).ack else {
            panic!("not limited")
        };
        assert_eq!(
            why,
            "rate limit: 2 acknowledgements to ana@cliente.test within 1h"
        );
    }

    #[test]
    fn no_acknowledgement_when_the_sender_wants_none_or_the_mail_is_old() {
        let mut c = Case::from("ana@cliente.test");
        c.class = class(MessageKind::Customer, false);
        let o = open_of(c.step());
        assert_eq!(o.ack, Ack::No);
        assert_eq!(o.notify, Notify::Yes, "agents still hear of it");
        let mut c = Case::from("ana@cliente.test");
        c.backlog = true;
        let o = open_of(c.step());
        assert_eq!(o.ack, Ack::No);
        assert_eq!(o.notify, Notify::No, "old mail notifies no one");
    }

    #[test]
    fn closed_tickets_reopen_only_within_the_window() {
        let mut c = Case::from("ana@cliente.test");
        c.thread = existing(Status::Closed, Some("2026-11-20T12:00:00.000Z"));
        let a = append_of(c.step());
        assert_eq!((a.ticket, a.status), (5, Some(Status::Open)));
        c.thread = existing(Status::Closed, Some("2026-09-01T12:00:00.000Z"));
        let o = open_of(c.step());
        assert_eq!(o.linked_to, Some(5));
        assert_eq!(
            o.ack,
            Ack::Send {
                closed_before: Some(5)
            }
        );
        // Closed before hilo recorded when: reopened.
        c.thread = existing(Status::Closed, None);
        assert_eq!(append_of(c.step()).status, Some(Status::Open));
        // An out-of-office to an old closed ticket is just recorded.
        c.thread = existing(Status::Closed, Some("2026-09-01T12:00:00.000Z"));
        c.class = class(MessageKind::AutoReply, false);
        let a = append_of(c.step());
        assert_eq!((a.status, a.notify), (None, Notify::No));
    }

    #[test]
    fn a_customer_reply_puts_the_ticket_back_with_the_agents() {
        let mut c = Case::from("ana@cliente.test");
        for (status, then) in [
            (Status::New, None),
            (Status::Open, None),
            (Status::Pending, Some(Status::Open)),
            (Status::Resolved, Some(Status::Open)),
        ] {
            c.thread = existing(status, None);
            let a = append_of(c.step());
            assert_eq!(a.status, then, "{status:?}");
            assert_eq!(a.notify, Notify::Yes);
            assert_eq!(a.kind, MessageKind::Customer);
        }
        c.backlog = true;
        assert_eq!(append_of(c.step()).notify, Notify::No);
    }

    #[test]
    fn a_subject_tag_a_stranger_may_not_join_links_a_new_ticket() {
        let mut c = Case::from("ana@cliente.test");
        c.thread = Thread::New { linked_to: Some(8) };
        let o = open_of(c.step());
        assert_eq!(o.linked_to, Some(8));
        assert_eq!(
            o.ack,
            Ack::Send {
                closed_before: None
            }
        );
    }

    #[test]
    fn machines_never_open_tickets_or_change_them() {
        for k in [
            MessageKind::AutoReply,
            MessageKind::Bounce,
            MessageKind::List,
            MessageKind::Own,
        ] {
            let mut c = Case::from("robot@cliente.test");
            c.class = class(k, false);
            assert_eq!(
                c.step(),
                Step::SetAside {
                    kind: k,
                    reason: "test",
                    note: "test".into()
                },
                "{k:?}"
            );
            c.thread = existing(Status::Closed, None);
            let a = append_of(c.step());
            assert_eq!((a.kind, a.status, a.notify), (k, None, Notify::No), "{k:?}");
        }
    }

    #[test]
    fn a_bounce_marks_what_it_reports_and_records_why() {
        let bounce = Bounce {
            reported: vec!["out1@example.test".into()],
            recipients: vec!["ana@cliente.test".into()],
            reason: "5.1.1 user unknown".into(),
        };
        let mut c = Case::from("mailer-daemon@cliente.test");
        c.class = class(MessageKind::Bounce, false);
        c.bounce = Some(bounce.clone());
        let p = c.run(&MemoryLookup::default());
        assert_eq!(p.undeliverable.as_ref(), Some(&bounce));
        let Step::SetAside { note, .. } = p.step else {
            panic!("not set aside")
        };
        assert_eq!(note, "5.1.1 user unknown");
        c.thread = existing(Status::Pending, None);
        let a = append_of(c.step());
        assert_eq!(a.bounce.as_deref(), Some("5.1.1 user unknown"));
        assert_eq!(a.note.as_deref(), Some("5.1.1 user unknown"));
        assert_eq!(a.status, None);
    }

    // The agent path. `Signer::new(b"k")` signs ids; the fake says which
    // signed ids went to the agents of which ticket.

    fn signed_id(ticket: i64) -> String {
        Signer::new(b"k").new_id(ticket, "example.test")
    }

    /// An agent's reply to our notification on ticket 5 (signed, sent to
    /// the agents) with `body`, and the lookup that knows ticket 5.
    fn agent_reply(body: &str, extra_headers: &str) -> (Case, MemoryLookup) {
        let id = signed_id(5);
        let mut c = Case::new(
            &format!(
                "From: Luis <luis@agentes.test>\r\nTo: soporte@example.test\r\n{extra_headers}\
                 In-Reply-To: <{id}>\r\nSubject: RE: [SOP-5] Hola"
            ),
            body,
        );
        c.thread = existing(Status::Open, None);
        let mut f = MemoryLookup::default();
        f.tickets.insert(5, ticket(5, Status::Open, None));
        f.to_agents
            .push((5, id, vec!["equipo@agentes.test".into()]));
        f.customers.insert(5, vec!["ana@cliente.test".into()]);
        (c, f)
    }

    #[test]
    fn a_mail_that_joined_by_its_tag_is_confirmed_within_the_rate_limit() {
        let mut c = Case::from("ana@cliente.test");
        let via = |via| Thread::Existing {
            ticket: ticket(5, Status::Open, None),
            via,
        };
        for (v, want) in [
            (Via::BodyTag, Receipt::Send),
            (Via::SubjectTag, Receipt::Send),
            (Via::Header, Receipt::No),
            (Via::SignedHeader, Receipt::No),
            (Via::ThreadIndex, Receipt::No),
        ] {
            c.thread = via(v);
            assert_eq!(append_of(c.step()).receipt, want, "{v:?}");
        }
        c.thread = via(Via::BodyTag);
        let mut f = MemoryLookup::default();
        for _ in 0..2 {
            f.caused
                .push((MessageKind::Receipt, "ana@cliente.test".into(), now()));
        }
        assert!(matches!(
            append_of(c.run(&f).step).receipt,
            Receipt::Limited { .. }
        ));
        // Old mail and machines hear nothing.
        c.backlog = true;
        assert_eq!(append_of(c.step()).receipt, Receipt::No);
        c.backlog = false;
        c.class = class(MessageKind::Customer, false);
        assert_eq!(append_of(c.step()).receipt, Receipt::No);
    }

    #[test]
    fn the_answer_goes_to_the_author_answered_who_joins_if_new() {
        let (c, mut f) = agent_reply("Gracias, Luis.", "");
        let id = f.to_agents[0].1.clone();
        let who = |a: &str| Answered {
            message: 9,
            author: Mailbox::new(a, None),
            message_id: Some("m@cliente.test".into()),
        };
        // Unknown: the requester, as before.
        let a = answer_of(c.run(&f).step);
        assert_eq!((a.answering, a.join), (None, false));
        // A colleague who wrote through our acknowledgement.
        f.answered.push((5, id.clone(), who("pepe@cliente.test")));
        let a = answer_of(c.run(&f).step);
        assert_eq!(a.answering, Some(who("pepe@cliente.test")));
        assert!(a.join);
        // The requester: no one joins.
        f.answered[0].2 = who("ana@cliente.test");
        let a = answer_of(c.run(&f).step);
        assert_eq!(a.answering, Some(who("ana@cliente.test")));
        assert!(!a.join);
        // Never an agent or one of our own addresses.
        for own in ["eva@agentes.test", "soporte@example.test"] {
            f.answered[0].2 = who(own);
            let a = answer_of(c.run(&f).step);
            assert_eq!((a.answering, a.join), (None, false), "{own}");
        }
        // An internal note answers no one.
        let (c, mut f) = agent_reply("#nota\nllamar mañana", "");
        let id = f.to_agents[0].1.clone();
        f.answered.push((5, id, who("pepe@cliente.test")));
        let a = answer_of(c.run(&f).step);
        assert_eq!((a.answering, a.join), (None, false));
    }

    #[test]
    fn commands_are_confirmed_and_the_agents_signature_relayed() {
        let (c, f) = agent_reply("Hecho.\n\n-- \nLuis\nExt. 12", "");
        let a = answer_of(c.run(&f).step);
        assert!(!a.confirm, "no command, no confirmation");
        assert_eq!(a.signature.as_deref(), Some("Luis\nExt. 12"));
        for cmd in [
            "#cerrar",
            "#nota",
            "#prioridad alta",
            "#asignar x@agentes.test",
            "#añadir x@y.test",
            "#quitar x@y.test",
            "#bailar",
        ] {
            let (c, f) = agent_reply(&format!("{cmd}\nHecho."), "");
            assert!(answer_of(c.run(&f).step).confirm, "{cmd}");
        }
        // A note carries no signature anywhere: nothing is relayed.
        let (c, f) = agent_reply("#nota\nHecho.\n-- \nLuis", "");
        assert_eq!(answer_of(c.run(&f).step).signature, None);
    }

    #[test]
    fn a_signed_agent_reply_is_relayed_and_leaves_the_ticket_pending() {
        let (c, f) = agent_reply("Ya está resuelto.", "");
        let a = answer_of(c.run(&f).step);
        assert_eq!(a.ticket, 5);
        assert!(!a.internal);
        assert_eq!(a.relay.as_deref(), Some("Ya está resuelto."));
        assert_eq!(a.status, Some(Status::Pending));
        assert_eq!(a.note, None);
    }

    #[test]
    fn an_agent_mail_without_proof_reaches_no_one() {
        // A reply that names a signed id we never sent to the agents.
        let (c, mut f) = agent_reply("hola", "");
        f.to_agents.clear();
        assert_eq!(
            c.run(&f).step,
            Step::Unverified {
                ticket: 5,
                notice: Notice::Send(Unheard::NoProof)
            }
        );
        // A signed id of another ticket proves nothing for this one.
        let (c, mut f) = agent_reply("hola", "");
        f.to_agents = vec![(6, signed_id(6), vec!["equipo@agentes.test".into()])];
        assert_eq!(
            c.run(&f).step,
            Step::Unverified {
                ticket: 5,
                notice: Notice::Send(Unheard::NoProof)
            }
        );
        // Authentication-Results count only with agent_trust = "authenticated".
        let (c, mut f) = agent_reply(
            "hola",
            "Authentication-Results: mx.example.test; dkim=pass header.d=agentes.test\r\n",
        );
        f.to_agents.clear();
        assert_eq!(
            c.run(&f).step,
            Step::Unverified {
                ticket: 5,
                notice: Notice::Send(Unheard::NoProof)
            }
        );
    }

    #[test]
    fn an_authenticated_agent_may_name_a_ticket_by_its_tag() {
        let (mut c, mut f) = agent_reply(
            "Respuesta",
            "Authentication-Results: mx.example.test; dkim=pass header.d=agentes.test\r\n",
        );
        c.trust = "authenticated";
        f.to_agents.clear();
        c.thread = Thread::New { linked_to: None };
        let a = answer_of(c.run(&f).step);
        assert_eq!((a.ticket, a.relay.as_deref()), (5, Some("Respuesta")));
        // A pass for another domain is no proof.
        let (mut c, mut f) = agent_reply(
            "Respuesta",
            "Authentication-Results: mx.example.test; dkim=pass header.d=otro.test\r\n",
        );
        c.trust = "authenticated";
        f.to_agents.clear();
        assert_eq!(
            c.run(&f).step,
            Step::Unverified {
                ticket: 5,
                notice: Notice::Send(Unheard::NoProof)
            }
        );
    }

    #[test]
    fn an_agent_mail_about_no_ticket_is_anyones_mail() {
        let mut c = Case::from("luis@agentes.test");
        c.thread = Thread::New { linked_to: None };
        assert!(matches!(c.step(), Step::Open(_)));
        // Naming another desk's ticket, or one that does not exist, is no ticket.
        let c = Case::new(
            "From: luis@agentes.test\r\nTo: soporte@example.test\r\nSubject: [SOP-77] x",
            "x",
        );
        let mut f = MemoryLookup::default();
        f.tickets.insert(
            77,
            TicketRef {
                desk: "ventas".into(),
                ..ticket(77, Status::Open, None)
            },
        );
        assert!(matches!(c.run(&f).step, Step::Open(_)));
    }

    #[test]
    fn an_internal_note_changes_no_status_and_is_relayed_to_no_one() {
        let (c, f) = agent_reply("#nota\nLlamé al cliente.", "");
        let a = answer_of(c.run(&f).step);
        assert!(a.internal);
        assert_eq!(
            (a.relay, a.status, a.note),
            (None, None, Some("internal note"))
        );
        // Mail to the comment address is a note too.
        let (c, f) = agent_reply("Llamé al cliente.", "Cc: soporte+nota@example.test\r\n");
        let a = answer_of(c.run(&f).step);
        assert!(a.internal);
        assert_eq!(a.relay, None);
    }

    #[test]
    fn a_reply_written_to_the_customer_directly_is_not_relayed_again() {
        let (c, f) = agent_reply("Hola Ana", "Cc: ana@cliente.test\r\n");
        let a = answer_of(c.run(&f).step);
        assert_eq!(a.relay, None);
        assert_eq!(a.status, Some(Status::Pending));
        assert_eq!(
            a.note,
            Some("written to the customer directly: not relayed again")
        );
    }

    #[test]
    fn agent_commands_set_what_they_name_and_unknown_ones_are_reported() {
        let (c, f) = agent_reply(
            "#cerrar\n#asignar eva@agentes.test\n#prioridad alta\n#bailar\n\nListo.",
            "",
        );
        let a = answer_of(c.run(&f).step);
        assert_eq!(a.status, Some(Status::Closed));
        assert_eq!(a.assign.as_deref(), Some("eva@agentes.test"));
        assert_eq!(a.priority, Some(crate::model::Priority::High));
        assert_eq!(a.unknown, ["#bailar"]);
        assert_eq!(a.relay.as_deref(), Some("Listo."));
        // Commands alone relay nothing.
        let (c, f) = agent_reply("#cerrar", "");
        let a = answer_of(c.run(&f).step);
        assert_eq!((a.relay, a.status), (None, Some(Status::Closed)));
    }

    #[test]
    fn a_notification_id_proves_only_for_whom_it_was_sent() {
        // Sent to Eva alone (an agent listed by address): Luis cannot use it.
        let (c, mut f) = agent_reply("hola", "");
        f.to_agents[0].2 = vec!["eva@agentes.test".into()];
        assert_eq!(
            c.run(&f).step,
            Step::Unverified {
                ticket: 5,
                notice: Notice::Send(Unheard::NoProof)
            }
        );
        // Sent to Luis himself: it proves for him.
        f.to_agents[0].2 = vec!["luis@agentes.test".into()];
        assert!(matches!(c.run(&f).step, Step::Answer(_)));
        // Sent to someone else who is no list: no proof for Luis either.
        f.to_agents[0].2 = vec!["observador@example.org".into()];
        assert_eq!(
            c.run(&f).step,
            Step::Unverified {
                ticket: 5,
                notice: Notice::Send(Unheard::NoProof)
            }
        );
        // Sent to a list the desk names in notify_lists: any agent.
        f.to_agents[0].2 = vec!["equipo@agentes.test".into()];
        assert!(matches!(c.run(&f).step, Step::Answer(_)));
        // Never for someone who is not an agent, whatever id they hold.
        let (mut c, f) = agent_reply("hola", "");
        c.raw = c.raw.replace("luis@agentes.test", "ana@cliente.test");
        assert!(!matches!(
            c.run(&f).step,
            Step::Answer(_) | Step::Unverified { .. }
        ));
    }

    #[test]
    fn the_loop_breaker_holds_relays_and_alerts_once() {
        let (c, mut f) = agent_reply("Respuesta", "");
        let ago = |mins| now() - chrono::Duration::minutes(mins);
        // Two recent relays and an old one: under loop_max_relays = 3.
        f.relays = vec![(5, ago(2)), (5, ago(5)), (5, ago(60)), (6, ago(1))];
        assert_eq!(
            answer_of(c.run(&f).step).relay.as_deref(),
            Some("Respuesta")
        );
        f.relays.push((5, ago(1)));
        let a = answer_of(c.run(&f).step);
        assert_eq!(a.relay, None);
        let held = a.held.unwrap();
        assert!(held.alert);
        assert_eq!(
            held.why,
            "loop breaker: 3 relays on this ticket within 10m; not relayed"
        );
        // Alerted already in this window: held, no second alert.
        f.events.push((5, EventKind::LoopBreaker, ago(3)));
        assert!(!answer_of(c.run(&f).step).held.unwrap().alert);
        // Notes and commands are never held.
        let (c, f2) = agent_reply("#nota\nllamé", "");
        let mut f2 = f2;
        f2.relays = f.relays.clone();
        assert_eq!(answer_of(c.run(&f2).step).held, None);
    }

    #[test]
    fn notifications_stop_at_the_senders_limit_however_they_spell_their_address() {
        let c = Case::from("Ana+12@Cliente.test");
        let mut f = MemoryLookup::default();
        let note = |t| (MessageKind::Notification, "ana@cliente.test".to_string(), t);
        f.caused.push(note(now() - chrono::Duration::minutes(90)));
        f.caused.push(note(now() - chrono::Duration::minutes(30)));
        assert_eq!(open_of(c.run(&f).step).notify, Notify::Yes);
        f.caused.push(note(now() - chrono::Duration::minutes(1)));
        let Notify::Limited { why } = open_of(c.run(&f).step).notify else {
            panic!("not limited")
        };
        assert_eq!(
            why,
            "rate limit: 2 notifications about mail from ana@cliente.test within 1h"
        );
        // The acknowledgement limit folds the spellings too.
        f.caused
            .push((MessageKind::Ack, "ana@cliente.test".into(), now()));
        f.caused
            .push((MessageKind::Ack, "ana@cliente.test".into(), now()));
        assert!(matches!(open_of(c.run(&f).step).ack, Ack::Limited { .. }));
    }

    #[test]
    fn cc_participants_stop_at_the_cap() {
        let cc: Vec<String> = (0..10_000).map(|n| format!("c{n}@x.test")).collect();
        let c = Case::new(
            &format!(
                "From: ana@cliente.test\r\nTo: soporte@example.test\r\nCc: {}\r\nSubject: x",
                cc.join(", ")
            ),
            "x",
        );
        let o = open_of(c.step());
        let kept: Vec<&str> = o.cc.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(kept, ["c0@x.test", "c1@x.test", "c2@x.test"]);
        // The parser keeps MAX_ADDRESSES of each header; past the cap, counted.
        assert_eq!(o.cc_left_out, crate::mail::parse::MAX_ADDRESSES - 3);
    }
}
