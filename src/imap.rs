//! The watcher: the only module that speaks IMAP. One per desk mailbox.
//!
//! It fetches by UID everything above the desk's checkpoint, in batches, and
//! hands each batch to the intake, which stores it and advances the
//! checkpoint in one transaction. Flags (`\Seen`) are never consulted: other
//! clients change them. Every command has a timeout; a lost connection is
//! rebuilt with exponential backoff (1 s doubling to 60 s, with jitter).

use std::collections::HashMap;
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

use crate::config::{After, ImapConfig, IntakeConfig, Security, StartFrom};
use crate::intake::{DeskRuntime, Intake, Outcome, Received, Tally};
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
    let tls = crate::net::tls::client_config(cfg.ca_file.as_deref(), &cfg.host).map_err(|e| {
        ImapError::Tls {
            host: e.host,
            message: e.message,
        }
    })?;
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

/// What the server told us at connection time.
#[derive(Debug, Clone, Copy)]
pub struct Mailbox {
    pub uid_validity: u32,
    pub uid_next: Option<u32>,
    pub idle: bool,
    pub moves: bool,
    pub uidplus: bool,
}

/// Connects, logs in and selects the folder.
/// Drops the untagged responses async-imap set aside (EXISTS, RECENT,
/// FETCH FLAGS of other clients...). hilo reads the folder by UID SEARCH,
/// not by these; left in the channel, each one pins the read buffer it was
/// cut from.
fn drain_unsolicited(session: &Session) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// See [`Watcher::start_point`].
struct StartPoint {
    last: u32,
    backlog_until: u32,
    leave_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// The TLS handshake, within the command timeout: a server that accepts TCP
/// and never speaks must not stall the watcher or `hilo check`.
async fn tls_within(
    timeout: Duration,
    cfg: &ImapConfig,
    tcp: TcpStream,
) -> Result<Stream, ImapError> {
    match tokio::time::timeout(timeout, start_tls(cfg, tcp)).await {
        Err(_) => Err(ImapError::Timeout("TLS handshake")),
        Ok(r) => r,
    }
}

pub async fn connect(cfg: &ImapConfig, timeout: Duration) -> Result<(Session, Mailbox), ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Err(_) => return Err(ImapError::Timeout("connect")),
        Ok(Err(cause)) => return Err(ImapError::Connect { addr, cause }),
        Ok(Ok(s)) => s,
    };
    tcp.set_nodelay(true).ok();
    let stream = match cfg.security {
        Security::Tls => tls_within(timeout, cfg, tcp).await?,
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
        client = async_imap::Client::new(tls_within(timeout, cfg, tcp).await?);
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
    let caps = timed(timeout, "CAPABILITY", session.capabilities()).await?;
    let selected = timed(timeout, "SELECT", session.select(&cfg.folder)).await?;
    let mailbox = Mailbox {
        uid_validity: selected.uid_validity.ok_or(ImapError::NoUidValidity)?,
        uid_next: selected.uid_next,
        idle: caps.has_str("IDLE"),
        // (The tests pretend a server without them with HILO_FAULTS.)
        moves: caps.has_str("MOVE") && !crate::fault::active("no-move"),
        uidplus: caps.has_str("UIDPLUS") && !crate::fault::active("no-uidplus"),
    };
    Ok((session, mailbox))
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

/// Splits `uids` into batches of at most `count` messages and (unless a
/// single message is larger) `bytes` bytes.
fn batches(uids: &[u32], sizes: &HashMap<u32, u64>, count: usize, bytes: u64) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut cur_bytes = 0;
    for &u in uids {
        let sz = sizes.get(&u).copied().unwrap_or(0);
        if !cur.is_empty() && (cur.len() >= count || cur_bytes + sz > bytes) {
            out.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(u);
        cur_bytes += sz;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A batch being stored: its outcomes and items once committed.
type Pending = tokio::task::JoinHandle<Result<(Vec<Outcome>, Vec<Received>), StoreError>>;

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
}

/// Passes in a row a listed UID may fail to come back before it is set
/// aside (a quarantine entry that says so) and the folder read past it:
/// one message the server cannot deliver must not block the mailbox.
pub const MAX_MISSES: u32 = 5;

impl Watcher {
    fn imap(&self) -> &ImapConfig {
        &self.desk.cfg.imap
    }

    fn name(&self) -> &str {
        &self.desk.cfg.name
    }

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
                let parsed = crate::intake::parse_all(&items);
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
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let v = mb.uid_validity;
        crate::store::blocking(move || {
            store.write(|tx| {
                let note = format!(
                    "X-Hilo-Missing: folder {f}, UIDVALIDITY {v}, UID {uid}\r\n\r\nThe server listed this message {MAX_MISSES} times and never returned it; it is still on the server.\r\n"
                );
                let reason = format!("the server listed UID {uid} and never returned it");
                tx.quarantine(&d, Some(&f), Some(uid), &reason, note.as_bytes())?;
                tx.set_checkpoint(
                    &d,
                    &f,
                    Checkpoint {
                        uid_validity: v,
                        last_uid: uid,
                        backlog_until,
                    },
                )
            })
        })
        .await?;
        Ok(())
    }

    /// Waits for the batch in flight, if any, and does its after-actions.
    async fn drain(
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
    async fn finish(
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
            warn!(error = %e, "could not mark or move processed mail; will retry after reconnect");
            return Err(e);
        }
        Ok(())
    }

    /// RFC822.SIZE of each UID.
    /// The size of each of `uids`, and with `dates` their INTERNALDATE.
    async fn sizes(
        &self,
        session: &mut Session,
        uids: &[u32],
        dates: bool,
    ) -> Result<
        (
            HashMap<u32, u64>,
            HashMap<u32, chrono::DateTime<chrono::Utc>>,
        ),
        ImapError,
    > {
        let t = self.tuning.command_timeout;
        let mut sizes = HashMap::with_capacity(uids.len());
        let mut when = HashMap::new();
        let query = if dates {
            "(UID RFC822.SIZE INTERNALDATE)"
        } else {
            "(UID RFC822.SIZE)"
        };
        for chunk in uids.chunks(2000) {
            let mut stream =
                timed(t, "UID FETCH", session.uid_fetch(uid_set(chunk), query)).await?;
            while let Some(f) = timed(t, "UID FETCH", stream.try_next()).await? {
                if let (Some(uid), Some(size)) = (f.uid, f.size) {
                    sizes.insert(uid, u64::from(size));
                    if let Some(d) = f.internal_date() {
                        when.insert(uid, d.with_timezone(&chrono::Utc));
                    }
                }
            }
        }
        Ok((sizes, when))
    }

    /// Fetches `uids` (headers only for oversized ones). Returns the messages
    /// up to (not including) the first UID the server failed to return, and
    /// that UID if any: async-imap ends the stream silently on a tagged NO,
    /// so absence is the only signal.
    async fn fetch(
        &self,
        session: &mut Session,
        uids: &[u32],
        sizes: &HashMap<u32, u64>,
    ) -> Result<(Vec<Received>, Option<u32>), ImapError> {
        let max = self.desk.cfg.max_message_bytes;
        let (big, small): (Vec<u32>, Vec<u32>) = uids
            .iter()
            .partition(|u| sizes.get(u).is_some_and(|s| *s > max));
        let mut got = self
            .fetch_part(session, &small, "(UID BODY.PEEK[])", false)
            .await?;
        got.extend(
            self.fetch_part(session, &big, "(UID BODY.PEEK[HEADER])", true)
                .await?,
        );
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            match got.remove(&uid) {
                Some(raw) => {
                    let mut r = Received::new(Some(uid), raw);
                    if big.contains(&uid) {
                        let size = sizes.get(&uid).copied().unwrap_or(0);
                        warn!(
                            uid,
                            size, max, "message too large: storing its headers only"
                        );
                        r.note = Some(format!(
                            "This message is {size} bytes, more than max_message_bytes ({max}): only its headers were stored. The whole message stays in the mailbox."
                        ));
                    }
                    out.push(r)
                }
                None => return Ok((out, Some(uid))),
            }
        }
        Ok((out, None))
    }

    async fn fetch_part(
        &self,
        session: &mut Session,
        uids: &[u32],
        query: &str,
        header_only: bool,
    ) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
        let t = self.tuning.command_timeout;
        let mut got = HashMap::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(got);
        }
        let mut stream = timed(t, "UID FETCH", session.uid_fetch(uid_set(uids), query)).await?;
        // Drain the whole stream before the next command.
        while let Some(fetch) = timed(t, "UID FETCH", stream.try_next()).await? {
            let body = if header_only {
                fetch.header()
            } else {
                fetch.body()
            };
            if let (Some(uid), Some(body)) = (fetch.uid, body) {
                // (The tests pretend a server that never returns a UID.)
                if crate::fault::active(&format!("drop-uid-{uid}")) {
                    continue;
                }
                got.insert(uid, body.to_vec());
            }
        }
        Ok(got)
    }

    /// The configured server-side step for committed messages.
    async fn after(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        done: &[u32],
        aside: &[u32],
    ) -> Result<(), ImapError> {
        match &self.desk.cfg.after {
            After::Keep => Ok(()),
            After::Seen => {
                self.store_flags(session, done, "+FLAGS.SILENT (\\Seen)")
                    .await
            }
            After::Move(folder) => {
                self.move_to(session, mb, done, folder).await?;
                let q = self.desk.cfg.quarantine_to.clone();
                self.move_to(session, mb, aside, &q).await
            }
        }
    }

    async fn store_flags(
        &self,
        session: &mut Session,
        uids: &[u32],
        flags: &str,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.tuning.command_timeout;
        let mut stream = timed(t, "UID STORE", session.uid_store(uid_set(uids), flags)).await?;
        while timed(t, "UID STORE", stream.try_next()).await?.is_some() {}
        Ok(())
    }

    async fn move_to(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        uids: &[u32],
        folder: &str,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.tuning.command_timeout;
        let set = uid_set(uids);
        if mb.moves {
            return timed(t, "UID MOVE", session.uid_mv(&set, folder)).await;
        }
        timed(t, "UID COPY", session.uid_copy(&set, folder)).await?;
        self.store_flags(session, uids, "+FLAGS.SILENT (\\Deleted)")
            .await?;
        if mb.uidplus {
            let stream = timed(t, "UID EXPUNGE", session.uid_expunge(&set)).await?;
            let mut stream = std::pin::pin!(stream);
            while timed(t, "UID EXPUNGE", stream.try_next()).await?.is_some() {}
            return Ok(());
        }
        // Without UIDPLUS, EXPUNGE removes every \Deleted message: others'
        // marks are taken off for the moment and put back after (as mutt
        // and isync do), so only ours go.
        let deleted = timed(t, "UID SEARCH", session.uid_search("DELETED")).await?;
        let theirs: Vec<u32> = deleted.into_iter().filter(|u| !uids.contains(u)).collect();
        self.store_flags(session, &theirs, "-FLAGS.SILENT (\\Deleted)")
            .await?;
        {
            let stream = timed(t, "EXPUNGE", session.expunge()).await?;
            let mut stream = std::pin::pin!(stream);
            while timed(t, "EXPUNGE", stream.try_next()).await?.is_some() {}
        }
        self.store_flags(session, &theirs, "+FLAGS.SILENT (\\Deleted)")
            .await
    }

    /// With `after = "move"`: creates the folders, and moves what a crash
    /// left behind (committed, below the checkpoint, still in the folder).
    async fn prepare_moves(&self, session: &mut Session, mb: &Mailbox) -> Result<(), ImapError> {
        let After::Move(folder) = &self.desk.cfg.after else {
            return Ok(());
        };
        let t = self.tuning.command_timeout;
        for f in [folder.as_str(), self.desk.cfg.quarantine_to.as_str()] {
            // Fails with ALREADYEXISTS when it is there: fine.
            let _ = timed(t, "CREATE", session.create(f)).await;
        }
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let (cp, quarantined) = crate::store::blocking(move || {
            Ok((store.checkpoint(&d, &f)?, store.quarantined_uids(&d, &f)?))
        })
        .await?;
        let Some(cp) = cp.filter(|c| c.uid_validity == mb.uid_validity && c.last_uid > 0) else {
            return Ok(());
        };
        let left = timed(
            t,
            "UID SEARCH",
            session.uid_search(format!("UID 1:{}", cp.last_uid)),
        )
        .await?;
        let mut left: Vec<u32> = left.into_iter().filter(|u| *u <= cp.last_uid).collect();
        if left.is_empty() {
            return Ok(());
        }
        left.sort_unstable();
        // Only what hilo stored: mail below the checkpoint that it left
        // alone (start_from = "now", or older than a reset) stays.
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let candidates = left.clone();
        let stored = crate::store::blocking(move || store.stored_uids(&d, &f, &candidates)).await?;
        left.retain(|u| stored.contains(u));
        if left.is_empty() {
            return Ok(());
        }
        let (aside, done): (Vec<u32>, Vec<u32>) =
            left.iter().partition(|u| quarantined.contains(u));
        info!(
            count = left.len(),
            "moving mail processed before an interruption"
        );
        self.after(session, mb, &done, &aside).await
    }

    /// `hilo import`: every message of the watcher's folder (received since
    /// `since`) as backlog: tickets without acknowledgements. The watcher's
    /// checkpoint is left alone; what is already stored is skipped.
    pub async fn import(
        &self,
        since: Option<chrono::NaiveDate>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Tally, ImapError> {
        let t = self.tuning.command_timeout;
        let (mut session, _) = connect(self.imap(), t).await?;
        let query = since.map_or_else(
            || "ALL".to_string(),
            |d| format!("SINCE {}", d.format("%d-%b-%Y")),
        );
        let mut uids: Vec<u32> = timed(t, "UID SEARCH", session.uid_search(&query))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let total = uids.len() as u64;
        progress(0, total);
        let (sizes, _) = self.sizes(&mut session, &uids, false).await?;
        let mut tally = Tally::default();
        for batch in batches(
            &uids,
            &sizes,
            self.tuning.batch_size,
            self.tuning.batch_bytes,
        ) {
            let (mut items, missing) = self.fetch(&mut session, &batch, &sizes).await?;
            for it in &mut items {
                it.backlog = true;
            }
            let (intake, rt, f) = (
                self.intake.clone(),
                self.desk.clone(),
                self.imap().folder.clone(),
            );
            let outcomes =
                crate::store::blocking(move || intake.process(&rt, Some(&f), &items, None)).await?;
            for o in &outcomes {
                tally.add(o);
            }
            progress(tally.fetched as u64, total);
            if let Some(uid) = missing {
                return Err(ImapError::Missing(uid));
            }
        }
        let _ = timed(t, "LOGOUT", session.logout()).await;
        Ok(tally)
    }

    /// One pass for `hilo run --once`: connect, sync, log out.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<Tally, ImapError> {
        let (mut session, mb) = connect(self.imap(), self.tuning.command_timeout).await?;
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
        let (mut session, mb) = connect(self.imap(), t).await?;
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
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
    }

    #[test]
    fn batches_cut_by_count_and_bytes() {
        let sizes: HashMap<u32, u64> = [(1, 10), (2, 10), (3, 50), (4, 10), (5, 10)].into();
        let b = batches(&[1, 2, 3, 4, 5], &sizes, 3, 30);
        assert_eq!(b, vec![vec![1, 2], vec![3], vec![4, 5]]);
        let b = batches(&[1, 2, 3, 4, 5], &sizes, 2, 1000);
        assert_eq!(b, vec![vec![1, 2], vec![3, 4], vec![5]]);
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
