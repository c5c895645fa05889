//! Raw configuration → [`Config`]: every check, each error naming its key.

use std::collections::HashSet;
use std::time::Duration;

use super::raw::RawConfig;
use super::types::*;
use super::ConfigError;

fn check_host(key: &str, host: &str) -> Result<(), ConfigError> {
    if host.trim().is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    Ok(())
}

fn check_address(key: &str, addr: &str) -> Result<String, ConfigError> {
    let addr = addr.trim().to_ascii_lowercase();
    match addr.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(addr),
        _ => Err(ConfigError::invalid(
            key,
            format!("`{addr}` is not an email address"),
        )),
    }
}

impl RawConfig {
    pub(super) fn validate(self) -> Result<Config, ConfigError> {
        if self.store.path.as_os_str().is_empty() {
            return Err(ConfigError::invalid("store.path", "must not be empty"));
        }
        let s = self.smtp;
        check_host("smtp.host", &s.host)?;
        let smtp_credential =
            super::secrets::credential("smtp", s.auth, s.password, s.oauth2, false)?;
        if s.username.is_some() != smtp_credential.is_some() {
            return Err(ConfigError::invalid(
                "smtp.username",
                "username and a password (or auth = \"oauth2\") go together",
            ));
        }
        if s.mailbox.is_some() && s.auth != AuthKind::OAuth2 {
            return Err(ConfigError::invalid(
                "smtp.mailbox",
                "only used with auth = \"oauth2\"",
            ));
        }
        if s.security == Security::None && smtp_credential.is_some() && !is_loopback(&s.host) {
            return Err(ConfigError::invalid(
                "smtp.security",
                "refusing to send a password in clear text to a remote server; use starttls or tls",
            ));
        }
        let smtp = SmtpConfig {
            host: s.host,
            port: s.port,
            security: s.security,
            username: s.username,
            credential: smtp_credential,
            mailbox: s.mailbox.map(|m| m.trim().to_ascii_lowercase()),
            ca_file: s.ca_file,
            timeout: s.timeout,
            hello_name: s.hello_name,
        };
        if self.outbox.retry.is_empty() {
            return Err(ConfigError::invalid(
                "outbox.retry",
                "needs at least one delay",
            ));
        }
        if self.intake.idle_renew >= Duration::from_secs(29 * 60)
            || self.intake.idle_renew.is_zero()
        {
            return Err(ConfigError::invalid(
                "intake.idle_renew",
                "must be above zero and below 29 minutes (RFC 2177)",
            ));
        }
        for (key, d) in [
            ("intake.poll_interval", self.intake.poll_interval),
            ("intake.command_timeout", self.intake.command_timeout),
            ("outbox.poll_interval", self.outbox.poll_interval),
            ("smtp.timeout", smtp.timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::invalid(key, "must be above zero"));
            }
        }
        if self.outbox.retry.iter().any(|d| d.is_zero()) {
            return Err(ConfigError::invalid(
                "outbox.retry",
                "every delay must be above zero",
            ));
        }
        if self.intake.batch_size == 0 {
            return Err(ConfigError::invalid(
                "intake.batch_size",
                "must be at least 1",
            ));
        }
        if self.desk.is_empty() {
            return Err(ConfigError::invalid(
                "desk",
                "configure at least one [[desk]]",
            ));
        }
        let tag_re = regex::Regex::new(r"^[A-Za-z][A-Za-z0-9]{0,15}$").expect("static regex");
        let mut names = HashSet::new();
        let mut tags = HashSet::new();
        let mut addresses = HashSet::new();
        let mut desks = Vec::new();
        for (i, d) in self.desk.into_iter().enumerate() {
            let k = format!("desk[{i}]");
            if d.name.trim().is_empty() || !names.insert(d.name.clone()) {
                return Err(ConfigError::invalid(
                    format!("{k}.name"),
                    format!("`{}` is empty or used by another desk", d.name),
                ));
            }
            let address = check_address(&format!("{k}.address"), &d.address)?;
            if !addresses.insert(address.clone()) {
                return Err(ConfigError::invalid(
                    format!("{k}.address"),
                    "used by another desk",
                ));
            }
            let mut all = vec![address.clone()];
            for (j, a) in d.addresses.iter().enumerate() {
                let key = format!("{k}.addresses[{j}]");
                let a = check_address(&key, a)?;
                if all.contains(&a) {
                    continue; // the main address listed again: harmless
                }
                if !addresses.insert(a.clone()) {
                    return Err(ConfigError::invalid(key, "used by another desk"));
                }
                all.push(a);
            }
            if !tag_re.is_match(&d.tag) {
                return Err(ConfigError::invalid(
                    format!("{k}.tag"),
                    "must be 1-16 letters or digits, starting with a letter",
                ));
            }
            if !tags.insert(d.tag.to_ascii_uppercase()) {
                return Err(ConfigError::invalid(
                    format!("{k}.tag"),
                    "used by another desk",
                ));
            }
            let imap = d.imap;
            check_host(&format!("{k}.imap.host"), &imap.host)?;
            if imap.mailbox.is_some() && imap.auth != AuthKind::OAuth2 {
                return Err(ConfigError::invalid(
                    format!("{k}.imap.mailbox"),
                    "only used with auth = \"oauth2\"",
                ));
            }
            let credential = super::secrets::credential(
                &format!("{k}.imap"),
                imap.auth,
                imap.password,
                imap.oauth2,
                true,
            )?
            .ok_or_else(|| ConfigError::invalid(format!("{k}.imap.password"), "missing"))?;
            let after = match (d.after.as_str(), d.move_to) {
                ("keep", None) => After::Keep,
                ("seen", None) => After::Seen,
                ("move", Some(f)) if !f.trim().is_empty() && f != imap.folder => After::Move(f),
                ("move", _) => {
                    return Err(ConfigError::invalid(
                        format!("{k}.move_to"),
                        "after = \"move\" needs a move_to folder other than the watched one",
                    ))
                }
                ("keep" | "seen", Some(_)) => {
                    return Err(ConfigError::invalid(
                        format!("{k}.move_to"),
                        "only used with after = \"move\"",
                    ))
                }
                (other, _) => {
                    return Err(ConfigError::invalid(
                        format!("{k}.after"),
                        format!("`{other}`: expected keep, seen or move"),
                    ))
                }
            };
            if matches!(after, After::Move(_))
                && (d.quarantine_to.trim().is_empty()
                    || d.quarantine_to.eq_ignore_ascii_case(&imap.folder))
            {
                return Err(ConfigError::invalid(
                    format!("{k}.quarantine_to"),
                    "must name a folder other than the watched one (quarantined mail would be read again)",
                ));
            }
            let faq = match &d.faq {
                None => None,
                Some(p) => Some(std::sync::Arc::new(
                    crate::faq::Faq::load(p, &d.name)
                        .map_err(|e| ConfigError::invalid(format!("{k}.faq"), e.to_string()))?,
                )),
            };
            let mut agents = Vec::new();
            for (j, a) in d.agents.iter().enumerate() {
                let a = a.trim().to_ascii_lowercase();
                let ok = match a.strip_prefix('@') {
                    Some(domain) => domain.contains('.') && !domain.contains('@'),
                    None => check_address("", &a).is_ok(),
                };
                if !ok {
                    return Err(ConfigError::invalid(
                        format!("{k}.agents[{j}]"),
                        format!("`{a}`: expected an address or @domain"),
                    ));
                }
                agents.push(a);
            }
            // By default the agents with a full address are notified.
            let notify = match d.notify {
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(j, a)| check_address(&format!("{k}.notify[{j}]"), a))
                    .collect::<Result<Vec<_>, _>>()?,
                None => agents
                    .iter()
                    .filter(|a| !a.starts_with('@'))
                    .cloned()
                    .collect(),
            };
            let mut notify_lists = Vec::new();
            for (j, a) in d.notify_lists.iter().enumerate() {
                let key = format!("{k}.notify_lists[{j}]");
                let a = check_address(&key, a)?;
                if !notify.contains(&a) {
                    return Err(ConfigError::invalid(key, format!("`{a}` is not in notify")));
                }
                notify_lists.push(a);
            }
            let comment_address = d
                .comment_address
                .map(|a| check_address(&format!("{k}.comment_address"), &a))
                .transpose()?;
            if let Err(e) = crate::template::Template::parse_with(
                &format!("{k}.relay_name"),
                &d.relay_name,
                &["agent", "desk"],
            ) {
                return Err(ConfigError::invalid(format!("{k}.relay_name"), e.message));
            }
            if d.max_message_bytes < 1024 {
                return Err(ConfigError::invalid(
                    format!("{k}.max_message_bytes"),
                    "must be at least 1024",
                ));
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
            if let Some(bad) = receiving_hosts.iter().find(|h| {
                !h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            }) {
                return Err(ConfigError::invalid(
                    format!("{k}.receiving_hosts"),
                    format!("{bad:?} is not a host name or domain"),
                ));
            }
            if d.agent_trust == AgentTrust::Authenticated && authserv_ids.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{k}.authserv_ids"),
                    "agent_trust = \"authenticated\" needs the authserv-id(s) of your receiving server: without them any sender could write the header that proves an agent",
                ));
            }
            for (key, n) in [
                ("max_notifications", d.max_notifications),
                ("loop_max_relays", d.loop_max_relays),
            ] {
                if n == 0 {
                    return Err(ConfigError::invalid(
                        format!("{k}.{key}"),
                        "must be above zero",
                    ));
                }
            }
            for (key, w) in [
                ("notify_window", d.notify_window),
                ("loop_window", d.loop_window),
            ] {
                if w.is_zero() {
                    return Err(ConfigError::invalid(
                        format!("{k}.{key}"),
                        "must be above zero",
                    ));
                }
            }
            if imap.security == Security::None && !is_loopback(&imap.host) {
                return Err(ConfigError::invalid(
                    format!("{k}.imap.security"),
                    "refusing to send a password in clear text to a remote server; use starttls or tls",
                ));
            }
            let admins_default: Vec<String> = agents
                .iter()
                .filter(|a| !a.starts_with('@'))
                .cloned()
                .collect();
            let time_zone: chrono_tz::Tz = d.time_zone.trim().parse().map_err(|_| {
                ConfigError::invalid(
                    format!("{k}.time_zone"),
                    format!(
                        "{:?} is not an IANA time zone (such as \"Europe/Madrid\" or \"UTC\")",
                        d.time_zone
                    ),
                )
            })?;
            desks.push(DeskConfig {
                name: d.name,
                address,
                addresses: all,
                plus_addressing: d.plus_addressing,
                display_name: d.display_name,
                tag: d.tag,
                language: d.language,
                time_zone,
                imap: ImapConfig {
                    host: imap.host,
                    port: imap.port,
                    security: imap.security,
                    username: imap.username,
                    credential,
                    mailbox: imap.mailbox.map(|m| m.trim().to_ascii_lowercase()),
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
                admin: match d.admin {
                    Some(list) => list
                        .iter()
                        .enumerate()
                        .map(|(j, a)| check_address(&format!("{k}.admin[{j}]"), a))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => admins_default,
                },
                notify,
                notify_lists,
                comment_address,
                relay_name: d.relay_name,
                faq,
                faq_path: d.faq.clone(),
                faq_threshold: match d.faq_threshold {
                    0 => return Err(ConfigError::invalid(
                        format!("{k}.faq_threshold"),
                        "0 would answer every mail with every entry: at least 1 (3 is the default)",
                    )),
                    n => n,
                },
                faq_max_answers: d.faq_max_answers.min(10),
                resolved_phrases: d.resolved_phrases.clone(),
                auto_link_duplicates: d.auto_link_duplicates,
                auto_link_threshold: if d.auto_link_threshold > 0.0 && d.auto_link_threshold <= 1.0
                {
                    d.auto_link_threshold
                } else {
                    return Err(ConfigError::invalid(
                        format!("{k}.auto_link_threshold"),
                        format!(
                            "{}: expected a similarity above 0 and at most 1",
                            d.auto_link_threshold
                        ),
                    ));
                },
                auto_link_window: Duration::from_secs(u64::from(d.auto_link_days) * 86_400),
                relay_signature: d.relay_signature,
                ack_quote: d.ack_quote,
                signature: d.signature,
                close_after: Duration::from_secs(u64::from(d.close_after_days) * 86_400),
            });
        }
        let metrics_listen = self
            .metrics
            .listen
            .map(|l| {
                l.parse().map_err(|_| {
                    ConfigError::invalid("metrics.listen", format!("`{l}` is not an address:port"))
                })
            })
            .transpose()?;
        Ok(Config {
            metrics_listen,
            templates_dir: self.templates.dir,
            store: self.store,
            smtp,
            outbox: self.outbox,
            intake: self.intake,
            desks,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}
