//! The acknowledgement of a new ticket: template text, threading headers to
//! the customer's mail, our signed Message-ID and the auto-reply markers.

use std::collections::HashMap;

use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::subject::TagMatcher;
use crate::mail::{Inbound, Mailbox};
use crate::model::Status;
use crate::outgoing::templates::Templates;

/// References an acknowledgement carries from the customer's mail: the
/// first and the most recent (RFC 5322 allows trimming the middle).
const MAX_REFERENCES: usize = 10;

/// What the customer wrote, in short ([`super::words::summary`]: the
/// first paragraph without the greeting, at most 3 lines and 300
/// characters), quoted; empty when nothing is left.
pub fn summary(text: &str) -> String {
    super::words::summary(text)
        .lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct AckInput<'a> {
    pub desk: &'a DeskConfig,
    pub tags: &'a TagMatcher,
    pub templates: &'a Templates,
    pub signer: &'a Signer,
    pub number: i64,
    /// The desk address the customer wrote to: the acknowledgement comes from it.
    pub address: &'a str,
    pub ticket_subject: &'a str,
    pub msg: &'a Inbound,
    /// The customer's new text (quoted history removed), for the summary.
    pub new_text: &'a str,
    /// Quote it (`ack_quote`)? Without, the summary is left out.
    pub quote: bool,
    /// Now, for the dates written out ("abierta el lunes 7 de diciembre").
    pub now: chrono::DateTime<chrono::Utc>,
    /// A closed ticket this one follows (the acknowledgement says so).
    pub closed_before: Option<i64>,
    /// The requester's other open tickets: listed, with how to continue one.
    pub related: &'a [hilo_domain::Related],
    /// Knowledge-file entries to offer, and the file holding their text.
    pub answers: &'a [crate::faq::Match],
    pub faq: Option<&'a crate::faq::Faq>,
}

/// Most holidays a promise names; days scanned for them.
const PROMISE_HOLIDAYS: usize = 3;
const PROMISE_DAYS: usize = 31;

/// What the acknowledgement promises, as a paragraph (empty or ending in
/// a blank line): outside business hours when the team is back; with a
/// first-response target the time of the answer at the latest, in the
/// calendar's zone, and the holidays before it; else "as soon as
/// possible" (which the knowledge-file answers' last sentence already
/// says when there are answers: `plain` is false then).
fn promise(d: &DeskConfig, now: chrono::DateTime<chrono::Utc>, plain: bool) -> String {
    let (lang, cal) = (d.language, &*d.calendar);
    let tz = cal.tz;
    let at = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%H:%M").to_string();
    let day = |t| super::words::day(lang, tz, t, now);
    let mut out: Vec<String> = Vec::new();
    if !cal.is_wall() && !cal.is_open(now) {
        if let Some(back) = cal.add(now, chrono::Duration::zero()) {
            out.push(lang.say("ack.back_at", &[("day", &day(back)), ("time", &at(back))]));
        }
    }
    let target = d.sla.as_ref().and_then(|s| {
        s.targets(crate::model::Priority::Normal)
            .first_response
            .map(|t| (s, t))
    });
    let due = target.and_then(|(s, t)| {
        if s.business {
            cal.add(now, t)
        } else {
            now.checked_add_signed(t)
        }
    });
    match due {
        Some(due) => {
            let zone = tz
                .name()
                .rsplit('/')
                .next()
                .unwrap_or("UTC")
                .replace('_', " ");
            out.push(lang.say(
                "ack.promise_by",
                &[("day", &day(due)), ("time", &at(due)), ("zone", &zone)],
            ));
            let mut closed: Vec<String> = Vec::new();
            let (from, to) = (cal.local_date(now), cal.local_date(due));
            for d in from.iter_days().take(PROMISE_DAYS).take_while(|d| *d <= to) {
                if cal.is_holiday(d) && cal.opens_on_weekday(d) && closed.len() < PROMISE_HOLIDAYS {
                    let noon = d.and_hms_opt(12, 0, 0).unwrap_or_default();
                    let t = noon
                        .and_local_timezone(tz)
                        .earliest()
                        .map(|t| t.to_utc())
                        .unwrap_or(now);
                    closed.push(day(t));
                }
            }
            let key = if closed.len() == 1 {
                "ack.holiday_one"
            } else {
                "ack.holiday_many"
            };
            if !closed.is_empty() {
                let days = match closed.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, rest)) => {
                        format!("{} {} {last}", rest.join(", "), lang.say("words.and", &[]))
                    }
                    None => String::new(),
                };
                out.push(lang.say(key, &[("days", &days)]));
            }
        }
        None if plain => out.push(lang.say("ack.promise", &[])),
        None => {}
    }
    if out.is_empty() {
        String::new()
    } else {
        format!("{}\n\n", out.join(" "))
    }
}

