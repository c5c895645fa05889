//! Starts the watchers and the sender and stops them cleanly.
//!
//! Each desk's watcher and the sender are independent tasks: a failure in
//! one is logged inside it and never takes down the others. Shutdown is one
//! `CancellationToken`; tasks stop between units of work.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use crate::config::Config;
use crate::imap::{ImapError, Watcher};
use crate::intake::Intake;
use crate::intake::Tally;
use crate::smtp::{blocking, FlushReport, Sender, SmtpSetupError};
use crate::store::{Store, StoreError};
use crate::template::{TemplateError, Templates};

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
        let sender = Arc::new(Sender::new(&config.smtp, config.outbox.clone(), store)?);
        Ok(App {
            config,
            intake,
            sender,
        })
    }

    fn watchers(&self, wake: &Arc<Notify>) -> Vec<Watcher> {
        self.intake
            .desks()
            .iter()
            .map(|d| Watcher {
                desk: d.clone(),
                intake: self.intake.clone(),
                tuning: self.config.intake.clone(),
                wake: wake.clone(),
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
        let passes = self.watchers(&wake).into_iter().map(|w| {
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
        for w in self.watchers(&wake) {
            tasks.spawn(w.run(shutdown.child_token()));
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
        shutdown.cancelled().await;
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
