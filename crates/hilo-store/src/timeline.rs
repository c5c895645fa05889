//! Reads a ticket's [`Timeline`]: its creation, every status change, each
//! customer's mail and each answer that reached the customer (a relay, or
//! an agent's mail written to the requester directly), oldest first.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{stored, time, ts, Store, StoreError, Tx};
use hilo_domain::model::{Priority, Status};
use hilo_domain::timeline::{Happening, Timeline};
use hilo_domain::EventKind;

/// One query, ordered by time; at one instant a status change comes
/// before the mail that caused it was counted (a reply reopens, then is
/// the customer's), which is the order the transaction wrote them in.
const TIMELINE: &str = "
    SELECT created_at AS at, 0 AS rank, 'status' AS what, 'new' AS detail FROM tickets WHERE id = ?1
    UNION ALL
    SELECT e.at, 1, 'status', e.detail FROM events e
     WHERE e.ticket_id = ?1 AND e.kind = 'status' AND e.detail IS NOT NULL
    UNION ALL
    SELECT m.created_at, 2, m.kind, NULL FROM messages m
     WHERE m.ticket_id = ?1 AND (
           (m.direction = 'in' AND m.kind = 'customer')
        OR (m.direction = 'out' AND m.kind = 'relay')
        OR (m.direction = 'in' AND m.kind = 'agent' AND EXISTS (
               SELECT 1 FROM participants p
                WHERE p.ticket_id = m.ticket_id AND p.role = 'requester'
                  AND (instr(m.to_addrs, '\"' || p.address || '\"') > 0
                    OR instr(m.cc_addrs, '\"' || p.address || '\"') > 0))))
    ORDER BY 1, 2";

fn read(c: &Connection, ticket: i64) -> Result<Timeline, StoreError> {
    let mut st = c.prepare_cached(TIMELINE)?;
    let rows = st.query_map([ticket], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut out: Vec<(DateTime<Utc>, Happening)> = Vec::new();
    for row in rows {
        let (at, what, detail) = row?;
        let at = time(&at)?;
        out.push((at, happening(&what, detail.as_deref())?));
    }
    Ok(Timeline(out))
}

/// The same rows for every ticket of a filter, ticket by ticket: one
/// pass for a report instead of a query a ticket.
const TIMELINES: &str = "
    WITH t AS (SELECT id, created_at FROM tickets
                WHERE (?1 IS NULL OR desk = ?1) AND created_at < ?3 AND updated_at >= ?2)
    SELECT t.id, t.created_at AS at, 0 AS rank, 'status' AS what, 'new' AS detail FROM t
    UNION ALL
    SELECT e.ticket_id, e.at, 1, 'status', e.detail FROM events e JOIN t ON t.id = e.ticket_id
     WHERE e.kind = 'status' AND e.detail IS NOT NULL
    UNION ALL
    SELECT m.ticket_id, m.created_at, 2, m.kind, NULL FROM messages m JOIN t ON t.id = m.ticket_id
     WHERE (m.direction = 'in' AND m.kind = 'customer')
        OR (m.direction = 'out' AND m.kind = 'relay')
        OR (m.direction = 'in' AND m.kind = 'agent' AND EXISTS (
               SELECT 1 FROM participants p
                WHERE p.ticket_id = m.ticket_id AND p.role = 'requester'
                  AND (instr(m.to_addrs, '\"' || p.address || '\"') > 0
                    OR instr(m.cc_addrs, '\"' || p.address || '\"') > 0)))
    ORDER BY 1, 2, 3";

/// A ticket as a report groups it, with its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub number: i64,
    pub desk: String,
    pub priority: Priority,
    pub assignee: Option<String>,
    pub timeline: Timeline,
}

fn happening(what: &str, detail: Option<&str>) -> Result<Happening, StoreError> {
    Ok(match what {
        "status" => Happening::Status(stored::<Status>(detail.unwrap_or(""))?),
        "customer" => Happening::Customer,
        _ => Happening::Answer,
    })
}

/// `sla_next_at` of a ticket with nothing to wait for until it changes.
const NEVER: &str = "9999-12-31T00:00:00.000Z";

/// A ticket whose clocks are to be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToMeasure {
    pub number: i64,
    pub desk: String,
    pub priority: Priority,
}

