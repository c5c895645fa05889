//! Mail hilo writes: each module turns a ticket and what happened into an
//! [`Outgoing`](crate::mail::compose::Outgoing) (a draft, or bytes for
//! mail with attachments) from the desk's templates. Nothing here reads
//! or writes the store, or sends: the pipeline queues what these return.

pub mod ack;
pub mod notify;
pub mod relay;
pub mod templates;
