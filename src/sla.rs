//! Service levels: the clocks of a ticket, computed from its timeline
//! (status changes, customers' mail, agents' relayed answers), in
//! business or wall time. The same function ([`episodes`]) feeds the SLA
//! (due times, warnings, breaches) and the reports, so they never
//! disagree.
//!
//! What starts and stops each clock:
//! - **first response** runs from the start of an episode (the ticket's
//!   creation, or its reopening) to the first answer of an agent that was
//!   relayed to the customer. The acknowledgement, an FAQ answer, an
//!   internal note and a command are no answer;
//! - **next response** runs from a customer's mail that follows an answer
//!   to the next answer;
//! - **resolution** runs from the start of the episode to `resolved` or
//!   `closed`.
//!
//! Every clock stops while the ticket is in a status of `pause_in`
//! (`pending`: waiting on the customer), and stops for good when the
//! episode ends. A reopened ticket starts a new episode: its clocks
//! start again, and the earlier episode keeps what it measured.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::calendar::Calendar;
pub use crate::domain::timeline::{Happening, Timeline};
use crate::model::{Priority, Status};

/// The targets of one priority; `None`: no promise on that clock.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Targets {
    pub first_response: Option<Duration>,
    pub next_response: Option<Duration>,
    pub resolution: Option<Duration>,
}

impl Targets {
    /// These targets, with `over`'s where it sets one.
    pub fn with(self, over: Targets) -> Targets {
        Targets {
            first_response: over.first_response.or(self.first_response),
            next_response: over.next_response.or(self.next_response),
            resolution: over.resolution.or(self.resolution),
        }
    }

    fn of(&self, which: Which) -> Option<Duration> {
        match which {
            Which::FirstResponse => self.first_response,
            Which::NextResponse => self.next_response,
            Which::Resolution => self.resolution,
        }
    }
}

/// A desk's service levels.
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    pub targets: Targets,
    /// Overrides per priority.
    pub by_priority: Vec<(Priority, Targets)>,
    /// Counted in the desk's calendar (`true`) or in wall time.
    pub business: bool,
    /// The statuses in which every clock stops.
    pub pause_in: Vec<Status>,
    /// The fraction of a target at which the lead is warned.
    pub warn_at: f64,
    /// Who hears of warnings and breaches.
    pub escalate_to: Vec<String>,
}

impl Sla {
    pub fn targets(&self, p: Priority) -> Targets {
        self.by_priority
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(self.targets, |(_, t)| self.targets.with(*t))
    }
}

impl Sla {
    /// Ticket's service levels at `now`: every episode of its timeline,
    /// measured in `calendar` when the desk counts business time.
    pub fn measure(
        &self,
        priority: Priority,
        timeline: &Timeline,
        calendar: &Calendar,
        now: DateTime<Utc>,
    ) -> Measure {
        let wall;
        let cal = if self.business {
            calendar
        } else {
            wall = Calendar::always();
            &wall
        };
        let episodes = episodes(
            timeline,
            self.targets(priority),
            &self.pause_in,
            self.warn_at,
            cal,
            now,
        );
        Measure::of(episodes, now)
    }
}

/// Where a ticket stands against its promises now: the current (last)
/// episode's worst clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// No clock runs: everything owed was given (or there is no target).
    Met,
    /// Every running clock is paused (waiting on the customer).
    Paused,
    /// Running, before the warning point.
    Running,
    /// A running clock is past its warning point.
    Warning,
    /// A clock of this episode went past its target.
    Breached,
}

/// A ticket's clocks, and what they add up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    pub standing: Standing,
    /// The earliest due time of a running, unpaused clock (in the past
    /// when breached).
    #[serde(serialize_with = "crate::store::serialize_ts_opt")]
    pub due_at: Option<DateTime<Utc>>,
    pub episodes: Vec<Episode>,
}

impl Standing {
    /// As `serde` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::Paused => "paused",
            Standing::Running => "running",
            Standing::Warning => "warning",
            Standing::Breached => "breached",
        }
    }
}

