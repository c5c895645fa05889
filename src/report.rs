//! Team reports from tickets' timelines: first-response, next-response
//! and resolution times as medians and 90th percentiles (nearest rank:
//! the smallest value with at least that share of the values at or below
//! it), and counts of opened, reopened, resolved and breached episodes,
//! grouped by agent, ISO week or desk.
//!
//! The clocks are [`crate::sla::episodes`], the function the SLA uses, so
//! a report and the SLA never disagree. A report is by cohort: each
//! episode (a ticket's opening, or a reopening) counts in the group and
//! period where it opened, with the times of its clocks that stopped met,
//! whenever they did. A reopened ticket is a new episode: its clocks
//! start again and it is counted as reopened, not opened.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use crate::sla::{Episode, Stop, Which};

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// The ticket's assignee (`-`: nobody).
    Agent,
    /// The ISO week the episode opened in, in its desk's time zone.
    Week,
    /// The local day the episode opened on, in its desk's time zone.
    Day,
    Desk,
}

/// Durations in seconds: how many, the median and the 90th percentile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stat {
    pub n: usize,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
}

impl Stat {
    /// Nearest rank over `values` (sorted here).
    pub fn of(mut values: Vec<i64>) -> Stat {
        values.sort_unstable();
        let rank = |p: f64| -> Option<i64> {
            if values.is_empty() {
                return None;
            }
            let k = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
            Some(values[k - 1])
        };
        Stat {
            n: values.len(),
            p50: rank(0.5),
            p90: rank(0.9),
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub group: String,
    pub opened: usize,
    pub reopened: usize,
    pub resolved: usize,
    pub breached: usize,
    pub first_response: Stat,
    pub next_response: Stat,
    pub resolution: Stat,
}

/// One ticket's episodes, with what it is grouped by.
pub struct Measured<'a> {
    pub desk: &'a str,
    pub assignee: Option<&'a str>,
    pub tz: chrono_tz::Tz,
    pub episodes: Vec<Episode>,
}

/// Measures a stored ticket's episodes with its desk's targets (`desk`:
/// `None` for a desk no longer configured) on the desk's calendar when
/// `business`, else on wall time; `business: None` counts as the desk's
/// SLA does. The one place the CLI and the weekly mail measure from.
pub fn measured<'a>(
    t: &'a crate::store::Reported,
    desk: Option<&crate::config::DeskConfig>,
    business: Option<bool>,
    now: DateTime<Utc>,
) -> Measured<'a> {
    let sla = desk.and_then(|d| d.sla.as_ref());
    let business = business.unwrap_or_else(|| sla.is_some_and(|s| s.business));
    let wall = crate::calendar::Calendar::always();
    let cal = match desk {
        Some(d) if business => &*d.calendar,
        _ => &wall,
    };
    let (targets, pause_in, warn_at) = match sla {
        Some(s) => (s.targets(t.priority), s.pause_in.clone(), s.warn_at),
        None => (
            crate::sla::Targets::default(),
            vec![crate::model::Status::Pending],
            0.75,
        ),
    };
    Measured {
        desk: &t.desk,
        assignee: t.assignee.as_deref(),
        tz: desk.map_or(chrono_tz::UTC, |d| d.calendar.tz),
        episodes: crate::sla::episodes(&t.timeline, targets, &pause_in, warn_at, cal, now),
    }
}

