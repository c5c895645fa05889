//! Received mail, one way: [`parse`] → [`classify`] → [`thread`] →
//! [`decide`] → [`apply`], for a batch in one store transaction ([`batch`]).
//! Shared by the IMAP watcher, `hilo ingest` and `hilo import`.
//!
//! `classify`, `thread` and `decide` are plain functions over values; what
//! they need to know of stored tickets they read through [`Lookup`], which
//! the store's transaction implements and unit tests fake in memory. Only
//! `apply` writes, and only what the [`decide::Plan`] says.

pub mod agent;
pub mod apply;
pub mod batch;
pub mod classify;
pub mod commands;
pub mod decide;
pub mod memory;
pub mod parse;
pub mod settings;
pub mod thread;

pub use batch::Intake;
pub use parse::parse_all;
pub use settings::DeskRuntime;

use chrono::{DateTime, Utc};

use crate::model::{MessageKind, Status};

/// One received message, as fetched.
#[derive(Debug, Clone)]
pub struct Received {
    pub uid: Option<u32>,
    pub raw: Vec<u8>,
    /// Old mail being imported: tickets, but no acknowledgements.
    pub backlog: bool,
    /// Why `raw` is not the whole message (e.g. only the headers of an
    /// oversized one); recorded with it.
    pub note: Option<String>,
}

impl Received {
    pub fn new(uid: Option<u32>, raw: Vec<u8>) -> Received {
        Received {
            uid,
            raw,
            backlog: false,
            note: None,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Opened {
        ticket: i64,
        acknowledged: bool,
    },
    Appended {
        ticket: i64,
    },
    SetAside {
        kind: &'static str,
        reason: &'static str,
    },
    Duplicate,
    Quarantined {
        id: i64,
        reason: String,
    },
}

/// Counts of outcomes, for logs and summaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub fetched: usize,
    pub opened: usize,
    pub appended: usize,
    pub set_aside: usize,
    pub duplicates: usize,
    pub quarantined: usize,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        self.fetched += 1;
        match o {
            Outcome::Opened { .. } => self.opened += 1,
            Outcome::Appended { .. } => self.appended += 1,
            Outcome::SetAside { .. } => self.set_aside += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fetched, {} new tickets, {} added to tickets, {} set aside, {} already stored, {} quarantined",
            self.fetched, self.opened, self.appended, self.set_aside, self.duplicates, self.quarantined
        )
    }
}

/// The little the threader and the decision need to know about a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub number: i64,
    pub desk: String,
    pub status: Status,
    /// When it was last closed (stored timestamp), for the reopen policy.
    pub closed_at: Option<String>,
    /// The ticket it was merged into: mail for it goes there.
    pub merged_into: Option<i64>,
}

/// A requester's ticket that is not resolved or closed (nor merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTicket {
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub created_at: String,
    pub updated_at: String,
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
    pub author: crate::mail::Mailbox,
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
    /// The addresses the ticket's customer-facing mail goes to: the
    /// requester and the Cc participants.
    fn customer_addresses(&self, ticket: i64) -> Result<Vec<String>, Self::Error>;
    /// Mails of `kind` that `desk` queued because of the person with rate
    /// key `key` ([`crate::mail::rate_key`]) since `since`.
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
        kind: &str,
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
