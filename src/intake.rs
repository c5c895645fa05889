//! The pipeline for received mail: parse → classify → thread → decide →
//! store, for a batch of messages in one transaction together with the
//! mailbox checkpoint and any outgoing mail. Shared by the IMAP watcher,
//! `hilo ingest` and `hilo import`.
//!
//! A batch that fails for a reason other than a temporary one is retried one
//! message per transaction; a message that still fails on its own is
//! quarantined with the error, so one bad message never blocks a mailbox.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::ack::{acknowledgement, AckInput};
use crate::classify::{classify, Context};
use crate::config::{AgentTrust, Config, DeskConfig};
use crate::desk::{decide, Plan, Policy};
use crate::mail::compose::Outgoing;
use crate::mail::parse::{bounce_reason, reported_message_ids};
use crate::mail::quote::new_text;
use crate::mail::subject::TagMatcher;
use crate::mail::{parse, Inbound, Mailbox, ParseError};
use crate::metrics::Metrics;
use crate::model::Status;
use crate::model::{Direction, MessageKind};
use crate::store::{Checkpoint, NewMessage, Store, StoreError, Tx};
use crate::template::Templates;
use crate::thread::Lookup;
use crate::thread::{self, Thread};
use chrono::Utc;

/// One received message, as fetched.
#[derive(Debug, Clone)]
pub struct Received {
    pub uid: Option<u32>,
    pub raw: Vec<u8>,
    /// Old mail being imported: tickets, but no acknowledgements.
    pub backlog: bool,
    /// Why `raw` is not the whole message (e.g. only the headers of an
    /// oversized one); recorded with it.
    pub note: Option<String>,
}

impl Received {
    pub fn new(uid: Option<u32>, raw: Vec<u8>) -> Received {
        Received {
            uid,
            raw,
            backlog: false,
            note: None,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Opened {
        ticket: i64,
        acknowledged: bool,
    },
    Appended {
        ticket: i64,
    },
    SetAside {
        kind: &'static str,
        reason: &'static str,
    },
    Duplicate,
    Quarantined {
        id: i64,
        reason: String,
    },
}

/// Counts of outcomes, for logs and summaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub fetched: usize,
    pub opened: usize,
    pub appended: usize,
    pub set_aside: usize,
    pub duplicates: usize,
    pub quarantined: usize,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        self.fetched += 1;
        match o {
            Outcome::Opened { .. } => self.opened += 1,
            Outcome::Appended { .. } => self.appended += 1,
            Outcome::SetAside { .. } => self.set_aside += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fetched, {} new tickets, {} added to tickets, {} set aside, {} already stored, {} quarantined",
            self.fetched, self.opened, self.appended, self.set_aside, self.duplicates, self.quarantined
        )
    }
}

/// A desk as the intake sees it.
#[derive(Debug, Clone)]
pub struct DeskRuntime {
    pub cfg: DeskConfig,
    pub tags: TagMatcher,
}

/// What the intake derives from the configuration; replaced whole when the
/// configuration is reloaded (SIGHUP), so a batch sees one consistent set.
#[derive(Debug)]
struct Settings {
    desks: Vec<DeskRuntime>,
    own_addresses: Vec<String>,
    templates: Templates,
    expire_after: Duration,
}

