//! Starts the watchers and the sender and stops them cleanly.
//!
//! Each desk's watcher and the sender are independent tasks: a failure in
//! one is logged inside it and never takes down the others. Shutdown is one
//! `CancellationToken`; tasks stop between units of work.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn, Instrument};

use crate::config::Config;
use crate::imap::{ImapError, Watcher};
use crate::intake::Intake;
use crate::intake::Tally;
use crate::smtp::{blocking, FlushReport, Sender, SmtpSetupError};
use crate::store::{Store, StoreError};
use crate::template::{TemplateError, Templates};

/// Tells systemd (when it started us with Type=notify); a no-op otherwise.
fn notify_systemd(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!(error = %e, "cannot notify systemd");
    }
}

/// How long shutdown waits for tasks to finish their unit of work.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Smtp(#[from] SmtpSetupError),
}

/// What the daemon is made of, built once from the configuration.
pub struct App {
    pub config: Config,
    pub intake: Intake,
    pub sender: Arc<Sender>,
}

impl App {
    /// Opens (and migrates) the store and builds every part. Blocking work
    /// runs off the async threads.
    pub async fn start(config: Config) -> Result<App, StartError> {
        let path = config.store.path.clone();
        let store = blocking(move || Store::open(&path)).await?;
        Self::with_store(config, store)
    }

    pub fn with_store(config: Config, store: Store) -> Result<App, StartError> {
        let templates = Templates::load(&config)?;
        let intake = Intake::new(&config, store.clone(), templates);
        let sender = Arc::new(Sender::new(
            &config.smtp,
            config.outbox.clone(),
            store,
            intake.metrics().clone(),
        )?);
        Ok(App {
            config,
            intake,
            sender,
        })
    }

    fn watchers(
        &self,
        wake: &Arc<Notify>,
        attempted: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    ) -> Vec<Watcher> {
        self.intake
            .desks()
            .iter()
            .map(|d| Watcher {
                desk: d.clone(),
                intake: self.intake.clone(),
                tuning: self.config.intake.clone(),
                wake: wake.clone(),
                attempted: attempted.clone(),
            })
            .collect()
    }

    /// `hilo run --once`: one pass over every mailbox, then send what is due.
    /// Returns per-desk results; a desk that failed does not stop the others.
    pub async fn run_once(
        &self,
        shutdown: &CancellationToken,
        send: bool,
    ) -> (
        Vec<(String, Result<Tally, ImapError>)>,
        Result<Option<FlushReport>, StoreError>,
    ) {
        let wake = Arc::new(Notify::new());
        let mut results = Vec::new();
        let passes = self.watchers(&wake, None).into_iter().map(|w| {
            let name = w.desk.cfg.name.clone();
            let span = tracing::info_span!("desk", desk = %name);
            async move { (name, w.run_once(shutdown).await) }.instrument(span)
        });
        for (name, r) in futures::future::join_all(passes).await {
            match &r {
                Ok(rep) => info!(desk = %name, "{rep}"),
                Err(e) => warn!(desk = %name, error = %e, "mailbox pass failed"),
            }
            results.push((name, r));
        }
        let i = self.intake.clone();
        if let Err(e) = blocking(move || i.close_resolved()).await {
            warn!(error = %e, "housekeeping failed");
        }
        let flushed = if send {
            self.sender.flush().await.map(Some)
        } else {
            Ok(None)
        };
        (results, flushed)
    }

    /// `hilo run`: watch every mailbox and send until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let wake = Arc::new(Notify::new());
        let mut tasks = tokio::task::JoinSet::new();
        let (attempted, mut attempts) = tokio::sync::mpsc::unbounded_channel();
        for w in self.watchers(&wake, Some(attempted)) {
            tasks.spawn(w.run(shutdown.child_token()));
        }
        if let Some(addr) = self.config.metrics_listen {
            let (m, store, sd) = (
                self.intake.metrics().clone(),
                self.intake.store().clone(),
                shutdown.child_token(),
            );
            tasks.spawn(async move {
                if let Err(e) = crate::metrics::serve(addr, m, store, sd).await {
                    error!(%addr, error = %e, "cannot serve metrics");
                }
            });
        }
        // Housekeeping: resolved tickets close after their desk's close_after.
        let intake = self.intake.clone();
        let sd = shutdown.child_token();
        tasks.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            loop {
                tokio::select! {
                    _ = sd.cancelled() => return,
                    _ = every.tick() => {}
                }
                let i = intake.clone();
                match blocking(move || i.close_resolved()).await {
                    Ok(0) => {}
                    Ok(n) => info!(closed = n, "closed resolved tickets"),
                    Err(e) => warn!(error = %e, "housekeeping failed"),
                }
            }
        });
        let sender = self.sender.clone();
        let sd = shutdown.child_token();
        tasks.spawn(
            sender
                .run(wake, sd)
                .instrument(tracing::info_span!("sender")),
        );
        info!(desks = self.config.desks.len(), "hilo running");

        // systemd: ready once every desk is connected or retrying (the
        // migrations ran in App::start); then pet the watchdog from here.
        let mut waiting: std::collections::HashSet<String> =
            self.config.desks.iter().map(|d| d.name.clone()).collect();
        let mut ready = waiting.is_empty();
        if ready {
            notify_systemd(&[sd_notify::NotifyState::Ready]);
        }
        let pet_every = sd_notify::watchdog_enabled().map(|d| d / 2);
        let mut pet = tokio::time::interval(pet_every.unwrap_or(Duration::from_secs(3600)));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(desk) = attempts.recv(), if !ready => {
                    waiting.remove(&desk);
                    if waiting.is_empty() {
                        ready = true;
                        info!("ready: every desk is connected or retrying");
                        notify_systemd(&[sd_notify::NotifyState::Ready]);
                    }
                }
                _ = pet.tick(), if ready && pet_every.is_some() => {
                    // Alive means the runtime runs and the database answers.
                    let store = self.intake.store().clone();
                    let probe = blocking(move || store.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)));
                    match tokio::time::timeout(pet_every.unwrap_or_default(), probe).await {
                        Ok(Ok(_)) => notify_systemd(&[sd_notify::NotifyState::Watchdog]),
                        _ => warn!("database did not answer: not petting the watchdog"),
                    }
                }
            }
        }
        notify_systemd(&[sd_notify::NotifyState::Stopping]);
        info!("shutting down");
        let all_done = async {
            while let Some(r) = tasks.join_next().await {
                if let Err(e) = r {
                    warn!(error = %e, "task ended abnormally");
                }
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, all_done)
            .await
            .is_err()
        {
            warn!("tasks did not stop in time; aborting them");
            tasks.abort_all();
        }
        info!("stopped");
    }
}
