//! The vocabulary stored as text: each enum has one mapping to the text
//! of its column ([`stored_text!`]), so a state never travels as a string
//! literal and every stored value round-trips.

use serde::Serialize;

/// A value stored as text, through one mapping.
pub trait StoredText: Sized + Copy + 'static {
    /// The type's name, for errors about stored text it does not know.
    const NAME: &'static str;
    fn as_text(self) -> &'static str;
    fn from_text(s: &str) -> Option<Self>;
}

/// An enum whose values are stored as text: `ALL`, `as_str`, `parse`,
/// [`StoredText`] and `Display` from one table of variant = "text" pairs.
#[macro_export]
macro_rules! stored_text {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            /// The value stored as `s`.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
        }

        impl $crate::model::StoredText for $name {
            const NAME: &'static str = stringify!($name);
            fn as_text(self) -> &'static str {
                self.as_str()
            }
            fn from_text(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_text! {
    /// A ticket's lifecycle state.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Status {
        New = "new",
        Open = "open",
        Pending = "pending",
        Resolved = "resolved",
        Closed = "closed",
    }
}

stored_text! {
    /// What a stored message is, as recorded in `messages.kind`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MessageKind {
        /// A person's mail to the desk.
        Customer = "customer",
        AutoReply = "auto_reply",
        Bounce = "bounce",
        List = "list",
        /// Mail from one of our own addresses or carrying our loop marker.
        Own = "own",
        /// Our acknowledgement of a new ticket.
        Ack = "ack",
        /// An agent's proven mail (relayed to the customer, or written to them
        /// directly).
        Agent = "agent",
        /// Mail from an agent's address without proof that the agent wrote it:
        /// recorded on the ticket for the agents to see, relayed to no one, and
        /// never a threading key.
        Unverified = "unverified",
        /// An internal note: never reaches the customer.
        Note = "note",
        /// Our notification to the agents.
        Notification = "notification",
        /// Our relay of an agent's answer to the customer.
        Relay = "relay",
        /// Our report to an agent on the commands of their reply: what was
        /// done, and what was not understood.
        Report = "report",
        /// Our word to a customer that their mail written outside the thread
        /// (naming the ticket in the subject or text) was added to the ticket.
        Receipt = "receipt",
        /// Our reminder to a customer while their ticket waits on them, and
        /// our word that it closed for want of an answer.
        Reminder = "reminder",
        /// The daily digest of a desk's work, to its agents; on no ticket.
        Digest = "digest",
        /// Our alert to a desk's admins about the desk's own trouble (a login
        /// that stopped working); on no ticket.
        Alert = "alert",
        /// Our word to an agent that their answer was not sent (no proof it
        /// was theirs, the loop breaker), with how to send it (`#enviar`).
        Notice = "notice",
    }
}

stored_text! {
    /// Where an outgoing mail stands, as recorded in `outbox.status`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum OutboxStatus {
        /// Waiting to be sent (claimed or not), or waiting for its next attempt.
        Pending = "pending",
        /// Handed over to the relay.
        Sent = "sent",
        /// Refused for good, expired, or could not be composed.
        Failed = "failed",
        /// A bounce reported it undelivered.
        Undeliverable = "undeliverable",
    }
}

impl OutboxStatus {
    /// The outbox's state machine: a pending row is sent, retried (stays
    /// pending), fails or bounces; a sent row can only bounce; failed and
    /// undeliverable rows are final. The store's updates are guarded by
    /// this table, so no write can move a row any other way.
    pub fn may_become(self, next: OutboxStatus) -> bool {
        use OutboxStatus::*;
        matches!(
            (self, next),
            (Pending, Pending | Sent | Failed | Undeliverable) | (Sent, Undeliverable)
        )
    }
}

stored_text! {
    /// Direction of a stored message.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Direction {
        In = "in",
        Out = "out",
    }
}

stored_text! {
    /// How a person takes part in a ticket (`participants.role`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Role {
        /// Wrote the first message; answers go to them.
        Requester = "requester",
        /// Copied on the ticket's customer-facing mail.
        Cc = "cc",
        Agent = "agent",
        /// In Cc of an unverified first mail from outside the requester's
        /// domain: gets nothing until an agent adds them.
        Pending = "pending",
    }
}

impl Role {
    /// Whether this person gets the ticket's customer-facing mail.
    pub fn hears(self) -> bool {
        matches!(self, Role::Requester | Role::Cc)
    }
}

stored_text! {
    /// A ticket's priority (`tickets.priority`), stored in English.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
    #[serde(rename_all = "lowercase")]
    pub enum Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_kinds_round_trip() {
        for &k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
        for &r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for &p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert_eq!(MessageKind::parse("nope"), None);
    }

    #[test]
    fn outbox_rows_move_only_forward() {
        use OutboxStatus::*;
        for &s in OutboxStatus::ALL {
            assert_eq!(OutboxStatus::parse(s.as_str()), Some(s));
        }
        assert!(Pending.may_become(Pending), "a retry");
        assert!(Sent.may_become(Undeliverable), "a bounce after sending");
        for done in [Failed, Undeliverable] {
            assert!(OutboxStatus::ALL.iter().all(|n| !done.may_become(*n)));
        }
        assert!(!Sent.may_become(Pending) && !Sent.may_become(Failed));
    }
}
