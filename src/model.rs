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
    /// An agent's mail (relayed to the customer, written to them directly,
    /// or from an unverified sender and relayed to no one).
    Agent,
    /// An internal note: never reaches the customer.
    Note,
    /// Our notification to the agents.
    Notification,
    /// Our relay of an agent's answer to the customer.
    Relay,
    /// Our report to an agent about commands we did not understand.
    Report,
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
            MessageKind::Note => "note",
            MessageKind::Notification => "notification",
            MessageKind::Relay => "relay",
            MessageKind::Report => "report",
        }
    }

    /// The kind stored as `s` (see [`MessageKind::as_str`]).
    pub fn parse(s: &str) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every kind.
    pub const ALL: [MessageKind; 11] = [
        MessageKind::Customer,
        MessageKind::AutoReply,
        MessageKind::Bounce,
        MessageKind::List,
        MessageKind::Own,
        MessageKind::Ack,
        MessageKind::Agent,
        MessageKind::Note,
        MessageKind::Notification,
        MessageKind::Relay,
        MessageKind::Report,
    ];
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
}
