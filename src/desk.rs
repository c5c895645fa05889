//! The decision for one message, as data: open a ticket (and maybe
//! acknowledge it), add to a ticket, or set aside. Pure; the intake applies it.

use crate::classify::Classification;
use crate::model::{MessageKind, Status};
use crate::thread::{Thread, TicketRef};

/// What to do with one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Open a ticket with this message; acknowledge it when `ack`.
    Open { linked_to: Option<i64>, ack: bool },
    /// Record the message on an existing ticket, moving it to `status` if set.
    Append { ticket: i64, status: Option<Status> },
    /// Store the message without a ticket (machines that match nothing).
    SetAside { reason: &'static str },
}

pub fn decide(class: &Classification, thread: &Thread) -> Plan {
    match (class.kind, thread) {
        (MessageKind::Customer, Thread::New { linked_to }) => Plan::Open {
            linked_to: *linked_to,
            ack: class.may_autoreply,
        },
        (MessageKind::Customer, Thread::Existing { ticket, .. }) => Plan::Append {
            ticket: ticket.number,
            status: customer_reply_status(ticket),
        },
        // Machines and our own mail are recorded where they belong, and change nothing.
        (_, Thread::Existing { ticket, .. }) => Plan::Append {
            ticket: ticket.number,
            status: None,
        },
        (_, Thread::New { .. }) => Plan::SetAside {
            reason: class.reason,
        },
    }
}

/// A customer writing again puts the ticket back in the agents' court.
fn customer_reply_status(t: &TicketRef) -> Option<Status> {
    match t.status {
        Status::New | Status::Open => None,
        Status::Pending | Status::Resolved | Status::Closed => Some(Status::Open),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(kind: MessageKind, may: bool) -> Classification {
        Classification {
            kind,
            may_autoreply: may,
            reason: "test",
        }
    }

    fn existing(status: Status) -> Thread {
        Thread::Existing {
            ticket: TicketRef {
                number: 5,
                desk: "d".into(),
                status,
            },
            via: crate::thread::Via::Header,
        }
    }

    #[test]
    fn machines_never_open_tickets() {
        for k in [
            MessageKind::AutoReply,
            MessageKind::Bounce,
            MessageKind::List,
            MessageKind::Own,
        ] {
            let p = decide(&class(k, false), &Thread::New { linked_to: None });
            assert!(matches!(p, Plan::SetAside { .. }), "{k:?}");
            let p = decide(&class(k, false), &existing(Status::Closed));
            assert_eq!(
                p,
                Plan::Append {
                    ticket: 5,
                    status: None
                },
                "{k:?}"
            );
        }
    }

    #[test]
    fn customers_open_or_reopen() {
        let p = decide(
            &class(MessageKind::Customer, true),
            &Thread::New { linked_to: Some(3) },
        );
        assert_eq!(
            p,
            Plan::Open {
                linked_to: Some(3),
                ack: true
            }
        );
        let p = decide(
            &class(MessageKind::Customer, false),
            &Thread::New { linked_to: None },
        );
        assert_eq!(
            p,
            Plan::Open {
                linked_to: None,
                ack: false
            }
        );
        let p = decide(
            &class(MessageKind::Customer, true),
            &existing(Status::Pending),
        );
        assert_eq!(
            p,
            Plan::Append {
                ticket: 5,
                status: Some(Status::Open)
            }
        );
        let p = decide(&class(MessageKind::Customer, true), &existing(Status::New));
        assert_eq!(
            p,
            Plan::Append {
                ticket: 5,
                status: None
            }
        );
    }
}
