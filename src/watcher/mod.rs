//! The watcher: the only module that speaks IMAP. One per desk mailbox.
//!
//! It fetches by UID everything above the desk's checkpoint, in batches, and
//! hands each batch to the intake, which stores it and advances the
//! checkpoint in one transaction. Flags (`\Seen`) are never consulted: other
//! clients change them. Every command has a timeout; a lost connection is
//! rebuilt with exponential backoff (1 s doubling to 60 s, with jitter),
//! reset only by a completed pass.
//!
//! `session` connects and logs in; `sync` is one pass (start point and the
//! batch pipeline); `fetch` reads sizes and batches; `after` runs the
//! server-side step and the sweep; `import` is `hilo import`. This file has
//! the connection loop (IDLE or polling) and its backoff.

mod after;
mod fetch;
mod import;
mod session;
mod sync;

pub use session::{connect, connect_as, ImapError, LoginInfo, Mailbox, Session, Stream};

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn, Instrument};

use crate::config::{ImapConfig, IntakeConfig};
use crate::pipeline::{DeskRuntime, Intake, Tally};
use session::timed;

/// Why an IDLE ended.
enum Wake {
    NewData,
    Renew,
    Shutdown,
}

/// One desk's mailbox watcher.
#[derive(Clone)]
pub struct Watcher {
    pub desk: DeskRuntime,
    pub intake: Intake,
    pub tuning: IntakeConfig,
    /// Woken after each committed batch, so the sender sends at once.
    pub wake: Arc<Notify>,
    /// Told the desk's name after each connection attempt (for readiness).
    pub attempted: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// The UID the server last listed but did not return, and how many
    /// passes in a row it did so (see [`MAX_MISSES`]).
    pub misses: Arc<std::sync::Mutex<(u32, u32)>>,
    /// OAuth2 access tokens, for a mailbox that logs in with them.
    pub tokens: Arc<crate::auth::Tokens>,
}

/// Passes in a row a listed UID may fail to come back before it is set
/// aside (a quarantine entry that says so) and the folder read past it:
/// one message the server cannot deliver must not block the mailbox.
pub const MAX_MISSES: u32 = 5;

impl Watcher {
    pub(super) fn imap(&self) -> &ImapConfig {
        &self.desk.cfg.imap
    }

    pub(super) fn name(&self) -> &str {
        &self.desk.cfg.name
    }

    /// Connects and logs in (with a password or the desk's OAuth2 token).
    pub(super) async fn open(&self, timeout: Duration) -> Result<(Session, Mailbox), ImapError> {
        let account = crate::auth::Account::imap(&self.desk.cfg);
        let oauth = account.as_ref().map(|a| (&*self.tokens, a));
        connect_as(self.imap(), timeout, oauth, &mut LoginInfo::default()).await
    }

