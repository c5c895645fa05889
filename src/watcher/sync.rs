//! One pass over the folder: the start point (first start, UIDVALIDITY
//! reset), then the pipeline where batch k is stored while batch k+1 is
//! fetched and parsed, the checkpoint moving in the batch's transaction.

use tracing::{info, warn};

use super::fetch::batches;
use super::session::{drain_unsolicited, timed, ImapError, Mailbox, Session};
use super::Watcher;
use super::MAX_MISSES;
use crate::config::StartFrom;
use crate::pipeline::{Outcome, Received, Tally};
use crate::store::{Checkpoint, StoreError};
use tokio_util::sync::CancellationToken;

/// See [`Watcher::start_point`].
struct StartPoint {
    last: u32,
    backlog_until: u32,
    leave_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// A batch being stored: its outcomes and items once committed.
type Pending = tokio::task::JoinHandle<Result<(Vec<Outcome>, Vec<Received>), StoreError>>;

impl Watcher {
    /// Where this pass starts: (last UID done, last backlog UID). On a
    /// mailbox never seen, applies `start_from` and records it.
    /// Where to start: the last UID done, the end of the backlog (mail up
    /// to it gets no acknowledgement), and for a backlog re-read after a
    /// UIDVALIDITY reset with `start_from = "now"`, the time before which
    /// mail is left alone again (when intake first started on the folder).
    async fn start_point(
        &self,
        session: &mut Session,
        mb: &Mailbox,
    ) -> Result<StartPoint, ImapError> {
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let (cp, started) = crate::store::blocking(move || {
            Ok((
                store.checkpoint(&d, &f)?,
                store.checkpoint_started_at(&d, &f)?,
            ))
        })
        .await?;
        let leave_before = |backlog_until: u32| {
            (self.desk.cfg.start_from == StartFrom::Now && backlog_until > 0)
                .then_some(started)
                .flatten()
        };
        match cp {
            Some(cp) if cp.uid_validity == mb.uid_validity => {
                return Ok(StartPoint {
                    last: cp.last_uid,
                    backlog_until: cp.backlog_until,
                    leave_before: leave_before(cp.backlog_until),
                })
            }
            Some(cp) => {
                // The folder was restored or migrated: every UID is new. What
                // is there now is backlog (no acknowledgements); what hilo
                // stored is deduplicated; with start_from = "now", mail older
                // than hilo's first start on it is left alone again.
                let top = self.existing_top(session, mb).await?;
                warn!(
                    old = cp.uid_validity,
                    new = mb.uid_validity,
                    backlog = top,
                    "UIDVALIDITY changed: re-reading the folder without acknowledgements; stored messages are not duplicated"
                );
                let new = Checkpoint {
                    uid_validity: mb.uid_validity,
                    last_uid: 0,
                    backlog_until: top,
                };
                let store = self.intake.store().clone();
                let (d, f) = (self.name().to_string(), self.imap().folder.clone());
                crate::store::blocking(move || store.reset_checkpoint(&d, &f, new)).await?;
                return Ok(StartPoint {
                    last: 0,
                    backlog_until: top,
                    leave_before: leave_before(top),
                });
            }
            None => {}
        }
        let existing_top = self.existing_top(session, mb).await?;
        let cp = match self.desk.cfg.start_from {
            StartFrom::Now => {
                info!(
                    uid = existing_top,
                    "first start on this folder: mail already there is left alone (start_from = \"now\"; see `hilo import`)"
                );
                Checkpoint {
                    uid_validity: mb.uid_validity,
                    last_uid: existing_top,
                    backlog_until: 0,
                }
            }
            StartFrom::All => {
                info!(
                    uid = existing_top,
                    "first start on this folder: importing what is there without acknowledgements (start_from = \"all\")"
                );
                Checkpoint {
                    uid_validity: mb.uid_validity,
                    last_uid: 0,
                    backlog_until: existing_top,
                }
            }
        };
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        crate::store::blocking(move || store.set_checkpoint(&d, &f, cp)).await?;
        Ok(StartPoint {
            last: cp.last_uid,
            backlog_until: cp.backlog_until,
            leave_before: None,
        })
    }

    /// The highest UID in the folder now (everything below UIDNEXT).
    async fn existing_top(&self, session: &mut Session, mb: &Mailbox) -> Result<u32, ImapError> {
        Ok(match mb.uid_next {
            Some(n) => n.saturating_sub(1),
            None => {
                let t = self.tuning.command_timeout;
                let all = timed(t, "UID SEARCH", session.uid_search("ALL")).await?;
                all.into_iter().max().unwrap_or(0)
            }
        })
    }

