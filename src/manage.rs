//! What happens to tickets outside the flow of mail: an administrator's
//! actions from the command line (close, reopen, assign, note, reply,
//! participants, merge, unmerge, split) and
//! the housekeeping that closes resolved tickets. Each in one transaction;
//! a reply is queued like an agent's relayed answer.

use crate::mail::Mailbox;
use crate::model::{Direction, MessageKind, Role, Status};
use crate::outgoing::relay;
use crate::pipeline::apply::Writer;
use crate::pipeline::decide;
use crate::pipeline::{DeskRuntime, Intake, Lookup};
use crate::store::{Merged, NewMessage, People, Split, StoreError, Tx, Unmerged};
use hilo_domain::{EventKind, Refusal};

/// What an administrator does to a ticket from the command line.
#[derive(Debug, Clone)]
pub enum Action {
    Close,
    Reopen,
    Assign(String),
    /// An internal note.
    Note(String),
    /// An answer to the customer: relayed like an agent's mail reply.
    Reply(String),
    /// A Cc participant added: they receive the answers from now on.
    AddParticipant(Mailbox),
    /// A Cc participant removed.
    RemoveParticipant(String),
}

impl Intake {
    /// Applies `action` to `ticket` on behalf of `actor` (an address).
    pub fn act(&self, ticket: i64, actor: &Mailbox, action: Action) -> Result<(), StoreError> {
        self.store().write(|tx| {
            let t = tx.ticket(ticket)?.ok_or(StoreError::NoSuchTicket(ticket))?;
            let desk = self.desk(&t.desk).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "ticket {ticket} belongs to unknown desk {}",
                    t.desk
                ))
            })?;
            let who = actor.address.as_str();
            match action {
                Action::Close => tx.set_status(ticket, Status::Closed, who),
                Action::Reopen => tx.set_status(ticket, Status::Open, who),
                Action::Assign(a) => tx.set_assignee(ticket, &a, who),
                Action::Note(body) => {
                    self.record_cli(tx, &desk, ticket, actor, MessageKind::Note, &body)?;
                    tx.touch_ticket(ticket)
                }
                Action::Reply(body) => {
                    self.record_cli(tx, &desk, ticket, actor, MessageKind::Agent, &body)?;
                    tx.add_participant(
                        ticket,
                        actor,
                        Role::Agent,
                        "answered from the command line",
                    )?;
                    let whole = tx.ticket_info(ticket)?;
                    let mut all = vec![whole.requester.address.clone()];
                    all.extend(whole.cc.iter().cloned());
                    let info = tx.ticket_info_for(ticket, &all)?;
                    let settings = self.settings();
                    // The text typed is the whole answer: no signature of
                    // the agent's; the desk's when the desk signs.
                    let signature = decide::relay_signature(&desk.cfg, None);
                    let out = relay::relay(relay::RelayInput {
                        about: crate::outgoing::About {
                            desk: &desk.cfg,
                            tags: &desk.tags,
                            templates: &settings.templates,
                            signer: self.store().signer(),
                            ticket: &info,
                        },
                        agent: actor,
                        body: &body,
                        signature: signature.as_deref(),
                        answering: None,
                        only: &[],
                        attachments: &[],
                    })?;
                    let writer = Writer {
                        tx,
                        settings: &settings,
                        signer: self.store().signer(),
                        now: self.store().now(),
                    };
                    writer.queue(&desk.cfg, ticket, MessageKind::Relay, &out, None)?;
                    match decide::answer_status(None, false) {
                        Some(s) => tx.set_status(ticket, s, who),
                        None => Ok(()),
                    }
                }
                Action::AddParticipant(p) => {
                    let joined = format!("added by {who} from the command line");
                    if tx.add_participant(ticket, &p, Role::Cc, &joined)? {
                        tx.add_event(ticket, who, EventKind::ParticipantAdded, Some(&p.address))?;
                    }
                    Ok(())
                }
                Action::RemoveParticipant(a) => {
                    if !tx.remove_participant(ticket, &a)? {
                        return Err(StoreError::NotAParticipant { ticket, address: a });
                    }
                    tx.add_event(ticket, who, EventKind::ParticipantRemoved, Some(&a))
                }
            }
        })
    }

    /// Merges ticket `from` into `into` (see [`Tx::merge`]); nobody is mailed.
    pub fn merge(
        &self,
        from: i64,
        into: i64,
        actor: &Mailbox,
    ) -> Result<Result<Merged, Refusal>, StoreError> {
        self.store()
            .write(|tx| tx.merge(from, into, &actor.address, People::Move))
    }

    /// Undoes the last merge of `from` (see [`Tx::unmerge`]).
    pub fn unmerge(
        &self,
        from: i64,
        actor: &Mailbox,
    ) -> Result<Result<Unmerged, Refusal>, StoreError> {
        self.store().write(|tx| tx.unmerge(from, &actor.address))
    }

    /// Splits `message` and its sub-thread off `ticket` into a new ticket
    /// (see [`Tx::split`]), named by the message's subject without tags
    /// and prefixes.
    pub fn split(
        &self,
        ticket: i64,
        message: i64,
        actor: &Mailbox,
    ) -> Result<Result<Split, Refusal>, StoreError> {
        self.store().write(|tx| {
            let Some(t) = tx.ticket(ticket)? else {
                return Ok(Err(Refusal::NoSuchTicket(ticket)));
            };
            let tags = self
                .desk(&t.desk)
                .map(|d| d.tags.clone())
                .unwrap_or_else(|| crate::mail::subject::TagMatcher::new("X"));
            let clean = |s: &str| tags.clean_subject(s).into_owned();
            tx.split(ticket, message, &clean, &actor.address)
        })
    }

    /// Keeps a message written from the command line, as a small mail.
    fn record_cli(
        &self,
        tx: &Tx<'_>,
        desk: &DeskRuntime,
        ticket: i64,
        actor: &Mailbox,
        kind: MessageKind,
        body: &str,
    ) -> Result<(), StoreError> {
        let id = self.store().signer().new_id(ticket, desk.cfg.domain());
        let subject = desk.tags.format(ticket);
        let raw = format!(
            "From: {actor}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {}\r\nX-Hilo-Source: cli\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            self.store().now().to_rfc2822(),
            body.replace('\n', "\r\n")
        );
        tx.insert_message(&NewMessage {
            ticket: Some(ticket),
            desk: &desk.cfg.name,
            direction: Direction::In,
            kind,
            dedup_key: id.clone(),
            message_id: Some(&id),
            in_reply_to: &[],
            references: &[],
            from: actor,
            to: Vec::new(),
            cc: Vec::new(),
            subject: &subject,
            date: Some(crate::store::ts(self.store().now())),
            text: body,
            new_text: Some(body),
            thread_root: None,
            note: Some("written with hilo tickets"),
            raw: raw.as_bytes(),
            draft: None,
            folder: None,
            uid: None,
            about: None,
        })?;
        let event = match kind {
            MessageKind::Note => EventKind::Note,
            _ => EventKind::Reply,
        };
        tx.add_event(ticket, &actor.address, event, None)
    }

    /// Closes every desk's resolved tickets older than its close_after.
    pub fn close_resolved(&self) -> Result<usize, StoreError> {
        self.store().write(|tx| {
            let mut n = 0;
            for d in &self.settings().desks {
                let age = chrono::Duration::from_std(d.cfg.close_after)
                    .unwrap_or(chrono::Duration::days(7));
                n += tx.close_resolved(&d.cfg.name, &crate::store::ts(self.store().now() - age))?;
            }
            Ok(n)
        })
    }
}
