//! The sender: the only module that speaks SMTP. It reads due rows from the
//! outbox, composes those queued as drafts (storing the bytes first), and
//! delivers the stored bytes verbatim over one open SMTP session.
//!
//! Failures are classified before retrying: a 5xx answer is permanent and
//! marks the row failed with the server's words; IO, TLS, timeouts and 4xx
//! are transient and retried on the configured schedule until the row
//! expires. A relay that cannot be reached pauses the whole queue instead.
//! The intake never waits for the sender.
//!
//! `connect` opens sessions; `transaction` is one mail's SMTP exchange.

mod connect;
mod transaction;

pub use connect::{test_connection, SendError, SmtpSetupError};

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::response::Response;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use connect::{Connector, Session};
use transaction::{envelope, settle, transaction, Marking};

use crate::config::{OutboxConfig, SmtpConfig};
use crate::mail::compose::{compose, Draft};
use crate::store::{blocking, joined, OutboxJob, Store, StoreError};

/// How long a claimed row stays ours before another sender may take it.
const LEASE: Duration = Duration::from_secs(300);
const CLAIM_BATCH: usize = 50;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Retry,
    Failed,
    /// Another sender holds the row now (our lease ran out): not ours to send.
    Skipped,
    /// The relay itself failed (connect, TLS, greeting, or the session
    /// broke): the queue pauses as a whole; `charged` says whether this row
    /// spent an attempt (only when the session broke during its own mail).
    RelayDown {
        charged: bool,
    },
}

/// Counts of one flush.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    pub sent: usize,
    pub retry: usize,
    pub failed: usize,
    /// The flush stopped because the relay could not be used; the rows not
    /// tried were given back without spending an attempt.
    pub relay_down: bool,
}

pub struct Sender {
    connector: Connector,
    session: tokio::sync::Mutex<Option<Session>>,
    store: Store,
    policy: OutboxConfig,
    /// This host, and `host:pid`: who holds the leases this sender takes.
    host: String,
    owner: String,
    metrics: Arc<crate::metrics::Metrics>,
    /// Why the relay last failed as a whole, for the log and `hilo check`.
    relay_error: std::sync::Mutex<Option<String>>,
    /// See [`Sender::last_progress`].
    progress: std::sync::atomic::AtomicU64,
    /// See [`Sender::relay_up`].
    down: std::sync::atomic::AtomicBool,
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Is process `pid` of this host still running?
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true // cannot tell: leases run out on their own
    }
}

