//! What an administrator's action from the command line does, as data:
//! the same rules as an agent's mail (the signature of a relayed answer,
//! the status an answer leaves, who may be removed, what may merge), so
//! that `hilo tickets …` and `#cerrar` by mail cannot drift apart.
//! [`crate::pipeline::apply`] carries the act out.

use crate::config::DeskConfig;
use crate::mail::Mailbox;
use crate::model::{MessageKind, Status};
use hilo_domain::{Refusal, TicketInfo};

/// What an administrator asks for, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Close,
    Reopen,
    Assign(String),
    /// An internal note.
    Note(String),
    /// An answer to the customer: relayed like an agent's mail reply.
    Reply(String),
    /// A Cc participant added: they receive the answers from now on.
    AddParticipant(Mailbox),
    /// A Cc participant removed.
    RemoveParticipant(String),
    /// This ticket merged into `into`; nobody is mailed.
    Merge {
        into: i64,
    },
    /// The last merge of this ticket undone.
    Unmerge,
    /// `message` and its sub-thread split off into a new ticket.
    Split {
        message: i64,
    },
}

/// The plan for one action on one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Status(Status),
    Assign(String),
    /// Text the actor typed, kept on the ticket as a small mail of `kind`.
    Write {
        kind: MessageKind,
        body: String,
        /// Relayed to the requester and the participants, with this
        /// signature below (a note is relayed to no one).
        relay: Option<Relay>,
    },
    Add(Mailbox),
    Remove(String),
    Merge {
        into: i64,
    },
    Unmerge,
    Split {
        message: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    pub signature: Option<String>,
    /// The status the answer leaves the ticket in.
    pub then: Option<Status>,
}

/// The plan for `action` on `ticket` (`None`: there is no such ticket), or
/// why it is refused.
pub fn command_line(
    desk: &DeskConfig,
    number: i64,
    ticket: Option<&TicketInfo>,
    action: Action,
) -> Result<Act, Refusal> {
    let Some(t) = ticket else {
        return Err(Refusal::NoSuchTicket(number));
    };
    Ok(match action {
        Action::Close => Act::Status(Status::Closed),
        Action::Reopen => Act::Status(Status::Open),
        Action::Assign(a) => Act::Assign(a.trim().to_ascii_lowercase()),
        Action::Note(body) => Act::Write {
            kind: MessageKind::Note,
            body,
            relay: None,
        },
        Action::Reply(body) => Act::Write {
            kind: MessageKind::Agent,
            body,
            // The text typed is the whole answer: no signature of the
            // agent's, the desk's when the desk signs.
            relay: Some(Relay {
                signature: super::relay_signature(desk, None),
                then: super::answer_status(None, false),
            }),
        },
        Action::AddParticipant(p) => Act::Add(p),
        Action::RemoveParticipant(a) => {
            let a = a.trim().to_ascii_lowercase();
            if !t.cc.contains(&a) && !t.pending.contains(&a) {
                return Err(Refusal::NotAParticipant {
                    ticket: number,
                    address: a,
                });
            }
            Act::Remove(a)
        }
        Action::Merge { into } => Act::Merge { into },
        Action::Unmerge => Act::Unmerge,
        Action::Split { message } => Act::Split { message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Priority;

    fn desk(lines: &str) -> DeskConfig {
        let text = crate::config::test_config("x.db", lines);
        crate::config::Config::from_toml(&text, Vec::<(String, String)>::new())
            .unwrap()
            .desks
            .remove(0)
    }

    fn ticket() -> TicketInfo {
        TicketInfo {
            number: 7,
            address: None,
            subject: "s".into(),
            requester: Mailbox::new("ana@cliente.test", None),
            status: Status::Open,
            priority: Priority::Normal,
            assignee: None,
            cc: vec!["luis@cliente.test".into()],
            pending: vec!["eva@otra.test".into()],
            last_customer_id: None,
            thread_refs: Vec::new(),
            notifications: Vec::new(),
        }
    }

    #[test]
    fn an_answer_typed_at_the_command_line_follows_the_mail_rules() {
        let t = ticket();
        let reply = |d: &DeskConfig| command_line(d, 7, Some(&t), Action::Reply("Hola".into()));
        // The desk signs when it signs; the ticket then waits on the customer.
        let signed = desk("relay_signature = \"desk\"\nsignature = \"El equipo\"");
        let Ok(Act::Write {
            kind,
            relay: Some(r),
            ..
        }) = reply(&signed)
        else {
            panic!("{:?}", reply(&signed));
        };
        assert_eq!(kind, MessageKind::Agent);
        assert_eq!(r.signature.as_deref(), Some("El equipo"));
        assert_eq!(r.then, super::super::answer_status(None, false));
        assert_eq!(r.then, Some(Status::Pending));
        // The agent's own signature: none was typed.
        let Ok(Act::Write { relay: Some(r), .. }) = reply(&desk("")) else {
            panic!();
        };
        assert_eq!(r.signature, None);
        // A note is relayed to no one.
        let note = command_line(&desk(""), 7, Some(&t), Action::Note("interna".into()));
        assert!(matches!(
            note,
            Ok(Act::Write {
                kind: MessageKind::Note,
                relay: None,
                ..
            })
        ));
    }

    #[test]
    fn what_cannot_be_done_is_a_refusal() {
        let (d, t) = (desk(""), ticket());
        assert_eq!(
            command_line(&d, 8, None, Action::Close),
            Err(Refusal::NoSuchTicket(8))
        );
        // The requester stays; a Cc or a pending Cc may go.
        assert!(matches!(
            command_line(
                &d,
                7,
                Some(&t),
                Action::RemoveParticipant("Ana@cliente.test".into())
            ),
            Err(Refusal::NotAParticipant { ticket: 7, .. })
        ));
        for who in ["LUIS@cliente.test", "eva@otra.test"] {
            let act = command_line(&d, 7, Some(&t), Action::RemoveParticipant(who.into()));
            assert_eq!(act, Ok(Act::Remove(who.to_ascii_lowercase())));
        }
        assert_eq!(
            command_line(&d, 7, Some(&t), Action::Close),
            Ok(Act::Status(Status::Closed))
        );
    }
}
