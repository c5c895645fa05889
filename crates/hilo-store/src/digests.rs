//! The daily digest's store side: whether a desk's digest of a day was
//! queued, and the desk's open tickets it lists; and whether a desk's
//! weekly report of an ISO week was.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};

use super::{stored, time, ts, StoreError, Tx};
use hilo_domain::model::{Priority, Status};

/// Most open tickets a digest reads; past it the digest says how many it
/// left out.
pub const MAX_DIGEST_TICKETS: usize = 5000;

/// An open ticket as the digest lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestTicket {
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub assignee: Option<String>,
    pub requester: String,
    pub updated_at: DateTime<Utc>,
}

fn weekly_done(c: &rusqlite::Connection, desk: &str, week: &str) -> Result<bool, StoreError> {
    Ok(
        c.prepare_cached("SELECT 1 FROM weekly_reports WHERE desk = ?1 AND week = ?2")?
            .query_row(params![desk, week], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

impl super::Store {
    /// [`Tx::weekly_done`] outside a transaction, to skip reading the
    /// figures of a week already sent.
    pub fn weekly_done(&self, desk: &str, week: &str) -> Result<bool, StoreError> {
        self.read(|c| weekly_done(c, desk, week))
    }
}

impl Tx<'_> {
    /// Was `desk`'s digest of local day `day` queued?
    pub fn digest_done(&self, desk: &str, day: NaiveDate) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM digests WHERE desk = ?1 AND day = ?2")?
            .query_row(params![desk, day.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Records `desk`'s digest of `day` as queued (in the transaction
    /// that queues it).
    pub fn record_digest(&self, desk: &str, day: NaiveDate) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO digests (desk, day, sent_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![desk, day.to_string(), ts(self.now())])?;
        Ok(())
    }

    /// Was `desk`'s weekly report of ISO week `week` (`2026-W50`) queued?
    pub fn weekly_done(&self, desk: &str, week: &str) -> Result<bool, StoreError> {
        weekly_done(&self.tx, desk, week)
    }

    /// Records `desk`'s weekly report of `week` as queued (in the
    /// transaction that queues it).
    pub fn record_weekly(&self, desk: &str, week: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO weekly_reports (desk, week, sent_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![desk, week, ts(self.now())])?;
        Ok(())
    }

    /// `desk`'s open tickets (new, open, pending), oldest first, at most
    /// [`MAX_DIGEST_TICKETS`]; and how many there are in all.
    pub fn digest_tickets(&self, desk: &str) -> Result<(Vec<DigestTicket>, usize), StoreError> {
        let all: i64 = self.tx.query_row(
            "SELECT count(*) FROM tickets WHERE desk = ?1 AND status IN ('new', 'open', 'pending')",
            [desk],
            |r| r.get(0),
        )?;
        let mut st = self.tx.prepare_cached(&format!(
            "SELECT id, subject, status, priority, assignee, requester, updated_at FROM tickets
              WHERE desk = ?1 AND status IN ('new', 'open', 'pending') ORDER BY id LIMIT {MAX_DIGEST_TICKETS}"
        ))?;
        let rows = st.query_map([desk], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (number, subject, status, priority, assignee, requester, updated) = row?;
            out.push(DigestTicket {
                number,
                subject,
                status: stored(&status)?,
                priority: stored(&priority)?,
                assignee,
                requester,
                updated_at: time(&updated)?,
            });
        }
        Ok((out, all as usize))
    }
}