impl Store {
    /// When the timer should next look: now when a ticket changed since
    /// it was measured, else the earliest warning or due time; `None`
    /// when no open ticket waits for anything.
    pub fn sla_next(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|c| {
            let next: Option<String> = c.query_row(
                "SELECT min(sla_next_at) FROM tickets WHERE status <> 'closed'",
                [],
                |r| r.get(0),
            )?;
            match next.as_deref() {
                None | Some(NEVER) => Ok(None),
                Some("") => Ok(Some(self.now())),
                Some(n) => Ok(Some(time(n)?)),
            }
        })
    }

    /// Marks every open ticket to be measured again (the targets or the
    /// calendars may have changed); how many.
    pub fn sla_remeasure_all(&self) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx.tx.execute(
                "UPDATE tickets SET sla_next_at = '' WHERE status <> 'closed' AND sla_next_at <> ''",
                [],
            )?)
        })
    }

    /// The tickets of `desk` (every desk: `None`) opened before `until`
    /// and changed since `since`, each with its timeline, by number.
    pub fn timelines(
        &self,
        desk: Option<&str>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Reported>, StoreError> {
        self.read(|c| {
            let mut out: Vec<Reported> = Vec::new();
            let mut st = c.prepare(
                "SELECT id, desk, priority, assignee FROM tickets
                  WHERE (?1 IS NULL OR desk = ?1) AND created_at < ?3 AND updated_at >= ?2
                  ORDER BY id",
            )?;
            let rows = st.query_map(params![desk, ts(since), ts(until)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            for row in rows {
                let (number, desk, priority, assignee) = row?;
                out.push(Reported {
                    number,
                    desk,
                    priority: stored(&priority)?,
                    assignee,
                    timeline: Timeline::default(),
                });
            }
            let mut st = c.prepare(TIMELINES)?;
            let rows = st.query_map(params![desk, ts(since), ts(until)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?;
            // Both are in ticket order: walk them together.
            let mut i = 0;
            for row in rows {
                let (id, at, what, detail) = row?;
                while i < out.len() && out[i].number < id {
                    i += 1;
                }
                if let Some(t) = out.get_mut(i).filter(|t| t.number == id) {
                    t.timeline
                        .0
                        .push((time(&at)?, happening(&what, detail.as_deref())?));
                }
            }
            Ok(out)
        })
    }

    /// Ticket `number`'s timeline; empty when there is no such ticket.
    pub fn timeline(&self, number: i64) -> Result<Timeline, StoreError> {
        self.read(|c| read(c, number))
    }
}

impl Tx<'_> {
    /// Up to `limit` open tickets changed since they were measured or
    /// whose next warning or due time is at or before `now`.
    pub fn sla_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<ToMeasure>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT id, desk, priority FROM tickets
              WHERE status <> 'closed' AND sla_next_at <= ?1
              ORDER BY sla_next_at, id LIMIT ?2",
        )?;
        let rows = st.query_map(params![ts(now), limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (number, desk, priority) = row?;
            out.push(ToMeasure {
                number,
                desk,
                priority: stored(&priority)?,
            });
        }
        Ok(out)
    }

    /// When ticket `number` next needs a look (`None`: not until it changes).
    pub fn set_sla_next(&self, number: i64, at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        let at = at.map_or_else(|| NEVER.to_string(), ts);
        self.tx
            .prepare_cached("UPDATE tickets SET sla_next_at = ?2 WHERE id = ?1")?
            .execute(params![number, at])?;
        Ok(())
    }

    /// Was an event of `kind` with exactly `detail` recorded on `ticket`?
    pub fn has_event(
        &self,
        ticket: i64,
        kind: EventKind,
        detail: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events WHERE ticket_id = ?1 AND kind = ?2 AND detail = ?3)",
            )?
            .query_row(params![ticket, kind.as_str(), detail], |r| r.get(0))?)
    }

    /// The `#recordar` reminders of `ticket` not sent yet: each event's
    /// detail (`<due> <agent>`), oldest first, at most 50.
    pub fn agent_reminders(&self, ticket: i64) -> Result<Vec<String>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT s.detail FROM events s
              WHERE s.ticket_id = ?1 AND s.kind = 'reminder_set' AND s.detail IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM events x WHERE x.ticket_id = s.ticket_id
                                 AND x.kind = 'reminder_sent' AND x.detail = s.detail)
              ORDER BY s.id LIMIT 50",
        )?;
        let rows = st.query_map([ticket], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ticket `number`'s timeline as this transaction sees it.
    pub fn timeline(&self, number: i64) -> Result<Timeline, StoreError> {
        read(&self.tx, number)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use hilo_domain::clock::ManualClock;
    use hilo_domain::model::{Direction, MessageKind};
    use hilo_mail::Mailbox;

    use super::*;
    use crate::NewMessage;

    fn message<'a>(
        ticket: i64,
        n: u32,
        direction: Direction,
        kind: MessageKind,
        from: &'a Mailbox,
        to: Vec<&'a str>,
    ) -> NewMessage<'a> {
        NewMessage {
            ticket: Some(ticket),
            desk: "d",
            direction,
            kind,
            dedup_key: format!("k{n}"),
            message_id: None,
            in_reply_to: &[],
            references: &[],
            from,
            to,
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
        }
    }

    #[test]
    fn reads_creation_statuses_customers_and_answers_in_order() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let s = Store::open_in_memory().unwrap().with_clock(clock.clone());
        let ana = Mailbox::new("ana@y.test", None);
        let desk = Mailbox::new("soporte@x.test", None);
        let agent = Mailbox::new("eva@x.test", None);
        let hour = std::time::Duration::from_secs(3600);
        let n = s
            .write(|tx| {
                let n = tx.create_ticket("d", None, "s", &ana, None)?;
                tx.insert_message(&message(
                    n,
                    1,
                    Direction::In,
                    MessageKind::Customer,
                    &ana,
                    vec!["soporte@x.test"],
                ))?;
                // The acknowledgement and a note are no answer.
                tx.insert_message(&message(
                    n,
                    2,
                    Direction::Out,
                    MessageKind::Ack,
                    &desk,
                    vec!["ana@y.test"],
                ))?;
                Ok::<_, StoreError>(n)
            })
            .unwrap();
        clock.advance(hour);
        s.write(|tx| {
            tx.insert_message(&message(
                n,
                3,
                Direction::In,
                MessageKind::Note,
                &agent,
                vec!["soporte@x.test"],
            ))?;
            tx.insert_message(&message(
                n,
                4,
                Direction::In,
                MessageKind::Agent,
                &agent,
                vec!["soporte@x.test"],
            ))?;
            tx.insert_message(&message(
                n,
                5,
                Direction::Out,
                MessageKind::Relay,
                &desk,
                vec!["ana@y.test"],
            ))?;
            tx.set_status(n, Status::Pending, "eva@x.test")
        })
        .unwrap();
        clock.advance(hour);
        s.write(|tx| {
            tx.insert_message(&message(
                n,
                6,
                Direction::In,
                MessageKind::Customer,
                &ana,
                vec!["soporte@x.test"],
            ))?;
            tx.set_status(n, Status::Open, "hilo")?;
            // Written to the requester directly: an answer too.
            tx.insert_message(&message(
                n,
                7,
                Direction::In,
                MessageKind::Agent,
                &agent,
                vec!["ana@y.test"],
            ))
        })
        .unwrap();
        let t1 = t0 + chrono::Duration::hours(1);
        let t2 = t0 + chrono::Duration::hours(2);
        let want = vec![
            (t0, Happening::Status(Status::New)),
            (t0, Happening::Customer),
            (t1, Happening::Status(Status::Pending)),
            (t1, Happening::Answer),
            (t2, Happening::Status(Status::Open)),
            (t2, Happening::Customer),
            (t2, Happening::Answer),
        ];
        assert_eq!(s.timeline(n).unwrap(), Timeline(want.clone()));
        assert_eq!(s.write(|tx| tx.timeline(n)).unwrap(), Timeline(want));
        assert_eq!(s.timeline(99).unwrap(), Timeline(vec![]), "no such ticket");
        // The bulk read gives the same, ticket by ticket, within its range.
        let other = s
            .write(|tx| tx.create_ticket("e", None, "s", &ana, None))
            .unwrap();
        let day = chrono::Duration::days(1);
        let all = s.timelines(None, t0 - day, t2 + day).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].timeline, s.timeline(n).unwrap());
        assert_eq!(all[1].timeline, s.timeline(other).unwrap());
        assert_eq!(s.timelines(Some("d"), t0 - day, t2 + day).unwrap().len(), 1);
        assert!(
            s.timelines(None, t2 + day, t2 + day * 2)
                .unwrap()
                .is_empty(),
            "unchanged since"
        );
    }
}
