//! The weekly report mail of each desk that asks for one
//! (`[desk.report]`): at `at` on the first working day from `weekday` on,
//! once an ISO week, the figures of the seven local days before `weekday`
//! (a holiday that moves the mail does not move the week), and the counts
//! of the seven before those, with the week's chart.
//!
//! The figures are read and drawn outside the write lock (one query for
//! every timeline of two weeks); the mail is queued and the week recorded
//! in one transaction, which finds a week already recorded by another
//! pass and sends nothing. A report missed for a whole week (hilo down
//! from that Monday to the next) is not sent late: the next week's is.
//! A panic while measuring or drawing records the week without a mail,
//! so that it is not tried again every minute; a chart that cannot be
//! drawn leaves the mail without its attachment.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use tracing::warn;

use super::settings::DeskRuntime;
use super::Intake;
use crate::calendar::Calendar;
use crate::config::WeeklyReport;
use crate::model::MessageKind;
use crate::outgoing::chart;
use crate::report::{rows, By, Row};
use crate::store::StoreError;

/// How many ISO weeks ahead the next report is looked for (a calendar
/// closed for longer sends none).
const MAX_WEEKS: i64 = 530;

/// The instant of the report of the ISO week starting on `monday`: `at`
/// on the first working day from `weekday` on in that week (any day on
/// wall time); `None` when none is left in the week.
fn due_in_week(cal: &Calendar, w: &WeeklyReport, monday: NaiveDate) -> Option<DateTime<Utc>> {
    let first = w.weekday.num_days_from_monday();
    (first..7)
        .filter_map(|k| monday.checked_add_signed(Duration::days(i64::from(k))))
        .filter(|d| cal.is_wall() || cal.is_working_day(*d))
        .find_map(|d| d.and_time(w.at).and_local_timezone(cal.tz).earliest())
        .map(|t| t.to_utc())
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn iso_week(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// This week's report instant if it has come (`Some` only when at or
/// before `now`), and the next one after `now`.
fn weekly_times(
    cal: &Calendar,
    w: &WeeklyReport,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let monday = monday_of(cal.local_date(now));
    let this = due_in_week(cal, w, monday);
    let due = this.filter(|t| *t <= now);
    let next = (0..MAX_WEEKS)
        .filter_map(|k| monday.checked_add_signed(Duration::weeks(k)))
        .filter_map(|m| due_in_week(cal, w, m))
        .find(|t| *t > now);
    (due, next)
}

/// Local midnight of `d` in the calendar's zone, as an instant.
fn midnight(cal: &Calendar, d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN)
        .and_local_timezone(cal.tz)
        .earliest()
        .map_or_else(
            || d.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.to_utc(),
        )
}

/// The figures of one report, read and drawn.
struct Figures {
    first: NaiveDate,
    last: NaiveDate,
    business: bool,
    total: Option<Row>,
    previous: Option<Row>,
    agents: Vec<Row>,
    days: Vec<chart::Day>,
    png: Option<Vec<u8>>,
}

fn figures(
    intake: &Intake,
    desk: &DeskRuntime,
    w: &WeeklyReport,
    end: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Figures, StoreError> {
    let d = &desk.cfg;
    let cal = &*d.calendar;
    let (first, last) = (end - Duration::days(7), end - Duration::days(1));
    let since = midnight(cal, first);
    let until = midnight(cal, end);
    let before = midnight(cal, first - Duration::days(7));
    let tickets = intake.store().timelines(Some(&d.name), before, until)?;
    let measured: Vec<_> = tickets
        .iter()
        .map(|t| crate::report::measured(t, Some(d), None, now))
        .collect();
    let total = rows(&measured, By::Desk, since, until).into_iter().next();
    let previous = rows(&measured, By::Desk, before, since).into_iter().next();
    let agents = rows(&measured, By::Agent, since, until);
    let by_day = rows(&measured, By::Day, since, until);
    let days: Vec<chart::Day> = (0..7)
        .map(|k| first + Duration::days(k))
        .map(|day| {
            let r = by_day.iter().find(|r| r.group == day.to_string());
            chart::Day {
                label: crate::outgoing::weekly::day_label(d, day),
                opened: r.map_or(0, |r| r.opened + r.reopened),
                resolved: r.map_or(0, |r| r.resolved),
                breached: r.map_or(0, |r| r.breached),
            }
        })
        .collect();
    let png = w.chart.then(|| {
        let font = chart::font(&w.font);
        let legend = crate::outgoing::weekly::legend(d);
        std::panic::catch_unwind(|| chart::week_png(&days, &legend, font.as_deref()))
            .map_err(|p| crate::panic_message(&*p))
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_err(|why| warn!(desk = %d.name, %why, "the weekly report goes without its chart"))
            .ok()
    });
    Ok(Figures {
        first,
        last,
        business: d.sla.as_ref().is_some_and(|s| s.business),
        total,
        previous,
        agents,
        days,
        png: png.flatten(),
    })
}

impl Intake {
    /// Queues each desk's weekly report once its time has come this week;
    /// how many mails, and when the next report is due.
    pub fn weekly_reports(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, Option<DateTime<Utc>>), StoreError> {
        let settings = self.settings();
        let (mut sent, mut next) = (0, None::<DateTime<Utc>>);
        for desk in &settings.desks {
            let Some(w) = &desk.cfg.report else { continue };
            let cal = &*desk.cfg.calendar;
            let (due, after) = weekly_times(cal, w, now);
            if let Some(t) = after {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            let Some(due) = due else { continue };
            let send_day = cal.local_date(due);
            let week = iso_week(send_day);
            // The seven days before `weekday`, even when a holiday moved
            // the mail to a later day.
            let end =
                monday_of(send_day) + Duration::days(i64::from(w.weekday.num_days_from_monday()));
            let name = &desk.cfg.name;
            if self.store().weekly_done(name, &week)? {
                continue;
            }
            let fig = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                figures(self, desk, w, end, now)
            })) {
                Ok(f) => Some(f?),
                Err(p) => {
                    let why = crate::panic_message(&*p);
                    warn!(desk = %name, panic = %why, "the weekly report panicked");
                    None
                }
            };
            sent += self.store().write(|tx| {
                if tx.weekly_done(name, &week)? {
                    return Ok::<_, StoreError>(0);
                }
                let mut n = 0;
                if let Some(f) = &fig {
                    for to in &w.to {
                        n += usize::from(queue(
                            tx,
                            self.store().signer(),
                            &settings,
                            desk,
                            &week,
                            f,
                            to,
                        )?);
                    }
                }
                tx.record_weekly(name, &week)?;
                Ok(n)
            })?;
        }
        Ok((sent, next))
    }
}

