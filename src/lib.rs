//! hilo: an email-threaded helpdesk daemon.
//!
//! Mail flows one way through these modules:
//!
//! ```text
//! watcher (IMAP) ─raw─► pipeline: parse ► classify ► thread ► decide ► apply ─► store ─► sender (SMTP)
//! cli ingest ──────────┘                                      outgoing (drafts) ┘
//! ```
//!
//! - [`config`]: typed configuration, env overrides, secrets that never print.
//! - [`mail`]: parsing received bytes, composing outgoing mail, subjects and tags, signed Message-IDs.
//! - [`pipeline`]: received mail to stored tickets, one decision as data per message.
//! - [`outgoing`]: the mail hilo writes (acknowledgements, notifications, relays), as drafts.
//! - [`manage`]: administrators' actions on tickets, and housekeeping.
//! - [`store`]: SQLite, the only module that speaks SQL.
//! - [`watcher`]: the mailbox watcher, the only module that speaks IMAP.
//! - [`sender`]: the outbox sender, the only module that speaks SMTP.
//! - [`net`]: TLS settings shared by both protocols.
//! - [`clock`]: the time hilo goes by, which tests can set.
//! - [`fault`]: fault points for the tests (debug builds only).
//! - [`daemon`]: starts and stops the watchers and the sender.
//! - [`cli`]: the commands.

pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod fault;
pub mod mail;
pub mod manage;
pub mod metrics;
pub mod model;
pub mod net;
pub mod outgoing;
pub mod pipeline;
pub mod sender;
pub mod store;
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
