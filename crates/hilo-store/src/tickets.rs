//! Tickets, participants and events; the threader's [`Lookup`].

use rusqlite::{params, params_from_iter, OptionalExtension, Row};
use serde::Serialize;

use chrono::{DateTime, Utc};

use super::{parse_json_list, ts, Store, StoreError, Tx};
use hilo_domain::model::{MessageKind, Priority, Role, Status};
use hilo_domain::EventKind;
pub use hilo_domain::TicketInfo;
use hilo_domain::{Answered, HeldAnswer, Lookup, OpenTicket, TicketRef};
use hilo_mail::Mailbox;

/// A ticket as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub number: i64,
    /// `[SOP-42]`; filled in by the caller, which knows the desk's tag.
    pub tag: String,
    pub desk: String,
    pub status: Status,
    pub subject: String,
    pub requester: String,
    pub requester_name: Option<String>,
    pub linked_to: Option<i64>,
    /// Tickets linked to this one (strangers naming it, replies after it closed).
    pub linked_from: Vec<i64>,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::serialize_ts_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    pub priority: Priority,
    pub assignee: Option<String>,
    /// The desk address its customer wrote to, which our mail comes from
    /// (`None`: the desk's main address).
    pub address: Option<String>,
    /// The ticket this one was merged into (it is closed, and its mail
    /// goes there).
    pub merged_into: Option<i64>,
    /// Tickets merged into this one.
    pub merged_from: Vec<i64>,
    /// Number of messages on the ticket.
    pub messages: i64,
}

/// A message of a ticket, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// Its row: what `hilo tickets split --from` takes.
    pub id: i64,
    pub direction: String,
    pub kind: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub date: Option<String>,
    pub text: String,
    /// The text without quoted history and signature.
    pub new_text: Option<String>,
    /// Outbox state of an outgoing message (`pending`, `sent`, ...).
    pub delivery: Option<String>,
    /// Why it was set aside or what it reported (bounces), if anything.
    pub note: Option<String>,
}

/// A participant of a ticket, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantView {
    pub address: String,
    pub name: Option<String>,
    /// `requester`, `cc` or `agent`.
    pub role: String,
    /// How they joined, in words.
    pub joined: Option<String>,
    pub joined_at: Option<String>,
}

/// An attachment of a ticket's message, as listed (without its bytes).
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub id: i64,
    pub filename: Option<String>,
    pub content_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub desk: Option<String>,
    pub status: Option<Status>,
}

const TICKET_COLUMNS: &str = "t.id, t.desk, t.status, t.subject, t.requester, t.requester_name,
    t.linked_to, t.created_at, t.updated_at,
    (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id),
    (SELECT group_concat(l.id) FROM tickets l WHERE l.linked_to = t.id), t.closed_at,
    t.priority, t.assignee, t.address, t.merged_into,
    (SELECT group_concat(x.id) FROM tickets x WHERE x.merged_into = t.id)";

fn ticket_row(r: &Row<'_>) -> rusqlite::Result<(TicketView, String)> {
    Ok((
        TicketView {
            number: r.get(0)?,
            tag: String::new(),
            desk: r.get(1)?,
            status: Status::New,
            subject: r.get(3)?,
            requester: r.get(4)?,
            requester_name: r.get(5)?,
            linked_to: r.get(6)?,
            created_at: crate::time_at(r, 7)?,
            updated_at: crate::time_at(r, 8)?,
            messages: r.get(9)?,
            linked_from: r
                .get::<_, Option<String>>(10)?
                .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default(),
            closed_at: crate::time_opt_at(r, 11)?,
            priority: crate::text_at(r, 12)?,
            assignee: r.get(13)?,
            address: r.get(14)?,
            merged_into: r.get(15)?,
            merged_from: r
                .get::<_, Option<String>>(16)?
                .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default(),
        },
        r.get(2)?,
    ))
}

fn finish(pair: (TicketView, String)) -> Result<TicketView, StoreError> {
    let (mut t, status) = pair;
    t.status = super::stored(&status)?;
    Ok(t)
}