impl Settings {
    fn new(config: &Config, templates: Templates) -> Settings {
        Settings {
            desks: config
                .desks
                .iter()
                .map(|d| DeskRuntime {
                    cfg: d.clone(),
                    tags: TagMatcher::new(&d.tag),
                })
                .collect(),
            own_addresses: config
                .desks
                .iter()
                .flat_map(|d| std::iter::once(d.address.clone()).chain(d.comment_address.clone()))
                .collect(),
            templates,
            expire_after: config.outbox.expire_after,
        }
    }
}

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

    pub fn new(config: &Config, store: Store, templates: Templates) -> Intake {
        Intake {
            store,
            settings: Arc::new(RwLock::new(Arc::new(Settings::new(config, templates)))),
            metrics: Arc::new(Metrics::new()),
        }
    }

    fn settings(&self) -> Arc<Settings> {
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
        self.settings()
            .desks
            .iter()
            .find(|d| d.cfg.name == name)
            .cloned()
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
        let batch = self.store.write(|tx| {
            let mut out = Vec::with_capacity(items.len());
            for ((item, p), span) in items.iter().zip(parsed).zip(&spans) {
                out.push(span.in_scope(|| contained(|| self.one(tx, desk, folder, item, p)))?);
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
                warn!(error = %e, "batch failed; retrying message by message");
                self.one_by_one(desk, folder, items, parsed, checkpoint)?
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
                let o = contained(|| self.one(tx, desk, folder, item, p))?;
                save(tx)?;
                Ok::<_, StoreError>(o)
            });
            let o = match r {
                Ok(o) => o,
                Err(e) if e.is_temporary() => return Err(e),
                Err(e) => {
                    let reason = format!("could not be stored: {e}");
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
                Ok(_) => self.one(tx, &desk, None, &item, &parsed),
            }
        })?;
        log_outcome(None, &outcome);
        Ok(Some(outcome))
    }

    /// One message inside the batch transaction.
    fn one(
        &self,
        tx: &Tx<'_>,
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
        let mut key = msg.dedup_key();
        if let Some(stored) = tx.stored_raw(&d.name, &key)? {
            // The same Message-ID: the same mail again (a refetch, another
            // delivery path), or a different one reusing the id, which is
            // kept under its own key rather than dropped.
            let digest = crate::mail::parse::content_digest(&item.raw);
            // (Our own outgoing mail seen again is always the same mail.)
            if stored.is_empty() || crate::mail::parse::content_digest(&stored) == digest {
                return Ok(Outcome::Duplicate);
            }
            key = format!("{key}#{digest}");
            if tx.message_exists(&d.name, &key)? {
                return Ok(Outcome::Duplicate);
            }
            warn!(message_id = %msg.dedup_key(), "another message reuses this Message-ID; kept as its own");
        }
        let signer = self.store.signer();
        let class = classify(
            msg,
            &Context {
                own_addresses: &self.settings().own_addresses,
                signer,
            },
        );
        let (text, new_text) = match (&item.note, msg.text.trim().is_empty()) {
            (Some(n), true) => (n.as_str(), new_text(n, &msg.subject)),
            _ => (msg.text.as_str(), msg.new_text.clone()),
        };
        let rec = Recorder {
            tx,
            desk: &d.name,
            msg,
            key: &key,
            text,
            new_text: &new_text,
            folder,
            item,
        };

        // A mail sent to several desks is handled by the first one listed.
        if class.kind == MessageKind::Customer {
            if let Some(first) = self.earlier_desk(desk, msg) {
                let there = match &msg.message_id {
                    Some(id) => tx.ticket_by_message_ids(&first.cfg.name, &[id.as_str()])?,
                    None => None,
                };
                let note = match there {
                    Some(n) => format!(
                        "also sent to desk {}: handled there as {}",
                        first.cfg.name,
                        first.tags.format(n)
                    ),
                    None => format!(
                        "also sent to desk {}, listed first: handled there",
                        first.cfg.name
                    ),
                };
                rec.store(None, MessageKind::Customer, Some(&note))?;
                return Ok(Outcome::SetAside {
                    kind: "customer",
                    reason: "also sent to a desk listed before this one, which handles it",
                });
            }
        }

        // A bounce is threaded by the Message-ID of the mail it reports.
        let (reported, bounce_reason) = if class.kind == MessageKind::Bounce {
            (
                reported_message_ids(&item.raw),
                Some(bounce_reason(&item.raw, &msg.subject)),
            )
        } else {
            (Vec::new(), None)
        };
        let mut threading = thread::resolve(tx, &d.name, &desk.tags, signer, msg, &reported)?;

        if class.kind == MessageKind::Customer && d.is_agent(&msg.from.address) {
            if let Some(o) = self.agent_mail(&rec, desk, &mut threading)? {
                return Ok(o);
            }
            // An agent's mail about no ticket is handled like anyone's.
        }

        let policy = Policy {
            reopen_after_close: d.reopen_after_close,
            now: Utc::now(),
        };
        let plan = decide(&class, &threading, &policy);
        debug!(?class, ?threading, ?plan, "decided");
        let note = bounce_reason.as_deref();
        if let Some(reason) = &bounce_reason {
            let n = tx.mark_undeliverable(&d.name, &reported, reason)?;
            if n > 0 {
                info!(reported = ?reported, reason = %reason, "bounce: outgoing mail marked undeliverable");
            }
            if let Thread::Existing { ticket, .. } = &threading {
                tx.add_event(ticket.number, &msg.from.address, "bounce", Some(reason))?;
            }
        }

        Ok(match plan {
            Plan::Open {
                linked_to,
                ack,
                closed_before,
            } => {
                let cleaned = desk.tags.clean_subject(&msg.subject);
                let subject = match cleaned.as_ref() {
                    "" => "(no subject)",
                    s => s,
                };
                let number = tx.create_ticket(&d.name, subject, &msg.from, linked_to)?;
                rec.store(Some(number), class.kind, note)?;
                for cc in msg.to.iter().chain(&msg.cc) {
                    if !self.settings().own_addresses.contains(&cc.address)
                        && cc.address != msg.from.address
                        && d.comment_address.as_deref() != Some(&cc.address)
                    {
                        tx.add_participant(number, cc, "cc")?;
                    }
                }
                let acknowledged = ack
                    && !item.backlog
                    && self.acknowledge(
                        tx,
                        desk,
                        number,
                        subject,
                        msg,
                        &new_text,
                        linked_to.filter(|_| closed_before),
                    )?;
                if !item.backlog {
                    self.notify(tx, desk, number, msg, &new_text)?;
                }
                Outcome::Opened {
                    ticket: number,
                    acknowledged,
                }
            }
            Plan::Append { ticket, status } => {
                rec.store(Some(ticket), class.kind, note)?;
                tx.touch_ticket(ticket)?;
                if let Some(s) = status {
                    tx.set_status(ticket, s, &msg.from.address)?;
                }
                if class.kind == MessageKind::Customer && !item.backlog {
                    self.notify(tx, desk, ticket, msg, &new_text)?;
                }
                Outcome::Appended { ticket }
            }
            Plan::SetAside { reason } => {
                rec.store(None, class.kind, Some(note.unwrap_or(reason)))?;
                Outcome::SetAside {
                    kind: class.kind.as_str(),
                    reason,
                }
            }
        })
    }

    /// A desk listed before `desk` that the message is also addressed to.
    fn earlier_desk(&self, desk: &DeskRuntime, msg: &Inbound) -> Option<DeskRuntime> {
        let addressed = |d: &DeskRuntime| {
            msg.to
                .iter()
                .chain(&msg.cc)
                .any(|m| m.address == d.cfg.address)
        };
        self.settings()
            .desks
            .iter()
            .take_while(|d| d.cfg.name != desk.cfg.name)
            .find(|d| addressed(d))
            .cloned()
    }

    /// An agent's mail. `None` when it concerns no ticket (it is then
    /// handled like anyone's). Only a trusted one reaches the customer.
    fn agent_mail(
        &self,
        rec: &Recorder<'_, '_>,
        desk: &DeskRuntime,
        threading: &mut Thread,
    ) -> Result<Option<Outcome>, StoreError> {
        let (tx, msg, d) = (rec.tx, rec.msg, &desk.cfg);
        let signer = self.store.signer();
        let domain = msg.from.address.rsplit('@').next().unwrap_or("");
        let authenticated = d.agent_trust == AgentTrust::Authenticated
            && msg
                .auth_results
                .as_deref()
                .is_some_and(|a| crate::agent::authenticated(a, domain));
        // A ticket the mail names by its tag (agents are seldom participants).
        let mut named = None;
        if let Thread::New { .. } = threading {
            let tags = desk
                .tags
                .find(&msg.subject)
                .into_iter()
                .chain(desk.tags.find_in_text(&msg.text));
            for n in tags {
                if let Some(t) = tx.ticket(n)?.filter(|t| t.desk == d.name) {
                    named = Some(t);
                    break;
                }
            }
        }
        // With authentication, naming a ticket is enough.
        if let (true, Some(t)) = (authenticated, &named) {
            *threading = Thread::Existing {
                ticket: t.clone(),
                via: thread::Via::SubjectTag,
            };
        }
        let number = match (&*threading, &named) {
            (Thread::Existing { ticket, .. }, _) => ticket.number,
            (Thread::New { .. }, Some(t)) => t.number,
            (Thread::New { .. }, None) => return Ok(None),
        };
        let mut signed_reply = false;
        for id in msg.referenced_ids() {
            if signer.verify(id) == Some(number) && tx.sent_to_agents(number, id)? {
                signed_reply = true;
                break;
            }
        }
        let agent = &msg.from.address;
        if !(signed_reply || authenticated) {
            warn!(ticket = number, from = %agent, "agent mail without proof of origin: recorded, relayed to no one");
            rec.store(
                Some(number),
                MessageKind::Agent,
                Some("unverified sender: recorded, relayed to no one"),
            )?;
            tx.add_event(number, agent, "unverified_agent_mail", None)?;
            return Ok(Some(Outcome::Appended { ticket: number }));
        }

        let cmds = crate::commands::parse(rec.new_text);
        let to_comment = d
            .comment_address
            .as_deref()
            .is_some_and(|c| msg.to.iter().chain(&msg.cc).any(|m| m.address == c));
        let internal = cmds.internal || to_comment;
        let info = tx.ticket_info(number)?;
        // Written to the customer directly, with the desk in Cc: they have it already.
        let direct = msg
            .to
            .iter()
            .chain(&msg.cc)
            .any(|m| m.address == info.requester.address || info.cc.contains(&m.address));
        let kind = if internal {
            MessageKind::Note
        } else {
            MessageKind::Agent
        };
        let note = match (internal, direct) {
            (true, _) => Some("internal note"),
            (false, true) => Some("written to the customer directly: not relayed again"),
            _ => None,
        };
        rec.store(Some(number), kind, note)?;
        tx.add_participant(number, &msg.from, "agent")?;
        tx.touch_ticket(number)?;
        if let Some(who) = &cmds.assign {
            tx.set_assignee(number, who, agent)?;
        }
        if let Some(p) = &cmds.priority {
            tx.set_priority(number, p, agent)?;
        }
        match (cmds.status, internal) {
            (Some(s), _) => tx.set_status(number, s, agent)?,
            // An answer leaves the ticket waiting for the customer.
            (None, false) => tx.set_status(number, Status::Pending, agent)?,
            (None, true) => {}
        }
        if !internal && !direct && !cmds.body.is_empty() {
            let out = crate::relay::relay(crate::relay::RelayInput {
                desk: d,
                tags: &desk.tags,
                templates: &self.settings().templates,
                signer,
                ticket: &info,
                agent: &msg.from,
                body: &cmds.body,
                attachments: &msg.attachments,
            });
            match out {
                Ok(out) => {
                    self.queue(tx, d, number, MessageKind::Relay, &out)?;
                    info!(ticket = number, agent = %agent, "agent reply relayed to the customer");
                }
                Err(e) => {
                    warn!(ticket = number, error = %e, "agent reply not relayed");
                    tx.add_event(number, "hilo", "relay_failed", Some(&e.to_string()))?;
                }
            }
        }
        if !cmds.unknown.is_empty() {
            let out = crate::relay::report(
                d,
                &desk.tags,
                &self.settings().templates,
                signer,
                &info,
                &msg.from,
                &cmds.unknown,
            );
            if let Ok(out) = out {
                self.queue(tx, d, number, MessageKind::Report, &out)?;
            }
        }
        Ok(Some(Outcome::Appended { ticket: number }))
    }

    /// Notifies the desk's agents of a customer's message on `ticket`.
    fn notify(
        &self,
        tx: &Tx<'_>,
        desk: &DeskRuntime,
        ticket: i64,
        msg: &Inbound,
        new_text: &str,
    ) -> Result<(), StoreError> {
        let d = &desk.cfg;
        if d.notify.is_empty() {
            return Ok(());
        }
        let info = tx.ticket_info(ticket)?;
        let out = crate::notify::notification(crate::notify::NotifyInput {
            desk: d,
            tags: &desk.tags,
            templates: &self.settings().templates,
            signer: self.store.signer(),
            ticket: &info,
            from: &msg.from,
            new_text,
            attachments: &msg.attachments,
        });
        match out {
            Ok(out) => self.queue(tx, d, ticket, MessageKind::Notification, &out),
            Err(e) => {
                warn!(ticket, error = %e, "no notification");
                tx.add_event(ticket, "hilo", "notify_failed", Some(&e.to_string()))
            }
        }
    }

    /// Stores an outgoing mail on its ticket and queues it for sending;
    /// without bytes yet, its draft is stored for the sender to compose.
    fn queue(
        &self,
        tx: &Tx<'_>,
        d: &DeskConfig,
        ticket: i64,
        kind: MessageKind,
        out: &Outgoing,
    ) -> Result<(), StoreError> {
        let draft = &out.draft;
        let rcpt = draft.recipients();
        let id = tx.insert_message(&NewMessage {
            ticket: Some(ticket),
            desk: &d.name,
            direction: Direction::Out,
            kind,
            dedup_key: draft.message_id.clone(),
            message_id: Some(&draft.message_id),
            in_reply_to: draft.in_reply_to.as_slice(),
            references: &draft.references,
            from: &draft.from,
            to: draft.to.iter().map(|m| m.address.as_str()).collect(),
            cc: draft.cc.iter().map(|m| m.address.as_str()).collect(),
            subject: &draft.subject,
            date: Some(crate::store::now()),
            text: &draft.text,
            new_text: None,
            thread_root: None,
            note: None,
            raw: out.raw.as_deref().unwrap_or_default(),
            draft: out.raw.is_none().then(|| draft.to_json()).as_deref(),
            folder: None,
            uid: None,
        })?;
        tx.enqueue(id, &d.address, &rcpt, self.settings().expire_after)?;
        Ok(())
    }

    /// Stores and queues the acknowledgement; false if it could not be
    /// composed or the recipient's rate limit is reached.
    #[allow(clippy::too_many_arguments)]
    fn acknowledge(
        &self,
        tx: &Tx<'_>,
        desk: &DeskRuntime,
        number: i64,
        subject: &str,
        msg: &Inbound,
        new_text: &str,
        closed_before: Option<i64>,
    ) -> Result<bool, StoreError> {
        let d = &desk.cfg;
        let window =
            chrono::Duration::from_std(d.autoreply_window).unwrap_or(chrono::Duration::hours(3));
        let since = crate::store::ts(Utc::now() - window);
        let recent = tx.recent_acks(&d.name, &msg.from.address, &since)?;
        if recent >= d.max_autoreplies {
            let why = format!(
                "rate limit: {recent} acknowledgements to {} within {}",
                msg.from.address,
                humantime::format_duration(d.autoreply_window)
            );
            info!(ticket = number, "{why}; not acknowledged");
            tx.add_event(number, "hilo", "ack_suppressed", Some(&why))?;
            return Ok(false);
        }
        let out = match acknowledgement(AckInput {
            desk: d,
            tags: &desk.tags,
            templates: &self.settings().templates,
            signer: self.store.signer(),
            number,
            ticket_subject: subject,
            msg,
            new_text,
            closed_before,
        }) {
            Ok(o) => o,
            Err(e) => {
                warn!(ticket = number, error = %e, "no acknowledgement");
                tx.add_event(number, "hilo", "ack_skipped", Some(&e.to_string()))?;
                return Ok(false);
            }
        };
        self.queue(tx, d, number, MessageKind::Ack, &out)?;
        Ok(true)
    }
}