impl Measure {
    fn of(episodes: Vec<Episode>, now: DateTime<Utc>) -> Measure {
        let clocks = episodes.last().map_or(&[][..], |e| &e.clocks[..]);
        let running = || clocks.iter().filter(|c| c.running());
        let standing = if clocks.iter().any(|c| c.breached) {
            Standing::Breached
        } else if running().any(|c| !c.paused && c.warn_at.is_some_and(|w| w <= now)) {
            Standing::Warning
        } else if running().any(|c| !c.paused && c.target_secs.is_some()) {
            Standing::Running
        } else if running().any(|c| c.paused && c.target_secs.is_some()) {
            Standing::Paused
        } else {
            Standing::Met
        };
        let due_at = running()
            .filter(|c| !c.paused)
            .filter_map(|c| c.due_at)
            .min();
        Measure {
            standing,
            due_at,
            episodes,
        }
    }
}

/// A duration for people, in whole minutes (`1h 5m`): seconds are noise
/// in a lead's mail or a report.
pub fn minutes(secs: i64) -> String {
    let secs = secs.max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs - secs % 60)).to_string()
}

/// Most reminders `[desk.pending]` may list.
pub const MAX_REMINDERS: usize = 10;

/// What happens while a ticket waits on the customer: reminders, then
/// the close, each this long after the ticket became pending.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingSteps {
    pub remind_after: Vec<Duration>,
    pub close_after: Option<Duration>,
    /// Days are working days of the desk's calendar.
    pub business: bool,
}

/// One step of [`PendingSteps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingStep {
    /// The reminder of this index (0 first).
    Remind(usize),
    Close,
}

impl PendingStep {
    /// How its event names it: `remind 1`, `close`.
    pub fn name(self) -> String {
        match self {
            PendingStep::Remind(i) => format!("remind {}", i + 1),
            PendingStep::Close => "close".into(),
        }
    }
}

impl PendingSteps {
    /// Each step's instant for a ticket pending since `since`, in order.
    /// In business time, the whole days of a step are working days of
    /// `cal` (at the same local time of day, or the day's first opening
    /// if that is later), and the rest open hours after that.
    pub fn at(&self, since: DateTime<Utc>, cal: &Calendar) -> Vec<(DateTime<Utc>, PendingStep)> {
        let after = |d: Duration| -> Option<DateTime<Utc>> {
            if !self.business || cal.is_wall() {
                return since.checked_add_signed(d);
            }
            let days = d.num_days();
            let rest = d - Duration::days(days);
            let local = since.with_timezone(&cal.tz);
            let mut date = local.date_naive();
            let mut left = days;
            // Bounded: ten years of days.
            for _ in 0..3660 {
                if left == 0 {
                    break;
                }
                date = date.succ_opt()?;
                if cal.is_working_day(date) {
                    left -= 1;
                }
            }
            if left > 0 {
                return None;
            }
            let at = if days == 0 {
                since
            } else {
                let same = date
                    .and_time(local.time())
                    .and_local_timezone(cal.tz)
                    .earliest()
                    .map(|t| t.to_utc());
                let first = cal.openings(date).first().map(|o| o.0);
                match (same, first) {
                    (Some(s), Some(f)) => s.max(f),
                    (Some(s), None) => s,
                    (None, f) => f?,
                }
            };
            cal.add(at, rest)
        };
        let mut out: Vec<(DateTime<Utc>, PendingStep)> = self
            .remind_after
            .iter()
            .enumerate()
            .filter_map(|(i, d)| after(*d).map(|t| (t, PendingStep::Remind(i))))
            .collect();
        if let Some(c) = self.close_after.and_then(after) {
            out.push((c, PendingStep::Close));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl Which {
    /// As `serde` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Which::FirstResponse => "first_response",
            Which::NextResponse => "next_response",
            Which::Resolution => "resolution",
        }
    }
}

/// Why a clock stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// What it waited for happened: an answer, or the resolution.
    Met,
    /// The episode ended (resolved or closed) before an answer came.
    Ended,
}

