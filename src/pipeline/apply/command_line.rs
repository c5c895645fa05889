//! An administrator's [`Act`] from the command line, written in the
//! caller's transaction: the text typed kept as a small mail, the ticket's
//! changes and events, a relayed answer queued in the outbox like an
//! agent's mail reply. It decides nothing: `decide::command_line` did.

use super::Writer;
use crate::mail::Mailbox;
use crate::model::{Direction, MessageKind, Role};
use crate::outgoing::{relay, About};
use crate::pipeline::decide::command_line::{Act, Relay};
use crate::pipeline::DeskRuntime;
use crate::store::{Merged, NewMessage, People, Split, StoreError, Unmerged};
use hilo_domain::{EventKind, Refusal};

/// What an act did, for the command line to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Changed,
    Merged(Merged),
    Unmerged(Unmerged),
    Split(Split),
}

impl Writer<'_, '_> {
    /// Carries out `act` on `ticket` of `desk` for `actor`.
    pub fn act(
        &self,
        desk: &DeskRuntime,
        ticket: i64,
        actor: &Mailbox,
        act: Act,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let (tx, who) = (self.tx, actor.address.as_str());
        match act {
            Act::Status(s) => tx.set_status(ticket, s, who)?,
            Act::Assign(a) => tx.set_assignee(ticket, &a, who)?,
            Act::Write { kind, body, relay } => {
                self.written(desk, ticket, actor, kind, &body)?;
                match relay {
                    None => tx.touch_ticket(ticket)?,
                    Some(r) => self.relay_written(desk, ticket, actor, &body, r)?,
                }
            }
            Act::Add(p) => {
                let joined = format!("added by {who} from the command line");
                if tx.add_participant(ticket, &p, Role::Cc, &joined)? {
                    tx.add_event(ticket, who, EventKind::ParticipantAdded, Some(&p.address))?;
                }
            }
            Act::Remove(a) => {
                if !tx.remove_participant(ticket, &a)? {
                    return Ok(Err(Refusal::NotAParticipant { ticket, address: a }));
                }
                tx.add_event(ticket, who, EventKind::ParticipantRemoved, Some(&a))?;
            }
            Act::Merge { into } => {
                return Ok(tx.merge(ticket, into, who, People::Move)?.map(Done::Merged));
            }
            Act::Unmerge => return Ok(tx.unmerge(ticket, who)?.map(Done::Unmerged)),
            Act::Split { message } => {
                let clean = |s: &str| desk.tags.clean_subject(s).into_owned();
                return Ok(tx.split(ticket, message, &clean, who)?.map(Done::Split));
            }
        }
        Ok(Ok(Done::Changed))
    }

    /// An answer typed on the command line, relayed to the requester and
    /// the Cc participants; the actor joins as an agent.
    fn relay_written(
        &self,
        desk: &DeskRuntime,
        ticket: i64,
        actor: &Mailbox,
        body: &str,
        r: Relay,
    ) -> Result<(), StoreError> {
        let (tx, who) = (self.tx, actor.address.as_str());
        tx.add_participant(ticket, actor, Role::Agent, "answered from the command line")?;
        let whole = tx.ticket_info(ticket)?;
        let mut all = vec![whole.requester.address.clone()];
        all.extend(whole.cc.iter().cloned());
        let info = tx.ticket_info_for(ticket, &all)?;
        let out = relay::relay(relay::RelayInput {
            about: About {
                desk: &desk.cfg,
                tags: &desk.tags,
                templates: &self.settings.templates,
                signer: self.signer,
                ticket: &info,
            },
            agent: actor,
            body,
            signature: r.signature.as_deref(),
            answering: None,
            only: &[],
            attachments: &[],
        })?;
        self.queue(&desk.cfg, ticket, MessageKind::Relay, &out, None)?;
        if let Some(s) = r.then {
            tx.set_status(ticket, s, who)?;
        }
        Ok(())
    }

    /// Keeps text written on the command line as a small mail of `kind`.
    fn written(
        &self,
        desk: &DeskRuntime,
        ticket: i64,
        actor: &Mailbox,
        kind: MessageKind,
        body: &str,
    ) -> Result<(), StoreError> {
        let id = self.signer.new_id(ticket, desk.cfg.domain());
        let subject = desk.tags.format(ticket);
        let raw = format!(
            "From: {actor}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {}\r\nX-Hilo-Source: cli\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            self.now.to_rfc2822(),
            body.replace('\n', "\r\n")
        );
        self.tx.insert_message(&NewMessage {
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
            date: Some(crate::store::ts(self.now)),
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
        self.tx.add_event(ticket, &actor.address, event, None)
    }
}