impl Tx<'_> {
    /// Opens a ticket with its requester as first participant.
    /// A new ticket of `desk`, answering from `address` (the desk address
    /// its customer wrote to).
    pub fn create_ticket(
        &self,
        desk: &str,
        address: Option<&str>,
        subject: &str,
        requester: &Mailbox,
        linked_to: Option<i64>,
    ) -> Result<i64, StoreError> {
        let at = self.stamp();
        self.prepare_cached(
            "INSERT INTO tickets (desk, status, subject, requester, requester_name, linked_to,
                created_at, updated_at, address)
             VALUES (?1, 'new', ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        )?
        .execute(params![
            desk,
            subject,
            requester.address,
            requester.name,
            linked_to,
            at,
            address
        ])?;
        let number = self.last_insert_rowid();
        self.add_participant(
            number,
            requester,
            Role::Requester,
            "wrote the first message",
        )?;
        let detail = linked_to.map(|l| format!("linked to ticket {l}"));
        self.add_event(
            number,
            &requester.address,
            EventKind::Created,
            detail.as_deref(),
        )?;
        Ok(number)
    }

    /// Adds `who` to the ticket as `role`, saying how they joined; one
    /// already there keeps their role. Returns whether they were added.
    pub fn add_participant(
        &self,
        ticket: i64,
        who: &Mailbox,
        role: Role,
        joined: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached(
                "INSERT INTO participants (ticket_id, address, name, role, joined, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (ticket_id, address) DO UPDATE
                   SET role = excluded.role, joined = excluded.joined, joined_at = excluded.joined_at
                   WHERE participants.role = 'pending' AND excluded.role <> 'pending'",
            )?
            .execute(params![
                ticket,
                who.address,
                who.name,
                role.as_str(),
                joined,
                self.stamp()
            ])?
            == 1)
    }

    /// Removes a Cc participant (the requester and agents stay); returns
    /// whether one was removed.
    pub fn remove_participant(&self, ticket: i64, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached(
                "DELETE FROM participants WHERE ticket_id = ?1 AND address = ?2 AND role IN ('cc', 'pending')",
            )?
            .execute(params![ticket, address.to_ascii_lowercase()])?
            == 1)
    }

    /// How many Cc participants the ticket has.
    pub fn cc_count(&self, ticket: i64) -> Result<u32, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT count(*) FROM participants WHERE ticket_id = ?1 AND role = 'cc'",
            )?
            .query_row([ticket], |r| r.get(0))?)
    }

    pub fn add_event(
        &self,
        ticket: i64,
        actor: &str,
        kind: EventKind,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO events (ticket_id, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![ticket, self.stamp(), actor, kind.as_str(), detail])?;
        Ok(())
    }

    /// Moves a ticket to `status`, recording who did it.
    pub fn set_status(&self, ticket: i64, status: Status, actor: &str) -> Result<(), StoreError> {
        let n = self
            .prepare_cached(
                "UPDATE tickets SET status = ?2, updated_at = ?3,
                    closed_at = CASE WHEN ?2 = 'closed' THEN ?3 ELSE closed_at END
                 WHERE id = ?1",
            )?
            .execute(params![ticket, status.as_str(), self.stamp()])?;
        if n == 0 {
            return Err(StoreError::NoSuchTicket(ticket));
        }
        self.add_event(ticket, actor, EventKind::Status, Some(status.as_str()))
    }

    pub fn set_priority(
        &self,
        ticket: i64,
        priority: Priority,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE tickets SET priority = ?2, updated_at = ?3 WHERE id = ?1",
            params![ticket, priority.as_str(), self.stamp()],
        )?;
        self.add_event(ticket, actor, EventKind::Priority, Some(priority.as_str()))
    }

    pub fn set_assignee(&self, ticket: i64, assignee: &str, actor: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE tickets SET assignee = ?2, updated_at = ?3 WHERE id = ?1",
            params![ticket, assignee, self.stamp()],
        )?;
        self.add_event(ticket, actor, EventKind::Assign, Some(assignee))
    }

    /// What relays and notifications need to know about a ticket.
    pub fn ticket_info(&self, ticket: i64) -> Result<TicketInfo, StoreError> {
        #[allow(clippy::type_complexity)]
        let (subject, requester, requester_name, status, priority, assignee, address): (
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
        ) = self
            .prepare_cached(
                "SELECT subject, requester, requester_name, status, priority, assignee, address
                 FROM tickets WHERE id = ?1",
            )?
            .query_row([ticket], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .optional()?
            .ok_or(StoreError::NoSuchTicket(ticket))?;
        let cc: Vec<String> = self
            .prepare_cached("SELECT address FROM participants WHERE ticket_id = ?1 AND role = 'cc' ORDER BY address")?
            .query_map([ticket], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let pending: Vec<String> = self
            .prepare_cached("SELECT address FROM participants WHERE ticket_id = ?1 AND role = 'pending' ORDER BY address")?
            .query_map([ticket], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        // The customer's last mail, to thread our relay under it.
        let last_customer: Option<String> = self
            .prepare_cached(
                "SELECT message_id FROM messages
                 WHERE ticket_id = ?1 AND kind = 'customer' AND message_id IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([ticket], |r| r.get(0))
            .optional()?;
        // The conversation as the customer's client sees it: its root (the
        // first mail and our acknowledgement), then the most recent mails
        // the customer saw. Built from those messages' own ids, never from
        // anyone's References, so nothing sent to the agents leaks into it.
        let mut thread_refs: Vec<String> = self
            .prepare_cached(
                "SELECT message_id FROM messages
                 WHERE ticket_id = ?1 AND kind IN ('customer', 'ack') AND message_id IS NOT NULL
                 ORDER BY id LIMIT 2",
            )?
            .query_map([ticket], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let recent: Vec<String> = self
            .prepare_cached(RECENT_IDS_SQL)?
            .query_map(params![ticket], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in recent.into_iter().rev() {
            if !thread_refs.contains(&id) {
                thread_refs.push(id);
            }
        }
        let notifications: Vec<String> = self
            .prepare_cached(
                "SELECT message_id FROM messages WHERE ticket_id = ?1 AND kind = 'notification'
                 ORDER BY id DESC LIMIT 20",
            )?
            .query_map([ticket], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(TicketInfo {
            number: ticket,
            address,
            subject,
            requester: Mailbox::new(requester, requester_name),
            status: super::stored(&status)?,
            priority: super::stored(&priority)?,
            assignee,
            cc,
            pending,
            last_customer_id: last_customer,
            thread_refs,
            notifications: notifications.into_iter().rev().collect(),
        })
    }

    /// [`Tx::ticket_info`] for one mail to `recipients`: its References
    /// and In-Reply-To name only ticket mail that every recipient sent or
    /// received (as From, To or Cc), so that after a merge or split nothing
    /// hangs under mail a recipient never had, and no agent's own
    /// Message-ID (of a reply that went through us) reaches a customer.
    /// Reads the ticket's messages once: linear in the ticket.
    pub fn ticket_info_for(
        &self,
        ticket: i64,
        recipients: &[String],
    ) -> Result<TicketInfo, StoreError> {
        let mut info = self.ticket_info(ticket)?;
        let rcpts: Vec<String> = recipients.iter().map(|r| r.to_ascii_lowercase()).collect();
        // Who had each mail: its sender and the addresses it was sent to,
        // for our own mail the envelope (a copy per view goes to some only).
        let rows: Vec<(String, String, String, String)> = self
            .prepare_cached(
                "SELECT m.message_id, m.kind, m.from_addr,
                        CASE WHEN o.recipients IS NOT NULL THEN o.recipients
                             ELSE json_array(json(coalesce(m.to_addrs, '[]')), json(coalesce(m.cc_addrs, '[]'))) END
                 FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
                 WHERE m.ticket_id = ?1 AND m.message_id IS NOT NULL
                   AND m.kind IN ('customer', 'ack', 'relay', 'agent', 'receipt', 'reminder')
                 ORDER BY m.id",
            )?
            .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let seen: Vec<&(String, String, String, String)> = rows
            .iter()
            .filter(|(_, _, from, got)| {
                // Addresses are quoted JSON strings in `got`, nested or not.
                rcpts
                    .iter()
                    .all(|a| from == a || got.contains(&format!("\"{a}\"")))
            })
            .collect();
        let mut refs: Vec<String> = seen.iter().take(2).map(|r| r.0.clone()).collect();
        let recent = seen
            .len()
            .saturating_sub(THREAD_RECENT as usize)
            .max(refs.len());
        for r in &seen[recent.min(seen.len())..] {
            if !refs.contains(&r.0) {
                refs.push(r.0.clone());
            }
        }
        // Threaded under the addressee's own last mail, else the last
        // they all have.
        info.last_customer_id = seen
            .iter()
            .rev()
            .find(|r| r.1 == "customer" && rcpts.first() == Some(&r.2))
            .map(|r| r.0.clone())
            .or_else(|| refs.last().cloned());
        info.thread_refs = refs;
        Ok(info)
    }

    /// Marks a held answer as sent at its agent's word (`#enviar`): a
    /// second confirmation finds nothing to send.
    pub fn release(&self, message: i64) -> Result<(), StoreError> {
        self.prepare_cached("UPDATE messages SET released_at = ?2 WHERE id = ?1")?
            .execute(params![message, self.stamp()])?;
        Ok(())
    }

    /// Closes resolved tickets not changed since `before`; returns how many.
    pub fn close_resolved(&self, desk: &str, before: &str) -> Result<usize, StoreError> {
        let ids: Vec<i64> = self
            .prepare_cached("SELECT id FROM tickets WHERE desk = ?1 AND status = 'resolved' AND updated_at < ?2")?
            .query_map(params![desk, before], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            self.set_status(*id, Status::Closed, "hilo")?;
        }
        Ok(ids.len())
    }

    /// Records which knowledge-file answers the acknowledgement `message`
    /// carried.
    pub fn set_faq_sent(&self, message: i64, ids: &[&str]) -> Result<(), StoreError> {
        self.prepare_cached("UPDATE messages SET faq = ?2 WHERE id = ?1")?
            .execute(params![message, super::json_list(ids)])?;
        Ok(())
    }

    /// Marks a ticket as changed now.
    pub fn touch_ticket(&self, ticket: i64) -> Result<(), StoreError> {
        self.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE id = ?1")?
            .execute(params![ticket, self.stamp()])?;
        Ok(())
    }
}

impl Lookup for Tx<'_> {
    type Error = StoreError;

    fn ticket(&self, number: i64) -> Result<Option<TicketRef>, StoreError> {
        let row: Option<(String, String, Option<String>, Option<i64>)> = self
            .prepare_cached(
                "SELECT desk, status, closed_at, merged_into FROM tickets WHERE id = ?1",
            )?
            .query_row([number], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        row.map(|(desk, status, closed_at, merged_into)| {
            Ok(TicketRef {
                number,
                desk,
                status: super::stored(&status)?,
                // A time that does not parse was written by hand: treated
                // as unknown, as before hilo recorded it.
                closed_at: closed_at.as_deref().and_then(|c| super::time(c).ok()),
                merged_into,
            })
        })
        .transpose()
    }

    fn message_tickets(
        &self,
        desk: &str,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let mut out = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let marks = vec!["?"; ids.len()].join(",");
        // Oldest first, so the most recent row of an id wins.
        let sql = format!(
            "SELECT message_id, ticket_id FROM messages
             WHERE desk = ? AND ticket_id IS NOT NULL AND message_id IN ({marks})
               AND kind <> 'unverified'
             ORDER BY id"
        );
        let args = std::iter::once(desk).chain(ids.iter().copied());
        let mut st = self.prepare_cached(&sql)?;
        let rows = st.query_map(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            let (id, ticket): (String, i64) = row?;
            out.insert(id, ticket);
        }
        Ok(out)
    }

    fn ticket_by_message_ids(&self, desk: &str, ids: &[&str]) -> Result<Option<i64>, StoreError> {
        let marks = vec!["?"; ids.len()].join(",");
        // Unverified mail is on a ticket but threads nothing to it.
        let sql = format!(
            "SELECT ticket_id FROM messages
             WHERE desk = ? AND ticket_id IS NOT NULL AND message_id IN ({marks})
               AND kind <> 'unverified'
             ORDER BY id DESC LIMIT 1"
        );
        let args = std::iter::once(desk).chain(ids.iter().copied());
        Ok(self
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args), |r| r.get(0))
            .optional()?)
    }

    fn ticket_by_thread_root(&self, desk: &str, root: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT ticket_id FROM messages
                 WHERE desk = ?1 AND thread_root = ?2 AND ticket_id IS NOT NULL
                   AND kind <> 'unverified'
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![desk, root], |r| r.get(0))
            .optional()?)
    }

    fn is_participant(&self, number: i64, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT 1 FROM participants WHERE ticket_id = ?1 AND address = ?2 AND role <> 'pending'",
            )?
            .exists(params![number, address.to_ascii_lowercase()])?)
    }

    fn agent_mail_recipients(
        &self,
        ticket: i64,
        message_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let r: Option<String> = self
            .prepare_cached(
                "SELECT o.recipients FROM messages m JOIN outbox o ON o.message_id = m.id
                 WHERE m.ticket_id = ?1 AND m.message_id = ?2
                   AND m.direction = 'out' AND m.kind IN ('notification', 'report', 'notice')",
            )?
            .query_row(params![ticket, message_id], |r| r.get(0))
            .optional()?;
        Ok(r.map(|r| parse_json_list(&r)))
    }

    fn digest_recipients(&self, message_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        let r: Option<String> = self
            .prepare_cached(
                "SELECT o.recipients FROM messages m JOIN outbox o ON o.message_id = m.id
                 WHERE m.ticket_id IS NULL AND m.message_id = ?1
                   AND m.direction = 'out' AND m.kind = 'digest'",
            )?
            .query_row(params![message_id], |r| r.get(0))
            .optional()?;
        Ok(r.map(|r| parse_json_list(&r)))
    }

    fn customer_addresses(&self, ticket: i64) -> Result<Vec<String>, StoreError> {
        let info = self.ticket_info(ticket)?;
        let mut all = info.cc;
        all.push(info.requester.address);
        Ok(all)
    }

    fn caused_since(
        &self,
        desk: &str,
        kind: MessageKind,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.count_caused(desk, kind, key, &ts(since), false)
    }

    fn relays_since(&self, ticket: i64, since: DateTime<Utc>) -> Result<u32, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT count(*) FROM messages m JOIN outbox o ON o.message_id = m.id
                 WHERE m.ticket_id = ?1 AND m.kind = 'relay' AND o.created_at >= ?2",
            )?
            .query_row(params![ticket, ts(since)], |r| r.get(0))?)
    }

    fn event_since(
        &self,
        ticket: i64,
        kind: EventKind,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM events WHERE ticket_id = ?1 AND kind = ?2 AND at >= ?3")?
            .exists(params![ticket, kind.as_str(), ts(since)])?)
    }

    fn cc_participants(&self, ticket: i64) -> Result<u32, StoreError> {
        self.cc_count(ticket)
    }

    fn faq_acks(&self, ticket: i64) -> Result<Vec<String>, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT message_id FROM messages
                 WHERE ticket_id = ?1 AND kind = 'ack' AND faq IS NOT NULL AND message_id IS NOT NULL",
            )?
            .query_map([ticket], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    fn held_answer(&self, ticket: i64, ids: &[&str]) -> Result<Option<HeldAnswer>, StoreError> {
        let mut st = self.prepare_cached(
            "SELECT a.id, coalesce(a.new_text, a.body_text, '') FROM messages m JOIN messages a ON a.id = m.about
             WHERE m.ticket_id = ?1 AND m.message_id = ?2 AND m.kind = 'notice'
               AND a.kind IN ('unverified', 'agent') AND a.released_at IS NULL
             LIMIT 1",
        )?;
        for id in ids {
            let hit = st
                .query_row(params![ticket, id], |r| {
                    Ok(HeldAnswer {
                        message: r.get(0)?,
                        text: r.get(1)?,
                    })
                })
                .optional()?;
            if hit.is_some() {
                return Ok(hit);
            }
        }
        Ok(None)
    }

    fn wrote_before(&self, desk: &str, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM tickets WHERE requester = ?1 AND desk = ?2 LIMIT 1")?
            .exists(params![address.to_ascii_lowercase(), desk])?)
    }

    fn faq_acks_caused_since(
        &self,
        desk: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.count_caused(desk, MessageKind::Ack, key, &ts(since), true)
    }

    fn open_tickets(&self, desk: &str, address: &str) -> Result<Vec<OpenTicket>, StoreError> {
        let rows: Vec<(i64, String, String, String, String, Option<String>)> = self
            .prepare_cached(OPEN_TICKETS_SQL)?
            .query_map(params![desk, address.to_ascii_lowercase()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(number, subject, status, created_at, updated_at, text)| {
                Ok(OpenTicket {
                    number,
                    subject,
                    status: super::stored(&status)?,
                    created_at: super::time(&created_at)?,
                    updated_at: super::time(&updated_at)?,
                    text: text.unwrap_or_default(),
                })
            })
            .collect()
    }

    fn answered(&self, ticket: i64, ids: &[&str]) -> Result<Option<Answered>, StoreError> {
        let mut st = self.prepare_cached(
            "SELECT COALESCE(a.from_addr, m.from_addr), COALESCE(a.from_name, m.from_name),
                    CASE WHEN a.id IS NULL THEN m.message_id ELSE a.message_id END,
                    COALESCE(a.id, m.id)
             FROM messages m LEFT JOIN messages a ON a.id = m.about
             WHERE m.ticket_id = ?1 AND m.message_id = ?2
               AND ((m.direction = 'in' AND m.kind = 'customer')
                    OR (m.kind = 'notification' AND a.kind = 'customer'))
             ORDER BY m.id DESC LIMIT 1",
        )?;
        for id in ids {
            let hit = st
                .query_row(params![ticket, id], |r| {
                    Ok(Answered {
                        message: r.get(3)?,
                        author: Mailbox::new(r.get::<_, String>(0)?, r.get(1)?),
                        message_id: r.get(2)?,
                    })
                })
                .optional()?;
            if hit.is_some() {
                return Ok(hit);
            }
        }
        Ok(None)
    }
}

