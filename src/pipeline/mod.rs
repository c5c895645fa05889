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
pub mod timers;
pub mod weekly;

pub use batch::Intake;
pub use parse::parse_all;
pub use settings::DeskRuntime;

pub use hilo_domain::{
    Answered, HeldAnswer, Lookup, OpenTicket, Outcome, Received, Tally, TicketRef,
    MAX_OPEN_TICKETS, OPEN_TICKET_TEXT,
};