/// One clock of one episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clock {
    pub which: Which,
    #[serde(serialize_with = "crate::store::serialize_ts")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::store::serialize_ts_opt")]
    pub stopped_at: Option<DateTime<Utc>>,
    pub stop: Option<Stop>,
    /// The target, in seconds of business or wall time.
    pub target_secs: Option<i64>,
    /// Counted time so far (or until it stopped), pauses left out.
    pub elapsed_secs: i64,
    /// Time in a paused status, counted the same way.
    pub paused_secs: i64,
    /// When the target is (or was) reached; `None` when there is no
    /// target, or while paused before it is reached.
    #[serde(serialize_with = "crate::store::serialize_ts_opt")]
    pub due_at: Option<DateTime<Utc>>,
    /// When the warning point is (or was) reached.
    #[serde(serialize_with = "crate::store::serialize_ts_opt")]
    pub warn_at: Option<DateTime<Utc>>,
    /// Elapsed is past the target.
    pub breached: bool,
    /// The ticket is paused now (this clock is running but stopped).
    pub paused: bool,
}

impl Clock {
    pub fn running(&self) -> bool {
        self.stopped_at.is_none()
    }

    /// Time to an answer or resolution, when one came.
    pub fn met_after(&self) -> Option<Duration> {
        (self.stop == Some(Stop::Met)).then(|| Duration::seconds(self.elapsed_secs))
    }
}

/// One episode: from the ticket's creation or reopening to its
/// resolution or closing (or now).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episode {
    #[serde(serialize_with = "crate::store::serialize_ts")]
    pub opened_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::store::serialize_ts_opt")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Whether it began with a reopening.
    pub reopened: bool,
    pub clocks: Vec<Clock>,
}

impl Episode {
    pub fn clock(&self, which: Which) -> Option<&Clock> {
        self.clocks.iter().rev().find(|c| c.which == which)
    }
}

/// A clock being measured: where it started, and the pauses inside it.
struct Open {
    which: Which,
    from: DateTime<Utc>,
}

fn is_end(s: Status) -> bool {
    matches!(s, Status::Resolved | Status::Closed)
}

/// The episodes of a timeline and their clocks at `now`. `measure` is
/// the desk's calendar for business time, or [`Calendar::always`].
/// Linear in the timeline (each clock keeps the pauses it spans).
pub fn episodes(
    t: &Timeline,
    targets: Targets,
    pause_in: &[Status],
    warn_at: f64,
    measure: &Calendar,
    now: DateTime<Utc>,
) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    // The pauses of the current episode: (from, until).
    let mut pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    let mut status: Option<Status> = None;
    let mut answered = false;
    let finish = |o: Open,
                  stop: Option<(DateTime<Utc>, Stop)>,
                  pauses: &[(DateTime<Utc>, Option<DateTime<Utc>>)]|
     -> Clock {
        measure_clock(
            o.which,
            o.from,
            stop,
            pauses,
            targets.of(o.which),
            warn_at,
            measure,
            now,
        )
    };
    for &(at, h) in &t.0 {
        match h {
            Happening::Status(s) => {
                let was = status.replace(s);
                let starts = match was {
                    None => true,
                    Some(w) => is_end(w) && !is_end(s),
                };
                if starts {
                    out.push(Episode {
                        opened_at: at,
                        ended_at: None,
                        reopened: was.is_some(),
                        clocks: Vec::new(),
                    });
                    pauses.clear();
                    answered = false;
                    open = vec![
                        Open {
                            which: Which::FirstResponse,
                            from: at,
                        },
                        Open {
                            which: Which::Resolution,
                            from: at,
                        },
                    ];
                } else if is_end(s) && !was.is_some_and(is_end) {
                    for o in open.drain(..) {
                        let why = if o.which == Which::Resolution {
                            Stop::Met
                        } else {
                            Stop::Ended
                        };
                        let c = finish(o, Some((at, why)), &pauses);
                        if let Some(e) = out.last_mut() {
                            e.clocks.push(c);
                        }
                    }
                    if let Some(e) = out.last_mut() {
                        e.ended_at = Some(at);
                    }
                }
                let pausing = pause_in.contains(&s) && !is_end(s);
                match pauses.last_mut() {
                    Some((_, until @ None)) if !pausing => *until = Some(at),
                    Some((_, None)) => {}
                    _ if pausing => pauses.push((at, None)),
                    _ => {}
                }
            }
            Happening::Customer => {
                let waiting = open.iter().any(|o| o.which != Which::Resolution);
                if answered && !waiting && !open.is_empty() {
                    open.push(Open {
                        which: Which::NextResponse,
                        from: at,
                    });
                }
            }
            Happening::Answer => {
                if open.is_empty() {
                    continue;
                }
                answered = true;
                let (stopping, keep): (Vec<Open>, Vec<Open>) =
                    open.drain(..).partition(|o| o.which != Which::Resolution);
                open = keep;
                for o in stopping {
                    let c = finish(o, Some((at, Stop::Met)), &pauses);
                    if let Some(e) = out.last_mut() {
                        e.clocks.push(c);
                    }
                }
            }
        }
    }
    for o in open {
        let c = finish(o, None, &pauses);
        if let Some(e) = out.last_mut() {
            e.clocks.push(c);
        }
    }
    for e in &mut out {
        e.clocks.sort_by_key(|c| match c.which {
            Which::FirstResponse => (0, c.started_at),
            Which::NextResponse => (1, c.started_at),
            Which::Resolution => (2, c.started_at),
        });
    }
    out
}

