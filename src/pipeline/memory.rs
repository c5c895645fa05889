//! An in-memory [`Lookup`]: the stand-in for the store in unit tests,
//! benchmarks and the fuzzer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Lookup, TicketRef};

#[derive(Debug, Default)]
pub struct MemoryLookup {
    pub tickets: HashMap<i64, TicketRef>,
    /// Stored Message-ID → its ticket.
    pub ids: HashMap<String, i64>,
    pub participants: Vec<(i64, String)>,
    /// Outlook conversation → its ticket.
    pub roots: HashMap<String, i64>,
    /// (ticket, Message-ID) of our mail to the agents.
    pub to_agents: Vec<(i64, String)>,
    /// Ticket → requester and Cc addresses.
    pub customers: HashMap<i64, Vec<String>>,
    /// (address, when) of acknowledgements already queued.
    pub acks: Vec<(String, DateTime<Utc>)>,
}

impl Lookup for MemoryLookup {
    type Error = std::convert::Infallible;
    fn ticket(&self, n: i64) -> Result<Option<TicketRef>, Self::Error> {
        Ok(self.tickets.get(&n).cloned())
    }
    fn ticket_by_message_ids(&self, _: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error> {
        Ok(ids.iter().find_map(|i| self.ids.get(*i).copied()))
    }
    fn is_participant(&self, n: i64, a: &str) -> Result<bool, Self::Error> {
        Ok(self.participants.iter().any(|(t, p)| *t == n && p == a))
    }
    fn ticket_by_thread_root(&self, _: &str, root: &str) -> Result<Option<i64>, Self::Error> {
        Ok(self.roots.get(root).copied())
    }
    fn sent_to_agents(&self, ticket: i64, id: &str) -> Result<bool, Self::Error> {
        Ok(self.to_agents.iter().any(|(t, i)| *t == ticket && i == id))
    }
    fn customer_addresses(&self, ticket: i64) -> Result<Vec<String>, Self::Error> {
        Ok(self.customers.get(&ticket).cloned().unwrap_or_default())
    }
    fn acks_since(&self, _: &str, a: &str, since: DateTime<Utc>) -> Result<u32, Self::Error> {
        Ok(self
            .acks
            .iter()
            .filter(|(x, t)| x == a && *t >= since)
            .count() as u32)
    }
}