/// The knowledge-file answers, and how to say they solved it.
fn answers(i: &AckInput<'_>) -> String {
    let Some(faq) = i.faq else {
        return String::new();
    };
    let entries: Vec<&crate::faq::Entry> =
        i.answers.iter().filter_map(|a| faq.entry(&a.id)).collect();
    if entries.is_empty() {
        return String::new();
    }
    let lang = i.desk.language;
    let mut out = format!("{}\n\n", lang.say("ack.faq_head", &[]));
    for e in entries {
        out.push_str(&format!(
            "* {}\n\n{}\n\n",
            e.title,
            super::words::reflow(&e.answer)
        ));
    }
    out.push_str(&lang.say("ack.faq_solved", &[]));
    out.push_str("\n\n");
    out
}

/// The requester's other open tickets, and how to continue one of them.
fn open_tickets(i: &AckInput<'_>) -> String {
    if i.related.is_empty() {
        return String::new();
    }
    let lang = i.desk.language;
    let lines: Vec<String> = i
        .related
        .iter()
        .map(|r| {
            let date = super::words::day(i.desk.language, i.desk.time_zone, r.created_at, i.now);
            let subject = super::shown_subject(&r.subject);
            lang.say(
                "ack.open_line",
                &[
                    ("tag", &i.tags.format(r.number)),
                    ("subject", &subject),
                    ("date", &date),
                ],
            )
        })
        .collect();
    let example = i.tags.format(i.related[0].number);
    let example = example.trim_matches(['[', ']']);
    format!(
        "{}\n{}\n{}\n\n",
        lang.say("ack.open_head", &[]),
        lines.join("\n"),
        lang.say("ack.open_how", &[("example", example)])
    )
}

