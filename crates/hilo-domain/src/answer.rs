//! An agent's answer as the decision plans it and outgoing mail words it.

use crate::{Answered, Priority, Status};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub ticket: i64,
    /// An internal note (`#nota`, or sent to the comment address): kept
    /// for the agents, sent to no one.
    pub internal: bool,
    /// Recorded with the message.
    pub note: Option<&'static str>,
    pub assign: Option<String>,
    pub priority: Option<Priority>,
    pub status: Option<Status>,
    /// The text relayed to the customer from the support address.
    pub relay: Option<String>,
    /// Set when the loop breaker held back the relay: why, and whether to
    /// alert the agents (once per window).
    pub held: Option<Held>,
    /// Cc participants the agent adds (`#añadir`) and removes (`#quitar`).
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// Command lines not understood, reported back to the agent.
    pub unknown: Vec<String>,
    /// The customer's message answered, whose author the relay is
    /// addressed to (the requester when unknown).
    pub answering: Option<Answered>,
    /// The answered author is not a participant yet: they join as Cc.
    pub join: bool,
    /// Relayed below the answer: the agent's signature, or the desk's.
    pub signature: Option<String>,
    /// The reply carried commands: tell the agent what was done.
    pub confirm: bool,
    /// `#fusionar`: merge the ticket into this one first (the answer, if
    /// any, is then recorded and relayed there).
    pub merge_into: Option<i64>,
    /// `#separar`: split this message (the customer's message answered)
    /// and its sub-thread off into a new ticket first; the answer goes there.
    pub split: Option<i64>,
    /// `#recordar 2d`: remind the agent at this instant.
    pub remind: Option<chrono::DateTime<chrono::Utc>>,
    /// Commands refused, and why (reported to the agent).
    pub refused: Vec<String>,
    /// Whether the agent hears that the answer was not sent (loop breaker).
    pub notice: Notice,
    /// `#enviar`: the held answer (stored message) relayed now.
    pub release: Option<i64>,
    /// The relay goes to these addresses only: the participants the agent
    /// left out of a group reply (empty: to everyone).
    pub only: Vec<String>,
    /// The participants the agent wrote to directly.
    pub direct_to: Vec<String>,
}

/// Whether an agent hears that their answer was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// No: old mail being imported, or nothing was held.
    No,
    /// Yes, with why; a reply `#enviar` sends the answer.
    Send(Unheard),
    /// The notice limit for that address is reached: an event says why.
    Limited { why: String },
}

/// Why an agent's answer was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unheard {
    /// Nothing proves the agent wrote it: it answers no notification sent
    /// to that address (or to a `notify_lists` list), and our server's
    /// verdict does not prove it either.
    NoProof,
    /// The loop breaker held it.
    LoopBreaker,
}

/// A relay the loop breaker held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub why: String,
    /// The first hold in the window: tell the agents.
    pub alert: bool,
}