/// How many recent ids a relay's References carry after the thread's root
/// (written into `RECENT_IDS_SQL`; a test holds them together).
#[cfg_attr(not(test), allow(dead_code))]
pub const THREAD_RECENT: i64 = 8;

// Limits are written into the SQL, not bound: a bound LIMIT made each
// call cost as much as preparing the statement (measured: 5 µs against
// 0.4 µs, a third of intake's time for `open_tickets`). A test holds the
// numbers to the constants.
const RECENT_IDS_SQL: &str = "SELECT message_id FROM messages
     WHERE ticket_id = ?1 AND kind IN ('customer', 'ack', 'relay', 'agent', 'receipt', 'reminder')
       AND message_id IS NOT NULL
     ORDER BY id DESC LIMIT 8";
const OPEN_TICKETS_SQL: &str = "SELECT t.id, t.subject, t.status, t.created_at, t.updated_at,
        (SELECT substr(coalesce(m.new_text, m.body_text), 1, 4000)
         FROM messages m WHERE m.ticket_id = t.id AND m.kind = 'customer'
         ORDER BY m.id LIMIT 1)
     FROM tickets t
     WHERE t.requester = ?2 AND t.desk = ?1
       AND (t.status = 'new' OR t.status = 'open' OR t.status = 'pending')
       AND t.merged_into IS NULL
     ORDER BY t.id DESC LIMIT 20";

