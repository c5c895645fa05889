//! Which ticket a message belongs to: our signed Message-IDs and stored
//! Message-IDs in In-Reply-To/References first, then the desk's tag in the
//! subject, else a new ticket.
//!
//! A subject tag is easy to guess, so it only joins a ticket when the sender
//! is already one of its participants; a stranger gets a new ticket linked to
//! the one they named, and sees nothing of it.

use crate::mail::msgid::Signer;
use crate::mail::subject::TagMatcher;
use crate::mail::Inbound;
use crate::model::Status;

/// The little the threader needs to know about an existing ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub number: i64,
    pub desk: String,
    pub status: Status,
}

/// Read access to stored tickets; implemented by the store's transaction.
pub trait Lookup {
    type Error;
    fn ticket(&self, number: i64) -> Result<Option<TicketRef>, Self::Error>;
    /// The ticket of the most recent stored message (of this desk) with one of these Message-IDs.
    fn ticket_by_message_ids(&self, desk: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error>;
    fn is_participant(&self, number: i64, address: &str) -> Result<bool, Self::Error>;
}

/// How the ticket was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// In-Reply-To/References names one of our signed Message-IDs.
    SignedHeader,
    /// In-Reply-To/References names a stored message of the ticket.
    Header,
    /// The desk's tag in the subject, from a participant.
    SubjectTag,
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

pub fn resolve<L: Lookup>(
    lookup: &L,
    desk: &str,
    tags: &TagMatcher,
    signer: &Signer,
    msg: &Inbound,
) -> Result<Thread, L::Error> {
    let ids = msg.referenced_ids();

    for id in &ids {
        if let Some(number) = signer.verify(id) {
            if let Some(t) = lookup.ticket(number)? {
                if t.desk == desk {
                    return Ok(Thread::Existing {
                        ticket: t,
                        via: Via::SignedHeader,
                    });
                }
            }
        }
    }
    if !ids.is_empty() {
        if let Some(number) = lookup.ticket_by_message_ids(desk, &ids)? {
            if let Some(t) = lookup.ticket(number)? {
                return Ok(Thread::Existing {
                    ticket: t,
                    via: Via::Header,
                });
            }
        }
    }

    if let Some(number) = tags.find(&msg.subject) {
        // A tag with our prefix but an unknown number (or another desk's) is no tag.
        if let Some(t) = lookup.ticket(number)?.filter(|t| t.desk == desk) {
            if lookup.is_participant(number, &msg.from.address)? {
                return Ok(Thread::Existing {
                    ticket: t,
                    via: Via::SubjectTag,
                });
            }
            return Ok(Thread::New {
                linked_to: Some(number),
            });
        }
    }
    Ok(Thread::New { linked_to: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An in-memory lookup: the unit-test fake of the store.
    #[derive(Default)]
    struct Fake {
        tickets: HashMap<i64, TicketRef>,
        ids: HashMap<String, i64>,
        participants: Vec<(i64, String)>,
    }

    impl Lookup for Fake {
        type Error = std::convert::Infallible;
        fn ticket(&self, n: i64) -> Result<Option<TicketRef>, Self::Error> {
            Ok(self.tickets.get(&n).cloned())
        }
        fn ticket_by_message_ids(&self, _: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error> {
            Ok(ids.iter().find_map(|i| self.ids.get(*i).copied()))
        }
        fn is_participant(&self, n: i64, a: &str) -> Result<bool, Self::Error> {
            Ok(self.participants.iter().any(|(t, p)| *t == n && p == a))
        }
    }

    fn fake() -> Fake {
        let mut f = Fake::default();
        f.tickets.insert(
            42,
            TicketRef {
                number: 42,
                desk: "soporte".into(),
                status: Status::Open,
            },
        );
        f.ids.insert("c1@cliente.test".into(), 42);
        f.participants.push((42, "ana@cliente.test".into()));
        f
    }

    fn run(f: &Fake, raw: &str) -> Thread {
        let msg = crate::mail::parse(raw.as_bytes()).unwrap();
        resolve(
            f,
            "soporte",
            &TagMatcher::new("SOP"),
            &Signer::new(b"k"),
            &msg,
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
            "From: x@otro.test\r\nReferences: <zz@x> <c1@cliente.test>\r\nSubject: x\r\n\r\nb",
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
