//! The pipeline's first step: bytes → [`Inbound`], one result per message
//! (a parser panic is that message's error, see [`crate::mail::parse`]),
//! and what a delivery report says about the mail it returns.
//! Pure, so the watcher parses one batch while the previous one is stored.

use crate::mail::{parse, Inbound, ParseError};

use super::Received;

/// Parses every item.
pub fn parse_all(items: &[Received]) -> Vec<Result<Inbound, ParseError>> {
    items.iter().map(|r| parse(&r.raw)).collect()
}

/// A delivery report's account of the mail it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The Message-IDs of our mail it reports.
    pub reported: Vec<String>,
    /// The recipients it reports (`Final-Recipient`): a mail is marked
    /// undeliverable only when one of them was its recipient.
    pub recipients: Vec<String>,
    /// Status and diagnostic, else its subject.
    pub reason: String,
}

impl Bounce {
    pub fn read(raw: &[u8], msg: &Inbound) -> Bounce {
        let r = crate::mail::dsn::read(raw, &msg.subject);
        Bounce {
            reported: r.ids,
            recipients: r.recipients,
            reason: r.reason,
        }
    }
}
