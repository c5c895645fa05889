//! Merging tickets (and undoing it) and splitting one: each one
//! transaction that moves messages and participants between tickets and
//! records what it moved, so the mail that follows finds its ticket (the
//! threader reads where each message is now, and a merged ticket stands
//! for its target).

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{StoreError, Tx};
use hilo_domain::model::{Role, Status};
use hilo_domain::{may_merge, EventKind, Lookup, Refusal};
use hilo_mail::Mailbox;

/// What a merge moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merged {
    pub from: i64,
    pub into: i64,
    pub messages: usize,
    /// Participants of the source added to the target who receive its
    /// answers (pending ones move as pending, unlisted).
    pub participants: Vec<String>,
}

/// What an unmerge moved back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmerged {
    pub from: i64,
    pub into: i64,
    pub messages: usize,
    pub participants: usize,
    /// Messages on the target since the merge that stay there.
    pub stayed: usize,
}

/// What a split did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    pub from: i64,
    /// The new ticket.
    pub into: i64,
    pub messages: usize,
}

/// Whether a merge moves the source's participants to the target. Only an
/// agent (or the administrator) decides that: everyone who moves will
/// receive the target's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum People {
    Move,
    /// The customer's own merge: the requester is the target's already,
    /// and nobody else comes along.
    Stay,
}

/// What a split needs of the ticket it splits.
#[derive(Debug)]
struct Head {
    desk: String,
    merged_into: Option<i64>,
    address: Option<String>,
}

