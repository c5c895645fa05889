//! An in-memory [`Lookup`]: the stand-in for the store in unit tests,
//! benchmarks and the fuzzer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Answered, HeldAnswer, Lookup, OpenTicket, TicketRef};
use crate::model::MessageKind;
use hilo_domain::EventKind;

#[derive(Debug, Default)]
pub struct MemoryLookup {
    pub tickets: HashMap<i64, TicketRef>,
    /// Stored Message-ID → its ticket.
    pub ids: HashMap<String, i64>,
    pub participants: Vec<(i64, String)>,
    /// Outlook conversation → its ticket.
    pub roots: HashMap<String, i64>,
    /// (ticket, Message-ID, recipients) of our mail to the agents.
    pub to_agents: Vec<(i64, String, Vec<String>)>,
    /// (Message-ID, recipients) of our daily digests.
    pub digests: Vec<(String, Vec<String>)>,
    /// Ticket → requester and Cc addresses.
    pub customers: HashMap<i64, Vec<String>>,
    /// (kind, rate key, when) of mail already queued.
    pub caused: Vec<(MessageKind, String, DateTime<Utc>)>,
    /// (ticket, when) of relays already queued.
    pub relays: Vec<(i64, DateTime<Utc>)>,
    /// (ticket, kind, when) of events.
    pub events: Vec<(i64, EventKind, DateTime<Utc>)>,
    /// (ticket, Message-ID, what a reply to it answers).
    pub answered: Vec<(i64, String, Answered)>,
    /// Requester → their open tickets, most recent first.
    pub open: HashMap<String, Vec<OpenTicket>>,
    /// (ticket, Message-ID) of acknowledgements that carried answers.
    pub faq_acks: Vec<(i64, String)>,
    /// (rate key, when) of acknowledgements that carried answers.
    pub faq_caused: Vec<(String, DateTime<Utc>)>,
    /// Addresses that opened a ticket before.
    pub known: Vec<String>,
    /// (ticket, Message-ID of our notice, the answer it holds).
    pub held: Vec<(i64, String, HeldAnswer)>,
}

impl Lookup for MemoryLookup {
    type Error = std::convert::Infallible;
    fn ticket(&self, n: i64) -> Result<Option<TicketRef>, Self::Error> {
        Ok(self.tickets.get(&n).cloned())
    }
    fn ticket_by_message_ids(&self, _: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error> {
        Ok(ids.iter().find_map(|i| self.ids.get(*i).copied()))
    }
    fn message_tickets(&self, _: &str, ids: &[&str]) -> Result<HashMap<String, i64>, Self::Error> {
        Ok(ids
            .iter()
            .filter_map(|i| Some((i.to_string(), *self.ids.get(*i)?)))
            .collect())
    }
    fn is_participant(&self, n: i64, a: &str) -> Result<bool, Self::Error> {
        Ok(self.participants.iter().any(|(t, p)| *t == n && p == a))
    }
    fn ticket_by_thread_root(&self, _: &str, root: &str) -> Result<Option<i64>, Self::Error> {
        Ok(self.roots.get(root).copied())
    }
    fn agent_mail_recipients(
        &self,
        ticket: i64,
        id: &str,
    ) -> Result<Option<Vec<String>>, Self::Error> {
        Ok(self
            .to_agents
            .iter()
            .find(|(t, i, _)| *t == ticket && i == id)
            .map(|(_, _, r)| r.clone()))
    }
    fn digest_recipients(&self, id: &str) -> Result<Option<Vec<String>>, Self::Error> {
        Ok(self
            .digests
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r.clone()))
    }
    fn customer_addresses(&self, ticket: i64) -> Result<Vec<String>, Self::Error> {
        Ok(self.customers.get(&ticket).cloned().unwrap_or_default())
    }
    fn caused_since(
        &self,
        _: &str,
        kind: MessageKind,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, Self::Error> {
        Ok(self
            .caused
            .iter()
            .filter(|(k, x, t)| *k == kind && x == key && *t >= since)
            .count() as u32)
    }
    fn held_answer(&self, ticket: i64, ids: &[&str]) -> Result<Option<HeldAnswer>, Self::Error> {
        Ok(self
            .held
            .iter()
            .find(|(n, id, _)| *n == ticket && ids.contains(&id.as_str()))
            .map(|(_, _, h)| h.clone()))
    }
    fn wrote_before(&self, _: &str, address: &str) -> Result<bool, Self::Error> {
        Ok(self.known.iter().any(|a| a == address))
    }
    fn faq_acks_caused_since(
        &self,
        _: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, Self::Error> {
        Ok(self
            .faq_caused
            .iter()
            .filter(|(k, t)| k == key && *t >= since)
            .count() as u32)
    }
    fn relays_since(&self, ticket: i64, since: DateTime<Utc>) -> Result<u32, Self::Error> {
        Ok(self
            .relays
            .iter()
            .filter(|(n, t)| *n == ticket && *t >= since)
            .count() as u32)
    }
    fn event_since(
        &self,
        ticket: i64,
        kind: EventKind,
        since: DateTime<Utc>,
    ) -> Result<bool, Self::Error> {
        Ok(self
            .events
            .iter()
            .any(|(n, k, t)| *n == ticket && *k == kind && *t >= since))
    }
    fn cc_participants(&self, ticket: i64) -> Result<u32, Self::Error> {
        Ok(self
            .customers
            .get(&ticket)
            .map_or(0, |c| c.len().saturating_sub(1) as u32))
    }
    fn faq_acks(&self, ticket: i64) -> Result<Vec<String>, Self::Error> {
        Ok(self
            .faq_acks
            .iter()
            .filter(|(t, _)| *t == ticket)
            .map(|(_, id)| id.clone())
            .collect())
    }
    fn open_tickets(&self, _: &str, address: &str) -> Result<Vec<OpenTicket>, Self::Error> {
        Ok(self.open.get(address).cloned().unwrap_or_default())
    }
    fn answered(&self, ticket: i64, ids: &[&str]) -> Result<Option<Answered>, Self::Error> {
        Ok(ids.iter().find_map(|id| {
            self.answered
                .iter()
                .find(|(t, i, _)| *t == ticket && i == id)
                .map(|(_, _, a)| a.clone())
        }))
    }
}