/// What an administrator does to a ticket from the command line.
#[derive(Debug, Clone)]
pub enum Action {
    Close,
    Reopen,
    Assign(String),
    /// An internal note.
    Note(String),
    /// An answer to the customer: relayed like an agent's mail reply.
    Reply(String),
}

impl Intake {
    /// Applies `action` to `ticket` on behalf of `actor` (an address).
    pub fn act(&self, ticket: i64, actor: &Mailbox, action: Action) -> Result<(), StoreError> {
        self.store.write(|tx| {
            let t = tx.ticket(ticket)?.ok_or(StoreError::NoSuchTicket(ticket))?;
            let desk = self.desk(&t.desk).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "ticket {ticket} belongs to unknown desk {}",
                    t.desk
                ))
            })?;
            let who = actor.address.as_str();
            match action {
                Action::Close => tx.set_status(ticket, Status::Closed, who),
                Action::Reopen => tx.set_status(ticket, Status::Open, who),
                Action::Assign(a) => tx.set_assignee(ticket, &a, who),
                Action::Note(body) => {
                    self.record_cli(tx, &desk, ticket, actor, MessageKind::Note, &body)?;
                    tx.touch_ticket(ticket)
                }
                Action::Reply(body) => {
                    self.record_cli(tx, &desk, ticket, actor, MessageKind::Agent, &body)?;
                    tx.add_participant(ticket, actor, "agent")?;
                    let info = tx.ticket_info(ticket)?;
                    let out = crate::relay::relay(crate::relay::RelayInput {
                        desk: &desk.cfg,
                        tags: &desk.tags,
                        templates: &self.settings().templates,
                        signer: self.store.signer(),
                        ticket: &info,
                        agent: actor,
                        body: &body,
                        attachments: &[],
                    })?;
                    self.queue(tx, &desk.cfg, ticket, MessageKind::Relay, &out)?;
                    tx.set_status(ticket, Status::Pending, who)
                }
            }
        })
    }

    /// Keeps a message written from the command line, as a small mail.
    fn record_cli(
        &self,
        tx: &Tx<'_>,
        desk: &DeskRuntime,
        ticket: i64,
        actor: &Mailbox,
        kind: MessageKind,
        body: &str,
    ) -> Result<(), StoreError> {
        let id = self.store.signer().new_id(ticket, desk.cfg.domain());
        let subject = desk.tags.format(ticket);
        let raw = format!(
            "From: {actor}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {}\r\nX-Hilo-Source: cli\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            Utc::now().to_rfc2822(),
            body.replace('\n', "\r\n")
        );
        tx.insert_message(&NewMessage {
            ticket: Some(ticket),
            desk: &desk.cfg.name,
            direction: Direction::In,
            kind,
            dedup_key: id.clone(),
            message_id: Some(&id),
            in_reply_to: &[],
            references: &[],
            from: actor,
            to: Vec::new(),
            cc: Vec::new(),
            subject: &subject,
            date: Some(crate::store::now()),
            text: body,
            new_text: Some(body),
            thread_root: None,
            note: Some("written with hilo tickets"),
            raw: raw.as_bytes(),
            draft: None,
            folder: None,
            uid: None,
        })?;
        tx.add_event(ticket, &actor.address, kind.as_str(), None)
    }

    /// Closes every desk's resolved tickets older than its close_after.
    pub fn close_resolved(&self) -> Result<usize, StoreError> {
        self.store.write(|tx| {
            let mut n = 0;
            for d in &self.settings().desks {
                let age = chrono::Duration::from_std(d.cfg.close_after)
                    .unwrap_or(chrono::Duration::days(7));
                n += tx.close_resolved(&d.cfg.name, &crate::store::ts(Utc::now() - age))?;
            }
            Ok(n)
        })
    }
}

