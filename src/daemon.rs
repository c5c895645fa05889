//! Starts the watchers and the sender, keeps them running, and stops them
//! cleanly.
//!
//! Each desk's watcher and the sender are independent tasks: a failure in
//! one is logged inside it and never takes down the others. Each runs under
//! [`supervise`]: a task that ends before shutdown (a panic, say) is logged
//! and restarted with a backoff. Shutdown is one `CancellationToken`; tasks
//! stop between units of work. The systemd watchdog is pet only while the
//! database answers and the sender's loop makes progress; STATUS= shows each
//! desk's last successful fetch and the relay's state.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn, Instrument};

use std::collections::HashMap;

use crate::config::{Config, DeskConfig};
use crate::outgoing::templates::{TemplateError, Templates};
use crate::pipeline::Intake;
use crate::pipeline::Tally;
use crate::sender::{FlushReport, Sender, SmtpSetupError};
use crate::store::blocking;
use crate::store::{Store, StoreError};
use crate::watcher::{ImapError, Watcher};

/// Where `hilo run` re-reads its configuration from, and when (SIGHUP).
pub struct Reloads {
    pub path: std::path::PathBuf,
    pub signals: tokio::sync::mpsc::UnboundedReceiver<()>,
}

async fn recv_reload(r: &mut Option<Reloads>) -> Option<()> {
    match r {
        Some(r) => r.signals.recv().await,
        None => std::future::pending().await,
    }
}

impl App {
    /// SIGHUP: new templates and desk list. Watchers of unchanged desks keep
    /// their connection; changed desks restart, new ones start, removed ones
    /// stop. A broken configuration is refused and the running one kept.
    /// Reading the files (and running a password_command) happens on a
    /// blocking thread, within a deadline: a hung command never stalls IDLE,
    /// the sender or the watchdog.
    async fn reload(
        &mut self,
        path: &std::path::Path,
        running: &mut HashMap<String, (DeskConfig, CancellationToken)>,
        tasks: &mut tokio::task::JoinSet<()>,
        wake: &Arc<Notify>,
        shutdown: &CancellationToken,
    ) {
        notify_systemd(&[sd_notify::NotifyState::Reloading]);
        let path = path.to_path_buf();
        let load = tokio::task::spawn_blocking(move || {
            Config::load(&path)
                .map_err(|e| crate::report(&e).to_string())
                .and_then(|c| {
                    Templates::load(&c)
                        .map(|t| (c, t))
                        .map_err(|e| crate::report(&e).to_string())
                })
        });
        let deadline = crate::config::SECRET_COMMAND_TIMEOUT * 2;
        let result = match tokio::time::timeout(deadline, load).await {
            Err(_) => Err(format!(
                "reading the configuration took more than {deadline:?}"
            )),
            Ok(Err(e)) => Err(format!("reading the configuration failed: {e}")),
            Ok(Ok(r)) => r,
        };
        let (config, templates) = match result {
            Ok(ct) => ct,
            Err(e) => {
                error!(error = %e, "reload refused; keeping the running configuration");
                notify_systemd(&[sd_notify::NotifyState::Ready]);
                return;
            }
        };
        let c = &self.config;
        if (
            &config.store,
            &config.smtp,
            &config.outbox,
            config.metrics_listen,
        ) != (&c.store, &c.smtp, &c.outbox, c.metrics_listen)
        {
            warn!("changes to [store], [smtp], [outbox] and [metrics] take effect on restart");
        }
        self.intake.reload(&config, templates);
        // Targets or calendars may have changed: every open ticket is
        // measured again by the next timer pass.
        let store = self.intake.store().clone();
        if let Err(e) = blocking(move || store.sla_remeasure_all()).await {
            warn!(error = %crate::report(&e), "cannot mark tickets for the timers");
        }
        wake.notify_waiters();
        let (mut kept, mut restarted, mut started) = (0, 0, 0);
        for d in &config.desks {
            match running.get(&d.name) {
                Some((cfg, _)) if cfg == d => {
                    kept += 1;
                    continue;
                }
                Some((_, token)) => {
                    token.cancel();
                    restarted += 1;
                }
                None => started += 1,
            }
            let Some(desk) = self.intake.desk(&d.name) else {
                continue;
            };
            let token = shutdown.child_token();
            running.insert(d.name.clone(), (d.clone(), token.clone()));
            let w = Watcher {
                desk,
                intake: self.intake.clone(),
                tuning: config.intake.clone(),
                wake: wake.clone(),
                attempted: None,
                misses: Default::default(),
                tokens: self.tokens.clone(),
            };
            tasks.spawn(supervise(
                format!("watcher {}", d.name),
                self.intake.metrics().clone(),
                token.clone(),
                move || w.clone().run(token.clone()),
            ));
        }
        let gone: Vec<String> = running
            .keys()
            .filter(|n| !config.desks.iter().any(|d| &d.name == *n))
            .cloned()
            .collect();
        for name in &gone {
            if let Some((_, token)) = running.remove(name) {
                token.cancel();
            }
        }
        info!(
            kept,
            restarted,
            started,
            stopped = gone.len(),
            "configuration reloaded"
        );
        self.config = config;
        notify_systemd(&[sd_notify::NotifyState::Ready]);
    }
}