pub fn acknowledgement(i: AckInput<'_>) -> Result<Outgoing, ComposeError> {
    let tag = i.tags.format(i.number);
    let desk_name = i.desk.shown_name();
    let requester_name = i
        .msg
        .from
        .name
        .clone()
        .unwrap_or_else(|| i.msg.from.address.clone());
    let mut vars = HashMap::from([
        ("number", i.number.to_string()),
        ("tag", tag),
        ("subject", super::shown_subject(i.ticket_subject)),
        ("requester_name", requester_name),
        ("requester", i.msg.from.address.clone()),
        ("desk", desk_name.clone()),
        ("desk_address", i.address.to_string()),
        ("status", Status::New.as_str().to_string()),
        (
            "greeting",
            super::words::greeting(i.desk.language, &i.msg.from),
        ),
        ("promise", promise(i.desk, i.now, i.answers.is_empty())),
        (
            "summary",
            if i.quote {
                summary(i.new_text)
            } else {
                String::new()
            },
        ),
        ("open_tickets", open_tickets(&i)),
        ("answers", answers(&i)),
    ]);
    let block = if i.quote && !vars["summary"].is_empty() {
        i.templates
            .get(&i.desk.name, i.desk.language, "summary_block")
            .render(&vars)
    } else {
        String::new()
    };
    vars.insert("summary_block", block);
    if let Some(prev) = i.closed_before {
        vars.insert("previous_tag", i.tags.format(prev));
        let note = i
            .templates
            .get(&i.desk.name, i.desk.language, "closed_note")
            .render(&vars);
        vars.insert("linked_note", note);
    }
    let text = i
        .templates
        .get(&i.desk.name, i.desk.language, "ack")
        .render(&vars);

    // The customer's References and id, less any id of ours: those belong
    // to other tickets' mail (this mail opened a new ticket), and echoing
    // them would hand them to whoever this acknowledgement reaches.
    let mut references: Vec<String> = i
        .msg
        .references
        .iter()
        .filter(|r| i.signer.verify(r).is_none())
        .cloned()
        .collect();
    if references.len() > MAX_REFERENCES {
        references.drain(1..references.len() + 1 - MAX_REFERENCES);
    }
    if let Some(id) = &i.msg.message_id {
        if !references.contains(id) {
            references.push(id.clone());
        }
    }
    Outgoing::new(Draft {
        from: Mailbox::new(i.address, Some(desk_name)),
        to: vec![i.msg.from.clone()],
        subject: i.tags.tagged_subject(i.number, i.ticket_subject),
        text,
        message_id: i.signer.new_id(i.number, i.desk.domain()),
        in_reply_to: i.msg.message_id.clone(),
        references,
        auto_submitted: Some(AutoSubmitted::Replied),
        loop_marker: i.desk.address.clone(),
        cc: Vec::new(),
        reply_to: None,
        attachments: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_quotes_and_cuts() {
        assert_eq!(
            summary("\n\nHola:\n\nNo imprime.\nNi en color.\n\nGracias"),
            "> No imprime.\n> Ni en color."
        );
        let long = (0..40).map(|i| format!("línea {i}\n")).collect::<String>();
        assert_eq!(summary(&long).lines().count(), 3);
        assert_eq!(summary(""), "");
    }

    #[test]
    fn one_long_line_is_cut_too() {
        let s = summary(&"spam ".repeat(200_000));
        assert!(s.chars().count() < 320, "{}", s.len());
        assert!(s.ends_with('…'));
    }

    /// A desk in `lang` with a Madrid calendar (Monday to Friday 09:00-14:00
    /// and 15:00-18:00, Monday 7 December a holiday) and `sla`.
    fn desk(lang: &str, sla: &str) -> DeskConfig {
        use crate::config::{Config, TestConfig, TestDesk};
        let toml = TestConfig::new("x.db")
            .desk(TestDesk::new("soporte", "soporte@example.test", "SOP", lang).settings("calendar = \"madrid\""))
            .render()
            + &format!(
                "\n[desk.sla]\n{sla}\n\n[[calendar]]\nname = \"madrid\"\ntime_zone = \"Europe/Madrid\"\n\
                 hours = {{ mon-fri = [\"09:00-14:00\", \"15:00-18:00\"] }}\nholidays = [\"2026-12-07\"]\n"
            );
        let c = Config::from_toml(&toml, Vec::<(String, String)>::new()).unwrap();
        c.desks[0].clone()
    }

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_promise_names_the_time_the_zone_and_the_holidays_before_it() {
        let es = desk("es", "first_response = \"4h\"");
        // Friday 4 December 16:00 in Madrid: two hours on Friday, two on
        // Tuesday (Monday is a holiday): 11:00 on Tuesday 8.
        assert_eq!(
            promise(&es, at("2026-12-04T15:00:00Z"), true),
            "Le responderemos, a más tardar, el martes 8 de diciembre a las 11:00 (hora de Madrid). \
             Tenga en cuenta que el lunes 7 de diciembre es festivo.\n\n"
        );
        let en = desk("en", "first_response = \"4h\"");
        assert_eq!(
            promise(&en, at("2026-12-04T15:00:00Z"), true),
            "We will answer you by 11:00 on Tuesday 8 December (Madrid time). \
             Please note that we are closed on Monday 7 December for a holiday.\n\n"
        );
        // Saturday: closed now, back on Tuesday at 09:00; the answer by 13:00.
        assert_eq!(
            promise(&es, at("2026-12-05T10:00:00Z"), true),
            "Ahora estamos fuera de nuestro horario de atención: volvemos el martes 8 de diciembre a las 09:00. \
             Le responderemos, a más tardar, el martes 8 de diciembre a las 13:00 (hora de Madrid). \
             Tenga en cuenta que el lunes 7 de diciembre es festivo.\n\n"
        );
        // Wall time: four hours from now, the holiday notwithstanding.
        let wall = desk("es", "first_response = \"4h\"\nclock = \"wall\"");
        assert_eq!(
            promise(&wall, at("2026-12-01T09:00:00Z"), true),
            "Le responderemos, a más tardar, el martes 1 de diciembre a las 14:00 (hora de Madrid).\n\n"
        );
        // No target: as soon as possible, and when we are back if closed.
        let none = desk("es", "warn_at = \"75%\"");
        assert_eq!(
            promise(&none, at("2026-12-01T09:00:00Z"), true),
            "Le contestaremos lo antes posible.\n\n"
        );
        assert_eq!(promise(&none, at("2026-12-01T09:00:00Z"), false), "");
        assert!(
            promise(&none, at("2026-12-06T09:00:00Z"), false).starts_with("Ahora estamos fuera")
        );
    }
}
