//! A batch of received messages through the pipeline in one store
//! transaction, with the mailbox checkpoint: for each message, duplicates
//! first, then classify → thread → decide → apply. [`Intake`] holds the
//! settings (replaced whole on reload) and the metrics.
//!
//! A batch that fails for a reason other than a temporary one is retried one
//! message per transaction; a message that still fails on its own (or whose
//! processing panics) is quarantined with the error, so one bad message
//! never blocks a mailbox.

use std::sync::{Arc, RwLock};

use tracing::{debug, info, warn};

use super::apply::{Message, Writer};
use super::classify::{classify, Context};
use super::decide::{decide, Input};
use super::parse::{parse_all, Bounce};
use super::settings::{DeskRuntime, Settings};
use super::thread;
use super::{Outcome, Received};
use crate::config::{Config, DeskConfig};
use crate::mail::parse::content_digest;
use crate::mail::quote::new_text;
use crate::mail::{parse, Inbound, ParseError};
use crate::metrics::Metrics;
use crate::model::MessageKind;
use crate::outgoing::templates::Templates;
use crate::store::{Checkpoint, Store, StoreError, Tx};

/// The intake pipeline; clones share the store, metrics and settings.
#[derive(Debug, Clone)]
pub struct Intake {
    store: Store,
    settings: Arc<RwLock<Arc<Settings>>>,
    metrics: Arc<Metrics>,
}

impl Intake {
    /// The counters every part of hilo adds to.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// An intake with counters of its own (a one-off command's).
    pub fn new(config: &Config, store: Store, templates: Templates) -> Intake {
        Self::with_metrics(config, store, templates, Arc::new(Metrics::new()))
    }

    /// An intake that counts into `metrics`, which the daemon builds once
    /// and hands to every part.
    pub fn with_metrics(
        config: &Config,
        store: Store,
        templates: Templates,
        metrics: Arc<Metrics>,
    ) -> Intake {
        Intake {
            store,
            settings: Arc::new(RwLock::new(Arc::new(Settings::new(config, templates)))),
            metrics,
        }
    }

    pub(crate) fn settings(&self) -> Arc<Settings> {
        // Settings are replaced whole, never left half-written: a poisoned lock is fine.
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes a reloaded configuration and templates; batches already running
    /// finish with the old ones.
    pub fn reload(&self, config: &Config, templates: Templates) {
        let new = Arc::new(Settings::new(config, templates));
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = new;
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn desk(&self, name: &str) -> Option<DeskRuntime> {
        self.settings().desk(name).cloned()
    }

    pub fn desks(&self) -> Vec<DeskRuntime> {
        self.settings().desks.clone()
    }

    /// Processes a batch for `desk`, and advances the folder's checkpoint to
    /// `checkpoint` in the same transaction. Blocking: call from a blocking
    /// thread. Errors are temporary ones only (the batch can be retried).
    pub fn process(
        &self,
        desk: &DeskRuntime,
        folder: Option<&str>,
        items: &[Received],
        checkpoint: Option<Checkpoint>,
    ) -> Result<Vec<Outcome>, StoreError> {
        self.process_parsed(desk, folder, items, &parse_all(items), checkpoint)
    }

    /// [`Intake::process`] for items already parsed with [`parse_all`]
    /// (the watcher parses one batch while the previous one is stored).
    pub fn process_parsed(
        &self,
        desk: &DeskRuntime,
        folder: Option<&str>,
        items: &[Received],
        parsed: &[Result<Inbound, ParseError>],
        checkpoint: Option<Checkpoint>,
    ) -> Result<Vec<Outcome>, StoreError> {
        // One span per message, for its decision and for its log line.
        let spans: Vec<tracing::Span> = items
            .iter()
            .zip(parsed)
            .map(|(i, p)| message_span(desk, i, p))
            .collect();
        // One snapshot of the settings for the whole batch: a reload takes
        // effect between batches, never inside one.
        let settings = self.settings();
        let desk = settings.desk(&desk.cfg.name).unwrap_or(desk);
        let batch = self.store.write(|tx| {
            let mut out = Vec::with_capacity(items.len());
            for ((item, p), span) in items.iter().zip(parsed).zip(&spans) {
                out.push(
                    span.in_scope(|| contained(|| self.one(tx, &settings, desk, folder, item, p)))?,
                );
            }
            if let (Some(f), Some(cp)) = (folder, checkpoint) {
                tx.set_checkpoint(&desk.cfg.name, f, cp)?;
            }
            Ok::<_, StoreError>(out)
        });
        let outcomes = match batch {
            Ok(o) => o,
            Err(e) if e.is_temporary() => return Err(e),
            Err(e) => {
                warn!(error = %crate::report(&e), "batch failed; retrying message by message");
                self.one_by_one(&settings, desk, folder, items, parsed, checkpoint)?
            }
        };
        for ((item, o), span) in items.iter().zip(&outcomes).zip(&spans) {
            if let Outcome::Opened { ticket, .. } | Outcome::Appended { ticket } = o {
                span.record("ticket", ticket);
            }
            span.in_scope(|| log_outcome(item.uid, o));
            self.metrics.message(&desk.cfg.name, o);
        }
        Ok(outcomes)
    }

    fn one_by_one(
        &self,
        settings: &Settings,
        desk: &DeskRuntime,
        folder: Option<&str>,
        items: &[Received],
        parsed: &[Result<Inbound, ParseError>],
        checkpoint: Option<Checkpoint>,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, (item, p)) in items.iter().zip(parsed).enumerate() {
            // Advance the checkpoint with each message; the batch's final one with the last.
            let cp = checkpoint.map(|cp| Checkpoint {
                last_uid: if i + 1 == items.len() {
                    cp.last_uid
                } else {
                    item.uid.unwrap_or(0)
                },
                ..cp
            });
            let save = |tx: &Tx<'_>| -> Result<(), StoreError> {
                if let (Some(f), Some(cp)) = (folder, cp) {
                    tx.set_checkpoint(&desk.cfg.name, f, cp)?;
                }
                Ok(())
            };
            let r = self.store.write(|tx| {
                let o = contained(|| self.one(tx, settings, desk, folder, item, p))?;
                save(tx)?;
                Ok::<_, StoreError>(o)
            });
            let o = match r {
                Ok(o) => o,
                Err(e) if e.is_temporary() => return Err(e),
                Err(e) => {
                    let reason = format!("could not be stored: {}", crate::report(&e));
                    self.store.write(|tx| {
                        let id =
                            tx.quarantine(&desk.cfg.name, folder, item.uid, &reason, &item.raw)?;
                        save(tx)?;
                        Ok::<_, StoreError>(Outcome::Quarantined { id, reason })
                    })?
                }
            };
            out.push(o);
        }
        Ok(out)
    }