/// Composes and queues the report to `to`; whether it was queued (a mail
/// that cannot be composed is said in the log).
fn queue(
    tx: &crate::store::Tx<'_>,
    signer: &crate::mail::msgid::Signer,
    settings: &super::settings::Settings,
    desk: &DeskRuntime,
    week: &str,
    f: &Figures,
    to: &str,
) -> Result<bool, StoreError> {
    let d = &desk.cfg;
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::outgoing::weekly::weekly(crate::outgoing::weekly::WeeklyInput {
            desk: d,
            signer,
            to,
            first: f.first,
            last: f.last,
            week,
            business: f.business,
            total: f.total.as_ref(),
            previous: f.previous.as_ref(),
            agents: &f.agents,
            days: &f.days,
            png: f.png.clone(),
        })
    }));
    match out {
        Ok(Ok(out)) => {
            let q = crate::store::Queued::on_no_ticket(
                &d.name,
                &out.draft.from.address,
                MessageKind::Digest,
                settings.expire_after,
            );
            tx.queue_outgoing(&q, &out)?;
            Ok(true)
        }
        Ok(Err(e)) => {
            warn!(desk = %d.name, error = %crate::report(&e), "no weekly report");
            Ok(false)
        }
        Err(p) => {
            warn!(desk = %d.name, panic = %crate::panic_message(&*p), "the weekly report panicked");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, TestConfig, TestDesk};

    /// A desk with a Madrid calendar, Monday to Friday, the holidays given,
    /// and `[desk.report]` with `report`.
    fn desk(holidays: &str, report: &str) -> crate::config::DeskConfig {
        let toml = TestConfig::new("x.db")
            .desk(
                TestDesk::new("soporte", "soporte@example.test", "SOP", "es")
                    .settings("calendar = \"madrid\""),
            )
            .render()
            + &format!(
                "\n[desk.sla]\nfirst_response = \"4h\"\nescalate_to = [\"jefa@example.test\"]\n\n[desk.report]\n{report}\n\n\
                 [[calendar]]\nname = \"madrid\"\ntime_zone = \"Europe/Madrid\"\n\
                 hours = {{ mon-fri = [\"09:00-18:00\"] }}\nholidays = [{holidays}]\n"
            );
        Config::from_toml(&toml, Vec::<(String, String)>::new())
            .unwrap()
            .desks[0]
            .clone()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn times(d: &crate::config::DeskConfig, now: &str) -> (Option<String>, Option<String>) {
        let (due, next) = weekly_times(&d.calendar, d.report.as_ref().unwrap(), at(now));
        (due.map(|t| t.to_rfc3339()), next.map(|t| t.to_rfc3339()))
    }

    #[test]
    fn the_report_is_due_on_the_first_working_day_from_its_weekday() {
        let d = desk("\"2026-12-07\", \"2026-12-08\"", "");
        assert_eq!(d.report.as_ref().unwrap().to, ["jefa@example.test"]);
        // Sunday 6 December: this ISO week's came on Monday 30 November
        // (due, if no pass sent it); the next week's Monday and Tuesday
        // are holidays: Wednesday 08:00.
        assert_eq!(
            times(&d, "2026-12-06T12:00:00Z"),
            (
                Some("2026-11-30T07:00:00+00:00".into()),
                Some("2026-12-09T07:00:00+00:00".into())
            )
        );
        // Monday 7 December (a holiday): not due yet.
        assert_eq!(
            times(&d, "2026-12-07T12:00:00Z"),
            (None, Some("2026-12-09T07:00:00+00:00".into()))
        );
        // Wednesday 9, 08:30: due (since 08:00), the next on Monday 14.
        assert_eq!(
            times(&d, "2026-12-09T07:30:00Z"),
            (
                Some("2026-12-09T07:00:00+00:00".into()),
                Some("2026-12-14T07:00:00+00:00".into())
            )
        );
        // A Friday report in summer time: 08:00 is 06:00 UTC.
        let fri = desk("", "weekday = \"fri\"\nat = \"08:00\"");
        assert_eq!(
            times(&fri, "2026-07-01T00:00:00Z"),
            (None, Some("2026-07-03T06:00:00+00:00".into()))
        );
        // A whole week of holidays from Friday on: that week has none.
        let closed = desk("\"2026-12-04\"", "weekday = \"fri\"");
        assert_eq!(
            times(&closed, "2026-12-01T00:00:00Z"),
            (None, Some("2026-12-11T07:00:00+00:00".into()))
        );
        assert_eq!(
            iso_week(NaiveDate::from_ymd_opt(2026, 12, 28).unwrap()),
            "2026-W53"
        );
        assert_eq!(
            iso_week(NaiveDate::from_ymd_opt(2027, 1, 3).unwrap()),
            "2026-W53"
        );
    }

    #[test]
    fn a_bad_weekday_or_time_or_nobody_to_tell_is_named() {
        let toml = TestConfig::new("x.db")
            .desk(TestDesk::new(
                "soporte",
                "soporte@example.test",
                "SOP",
                "es",
            ))
            .render()
            + "\n[desk.report]\nweekday = \"lunes\"\nat = \"8am\"\n";
        let e = Config::from_toml(&toml, Vec::<(String, String)>::new())
            .unwrap_err()
            .to_string();
        for want in [
            "desk[0].report.weekday",
            "`lunes`",
            "desk[0].report.at",
            "desk[0].report.to",
            "sla.escalate_to",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
    }
}
