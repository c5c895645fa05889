//! The outbox: a persisted state machine per outgoing mail.
//!
//! `pending` rows are claimed by a sender with a lease (so `hilo run` and
//! `hilo outbox flush` never send the same row at once, and a sender that
//! died gives its rows back when the lease runs out), then become `sent`,
//! go back to `pending` with a later `next_attempt_at`, or end `failed`.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use serde::Serialize;

use super::{json_list, parse_json_list, ts, Store, StoreError, Tx};
use hilo_domain::model::OutboxStatus;

/// An UPDATE that moves matching rows to `to`, but only rows whose current
/// status [`OutboxStatus::may_become`] `to`: the state machine is enforced
/// where the rows are written. `set` are the other columns, `cond` the
/// other conditions.
fn transition(to: OutboxStatus, set: &str, cond: &str) -> String {
    let from: Vec<String> = OutboxStatus::ALL
        .iter()
        .filter(|s| s.may_become(to))
        .map(|s| format!("status = '{}'", s.as_str()))
        .collect();
    // ORs, not IN: see the store's CHECK constraints (no temporary b-tree).
    format!(
        "UPDATE outbox SET status = '{}', {set} WHERE {cond} AND ({})",
        to.as_str(),
        from.join(" OR ")
    )
}

static UNDELIVERABLE: LazyLock<String> = LazyLock::new(|| {
    transition(
        OutboxStatus::Undeliverable,
        "last_error = ?3, lease_until = NULL",
        "message_id IN (SELECT id FROM messages WHERE desk = ?1 AND direction = 'out' AND message_id = ?2)
         AND EXISTS (SELECT 1 FROM json_each(outbox.recipients) WHERE value = ?4)",
    )
});
static SENT: LazyLock<String> = LazyLock::new(|| {
    transition(
        OutboxStatus::Sent,
        "attempts = attempts + 1, sent_at = ?2, lease_until = NULL, lease_owner = NULL, last_error = NULL",
        "id = ?1 AND lease_owner = ?3",
    )
});
static RETRY: LazyLock<String> = LazyLock::new(|| {
    transition(
        OutboxStatus::Pending,
        "attempts = attempts + 1, next_attempt_at = ?2, lease_until = NULL, lease_owner = NULL, last_error = ?3",
        "id = ?1 AND lease_owner = ?4",
    )
});
static FAILED: LazyLock<String> = LazyLock::new(|| {
    transition(
        OutboxStatus::Failed,
        "attempts = attempts + 1, lease_until = NULL, lease_owner = NULL, last_error = ?2",
        "id = ?1 AND (?3 IS NULL OR lease_owner = ?3)",
    )
});

/// A row claimed for sending.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    pub id: i64,
    /// What the mail is (an acknowledgement, a relay, a notification…).
    pub kind: hilo_domain::model::MessageKind,
    pub created_at: DateTime<Utc>,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    /// Empty until composed from `draft`.
    pub raw: Vec<u8>,
    /// The stored message this row sends.
    pub message: i64,
    /// The draft (JSON) and text of a mail queued uncomposed.
    pub draft: Option<(String, String)>,
    pub attempts: u32,
    pub expires_at: DateTime<Utc>,
}

/// A row as listed.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket: Option<i64>,
    pub subject: String,
    pub recipients: Vec<String>,
    pub status: OutboxStatus,
    pub attempts: u32,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::serialize_ts_opt")]
    pub sent_at: Option<DateTime<Utc>>,
}

/// How an outgoing mail is queued (see [`Tx::queue_outgoing`]).
#[derive(Debug, Clone, Copy)]
pub struct Queued<'a> {
    pub desk: &'a str,
    /// The envelope sender (MAIL FROM).
    pub envelope_from: &'a str,
    /// Its ticket; none for a desk's own alert.
    pub ticket: Option<i64>,
    pub kind: hilo_domain::model::MessageKind,
    pub expire_after: std::time::Duration,
    /// The person whose mail caused it (see [`hilo_mail::rate_key`]),
    /// for rate limits.
    pub rate_key: Option<&'a str>,
    /// For a notification: the received message it is about.
    pub about: Option<i64>,
    /// The envelope recipients, when not every address of the headers:
    /// one copy of a relay per view of the thread (see
    /// [`Tx::ticket_info_for`]).
    pub envelope: Option<&'a [String]>,
}

