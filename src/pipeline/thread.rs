//! Which ticket a message belongs to, in this order:
//! 1. In-Reply-To/References (and, for a bounce, the Message-ID it reports),
//!    most specific first: the first that is one of our signed Message-IDs,
//!    or a stored message of the desk when the sender is a participant (or
//!    an agent, whose mail must prove itself anyway), names the ticket that
//!    message is on now (merges and splits move messages);
//! 2. Outlook's Thread-Index names a conversation of a ticket, from a participant;
//! 3. the desk's tag in the subject, from a participant;
//! 4. the tag in the body ("mi caso SOP-42", or quoted), from a participant;
//! 5. else a new ticket.
//!
//! A ticket merged into another stands for that one throughout.
//!
//! A tag is easy to guess and a Message-ID easy to learn (anyone in Cc of
//! one mail has it), so neither joins a ticket for a stranger: only a
//! signed id of ours, which only the mail we sent carries, does. A
//! stranger who names a ticket gets a new ticket linked to it, and sees
//! nothing of it.

use super::{Lookup, TicketRef};
use crate::mail::msgid::Signer;
use crate::mail::subject::TagMatcher;
use crate::mail::Inbound;

/// How the ticket was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// In-Reply-To/References names one of our signed Message-IDs.
    SignedHeader,
    /// In-Reply-To/References names a stored message of the ticket.
    Header,
    /// Outlook's Thread-Index, from a participant.
    ThreadIndex,
    /// The desk's tag in the subject, from a participant.
    SubjectTag,
    /// The desk's tag in the body, from a participant.
    BodyTag,
}

/// The threader's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thread {
    Existing {
        ticket: TicketRef,
        via: Via,
    },
    /// A new ticket; `linked_to` is a ticket the sender named but may not join.
    New {
        linked_to: Option<i64>,
    },
}

/// Most merges followed from a ticket to the one it now lives in (a
/// merge into a merged ticket is refused, so one is the usual count).
pub const MAX_MERGE_HOPS: usize = 16;

/// The ticket `number` is now: itself, or the ticket it was merged into.
pub fn current<L: Lookup>(lookup: &L, number: i64) -> Result<Option<TicketRef>, L::Error> {
    let mut t = lookup.ticket(number)?;
    for _ in 0..MAX_MERGE_HOPS {
        match t.as_ref().and_then(|t| t.merged_into) {
            Some(into) => t = lookup.ticket(into)?,
            None => break,
        }
    }
    Ok(t)
}

