//! Timers on tickets: service-level warnings and breaches, and the
//! reminders and close of a ticket waiting on its customer.
//!
//! A pass measures the open tickets that changed since they were last
//! measured, or whose next warning point or due time has come (the
//! store's `sla_next_at`, kept by triggers, so an idle desk costs one
//! indexed query). For each running clock past its warning point or its
//! target it records the event once (`sla_warning` / `sla_breach`, whose
//! detail names the clock: which, and when it started) and queues one
//! mail per `escalate_to` address, in the same transaction: a restart, a
//! reload or a second pass finds the event and sends nothing again. Then
//! it sets when the ticket next needs a look. Composition goes through
//! `Writer::queue_or_event` (a mail that cannot be composed is an event);
//! a panic while measuring one ticket leaves that ticket waiting until it
//! changes, and the rest of the pass goes on.
//!
//! A clock that is paused, met or without a target asks for nothing: the
//! ticket is looked at again when it changes.
//!
//! A pending ticket's steps (`[desk.pending]`) count from when it became
//! pending; each is an event `pending_step` (`remind 1 <since>`, `close
//! <since>`) written with its mail. A customer's reply makes the ticket
//! open, which leaves no step to take; an out-of-office reply changes no
//! status, so the steps go on.

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
    /// Reminders sent to customers, and tickets closed unanswered.
    pub reminders: usize,
    pub closed: usize,
    /// `#recordar` reminders sent to agents.
    pub agent_reminders: usize,
    /// Mails queued (to leads and customers).
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
                    // A panic is this ticket's alone: it waits until it
                    // changes, and the other tickets' timers go on.
                    let measured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        measure(&w, &settings, t, now, &mut pass)
                    }));
                    match measured {
                        Ok(r) => r?,
                        Err(p) => {
                            let why = crate::panic_message(&*p);
                            warn!(ticket = t.number, panic = %why, "measuring a ticket panicked");
                            tx.set_sla_next(t.number, None)?;
                        }
                    }
                }
                Ok::<_, StoreError>(due.len())
            })?;
            if n < BATCH {
                break;
            }
        }
        if pass.warnings + pass.breaches + pass.reminders + pass.closed + pass.agent_reminders > 0 {
            info!(
                measured = pass.measured,
                warnings = pass.warnings,
                breaches = pass.breaches,
                reminders = pass.reminders,
                closed = pass.closed,
                agent_reminders = pass.agent_reminders,
                mails = pass.mails,
                "timers"
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
    let Some(desk) = settings.desk(&t.desk) else {
        return tx.set_sla_next(t.number, None);
    };
    let timeline = tx.timeline(t.number)?;
    pass.measured += 1;
    let mut next = match &desk.cfg.sla {
        Some(sla) => clocks(w, desk, sla, t, &timeline, now, pass)?,
        None => None,
    };
    if let Some(p) = &desk.cfg.pending {
        if let Some(at) = pending(w, desk, p, t.number, &timeline, now, pass)? {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    if let Some(at) = agent_reminders(w, desk, t.number, now, pass)? {
        next = Some(next.map_or(at, |n| n.min(at)));
    }
    // Last: queueing mail on the ticket marked it changed.
    tx.set_sla_next(t.number, next)
}

/// The service-level clocks: warnings and breaches; the next instant.
fn clocks(
    w: &Writer<'_, '_>,
    desk: &super::settings::DeskRuntime,
    sla: &crate::sla::Sla,
    t: &ToMeasure,
    timeline: &crate::sla::Timeline,
    now: DateTime<Utc>,
    pass: &mut TimerPass,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let tx = w.tx;
    let m = sla.measure(t.priority, timeline, &desk.cfg.calendar, now);
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
                pass.mails += escalate(w, desk, sla, t.number, level, c, now)?;
            }
        }
        for at in [c.warn_at, c.due_at].into_iter().flatten() {
            if at > now {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
    }
    Ok(next)
}

/// A pending ticket's reminders and close: the latest step that came is
/// carried out once (earlier ones that came while hilo was down are only
/// recorded); the next step's instant.
fn pending(
    w: &Writer<'_, '_>,
    desk: &super::settings::DeskRuntime,
    steps: &crate::sla::PendingSteps,
    number: i64,
    timeline: &crate::sla::Timeline,
    now: DateTime<Utc>,
    pass: &mut TimerPass,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    use crate::model::Status;
    use crate::sla::{Happening, PendingStep};
    let tx = w.tx;
    let last_status = timeline.0.iter().rev().find_map(|(at, h)| match h {
        Happening::Status(s) => Some((*at, *s)),
        _ => None,
    });
    let Some((since, Status::Pending)) = last_status else {
        return Ok(None);
    };
    let all = steps.at(since, &desk.cfg.calendar);
    let future = all.iter().find(|(at, _)| *at > now).map(|(at, _)| *at);
    let due: Vec<PendingStep> = all
        .iter()
        .filter(|(at, _)| *at <= now)
        .map(|(_, s)| *s)
        .collect();
    let Some(&last) = due.last() else {
        return Ok(future);
    };
    let key = |s: PendingStep| format!("{} {}", s.name(), ts(since));
    if tx.has_event(number, EventKind::PendingStep, &key(last))? {
        return Ok(future);
    }
    for s in &due {
        if !tx.has_event(number, EventKind::PendingStep, &key(*s))? {
            tx.add_event(number, "hilo", EventKind::PendingStep, Some(&key(*s)))?;
        }
    }
    let closing = last == PendingStep::Close;
    if closing {
        tx.set_status(number, Status::Closed, "hilo")?;
        pass.closed += 1;
    } else {
        pass.reminders += 1;
    }
    let info = tx.ticket_info(number)?;
    let to = info.requester.clone();
    if desk.cfg.is_agent(&to.address) {
        return Ok(if closing { None } else { future });
    }
    let seen = tx.ticket_info_for(number, std::slice::from_ref(&to.address))?;
    let closes_at = all
        .iter()
        .find(|(_, s)| *s == PendingStep::Close)
        .map(|(at, _)| *at);
    let reopen_days = desk.cfg.reopen_after_close.as_secs() / 86_400;
    let out = crate::outgoing::notify::pending_step(crate::outgoing::notify::PendingInput {
        about: about(w, desk, &seen),
        to: &to,
        closed: closing.then_some(reopen_days),
        closes_at,
        now,
    });
    let kind = MessageKind::Reminder;
    if w.queue_or_event(&desk.cfg, number, kind, out, EventKind::ReceiptFailed, None)?
        .is_some()
    {
        pass.mails += 1;
    }
    Ok(if closing { None } else { future })
}

/// The `#recordar` reminders of a ticket that came, sent once each (the
/// event `reminder_sent` with the same detail); the next one's instant.
fn agent_reminders(
    w: &Writer<'_, '_>,
    desk: &super::settings::DeskRuntime,
    number: i64,
    now: DateTime<Utc>,
    pass: &mut TimerPass,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let tx = w.tx;
    let mut next: Option<DateTime<Utc>> = None;
    for detail in tx.agent_reminders(number)? {
        let Some((at, who)) = detail.split_once(' ') else {
            continue;
        };
        let Ok(at) = at.parse::<DateTime<Utc>>() else {
            continue;
        };
        if at > now {
            next = Some(next.map_or(at, |n| n.min(at)));
            continue;
        }
        tx.add_event(number, "hilo", EventKind::ReminderSent, Some(&detail))?;
        let info = tx.ticket_info(number)?;
        let out = crate::outgoing::notify::agent_reminder(about(w, desk, &info), who);
        let kind = MessageKind::Notification;
        if w.queue_or_event(&desk.cfg, number, kind, out, EventKind::NotifyFailed, None)?
            .is_some()
        {
            pass.mails += 1;
            pass.agent_reminders += 1;
        }
    }
    Ok(next)
}

/// What the mail about ticket `info` is written from.
fn about<'a>(
    w: &'a Writer<'_, '_>,
    desk: &'a super::settings::DeskRuntime,
    info: &'a crate::store::TicketInfo,
) -> About<'a> {
    About {
        desk: &desk.cfg,
        tags: &desk.tags,
        templates: &w.settings.templates,
        signer: w.signer,
        ticket: info,
    }
}

