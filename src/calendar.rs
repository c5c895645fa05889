//! Business calendars: weekly hours (split shifts too), holidays by date
//! or by yearly date or from an `.ics` file, in an IANA time zone.
//! Durations in business time are counted on the UTC instants each local
//! opening maps to, so a day with a DST change has 23 or 25 hours and
//! an opening spanning the change is as long as the clock on the wall
//! says it is.
//!
//! Every walk over days is bounded ([`MAX_DAYS`]): a calendar that is
//! never open gives no due time instead of looping.
//!
//! `between` and `add` read a table per local year, built on first use:
//! each day's openings and the open time before it, so a clock running
//! for a year costs a lookup, not a walk over 365 days (a year's report
//! over 100,000 tickets measures millions of clocks).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

/// The longest walk over days: ten years. A target further away than
/// that in open time has no due time.
pub const MAX_DAYS: i64 = 3660;

/// The most holidays an `.ics` file may give; past it the rest is
/// ignored with a warning at load.
pub const MAX_ICS_EVENTS: usize = 10_000;

/// The largest `.ics` file read.
pub const MAX_ICS_BYTES: u64 = 4 << 20;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// The day a three-letter English name (`mon` … `sun`, any case) names.
pub fn weekday(name: &str) -> Option<Weekday> {
    let name = name.trim().to_ascii_lowercase();
    DAYS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// A holiday: one date, or the same day every year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holiday {
    Date(NaiveDate),
    Yearly { month: u32, day: u32 },
}

/// A business calendar, or wall time ([`Calendar::always`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub name: String,
    pub tz: Tz,
    /// Per weekday from Monday: sorted, disjoint opening minutes
    /// `[start, end)`, with `end` up to 1440 (24:00).
    week: [Vec<(u16, u16)>; 7],
    dates: BTreeSet<NaiveDate>,
    yearly: BTreeSet<(u32, u32)>,
    /// Open all the time, no holidays: business time is wall time.
    always: bool,
    years: Years,
}

/// A local year's openings, day by day, with the open milliseconds before
/// each day (`prefix[i]`; `prefix[days]` is the year's total).
struct Year {
    days: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
    prefix: Vec<i64>,
}

/// Years tables at most; past that the cache starts again.
const MAX_YEARS: usize = 64;

/// The years' tables, built on first use; a clone starts empty (it is a
/// cache of what the calendar says, not part of what it says).
#[derive(Default)]
struct Years(Mutex<HashMap<i32, Arc<Year>>>);

impl Clone for Years {
    fn clone(&self) -> Years {
        Years::default()
    }
}

impl PartialEq for Years {
    fn eq(&self, _: &Years) -> bool {
        true
    }
}

impl std::fmt::Debug for Years {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Years")
    }
}

impl Calendar {
    /// Wall time: open every minute of every day.
    pub fn always() -> Calendar {
        Calendar {
            name: "wall".into(),
            tz: chrono_tz::UTC,
            week: std::array::from_fn(|_| vec![(0, 1440)]),
            dates: BTreeSet::new(),
            yearly: BTreeSet::new(),
            always: true,
            years: Years::default(),
        }
    }