    /// A UID the server listed `passes` times and never returned: kept in
    /// the quarantine (a note stands for the bytes it does not give) and
    /// passed, the checkpoint moving to it in the same transaction.
    pub fn never_returned(
        &self,
        desk: &str,
        folder: &str,
        cp: Checkpoint,
        passes: u32,
    ) -> Result<(), StoreError> {
        let (uid, v) = (cp.last_uid, cp.uid_validity);
        self.store.write(|tx| {
            let note = format!(
                "X-Hilo-Missing: folder {folder}, UIDVALIDITY {v}, UID {uid}\r\n\r\nThe server listed this message {passes} times and never returned it; it is still on the server.\r\n"
            );
            let reason = format!("the server listed UID {uid} and never returned it");
            tx.quarantine(desk, Some(folder), Some(uid), &reason, note.as_bytes())?;
            tx.set_checkpoint(desk, folder, cp)
        })
    }

    /// Runs a quarantined message through the pipeline again (after an
    /// upgrade, say). On success the quarantine entry is removed; if it still
    /// cannot be parsed it stays, with the new reason.
    pub fn retry_quarantined(&self, id: i64) -> Result<Option<Outcome>, StoreError> {
        let Some((desk_name, raw)) = self.store.quarantined(id)? else {
            return Ok(None);
        };
        let Some(desk) = self.desk(&desk_name) else {
            return Err(StoreError::Corrupt(format!(
                "quarantined message {id} belongs to desk `{desk_name}`, which is not configured"
            )));
        };
        let item = Received::new(None, raw);
        let parsed = parse(&item.raw);
        let outcome = self.store.write(|tx| {
            match &parsed {
                Err(e) => tx.quarantine_retried(id, &e.to_string())?,
                Ok(_) => tx.unquarantine(id)?,
            }
            match &parsed {
                Err(e) => Ok::<_, StoreError>(Outcome::Quarantined {
                    id,
                    reason: e.to_string(),
                }),
                Ok(_) => self.one(tx, &self.settings(), &desk, None, &item, &parsed),
            }
        })?;
        log_outcome(None, &outcome);
        Ok(Some(outcome))
    }

