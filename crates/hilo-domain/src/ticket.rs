//! Tickets as the layers above the store see them, and [`Lookup`], the
//! read-only view of stored tickets that threading and the decision use
//! (implemented by the store's transaction, faked in memory by tests).

use chrono::{DateTime, Utc};

use crate::{EventKind, Mailbox, MessageKind, Priority, Status};

/// The little the threader and the decision need to know about a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub number: i64,
    pub desk: String,
    pub status: Status,
    /// When it was last closed, for the reopen policy.
    pub closed_at: Option<DateTime<Utc>>,
    /// The ticket it was merged into: mail for it goes there.
    pub merged_into: Option<i64>,
}

/// A requester's ticket that is not resolved or closed (nor merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTicket {
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The new text of its first customer message, at most
    /// [`OPEN_TICKET_TEXT`] characters.
    pub text: String,
}

/// Characters of an open ticket's first message compared with a new mail.
pub const OPEN_TICKET_TEXT: usize = 4000;
/// Open tickets of one requester looked at, the most recent first.
pub const MAX_OPEN_TICKETS: usize = 20;

/// The customer's message an agent's reply answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The stored message's row.
    pub message: i64,
    pub author: Mailbox,
    pub message_id: Option<String>,
}

/// An agent's answer that was not sent, stored as `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAnswer {
    pub message: i64,
    /// Its new text, commands included.
    pub text: String,
}

