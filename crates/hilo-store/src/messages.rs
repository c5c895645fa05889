//! Messages, attachments, mailbox checkpoints and the quarantine.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{json_list, Store, StoreError, Tx};
use hilo_domain::model::{Direction, MessageKind};
use hilo_mail::parse::{digest_key, Attachment};
use hilo_mail::Mailbox;

/// A message to store, received or sent.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub ticket: Option<i64>,
    pub desk: &'a str,
    pub direction: Direction,
    pub kind: MessageKind,
    pub dedup_key: String,
    pub message_id: Option<&'a str>,
    pub in_reply_to: &'a [String],
    pub references: &'a [String],
    pub from: &'a Mailbox,
    pub to: Vec<&'a str>,
    pub cc: Vec<&'a str>,
    pub subject: &'a str,
    pub date: Option<String>,
    pub text: &'a str,
    pub new_text: Option<&'a str>,
    pub thread_root: Option<&'a str>,
    pub note: Option<&'a str>,
    /// Empty for outgoing mail composed when sent, from `draft` (JSON).
    pub raw: &'a [u8],
    pub draft: Option<&'a str>,
    pub folder: Option<&'a str>,
    pub uid: Option<u32>,
    /// For our notification: the received message it is about (whose
    /// author an agent answering it answers).
    pub about: Option<i64>,
}

/// Where a desk's intake stands in one folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub uid_validity: u32,
    pub last_uid: u32,
    /// UIDs up to this one are backlog: no acknowledgements.
    pub backlog_until: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuarantineRow {
    pub id: i64,
    pub desk: String,
    pub folder: Option<String>,
    pub uid: Option<u32>,
    pub reason: String,
    pub size: usize,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub created_at: DateTime<Utc>,
}

impl Tx<'_> {
    /// Removes a quarantine entry whose message has now been processed.
    pub fn unquarantine(&self, id: i64) -> Result<(), StoreError> {
        self.execute("DELETE FROM quarantine WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Notes a retry that failed again.
    pub fn quarantine_retried(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE quarantine SET retried_at = ?2, reason = ?3 WHERE id = ?1",
            params![id, self.stamp(), reason],
        )?;
        Ok(())
    }

    /// Is a message with this key already stored for the desk?
    /// The raw bytes of the desk's received message with this key, if
    /// stored; empty bytes for one of our own outgoing messages.
    pub fn stored_raw(&self, desk: &str, dedup_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT CASE WHEN direction = 'out' THEN x'' ELSE raw END
                 FROM messages WHERE desk = ?1 AND dedup_key = ?2",
            )?
            .query_row(params![desk, dedup_key], |r| r.get(0))
            .optional()?)
    }

    pub fn message_exists(&self, desk: &str, dedup_key: &str) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM messages WHERE desk = ?1 AND dedup_key = ?2")?
            .exists(params![desk, dedup_key])?)
    }

    pub fn insert_message(&self, m: &NewMessage<'_>) -> Result<i64, StoreError> {
        self.prepare_cached(
            "INSERT INTO messages (ticket_id, desk, direction, kind, dedup_key, message_id,
                in_reply_to, refs, from_addr, from_name, to_addrs, cc_addrs, subject, date,
                body_text, note, raw, folder, uid, created_at, new_text, thread_root, draft, about)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )?
        .execute(params![
            m.ticket,
            m.desk,
            m.direction.as_str(),
            m.kind.as_str(),
            m.dedup_key,
            m.message_id,
            (!m.in_reply_to.is_empty()).then(|| m.in_reply_to.join(" ")),
            (!m.references.is_empty()).then(|| m.references.join(" ")),
            m.from.address,
            m.from.name,
            json_list(&m.to),
            json_list(&m.cc),
            m.subject,
            m.date,
            m.text,
            m.note,
            m.raw,
            m.folder,
            m.uid,
            self.stamp(),
            // NULL when it is the whole text (most new mail): fewer bytes written.
            m.new_text.filter(|t| *t != m.text),
            m.thread_root,
            m.draft,
            m.about,
        ])?;
        Ok(self.last_insert_rowid())
    }

    pub fn insert_attachment(&self, message: i64, a: &Attachment) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO attachments (message_id, filename, content_type, size, content)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            message,
            a.filename,
            a.content_type,
            a.data.len() as i64,
            a.data
        ])?;
        Ok(())
    }

    pub fn set_checkpoint(
        &self,
        desk: &str,
        folder: &str,
        cp: Checkpoint,
    ) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO checkpoints (desk, folder, uid_validity, last_uid, backlog_until, updated_at, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (desk, folder) DO UPDATE
             SET uid_validity = ?3, last_uid = ?4, backlog_until = ?5, updated_at = ?6",
        )?
        .execute(params![desk, folder, cp.uid_validity, cp.last_uid, cp.backlog_until, self.stamp()])?;
        Ok(())
    }

    /// Keeps bytes that could not be parsed. The same bytes are kept once per
    /// desk; returns the quarantine id either way.
    pub fn quarantine(
        &self,
        desk: &str,
        folder: Option<&str>,
        uid: Option<u32>,
        reason: &str,
        raw: &[u8],
    ) -> Result<i64, StoreError> {
        let digest = digest_key(raw);
        self.prepare_cached(
            "INSERT INTO quarantine (desk, folder, uid, reason, digest, raw, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (desk, digest) DO NOTHING",
        )?
        .execute(params![
            desk,
            folder,
            uid,
            reason,
            digest,
            raw,
            self.stamp()
        ])?;
        Ok(self.query_row(
            "SELECT id FROM quarantine WHERE desk = ?1 AND digest = ?2",
            params![desk, digest],
            |r| r.get(0),
        )?)
    }
}

