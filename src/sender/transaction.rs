//! One SMTP mail transaction, with the previous mail's mark settled and
//! this row locked before its DATA; and the envelope of a row.

use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

use super::connect::SendError;
use crate::store::{joined, OutboxJob, StoreError};

/// A mail's mark as sent, being written.
pub(super) type Marking = tokio::task::JoinHandle<Result<(), StoreError>>;

/// Waits for the mark in flight, if any.
pub(super) async fn settle(marking: &mut Option<Marking>) -> Result<(), StoreError> {
    match marking.take() {
        None => Ok(()),
        Some(m) => joined(m).await,
    }
}

/// One SMTP mail transaction, as lettre's `send` does it, except that the
/// previous mail's mark is written while this one's envelope is accepted
/// and settled before its DATA, with this row's lock. A mail is only ever delivered once the
/// one before is recorded: a crash leaves at most one delivered mail
/// unmarked (sent again on restart), as with a mark after every mail,
/// without a database write between every two mails.
pub(super) async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    raw: &[u8],
    marking: &mut Option<Marking>,
    lock: impl std::future::Future<Output = Result<bool, StoreError>>,
) -> Result<Response, SendError> {
    let mut options = Vec::new();
    let mut addresses = envelope.from().into_iter().chain(envelope.to());
    if addresses.any(|a| !AsRef::<str>::as_ref(a).is_ascii()) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(SendError::Unsupported("SMTPUTF8"));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(SendError::Unsupported("8BITMIME"));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    settle(marking).await?;
    // The row is locked (its owner and status checked, its lease renewed)
    // just before DATA: a row whose lease ran out while it waited, and that
    // another sender took or sent, is not sent a second time.
    if !lock.await? {
        conn.command(Rset).await?;
        return Err(SendError::Lost);
    }
    conn.command(Data).await?;
    Ok(conn.message(raw).await?)
}

pub(super) fn envelope(job: &OutboxJob) -> Result<Envelope, String> {
    let from = job
        .envelope_from
        .parse()
        .map_err(|e| format!("bad sender {}: {e}", job.envelope_from))?;
    let to = job
        .recipients
        .iter()
        .map(|r| r.parse().map_err(|e| format!("bad recipient {r}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(from), to).map_err(|e| e.to_string())
}