    /// One pass for `hilo run --once`: connect, sync, log out.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<Tally, ImapError> {
        let (mut session, mb) = self.open(self.tuning.command_timeout).await?;
        self.prepare_moves(&mut session, &mb).await?;
        let report = self.sync(&mut session, &mb, shutdown).await?;
        let _ = timed(self.tuning.command_timeout, "LOGOUT", session.logout()).await;
        Ok(report)
    }

    fn report_attempt(&self) {
        if let Some(tx) = &self.attempted {
            let _ = tx.send(self.desk.cfg.name.clone());
        }
    }

    /// Watches until `shutdown`: sync, wait (IDLE or poll), repeat;
    /// reconnect with backoff.
    pub async fn run(self, shutdown: CancellationToken) {
        let span = tracing::info_span!("desk", desk = %self.desk.cfg.name);
        async move {
            let mut backoff = Backoff::new();
            while !shutdown.is_cancelled() {
                match self.session_loop(&shutdown, &mut backoff).await {
                    Ok(()) => return,
                    Err(e) => {
                        self.intake.metrics().connected(&self.desk.cfg.name, false);
                        self.report_attempt();
                        let delay = if e.is_auth() {
                            backoff.slow()
                        } else {
                            backoff.next_delay()
                        };
                        warn!(error = %crate::report(&e), retry_in = ?delay, "mailbox unavailable");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(delay) => {}
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn session_loop(
        &self,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<(), ImapError> {
        let t = self.tuning.command_timeout;
        let (mut session, mb) = self.open(t).await?;
        let idle = mb.idle && self.tuning.idle;
        info!(folder = %self.imap().folder, idle, "connected");
        self.intake.metrics().connected(&self.desk.cfg.name, true);
        self.report_attempt();
        self.prepare_moves(&mut session, &mb).await?;
        loop {
            let r = self.sync(&mut session, &mb, shutdown).await?;
            // Progress, not a login, resets the backoff: a desk stuck on one
            // message (or one failing after-action) backs off exponentially.
            backoff.reset();
            self.intake.metrics().fetched(&self.desk.cfg.name);
            if r.fetched > 0 {
                info!(
                    fetched = r.fetched,
                    opened = r.opened,
                    quarantined = r.quarantined,
                    "synced"
                );
            }
            if shutdown.is_cancelled() {
                let _ = timed(t, "LOGOUT", session.logout()).await;
                return Ok(());
            }
            if idle {
                let (s, wake) = self.idle_wait(session, shutdown).await?;
                session = s;
                match wake {
                    Wake::Shutdown => {
                        let _ = timed(t, "LOGOUT", session.logout()).await;
                        return Ok(());
                    }
                    Wake::NewData | Wake::Renew => {}
                }
            } else {
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        let _ = timed(t, "LOGOUT", session.logout()).await;
                        return Ok(());
                    }
                    _ = tokio::time::sleep(self.tuning.poll_interval) => {}
                }
                // Lets the server report new mail, and proves the connection is alive.
                timed(t, "NOOP", session.noop()).await?;
            }
        }
    }

    /// Waits in IDLE until the server reports something, the renewal time
    /// passes, or shutdown. Always ends the IDLE before returning.
    async fn idle_wait(
        &self,
        session: Session,
        shutdown: &CancellationToken,
    ) -> Result<(Session, Wake), ImapError> {
        use async_imap::extensions::idle::IdleResponse;
        let t = self.tuning.command_timeout;
        let mut handle = session.idle();
        timed(t, "IDLE", handle.init()).await?;
        debug!("waiting in IDLE");
        let wake = {
            let (wait, _stop) = handle.wait_with_timeout(self.tuning.idle_renew);
            tokio::select! {
                _ = shutdown.cancelled() => Wake::Shutdown,
                r = wait => match r {
                    Ok(IdleResponse::NewData(_)) => Wake::NewData,
                    Ok(IdleResponse::Timeout) => Wake::Renew,
                    // The stream ended: the connection is gone; DONE below fails and we reconnect.
                    Ok(IdleResponse::ManualInterrupt) => Wake::NewData,
                    Err(e) => return Err(ImapError::Protocol { command: "IDLE", cause: e }),
                },
            }
        };
        let session = timed(t, "DONE", handle.done()).await?;
        Ok((session, wake))
    }
}

/// Reconnect delays: 1 s doubling to 60 s, each with up to 25 % jitter.
#[derive(Debug)]
pub struct Backoff {
    current: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(60);
    /// Rejected credentials are retried this slowly.
    const AUTH: Duration = Duration::from_secs(300);

    pub fn new() -> Self {
        Backoff {
            current: Self::FIRST,
        }
    }
    pub fn reset(&mut self) {
        self.current = Self::FIRST;
    }
    pub fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = (self.current * 2).min(Self::CAP);
        jitter(d)
    }
    pub fn slow(&mut self) -> Duration {
        jitter(Self::AUTH)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

fn jitter(d: Duration) -> Duration {
    let extra = rand::thread_rng().gen_range(0.0..0.25);
    d + d.mul_f64(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let mut b = Backoff::new();
        let d: Vec<u64> = (0..9).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(d[0], 1);
        assert_eq!(d[1], 2);
        assert!(d[8] >= 60 && d[8] <= 75, "{d:?}");
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
    }
}