/// Stores one received message, with the kind and note the decision gives it.
struct Recorder<'t, 'c> {
    tx: &'t Tx<'c>,
    desk: &'t str,
    msg: &'t Inbound,
    key: &'t str,
    text: &'t str,
    new_text: &'t str,
    folder: Option<&'t str>,
    item: &'t Received,
}

impl Recorder<'_, '_> {
    fn store(
        &self,
        ticket: Option<i64>,
        kind: MessageKind,
        note: Option<&str>,
    ) -> Result<i64, StoreError> {
        let (tx, msg) = (self.tx, self.msg);
        let note = note.or(self.item.note.as_deref());
        let id = tx.insert_message(&NewMessage {
            ticket,
            desk: self.desk,
            direction: Direction::In,
            kind,
            dedup_key: self.key.to_string(),
            message_id: msg.message_id.as_deref(),
            in_reply_to: &msg.in_reply_to,
            references: &msg.references,
            from: &msg.from,
            to: msg.to.iter().map(|m| m.address.as_str()).collect(),
            cc: msg.cc.iter().map(|m| m.address.as_str()).collect(),
            subject: &msg.subject,
            date: msg.date.map(crate::store::ts),
            text: self.text,
            new_text: Some(self.new_text),
            thread_root: msg.thread_root.as_deref(),
            note,
            raw: &self.item.raw,
            draft: None,
            folder: self.folder,
            uid: self.item.uid,
        })?;
        for a in &msg.attachments {
            tx.insert_attachment(id, a)?;
        }
        Ok(id)
    }
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

/// Parses every item; pure, so it can run on any thread. A panic in the
/// parser is that message's error (see [`parse`]).
pub fn parse_all(items: &[Received]) -> Vec<Result<Inbound, ParseError>> {
    items.iter().map(|r| parse(&r.raw)).collect()
}

fn log_outcome(uid: Option<u32>, o: &Outcome) {
    match o {
        Outcome::Opened {
            ticket,
            acknowledged,
        } => info!(?uid, ticket, acknowledged, "new ticket"),
        Outcome::Appended { ticket } => info!(?uid, ticket, "added to ticket"),
        Outcome::SetAside { kind, reason } => info!(?uid, kind, reason, "set aside"),
        Outcome::Duplicate => debug!(?uid, "already stored"),
        Outcome::Quarantined { id, reason } => {
            warn!(?uid, quarantine = id, reason = %reason, "quarantined")
        }
    }
}