impl Tx<'_> {
    fn head(&self, ticket: i64) -> Result<Option<Head>, StoreError> {
        let row: Option<(String, Option<i64>, Option<String>)> = self
            .prepare_cached("SELECT desk, merged_into, address FROM tickets WHERE id = ?1")?
            .query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        Ok(row.map(|(desk, merged_into, address)| Head {
            desk,
            merged_into,
            address,
        }))
    }

    /// Merges ticket `from` into `into`: its messages (with their
    /// attachments) move to `into`, and with [`People::Move`] its
    /// participants too; `from` closes as merged and points at `into`; both
    /// record it. Nobody is mailed.
    pub fn merge(
        &self,
        from: i64,
        into: i64,
        actor: &str,
        people: People,
    ) -> Result<Result<Merged, Refusal>, StoreError> {
        let Some(f) = Lookup::ticket(self, from)? else {
            return Ok(Err(Refusal::NoSuchTicket(from)));
        };
        let Some(t) = Lookup::ticket(self, into)? else {
            return Ok(Err(Refusal::NoSuchTicket(into)));
        };
        if let Err(r) = may_merge(&f, &t) {
            return Ok(Err(r));
        }
        let at = self.stamp();
        self.prepare_cached(
            "INSERT INTO merges (from_ticket, into_ticket, actor, at, status_before)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![from, into, actor, at, f.status.as_str()])?;
        let merge = self.last_insert_rowid();
        self.prepare_cached(
            "INSERT INTO merge_moves (merge_id, message)
             SELECT ?1, id FROM messages WHERE ticket_id = ?2",
        )?
        .execute(params![merge, from])?;
        let messages = self
            .prepare_cached("UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1")?
            .execute(params![from, into])?;
        let people: Vec<(String, Option<String>, String)> = match people {
            People::Stay => Vec::new(),
            People::Move => self
                .prepare_cached(
                    "SELECT address, name, role FROM participants WHERE ticket_id = ?1 ORDER BY address",
                )?
                .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?,
        };
        let joined = merged_joined(from);
        let mut participants = Vec::new();
        for (address, name, role) in people {
            // The source's requester is one of the target's Cc now; one
            // waiting for an agent's word still waits.
            let role = match Role::parse(&role) {
                Some(Role::Agent) => Role::Agent,
                Some(Role::Pending) => Role::Pending,
                _ => Role::Cc,
            };
            if self.add_participant(into, &Mailbox::new(address.clone(), name), role, &joined)? {
                self.prepare_cached(
                    "INSERT INTO merge_moves (merge_id, participant) VALUES (?1, ?2)",
                )?
                .execute(params![merge, address.clone()])?;
                if role != Role::Pending {
                    participants.push(address);
                }
            }
        }
        self.prepare_cached("UPDATE tickets SET merged_into = ?2 WHERE id = ?1")?
            .execute(params![from, into])?;
        if f.status != Status::Closed {
            self.set_status(from, Status::Closed, actor)?;
        }
        self.add_event(
            from,
            actor,
            EventKind::Merged,
            Some(&format!("into ticket {into}")),
        )?;
        let detail = format!(
            "ticket {from}: {messages} messages, {} participants added",
            participants.len()
        );
        self.add_event(into, actor, EventKind::MergedFrom, Some(&detail))?;
        self.touch_ticket(into)?;
        Ok(Ok(Merged {
            from,
            into,
            messages,
            participants,
        }))
    }

    /// Undoes the last merge of `from`: the messages it moved go back
    /// (those still on the target), the participants it added leave the
    /// target, and `from` gets its status back. Messages that reached the
    /// target since (replies to `from`'s thread among them) stay there.
    pub fn unmerge(&self, from: i64, actor: &str) -> Result<Result<Unmerged, Refusal>, StoreError> {
        let Some(f) = Lookup::ticket(self, from)? else {
            return Ok(Err(Refusal::NoSuchTicket(from)));
        };
        let row: Option<(i64, i64, String, String)> = self
            .prepare_cached(
                "SELECT id, into_ticket, status_before, at FROM merges
                 WHERE from_ticket = ?1 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            )?
            .query_row([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((merge, into, before, at)) = row.filter(|r| f.merged_into == Some(r.1)) else {
            return Ok(Err(Refusal::NotMerged(from)));
        };
        let messages = self
            .prepare_cached(
                "UPDATE messages SET ticket_id = ?3
                 WHERE ticket_id = ?2
                   AND id IN (SELECT message FROM merge_moves WHERE merge_id = ?1 AND message IS NOT NULL)",
            )?
            .execute(params![merge, into, from])?;
        let participants = self
            .prepare_cached(
                "DELETE FROM participants
                 WHERE ticket_id = ?2 AND joined = ?3
                   AND address IN (SELECT participant FROM merge_moves
                                   WHERE merge_id = ?1 AND participant IS NOT NULL)",
            )?
            .execute(params![merge, into, merged_joined(from)])?;
        let stayed: usize = self
            .prepare_cached(
                "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND created_at >= ?2",
            )?
            .query_row(params![into, at], |r| r.get(0))?;
        self.prepare_cached("UPDATE tickets SET merged_into = NULL WHERE id = ?1")?
            .execute([from])?;
        self.prepare_cached("UPDATE merges SET undone_at = ?2 WHERE id = ?1")?
            .execute(params![merge, self.stamp()])?;
        let status = Status::parse(&before).unwrap_or(Status::Open);
        if status != Status::Closed {
            self.set_status(from, status, actor)?;
        }
        self.add_event(
            from,
            actor,
            EventKind::Unmerged,
            Some(&format!("from ticket {into}")),
        )?;
        let detail = format!("ticket {from}: {messages} messages back, {stayed} newer stay here");
        self.add_event(into, actor, EventKind::Unmerged, Some(&detail))?;
        self.touch_ticket(into)?;
        Ok(Ok(Unmerged {
            from,
            into,
            messages,
            participants,
            stayed,
        }))
    }

    /// Splits `message` (a customer's, not the ticket's first) and
    /// everything after it in its sub-thread off `ticket` into a new
    /// ticket called `subject(its subject)` (the caller's cleaning of
    /// tags and prefixes), its author the requester, linked to
    /// `ticket`. The sub-thread: the messages whose parent (In-Reply-To,
    /// else the last reference) is in it, and our notifications about
    /// them; one pass in order, linear in the ticket's messages.
    pub fn split(
        &self,
        ticket: i64,
        message: i64,
        subject: &dyn Fn(&str) -> String,
        actor: &str,
    ) -> Result<Result<Split, Refusal>, StoreError> {
        let Some(head) = self.head(ticket)? else {
            return Ok(Err(Refusal::NoSuchTicket(ticket)));
        };
        if let Some(m) = head.merged_into {
            return Ok(Err(Refusal::SplitOfMerged { ticket, into: m }));
        }
        let row: Option<(String, String, String, Option<String>, String)> = self
            .prepare_cached(
                "SELECT direction, kind, from_addr, from_name, subject FROM messages
                 WHERE id = ?1 AND ticket_id = ?2",
            )?
            .query_row(params![message, ticket], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((direction, kind, from_addr, from_name, raw_subject)) = row else {
            return Ok(Err(Refusal::NotOnTicket { message, ticket }));
        };
        if direction != "in" || kind != "customer" {
            return Ok(Err(Refusal::NotCustomers(message)));
        }
        let first: Option<i64> = self
            .prepare_cached("SELECT min(id) FROM messages WHERE ticket_id = ?1")?
            .query_row([ticket], |r| r.get(0))?;
        if first == Some(message) {
            return Ok(Err(Refusal::FirstMessage { message, ticket }));
        }
        type Row = (
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<Row> = self
            .prepare_cached(
                "SELECT id, message_id, in_reply_to, refs, about FROM messages
                 WHERE ticket_id = ?1 AND id >= ?2 ORDER BY id",
            )?
            .query_map(params![ticket, message], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut moved: Vec<i64> = Vec::new();
        let mut rows_in = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for (id, mid, irt, refs, about) in rows {
            let parent = irt
                .as_deref()
                .and_then(|s| s.split_whitespace().next())
                .or_else(|| refs.as_deref().and_then(|s| s.split_whitespace().last()));
            let inside = id == message
                || parent.is_some_and(|p| ids.contains(p))
                || about.is_some_and(|a| rows_in.contains(&a));
            if inside {
                moved.push(id);
                rows_in.insert(id);
                if let Some(mid) = mid {
                    ids.insert(mid);
                }
            }
        }
        let requester = Mailbox::new(from_addr, from_name);
        let subject = match subject(&raw_subject) {
            s if s.trim().is_empty() => "(no subject)".to_string(),
            s => s,
        };
        let new = self.create_ticket(
            &head.desk,
            head.address.as_deref(),
            &subject,
            &requester,
            Some(ticket),
        )?;
        let mut st = self.prepare_cached("UPDATE messages SET ticket_id = ?2 WHERE id = ?1")?;
        for id in &moved {
            st.execute(params![id, new])?;
        }
        // Whoever else wrote in the part split off is on the new ticket too.
        let authors: Vec<(String, Option<String>)> = self
            .prepare_cached(
                "SELECT DISTINCT from_addr, from_name FROM messages
                 WHERE ticket_id = ?1 AND direction = 'in' AND kind = 'customer'",
            )?
            .query_map([new], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let joined = format!("wrote in the part split from ticket {ticket}");
        for (a, n) in authors {
            self.add_participant(new, &Mailbox::new(a, n), Role::Cc, &joined)?;
        }
        self.set_status(new, Status::Open, actor)?;
        let detail = format!("{} messages moved to ticket {new}", moved.len());
        self.add_event(ticket, actor, EventKind::Split, Some(&detail))?;
        self.add_event(
            new,
            actor,
            EventKind::SplitFrom,
            Some(&format!("ticket {ticket}")),
        )?;
        self.touch_ticket(ticket)?;
        Ok(Ok(Split {
            from: ticket,
            into: new,
            messages: moved.len(),
        }))
    }
}

/// How a participant a merge added joined: unmerge removes exactly those.
fn merged_joined(from: i64) -> String {
    format!("from ticket {from}, merged")
}
