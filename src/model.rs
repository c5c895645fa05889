//! Domain vocabulary shared by the pipeline stages and the store.

use serde::Serialize;

/// A ticket's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What a stored message is, as recorded in `messages.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A person's mail to the desk.
    Customer,
    AutoReply,
    Bounce,
    List,
    /// Mail from one of our own addresses or carrying our loop marker.
    Own,
    /// Our acknowledgement of a new ticket.
    Ack,
    /// An agent's proven mail (relayed to the customer, or written to them
    /// directly).
    Agent,
    /// Mail from an agent's address without proof that the agent wrote it:
    /// recorded on the ticket for the agents to see, relayed to no one, and
    /// never a threading key.
    Unverified,
    /// An internal note: never reaches the customer.
    Note,
    /// Our notification to the agents.
    Notification,
    /// Our relay of an agent's answer to the customer.
    Relay,
    /// Our report to an agent on the commands of their reply: what was
    /// done, and what was not understood.
    Report,
    /// Our word to a customer that their mail written outside the thread
    /// (naming the ticket in the subject or text) was added to the ticket.
    Receipt,
    /// Our alert to a desk's admins about the desk's own trouble (a login
    /// that stopped working); on no ticket.
    Alert,
    /// Our word to an agent that their answer was not sent (no proof it
    /// was theirs, the loop breaker), with how to send it (`#enviar`).
    Notice,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Customer => "customer",
            MessageKind::AutoReply => "auto_reply",
            MessageKind::Bounce => "bounce",
            MessageKind::List => "list",
            MessageKind::Own => "own",
            MessageKind::Ack => "ack",
            MessageKind::Agent => "agent",
            MessageKind::Unverified => "unverified",
            MessageKind::Note => "note",
            MessageKind::Notification => "notification",
            MessageKind::Relay => "relay",
            MessageKind::Report => "report",
            MessageKind::Receipt => "receipt",
            MessageKind::Alert => "alert",
            MessageKind::Notice => "notice",
        }
    }

    /// The kind stored as `s` (see [`MessageKind::as_str`]).
    pub fn parse(s: &str) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every kind.
    pub const ALL: [MessageKind; 15] = [
        MessageKind::Customer,
        MessageKind::AutoReply,
        MessageKind::Bounce,
        MessageKind::List,
        MessageKind::Own,
        MessageKind::Ack,
        MessageKind::Agent,
        MessageKind::Unverified,
        MessageKind::Note,
        MessageKind::Notification,
        MessageKind::Relay,
        MessageKind::Report,
        MessageKind::Receipt,
        MessageKind::Alert,
        MessageKind::Notice,
    ];
}

/// Where an outgoing mail stands, as recorded in `outbox.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// Waiting to be sent (claimed or not), or waiting for its next attempt.
    Pending,
    /// Handed over to the relay.
    Sent,
    /// Refused for good, expired, or could not be composed.
    Failed,
    /// A bounce reported it undelivered.
    Undeliverable,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 4] = [
        OutboxStatus::Pending,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Undeliverable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Undeliverable => "undeliverable",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

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

/// Direction of a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_kinds_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MessageKind::parse("nope"), None);
    }

    #[test]
    fn outbox_rows_move_only_forward() {
        use OutboxStatus::*;
        for s in OutboxStatus::ALL {
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