    /// Fetches and processes everything above the checkpoint. Stops early,
    /// between batches, when `shutdown` fires.
    pub async fn sync(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        shutdown: &CancellationToken,
    ) -> Result<Tally, ImapError> {
        let t = self.tuning.command_timeout;
        let StartPoint {
            last,
            backlog_until,
            leave_before,
        } = self.start_point(session, mb).await?;
        let found = timed(
            t,
            "UID SEARCH",
            session.uid_search(format!("UID {}:*", last + 1)),
        )
        .await?;
        // `n:*` always matches the highest UID, even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        let mut report = Tally::default();
        if uids.is_empty() {
            return Ok(report);
        }
        let (sizes, dates) = self.sizes(session, &uids, leave_before.is_some()).await?;
        if let Some(before) = leave_before {
            let old = |u: &u32| *u <= backlog_until && dates.get(u).is_some_and(|d| *d < before);
            let left = uids.iter().filter(|u| old(u)).count();
            if left > 0 {
                info!(
                    left,
                    "mail received before the first start is left alone (start_from = \"now\"; see `hilo import`)"
                );
                uids.retain(|u| !old(u));
            }
            if uids.is_empty() {
                return Ok(report);
            }
        }
        if let Some(&first) = uids.first() {
            let (uid, n) = *self.misses.lock().expect("not poisoned");
            if uid == first && n >= MAX_MISSES {
                self.skip_missing(mb, first, backlog_until).await?;
                *self.misses.lock().expect("not poisoned") = (0, 0);
                uids.remove(0);
                if uids.is_empty() {
                    return Ok(report);
                }
            }
        }
        // A pipeline: while batch k is stored (on a blocking thread), batch
        // k+1 is fetched and parsed; k+1's commit starts as soon as k's ends,
        // before k's server-side step, so the store never waits on IMAP.
        // Batches still commit in order: the checkpoint only moves forward.
        let mut pending: Option<Pending> = None;
        let mut stopped_at: Option<u32> = None;
        for batch in batches(
            &uids,
            &sizes,
            self.tuning.batch_size,
            self.tuning.batch_bytes,
        ) {
            if shutdown.is_cancelled() {
                break;
            }
            // Large mail is handled alone, without the overlap: two batches
            // of it in memory at once would double the peak.
            let bytes: u64 = batch.iter().filter_map(|u| sizes.get(u)).sum();
            let alone = bytes > self.tuning.batch_bytes / 2;
            if alone {
                self.drain(session, mb, &mut pending, &mut report).await?;
            }
            let (mut items, missing) = self.fetch(session, &batch, &sizes).await?;
            drain_unsolicited(session);
            for it in &mut items {
                it.backlog = it.uid.is_some_and(|u| u <= backlog_until);
            }
            let parsing = tokio::task::spawn_blocking(move || {
                let parsed = crate::pipeline::parse_all(&items);
                (items, parsed)
            });
            let previous = match pending.take() {
                Some(p) => Some(crate::store::joined(p).await?),
                None => None,
            };
            // parse_all contains the parser's panics; a join error here is
            // the runtime shutting down.
            let (items, parsed) = parsing
                .await
                .map_err(|e| StoreError::Panicked(e.to_string()))?;
            let got_any = !items.is_empty();
            if got_any {
                let cp = Checkpoint {
                    uid_validity: mb.uid_validity,
                    last_uid: items.last().and_then(|r| r.uid).unwrap_or(last),
                    backlog_until,
                };
                let (intake, rt, f) = (
                    self.intake.clone(),
                    self.desk.clone(),
                    self.imap().folder.clone(),
                );
                pending = Some(tokio::task::spawn_blocking(move || {
                    let o = intake.process_parsed(&rt, Some(&f), &items, &parsed, Some(cp))?;
                    Ok((o, items))
                }));
            }
            if alone {
                self.drain(session, mb, &mut pending, &mut report).await?;
            }
            if let Some(done) = previous {
                if let Err(e) = self.finish(session, mb, done, &mut report).await {
                    // Let the batch in flight end before the caller reconnects.
                    if let Some(p) = pending.take() {
                        let _ = p.await;
                    }
                    return Err(e);
                }
            }
            if missing.is_some() || !got_any {
                stopped_at = missing;
                break;
            }
        }
        self.drain(session, mb, &mut pending, &mut report).await?;
        match stopped_at {
            Some(uid) => {
                let mut m = self.misses.lock().expect("not poisoned");
                *m = if m.0 == uid { (uid, m.1 + 1) } else { (uid, 1) };
                Err(ImapError::Missing(uid))
            }
            None => Ok(report),
        }
    }

    /// Records a UID the server keeps listing and never returns in the
    /// quarantine (with a note instead of bytes it does not give) and moves
    /// the checkpoint past it, in one transaction.
    async fn skip_missing(
        &self,
        mb: &Mailbox,
        uid: u32,
        backlog_until: u32,
    ) -> Result<(), ImapError> {
        warn!(
            uid,
            passes = MAX_MISSES,
            "the server lists this UID but never returns it: set aside in the quarantine, reading on"
        );
        let intake = self.intake.clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let cp = Checkpoint {
            uid_validity: mb.uid_validity,
            last_uid: uid,
            backlog_until,
        };
        crate::store::blocking(move || intake.never_returned(&d, &f, cp, MAX_MISSES)).await?;
        Ok(())
    }

    /// Waits for the batch in flight, if any, and does its after-actions.
    pub(super) async fn drain(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        pending: &mut Option<Pending>,
        report: &mut Tally,
    ) -> Result<(), ImapError> {
        if let Some(p) = pending.take() {
            let done = crate::store::joined(p).await?;
            self.finish(session, mb, done, report).await?;
        }
        Ok(())
    }

    /// The server-side after-actions of a committed batch.
    pub(super) async fn finish(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        (outcomes, items): (Vec<Outcome>, Vec<Received>),
        report: &mut Tally,
    ) -> Result<(), ImapError> {
        self.wake.notify_one();
        let mut done = Vec::with_capacity(items.len());
        let mut aside = Vec::new();
        for (it, o) in items.iter().zip(&outcomes) {
            report.add(o);
            let uid = it.uid.expect("fetched by UID");
            match o {
                Outcome::Quarantined { .. } => aside.push(uid),
                _ => done.push(uid),
            }
        }
        // Committed: now the server-side step. Losing it to a crash is
        // harmless (the sweep after the next connect finishes it).
        if let Err(e) = self.after(session, mb, &done, &aside).await {
            warn!(error = %crate::report(&e), "could not mark or move processed mail; will retry after reconnect");
            return Err(e);
        }
        Ok(())
    }
}