/// One clock from `from` to its stop (or `now`), with the episode's
/// pauses left out: its elapsed and paused time, and when it reaches its
/// target and its warning point.
#[allow(clippy::too_many_arguments)]
fn measure_clock(
    which: Which,
    from: DateTime<Utc>,
    stop: Option<(DateTime<Utc>, Stop)>,
    pauses: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    target: Option<Duration>,
    warn_at: f64,
    cal: &Calendar,
    now: DateTime<Utc>,
) -> Clock {
    let end = stop.map_or(now, |(t, _)| t).max(from);
    // The running stretches of [from, end): between the pauses.
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let (mut cursor, mut paused) = (from, Duration::zero());
    let mut paused_now = false;
    for &(p, until) in pauses {
        let still = until.is_none();
        let until = until.unwrap_or(end).min(end);
        let p = p.max(from);
        if until <= cursor || p >= end {
            // A pause that begins at `now` leaves no paused time yet, but
            // the clock is stopped.
            if still && stop.is_none() && p == end {
                paused_now = true;
            }
            continue;
        }
        if p > cursor {
            runs.push((cursor, p));
        }
        paused += cal.between(p.max(cursor), until);
        cursor = until.max(cursor);
        if still && stop.is_none() {
            paused_now = true;
        }
    }
    if cursor < end {
        runs.push((cursor, end));
    }
    let elapsed: Duration = runs.iter().map(|&(a, b)| cal.between(a, b)).sum();
    // When counted time reaches `goal`: inside a run, or after `now` if
    // the clock still runs and is not paused.
    let reach = |goal: Duration| -> Option<DateTime<Utc>> {
        let mut acc = Duration::zero();
        for &(a, b) in &runs {
            let len = cal.between(a, b);
            if acc + len >= goal {
                return cal.add(a, goal - acc);
            }
            acc += len;
        }
        match stop {
            None if !paused_now => cal.add(end, goal - acc),
            _ => None,
        }
    };
    let warn = target.map(|t| {
        let secs = (t.num_seconds() as f64 * warn_at).round() as i64;
        Duration::seconds(secs)
    });
    Clock {
        which,
        started_at: from,
        stopped_at: stop.map(|(t, _)| t),
        stop: stop.map(|(_, s)| s),
        target_secs: target.map(|t| t.num_seconds()),
        elapsed_secs: elapsed.num_seconds(),
        paused_secs: paused.num_seconds(),
        due_at: target.and_then(reach),
        warn_at: warn.and_then(reach),
        breached: target.is_some_and(|t| elapsed > t),
        paused: paused_now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status as S;
    use Happening::{Answer, Customer, Status};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn madrid() -> Calendar {
        let hours = vec![
            (
                "mon-thu".to_string(),
                vec!["09:00-14:00".to_string(), "15:00-18:00".to_string()],
            ),
            ("fri".to_string(), vec!["08:00-15:00".to_string()]),
        ];
        Calendar::new("madrid", chrono_tz::Europe::Madrid, &hours, &[]).unwrap()
    }

    fn targets(first: i64, next: i64, resolution: i64) -> Targets {
        Targets {
            first_response: Some(Duration::hours(first)),
            next_response: Some(Duration::hours(next)),
            resolution: Some(Duration::hours(resolution)),
        }
    }

    fn tl(events: &[(&str, Happening)]) -> Timeline {
        Timeline(events.iter().map(|(t, h)| (at(t), *h)).collect())
    }

    #[test]
    fn a_friday_evening_mail_is_not_breached_on_monday_morning() {
        // Friday 27 November 17:55 Madrid (16:55Z); 4 business hours.
        let t = tl(&[
            ("2026-11-27T16:55:00Z", Status(S::New)),
            ("2026-11-27T16:55:00Z", Customer),
        ]);
        let e = episodes(
            &t,
            targets(4, 8, 40),
            &[S::Pending],
            0.75,
            &madrid(),
            at("2026-11-30T08:00:00Z"),
        );
        let first = e[0].clock(Which::FirstResponse).unwrap();
        assert_eq!(first.elapsed_secs, 0);
        assert!(!first.breached);
        assert_eq!(first.due_at, Some(at("2026-11-30T12:00:00Z")));
        // 75 % of 4 h: 3 h after Monday 09:00.
        assert_eq!(first.warn_at, Some(at("2026-11-30T11:00:00Z")));
        // In wall time the same ticket is long past due.
        let wall = episodes(
            &t,
            targets(4, 8, 40),
            &[],
            0.75,
            &Calendar::always(),
            at("2026-11-30T08:00:00Z"),
        );
        let first = wall[0].clock(Which::FirstResponse).unwrap();
        assert!(first.breached);
        assert_eq!(first.due_at, Some(at("2026-11-27T20:55:00Z")));
    }

    #[test]
    fn pending_pauses_every_clock_and_a_customer_reply_starts_next_response() {
        let c = Calendar::always();
        let t = tl(&[
            ("2026-12-01T10:00:00Z", Status(S::New)),
            ("2026-12-01T10:00:00Z", Customer),
            // The agent answers after 1 h; the ticket waits on the customer.
            ("2026-12-01T11:00:00Z", Answer),
            ("2026-12-01T11:00:00Z", Status(S::Pending)),
            // Two days later the customer writes back.
            ("2026-12-03T11:00:00Z", Customer),
            ("2026-12-03T11:00:00Z", Status(S::Open)),
            ("2026-12-03T13:00:00Z", Answer),
            ("2026-12-03T14:00:00Z", Status(S::Resolved)),
        ]);
        let e = episodes(
            &t,
            targets(4, 1, 24),
            &[S::Pending],
            0.75,
            &c,
            at("2026-12-10T00:00:00Z"),
        );
        assert_eq!(e.len(), 1);
        let ep = &e[0];
        let first = ep.clock(Which::FirstResponse).unwrap();
        assert_eq!(
            (first.elapsed_secs, first.stop, first.breached),
            (3600, Some(Stop::Met), false)
        );
        let next = ep.clock(Which::NextResponse).unwrap();
        assert_eq!(next.started_at, at("2026-12-03T11:00:00Z"));
        assert_eq!(next.elapsed_secs, 2 * 3600);
        assert!(next.breached, "2 h against 1 h");
        assert_eq!(next.due_at, Some(at("2026-12-03T12:00:00Z")));
        // Resolution: 1 h + 3 h; the 48 h pending are paused, not counted.
        let res = ep.clock(Which::Resolution).unwrap();
        assert_eq!(res.elapsed_secs, 4 * 3600);
        assert_eq!(res.paused_secs, 48 * 3600);
        assert_eq!(res.stop, Some(Stop::Met));
        assert!(!res.breached);
        assert_eq!(ep.ended_at, Some(at("2026-12-03T14:00:00Z")));
    }

    #[test]
    fn a_paused_clock_has_no_due_time_until_it_runs_again() {
        let c = Calendar::always();
        let t = tl(&[
            ("2026-12-01T10:00:00Z", Status(S::New)),
            ("2026-12-01T11:00:00Z", Status(S::Pending)),
        ]);
        let e = episodes(
            &t,
            targets(4, 1, 24),
            &[S::Pending],
            0.5,
            &c,
            at("2026-12-02T11:00:00Z"),
        );
        let res = e[0].clock(Which::Resolution).unwrap();
        assert!(res.paused && res.running());
        assert_eq!((res.elapsed_secs, res.paused_secs), (3600, 24 * 3600));
        assert_eq!(res.due_at, None);
        // Half of 24 h was not reached before the pause either.
        assert_eq!(res.warn_at, None);
    }

    #[test]
    fn a_reopened_ticket_is_a_new_episode_and_keeps_the_first() {
        let c = Calendar::always();
        let t = tl(&[
            ("2026-12-01T10:00:00Z", Status(S::New)),
            ("2026-12-01T12:00:00Z", Status(S::Closed)),
            ("2026-12-05T09:00:00Z", Customer),
            ("2026-12-05T09:00:00Z", Status(S::Open)),
        ]);
        let e = episodes(
            &t,
            targets(4, 1, 24),
            &[],
            0.75,
            &c,
            at("2026-12-05T10:30:00Z"),
        );
        assert_eq!(e.len(), 2);
        // Closed without an answer: the first response ended, unmet.
        let first = e[0].clock(Which::FirstResponse).unwrap();
        assert_eq!((first.stop, first.met_after()), (Some(Stop::Ended), None));
        assert_eq!(
            e[0].clock(Which::Resolution).unwrap().met_after(),
            Some(Duration::hours(2))
        );
        assert!(e[1].reopened);
        let again = e[1].clock(Which::FirstResponse).unwrap();
        assert_eq!(again.started_at, at("2026-12-05T09:00:00Z"));
        assert_eq!(again.elapsed_secs, 5400);
        assert_eq!(again.due_at, Some(at("2026-12-05T13:00:00Z")));
    }

    #[test]
    fn no_target_still_measures_for_the_reports() {
        let t = tl(&[
            ("2026-12-01T10:00:00Z", Status(S::New)),
            ("2026-12-01T10:30:00Z", Answer),
        ]);
        let e = episodes(
            &t,
            Targets::default(),
            &[],
            0.75,
            &Calendar::always(),
            at("2026-12-02T00:00:00Z"),
        );
        let first = e[0].clock(Which::FirstResponse).unwrap();
        assert_eq!(first.met_after(), Some(Duration::minutes(30)));
        assert_eq!((first.due_at, first.breached), (None, false));
    }

    #[test]
    fn priority_overrides_inherit_what_they_leave_out() {
        let sla = Sla {
            targets: targets(8, 8, 40),
            by_priority: vec![(
                Priority::High,
                Targets {
                    first_response: Some(Duration::hours(1)),
                    ..Targets::default()
                },
            )],
            business: true,
            pause_in: vec![S::Pending],
            warn_at: 0.75,
            escalate_to: Vec::new(),
        };
        let high = sla.targets(Priority::High);
        assert_eq!(high.first_response, Some(Duration::hours(1)));
        assert_eq!(high.resolution, Some(Duration::hours(40)));
        assert_eq!(sla.targets(Priority::Low), targets(8, 8, 40));
    }

    #[test]
    fn a_measure_says_where_the_ticket_stands_and_when_it_is_due() {
        let sla = Sla {
            targets: targets(4, 8, 40),
            by_priority: vec![(
                Priority::High,
                Targets {
                    first_response: Some(Duration::hours(1)),
                    ..Targets::default()
                },
            )],
            business: false,
            pause_in: vec![S::Pending],
            warn_at: 0.75,
            escalate_to: Vec::new(),
        };
        let cal = madrid();
        let t = tl(&[
            ("2026-12-01T10:00:00Z", Status(S::New)),
            ("2026-12-01T10:00:00Z", Customer),
        ]);
        let m = |p, now: &str, t: &Timeline| sla.measure(p, t, &cal, at(now));
        // Wall time: the calendar is not used.
        let a = m(Priority::Normal, "2026-12-01T12:00:00Z", &t);
        assert_eq!(
            (a.standing, a.due_at),
            (Standing::Running, Some(at("2026-12-01T14:00:00Z")))
        );
        assert_eq!(
            m(Priority::Normal, "2026-12-01T13:30:00Z", &t).standing,
            Standing::Warning
        );
        // High priority: one hour to the first answer; the rest as normal.
        let h = m(Priority::High, "2026-12-01T12:00:00Z", &t);
        assert_eq!(h.standing, Standing::Breached);
        assert_eq!(h.due_at, Some(at("2026-12-01T11:00:00Z")), "overdue");
        assert_eq!(
            h.episodes[0].clock(Which::Resolution).unwrap().due_at,
            Some(at("2026-12-03T02:00:00Z"))
        );
        // Answered and waiting on the customer: paused, nothing due.
        let mut w = t.clone();
        w.0.push((at("2026-12-01T11:00:00Z"), Answer));
        w.0.push((at("2026-12-01T11:00:00Z"), Status(S::Pending)));
        let p = m(Priority::Normal, "2026-12-05T00:00:00Z", &w);
        assert_eq!((p.standing, p.due_at), (Standing::Paused, None));
        // Pending from this very instant: paused already.
        let mut just = t.clone();
        just.0
            .push((at("2026-12-01T12:00:00Z"), Status(S::Pending)));
        let j = m(Priority::Normal, "2026-12-01T12:00:00Z", &just);
        assert_eq!((j.standing, j.due_at), (Standing::Paused, None));
        // Resolved: met.
        w.0.push((at("2026-12-02T09:00:00Z"), Status(S::Resolved)));
        assert_eq!(
            m(Priority::Normal, "2026-12-09T00:00:00Z", &w).standing,
            Standing::Met
        );
        // A breach earlier in the episode stays in its standing.
        let late = tl(&[
            ("2026-12-01T10:00:00Z", Status(S::New)),
            ("2026-12-01T16:00:00Z", Answer),
        ]);
        assert_eq!(
            m(Priority::Normal, "2026-12-01T17:00:00Z", &late).standing,
            Standing::Breached
        );
    }

    #[test]
    fn names_are_serdes() {
        use Standing::*;
        for s in [Met, Paused, Running, Warning, Breached] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        for w in [Which::FirstResponse, Which::NextResponse, Which::Resolution] {
            assert_eq!(
                serde_json::to_string(&w).unwrap(),
                format!("\"{}\"", w.name())
            );
        }
    }

    #[test]
    fn pending_steps_count_working_days_or_wall_days() {
        let hours = vec![(
            "mon-fri".to_string(),
            vec!["09:00-14:00".to_string(), "15:00-18:00".to_string()],
        )];
        let holiday = crate::calendar::parse_holiday("2026-12-07").unwrap();
        let cal = Calendar::new("madrid", chrono_tz::Europe::Madrid, &hours, &[holiday]).unwrap();
        let steps = |business| PendingSteps {
            remind_after: vec![Duration::days(3), Duration::days(5) + Duration::hours(2)],
            close_after: Some(Duration::days(10)),
            business,
        };
        // Pending since Friday 4 December, 16:00 in Madrid; Monday 7 is a holiday.
        let since = at("2026-12-04T15:00:00Z");
        let got = steps(true).at(since, &cal);
        assert_eq!(
            got,
            vec![
                // Tuesday, Wednesday, Thursday: Thursday 10 at 16:00.
                (at("2026-12-10T15:00:00Z"), PendingStep::Remind(0)),
                // Five working days to Monday 14 at 16:00, then two open hours.
                (at("2026-12-14T17:00:00Z"), PendingStep::Remind(1)),
                // Ten working days: Monday 21.
                (at("2026-12-21T15:00:00Z"), PendingStep::Close),
            ]
        );
        let wall = steps(false).at(since, &cal);
        assert_eq!(
            wall[0],
            (at("2026-12-07T15:00:00Z"), PendingStep::Remind(0))
        );
        assert_eq!(wall[2], (at("2026-12-14T15:00:00Z"), PendingStep::Close));
        assert_eq!(PendingStep::Remind(1).name(), "remind 2");
    }
}