/// Queues the lead's mail for one clock to each `escalate_to`; how many.
#[allow(clippy::too_many_arguments)]
fn escalate(
    w: &Writer<'_, '_>,
    desk: &super::settings::DeskRuntime,
    sla: &crate::sla::Sla,
    number: i64,
    level: Level,
    clock: &crate::sla::Clock,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(due_at) = clock.due_at else {
        return Ok(0);
    };
    let info = w.tx.ticket_info(number)?;
    let mut sent = 0;
    for to in &sla.escalate_to {
        let out = escalation(EscalationInput {
            about: about(w, desk, &info),
            level,
            clock,
            due_at,
            to,
            now,
        });
        let kind = MessageKind::Notification;
        if w.queue_or_event(&desk.cfg, number, kind, out, EventKind::NotifyFailed, None)?
            .is_some()
        {
            sent += 1;
        }
    }
    Ok(sent)
}

/// When desk `d`'s digest is next due after `now`: its `at` on the next
/// working day (every day on wall time); `None` past ten years.
fn next_digest(
    cal: &crate::calendar::Calendar,
    at: chrono::NaiveTime,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut day = cal.local_date(now);
    for _ in 0..3660 {
        if cal.is_wall() || cal.is_working_day(day) {
            if let Some(t) = day.and_time(at).and_local_timezone(cal.tz).earliest() {
                let t = t.to_utc();
                if t > now {
                    return Some(t);
                }
            }
        }
        day = day.succ_opt()?;
    }
    None
}

