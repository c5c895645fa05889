//! The sender: the only module that speaks SMTP. It reads due rows from the
//! outbox and delivers their stored bytes verbatim over one pooled lettre
//! transport.
//!
//! Failures are classified before retrying: a 5xx answer is permanent and
//! marks the row failed with the server's words; IO, TLS, timeouts and 4xx
//! are transient and retried on the configured schedule until the row
//! expires. The intake never waits for the sender.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::{OutboxConfig, Security, SmtpConfig};
use crate::store::{OutboxJob, Store, StoreError};

/// How long a claimed row stays ours before another sender may take it.
const LEASE: Duration = Duration::from_secs(300);
const CLAIM_BATCH: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("smtp.ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("smtp: {0}")]
    Tls(lettre::transport::smtp::Error),
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Retry,
    Failed,
}

/// Counts of one flush.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    pub sent: usize,
    pub retry: usize,
    pub failed: usize,
}

pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    store: Store,
    policy: OutboxConfig,
    /// This host, and `host:pid`: who holds the leases this sender takes.
    host: String,
    owner: String,
    metrics: Arc<crate::metrics::Metrics>,
}

/// Is process `pid` of this host still running?
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true // cannot tell: leases run out on their own
    }
}

fn build_transport(cfg: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, SmtpSetupError> {
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
        .port(cfg.port)
        .timeout(Some(cfg.timeout));
    if cfg.security != Security::None {
        let mut params = TlsParameters::builder(cfg.host.clone());
        if let Some(path) = &cfg.ca_file {
            let err = |message: String| SmtpSetupError::CaFile {
                path: path.display().to_string(),
                message,
            };
            let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| err(e.to_string()))?;
            params = params.add_root_certificate(cert);
        }
        let params = params.build_rustls().map_err(SmtpSetupError::Tls)?;
        b = b.tls(match cfg.security {
            Security::Starttls => Tls::Required(params),
            _ => Tls::Wrapper(params),
        });
    }
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        b = b.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    if let Some(name) = &cfg.hello_name {
        b = b.hello_name(ClientId::Domain(name.clone()));
    }
    Ok(b.build())
}

/// Connects, says EHLO, upgrades with STARTTLS and authenticates as
/// configured, then quits: what `hilo check` needs to know.
pub async fn test_connection(cfg: &SmtpConfig) -> Result<(), String> {
    let t = build_transport(cfg).map_err(|e| e.to_string())?;
    match t.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err("the server did not answer NOOP".into()),
        Err(e) => Err(e.to_string()),
    }
}

impl Sender {
    pub fn new(
        cfg: &SmtpConfig,
        policy: OutboxConfig,
        store: Store,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<Sender, SmtpSetupError> {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        Ok(Sender {
            transport: build_transport(cfg)?,
            store,
            policy,
            owner: format!("{host}:{}", std::process::id()),
            host,
            metrics,
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
        let (store, host) = (self.store.clone(), self.host.clone());
        let released = blocking(move || store.release_dead_leases(&host, alive)).await?;
        if released > 0 {
            info!(released, "took over mail claimed by a sender that stopped");
        }
        loop {
            let (store, owner) = (self.store.clone(), self.owner.clone());
            let jobs = blocking(move || store.claim_due(LEASE, CLAIM_BATCH, &owner)).await?;
            if jobs.is_empty() {
                return Ok(report);
            }
            for job in jobs {
                if stop.is_cancelled() {
                    return Ok(report);
                }
                match self.deliver(job).await? {
                    Delivery::Sent => report.sent += 1,
                    Delivery::Retry => report.retry += 1,
                    Delivery::Failed => report.failed += 1,
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(outbox = job.id))]
    async fn deliver(&self, job: OutboxJob) -> Result<Delivery, StoreError> {
        let store = self.store.clone();
        let envelope = match envelope(&job) {
            Ok(e) => e,
            Err(msg) => {
                warn!(error = %msg, "undeliverable envelope");
                blocking(move || store.mark_failed(job.id, &msg)).await?;
                return Ok(Delivery::Failed);
            }
        };
        let result = self.transport.send_raw(&envelope, &job.raw).await;
        let id = job.id;
        match result {
            Ok(resp) => {
                info!(code = %resp.code(), kind = %job.kind, "sent");
                if job.kind == "ack" {
                    if let Ok(created) = chrono::DateTime::parse_from_rfc3339(&job.created_at) {
                        let age = Utc::now().signed_duration_since(created.with_timezone(&Utc));
                        self.metrics.ack_sent(age.to_std().unwrap_or_default());
                    }
                }
                blocking(move || store.mark_sent(id)).await?;
                Ok(Delivery::Sent)
            }
            Err(e) if e.is_permanent() => {
                let msg = format!("permanent: {e}");
                warn!(error = %e, "rejected by the SMTP server");
                blocking(move || store.mark_failed(id, &msg)).await?;
                Ok(Delivery::Failed)
            }
            Err(e) => {
                let attempt = job.attempts as usize;
                let expired = job.expires_at <= crate::store::now();
                if expired {
                    let msg = format!("expired after {} attempts: {e}", attempt + 1);
                    warn!(error = %e, "giving up");
                    blocking(move || store.mark_failed(id, &msg)).await?;
                    return Ok(Delivery::Failed);
                }
                let delay = self.policy.retry[attempt.min(self.policy.retry.len() - 1)];
                let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                let msg = format!("transient: {e}");
                warn!(error = %e, retry_in = ?delay, "will retry");
                blocking(move || store.mark_retry(id, next, &msg)).await?;
                Ok(Delivery::Retry)
            }
        }
    }

    /// Sends due mail until `shutdown`, waking on `wake` (new rows) or when
    /// the next retry is due. Finishes the row in flight before returning.
    pub async fn run(self: Arc<Self>, wake: Arc<Notify>, shutdown: CancellationToken) {
        loop {
            match self.flush_until(&shutdown).await {
                Ok(r) if r != FlushReport::default() => debug!(?r, "outbox flushed"),
                Ok(_) => {}
                Err(e) => warn!(error = %e, "outbox unavailable; will retry"),
            }
            let store = self.store.clone();
            let next = blocking(move || store.next_due()).await.ok().flatten();
            let mut wait = self.policy.poll_interval;
            if let Some(n) = next {
                let until = (n - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(until.max(Duration::from_millis(50)));
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

fn envelope(job: &OutboxJob) -> Result<Envelope, String> {
    let from = job
        .envelope_from
        .parse()
        .map_err(|e| format!("bad sender {}: {e}", job.envelope_from))?;
    let to = job
        .recipients
        .iter()
        .map(|r| r.parse().map_err(|e| format!("bad recipient {r}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(from), to).map_err(|e| e.to_string())
}

/// Runs blocking store work off the async worker threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