impl Store {
    pub fn checkpoint(&self, desk: &str, folder: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT uid_validity, last_uid, backlog_until FROM checkpoints
                 WHERE desk = ?1 AND folder = ?2",
                params![desk, folder],
                |r| {
                    Ok(Checkpoint {
                        uid_validity: r.get(0)?,
                        last_uid: r.get(1)?,
                        backlog_until: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Sets a checkpoint outside any batch (first start, `start_from`).
    pub fn set_checkpoint(
        &self,
        desk: &str,
        folder: &str,
        cp: Checkpoint,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.set_checkpoint(desk, folder, cp))
    }

    /// A new UIDVALIDITY: the checkpoint starts over, and the UIDs recorded
    /// with stored and quarantined mail of the folder are forgotten (they
    /// named other messages), so no sweep acts on them. `started_at` stays.
    pub fn reset_checkpoint(
        &self,
        desk: &str,
        folder: &str,
        cp: Checkpoint,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.set_checkpoint(desk, folder, cp)?;
            tx.execute(
                "UPDATE messages SET uid = NULL WHERE desk = ?1 AND folder = ?2 AND uid IS NOT NULL",
                params![desk, folder],
            )?;
            tx.execute(
                "UPDATE quarantine SET uid = NULL WHERE desk = ?1 AND folder = ?2",
                params![desk, folder],
            )?;
            Ok(())
        })
    }

    /// When intake first started on this folder.
    pub fn checkpoint_started_at(
        &self,
        desk: &str,
        folder: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let s: Option<Option<String>> = self.read(|c| {
            Ok(c.query_row(
                "SELECT started_at FROM checkpoints WHERE desk = ?1 AND folder = ?2",
                params![desk, folder],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        Ok(s.flatten()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&chrono::Utc)))
    }

    /// Which of `uids` of the folder hilo stored (as a message or in
    /// quarantine) under the current UIDVALIDITY.
    pub fn stored_uids(
        &self,
        desk: &str,
        folder: &str,
        uids: &[u32],
    ) -> Result<std::collections::HashSet<u32>, StoreError> {
        self.read(|c| {
            let mut m = c.prepare_cached(
                "SELECT 1 FROM messages WHERE desk = ?1 AND folder = ?2 AND uid = ?3",
            )?;
            let mut q = c.prepare_cached(
                "SELECT 1 FROM quarantine WHERE desk = ?1 AND folder = ?2 AND uid = ?3",
            )?;
            let mut out = std::collections::HashSet::new();
            for &u in uids {
                if m.exists(params![desk, folder, u])? || q.exists(params![desk, folder, u])? {
                    out.insert(u);
                }
            }
            Ok(out)
        })
    }

    /// The desk and raw bytes of a quarantined message.
    pub fn quarantined(&self, id: i64) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT desk, raw FROM quarantine WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
    }

    /// UIDs of this folder that were quarantined (to move them aside).
    pub fn quarantined_uids(&self, desk: &str, folder: &str) -> Result<Vec<u32>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT uid FROM quarantine WHERE desk = ?1 AND folder = ?2 AND uid IS NOT NULL",
            )?;
            let rows = st.query_map(params![desk, folder], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn quarantine_list(&self) -> Result<Vec<QuarantineRow>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, desk, folder, uid, reason, length(raw), created_at
                 FROM quarantine ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(QuarantineRow {
                    id: r.get(0)?,
                    desk: r.get(1)?,
                    folder: r.get(2)?,
                    uid: r.get(3)?,
                    reason: r.get(4)?,
                    size: r.get::<_, i64>(5)? as usize,
                    created_at: crate::time_at(r, 6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
