//! Network plumbing shared by the IMAP watcher and the SMTP sender.

pub mod sasl;
pub mod tls;