impl Intake {
    /// Queues each desk's digest of today once, when its hour has come on
    /// a working day, and each desk's weekly report
    /// ([`Intake::weekly_reports`]); how many mails, and when the next
    /// digest or report is due.
    pub fn digests(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, Option<DateTime<Utc>>), StoreError> {
        let settings = self.settings();
        let (mut sent, mut next) = (0, None::<DateTime<Utc>>);
        for desk in &settings.desks {
            let Some(dg) = &desk.cfg.digest else { continue };
            let cal = &*desk.cfg.calendar;
            let today = cal.local_date(now);
            let due_today = today
                .and_time(dg.at)
                .and_local_timezone(cal.tz)
                .earliest()
                .map(|t| t.to_utc());
            if (cal.is_wall() || cal.is_working_day(today)) && due_today.is_some_and(|t| t <= now) {
                sent += self.store().write(|tx| {
                    if tx.digest_done(&desk.cfg.name, today)? {
                        return Ok::<_, StoreError>(0);
                    }
                    // A panic is a missing digest, never dead timers.
                    let signer = self.store().signer();
                    let n = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        digest_of(tx, &settings, desk, dg, signer, now)
                    }))
                    .unwrap_or_else(|p| {
                        let why = crate::panic_message(&*p);
                        warn!(desk = %desk.cfg.name, panic = %why, "the digest panicked");
                        Ok(0)
                    })?;
                    tx.record_digest(&desk.cfg.name, today)?;
                    Ok(n)
                })?;
            }
            if let Some(t) = next_digest(cal, dg.at, now) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        let (weekly, weekly_next) = self.weekly_reports(now)?;
        let next = match (next, weekly_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok((sent + weekly, next))
    }
}