/// Read access to stored tickets, for `thread` and `decide`; implemented by
/// the store's transaction, faked in memory by unit tests.
pub trait Lookup {
    type Error;
    fn ticket(&self, number: i64) -> Result<Option<TicketRef>, Self::Error>;
    /// The ticket of the most recent stored message (of this desk) with one of these Message-IDs.
    fn ticket_by_message_ids(&self, desk: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error>;
    /// For each of these Message-IDs stored on a ticket of this desk, the
    /// ticket its most recent such message is on now (merges and splits
    /// move messages).
    fn message_tickets(
        &self,
        desk: &str,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, i64>, Self::Error>;
    fn is_participant(&self, number: i64, address: &str) -> Result<bool, Self::Error>;
    /// The ticket of the most recent stored message of this Outlook conversation.
    fn ticket_by_thread_root(&self, desk: &str, root: &str) -> Result<Option<i64>, Self::Error>;
    /// The recipients of our mail to the agents of `ticket` (a
    /// notification or a report) with this Message-ID; `None` if we sent
    /// no such mail.
    fn agent_mail_recipients(
        &self,
        ticket: i64,
        message_id: &str,
    ) -> Result<Option<Vec<String>>, Self::Error>;
    /// The recipients of our daily digest with this Message-ID; `None` if
    /// we sent no such digest.
    fn digest_recipients(&self, message_id: &str) -> Result<Option<Vec<String>>, Self::Error>;
    /// The addresses the ticket's customer-facing mail goes to: the
    /// requester and the Cc participants.
    fn customer_addresses(&self, ticket: i64) -> Result<Vec<String>, Self::Error>;
    /// Mails of `kind` that `desk` queued because of the person with rate
    /// key `key` (`rate_key`) since `since`.
    fn caused_since(
        &self,
        desk: &str,
        kind: MessageKind,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, Self::Error>;
    /// Relays queued on `ticket` since `since` (the loop breaker).
    fn relays_since(&self, ticket: i64, since: DateTime<Utc>) -> Result<u32, Self::Error>;
    /// Did an event of `kind` happen on `ticket` since `since`?
    fn event_since(
        &self,
        ticket: i64,
        kind: EventKind,
        since: DateTime<Utc>,
    ) -> Result<bool, Self::Error>;
    /// How many Cc participants `ticket` has.
    fn cc_participants(&self, ticket: i64) -> Result<u32, Self::Error>;
    /// The Message-IDs of `ticket`'s acknowledgements that carried
    /// knowledge-file answers.
    fn faq_acks(&self, ticket: i64) -> Result<Vec<String>, Self::Error>;
    /// The answer not sent that our notice with one of `ids` (on `ticket`)
    /// is about, unless it was sent since.
    fn held_answer(&self, ticket: i64, ids: &[&str]) -> Result<Option<HeldAnswer>, Self::Error>;
    /// Has `address` opened a ticket on `desk` before?
    fn wrote_before(&self, desk: &str, address: &str) -> Result<bool, Self::Error>;
    /// Acknowledgements with knowledge-file answers that `desk` queued
    /// because of the person with rate key `key` since `since`.
    fn faq_acks_caused_since(
        &self,
        desk: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, Self::Error>;
    /// The tickets of `desk` whose requester is `address` and that are new,
    /// open or pending (not merged): at most [`MAX_OPEN_TICKETS`], the
    /// most recent first.
    fn open_tickets(&self, desk: &str, address: &str) -> Result<Vec<OpenTicket>, Self::Error>;
    /// The received message of `ticket` that a reply referring to `ids`
    /// (most specific first) answers: the first id naming a customer's
    /// message, or our notification about one.
    fn answered(&self, ticket: i64, ids: &[&str]) -> Result<Option<Answered>, Self::Error>;
}

/// One of a requester's open tickets, with its similarity to a new mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    /// Jaccard's index of the stems of subject and text (see
    /// `text`), in thousandths.
    pub score: u32,
}

/// Open tickets listed in an acknowledgement or notification, at most.
pub const MAX_RELATED: usize = 5;

/// A ticket as relays and notifications see it.
#[derive(Debug, Clone)]
pub struct TicketInfo {
    pub number: i64,
    /// The desk address its customer wrote to; `None` for tickets of
    /// before hilo remembered it (see [`TicketInfo::answers_from`]).
    pub address: Option<String>,
    pub subject: String,
    pub requester: Mailbox,
    pub status: Status,
    pub priority: Priority,
    pub assignee: Option<String>,
    /// Cc participants' addresses.
    pub cc: Vec<String>,
    /// Addresses in Cc of an unverified first mail, from outside the
    /// requester's domain: they get nothing until an agent adds them.
    pub pending: Vec<String>,
    pub last_customer_id: Option<String>,
    /// The References of mail to the customer: the thread's root, then
    /// its most recent customer-facing ids (at most 2 + the store's `THREAD_RECENT`).
    pub thread_refs: Vec<String>,
    /// Our notifications on this ticket, oldest first (at most the last 20).
    pub notifications: Vec<String>,
}

impl TicketInfo {
    /// The address all mail about the ticket goes from: the one its
    /// customer wrote to when `may_answer` allows it, else `main` (the
    /// desk's main address).
    pub fn answers_from<'a>(&'a self, main: &'a str, may_answer: impl Fn(&str) -> bool) -> &'a str {
        // Never the comment address or another special one, even when an
        // older hilo stored it.
        self.address
            .as_deref()
            .filter(|a| may_answer(a))
            .unwrap_or(main)
    }
}

/// Why a merge, an unmerge or a split is not done: a value the caller
/// reports (to the agent, on the command line), never an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no ticket {0}")]
    NoSuchTicket(i64),
    #[error("ticket {0} cannot be merged into itself")]
    SameTicket(i64),
    #[error("ticket {from} is of desk {from_desk} and {into} of desk {into_desk}: only tickets of one desk merge")]
    OtherDesk {
        from: i64,
        from_desk: String,
        into: i64,
        into_desk: String,
    },
    #[error("ticket {from} is already merged into {into}")]
    AlreadyMerged { from: i64, into: i64 },
    #[error("ticket {ticket} was merged into {into}: merge into {into}")]
    TargetMerged { ticket: i64, into: i64 },
    #[error("ticket {0} is not merged")]
    NotMerged(i64),
    #[error("ticket {ticket} is merged into {into}")]
    SplitOfMerged { ticket: i64, into: i64 },
    #[error("message {message} is not on ticket {ticket}")]
    NotOnTicket { message: i64, ticket: i64 },
    #[error("message {0} is not a customer's: split at the customer's message that starts the new topic")]
    NotCustomers(i64),
    #[error("message {message} is ticket {ticket}'s first: nothing would be left")]
    FirstMessage { message: i64, ticket: i64 },
    #[error(
        "{address} is not a Cc participant of ticket {ticket} (the requester and agents stay)"
    )]
    NotAParticipant { ticket: i64, address: String },
}

/// The one rule of what may merge: two tickets of one desk, neither
/// merged already. The decision plans by it, and the store holds to it
/// again inside the transaction that merges.
pub fn may_merge(from: &TicketRef, into: &TicketRef) -> Result<(), Refusal> {
    if from.number == into.number {
        return Err(Refusal::SameTicket(from.number));
    }
    if from.desk != into.desk {
        return Err(Refusal::OtherDesk {
            from: from.number,
            from_desk: from.desk.clone(),
            into: into.number,
            into_desk: into.desk.clone(),
        });
    }
    if let Some(m) = from.merged_into {
        return Err(Refusal::AlreadyMerged {
            from: from.number,
            into: m,
        });
    }
    if let Some(m) = into.merged_into {
        return Err(Refusal::TargetMerged {
            ticket: into.number,
            into: m,
        });
    }
    Ok(())
}