    /// A calendar from its config: `hours` maps day specs (`mon`,
    /// `mon-thu`, `sat,sun`) to openings (`09:00-14:00`).
    pub fn new(
        name: &str,
        tz: Tz,
        hours: &[(String, Vec<String>)],
        holidays: &[Holiday],
    ) -> Result<Calendar, String> {
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for (spec, ranges) in hours {
            let days = parse_days(spec)?;
            for r in ranges {
                let range = parse_range(r)?;
                for &d in &days {
                    week[d].push(range);
                }
            }
        }
        for (i, day) in week.iter_mut().enumerate() {
            day.sort_unstable();
            if let Some(w) = day.windows(2).find(|w| w[1].0 < w[0].1) {
                return Err(format!(
                    "{}: {} and {} overlap",
                    DAYS[i].0,
                    show_range(w[0]),
                    show_range(w[1])
                ));
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err("no opening hours on any day".into());
        }
        let mut c = Calendar {
            name: name.into(),
            tz,
            week,
            dates: BTreeSet::new(),
            yearly: BTreeSet::new(),
            always: false,
            years: Years::default(),
        };
        for h in holidays {
            c.add_holiday(*h);
        }
        Ok(c)
    }

    pub fn add_holiday(&mut self, h: Holiday) {
        self.years = Years::default();
        match h {
            Holiday::Date(d) => {
                self.dates.insert(d);
            }
            Holiday::Yearly { month, day } => {
                self.yearly.insert((month, day));
            }
        }
    }

    /// Business time is wall time here.
    pub fn is_wall(&self) -> bool {
        self.always
    }

    pub fn is_holiday(&self, d: NaiveDate) -> bool {
        !self.always && (self.dates.contains(&d) || self.yearly.contains(&(d.month(), d.day())))
    }

    /// A working day: not a holiday, with opening hours.
    /// Does the week open on `d`'s weekday (holidays aside)?
    pub fn opens_on_weekday(&self, d: NaiveDate) -> bool {
        !self.week[d.weekday().num_days_from_monday() as usize].is_empty()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !self.is_holiday(d) && !self.week[d.weekday().num_days_from_monday() as usize].is_empty()
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The openings of one local day, as UTC instants, in order.
    pub fn openings(&self, d: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.is_holiday(d) {
            return Vec::new();
        }
        self.week[d.weekday().num_days_from_monday() as usize]
            .iter()
            .filter_map(|&(s, e)| {
                let (s, e) = (self.instant(d, s, true), self.instant(d, e, false));
                (e > s).then_some((s, e))
            })
            .collect()
    }

    /// Local minute `m` of day `d` as an instant. A time the DST change
    /// skips maps to the end of the gap; a repeated time to its first
    /// occurrence for a start and its second for an end.
    fn instant(&self, d: NaiveDate, m: u16, start: bool) -> DateTime<Utc> {
        let local = |d: NaiveDate, m: u32| -> NaiveDateTime {
            d.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN))
        };
        let (d, m) = if m >= 1440 {
            (d.succ_opt().unwrap_or(d), 0)
        } else {
            (d, u32::from(m))
        };
        // A gap is at most a few hours: look forward a minute at a time.
        for skip in 0..=24 * 60 {
            let t = local(d, m) + Duration::minutes(skip);
            match self.tz.from_local_datetime(&t) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => {
                    return if start { a } else { b }.with_timezone(&Utc);
                }
                LocalResult::None => continue,
            }
        }
        Utc.from_utc_datetime(&local(d, m))
    }

    /// The table of local year `y`.
    fn year(&self, y: i32) -> Arc<Year> {
        let mut cache = self.years.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = cache.get(&y) {
            return t.clone();
        }
        let mut days = Vec::with_capacity(366);
        let mut prefix = vec![0i64];
        let mut d = NaiveDate::from_ymd_opt(y, 1, 1);
        while let Some(day) = d.filter(|d| d.year() == y) {
            let o = self.openings(day);
            let open: i64 = o.iter().map(|(s, e)| (*e - *s).num_milliseconds()).sum();
            prefix.push(prefix.last().copied().unwrap_or(0) + open);
            days.push(o);
            d = day.succ_opt();
        }
        let t = Arc::new(Year { days, prefix });
        if cache.len() >= MAX_YEARS {
            cache.clear();
        }
        cache.insert(y, t.clone());
        t
    }

    /// Open milliseconds from the start of `t`'s local year to `t`.
    fn open_in_year(&self, t: DateTime<Utc>) -> (i32, i64) {
        let d = self.local_date(t);
        let y = self.year(d.year());
        let i = d.ordinal0() as usize;
        let mut ms = y.prefix[i];
        for &(s, e) in &y.days[i] {
            if s < t {
                ms += (e.min(t) - s).num_milliseconds();
            }
        }
        (d.year(), ms)
    }

    /// Open time between two instants (zero if `b <= a`), at most
    /// [`MAX_DAYS`] of calendar.
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        if self.always {
            return b - a;
        }
        let b = b.min(a + Duration::days(MAX_DAYS));
        let ((ya, ma), (yb, mb)) = (self.open_in_year(a), self.open_in_year(b));
        let years: i64 = (ya..yb)
            .map(|y| *self.year(y).prefix.last().unwrap_or(&0))
            .sum();
        Duration::milliseconds(years + mb - ma)
    }

    /// The instant at which `d` of open time has passed since `from`;
    /// for zero, the first open instant at or after `from`. `None` when
    /// the calendar is not open that long in [`MAX_DAYS`].
    pub fn add(&self, from: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
        if self.always {
            return from.checked_add_signed(d.max(Duration::zero()));
        }
        let (mut y, at) = self.open_in_year(from);
        let mut target = at + d.max(Duration::zero()).num_milliseconds();
        let first_day = self.local_date(from).ordinal0() as usize;
        for k in 0..=(MAX_DAYS / 365 + 1) {
            let table = self.year(y);
            let total = *table.prefix.last().unwrap_or(&0);
            if target <= total {
                // The first day whose openings reach the target, then the
                // opening (ending after `from`) that holds it.
                let start = if k == 0 { first_day } else { 0 };
                let j0 = table.prefix[1..]
                    .partition_point(|&p| p < target)
                    .max(start);
                for j in j0..table.days.len() {
                    let mut cum = table.prefix[j];
                    for &(s, e) in &table.days[j] {
                        let len = (e - s).num_milliseconds();
                        if e > from {
                            let (s2, c2) = if s < from {
                                (from, cum + (from - s).num_milliseconds())
                            } else {
                                (s, cum)
                            };
                            if target - c2 <= (e - s2).num_milliseconds() {
                                return Some(s2 + Duration::milliseconds((target - c2).max(0)));
                            }
                        }
                        cum += len;
                    }
                }
            }
            target -= total;
            y += 1;
        }
        None
    }

    /// Is the calendar open at `t`?
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        self.always || self.add(t, Duration::zero()) == Some(t)
    }
}