#[cfg(test)]
mod limits {
    use super::*;
    use hilo_domain::{MAX_OPEN_TICKETS, OPEN_TICKET_TEXT};

    #[test]
    fn the_limits_written_into_sql_are_the_constants() {
        assert!(RECENT_IDS_SQL.ends_with(&format!("LIMIT {THREAD_RECENT}")));
        assert!(OPEN_TICKETS_SQL.ends_with(&format!("LIMIT {MAX_OPEN_TICKETS}")));
        assert!(OPEN_TICKETS_SQL.contains(&format!("1, {OPEN_TICKET_TEXT})")));
    }
}

/// A message stored without a ticket (a machine's mail that matched none).
#[derive(Debug, Clone, Serialize)]
pub struct AsideView {
    pub id: i64,
    pub desk: String,
    pub kind: String,
    pub from: String,
    pub subject: String,
    pub reason: Option<String>,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub received_at: DateTime<Utc>,
}

impl Store {
    /// Messages set aside, newest last.
    pub fn aside_list(&self) -> Result<Vec<AsideView>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, desk, kind, from_addr, subject, note, created_at FROM messages
                 WHERE ticket_id IS NULL ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(AsideView {
                    id: r.get(0)?,
                    desk: r.get(1)?,
                    kind: r.get(2)?,
                    from: r.get(3)?,
                    subject: r.get(4)?,
                    reason: r.get(5)?,
                    received_at: crate::time_at(r, 6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Sets a ticket's status from the command line.
    pub fn set_ticket_status(
        &self,
        number: i64,
        status: Status,
        actor: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.set_status(number, status, actor))
    }

    pub fn list_tickets(&self, f: &TicketFilter) -> Result<Vec<TicketView>, StoreError> {
        self.read(|c| {
            let sql = format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t
                 WHERE (?1 IS NULL OR t.desk = ?1) AND (?2 IS NULL OR t.status = ?2)
                 ORDER BY t.id"
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map(params![f.desk, f.status.map(Status::as_str)], ticket_row)?;
            rows.map(|r| finish(r?)).collect()
        })
    }

    /// Who takes part in a ticket, requester first.
    pub fn participants(&self, number: i64) -> Result<Vec<ParticipantView>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT address, name, role, joined, joined_at FROM participants
                 WHERE ticket_id = ?1
                 ORDER BY CASE role WHEN 'requester' THEN 0 WHEN 'cc' THEN 1 ELSE 2 END, rowid",
            )?;
            let rows = st.query_map([number], |r| {
                Ok(ParticipantView {
                    address: r.get(0)?,
                    name: r.get(1)?,
                    role: r.get(2)?,
                    joined: r.get(3)?,
                    joined_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The attachments of a ticket's messages, in order.
    pub fn attachments(&self, number: i64) -> Result<Vec<AttachmentView>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT a.id, a.filename, a.content_type, a.size FROM attachments a
                 JOIN messages m ON m.id = a.message_id
                 WHERE m.ticket_id = ?1 AND m.direction = 'in' ORDER BY a.id",
            )?;
            let rows = st.query_map([number], |r| {
                Ok(AttachmentView {
                    id: r.get(0)?,
                    filename: r.get(1)?,
                    content_type: r.get(2)?,
                    size: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// One attachment's bytes, if it belongs to ticket `number`.
    pub fn attachment_content(&self, number: i64, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT a.content FROM attachments a JOIN messages m ON m.id = a.message_id
                 WHERE a.id = ?2 AND m.ticket_id = ?1",
                params![number, id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// A ticket and its messages in order.
    pub fn ticket_detail(
        &self,
        number: i64,
    ) -> Result<Option<(TicketView, Vec<MessageView>)>, StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1");
            let Some(t) = c.query_row(&sql, [number], ticket_row).optional()? else {
                return Ok(None);
            };
            let t = finish(t)?;
            let mut st = c.prepare(
                "SELECT m.direction, m.kind, m.from_addr, m.to_addrs, m.cc_addrs, m.subject,
                        m.message_id, m.in_reply_to, m.date, m.body_text,
                        (SELECT o.status FROM outbox o WHERE o.message_id = m.id),
                        coalesce(m.new_text, m.body_text), m.note, m.id
                 FROM messages m WHERE m.ticket_id = ?1 ORDER BY m.id",
            )?;
            let msgs = st
                .query_map([number], |r| {
                    Ok(MessageView {
                        direction: r.get(0)?,
                        kind: r.get(1)?,
                        from: r.get(2)?,
                        to: parse_json_list(&r.get::<_, String>(3)?),
                        cc: parse_json_list(&r.get::<_, String>(4)?),
                        subject: r.get(5)?,
                        message_id: r.get(6)?,
                        in_reply_to: r.get(7)?,
                        date: r.get(8)?,
                        text: r.get(9)?,
                        delivery: r.get(10)?,
                        new_text: r.get(11)?,
                        note: r.get(12)?,
                        id: r.get(13)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((t, msgs)))
        })
    }
}
