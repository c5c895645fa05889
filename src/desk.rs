//! The decision for one message, as data: open a ticket (and maybe
//! acknowledge it), add to a ticket, or set aside. Pure; the intake applies it.

use chrono::{DateTime, Utc};

use crate::classify::Classification;
use crate::model::{MessageKind, Status};
use crate::thread::{Thread, TicketRef};

/// What to do with one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Open a ticket with this message; acknowledge it when `ack`.
    /// `linked_to` is a ticket it refers to; `closed_before` says that one
    /// was closed too long ago to reopen (the acknowledgement says so).
    Open {
        linked_to: Option<i64>,
        ack: bool,
        closed_before: bool,
    },
    /// Record the message on an existing ticket, moving it to `status` if set.
    Append { ticket: i64, status: Option<Status> },
    /// Store the message without a ticket (machines that match nothing).
    SetAside { reason: &'static str },
}

/// The desk's rules that decisions depend on.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A closed ticket reopens on a customer reply within this long.
    pub reopen_after_close: std::time::Duration,
    pub now: DateTime<Utc>,
}

pub fn decide(class: &Classification, thread: &Thread, policy: &Policy) -> Plan {
    match (class.kind, thread) {
        (MessageKind::Customer, Thread::New { linked_to }) => Plan::Open {
            linked_to: *linked_to,
            ack: class.may_autoreply,
            closed_before: false,
        },
        (MessageKind::Customer, Thread::Existing { ticket, .. }) => {
            if ticket.status == Status::Closed && !reopenable(ticket, policy) {
                return Plan::Open {
                    linked_to: Some(ticket.number),
                    ack: class.may_autoreply,
                    closed_before: true,
                };
            }
            Plan::Append {
                ticket: ticket.number,
                status: customer_reply_status(ticket),
            }
        }
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

fn reopenable(t: &TicketRef, policy: &Policy) -> bool {
    let Some(closed) = t
        .closed_at
        .as_deref()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
    else {
        return true; // closed before hilo recorded when: give the customer the benefit
    };
    let age = policy.now.signed_duration_since(closed.with_timezone(&Utc));
    age.to_std()
        .map_or(true, |a| a <= policy.reopen_after_close)
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
        existing_closed(status, None)
    }

    fn existing_closed(status: Status, closed_at: Option<&str>) -> Thread {
        Thread::Existing {
            ticket: TicketRef {
                number: 5,
                desk: "d".into(),
                status,
                closed_at: closed_at.map(str::to_string),
            },
            via: crate::thread::Via::Header,
        }
    }

    fn policy() -> Policy {
        Policy {
            reopen_after_close: std::time::Duration::from_secs(30 * 86_400),
            now: DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn closed_tickets_reopen_only_within_the_window() {
        let c = class(MessageKind::Customer, true);
        let recent = existing_closed(Status::Closed, Some("2026-11-20T12:00:00.000Z"));
        assert_eq!(
            decide(&c, &recent, &policy()),
            Plan::Append {
                ticket: 5,
                status: Some(Status::Open)
            }
        );
        let old = existing_closed(Status::Closed, Some("2026-09-01T12:00:00.000Z"));
        assert_eq!(
            decide(&c, &old, &policy()),
            Plan::Open {
                linked_to: Some(5),
                ack: true,
                closed_before: true
            }
        );
        // An out-of-office to an old closed ticket is just recorded.
        let ooo = class(MessageKind::AutoReply, false);
        assert_eq!(
            decide(&ooo, &old, &policy()),
            Plan::Append {
                ticket: 5,
                status: None
            }
        );
    }

    #[test]
    fn machines_never_open_tickets() {
        for k in [
            MessageKind::AutoReply,
            MessageKind::Bounce,
            MessageKind::List,
            MessageKind::Own,
        ] {
            let p = decide(
                &class(k, false),
                &Thread::New { linked_to: None },
                &policy(),
            );
            assert!(matches!(p, Plan::SetAside { .. }), "{k:?}");
            let p = decide(&class(k, false), &existing(Status::Closed), &policy());
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
        let cust = |may| class(MessageKind::Customer, may);
        let p = decide(&cust(true), &Thread::New { linked_to: Some(3) }, &policy());
        let open = |linked_to, ack| Plan::Open {
            linked_to,
            ack,
            closed_before: false,
        };
        assert_eq!(p, open(Some(3), true));
        let p = decide(&cust(false), &Thread::New { linked_to: None }, &policy());
        assert_eq!(p, open(None, false));
        let p = decide(&cust(true), &existing(Status::Pending), &policy());
        assert_eq!(
            p,
            Plan::Append {
                ticket: 5,
                status: Some(Status::Open)
            }
        );
        let p = decide(&cust(true), &existing(Status::New), &policy());
        assert_eq!(
            p,
            Plan::Append {
                ticket: 5,
                status: None
            }
        );
    }
}