/// Tells systemd (when it started us with Type=notify); a no-op otherwise.
fn notify_systemd(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!(error = %e, "cannot notify systemd");
    }
}

/// How often STATUS= is refreshed (and, at most, the watchdog pet).
const STATUS_EVERY: Duration = Duration::from_secs(30);

/// Longest sleep between timer passes: the timers look at the wall
/// clock when they wake, so a suspend or a clock jump is caught up within
/// this, and a ticket changed since the last pass is measured by then.
pub const TIMER_NAP: Duration = Duration::from_secs(60);

/// The timers' task: a pass, then a sleep until the earliest warning or
/// due time (at most [`TIMER_NAP`]). A store error is logged and the
/// pass tried again after the nap: the work waits for the database.
async fn timers(intake: Intake, wake: Arc<Notify>, shutdown: CancellationToken) {
    let store = intake.store().clone();
    // Targets may have changed while hilo was down.
    if let Err(e) = blocking(move || store.sla_remeasure_all()).await {
        warn!(error = %crate::report(&e), "cannot mark tickets for the timers");
    }
    loop {
        let i = intake.clone();
        let pass = blocking(move || {
            let pass = i.timers()?;
            let (digests, digest_next) = i.digests(i.store().now())?;
            let next = i.store().sla_next()?;
            let next = match (next, digest_next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Ok::<_, StoreError>((pass.mails + digests, next))
        })
        .await;
        let next = match pass {
            Ok((mails, next)) => {
                if mails > 0 {
                    // The sender waits on the same bell.
                    wake.notify_waiters();
                }
                next
            }
            Err(e) => {
                warn!(error = %crate::report(&e), "timers failed; trying again");
                None
            }
        };
        let now = intake.store().now();
        let nap = next
            .map(|n| (n - now).to_std().unwrap_or(Duration::ZERO))
            .map_or(TIMER_NAP, |d| d.min(TIMER_NAP))
            .max(Duration::from_millis(200));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// Runs the task `make` builds until `shutdown`; when it ends before (it
/// panicked, or returned), logs it, counts it in `hilo_task_restarts`, and
/// starts a new one after a backoff (1 s doubling to 60 s; back to 1 s once
/// a run lasted a minute).
pub async fn supervise<F, Fut>(
    name: String,
    metrics: Arc<crate::metrics::Metrics>,
    shutdown: CancellationToken,
    make: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut delay = Duration::from_secs(1);
    loop {
        // tokio's clock, so that tests run this under paused time.
        let started = tokio::time::Instant::now();
        let r = tokio::spawn(make()).await;
        if shutdown.is_cancelled() {
            return;
        }
        match r {
            Ok(()) => {
                error!(task = %name, retry_in = ?delay, "task ended unexpectedly; restarting it")
            }
            Err(e) if e.is_panic() => {
                let why = crate::panic_message(&*e.into_panic());
                error!(task = %name, panic = %why, retry_in = ?delay, "task panicked; restarting it");
            }
            Err(e) => {
                error!(task = %name, error = %e, retry_in = ?delay, "task failed; restarting it")
            }
        }
        metrics.task_restarted(&name);
        if started.elapsed() > Duration::from_secs(60) {
            delay = Duration::from_secs(1);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
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
    #[error(transparent)]
    Now(#[from] crate::clock::NowError),
}

/// What the daemon is made of, built once from the configuration.
pub struct App {
    pub config: Config,
    pub intake: Intake,
    pub sender: Arc<Sender>,
    /// OAuth2 access tokens of the mailboxes and the relay that use them.
    pub tokens: Arc<crate::auth::Tokens>,
}

impl App {
    /// Opens (and migrates) the store and builds every part. Blocking work
    /// runs off the async threads.
    pub async fn start(config: Config) -> Result<App, StartError> {
        let path = config.store.path.clone();
        let clock = crate::clock::from_env()?;
        let store = blocking(move || Store::open(&path))
            .await?
            .with_clock(clock);
        Self::with_store(config, store)
    }

    pub fn with_store(config: Config, store: Store) -> Result<App, StartError> {
        let templates = Templates::load(&config)?;
        // One set of counters, built here and handed to each part.
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let intake = Intake::with_metrics(&config, store.clone(), templates, metrics.clone());
        let tokens =
            crate::auth::Tokens::with_metrics(store.clone(), &config, Some(metrics.clone()));
        let sender = Arc::new(Sender::new(
            &config.smtp,
            config.outbox.clone(),
            store,
            metrics,
            Some(tokens.clone()),
        )?);
        Ok(App {
            config,
            intake,
            sender,
            tokens,
        })
    }

    /// One line for systemd's STATUS=: each desk's last successful fetch,
    /// the relay, and when the sender's loop last went round.
    fn status(&self) -> String {
        let m = self.intake.metrics();
        let desks: Vec<String> = self
            .config
            .desks
            .iter()
            .map(|d| match m.last_fetch(&d.name) {
                Some(at) => format!("{} read {}s ago", d.name, at.elapsed().as_secs()),
                None => format!("{} not read yet", d.name),
            })
            .collect();
        let relay = match self.sender.relay_error() {
            Some(e) if !self.sender.relay_up() => format!("relay down ({e})"),
            _ => "relay up".to_string(),
        };
        let sender = crate::sender::now_secs().saturating_sub(self.sender.last_progress());
        format!("{}; {relay}, sender active {sender}s ago", desks.join(", "))
    }

    /// Alive means: the database answers within `within`, and the sender's
    /// loop went round recently (it does, even while the relay is down).
    async fn alive(&self, within: Duration) -> Result<(), String> {
        let store = self.intake.store().clone();
        let probe = blocking(move || store.ping());
        match tokio::time::timeout(within, probe).await {
            Ok(Ok(_)) => {}
            _ => return Err("the database did not answer".into()),
        }
        let stale = self.sender.stale_after();
        let idle = crate::sender::now_secs().saturating_sub(self.sender.last_progress());
        if idle > stale.as_secs() {
            return Err(format!("the sender made no progress for {idle} s"));
        }
        Ok(())
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
                misses: Default::default(),
                tokens: self.tokens.clone(),
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
                Err(e) => warn!(desk = %name, error = %crate::report(e), "mailbox pass failed"),
            }
            results.push((name, r));
        }
        let i = self.intake.clone();
        if let Err(e) = blocking(move || i.close_resolved()).await {
            warn!(error = %crate::report(&e), "housekeeping failed");
        }
        let i = self.intake.clone();
        if let Err(e) = blocking(move || {
            i.timers()?;
            i.digests(i.store().now())
        })
        .await
        {
            warn!(error = %crate::report(&e), "timers failed");
        }
        let flushed = if send {
            self.sender.flush().await.map(Some)
        } else {
            Ok(None)
        };
        (results, flushed)
    }

    /// `hilo run`: watch every mailbox and send until `shutdown`. Each
    /// message on `reloads` re-reads the configuration file at `path`.
    pub async fn run(mut self, shutdown: CancellationToken, mut reloads: Option<Reloads>) {
        let wake = Arc::new(Notify::new());
        let mut tasks = tokio::task::JoinSet::new();
        let (attempted, mut attempts) = tokio::sync::mpsc::unbounded_channel();
        let mut running: HashMap<String, (DeskConfig, CancellationToken)> = HashMap::new();
        for w in self.watchers(&wake, Some(attempted)) {
            let token = shutdown.child_token();
            let name = w.desk.cfg.name.clone();
            running.insert(name.clone(), (w.desk.cfg.clone(), token.clone()));
            tasks.spawn(supervise(
                format!("watcher {name}"),
                self.intake.metrics().clone(),
                token.clone(),
                move || w.clone().run(token.clone()),
            ));
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
                    Err(e) => warn!(error = %crate::report(&e), "housekeeping failed"),
                }
            }
        });
        // Timers: service-level warnings and breaches.
        let (intake, sd, w) = (self.intake.clone(), shutdown.child_token(), wake.clone());
        tasks.spawn(supervise(
            "timers".into(),
            self.intake.metrics().clone(),
            sd.clone(),
            move || {
                timers(intake.clone(), w.clone(), sd.clone())
                    .instrument(tracing::info_span!("timers"))
            },
        ));
        let (sender, sd, w) = (self.sender.clone(), shutdown.child_token(), wake.clone());
        tasks.spawn(supervise(
            "sender".into(),
            self.intake.metrics().clone(),
            sd.clone(),
            move || {
                sender
                    .clone()
                    .run(w.clone(), sd.clone())
                    .instrument(tracing::info_span!("sender"))
            },
        ));
        info!(desks = self.config.desks.len(), "hilo running");
        for w in self.config.warnings() {
            tracing::warn!("{w}");
        }

        // systemd: ready once every desk is connected or retrying (the
        // migrations ran in App::start); then pet the watchdog from here.
        let mut waiting: std::collections::HashSet<String> =
            self.config.desks.iter().map(|d| d.name.clone()).collect();
        let mut ready = waiting.is_empty();
        if ready {
            notify_systemd(&[sd_notify::NotifyState::Ready]);
        }
        let pet_every = sd_notify::watchdog_enabled().map(|d| d / 2);
        let mut pet =
            tokio::time::interval(pet_every.map_or(STATUS_EVERY, |p| p.min(STATUS_EVERY)));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(()) = recv_reload(&mut reloads) => {
                    let path = reloads.as_ref().map(|r| r.path.clone()).unwrap_or_default();
                    self.reload(&path, &mut running, &mut tasks, &wake, &shutdown).await;
                }
                Some(desk) = attempts.recv(), if !ready => {
                    waiting.remove(&desk);
                    if waiting.is_empty() {
                        ready = true;
                        info!("ready: every desk is connected or retrying");
                        notify_systemd(&[sd_notify::NotifyState::Ready]);
                    }
                }
                _ = pet.tick(), if ready => {
                    let status = self.status();
                    notify_systemd(&[sd_notify::NotifyState::Status(&status)]);
                    if let Some(every) = pet_every {
                        match self.alive(every).await {
                            Ok(()) => notify_systemd(&[sd_notify::NotifyState::Watchdog]),
                            Err(why) => warn!(%why, "not petting the watchdog"),
                        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::time::Instant;

    /// A task that ends at once is restarted after 1, 2, 4 … s, capped at
    /// 60 s; one that ran for more than a minute starts the backoff over.
    /// Under tokio's paused clock: no second of real time passes.
    #[tokio::test(start_paused = true)]
    async fn a_dying_task_is_restarted_with_a_doubling_backoff() {
        let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let shutdown = CancellationToken::new();
        let (log, stop) = (starts.clone(), shutdown.clone());
        let t0 = Instant::now();
        let run = tokio::spawn(supervise(
            "test".into(),
            Arc::new(crate::metrics::Metrics::new()),
            shutdown.clone(),
            move || {
                let (log, stop) = (log.clone(), stop.clone());
                async move {
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push(Instant::now());
                        l.len()
                    };
                    match n {
                        // The tenth run lives 90 s: the backoff starts over.
                        10 => tokio::time::sleep(Duration::from_secs(90)).await,
                        12 => stop.cancel(),
                        _ => {}
                    }
                }
            },
        ));
        run.await.unwrap();
        let at: Vec<u64> = starts
            .lock()
            .unwrap()
            .iter()
            .map(|t| (*t - t0).as_secs())
            .collect();
        let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, [1, 2, 4, 8, 16, 32, 60, 60, 60, 90 + 1, 2], "{at:?}");
        assert!(shutdown.is_cancelled());
    }
}
