//! Alerts to a desk's admins about the desk's own trouble, on no ticket.

use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::Mailbox;

/// A login that stopped working until someone acts.
pub struct LoginFailed<'a> {
    /// "IMAP (user)" or "SMTP (user)".
    pub what: &'a str,
    /// The provider's refusal in plain words.
    pub why: &'a str,
    /// What to pass `hilo auth login` (`--desk NAME`, `--smtp`).
    pub login_args: &'a str,
}

/// The alert mail to `d`'s admins: a login of theirs stopped working.
pub fn login_failed(
    d: &DeskConfig,
    l: &LoginFailed<'_>,
    signer: &Signer,
) -> Result<Outgoing, ComposeError> {
    let desk = d.shown_name();
    let subject = d
        .language
        .say("alert.login_subject", &[("what", l.what), ("desk", &desk)]);
    let text = d.language.say(
        "alert.login_text",
        &[("what", l.what), ("why", l.why), ("args", l.login_args)],
    );
    Outgoing::new(Draft {
        from: Mailbox::new(&d.address, Some(d.shown_name())),
        to: d.admin.iter().map(|x| Mailbox::new(x, None)).collect(),
        cc: Vec::new(),
        reply_to: None,
        subject,
        text,
        message_id: signer.new_id(0, d.domain()),
        in_reply_to: None,
        references: Vec::new(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: d.address.clone(),
        attachments: Vec::new(),
    })
}