impl<'a> Queued<'a> {
    /// A desk's mail on no ticket (an alert, a digest, a report to an
    /// agent): no rate key, nothing it is about, every header recipient.
    pub fn on_no_ticket(
        desk: &'a str,
        envelope_from: &'a str,
        kind: hilo_domain::model::MessageKind,
        expire_after: std::time::Duration,
    ) -> Queued<'a> {
        Queued {
            desk,
            envelope_from,
            ticket: None,
            kind,
            expire_after,
            rate_key: None,
            about: None,
            envelope: None,
        }
    }
}

impl Tx<'_> {
    /// Marks the outgoing mail of `desk` with one of these Message-IDs as
    /// undeliverable (a bounce reported it), but only where one of the
    /// `recipients` the report names was a recipient of that mail: a
    /// Message-ID alone proves nothing. Returns how many rows changed.
    pub fn mark_undeliverable(
        &self,
        desk: &str,
        ids: &[String],
        recipients: &[String],
        reason: &str,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        let mut st = self.prepare_cached(&UNDELIVERABLE)?;
        let why = format!("bounced: {reason}");
        for id in ids {
            for r in recipients {
                n += st.execute(params![desk, id, why, r])?;
            }
        }
        Ok(n)
    }

    /// Stores an outgoing mail of `desk` (on `ticket`, or on none: a
    /// desk's own alert) and queues it; a mail without bytes yet is
    /// stored as its draft, for the sender to compose.
    /// Returns the stored message's id.
    pub fn queue_outgoing(
        &self,
        q: &Queued<'_>,
        out: &hilo_mail::compose::Outgoing,
    ) -> Result<i64, StoreError> {
        let draft = &out.draft;
        let rcpt: Vec<&str> = match q.envelope {
            Some(e) => e.iter().map(String::as_str).collect(),
            None => draft.recipients(),
        };
        let id = self.insert_message(&super::NewMessage {
            ticket: q.ticket,
            desk: q.desk,
            direction: hilo_domain::model::Direction::Out,
            kind: q.kind,
            dedup_key: draft.message_id.clone(),
            message_id: Some(&draft.message_id),
            in_reply_to: draft.in_reply_to.as_slice(),
            references: &draft.references,
            from: &draft.from,
            to: draft.to.iter().map(|m| m.address.as_str()).collect(),
            cc: draft.cc.iter().map(|m| m.address.as_str()).collect(),
            subject: &draft.subject,
            date: Some(ts(self.now())),
            text: &draft.text,
            new_text: None,
            thread_root: None,
            note: None,
            raw: out.raw.as_deref().unwrap_or_default(),
            draft: out.raw.is_none().then(|| draft.to_json()).as_deref(),
            folder: None,
            uid: None,
            about: q.about,
        })?;
        self.enqueue(id, q.envelope_from, &rcpt, q.expire_after, q.rate_key)?;
        Ok(id)
    }

    /// How many mails of `kind` that `desk` queued because of the person
    /// with rate key `key` (see [`hilo_mail::rate_key`]) since `since`;
    /// with `faq_only`, only those that carried knowledge-file answers.
    pub(super) fn count_caused(
        &self,
        desk: &str,
        kind: hilo_domain::model::MessageKind,
        key: &str,
        since: &str,
        faq_only: bool,
    ) -> Result<u32, StoreError> {
        Ok(self
            .prepare_cached(
                "SELECT count(*) FROM outbox o INDEXED BY outbox_rate
                 JOIN messages m ON m.id = o.message_id
                 WHERE o.rate_key = ?2 AND o.created_at >= ?3
                   AND m.desk = ?1 AND m.kind = ?4 AND (?5 = 0 OR m.faq IS NOT NULL)",
            )?
            .query_row(params![desk, key, since, kind.as_str(), faq_only], |r| {
                r.get(0)
            })?)
    }

    /// Queues the stored outgoing message `message` for delivery.
    /// `rate_key` names the person whose mail caused it, for rate limits.
    pub fn enqueue(
        &self,
        message: i64,
        envelope_from: &str,
        recipients: &[&str],
        expire_after: std::time::Duration,
        rate_key: Option<&str>,
    ) -> Result<i64, StoreError> {
        let at = self.now();
        let expires = at + Duration::from_std(expire_after).unwrap_or(Duration::days(5));
        self.prepare_cached(
            "INSERT INTO outbox (message_id, envelope_from, recipients, status, attempts,
                next_attempt_at, expires_at, created_at, rate_key)
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5, ?4, ?6)",
        )?
        .execute(params![
            message,
            envelope_from,
            json_list(recipients),
            ts(at),
            ts(expires),
            rate_key
        ])?;
        Ok(self.last_insert_rowid())
    }
}