/// `mon`, `mon-thu`, `sat,sun`, `fri-mon` (wrapping) → weekday indexes.
pub fn parse_days(spec: &str) -> Result<Vec<usize>, String> {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let day = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        (0..7)
            .find(|&i| DAYS[i].0 == s || FULL[i] == s)
            .ok_or_else(|| format!("`{s}` is not a day (mon, tue, wed, thu, fri, sat, sun)"))
    };
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut i = a;
                loop {
                    out.push(i);
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => out.push(day(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `09:00-14:00` → minutes `(540, 840)`; the end may be `24:00`.
pub fn parse_range(r: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{r}` is not an opening such as \"09:00-14:00\"");
    let (a, b) = r.trim().split_once('-').ok_or_else(bad)?;
    let minute = |s: &str| -> Option<u16> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || h == 24 && m == 0)).then_some(h * 60 + m)
    };
    let (a, b) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
    if a >= b {
        return Err(format!("`{r}`: the opening ends before it starts"));
    }
    Ok((a, b))
}

fn show_range((a, b): (u16, u16)) -> String {
    format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)
}

/// `2026-12-08` (that day) or `12-25` (every year).
pub fn parse_holiday(s: &str) -> Result<Holiday, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Holiday::Date(d));
    }
    let bad = || format!("`{s}` is not a date such as \"2026-12-08\" or a yearly \"12-25\"");
    let (m, d) = s.split_once('-').ok_or_else(bad)?;
    let (month, day): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    // 2024 is a leap year: 02-29 is a day some years have.
    NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(bad)?;
    Ok(Holiday::Yearly { month, day })
}

/// The all-day events of an iCalendar file as holidays: `DTSTART` dates
/// (through `DTEND`, exclusive, for events of several days), yearly when
/// the event has `RRULE:FREQ=YEARLY`. Timed events are not holidays and
/// are skipped. Lines are unfolded (RFC 5545 §3.1). At most
/// [`MAX_ICS_EVENTS`] holidays; the count of those left out is returned.
pub fn holidays_from_ics(text: &str) -> (Vec<Holiday>, usize) {
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        let l = l.trim_end_matches('\r');
        match (l.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(l.to_string()),
        }
    }
    let (mut out, mut dropped) = (Vec::new(), 0);
    let (mut start, mut end, mut yearly, mut inside) = (None, None, false, false);
    // An all-day event's date: `DTSTART;VALUE=DATE:20261208`. A
    // DATE-TIME value (`20261209T100000Z`) is a timed event: no holiday.
    let date = |l: &str| -> Option<NaiveDate> {
        let value = l.split_once(':')?.1.trim();
        if value.len() != 8 {
            return None;
        }
        NaiveDate::parse_from_str(value, "%Y%m%d").ok()
    };
    for l in &lines {
        let upper = l.to_ascii_uppercase();
        if upper == "BEGIN:VEVENT" {
            (start, end, yearly, inside) = (None, None, false, true);
        } else if upper == "END:VEVENT" && inside {
            inside = false;
            let Some(s) = start else { continue };
            let e: NaiveDate = end.filter(|e| *e > s).unwrap_or(s + Duration::days(1));
            let mut d = s;
            // An event of more than a year is not a holiday list.
            while d < e && d < s + Duration::days(366) {
                let h = if yearly {
                    Holiday::Yearly {
                        month: d.month(),
                        day: d.day(),
                    }
                } else {
                    Holiday::Date(d)
                };
                if out.len() < MAX_ICS_EVENTS {
                    out.push(h);
                } else {
                    dropped += 1;
                }
                d += Duration::days(1);
            }
        } else if inside && upper.starts_with("DTSTART") {
            start = date(l);
        } else if inside && upper.starts_with("DTEND") {
            end = date(l);
        } else if inside && upper.starts_with("RRULE") {
            yearly = upper.contains("FREQ=YEARLY");
        }
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn madrid(holidays: &[&str]) -> Calendar {
        let hours = vec![
            (
                "mon-thu".to_string(),
                vec!["09:00-14:00".to_string(), "15:00-18:00".to_string()],
            ),
            ("fri".to_string(), vec!["08:00-15:00".to_string()]),
        ];
        let h: Vec<Holiday> = holidays.iter().map(|h| parse_holiday(h).unwrap()).collect();
        Calendar::new("madrid", chrono_tz::Europe::Madrid, &hours, &h).unwrap()
    }

    fn all_day(tz: Tz) -> Calendar {
        let hours = vec![("mon-sun".to_string(), vec!["00:00-24:00".to_string()])];
        Calendar::new("24h", tz, &hours, &[]).unwrap()
    }

    #[test]
    fn a_day_of_each_dst_change_has_its_own_length() {
        let c = all_day(chrono_tz::Europe::Madrid);
        let day = |d: u32, m: u32| {
            let d = NaiveDate::from_ymd_opt(2026, m, d).unwrap();
            c.openings(d).iter().map(|(s, e)| *e - *s).sum::<Duration>()
        };
        assert_eq!(day(29, 3), Duration::hours(23));
        assert_eq!(day(25, 10), Duration::hours(25));
        assert_eq!(day(26, 10), Duration::hours(24));
        // The same, counted between instants.
        let (a, b) = (at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z"));
        assert_eq!(c.between(a, b), Duration::hours(25));
    }

    #[test]
    fn an_opening_across_a_dst_change_is_as_long_as_the_wall_says() {
        // 01:00-04:00 local on 29 March: 02:00-03:00 does not exist.
        let hours = vec![("sun".to_string(), vec!["01:00-04:00".to_string()])];
        let c = Calendar::new("n", chrono_tz::Europe::Madrid, &hours, &[]).unwrap();
        let o = c.openings(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(
            o,
            vec![(at("2026-03-29T00:00:00Z"), at("2026-03-29T02:00:00Z"))]
        );
        // On 25 October 02:00-03:00 happens twice: three hours of wall are four.
        let o = c.openings(NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
        assert_eq!(
            o,
            vec![(at("2026-10-24T23:00:00Z"), at("2026-10-25T03:00:00Z"))]
        );
    }

    #[test]
    fn business_time_skips_evenings_weekends_and_holidays() {
        let c = madrid(&[]);
        // Friday 17:55 in Madrid (CET, +01:00): closed since 15:00.
        let fri = at("2026-11-27T16:55:00Z");
        assert!(!c.is_open(fri));
        // 4 business hours land on Monday 13:00.
        assert_eq!(
            c.add(fri, Duration::hours(4)),
            Some(at("2026-11-30T12:00:00Z"))
        );
        // Nothing of the weekend counts.
        assert_eq!(c.between(fri, at("2026-11-30T08:00:00Z")), Duration::zero());
        // Monday 09:00-14:00, 15:00-18:00: eight hours.
        assert_eq!(
            c.between(at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z")),
            Duration::hours(8)
        );
        // Monday 13:30 + 1h: lunch is skipped, 15:30.
        assert_eq!(
            c.add(at("2026-11-30T12:30:00Z"), Duration::hours(1)),
            Some(at("2026-11-30T14:30:00Z"))
        );
        // A Monday holiday (yearly 11-30) moves that to Tuesday.
        let h = madrid(&["11-30"]);
        assert_eq!(
            h.add(fri, Duration::hours(4)),
            Some(at("2026-12-01T12:00:00Z"))
        );
        let h = madrid(&["2026-11-30"]);
        assert!(h.is_holiday(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()));
        assert!(!h.is_holiday(NaiveDate::from_ymd_opt(2027, 11, 30).unwrap()));
        // Zero: the next open instant.
        assert_eq!(
            c.add(fri, Duration::zero()),
            Some(at("2026-11-30T08:00:00Z"))
        );
    }

    #[test]
    fn add_and_between_agree_across_the_dst_change() {
        let c = madrid(&[]);
        // Thursday 22 October 16:00 CEST + 10 business hours: Thursday 2h,
        // Friday 7h, Monday 26 (now CET) 1h → Monday 10:00 CET = 09:00Z.
        let from = at("2026-10-22T14:00:00Z");
        let due = c.add(from, Duration::hours(10)).unwrap();
        assert_eq!(due, at("2026-10-26T09:00:00Z"));
        assert_eq!(c.between(from, due), Duration::hours(10));
        for mins in [0i64, 1, 59, 61, 300, 301, 479, 480, 481, 5000] {
            let d = Duration::minutes(mins);
            let t = c.add(from, d).unwrap();
            assert_eq!(c.between(from, t), d, "{mins}");
        }
    }

    #[test]
    fn wall_time_is_plain_subtraction() {
        let c = Calendar::always();
        let (a, b) = (at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z"));
        assert_eq!(c.between(a, b), Duration::hours(25));
        assert_eq!(c.add(a, Duration::hours(25)), Some(b));
        assert!(c.is_open(a) && c.is_wall());
    }

    #[test]
    fn bad_hours_and_dates_say_what_is_wrong() {
        assert!(parse_range("9-14").unwrap_err().contains("09:00-14:00"));
        assert!(parse_range("14:00-09:00")
            .unwrap_err()
            .contains("ends before"));
        assert_eq!(parse_range("18:00-24:00"), Ok((1080, 1440)));
        assert!(parse_days("lun").unwrap_err().contains("not a day"));
        assert_eq!(parse_days("fri-mon").unwrap(), vec![0, 4, 5, 6]);
        assert_eq!(parse_days("sat,sun").unwrap(), vec![5, 6]);
        assert!(parse_holiday("2026-02-30").is_err());
        assert_eq!(
            parse_holiday("02-29"),
            Ok(Holiday::Yearly { month: 2, day: 29 })
        );
        let overlap = vec![
            ("mon-fri".to_string(), vec!["09:00-14:00".to_string()]),
            ("mon".to_string(), vec!["13:00-15:00".to_string()]),
        ];
        let e = Calendar::new("x", chrono_tz::UTC, &overlap, &[]).unwrap_err();
        assert!(
            e.contains("mon: 09:00-14:00 and 13:00-15:00 overlap"),
            "{e}"
        );
        assert!(Calendar::new("x", chrono_tz::UTC, &[], &[]).is_err());
    }

    #[test]
    fn a_calendar_never_open_gives_no_due_time_and_stops() {
        let hours = vec![("mon".to_string(), vec!["09:00-10:00".to_string()])];
        let mut c = Calendar::new("x", chrono_tz::UTC, &hours, &[]).unwrap();
        // Every Monday a holiday: 53 yearly dates cannot cover it, so use
        // dates for ten years and more.
        let mut d = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        while d.year() < 2040 {
            c.add_holiday(Holiday::Date(d));
            d += Duration::days(7);
        }
        assert_eq!(c.add(at("2026-01-01T00:00:00Z"), Duration::hours(1)), None);
    }

    #[test]
    fn ics_all_day_events_become_holidays() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261208\r\nSUMMARY:Inmaculada\r\nEND:VEVENT\r\n\
                   BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n\
                   BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=YEARLY\r\n SUMMARY:x\r\nEND:VEVENT\r\n\
                   BEGIN:VEVENT\r\nDTSTART:20261209T100000Z\r\nSUMMARY:a meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let (h, dropped) = holidays_from_ics(ics);
        let d = |m, d| Holiday::Date(NaiveDate::from_ymd_opt(2026, m, d).unwrap());
        assert_eq!(
            h,
            vec![
                d(12, 8),
                d(12, 24),
                d(12, 25),
                d(12, 26),
                Holiday::Yearly { month: 1, day: 1 }
            ]
        );
        assert_eq!(dropped, 0);
    }

    /// The walk over days the year tables replaced: the reference.
    fn between_walk(c: &Calendar, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        let (mut day, last) = (c.local_date(a).pred_opt().unwrap(), c.local_date(b));
        let mut total = Duration::zero();
        loop {
            for (s, e) in c.openings(day) {
                let (s, e) = (s.max(a), e.min(b));
                if e > s {
                    total += e - s;
                }
            }
            if day >= last {
                return total;
            }
            day = day.succ_opt().unwrap();
        }
    }

    fn add_walk(c: &Calendar, from: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
        let mut left = d.max(Duration::zero());
        let mut day = c.local_date(from).pred_opt()?;
        for _ in 0..=MAX_DAYS {
            for (s, e) in c.openings(day) {
                if e <= from {
                    continue;
                }
                let s = s.max(from);
                if left <= e - s {
                    return Some(s + left);
                }
                left -= e - s;
            }
            day = day.succ_opt()?;
        }
        None
    }

    #[test]
    fn the_year_tables_agree_with_a_walk_over_days() {
        let night = {
            let hours = vec![
                (
                    "mon-fri".to_string(),
                    vec!["00:00-02:30".to_string(), "22:00-24:00".to_string()],
                ),
                ("sat".to_string(), vec!["10:00-10:01".to_string()]),
            ];
            Calendar::new("night", chrono_tz::America::New_York, &hours, &[]).unwrap()
        };
        let cals = [
            madrid(&["12-25", "2026-12-08", "2027-01-06", "2026-03-19"]),
            all_day(chrono_tz::Europe::Madrid),
            night,
        ];
        // A small LCG: instants over 2026-2027, durations up to 60 days,
        // some on the minute (openings' edges), some with milliseconds.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 11
        };
        let base = at("2026-01-01T00:00:00Z");
        for c in &cals {
            for i in 0..3000 {
                let mut ms = (next() % (730 * 86_400_000)) as i64;
                if i % 3 == 0 {
                    ms -= ms % 60_000;
                }
                let a = base + Duration::milliseconds(ms);
                let span = Duration::milliseconds((next() % (60 * 86_400_000)) as i64);
                let span = if i % 5 == 0 {
                    Duration::minutes(span.num_minutes() % 600)
                } else {
                    span
                };
                assert_eq!(
                    c.between(a, a + span),
                    between_walk(c, a, a + span),
                    "{} between {a} +{span}",
                    c.name
                );
                assert_eq!(
                    c.add(a, span),
                    add_walk(c, a, span),
                    "{} add {a} +{span}",
                    c.name
                );
            }
            // A year-end from the last opening of the year, and zero.
            let eve = at("2026-12-31T23:30:00Z");
            assert_eq!(
                c.add(eve, Duration::zero()),
                add_walk(c, eve, Duration::zero()),
                "{}",
                c.name
            );
        }
    }
}