/// Builds and queues one desk's digest to each of its addresses; how many.
fn digest_of(
    tx: &Tx<'_>,
    settings: &Settings,
    desk: &super::settings::DeskRuntime,
    dg: &crate::config::Digest,
    signer: &crate::mail::msgid::Signer,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    use crate::model::Status;
    use crate::outgoing::digest::{digest, DigestInput, Line, Section};
    use crate::sla::Standing;
    let d = &desk.cfg;
    let lang = d.language;
    let (tickets, all) = tx.digest_tickets(&d.name)?;
    let today = d.calendar.local_date(now);
    let (mut breached, mut due, mut unassigned, mut waiting) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut mine: std::collections::BTreeMap<String, Vec<Line>> = Default::default();
    let long = chrono::Duration::days(i64::from(dg.pending_days));
    for t in &tickets {
        let timeline = tx.timeline(t.number)?;
        let m = d
            .sla
            .as_ref()
            .map(|s| s.measure(t.priority, &timeline, &d.calendar, now));
        let line = |note: String| Line {
            number: t.number,
            subject: t.subject.clone(),
            requester: t.requester.clone(),
            note,
        };
        let when = |at| crate::outgoing::words::short_when(lang, d.calendar.tz, at, now);
        if let Some(m) = &m {
            match (m.standing, m.due_at) {
                (Standing::Breached, at) => breached.push(line(at.map_or(String::new(), |at| {
                    lang.say("digest.overdue", &[("when", &when(at))])
                }))),
                (_, Some(at)) if d.calendar.local_date(at) == today => {
                    due.push(line(lang.say("digest.due", &[("when", &when(at))])))
                }
                _ => {}
            }
        }
        if t.assignee.is_none() && t.status != Status::Pending {
            unassigned.push(line(String::new()));
        }
        if t.status == Status::Pending {
            let since = timeline.0.iter().rev().find_map(|(at, h)| {
                matches!(h, crate::sla::Happening::Status(Status::Pending)).then_some(*at)
            });
            if let Some(since) = since.filter(|s| now - *s > long) {
                let day = crate::outgoing::words::day(lang, d.calendar.tz, since, now);
                waiting.push(line(lang.say("digest.since", &[("day", &day)])));
            }
        }
        if let Some(a) = &t.assignee {
            mine.entry(a.clone())
                .or_default()
                .push(line(crate::outgoing::status_word(t.status, lang)));
        }
    }
    let count = |v: &Vec<Line>| v.len().to_string();
    let mut sections = vec![
        Section {
            title: lang.say("digest.breached", &[("count", &count(&breached))]),
            lines: breached,
        },
        Section {
            title: lang.say("digest.due_today", &[("count", &count(&due))]),
            lines: due,
        },
        Section {
            title: lang.say("digest.unassigned", &[("count", &count(&unassigned))]),
            lines: unassigned,
        },
        Section {
            title: lang.say(
                "digest.pending_long",
                &[
                    ("days", &dg.pending_days.to_string()),
                    ("count", &count(&waiting)),
                ],
            ),
            lines: waiting,
        },
    ];
    for (agent, lines) in mine {
        sections.push(Section {
            title: lang.say(
                "digest.agent",
                &[("agent", &agent), ("count", &lines.len().to_string())],
            ),
            lines,
        });
    }
    let mut n = 0;
    for to in &dg.to {
        let out = digest(DigestInput {
            desk: d,
            tags: &desk.tags,
            signer,
            to,
            now,
            open: all,
            left_out: all.saturating_sub(tickets.len()),
            sections: &sections,
        });
        match out {
            Ok(out) => {
                let q = crate::store::Queued::on_no_ticket(
                    &d.name,
                    &out.draft.from.address,
                    MessageKind::Digest,
                    settings.expire_after,
                );
                tx.queue_outgoing(&q, &out)?;
                n += 1;
            }
            Err(e) => warn!(desk = %d.name, error = %crate::report(&e), "no digest"),
        }
    }
    Ok(n)
}