impl Sender {
    pub fn new(
        cfg: &SmtpConfig,
        policy: OutboxConfig,
        store: Store,
        metrics: Arc<crate::metrics::Metrics>,
        tokens: Option<Arc<crate::auth::Tokens>>,
    ) -> Result<Sender, SmtpSetupError> {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        Ok(Sender {
            connector: Connector::new(cfg, tokens)?,
            session: tokio::sync::Mutex::new(None),
            store,
            policy,
            owner: format!("{host}:{}", std::process::id()),
            host,
            metrics,
            relay_error: std::sync::Mutex::new(None),
            progress: std::sync::atomic::AtomicU64::new(now_secs()),
            down: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Sends every due row once; returns what happened.
    pub async fn flush(&self) -> Result<FlushReport, StoreError> {
        self.flush_until(&CancellationToken::new()).await
    }

    /// Like [`Sender::flush`], but stops between two mails once `stop` fires;
    /// rows claimed and not sent go back to others when this process ends.
    pub async fn flush_until(&self, stop: &CancellationToken) -> Result<FlushReport, StoreError> {
        let mut report = FlushReport::default();
        let mut marking = None;
        let (store, host) = (self.store.clone(), self.host.clone());
        let released = blocking(move || store.release_dead_leases(&host, alive)).await?;
        if released > 0 {
            info!(released, "took over mail claimed by a sender that stopped");
        }
        // The next batch is claimed and composed while this one is sent.
        let claim = || {
            let (store, owner) = (self.store.clone(), self.owner.clone());
            tokio::task::spawn_blocking(move || {
                let jobs = store.claim_due(LEASE, CLAIM_BATCH, &owner)?;
                compose_claimed(&store, jobs, &owner)
            })
        };
        let mut next = claim();
        loop {
            let (jobs, unusable) = joined(next).await?;
            report.failed += unusable;
            if jobs.is_empty() && unusable == 0 {
                settle(&mut marking).await?;
                return Ok(report);
            }
            next = claim();
            let mut rest = jobs.into_iter();
            while let Some(job) = rest.next() {
                if stop.is_cancelled() {
                    settle(&mut marking).await?;
                    // Give back this row, the rest of the batch and what was
                    // claimed ahead, for whoever sends next.
                    let (ahead, _) = joined(next).await?;
                    let ids = pending_ids(job.id, false, rest, ahead);
                    let store = self.store.clone();
                    blocking(move || store.release(&ids)).await?;
                    return Ok(report);
                }
                let id = job.id;
                self.beat();
                match self.deliver(job, &mut marking).await? {
                    Delivery::Sent => report.sent += 1,
                    Delivery::Retry => report.retry += 1,
                    Delivery::Failed => report.failed += 1,
                    Delivery::Skipped => {}
                    Delivery::RelayDown { charged } => {
                        // Stop here: every row not tried goes back uncharged.
                        report.relay_down = true;
                        if charged {
                            report.retry += 1;
                        }
                        settle(&mut marking).await?;
                        let (ahead, _) = joined(next).await?;
                        let ids: Vec<i64> = pending_ids(id, charged, rest, ahead);
                        let store = self.store.clone();
                        blocking(move || store.release(&ids)).await?;
                        return Ok(report);
                    }
                }
            }
        }
    }

    /// Sends over the open session, opening one if needed. A session idle
    /// for a while is checked first (servers drop idle ones); after any
    /// error it is dropped, and the next mail opens a fresh one. `marking`
    /// (the previous mail's mark) is settled before this mail's body goes.
    async fn send(
        &self,
        envelope: &Envelope,
        raw: &[u8],
        marking: &mut Option<Marking>,
        lock: impl std::future::Future<Output = Result<bool, StoreError>>,
    ) -> Result<Response, SendError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_mut() {
            // A session idle for a while may have been dropped by the server:
            // NOOP first (within the timeout, like every other command).
            let stale = s.conn.has_broken()
                || (s.used.elapsed() > Duration::from_secs(30)
                    && !tokio::time::timeout(self.connector.timeout, s.conn.test_connected())
                        .await
                        .unwrap_or(false));
            if stale {
                *guard = None;
            }
        }
        if guard.is_none() {
            let conn = match self.connector.connect().await {
                Ok(c) => c,
                Err(e) => return Err(SendError::Connect(Box::new(e))),
            };
            *guard = Some(Session {
                conn,
                used: std::time::Instant::now(),
            });
        }
        let s = guard.as_mut().expect("just opened");
        let r = self
            .connector
            .timed(transaction(&mut s.conn, envelope, raw, marking, lock))
            .await;
        s.used = std::time::Instant::now();
        if r.as_ref().is_err_and(|e| !matches!(e, SendError::Lost)) {
            if let Some(mut s) = guard.take() {
                let _ = tokio::time::timeout(self.connector.timeout, s.conn.abort()).await;
            }
        }
        r
    }

    /// Sends one row. Its mark as sent is left in `marking`, to be written
    /// while the next mail's envelope is sent.
    #[tracing::instrument(skip_all, fields(outbox = job.id))]
    async fn deliver(
        &self,
        job: OutboxJob,
        marking: &mut Option<Marking>,
    ) -> Result<Delivery, StoreError> {
        let store = self.store.clone();
        let envelope = match envelope(&job) {
            Ok(e) => e,
            Err(msg) => {
                warn!(error = %msg, "undeliverable envelope");
                let owner = self.owner.clone();
                blocking(move || store.mark_failed(job.id, Some(&owner), &msg)).await?;
                return Ok(Delivery::Failed);
            }
        };
        let id = job.id;
        // Started now, awaited just before DATA: the write overlaps the
        // envelope's round trips instead of adding one between RCPT and DATA.
        let lock = {
            let (store, owner) = (self.store.clone(), self.owner.clone());
            let task = tokio::task::spawn_blocking(move || store.lock_for_data(id, &owner, LEASE));
            joined(task)
        };
        let result = self.send(&envelope, &job.raw, marking, lock).await;
        let owner = self.owner.clone();
        match result {
            Err(SendError::Store(e)) => Err(e),
            Err(SendError::Lost) => {
                info!("taken over by another sender; not sent here");
                Ok(Delivery::Skipped)
            }
            Err(SendError::Connect(e)) => {
                let why = crate::report(&*e).to_string();
                debug!(error = %why, "relay unreachable");
                *self.relay_error.lock().expect("not poisoned") = Some(why);
                Ok(Delivery::RelayDown { charged: false })
            }
            Ok(resp) => {
                info!(code = %resp.code(), kind = job.kind.as_str(), "sent");
                if job.kind == crate::model::MessageKind::Ack {
                    let age = self.store.now().signed_duration_since(job.created_at);
                    self.metrics.ack_sent(age.to_std().unwrap_or_default());
                }
                settle(marking).await?;
                *marking = Some(tokio::task::spawn_blocking(move || {
                    store.mark_sent(id, &owner).map(|_| ())
                }));
                Ok(Delivery::Sent)
            }
            Err(e) if e.is_permanent() => {
                let why = crate::report(&e).to_string();
                let msg = format!("permanent: {why}");
                warn!(error = %why, "rejected by the SMTP server");
                blocking(move || store.mark_failed(id, Some(&owner), &msg)).await?;
                Ok(Delivery::Failed)
            }
            Err(e) => {
                // Sessions broken during this mail charge it (a mail that
                // always breaks the session must not block the queue), and
                // pause the queue like an unreachable relay.
                let answered = e.is_answer();
                let why = crate::report(&e).to_string();
                let attempt = job.attempts as usize;
                let expired = job.expires_at <= self.store.now();
                if expired {
                    let msg = format!("expired after {} attempts: {why}", attempt + 1);
                    warn!(error = %why, "giving up");
                    blocking(move || store.mark_failed(id, Some(&owner), &msg)).await?;
                    return Ok(Delivery::Failed);
                }
                let delay = self.policy.retry[attempt.min(self.policy.retry.len() - 1)];
                let next = self.store.now() + chrono::Duration::from_std(delay).unwrap_or_default();
                let msg = format!("transient: {why}");
                warn!(error = %why, retry_in = ?delay, "will retry");
                blocking(move || store.mark_retry(id, &owner, next, &msg)).await?;
                if answered {
                    Ok(Delivery::Retry)
                } else {
                    *self.relay_error.lock().expect("not poisoned") = Some(why);
                    Ok(Delivery::RelayDown { charged: true })
                }
            }
        }
    }

    /// Sends due mail until `shutdown`, waking on `wake` (new rows) or when
    /// the next retry is due. Finishes the row in flight before returning.
    pub async fn run(self: Arc<Self>, wake: Arc<Notify>, shutdown: CancellationToken) {
        // Consecutive flushes that found the relay down: the queue waits the
        // retry schedule's steps between probes, as one mail would.
        let mut outages = 0usize;
        loop {
            self.beat();
            crate::fault::hit("sender", b"");
            let down = match self.flush_until(&shutdown).await {
                Ok(r) => {
                    if r != FlushReport::default() {
                        debug!(?r, "outbox flushed");
                    }
                    r.relay_down
                }
                Err(e) => {
                    warn!(error = %crate::report(&e), "outbox unavailable; will retry");
                    false
                }
            };
            if down {
                let wait = self.policy.retry[outages.min(self.policy.retry.len() - 1)];
                let why = self.relay_error().unwrap_or_default();
                if outages == 0 {
                    warn!(error = %why, retry_in = ?wait, "SMTP relay unreachable; sending paused");
                } else {
                    debug!(error = %why, retry_in = ?wait, "SMTP relay still unreachable");
                }
                self.metrics.relay_up(false);
                self.down.store(true, std::sync::atomic::Ordering::Relaxed);
                outages += 1;
                // New mail does not wake a paused queue: only the probe does.
                if self.pause(wait, &shutdown, None).await {
                    return;
                }
                continue;
            }
            self.down.store(false, std::sync::atomic::Ordering::Relaxed);
            if outages > 0 {
                info!(
                    probes = outages,
                    "SMTP relay reachable again; sending resumed"
                );
                outages = 0;
            }
            self.metrics.relay_up(true);
            let store = self.store.clone();
            let next = blocking(move || store.next_due()).await.ok().flatten();
            let mut wait = self.policy.poll_interval;
            if let Some(n) = next {
                let until = (n - self.store.now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(until.max(Duration::from_millis(50)));
            }
            if self.pause(wait, &shutdown, Some(&wake)).await {
                return;
            }
        }
    }

    /// The loop is alive (for the watchdog).
    fn beat(&self) {
        self.progress
            .store(now_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits `wait` (or until `wake`), beating at least every 30 s so that
    /// a long wait is not mistaken for a stuck sender. True on shutdown.
    async fn pause(
        &self,
        wait: Duration,
        shutdown: &CancellationToken,
        wake: Option<&Notify>,
    ) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            self.beat();
            let now = tokio::time::Instant::now();
            if now >= until {
                return false;
            }
            let slice = (until - now).min(Duration::from_secs(30));
            let woken = async {
                match wake {
                    Some(w) => w.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return true,
                _ = woken => return false,
                _ = tokio::time::sleep(slice) => {}
            }
        }
    }

    /// Whether the relay could be used at the last try.
    pub fn relay_up(&self) -> bool {
        !self.down.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long without progress means the sender is stuck: its loop goes
    /// round at least every poll interval, and a mail takes at most a few
    /// timeouts.
    pub fn stale_after(&self) -> Duration {
        (self.policy.poll_interval * 3)
            .max(self.connector.timeout * 6)
            .max(Duration::from_secs(120))
    }

    /// Why the relay last failed as a whole, if it did.
    pub fn relay_error(&self) -> Option<String> {
        self.relay_error.lock().expect("not poisoned").clone()
    }

    /// When (Unix seconds) the sender's loop last went round or finished a
    /// mail: the watchdog's proof that sending is not stuck.
    pub fn last_progress(&self) -> u64 {
        self.progress.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Composes the claimed mail that was queued as a draft and stores its bytes
/// before any of it is sent. A draft that cannot be composed fails its row;
/// returns the mail ready to send and how many rows failed so.
fn compose_claimed(
    store: &Store,
    jobs: Vec<OutboxJob>,
    owner: &str,
) -> Result<(Vec<OutboxJob>, usize), StoreError> {
    let mut ready = Vec::with_capacity(jobs.len());
    let mut failed = 0;
    let mut composed = Vec::new();
    for mut job in jobs {
        if let Some((json, text)) = job.draft.take() {
            match Draft::from_json(&json, text).and_then(|d| compose(&d)) {
                Ok(raw) => {
                    job.raw = raw;
                    composed.push(ready.len());
                }
                Err(e) => {
                    let why = crate::report(&e).to_string();
                    warn!(outbox = job.id, error = %why, "cannot compose the mail");
                    store.mark_failed(job.id, Some(owner), &format!("cannot compose: {why}"))?;
                    failed += 1;
                    continue;
                }
            }
        }
        ready.push(job);
    }
    if !composed.is_empty() {
        let ready = &ready;
        store.store_composed(
            composed
                .iter()
                .map(|&i| (ready[i].message, ready[i].raw.as_slice())),
        )?;
    }
    Ok((ready, failed))
}

/// The claimed rows not tried: `current` unless it was charged, the rest of
/// its batch, and the batch claimed ahead.
fn pending_ids(
    current: i64,
    charged: bool,
    rest: impl Iterator<Item = OutboxJob>,
    ahead: Vec<OutboxJob>,
) -> Vec<i64> {
    (!charged)
        .then_some(current)
        .into_iter()
        .chain(rest.map(|j| j.id))
        .chain(ahead.iter().map(|j| j.id))
        .collect()
}
