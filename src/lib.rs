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
pub mod cli;
pub mod clock;
pub mod config;
pub mod corpus;
pub mod daemon;
pub mod faq;
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
pub mod text;
pub mod watcher;

/// An error with its causes, `outer: inner: innermost`, for logs and stored
/// reasons: our errors keep their causes as `source()` rather than in their
/// own text. A cause whose text the message so far already ends with (some
/// libraries, lettre among them, print their source too) is not repeated.
pub struct Report<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        // Bounded: a cycle of sources cannot keep us here.
        for _ in 0..16 {
            let Some(c) = cause else { break };
            let next = c.to_string();
            if !text.ends_with(&next) {
                text.push_str(": ");
                text.push_str(&next);
            }
            cause = c.source();
        }
        f.write_str(&text)
    }
}

/// See [`Report`].
pub fn report<'a>(e: &'a (dyn std::error::Error + 'static)) -> Report<'a> {
    Report(e)
}

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

#[cfg(test)]
mod tests {
    use super::report;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    /// Prints its own source, as lettre's errors do.
    #[derive(Debug, thiserror::Error)]
    #[error("middle: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn a_report_shows_every_cause_once() {
        let e = Outer(Middle(std::io::Error::other("refused")));
        assert_eq!(report(&e).to_string(), "outer: middle: refused");
    }
}