    /// One message inside the batch transaction.
    fn one(
        &self,
        tx: &Tx<'_>,
        settings: &Settings,
        desk: &DeskRuntime,
        folder: Option<&str>,
        item: &Received,
        parsed: &Result<Inbound, ParseError>,
    ) -> Result<Outcome, StoreError> {
        let d = &desk.cfg;
        let msg = match parsed {
            Ok(m) => {
                crate::fault::hit("intake", m.text.as_bytes());
                m
            }
            Err(e) => {
                let reason = e.to_string();
                let id = tx.quarantine(&d.name, folder, item.uid, &reason, &item.raw)?;
                return Ok(Outcome::Quarantined { id, reason });
            }
        };
        let Some(key) = dedup_key(tx, d, item, msg)? else {
            return Ok(Outcome::Duplicate);
        };
        let signer = self.store.signer();
        let class = classify(
            msg,
            &Context {
                own_addresses: &settings.own_addresses,
                signer,
            },
        );
        let bounce = (class.kind == MessageKind::Bounce).then(|| Bounce::read(&item.raw, msg));
        let reported = bounce.as_ref().map_or(&[][..], |b| b.reported.as_slice());
        let agent = d.is_agent(&msg.from.address);
        let threading = thread::resolve(tx, &d.name, &desk.tags, signer, msg, reported, agent)?;
        // A mail fetched headers-only is recorded with the fetch's note as its text.
        let (text, new_text) = match (&item.note, msg.text.trim().is_empty()) {
            (Some(n), true) => (n.as_str(), new_text(n, &msg.subject)),
            _ => (msg.text.as_str(), msg.new_text.clone()),
        };
        let now = self.store.now();
        let plan = decide(
            &Input {
                desk,
                desks: &settings.desks,
                own_addresses: &settings.own_addresses,
                signer,
                msg,
                new_text: &new_text,
                class: &class,
                thread: &threading,
                bounce: bounce.as_ref(),
                backlog: item.backlog,
                now,
            },
            tx,
        )?;
        debug!(?class, ?threading, ?plan, "decided");
        let writer = Writer {
            tx,
            settings,
            signer,
            now,
        };
        writer.apply(
            &Message {
                desk,
                msg,
                item,
                key: &key,
                text,
                new_text: &new_text,
                folder,
                kind: class.kind,
            },
            plan,
        )
    }
}

/// The key `msg` is stored under, or `None` when it is stored already.
/// The same Message-ID is the same mail again (a refetch, another delivery
/// path), or a different one reusing the id, kept under its own key
/// rather than dropped.
fn dedup_key(
    tx: &Tx<'_>,
    d: &DeskConfig,
    item: &Received,
    msg: &Inbound,
) -> Result<Option<String>, StoreError> {
    let key = msg.dedup_key();
    let Some(stored) = tx.stored_raw(&d.name, &key)? else {
        return Ok(Some(key));
    };
    let digest = content_digest(&item.raw);
    // (Our own outgoing mail seen again is always the same mail.)
    if stored.is_empty() || content_digest(&stored) == digest {
        return Ok(None);
    }
    let key = format!("{key}#{digest}");
    if tx.message_exists(&d.name, &key)? {
        return Ok(None);
    }
    warn!(message_id = %msg.dedup_key(), "another message reuses this Message-ID; kept as its own");
    Ok(Some(key))
}

/// The tracing span of one message: desk, UID, Message-ID, ticket.
fn message_span(
    desk: &DeskRuntime,
    item: &Received,
    parsed: &Result<Inbound, ParseError>,
) -> tracing::Span {
    let id = parsed.as_ref().ok().and_then(|m| m.message_id.as_deref());
    tracing::info_span!(
        "message",
        desk = %desk.cfg.name,
        uid = item.uid,
        message_id = id,
        ticket = tracing::field::Empty
    )
}

/// Runs one message's work with a panic turned into its error: the batch
/// falls back to one by one, and the message is quarantined with the panic
/// as its reason while the others go on.
fn contained(f: impl FnOnce() -> Result<Outcome, StoreError>) -> Result<Outcome, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(StoreError::Panicked(crate::panic_message(&*p))))
}

fn log_outcome(uid: Option<u32>, o: &Outcome) {
    match o {
        Outcome::Opened {
            ticket,
            acknowledged,
        } => info!(?uid, ticket, acknowledged, "new ticket"),
        Outcome::Appended { ticket } => info!(?uid, ticket, "added to ticket"),
        Outcome::SetAside { kind, reason } => {
            info!(?uid, kind = kind.as_str(), reason, "set aside")
        }
        Outcome::Duplicate => debug!(?uid, "already stored"),
        Outcome::Quarantined { id, reason } => {
            warn!(?uid, quarantine = id, reason = %reason, "quarantined")
        }
    }
}