/// Finds the ticket of `msg`. `reported` are extra Message-IDs to follow:
/// those a bounce reports. `agent`: the sender is one of the desk's agents.
///
/// The referenced ids are read most specific first (In-Reply-To, then
/// References from the last): the message answered decides, so a reply in
/// a part of a thread split off into another ticket lands there. Each id
/// names the ticket its stored message is on now (merges and splits move
/// messages); a signed id of ours not stored names the ticket it was made
/// for; a merged ticket stands for the one it was merged into.
pub fn resolve<L: Lookup>(
    lookup: &L,
    desk: &str,
    tags: &TagMatcher,
    signer: &Signer,
    msg: &Inbound,
    reported: &[String],
    agent: bool,
) -> Result<Thread, L::Error> {
    let mut ids = msg.referenced_ids();
    ids.extend(reported.iter().map(String::as_str));
    let ours = |t: Option<TicketRef>| t.filter(|t| t.desk == desk);
    let participant = |n: i64| lookup.is_participant(n, &msg.from.address);

    let stored = lookup.message_tickets(desk, &ids)?;
    let mut linked_to = None;
    for id in &ids {
        let here = stored.get(*id).copied();
        if let Some(number) = signer.verify(id) {
            if let Some(ticket) = ours(current(lookup, here.unwrap_or(number))?) {
                return Ok(Thread::Existing {
                    ticket,
                    via: Via::SignedHeader,
                });
            }
            continue;
        }
        let Some(number) = here else { continue };
        if let Some(ticket) = ours(current(lookup, number)?) {
            if agent || participant(ticket.number)? {
                return Ok(Thread::Existing {
                    ticket,
                    via: Via::Header,
                });
            }
            linked_to.get_or_insert(ticket.number);
        }
    }
    if let Some(root) = &msg.thread_root {
        if let Some(number) = lookup.ticket_by_thread_root(desk, root)? {
            if let Some(ticket) = ours(current(lookup, number)?) {
                if participant(ticket.number)? {
                    return Ok(Thread::Existing {
                        ticket,
                        via: Via::ThreadIndex,
                    });
                }
            }
        }
    }
    if let Some(number) = tags.find(&msg.subject) {
        // A tag with our prefix but an unknown number (or another desk's) is no tag.
        if let Some(ticket) = ours(current(lookup, number)?) {
            if participant(ticket.number)? {
                return Ok(Thread::Existing {
                    ticket,
                    via: Via::SubjectTag,
                });
            }
            return Ok(Thread::New {
                linked_to: Some(ticket.number),
            });
        }
    }
    for number in tags.find_in_text(&msg.text) {
        if let Some(ticket) = ours(current(lookup, number)?) {
            if participant(ticket.number)? {
                return Ok(Thread::Existing {
                    ticket,
                    via: Via::BodyTag,
                });
            }
        }
    }
    Ok(Thread::New { linked_to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::pipeline::memory::MemoryLookup;

    fn fake() -> MemoryLookup {
        let mut f = MemoryLookup::default();
        f.tickets.insert(
            42,
            TicketRef {
                number: 42,
                desk: "soporte".into(),
                status: Status::Open,
                closed_at: None,
                merged_into: None,
            },
        );
        f.ids.insert("c1@cliente.test".into(), 42);
        f.participants.push((42, "ana@cliente.test".into()));
        f
    }

    fn run(f: &MemoryLookup, raw: &str) -> Thread {
        let msg = crate::mail::parse(raw.as_bytes()).unwrap();
        resolve(
            f,
            "soporte",
            &TagMatcher::new("SOP"),
            &Signer::new(b"k"),
            &msg,
            &[],
            false,
        )
        .unwrap()
    }

    #[test]
    fn header_reference_wins_even_without_tag() {
        let t = run(&fake(), "From: ana@cliente.test\r\nIn-Reply-To: <c1@cliente.test>\r\nSubject: RE: hola\r\n\r\nb");
        assert!(matches!(
            t,
            Thread::Existing {
                via: Via::Header,
                ..
            }
        ));
        // Only References, as Outlook mobile sends.
        let t = run(
            &fake(),
            "From: ana@cliente.test\r\nReferences: <zz@x> <c1@cliente.test>\r\nSubject: x\r\n\r\nb",
        );
        assert!(matches!(
            t,
            Thread::Existing {
                via: Via::Header,
                ..
            }
        ));
    }

    #[test]
    fn a_stored_message_id_joins_nobody_who_is_not_a_participant() {
        // A stranger who learnt the id of a customer's mail gets a new
        // ticket, linked for the agents to see.
        let t = run(
            &fake(),
            "From: x@otro.test\r\nIn-Reply-To: <c1@cliente.test>\r\nSubject: RE: hola\r\n\r\nb",
        );
        assert_eq!(
            t,
            Thread::New {
                linked_to: Some(42)
            }
        );
    }

    #[test]
    fn signed_header_works_without_stored_message() {
        let f = fake();
        let id = Signer::new(b"k").new_id(42, "example.test");
        let t = run(
            &f,
            &format!("From: ana@cliente.test\r\nIn-Reply-To: <{id}>\r\nSubject: x\r\n\r\nb"),
        );
        assert!(matches!(
            t,
            Thread::Existing {
                via: Via::SignedHeader,
                ..
            }
        ));
        // Signed by another key: not ours, falls through to a new ticket.
        let id = Signer::new(b"other").new_id(42, "example.test");
        let t = run(
            &f,
            &format!("From: ana@cliente.test\r\nIn-Reply-To: <{id}>\r\nSubject: x\r\n\r\nb"),
        );
        assert_eq!(t, Thread::New { linked_to: None });
    }

    #[test]
    fn body_tag_and_thread_index_need_a_participant() {
        let mut f = fake();
        f.roots
            .insert("AdtPq3xk2Vv7yQmHSuOQk8gq0cYh1A==".into(), 42);
        let t = run(&f, "From: ana@cliente.test\r\nSubject: otra cosa\r\n\r\nSigue igual mi caso SOP-42, gracias");
        assert!(
            matches!(
                t,
                Thread::Existing {
                    via: Via::BodyTag,
                    ..
                }
            ),
            "{t:?}"
        );
        let t = run(
            &f,
            "From: eve@cliente.test\r\nSubject: otra cosa\r\n\r\nSigue igual mi caso SOP-42",
        );
        assert_eq!(
            t,
            Thread::New { linked_to: None },
            "a stranger's body tag is ignored"
        );
        let t = run(
            &f,
            "From: ana@cliente.test\r\nSubject: x\r\n\r\nsopa-42 y SOP-4200 no son el caso",
        );
        assert_eq!(t, Thread::New { linked_to: None });
        let idx = "Thread-Index: AdtPq3xk2Vv7yQmHSuOQk8gq0cYh1AAAAAAAAA==\r\n";
        let t = run(
            &f,
            &format!("From: ana@cliente.test\r\n{idx}Subject: x\r\n\r\nb"),
        );
        assert!(
            matches!(
                t,
                Thread::Existing {
                    via: Via::ThreadIndex,
                    ..
                }
            ),
            "{t:?}"
        );
        let t = run(
            &f,
            &format!("From: eve@cliente.test\r\n{idx}Subject: x\r\n\r\nb"),
        );
        assert_eq!(t, Thread::New { linked_to: None });
    }

    #[test]
    fn subject_tag_joins_only_participants() {
        let f = fake();
        let t = run(
            &f,
            "From: Ana <ANA@cliente.test>\r\nSubject: RV: [SOP-42] hola\r\n\r\nb",
        );
        assert!(matches!(
            t,
            Thread::Existing {
                via: Via::SubjectTag,
                ..
            }
        ));
        let t = run(
            &f,
            "From: eve@cliente.test\r\nSubject: RE: [SOP-42] hola\r\n\r\nb",
        );
        assert_eq!(
            t,
            Thread::New {
                linked_to: Some(42)
            }
        );
        let t = run(
            &f,
            "From: ana@cliente.test\r\nSubject: RE: [SOP-999] hola\r\n\r\nb",
        );
        assert_eq!(t, Thread::New { linked_to: None });
    }
}
