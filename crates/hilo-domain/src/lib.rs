//! hilo's floor: the types every layer shares, and nothing above them.
//!
//! Nothing here imports another hilo crate; every other crate may import
//! this one. What is here:
//! - [`model`]: the states stored as text (ticket [`Status`], [`MessageKind`],
//!   [`OutboxStatus`], [`Direction`], participant [`Role`], [`Priority`]),
//!   each through one mapping ([`stored_text!`]); [`EventKind`] likewise;
//! - [`ticket`]: tickets as threading, the decision and outgoing mail see
//!   them, and the read-only [`Lookup`] the store implements;
//! - [`answer`]: an agent's answer as planned; [`outcome`]: what became of
//!   received mail; [`login`]: how a session logged in;
//! - [`timeline`]: a ticket's history as its service clocks see it;
//! - [`clock`]: the time hilo goes by; [`fault`]: the tests' fault points;
//! - [`report`]: an error with its causes, once each.

#[macro_use]
pub mod model;
pub mod answer;
pub mod clock;
pub mod event;
pub mod fault;
pub mod login;
pub mod mailbox;
pub mod outcome;
pub mod ticket;
pub mod timeline;

pub use answer::{Answer, Held, Notice, Unheard};
pub use event::EventKind;
pub use login::LoginInfo;
pub use mailbox::Mailbox;
pub use model::{Direction, MessageKind, OutboxStatus, Priority, Role, Status};
pub use outcome::{Outcome, Received, Tally};
pub use ticket::{
    may_merge, Answered, HeldAnswer, Lookup, OpenTicket, Refusal, Related, TicketInfo, TicketRef,
    MAX_OPEN_TICKETS, MAX_RELATED, OPEN_TICKET_TEXT,
};

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
