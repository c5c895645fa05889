//! A ticket's history as its service-level clocks see it: status changes,
//! customers' mail and agents' answers, oldest first. The store reads it;
//! `sla` measures it.

use chrono::{DateTime, Utc};

use crate::model::Status;

/// What happened to a ticket, as far as its clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// The ticket moved to this status.
    Status(Status),
    /// A customer's mail was added.
    Customer,
    /// An agent's answer reached the customer.
    Answer,
}

/// A ticket's history, oldest first. The creation is `Status(New)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline(pub Vec<(DateTime<Utc>, Happening)>);
