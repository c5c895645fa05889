//! The watcher: the only module that speaks IMAP. One per desk mailbox.
//!
//! It fetches by UID everything above the desk's checkpoint, in batches, and
//! hands each batch to the intake, which stores it and advances the
//! checkpoint in one transaction. Flags (`\Seen`) are never consulted: other
//! clients change them. Every command has a timeout; a lost connection is
//! rebuilt with exponential backoff (1 s doubling to 60 s, with jitter).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::TryStreamExt;
use rand::Rng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use crate::config::{ImapConfig, IntakeConfig, Security};
use crate::intake::{DeskRuntime, Intake, Outcome, Received};
use crate::store::{Checkpoint, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {addr}: {cause}")]
    Connect { addr: String, cause: std::io::Error },
    #[error("TLS with {host}: {message}")]
    Tls { host: String, message: String },
    #[error("the server rejected the login of {user}: {message}")]
    Auth { user: String, message: String },
    #[error("IMAP {command}: {cause}")]
    Protocol {
        command: &'static str,
        cause: async_imap::error::Error,
    },
    #[error("IMAP {0}: no answer within the timeout")]
    Timeout(&'static str),
    #[error("folder has no UIDVALIDITY")]
    NoUidValidity,
    #[error("the server did not return UID {0} it listed; will retry")]
    Missing(u32),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ImapError {
    /// Wrong credentials: retried slowly, never in a tight loop.
    pub fn is_auth(&self) -> bool {
        matches!(self, ImapError::Auth { .. })
    }
}

/// A plain or TLS connection, as async-imap wants one type.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Session = async_imap::Session<Stream>;

/// TLS settings: the system's roots plus an optional extra CA. Verified always.
pub fn tls_config(
    ca_file: Option<&Path>,
    host: &str,
) -> Result<Arc<rustls::ClientConfig>, ImapError> {
    let err = |message: String| ImapError::Tls {
        host: host.to_string(),
        message,
    };
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A broken system certificate must not stop the others from loading.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
        for c in certs {
            let c = c.map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
            roots
                .add(c)
                .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

async fn timed<T, E>(
    t: Duration,
    command: &'static str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError>
where
    E: Into<async_imap::error::Error>,
{
    match tokio::time::timeout(t, fut).await {
        Err(_) => Err(ImapError::Timeout(command)),
        Ok(Err(e)) => Err(ImapError::Protocol {
            command,
            cause: e.into(),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

async fn start_tls(cfg: &ImapConfig, tcp: TcpStream) -> Result<Stream, ImapError> {
    let tls = tls_config(cfg.ca_file.as_deref(), &cfg.host)?;
    let name =
        rustls_pki_types::ServerName::try_from(cfg.host.clone()).map_err(|e| ImapError::Tls {
            host: cfg.host.clone(),
            message: e.to_string(),
        })?;
    let s = TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| ImapError::Tls {
            host: cfg.host.clone(),
            message: e.to_string(),
        })?;
    Ok(Stream::Tls(Box::new(s)))
}

/// Connects, logs in and selects the folder. Returns the session and UIDVALIDITY.
pub async fn connect(cfg: &ImapConfig, timeout: Duration) -> Result<(Session, u32), ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Err(_) => return Err(ImapError::Timeout("connect")),
        Ok(Err(cause)) => return Err(ImapError::Connect { addr, cause }),
        Ok(Ok(s)) => s,
    };
    tcp.set_nodelay(true).ok();
    let stream = match cfg.security {
        Security::Tls => start_tls(cfg, tcp).await?,
        _ => Stream::Plain(tcp),
    };
    let mut client = async_imap::Client::new(stream);
    // async-imap does not read the greeting itself.
    match tokio::time::timeout(timeout, client.read_response()).await {
        Err(_) => return Err(ImapError::Timeout("greeting")),
        Ok(Err(e)) => {
            return Err(ImapError::Protocol {
                command: "greeting",
                cause: e.into(),
            })
        }
        Ok(Ok(None)) => {
            return Err(ImapError::Protocol {
                command: "greeting",
                cause: async_imap::error::Error::ConnectionLost,
            })
        }
        Ok(Ok(Some(_))) => {}
    }
    if cfg.security == Security::Starttls {
        timed(
            timeout,
            "STARTTLS",
            client.run_command_and_check_ok("STARTTLS", None),
        )
        .await?;
        let Stream::Plain(tcp) = client.into_inner() else {
            unreachable!("STARTTLS runs on a plain stream")
        };
        client = async_imap::Client::new(start_tls(cfg, tcp).await?);
    }
    let mut session =
        match tokio::time::timeout(timeout, client.login(&cfg.username, cfg.password.expose()))
            .await
        {
            Err(_) => return Err(ImapError::Timeout("LOGIN")),
            Ok(Err((e, _))) => {
                return Err(match e {
                    async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m) => {
                        ImapError::Auth {
                            user: cfg.username.clone(),
                            message: m,
                        }
                    }
                    other => ImapError::Protocol {
                        command: "LOGIN",
                        cause: other,
                    },
                })
            }
            Ok(Ok(s)) => s,
        };
    let mailbox = timed(timeout, "SELECT", session.select(&cfg.folder)).await?;
    let validity = mailbox.uid_validity.ok_or(ImapError::NoUidValidity)?;
    Ok((session, validity))
}

/// Compact UID set text: `3:5,9`.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// What one sync pass did.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncReport {
    pub fetched: usize,
    pub opened: usize,
    pub quarantined: usize,
}

/// One desk's mailbox watcher.
pub struct Watcher {
    pub desk: DeskRuntime,
    pub intake: Intake,
    pub tuning: IntakeConfig,
    /// Woken after each committed batch, so the sender sends at once.
    pub wake: Arc<Notify>,
}

impl Watcher {
    fn imap(&self) -> &ImapConfig {
        &self.desk.cfg.imap
    }

    /// Fetches and processes everything above the checkpoint. Stops early,
    /// between batches, when `shutdown` fires.
    pub async fn sync(
        &self,
        session: &mut Session,
        uid_validity: u32,
        shutdown: &CancellationToken,
    ) -> Result<SyncReport, ImapError> {
        let t = self.tuning.command_timeout;
        let desk = self.desk.cfg.name.clone();
        let folder = self.imap().folder.clone();
        let store = self.intake.store().clone();
        let (d, f) = (desk.clone(), folder.clone());
        let cp = crate::smtp::blocking(move || store.checkpoint(&d, &f)).await?;
        let last = match cp {
            Some(cp) if cp.uid_validity == uid_validity => cp.last_uid,
            Some(cp) => {
                warn!(
                    old = cp.uid_validity,
                    new = uid_validity,
                    "UIDVALIDITY changed: re-reading the folder; stored messages are not duplicated"
                );
                0
            }
            None => 0,
        };
        let found = timed(
            t,
            "UID SEARCH",
            session.uid_search(format!("UID {}:*", last + 1)),
        )
        .await?;
        // `n:*` always matches the highest UID, even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        let mut report = SyncReport::default();
        for chunk in uids.chunks(self.tuning.batch_size) {
            if shutdown.is_cancelled() {
                break;
            }
            let (items, complete) = self.fetch(session, chunk).await?;
            if items.is_empty() {
                return Err(ImapError::Missing(chunk[0]));
            }
            let cp = Checkpoint {
                uid_validity,
                last_uid: items.last().and_then(|r| r.uid).unwrap_or(last),
            };
            let intake = self.intake.clone();
            let rt = self.desk.clone();
            let f = folder.clone();
            let n = items.len();
            let outcomes =
                crate::smtp::blocking(move || intake.process(&rt, Some(&f), &items, Some(cp)))
                    .await?;
            report.fetched += n;
            for o in &outcomes {
                match o {
                    Outcome::Opened { .. } => report.opened += 1,
                    Outcome::Quarantined { .. } => report.quarantined += 1,
                    _ => {}
                }
            }
            self.wake.notify_one();
            if let Some(missing) = complete {
                return Err(ImapError::Missing(missing));
            }
        }
        Ok(report)
    }

    /// Fetches `uids`. Returns the messages up to (not including) the first
    /// UID the server failed to return, and that UID if any: async-imap ends
    /// the stream silently on a tagged NO, so absence is the only signal.
    async fn fetch(
        &self,
        session: &mut Session,
        uids: &[u32],
    ) -> Result<(Vec<Received>, Option<u32>), ImapError> {
        let t = self.tuning.command_timeout;
        let mut got: HashMap<u32, Vec<u8>> = HashMap::with_capacity(uids.len());
        {
            let mut stream = timed(
                t,
                "UID FETCH",
                session.uid_fetch(uid_set(uids), "(UID BODY.PEEK[])"),
            )
            .await?;
            // Drain the whole stream before the next command.
            while let Some(fetch) = timed(t, "UID FETCH", stream.try_next()).await? {
                if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                    got.insert(uid, body.to_vec());
                }
            }
        }
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            match got.remove(&uid) {
                Some(raw) => out.push(Received {
                    uid: Some(uid),
                    raw,
                }),
                None => return Ok((out, Some(uid))),
            }
        }
        Ok((out, None))
    }

    /// One pass for `hilo run --once`: connect, sync, log out.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<SyncReport, ImapError> {
        let (mut session, validity) = connect(self.imap(), self.tuning.command_timeout).await?;
        let report = self.sync(&mut session, validity, shutdown).await?;
        let _ = timed(self.tuning.command_timeout, "LOGOUT", session.logout()).await;
        Ok(report)
    }

    /// Watches until `shutdown`: sync, wait, repeat; reconnect with backoff.
    pub async fn run(self, shutdown: CancellationToken) {
        let span = tracing::info_span!("desk", desk = %self.desk.cfg.name);
        async move {
            let mut backoff = Backoff::new();
            while !shutdown.is_cancelled() {
                match self.session_loop(&shutdown, &mut backoff).await {
                    Ok(()) => return,
                    Err(e) => {
                        let delay = if e.is_auth() {
                            backoff.slow()
                        } else {
                            backoff.next_delay()
                        };
                        warn!(error = %e, retry_in = ?delay, "mailbox unavailable");
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
        let (mut session, validity) = connect(self.imap(), t).await?;
        info!(folder = %self.imap().folder, "connected");
        backoff.reset();
        loop {
            let r = self.sync(&mut session, validity, shutdown).await?;
            if r.fetched > 0 {
                info!(
                    fetched = r.fetched,
                    opened = r.opened,
                    quarantined = r.quarantined,
                    "synced"
                );
            }
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

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} fetched, {} new tickets, {} quarantined",
            self.fetched, self.opened, self.quarantined
        )
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
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
    }

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