impl Store {
    /// Gives back the leases of senders on `host` that no longer run, so a
    /// crashed sender's mail goes out at once rather than when its lease ends.
    pub fn release_dead_leases(
        &self,
        host: &str,
        alive: impl Fn(u32) -> bool,
    ) -> Result<usize, StoreError> {
        let at = ts(self.now());
        let owners: Vec<String> = self.read(|c| {
            let mut st = c.prepare(
                "SELECT DISTINCT lease_owner FROM outbox
                 WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_until > ?1",
            )?;
            let rows = st.query_map([&at], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        let dead: Vec<String> = owners
            .into_iter()
            .filter(|o| match o.rsplit_once(':') {
                Some((h, pid)) => h == host && pid.parse().is_ok_and(|p| !alive(p)),
                None => false,
            })
            .collect();
        if dead.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut n = 0;
            for o in &dead {
                n += tx.execute(
                    "UPDATE outbox SET lease_until = NULL, lease_owner = NULL
                     WHERE lease_owner = ?1 AND status = 'pending'",
                    [o],
                )?;
            }
            Ok(n)
        })
    }

    /// Claims up to `limit` due rows for `lease`, on behalf of `owner`.
    pub fn claim_due(
        &self,
        lease: std::time::Duration,
        limit: usize,
        owner: &str,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let at = self.now();
        let until = ts(at + Duration::from_std(lease).unwrap_or(Duration::minutes(5)));
        let at = ts(at);
        self.write_quick(|tx| {
            let mut st = tx.prepare_cached(
                "SELECT o.id, o.envelope_from, o.recipients, m.raw, o.attempts, o.expires_at,
                        m.kind, o.created_at, m.id, m.draft,
                        CASE WHEN m.draft IS NULL THEN NULL ELSE m.body_text END
                 FROM outbox o JOIN messages m ON m.id = o.message_id
                 WHERE o.status = 'pending' AND o.next_attempt_at <= ?1
                   AND (o.lease_until IS NULL OR o.lease_until <= ?1)
                 ORDER BY o.next_attempt_at, o.id LIMIT ?2",
            )?;
            let jobs = st
                .query_map(params![at, limit as i64], |r| {
                    Ok(OutboxJob {
                        id: r.get(0)?,
                        envelope_from: r.get(1)?,
                        recipients: parse_json_list(&r.get::<_, String>(2)?),
                        raw: r.get(3)?,
                        attempts: r.get(4)?,
                        expires_at: super::time_at(r, 5)?,
                        kind: {
                            let k: String = r.get(6)?;
                            hilo_domain::model::MessageKind::parse(&k).ok_or_else(|| {
                                rusqlite::Error::FromSqlConversionFailure(
                                    6,
                                    rusqlite::types::Type::Text,
                                    format!("unknown message kind `{k}`").into(),
                                )
                            })?
                        },
                        created_at: super::time_at(r, 7)?,
                        message: r.get(8)?,
                        draft: match (r.get(9)?, r.get(10)?) {
                            (Some(d), Some(t)) => Some((d, t)),
                            _ => None,
                        },
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut lease = tx.prepare_cached(
                "UPDATE outbox SET lease_until = ?2, lease_owner = ?3 WHERE id = ?1",
            )?;
            for j in &jobs {
                lease.execute(params![j.id, until, owner])?;
            }
            Ok(jobs)
        })
    }

    /// Gives claimed rows back unsent (their lease ends now).
    pub fn release(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.write_quick(|tx| {
            let mut st = tx.prepare_cached(
                "UPDATE outbox SET lease_until = NULL, lease_owner = NULL
                 WHERE id = ?1 AND status = 'pending'",
            )?;
            for id in ids {
                st.execute([id])?;
            }
            Ok(())
        })
    }

    /// Keeps the bytes composed for stored messages that were queued as
    /// drafts (before they are sent: what is recorded is what goes out).
    pub fn store_composed<'a>(
        &self,
        composed: impl IntoIterator<Item = (i64, &'a [u8])>,
    ) -> Result<(), StoreError> {
        self.write_quick(|tx| {
            let mut st = tx.prepare_cached(
                "UPDATE messages SET raw = ?2, draft = NULL WHERE id = ?1 AND draft IS NOT NULL",
            )?;
            for (id, raw) in composed {
                st.execute(params![id, raw])?;
            }
            Ok(())
        })
    }

    /// Locks a claimed row just before its DATA: only while it is still
    /// `pending` and leased to `owner`; renews the lease. `false` means
    /// another sender took it (our lease ran out) or it was already sent.
    pub fn lock_for_data(
        &self,
        id: i64,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let until = ts(self.now() + Duration::from_std(lease).unwrap_or(Duration::minutes(5)));
        self.write_quick(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE outbox SET lease_until = ?3
                     WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
                )?
                .execute(params![id, owner, until])?
                == 1)
        })
    }

    /// Marks a row sent, if `owner` still holds it; returns whether it did.
    pub fn mark_sent(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let n = self.write_quick(|tx| {
            Ok(tx
                .prepare_cached(&SENT)?
                .execute(params![id, ts(self.now()), owner])?)
        })?;
        if n == 0 {
            tracing::warn!(outbox = id, "sent, but the row was no longer ours to mark");
        }
        Ok(n == 1)
    }

    /// A transient failure: try again at `next` (if `owner` still holds it).
    pub fn mark_retry(
        &self,
        id: i64,
        owner: &str,
        next: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.write_quick(|tx| {
            Ok(tx
                .prepare_cached(&RETRY)?
                .execute(params![id, ts(next), error, owner])?
                == 1)
        })
    }

    /// A permanent failure, or retries exhausted. With `owner`, only while
    /// that sender holds the row; `None` for a row this process just
    /// claimed and never tried (a draft that cannot be composed).
    pub fn mark_failed(
        &self,
        id: i64,
        owner: Option<&str>,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.write_quick(|tx| {
            Ok(tx
                .prepare_cached(&FAILED)?
                .execute(params![id, error, owner])?
                == 1)
        })
    }

    /// When the earliest pending row becomes due, if any.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let s: Option<String> = self.read(|c| {
            Ok(c.query_row(
                "SELECT min(max(next_attempt_at, coalesce(lease_until, ''))) FROM outbox
                 WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )?)
        })?;
        Ok(s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&Utc)))
    }

    /// Rows per status, for metrics.
    pub fn outbox_counts(&self) -> Result<Vec<(OutboxStatus, i64)>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT status, count(*) FROM outbox GROUP BY status")?;
            let rows = st.query_map([], |r| Ok((outbox_status(r, 0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn outbox_list(&self) -> Result<Vec<OutboxRow>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT o.id, m.ticket_id, m.subject, o.recipients, o.status, o.attempts,
                        o.next_attempt_at, o.last_error, o.created_at, o.sent_at
                 FROM outbox o JOIN messages m ON m.id = o.message_id ORDER BY o.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    ticket: r.get(1)?,
                    subject: r.get(2)?,
                    recipients: parse_json_list(&r.get::<_, String>(3)?),
                    status: outbox_status(r, 4)?,
                    attempts: r.get(5)?,
                    next_attempt_at: crate::time_at(r, 6)?,
                    last_error: r.get(7)?,
                    created_at: crate::time_at(r, 8)?,
                    sent_at: crate::time_opt_at(r, 9)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

/// Column `i` as an [`OutboxStatus`]; the schema's CHECK admits no other value.
fn outbox_status(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<OutboxStatus> {
    let s: String = r.get(i)?;
    OutboxStatus::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown outbox status `{s}`").into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewMessage;
    use hilo_domain::model::{Direction, MessageKind};
    use hilo_mail::Mailbox;

    /// One queued outgoing mail with Message-ID `out1@x.test`; its outbox id.
    fn queued(s: &Store) -> i64 {
        let from = Mailbox {
            name: None,
            address: "soporte@x.test".into(),
        };
        s.write(|tx| {
            let m = tx.insert_message(&NewMessage {
                ticket: None,
                desk: "d",
                direction: Direction::Out,
                kind: MessageKind::Ack,
                dedup_key: "k".into(),
                message_id: Some("out1@x.test"),
                in_reply_to: &[],
                references: &[],
                from: &from,
                to: vec!["ana@y.test"],
                cc: vec![],
                subject: "s",
                date: None,
                text: "t",
                new_text: None,
                thread_root: None,
                note: None,
                raw: b"raw",
                draft: None,
                folder: None,
                uid: None,
                about: None,
            })?;
            tx.enqueue(
                m,
                "soporte@x.test",
                &["ana@y.test"],
                std::time::Duration::from_secs(60),
                None,
            )
        })
        .unwrap()
    }

    fn status(s: &Store) -> OutboxStatus {
        s.outbox_list().unwrap()[0].status
    }

    #[test]
    fn rows_move_only_as_the_state_machine_allows() {
        let s = Store::open_in_memory().unwrap();
        let id = queued(&s);
        let lease = std::time::Duration::from_secs(60);
        assert_eq!(s.claim_due(lease, 10, "me").unwrap().len(), 1);
        assert!(s.mark_sent(id, "me").unwrap());
        assert_eq!(status(&s), OutboxStatus::Sent);
        // Sent is not pending: no retry, no failure, no second send.
        assert!(!s.mark_retry(id, "me", s.now(), "x").unwrap());
        assert!(!s.mark_failed(id, None, "x").unwrap());
        assert!(!s.mark_sent(id, "me").unwrap());
        assert_eq!(status(&s), OutboxStatus::Sent);
        // A report naming another recipient marks nothing.
        let other = s
            .write(|tx| {
                tx.mark_undeliverable(
                    "d",
                    &["out1@x.test".into()],
                    &["eve@y.test".into()],
                    "5.1.1",
                )
            })
            .unwrap();
        assert_eq!(other, 0);
        // A bounce after sending is allowed, and final.
        let n = s
            .write(|tx| {
                tx.mark_undeliverable(
                    "d",
                    &["out1@x.test".into()],
                    &["ana@y.test".into()],
                    "5.1.1",
                )
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(status(&s), OutboxStatus::Undeliverable);
        assert!(!s.mark_failed(id, None, "x").unwrap());
        let again = s
            .write(|tx| {
                tx.mark_undeliverable(
                    "d",
                    &["out1@x.test".into()],
                    &["ana@y.test".into()],
                    "again",
                )
            })
            .unwrap();
        assert_eq!(again, 0, "undeliverable is final");
    }

    /// A store whose time moves only when the test says.
    fn at_noon() -> (Store, std::sync::Arc<hilo_domain::clock::ManualClock>) {
        let noon = chrono::DateTime::parse_from_rfc3339("2026-03-02T12:00:00Z")
            .unwrap()
            .to_utc();
        let clock = std::sync::Arc::new(hilo_domain::clock::ManualClock::new(noon));
        let s = Store::open_in_memory().unwrap().with_clock(clock.clone());
        (s, clock)
    }

    #[test]
    fn a_lease_holds_until_its_end_and_then_passes_to_another_sender() {
        let (s, clock) = at_noon();
        let id = queued(&s);
        let lease = std::time::Duration::from_secs(300);
        assert_eq!(s.claim_due(lease, 10, "host:1").unwrap().len(), 1);
        clock.advance(std::time::Duration::from_secs(299));
        assert!(
            s.claim_due(lease, 10, "host:2").unwrap().is_empty(),
            "a second before its end, the lease is still host:1's"
        );
        assert!(s.lock_for_data(id, "host:1", lease).unwrap());
        // host:1 stalls after the lock; its lease (renewed by the lock) ends.
        clock.advance(lease);
        let taken = s.claim_due(lease, 10, "host:2").unwrap();
        assert_eq!(taken.len(), 1, "an ended lease is taken over");
        assert!(
            !s.mark_sent(id, "host:1").unwrap(),
            "no longer host:1's to mark"
        );
        assert!(!s.mark_retry(id, "host:1", s.now(), "late").unwrap());
        assert!(s.mark_sent(id, "host:2").unwrap());
        assert_eq!(status(&s), OutboxStatus::Sent);
    }

    #[test]
    fn a_retry_is_due_at_its_time_and_not_a_second_before() {
        let (s, clock) = at_noon();
        let id = queued(&s);
        let lease = std::time::Duration::from_secs(60);
        assert_eq!(s.claim_due(lease, 10, "me").unwrap().len(), 1);
        let next = s.now() + Duration::minutes(2);
        assert!(s.mark_retry(id, "me", next, "421 try later").unwrap());
        assert_eq!(s.next_due().unwrap(), Some(next));
        clock.advance(std::time::Duration::from_secs(119));
        assert!(s.claim_due(lease, 10, "me").unwrap().is_empty());
        clock.advance(std::time::Duration::from_secs(1));
        let again = s.claim_due(lease, 10, "me").unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1, "the failed attempt is counted");
    }

    #[test]
    fn dead_senders_leases_are_released_at_once_and_live_ones_kept() {
        let (s, _clock) = at_noon();
        queued(&s);
        let lease = std::time::Duration::from_secs(300);
        assert_eq!(s.claim_due(lease, 10, "host:41").unwrap().len(), 1);
        assert_eq!(s.release_dead_leases("host", |pid| pid == 41).unwrap(), 0);
        assert_eq!(s.release_dead_leases("other", |_| false).unwrap(), 0);
        assert_eq!(s.release_dead_leases("host", |_| false).unwrap(), 1);
        // Without waiting for the lease's end.
        assert_eq!(s.claim_due(lease, 10, "host:42").unwrap().len(), 1);
    }
}
