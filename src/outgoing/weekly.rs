//! The weekly report mail to a desk's lead: one page of the week's
//! figures (the counts, first-response, next-response and resolution
//! times as medians and 90th percentiles, each agent's, each day's), the
//! previous week's counts beside them, and the week's chart as a PNG.
//!
//! The figures are [`crate::report`]'s rows, the ones `hilo report`
//! prints: one function for the clocks everywhere.

use chrono::{Datelike, NaiveDate};

use super::chart;
use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::Mailbox;
use crate::report::{Row, Stat};

/// Most agents listed; past it the mail says how many more.
pub const MAX_AGENTS: usize = 20;

pub struct WeeklyInput<'a> {
    pub desk: &'a DeskConfig,
    pub signer: &'a Signer,
    pub to: &'a str,
    /// The local days covered, the first and the last.
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// The ISO week the mail is sent in (`2026-W50`), for the chart's name.
    pub week: &'a str,
    /// Whether the times are business time.
    pub business: bool,
    /// The week's figures and the previous week's (`None`: nothing opened).
    pub total: Option<&'a Row>,
    pub previous: Option<&'a Row>,
    pub agents: &'a [Row],
    /// Each local day of the week, first to last.
    pub days: &'a [chart::Day],
    /// The chart, when drawn.
    pub png: Option<Vec<u8>>,
}

/// "30 de noviembre", "30 November".
fn date(desk: &DeskConfig, d: NaiveDate) -> String {
    let lang = desk.language;
    let month = lang
        .list("date.months")
        .get(d.month0() as usize)
        .cloned()
        .unwrap_or_default();
    lang.say(
        "weekly.date",
        &[("day", &d.day().to_string()), ("month", &month)],
    )
}

/// A chart label and a day line's name: "lun 30", "Mon 30".
pub fn day_label(desk: &DeskConfig, d: NaiveDate) -> String {
    let wd = desk
        .language
        .list("escalation.weekdays_short")
        .get(d.weekday().num_days_from_monday() as usize)
        .cloned()
        .unwrap_or_default();
    format!("{wd} {}", d.day())
}

/// The words of the chart's legend, in the desk's language.
pub fn legend(desk: &DeskConfig) -> [String; 3] {
    let l = desk.language.list("weekly.legend");
    let word = |i: usize| l.get(i).cloned().unwrap_or_default();
    [word(0), word(1), word(2)]
}

fn stat_line(desk: &DeskConfig, what: &str, s: Stat) -> String {
    let lang = desk.language;
    let what = lang.say(what, &[]);
    match (s.p50, s.p90) {
        (Some(p50), Some(p90)) => lang.say(
            "weekly.stat",
            &[
                ("what", &what),
                ("median", &crate::sla::minutes(p50)),
                ("ninetieth", &crate::sla::minutes(p90)),
                ("n", &s.n.to_string()),
            ],
        ),
        _ => lang.say("weekly.no_stat", &[("what", &what)]),
    }
}

fn counts(desk: &DeskConfig, key: &str, r: &Row, extra: &[(&str, &str)]) -> String {
    let (o, re, res, b) = (
        r.opened.to_string(),
        r.reopened.to_string(),
        r.resolved.to_string(),
        r.breached.to_string(),
    );
    let mut vars = vec![
        ("opened", o.as_str()),
        ("reopened", re.as_str()),
        ("resolved", res.as_str()),
        ("breached", b.as_str()),
    ];
    vars.extend_from_slice(extra);
    desk.language.say(key, &vars)
}

fn empty_row() -> Row {
    Row {
        group: String::new(),
        opened: 0,
        reopened: 0,
        resolved: 0,
        breached: 0,
        first_response: Stat::default(),
        next_response: Stat::default(),
        resolution: Stat::default(),
    }
}

