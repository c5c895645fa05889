//! Raw configuration → [`Config`]: the rules between keys, each problem
//! naming its key. What one value must be on its own is its type in the
//! key table (`keys`, `ty`), checked before this runs; so here a value is
//! read as valid and only the rules that join keys add problems.

use std::collections::HashSet;
use std::time::Duration;

use super::problems::Problems;
use super::raw::RawConfig;
use super::ty::address;
use super::types::*;

impl RawConfig {
    /// The typed configuration, with every problem of the rules between
    /// keys added to `bad`; where there is one, the returned value holds a
    /// stand-in and is not to be used.
    pub(super) fn validate(self, bad: &mut Problems) -> Config {
        let s = self.smtp;
        let smtp_credential = bad
            .take(super::secrets::credential(
                "smtp", s.auth, s.password, s.oauth2, false,
            ))
            .flatten();
        if s.username.is_some() != smtp_credential.is_some() {
            bad.push(
                "smtp.username",
                "username and a password (or auth = \"oauth2\") go together",
            );
        }
        if s.mailbox.is_some() && s.auth != AuthKind::OAuth2 {
            bad.push("smtp.mailbox", "only used with auth = \"oauth2\"");
        }
        if s.security == Security::None && smtp_credential.is_some() && !is_loopback(&s.host) {
            bad.push(
                "smtp.security",
                "refusing to send a password in clear text to a remote server; use starttls or tls",
            );
        }
        let smtp = SmtpConfig {
            host: s.host,
            port: s.port,
            security: s.security,
            username: s.username,
            credential: smtp_credential,
            mailbox: s.mailbox.map(|m| address(&m)),
            ca_file: s.ca_file,
            timeout: s.timeout,
            hello_name: s.hello_name,
        };
        if self.desk.is_empty() {
            bad.push("desk", "configure at least one [[desk]]");
        }
        let calendars = calendars(self.calendar, bad);
        let mut names = HashSet::new();
        let mut tags = HashSet::new();
        let mut addresses = HashSet::new();
        let mut desks = Vec::new();
        for (i, d) in self.desk.into_iter().enumerate() {
            let k = format!("desk[{i}]");
            if !names.insert(d.name.clone()) {
                bad.push(
                    format!("{k}.name"),
                    format!("`{}` is used by another desk", d.name),
                );
            }
            let main = address(&d.address);
            if !addresses.insert(main.clone()) {
                bad.push(format!("{k}.address"), "used by another desk");
            }
            let mut all = vec![main.clone()];
            for (j, a) in d.addresses.iter().enumerate() {
                let a = address(a);
                if all.contains(&a) {
                    continue; // the main address listed again: harmless
                }
                if !addresses.insert(a.clone()) {
                    bad.push(format!("{k}.addresses[{j}]"), "used by another desk");
                }
                all.push(a);
            }
            if !tags.insert(d.tag.to_ascii_uppercase()) {
                bad.push(format!("{k}.tag"), "used by another desk");
            }
            let imap = d.imap;
            if imap.mailbox.is_some() && imap.auth != AuthKind::OAuth2 {
                bad.push(
                    format!("{k}.imap.mailbox"),
                    "only used with auth = \"oauth2\"",
                );
            }
            let credential = match bad.take(super::secrets::credential(
                &format!("{k}.imap"),
                imap.auth,
                imap.password,
                imap.oauth2,
                true,
            )) {
                Some(Some(c)) => c,
                Some(None) => {
                    bad.push(format!("{k}.imap.password"), "missing");
                    Credential::Password(Secret::new(String::new()))
                }
                None => Credential::Password(Secret::new(String::new())),
            };
            let after = match (d.after.as_str(), d.move_to) {
                ("move", Some(f)) if !f.trim().is_empty() && f != imap.folder => After::Move(f),
                ("move", _) => {
                    bad.push(
                        format!("{k}.move_to"),
                        "after = \"move\" needs a move_to folder other than the watched one",
                    );
                    After::Keep
                }
                ("keep" | "seen", Some(_)) => {
                    bad.push(format!("{k}.move_to"), "only used with after = \"move\"");
                    After::Keep
                }
                ("seen", None) => After::Seen,
                // keep, or a word the table has refused already.
                _ => After::Keep,
            };
            if matches!(after, After::Move(_))
                && (d.quarantine_to.trim().is_empty()
                    || d.quarantine_to.eq_ignore_ascii_case(&imap.folder))
            {
                bad.push(
                    format!("{k}.quarantine_to"),
                    "must name a folder other than the watched one (quarantined mail would be read again)",
                );
            }
            let faq = d.faq.as_ref().and_then(|p| {
                let loaded = crate::faq::Faq::load(p, &d.name)
                    .map(std::sync::Arc::new)
                    .map_err(|e| super::ConfigError::invalid(format!("{k}.faq"), e.to_string()));
                bad.take(loaded)
            });
            let agents: Vec<String> = d.agents.iter().map(|a| address(a)).collect();
            // By default the agents with a full address are notified.
            let full_agents = || -> Vec<String> {
                agents
                    .iter()
                    .filter(|a| !a.starts_with('@'))
                    .cloned()
                    .collect()
            };
            let notify = match &d.notify {
                Some(list) => list.iter().map(|a| address(a)).collect(),
                None => full_agents(),
            };
            let mut notify_lists = Vec::new();
            for (j, a) in d.notify_lists.iter().enumerate() {
                let a = address(a);
                if !notify.contains(&a) {
                    bad.push(
                        format!("{k}.notify_lists[{j}]"),
                        format!("`{a}` is not in notify"),
                    );
                }
                notify_lists.push(a);
            }
            let authserv_ids: Vec<String> = d
                .authserv_ids
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            let receiving_hosts: Vec<String> = d
                .receiving_hosts
                .iter()
                .map(|s| s.trim().trim_matches('.').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            if d.agent_trust == AgentTrust::Authenticated && authserv_ids.is_empty() {
                bad.push(
                    format!("{k}.authserv_ids"),
                    "agent_trust = \"authenticated\" needs the authserv-id(s) of your receiving server: without them any sender could write the header that proves an agent",
                );
            }
            if imap.security == Security::None && !is_loopback(&imap.host) {
                bad.push(
                    format!("{k}.imap.security"),
                    "refusing to send a password in clear text to a remote server; use starttls or tls",
                );
            }
            let calendar = match &d.calendar {
                None => std::sync::Arc::new(crate::calendar::Calendar::always()),
                Some(name) => match calendars.iter().find(|c| c.name == *name) {
                    Some(c) => c.clone(),
                    None => {
                        bad.push(
                            format!("{k}.calendar"),
                            format!(
                                "no [[calendar]] is named {name:?} (there are: {})",
                                calendars
                                    .iter()
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        std::sync::Arc::new(crate::calendar::Calendar::always())
                    }
                },
            };
            let sla = d.sla.and_then(|raw| sla(raw, d.calendar.is_some()));
            let pending = d
                .pending
                .and_then(|raw| pending(raw, d.calendar.is_some(), &format!("{k}.pending"), bad));
            let digest = d.digest.map(|raw| {
                let at = chrono::NaiveTime::parse_from_str(raw.at.trim(), "%H:%M").unwrap_or_else(
                    |_| {
                        bad.push(
                            format!("{k}.digest.at"),
                            format!("`{}` is not a time of day such as \"08:00\"", raw.at),
                        );
                        chrono::NaiveTime::MIN
                    },
                );
                let to = match raw.to {
                    Some(list) => list.iter().map(|a| address(a)).collect(),
                    None => notify.clone(),
                };
                if to.is_empty() {
                    bad.push(
                        format!("{k}.digest.to"),
                        "nobody to send it to: set `to` or the desk's `notify`",
                    );
                }
                super::types::Digest {
                    at,
                    to,
                    pending_days: raw.pending_days,
                }
            });
            let report = d.report.map(|raw| {
                let weekday = crate::calendar::weekday(&raw.weekday).unwrap_or_else(|| {
                    bad.push(
                        format!("{k}.report.weekday"),
                        format!(
                            "`{}` is not a day (mon, tue, wed, thu, fri, sat, sun)",
                            raw.weekday
                        ),
                    );
                    chrono::Weekday::Mon
                });
                let at = chrono::NaiveTime::parse_from_str(raw.at.trim(), "%H:%M").unwrap_or_else(
                    |_| {
                        bad.push(
                            format!("{k}.report.at"),
                            format!("`{}` is not a time of day such as \"08:00\"", raw.at),
                        );
                        chrono::NaiveTime::MIN
                    },
                );
                let to: Vec<String> = match raw.to {
                    Some(list) => list.iter().map(|a| address(a)).collect(),
                    None => sla
                        .as_ref()
                        .map(|s| s.escalate_to.clone())
                        .unwrap_or_default(),
                };
                if to.is_empty() {
                    bad.push(
                        format!("{k}.report.to"),
                        "nobody to send it to: set `to` or the desk's `sla.escalate_to`",
                    );
                }
                super::types::WeeklyReport {
                    weekday,
                    at,
                    to,
                    chart: raw.chart,
                    font: raw.font,
                }
            });
            desks.push(DeskConfig {
                calendar,
                sla,
                pending,
                digest,
                report,
                name: d.name,
                address: main,
                addresses: all,
                plus_addressing: d.plus_addressing,
                display_name: d.display_name,
                tag: d.tag,
                language: d.language,
                time_zone: d.time_zone.trim().parse().unwrap_or(chrono_tz::UTC),
                imap: ImapConfig {
                    host: imap.host,
                    port: imap.port,
                    security: imap.security,
                    username: imap.username,
                    credential,
                    mailbox: imap.mailbox.map(|m| address(&m)),
                    folder: imap.folder,
                    ca_file: imap.ca_file,
                },
                after,
                quarantine_to: d.quarantine_to,
                start_from: d.start_from,
                max_message_bytes: d.max_message_bytes,
                reopen_after_close: Duration::from_secs(u64::from(d.reopen_days) * 86_400),
                max_autoreplies: d.max_autoreplies,
                autoreply_window: d.autoreply_window,
                admin: match &d.admin {
                    Some(list) => list.iter().map(|a| address(a)).collect(),
                    None => full_agents(),
                },
                agents,
                agent_trust: d.agent_trust,
                authserv_ids,
                receiving_hosts,
                max_participants: d.max_participants,
                max_notifications: d.max_notifications,
                notify_window: d.notify_window,
                loop_max_relays: d.loop_max_relays,
                loop_window: d.loop_window,
                notify_attachments_max: d.notify_attachments_max,
                notify,
                notify_lists,
                comment_address: d.comment_address.map(|a| address(&a)),
                relay_name: d.relay_name,
                faq,
                faq_path: d.faq.clone(),
                faq_threshold: d.faq_threshold,
                faq_max_answers: d.faq_max_answers.min(10),
                resolved_phrases: d.resolved_phrases.clone(),
                auto_link_duplicates: d.auto_link_duplicates,
                auto_link_threshold: d.auto_link_threshold,
                auto_link_window: Duration::from_secs(u64::from(d.auto_link_days) * 86_400),
                relay_signature: d.relay_signature,
                ack_quote: d.ack_quote,
                signature: d.signature,
                close_after: Duration::from_secs(u64::from(d.close_after_days) * 86_400),
            });
        }
        Config {
            metrics_listen: self.metrics.listen.and_then(|l| l.parse().ok()),
            templates_dir: self.templates.dir,
            store: self.store,
            smtp,
            outbox: self.outbox,
            intake: self.intake,
            desks,
        }
    }
}

/// The `[[calendar]]` tables, each checked: a unique name, its hours,
/// its holidays and its `.ics` file.
fn calendars(
    raw: Vec<super::raw::RawCalendar>,
    bad: &mut Problems,
) -> Vec<std::sync::Arc<crate::calendar::Calendar>> {
    use crate::calendar::{holidays_from_ics, parse_holiday, Calendar, MAX_ICS_BYTES};
    let mut out: Vec<std::sync::Arc<Calendar>> = Vec::new();
    for (i, c) in raw.into_iter().enumerate() {
        let k = format!("calendar[{i}]");
        if out.iter().any(|o| o.name == c.name) {
            bad.push(format!("{k}.name"), format!("{:?} is used twice", c.name));
        }
        let tz = c.time_zone.trim().parse().unwrap_or(chrono_tz::UTC);
        // Bad dates are reported by the key's type; keep the good ones.
        let mut holidays: Vec<_> = c
            .holidays
            .iter()
            .filter_map(|h| parse_holiday(h).ok())
            .collect();
        if let Some(path) = &c.holidays_file {
            let read = std::fs::metadata(path).and_then(|m| {
                if m.len() > MAX_ICS_BYTES {
                    Err(std::io::Error::other(format!(
                        "larger than {} MiB",
                        MAX_ICS_BYTES >> 20
                    )))
                } else {
                    std::fs::read(path)
                }
            });
            match read {
                Ok(bytes) => {
                    let (got, dropped) = holidays_from_ics(&String::from_utf8_lossy(&bytes));
                    if dropped > 0 {
                        tracing::warn!(file = %path.display(), dropped, "holidays past the cap left out");
                    }
                    holidays.extend(got);
                }
                Err(e) => bad.push(
                    format!("{k}.holidays_file"),
                    format!("cannot read {}: {e}", path.display()),
                ),
            }
        }
        let hours: Vec<(String, Vec<String>)> = c.hours.into_iter().collect();
        match Calendar::new(&c.name, tz, &hours, &holidays) {
            Ok(cal) => out.push(std::sync::Arc::new(cal)),
            Err(e) => bad.push(format!("{k}.hours"), e),
        }
    }
    out
}

/// `[desk.pending]` as steps; `None` when it sets none. Reminders must
/// come in order, before the close.
fn pending(
    raw: super::raw::RawPending,
    has_calendar: bool,
    k: &str,
    bad: &mut Problems,
) -> Option<crate::sla::PendingSteps> {
    use crate::sla::{PendingSteps, MAX_REMINDERS};
    let days = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let remind: Vec<chrono::Duration> = raw.remind_after.iter().map(|d| days(*d)).collect();
    if remind.len() > MAX_REMINDERS {
        bad.push(
            format!("{k}.remind_after"),
            format!("at most {MAX_REMINDERS} reminders"),
        );
    }
    if let Some(i) = remind.windows(2).position(|w| w[1] <= w[0]) {
        bad.push(
            format!("{k}.remind_after[{}]", i + 1),
            "each reminder comes after the one before it",
        );
    }
    let close = raw.close_after.map(days);
    if let (Some(c), Some(last)) = (close, remind.last()) {
        if c <= *last {
            bad.push(
                format!("{k}.close_after"),
                "must come after the last reminder",
            );
        }
    }
    if remind.is_empty() && close.is_none() {
        return None;
    }
    Some(PendingSteps {
        remind_after: remind,
        close_after: close,
        business: raw.clock.as_deref() != Some("wall") && has_calendar,
    })
}

/// `[desk.sla]` as service levels; `None` when it sets no target.
fn sla(raw: super::raw::RawSla, has_calendar: bool) -> Option<crate::sla::Sla> {
    use crate::model::{Priority, Status};
    use crate::sla::{Sla, Targets};
    let targets = |t: super::raw::RawTargets| {
        let d = |d: Option<Duration>| d.and_then(|d| chrono::Duration::from_std(d).ok());
        Targets {
            first_response: d(t.first_response),
            next_response: d(t.next_response),
            resolution: d(t.resolution),
        }
    };
    // Without a calendar the desk is open all the time: business time is
    // wall time, as the default says.
    let business = raw.clock.as_deref() != Some("wall") && has_calendar;
    let pause_in = raw
        .pause_in
        .iter()
        .filter_map(|s| Status::parse(s.trim()))
        .collect();
    let by_priority: Vec<(Priority, Targets)> = [
        (Priority::Low, raw.low),
        (Priority::Normal, raw.normal),
        (Priority::High, raw.high),
    ]
    .into_iter()
    .filter_map(|(p, t)| t.map(|t| (p, targets(t))))
    .collect();
    let base = targets(raw.targets);
    let none = Targets::default();
    if base == none && by_priority.iter().all(|(_, t)| *t == none) {
        return None;
    }
    Some(Sla {
        targets: base,
        by_priority,
        business,
        pause_in,
        warn_at: super::ty::percent(&raw.warn_at).unwrap_or(0.75),
        escalate_to: raw.escalate_to.iter().map(|a| address(a)).collect(),
    })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}