/// The rows of the episodes opened in `[since, until)`, in group order.
pub fn rows(
    tickets: &[Measured<'_>],
    by: By,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Row> {
    #[derive(Default)]
    struct Acc {
        opened: usize,
        reopened: usize,
        resolved: usize,
        breached: usize,
        first: Vec<i64>,
        next: Vec<i64>,
        resolution: Vec<i64>,
    }
    let mut groups: std::collections::BTreeMap<String, Acc> = Default::default();
    for t in tickets {
        for e in &t.episodes {
            if e.opened_at < since || e.opened_at >= until {
                continue;
            }
            let key = match by {
                By::Agent => t.assignee.unwrap_or("-").to_string(),
                By::Desk => t.desk.to_string(),
                By::Week => {
                    let w = e.opened_at.with_timezone(&t.tz).iso_week();
                    format!("{}-W{:02}", w.year(), w.week())
                }
                By::Day => e.opened_at.with_timezone(&t.tz).date_naive().to_string(),
            };
            let a = groups.entry(key).or_default();
            if e.reopened {
                a.reopened += 1;
            } else {
                a.opened += 1;
            }
            if e.clocks.iter().any(|c| c.breached) {
                a.breached += 1;
            }
            for c in &e.clocks {
                let Some(d) = c.met_after() else { continue };
                match c.which {
                    Which::FirstResponse => a.first.push(d.num_seconds()),
                    Which::NextResponse => a.next.push(d.num_seconds()),
                    Which::Resolution => {
                        a.resolved += usize::from(c.stop == Some(Stop::Met));
                        a.resolution.push(d.num_seconds())
                    }
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(group, a)| Row {
            group,
            opened: a.opened,
            reopened: a.reopened,
            resolved: a.resolved,
            breached: a.breached,
            first_response: Stat::of(a.first),
            next_response: Stat::of(a.next),
            resolution: Stat::of(a.resolution),
        })
        .collect()
}

/// The CSV header and rows, durations in seconds (empty: none).
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "group,opened,reopened,resolved,breached,\
         first_response_n,first_response_p50_s,first_response_p90_s,\
         next_response_n,next_response_p50_s,next_response_p90_s,\
         resolution_n,resolution_p50_s,resolution_p90_s\n",
    );
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for r in rows {
        let group = if r.group.contains([',', '"', '\n']) {
            format!("\"{}\"", r.group.replace('"', "\"\""))
        } else {
            r.group.clone()
        };
        out.push_str(&format!(
            "{group},{},{},{},{}",
            r.opened, r.reopened, r.resolved, r.breached
        ));
        for s in [r.first_response, r.next_response, r.resolution] {
            out.push_str(&format!(",{},{},{}", s.n, opt(s.p50), opt(s.p90)));
        }
        out.push('\n');
    }
    out
}

/// A table for people, durations as `1h 5m`.
pub fn table(rows: &[Row]) -> String {
    let span = |v: Option<i64>| v.map_or_else(|| "-".to_string(), crate::sla::minutes);
    let mut out = format!(
        "{:<24} {:>6} {:>8} {:>8} {:>8}  {:<22} {:<22} {:<22}\n",
        "GROUP",
        "OPENED",
        "REOPENED",
        "RESOLVED",
        "BREACHED",
        "FIRST RESPONSE p50/p90",
        "NEXT RESPONSE p50/p90",
        "RESOLUTION p50/p90"
    );
    for r in rows {
        let pair = |s: Stat| format!("{} / {}", span(s.p50), span(s.p90));
        out.push_str(&format!(
            "{:<24} {:>6} {:>8} {:>8} {:>8}  {:<22} {:<22} {:<22}\n",
            crate::mail::header_text(&r.group, 24),
            r.opened,
            r.reopened,
            r.resolved,
            r.breached,
            pair(r.first_response),
            pair(r.next_response),
            pair(r.resolution)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        // Ten values: the median is the 5th, the 90th percentile the 9th.
        let s = Stat::of(vec![10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
        assert_eq!((s.n, s.p50, s.p90), (10, Some(5), Some(9)));
        let one = Stat::of(vec![42]);
        assert_eq!((one.p50, one.p90), (Some(42), Some(42)));
        assert_eq!(Stat::of(vec![]), Stat::default());
        // Three: ceil(1.5) = 2nd, ceil(2.7) = 3rd.
        let s = Stat::of(vec![300, 100, 200]);
        assert_eq!((s.p50, s.p90), (Some(200), Some(300)));
    }

    use crate::calendar::Calendar;
    use crate::model::Status as S;
    use crate::sla::{episodes, Happening, Targets, Timeline};
    use Happening::{Answer, Customer, Status};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn tl(events: &[(&str, Happening)]) -> Timeline {
        Timeline(events.iter().map(|(t, h)| (at(t), *h)).collect())
    }

    /// Four tickets of a Madrid desk (Monday to Friday, 09:00-14:00 and
    /// 15:00-18:00), over ISO weeks 49 and 50 of 2026; the README's
    /// report section computes the figures by hand.
    fn fixture() -> Vec<Timeline> {
        vec![
            // Monday 30 November 10:00 local; answered at 12:00; resolved
            // Tuesday 10:00.
            tl(&[
                ("2026-11-30T09:00:00Z", Status(S::New)),
                ("2026-11-30T09:00:00Z", Customer),
                ("2026-11-30T11:00:00Z", Answer),
                ("2026-12-01T09:00:00Z", Status(S::Resolved)),
            ]),
            // Friday 4 December 17:00 local; answered Monday 09:30.
            tl(&[
                ("2026-12-04T16:00:00Z", Status(S::New)),
                ("2026-12-04T16:00:00Z", Customer),
                ("2026-12-07T08:30:00Z", Answer),
            ]),
            // Tuesday 1 December 11:00 local: answered, a question back,
            // answered, resolved; reopened Wednesday, answered, resolved.
            tl(&[
                ("2026-12-01T10:00:00Z", Status(S::New)),
                ("2026-12-01T10:00:00Z", Customer),
                ("2026-12-01T10:30:00Z", Answer),
                ("2026-12-01T12:00:00Z", Customer),
                ("2026-12-01T14:00:00Z", Answer),
                ("2026-12-01T15:00:00Z", Status(S::Resolved)),
                ("2026-12-02T09:00:00Z", Status(S::Open)),
                ("2026-12-02T09:00:00Z", Customer),
                ("2026-12-02T09:20:00Z", Answer),
                ("2026-12-02T10:00:00Z", Status(S::Resolved)),
            ]),
            // Tuesday 8 December 10:00 local, unanswered.
            tl(&[
                ("2026-12-08T09:00:00Z", Status(S::New)),
                ("2026-12-08T09:00:00Z", Customer),
            ]),
        ]
    }

    fn report(business: bool) -> Vec<Row> {
        let hours = vec![(
            "mon-fri".to_string(),
            vec!["09:00-14:00".to_string(), "15:00-18:00".to_string()],
        )];
        let madrid = Calendar::new("madrid", chrono_tz::Europe::Madrid, &hours, &[]).unwrap();
        let cal = if business { madrid } else { Calendar::always() };
        let targets = Targets {
            first_response: Some(chrono::Duration::hours(4)),
            ..Targets::default()
        };
        let now = at("2026-12-08T15:00:00Z");
        let measured: Vec<Measured<'_>> = fixture()
            .iter()
            .map(|t| Measured {
                desk: "soporte",
                assignee: None,
                tz: chrono_tz::Europe::Madrid,
                episodes: episodes(t, targets, &[S::Pending], 0.75, &cal, now),
            })
            .collect();
        rows(&measured, By::Week, at("2026-11-30T00:00:00Z"), now)
    }

    #[test]
    fn the_report_matches_the_hand_computation_and_the_golden_csv() {
        let b = report(true);
        let w = report(false);
        let stat = |p50, p90, n| Stat {
            n,
            p50: Some(p50),
            p90: Some(p90),
        };
        // Week 49: first responses 2 h, 1 h 30 min, 30 min and 20 min of
        // business time; the Friday one is 64 h 30 min of wall time.
        assert_eq!(b[0].group, "2026-W49");
        assert_eq!(
            (b[0].opened, b[0].reopened, b[0].resolved, b[0].breached),
            (3, 1, 3, 0)
        );
        assert_eq!(b[0].first_response, stat(1800, 7200, 4));
        assert_eq!(w[0].first_response, stat(1800, 232_200, 4));
        assert_eq!(w[0].breached, 1, "64 h against 4 h of wall time");
        // Next response 13:00-15:00 local: one business hour (lunch), two wall.
        assert_eq!(b[0].next_response, stat(3600, 3600, 1));
        assert_eq!(w[0].next_response, stat(7200, 7200, 1));
        // Resolution: 8 h, 4 h and 1 h of business time; 24 h, 5 h, 1 h of wall.
        assert_eq!(b[0].resolution, stat(14_400, 28_800, 3));
        assert_eq!(w[0].resolution, stat(18_000, 86_400, 3));
        // Week 50: one ticket, five open hours unanswered: breached.
        assert_eq!(
            (b[1].group.as_str(), b[1].opened, b[1].breached),
            ("2026-W50", 1, 1)
        );
        assert_eq!(b[1].first_response.n, 0);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/report");
        for (name, rows) in [("by-week.business.csv", &b), ("by-week.wall.csv", &w)] {
            let got = csv(rows);
            let path = dir.join(name);
            if std::env::var("HILO_RENDER").as_deref() == Ok("write") {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &got).unwrap();
            }
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(got, want, "{name} (HILO_RENDER=write rewrites it)");
        }
    }
}