pub fn weekly(i: WeeklyInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.desk;
    let lang = d.language;
    let name = d.shown_name();
    let (from, to) = (date(d, i.first), date(d, i.last));
    let clock = lang.say(
        if i.business {
            "weekly.business"
        } else {
            "weekly.wall"
        },
        &[],
    );
    let zero = empty_row();
    let total = i.total.unwrap_or(&zero);
    let mut text = lang.say(
        "weekly.head",
        &[
            ("desk", &name),
            ("from", &from),
            ("to", &to),
            ("clock", &clock),
        ],
    );
    text.push_str("\n\n");
    let before = lang.say(
        "weekly.before",
        &[(
            "count",
            &i.previous.map_or(0, |p| p.opened + p.reopened).to_string(),
        )],
    );
    text.push_str(&counts(d, "weekly.counts", total, &[("before", &before)]));
    text.push('\n');
    for (what, s) in [
        ("weekly.first_response", total.first_response),
        ("weekly.next_response", total.next_response),
        ("weekly.resolution", total.resolution),
    ] {
        text.push_str(&stat_line(d, what, s));
        text.push('\n');
    }
    if !i.agents.is_empty() {
        text.push('\n');
        text.push_str(&lang.say("weekly.agents", &[]));
        text.push('\n');
        for a in i.agents.iter().take(MAX_AGENTS) {
            let who = if a.group == "-" {
                lang.say("weekly.nobody", &[])
            } else {
                crate::mail::header_text(&a.group, 80)
            };
            let p50 = a
                .first_response
                .p50
                .map_or_else(|| "-".to_string(), crate::sla::minutes);
            text.push_str("  ");
            text.push_str(&counts(
                d,
                "weekly.agent",
                a,
                &[("agent", &who), ("median", &p50)],
            ));
            text.push('\n');
        }
        if i.agents.len() > MAX_AGENTS {
            text.push_str(&lang.say(
                "digest.more",
                &[("count", &(i.agents.len() - MAX_AGENTS).to_string())],
            ));
            text.push('\n');
        }
    }
    text.push('\n');
    text.push_str(&lang.say("weekly.days", &[]));
    text.push('\n');
    for day in i.days {
        let (o, r, b) = (
            day.opened.to_string(),
            day.resolved.to_string(),
            day.breached.to_string(),
        );
        text.push_str("  ");
        text.push_str(&lang.say(
            "weekly.day",
            &[
                ("day", &day.label),
                ("opened", &o),
                ("resolved", &r),
                ("breached", &b),
            ],
        ));
        text.push('\n');
    }
    text.push('\n');
    if i.png.is_some() {
        text.push_str(&lang.say("weekly.chart", &[]));
        text.push('\n');
    }
    text.push_str(&lang.say("weekly.cohort", &[]));
    text.push('\n');
    let attachments = i
        .png
        .map(|data| crate::mail::parse::Attachment {
            filename: Some(lang.say("weekly.filename", &[("week", i.week)])),
            content_type: "image/png".into(),
            data,
        })
        .into_iter()
        .collect();
    Outgoing::new(Draft {
        from: Mailbox::new(&d.address, Some(name.clone())),
        to: vec![Mailbox::new(i.to, None)],
        cc: Vec::new(),
        reply_to: None,
        subject: lang.say(
            "weekly.subject",
            &[("desk", &name), ("from", &from), ("to", &to)],
        ),
        text,
        message_id: i.signer.new_id(0, d.domain()),
        in_reply_to: None,
        references: Vec::new(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: d.address.clone(),
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, TestConfig, TestDesk};

    fn desk(lang: &str) -> DeskConfig {
        let toml = TestConfig::new("x.db")
            .desk(TestDesk::new(
                "soporte",
                "soporte@example.test",
                "SOP",
                lang,
            ))
            .render();
        Config::from_toml(&toml, Vec::<(String, String)>::new())
            .unwrap()
            .desks[0]
            .clone()
    }

    fn row(group: &str, opened: usize, p50: Option<i64>) -> Row {
        Row {
            group: group.into(),
            opened,
            reopened: 1,
            resolved: 2,
            breached: 3,
            first_response: Stat {
                n: usize::from(p50.is_some()),
                p50,
                p90: p50,
            },
            ..empty_row()
        }
    }

    #[test]
    fn every_language_writes_the_whole_page_and_caps_the_agents() {
        let signer = Signer::new(b"k");
        let first = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let agents: Vec<Row> = (0..MAX_AGENTS + 3)
            .map(|i| row(&format!("a{i}@example.test"), i, Some(60 * i as i64)))
            .chain([row("-", 1, None)])
            .collect();
        for lang in ["es", "en", "pt"] {
            let d = desk(lang);
            let days: Vec<chart::Day> = (0..7)
                .map(|k| chart::Day {
                    label: day_label(&d, first + chrono::Duration::days(k)),
                    opened: k as usize,
                    resolved: 0,
                    breached: 0,
                })
                .collect();
            let total = row("soporte", 9, Some(3900));
            let out = weekly(WeeklyInput {
                desk: &d,
                signer: &signer,
                to: "jefa@example.test",
                first,
                last: first + chrono::Duration::days(6),
                week: "2026-W50",
                business: true,
                total: Some(&total),
                previous: None,
                agents: &agents,
                days: &days,
                png: Some(b"\x89PNG fake".to_vec()),
            })
            .unwrap();
            let text = &out.draft.text;
            assert!(!text.contains('{'), "{lang}: a field left: {text}");
            assert!(text.contains("1h 5m"), "{lang}: the median: {text}");
            assert!(text.contains("a19@example.test"), "{lang}");
            assert!(
                !text.contains("a20@example.test"),
                "{lang}: capped at {MAX_AGENTS}"
            );
            assert!(text.contains('4'), "{lang}: 4 agents more");
            assert_eq!(out.draft.attachments.len(), 1);
            assert_eq!(out.draft.attachments[0].content_type, "image/png");
            assert_eq!(
                text.lines().filter(|l| l.starts_with("  ")).count(),
                MAX_AGENTS + 1 + 7,
                "{lang}: {text}"
            );
            let raw = out.raw.as_deref().expect("composed with its attachment");
            let back = crate::mail::parse(raw).unwrap();
            assert_eq!(back.attachments[0].data, b"\x89PNG fake");
        }
        let none = weekly(WeeklyInput {
            desk: &desk("en"),
            signer: &signer,
            to: "jefa@example.test",
            first,
            last: first,
            week: "2026-W50",
            business: false,
            total: None,
            previous: None,
            agents: &[],
            days: &[],
            png: None,
        })
        .unwrap();
        assert!(
            none.draft.text.contains("Tickets: new 0"),
            "{}",
            none.draft.text
        );
        assert!(none.draft.text.contains("wall-clock"));
        assert!(!none.draft.text.contains("attached chart"));
        assert!(none.draft.attachments.is_empty());
    }
}
