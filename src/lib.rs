//! hilo: an email-threaded helpdesk daemon.
//!
//! Mail flows one way through these modules:
//!
//! ```text
//! watcher (IMAP) ─raw─► intake: mail::parse ► classify ► thread ► desk ► store ─► outbox ─► sender (SMTP)
//! cli ingest ──────────┘
//! ```
//!
//! - [`config`]: typed configuration, env overrides, secrets that never print.
//! - [`mail`]: parsing received bytes, composing outgoing mail, subjects and tags, signed Message-IDs.
//! - [`classify`]: a person, an auto-responder, a bounce, a list, or ourselves.
//! - [`thread`]: which ticket a message belongs to.
//! - [`desk`]: the decision for one message, as data.
//! - [`intake`]: runs the stages above and stores the result in one transaction.
//! - [`ack`]: the acknowledgement of a new ticket.
//! - [`store`]: SQLite, the only module that speaks SQL.
//! - [`watcher`]: the mailbox watcher, the only module that speaks IMAP.
//! - [`sender`]: the outbox sender, the only module that speaks SMTP.
//! - [`net`]: TLS settings shared by both protocols.
//! - [`fault`]: fault points for the tests (debug builds only).
//! - [`daemon`]: starts and stops the watchers and the sender.
//! - [`cli`]: the commands.

pub mod ack;
pub mod agent;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod desk;
pub mod fault;
pub mod intake;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod net;
pub mod notify;
pub mod relay;
pub mod sender;
pub mod store;
pub mod template;
pub mod thread;
pub mod watcher;

/// The text of a caught panic's payload, for the reason it is recorded with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".to_string()
    }
}
