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
//! - [`corpus`]: the developers' new-text corpus runner (`hilo corpus`).
//! - [`fault`]: fault points for the tests (debug builds only).
//! - [`daemon`]: starts and stops the watchers and the sender.
//! - [`cli`]: the commands.

pub mod auth;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod daemon;
pub mod faq;
pub mod manage;
pub mod metrics;
pub mod net;
pub mod outgoing;
pub mod phrases;
pub mod pipeline;
pub mod report;
pub mod sender;
pub mod sla;
pub mod template;
pub mod text;
pub mod watcher;

pub use hilo_domain as domain;
pub use hilo_domain::{clock, fault, model, panic_message, report, Report};
pub use hilo_mail as mail;
pub use hilo_store as store;
