//! Timers on tickets: service-level warnings and breaches.
//!
//! A pass measures the open tickets that changed since they were last
//! measured, or whose next warning point or due time has come (the
//! store's `sla_next_at`, kept by triggers, so an idle desk costs one
//! indexed query). For each running clock past its warning point or its
//! target it records the event once (`sla_warning` / `sla_breach`, whose
//! detail names the clock: which, and when it started) and queues one
//! mail per `escalate_to` address, in the same transaction: a restart, a
//! reload or a second pass finds the event and sends nothing again. Then
//! it sets when the ticket next needs a look.
//!
//! A clock that is paused, met or without a target asks for nothing: the
//! ticket is looked at again when it changes.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::apply::Writer;
use super::settings::Settings;
use super::Intake;
use crate::model::MessageKind;
use crate::outgoing::escalation::{escalation, EscalationInput, Level};
use crate::outgoing::About;
use crate::store::{ts, StoreError, ToMeasure, Tx};
use hilo_domain::EventKind;

/// Tickets measured per write transaction: intake waits at most one
/// batch for the lock.
pub const BATCH: usize = 200;

/// Most batches in one pass (two million tickets); the rest wait for the
/// next pass.
pub const MAX_BATCHES: usize = 10_000;

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TimerPass {
    pub measured: usize,
    pub warnings: usize,
    pub breaches: usize,
    /// Mails queued to the leads.
    pub mails: usize,
}

impl Intake {
    /// One pass of the timers at the store's now. Blocking.
    pub fn timers(&self) -> Result<TimerPass, StoreError> {
        let settings = self.settings();
        let mut pass = TimerPass::default();
        for _ in 0..MAX_BATCHES {
            let now = self.store().now();
            let n = self.store().write(|tx| {
                let due = tx.sla_due(now, BATCH)?;
                let w = Writer {
                    tx,
                    settings: &settings,
                    signer: self.store().signer(),
                    now,
                };
                for t in &due {
                    measure(&w, &settings, t, now, &mut pass)?;
                }
                Ok::<_, StoreError>(due.len())
            })?;
            if n < BATCH {
                break;
            }
        }
        if pass.warnings + pass.breaches > 0 {
            info!(
                measured = pass.measured,
                warnings = pass.warnings,
                breaches = pass.breaches,
                mails = pass.mails,
                "service levels"
            );
        }
        Ok(pass)
    }
}

fn measure(
    w: &Writer<'_, '_>,
    settings: &Settings,
    t: &ToMeasure,
    now: DateTime<Utc>,
    pass: &mut TimerPass,
) -> Result<(), StoreError> {
    let tx: &Tx<'_> = w.tx;
    let desk = settings.desk(&t.desk);
    let Some((desk, sla)) = desk.and_then(|d| d.cfg.sla.as_ref().map(|s| (d, s))) else {
        return tx.set_sla_next(t.number, None);
    };
    let timeline = tx.timeline(t.number)?;
    let m = sla.measure(t.priority, &timeline, &desk.cfg.calendar, now);
    pass.measured += 1;
    let mut next: Option<DateTime<Utc>> = None;
    let clocks = m.episodes.last().map_or(&[][..], |e| &e.clocks[..]);
    for c in clocks
        .iter()
        .filter(|c| c.running() && !c.paused && c.target_secs.is_some())
    {
        let late = c.breached || c.due_at.is_some_and(|d| d <= now);
        let warned = c.warn_at.is_some_and(|at| at <= now);
        let (level, kind) = if late {
            (Level::Breach, EventKind::SlaBreach)
        } else {
            (Level::Warning, EventKind::SlaWarning)
        };
        if late || warned {
            let key = format!("{} {}", c.which.name(), ts(c.started_at));
            if !tx.has_event(t.number, kind, &key)? {
                tx.add_event(t.number, "hilo", kind, Some(&key))?;
                match level {
                    Level::Warning => pass.warnings += 1,
                    Level::Breach => pass.breaches += 1,
                }
                pass.mails += escalate(w, desk, t.number, level, c, now)?;
            }
        }
        for at in [c.warn_at, c.due_at].into_iter().flatten() {
            if at > now {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
    }
    // Last: queueing mail on the ticket marked it changed.
    tx.set_sla_next(t.number, next)
}

/// Queues the lead's mail for one clock to each `escalate_to`; how many.
fn escalate(
    w: &Writer<'_, '_>,
    desk: &super::settings::DeskRuntime,
    number: i64,
    level: Level,
    clock: &crate::sla::Clock,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(sla) = &desk.cfg.sla else {
        return Ok(0);
    };
    let Some(due_at) = clock.due_at else {
        return Ok(0);
    };
    let info = w.tx.ticket_info(number)?;
    let mut sent = 0;
    for to in &sla.escalate_to {
        let about = About {
            desk: &desk.cfg,
            tags: &desk.tags,
            templates: &w.settings.templates,
            signer: w.signer,
            ticket: &info,
        };
        // Composition is contained: a panic is a failed mail, never a
        // dead timer (the subject is the customer's).
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            escalation(EscalationInput {
                about,
                level,
                clock,
                due_at,
                to,
                now,
            })
        }));
        match out {
            Ok(Ok(out)) => {
                w.queue(&desk.cfg, number, MessageKind::Notification, &out, None)?;
                sent += 1;
            }
            Ok(Err(e)) => {
                let why = crate::report(&e).to_string();
                warn!(ticket = number, error = %why, "no escalation mail");
                w.tx.add_event(number, "hilo", EventKind::NotifyFailed, Some(&why))?;
            }
            Err(p) => {
                let why = format!("composing panicked: {}", crate::panic_message(&*p));
                warn!(ticket = number, error = %why, "no escalation mail");
                w.tx.add_event(number, "hilo", EventKind::NotifyFailed, Some(&why))?;
            }
        }
    }
    Ok(sent)
}
