//! Prometheus metrics, served as text on `[metrics] listen` (GET /metrics):
//! messages by outcome, outbox rows by state, IMAP connection state and
//! seconds since the last successful fetch per desk, acknowledgement
//! latency. Counting is always on (atomics); serving only when configured.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::model::OutboxStatus;
use crate::store::Store;
use hilo_domain::Outcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeskOutcome {
    desk: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeskLabel {
    desk: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabel {
    task: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

/// hilo's metrics; share it as `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    messages: Family<DeskOutcome, Counter>,
    connected: Family<DeskLabel, Gauge>,
    since_fetch: Family<DeskLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    outbox: Family<StateLabel, Gauge>,
    ack_latency: Histogram,
    smtp_up: Gauge,
    restarts: Family<TaskLabel, Counter>,
    auth_ok: Family<DeskLabel, Gauge>,
    last_fetch: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hilo");
        let messages = Family::<DeskOutcome, Counter>::default();
        registry.register(
            "messages",
            "Received messages by outcome (ticket, reply, auto_reply, bounce, list, own, duplicate, quarantined)",
            messages.clone(),
        );
        let connected = Family::<DeskLabel, Gauge>::default();
        registry.register(
            "imap_connected",
            "1 while the desk's IMAP connection is up",
            connected.clone(),
        );
        let since_fetch = Family::<DeskLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "seconds_since_last_fetch",
            "Seconds since the desk's mailbox was last read successfully",
            since_fetch.clone(),
        );
        let outbox = Family::<StateLabel, Gauge>::default();
        registry.register("outbox", "Outgoing mail by state", outbox.clone());
        let ack_latency =
            Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]);
        registry.register(
            "ack_latency_seconds",
            "From storing a new ticket to the SMTP server accepting its acknowledgement",
            ack_latency.clone(),
        );
        let smtp_up = Gauge::default();
        registry.register(
            "smtp_up",
            "0 while the SMTP relay is unreachable and sending is paused",
            smtp_up.clone(),
        );
        smtp_up.set(1);
        let restarts = Family::<TaskLabel, Counter>::default();
        registry.register(
            "task_restarts",
            "Times a task (a desk's watcher, the sender) ended unexpectedly and was restarted",
            restarts.clone(),
        );
        let auth_ok = Family::<DeskLabel, Gauge>::default();
        registry.register(
            "auth_ok",
            "OAuth2 logins: 1 while the desk's (or `smtp`'s) token is got, 0 while it fails",
            auth_ok.clone(),
        );
        Metrics {
            auth_ok,
            restarts,
            smtp_up,
            registry,
            messages,
            connected,
            since_fetch,
            outbox,
            ack_latency,
            last_fetch: Mutex::new(HashMap::new()),
        }
    }

    /// Counts what became of a received message.
    pub fn message(&self, desk: &str, o: &Outcome) {
        let outcome = match o {
            Outcome::Opened { .. } => "ticket",
            Outcome::Appended { .. } => "reply",
            Outcome::SetAside { kind, .. } => kind.as_str(),
            Outcome::Duplicate => "duplicate",
            Outcome::Quarantined { .. } => "quarantined",
        };
        self.messages
            .get_or_create(&DeskOutcome {
                desk: desk.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn connected(&self, desk: &str, up: bool) {
        self.connected
            .get_or_create(&DeskLabel {
                desk: desk.to_string(),
            })
            .set(i64::from(up));
    }

    /// The desk's mailbox was read successfully just now.
    pub fn fetched(&self, desk: &str) {
        if let Ok(mut m) = self.last_fetch.lock() {
            m.insert(desk.to_string(), Instant::now());
        }
    }

    /// Whether an OAuth2 login (a desk's, or `smtp`) gets its token.
    pub fn auth(&self, desk: &str, ok: bool) {
        self.auth_ok
            .get_or_create(&DeskLabel {
                desk: desk.to_string(),
            })
            .set(i64::from(ok));
    }

    pub fn task_restarted(&self, task: &str) {
        self.restarts
            .get_or_create(&TaskLabel {
                task: task.to_string(),
            })
            .inc();
    }

    /// Whether the SMTP relay could be used at the last try.
    pub fn relay_up(&self, up: bool) {
        self.smtp_up.set(i64::from(up));
    }

    /// When the desk's mailbox was last read successfully.
    pub fn last_fetch(&self, desk: &str) -> Option<Instant> {
        self.last_fetch.lock().ok()?.get(desk).copied()
    }

    pub fn ack_sent(&self, latency: Duration) {
        self.ack_latency.observe(latency.as_secs_f64());
    }

    /// The text exposition, with the gauges that are read at scrape time.
    pub fn render(&self, outbox: &[(OutboxStatus, i64)]) -> String {
        if let Ok(m) = self.last_fetch.lock() {
            for (desk, at) in m.iter() {
                self.since_fetch
                    .get_or_create(&DeskLabel { desk: desk.clone() })
                    .set(at.elapsed().as_secs_f64());
            }
        }
        for &state in OutboxStatus::ALL {
            let n = outbox
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            self.outbox
                .get_or_create(&StateLabel {
                    state: state.as_str().into(),
                })
                .set(n);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves GET /metrics on `addr` until `shutdown`.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    store: Store,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    info!(%addr, "serving metrics");
    loop {
        let (mut conn, _) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => { warn!(error = %e, "metrics accept"); continue; }
            },
        };
        let (metrics, store) = (metrics.clone(), store.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = match tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let response = if request.starts_with("GET /metrics ") || request.starts_with("GET / ")
            {
                let counts = crate::store::blocking(move || store.outbox_counts())
                    .await
                    .unwrap_or_default();
                let body = metrics.render(&counts);
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.message(
            "soporte",
            &Outcome::Opened {
                ticket: 1,
                acknowledged: true,
            },
        );
        m.message("soporte", &Outcome::Duplicate);
        m.connected("soporte", true);
        m.fetched("soporte");
        m.ack_sent(Duration::from_millis(300));
        let text = m.render(&[(OutboxStatus::Sent, 3)]);
        assert!(
            text.contains("hilo_messages_total{desk=\"soporte\",outcome=\"ticket\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("hilo_imap_connected{desk=\"soporte\"} 1"),
            "{text}"
        );
        assert!(text.contains("hilo_outbox{state=\"sent\"} 3"), "{text}");
        assert!(text.contains("hilo_outbox{state=\"pending\"} 0"), "{text}");
        assert!(text.contains("hilo_ack_latency_seconds_count 1"), "{text}");
        assert!(
            text.contains("hilo_seconds_since_last_fetch{desk=\"soporte\"}"),
            "{text}"
        );
    }
}
