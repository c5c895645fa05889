//! Typed configuration: one TOML file plus `HILO__SECTION__KEY` environment
//! overrides, validated at start-up.
//!
//! Every error names the key at fault. Passwords come from `password`,
//! `password_file` or `password_command` and are held in [`Secret`], whose
//! `Debug`/`Display` print `***`, so a config dump can never leak one.
//!
//! `types` holds what the rest of hilo reads; `raw` the file's shapes as
//! serde reads them, with their defaults; `env` the `HILO__…` mapping;
//! `secrets` the password sources; `validation` turns raw into typed,
//! naming the key at fault.

mod env;
pub mod keys;
mod problems;
mod raw;
mod secrets;
mod ty;
mod types;
mod validation;

pub use problems::{Problem, Problems};

pub use secrets::{secret_command, SECRET_COMMAND_TIMEOUT};
pub use types::*;

use std::path::{Path, PathBuf};

use env::{env_key, fix_key_path};
use raw::RawConfig;

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("{0}")]
    Parse(String),
    #[error("`{key}`: {message}")]
    Invalid { key: String, message: String },
    /// Every problem of the file at once, each with its key and line.
    #[error("{0}")]
    Problems(Problems),
}

impl ConfigError {
    pub(super) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Loads `path`, applies `HILO__…` overrides from the process environment
    /// and validates the result.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_owned(),
            cause,
        })?;
        Self::from_toml(&text, std::env::vars())
    }

    /// Parses TOML text with the given environment; the seam for tests.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml));
        // Values from the environment are never shown in an error: a
        // password set by mistake for another key (`HILO__SMTP__PORT`)
        // would otherwise be printed.
        let mut from_env: Vec<(String, String)> = Vec::new();
        for (name, value) in env {
            if let Some(key) = env_key(&name) {
                builder = builder
                    .set_override(key.as_str(), value.clone())
                    .map_err(|_| {
                        ConfigError::invalid(&key, "cannot be set from the environment")
                    })?;
                from_env.push((key, value));
            }
        }
        let hide = |msg: String| hide_env_values(msg, &from_env);
        let serde_error = |e: config::ConfigError| {
            let text = fix_key_path(&e.to_string());
            let env_key = from_env
                .iter()
                .any(|(k, _)| text.contains(&format!("`{k}`")));
            hide(keys::scrub(&text, env_key))
        };
        // A file that is not TOML at all: its parser's one error.
        let built = builder
            .build()
            .map_err(|e| ConfigError::Parse(serde_error(e)))?;
        // Each value on its own, by its type in the key table; then the
        // shapes (serde) and the rules between keys. All problems at once.
        let mut bad = Problems::default();
        keys::check_values(&built, &mut bad);
        match built.try_deserialize::<RawConfig>() {
            Ok(raw) => {
                let config = raw.validate(&mut bad);
                if bad.is_empty() {
                    return Ok(config);
                }
            }
            Err(e) => {
                let text = serde_error(e);
                match text.rsplit_once(" for key `") {
                    Some((message, key)) => bad.push(key.trim_end_matches('`'), message),
                    None => bad.push("", text),
                }
            }
        }
        for p in &mut bad.0 {
            p.message = hide(std::mem::take(&mut p.message));
        }
        let env_keys: Vec<String> = from_env.iter().map(|(k, _)| k.clone()).collect();
        bad.locate(text, &env_keys);
        Err(ConfigError::Problems(bad))
    }
}

/// `msg` with every value given in the environment (of three characters or
/// more, so that words of the message itself stay) replaced.
fn hide_env_values(mut msg: String, from_env: &[(String, String)]) -> String {
    for (_, v) in from_env {
        let v = v.trim();
        if v.chars().count() >= 3 && msg.contains(v) {
            msg = msg.replace(v, "(value from the environment not shown)");
        }
    }
    msg
}

impl Config {
    pub fn desk(&self, name: &str) -> Option<&DeskConfig> {
        self.desks.iter().find(|d| d.name == name)
    }

    /// What is valid but probably not meant: printed by `hilo check` and
    /// logged when hilo starts.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, d) in self.desks.iter().enumerate() {
            for (j, a) in d.notify.iter().enumerate() {
                if !d.agents.contains(a) && !d.notify_lists.contains(a) {
                    out.push(format!(
                        "`desk[{i}].notify[{j}]`: {a} is not listed as an agent nor in notify_lists: \
                         an agent's reply to its notifications proves nothing (add it to notify_lists \
                         if it is a list or alias of agents)"
                    ));
                }
            }
            if !d.authserv_ids.is_empty() && d.receiving_hosts.is_empty() {
                out.push(format!(
                    "`desk[{i}].receiving_hosts` is not set: hilo cannot tell an Authentication-Results \
                     header your server wrote from a forged one that came with the message, unless \
                     the server removes incoming copies (SECURITY.md); set it to the host in the \
                     `by` clause of the Received line your server adds"
                ));
            }
        }
        out
    }
}

/// Configuration text for tests and benchmarks, built from one valid base
/// so that each test says only what it changes: a store, SMTP on loopback
/// without TLS, extra sections, and desks. One key per line, so a test can
/// still edit the text it gets (`port = 25` → a fault proxy's port).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct TestConfig {
    db: String,
    smtp_port: u16,
    sections: String,
    desks: Vec<TestDesk>,
}

/// One `[[desk]]` of a [`TestConfig`]: IMAP on loopback port 143 without
/// TLS, user `u`, password `p`, unless set.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct TestDesk {
    name: String,
    address: String,
    tag: String,
    language: String,
    settings: String,
    imap_port: u16,
    imap_security: String,
    imap_settings: String,
    username: String,
    password: String,
}

impl TestDesk {
    pub fn new(name: &str, address: &str, tag: &str, language: &str) -> TestDesk {
        TestDesk {
            name: name.into(),
            address: address.into(),
            tag: tag.into(),
            language: language.into(),
            settings: String::new(),
            imap_port: 143,
            imap_security: "none".into(),
            imap_settings: String::new(),
            username: "u".into(),
            password: "p".into(),
        }
    }

    /// The desk `soporte` (`soporte@example.test`, tag `SOP`, Spanish).
    pub fn soporte() -> TestDesk {
        TestDesk::new("soporte", "soporte@example.test", "SOP", "es")
    }

    /// Lines added to the desk's table.
    pub fn settings(mut self, lines: &str) -> TestDesk {
        self.settings.push_str(lines);
        self.settings.push('\n');
        self
    }

    pub fn imap(mut self, port: u16, username: &str, password: &str) -> TestDesk {
        (self.imap_port, self.username, self.password) = (port, username.into(), password.into());
        self
    }

    /// `security` and lines added to `[desk.imap]`.
    pub fn imap_security(mut self, security: &str, lines: &str) -> TestDesk {
        self.imap_security = security.into();
        self.imap_settings.push_str(lines);
        self.imap_settings.push('\n');
        self
    }
}

impl TestConfig {
    pub fn new(db: &str) -> TestConfig {
        TestConfig {
            db: db.into(),
            smtp_port: 25,
            sections: String::new(),
            desks: Vec::new(),
        }
    }

    pub fn smtp_port(mut self, port: u16) -> TestConfig {
        self.smtp_port = port;
        self
    }

    /// Tables written after `[smtp]` and before the desks, as given.
    pub fn section(mut self, toml: &str) -> TestConfig {
        self.sections.push_str(toml);
        self.sections.push('\n');
        self
    }

    pub fn desk(mut self, desk: TestDesk) -> TestConfig {
        self.desks.push(desk);
        self
    }

    pub fn render(&self) -> String {
        let mut t = format!(
            "[store]\npath = \"{}\"\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n{}",
            self.db, self.smtp_port, self.sections
        );
        for d in &self.desks {
            t.push_str(&format!(
                "[[desk]]\nname = \"{}\"\naddress = \"{}\"\ntag = \"{}\"\nlanguage = \"{}\"\n{}\
                 [desk.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"{}\"\n{}\
                 username = \"{}\"\npassword = \"{}\"\n",
                d.name,
                d.address,
                d.tag,
                d.language,
                d.settings,
                d.imap_port,
                d.imap_security,
                d.imap_settings,
                d.username,
                d.password
            ));
        }
        t
    }
}

/// The smallest valid configuration: store `db` and the desk `soporte`
/// with `desk` added to its table ([`TestConfig`]).
#[doc(hidden)]
pub fn test_config(db: &str, desk: &str) -> String {
    TestConfig::new(db)
        .desk(TestDesk::soporte().settings(desk))
        .render()
}

/// The shipped example configuration with inline passwords instead of the
/// files it names, for tests.
#[doc(hidden)]
pub fn example_config() -> String {
    include_str!("../../config/hilo.example.toml")
        .replace(
            "password_file = \"/etc/hilo/soporte.pass\"",
            "password = \"x\"",
        )
        .replace(
            "password_command = \"cat /etc/hilo/helpdesk.pass\"",
            "password = \"y\"",
        )
}

#[cfg(test)]
mod tests {
    use super::secrets::secret_command;
    use super::*;
    use std::time::Duration;

    /// The base the tests vary: desk `soporte` written with capitals.
    fn good() -> String {
        TestConfig::new("hilo.db")
            .smtp_port(10025)
            .desk(
                TestDesk::new("soporte", "Soporte@Example.test", "SOP", "es").imap(
                    10143,
                    "soporte@example.test",
                    "hunter2",
                ),
            )
            .render()
    }

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn loads_a_good_config_with_defaults() {
        let c = Config::from_toml(&good(), no_env()).unwrap();
        assert_eq!(c.desks[0].address, "soporte@example.test");
        assert_eq!(c.desks[0].imap.folder, "INBOX");
        assert_eq!(c.desks[0].imap.password().unwrap().expose(), "hunter2");
        assert_eq!(c.intake.batch_size, 100);
        assert_eq!(c.outbox.retry[0], Duration::from_secs(60));
    }

    #[test]
    fn a_notify_address_that_is_no_agent_and_no_list_is_warned_of() {
        let with = |extra: &str| {
            Config::from_toml(
                &good().replacen(
                    "language = \"es\"",
                    &format!("language = \"es\"\n{extra}"),
                    1,
                ),
                no_env(),
            )
            .unwrap()
        };
        let c = with("agents = [\"@agentes.test\", \"eva@agentes.test\"]\nnotify = [\"eva@agentes.test\", \"equipo@agentes.test\"]");
        let w = c.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("desk[0].notify[1]") && w[0].contains("equipo@agentes.test"));
        let c = with("agents = [\"@agentes.test\"]\nnotify = [\"equipo@agentes.test\"]\nnotify_lists = [\"equipo@agentes.test\"]");
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_toml(&good(), no_env()).unwrap();
        let dump = format!("{c:?}");
        assert!(!dump.contains("hunter2"), "{dump}");
        assert!(dump.contains("***"));
    }

    #[test]
    fn env_overrides_any_key_including_desk_entries() {
        let env = vec![
            ("HILO__SMTP__PORT".to_string(), "2525".to_string()),
            (
                "HILO__DESK__0__IMAP__PASSWORD".to_string(),
                "from-env".to_string(),
            ),
            ("HILO_CONFIG".to_string(), "ignored".to_string()),
        ];
        let c = Config::from_toml(&good(), env).unwrap();
        assert_eq!(c.smtp.port, 2525);
        assert_eq!(c.desks[0].imap.password().unwrap().expose(), "from-env");
    }

    #[test]
    fn a_value_from_the_environment_is_never_echoed() {
        let secret = "Zq8-hunter2-secret";
        for key in [
            "HILO__SMTP__PORT",
            "HILO__DESK__0__IMAP__PORT",
            "HILO__DESK__0__MAX_AUTOREPLIES",
            "HILO__DESK__0__AGENT_TRUST",
            "HILO__DESK__0__RECEIVING_HOSTS",
            "HILO__OUTBOX__EXPIRE_AFTER",
        ] {
            let env = vec![(key.to_string(), secret.to_string())];
            let e = Config::from_toml(&good(), env).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{key}: {e}");
            assert!(e.contains('`'), "{key}: the error names no key: {e}");
        }
    }

    #[test]
    fn env_key_mapping() {
        assert_eq!(env_key("HILO__STORE__PATH").as_deref(), Some("store.path"));
        assert_eq!(
            env_key("HILO__DESK__1__TAG").as_deref(),
            Some("desk[1].tag")
        );
        assert_eq!(env_key("HILO_CONFIG"), None);
        assert_eq!(env_key("HILO__A____B"), None);
    }

    fn err_of(text: &str) -> String {
        Config::from_toml(text, no_env()).unwrap_err().to_string()
    }

    #[test]
    fn calendars_and_service_levels_are_checked_with_their_keys() {
        let cal = "[[calendar]]\nname = \"madrid\"\ntime_zone = \"Europe/Madrid\"\n\
                   hours = { mon-thu = [\"09:00-14:00\", \"13:00-18:00\"], fri = [\"8-15\"] }\n\
                   holidays = [\"2026-02-30\"]\nholidays_file = \"/nonexistent/festivos.ics\"\n";
        let text = good().replace(
            "language = \"es\"",
            "language = \"es\"\ncalendar = \"barcelona\"",
        )
            + "[desk.sla]\nfirst_response = \"4h\"\nwarn_at = \"175%\"\npause_in = [\"waiting\"]\nescalate_to = [\"jefa\"]\n"
            + "[desk.pending]\nremind_after = [\"7d\", \"3d\"]\nclose_after = \"2d\"\nclock = \"lunar\"\n"
            + cal;
        let e = err_of(&text);
        for key in [
            "`desk[0].calendar`: no [[calendar]] is named \"barcelona\"",
            "`desk[0].sla.warn_at`",
            "`desk[0].sla.pause_in[0]`",
            "`calendar[0].holidays[0]`",
            "`calendar[0].holidays_file`: cannot read /nonexistent/festivos.ics",
            "`calendar[0].hours`",
            "`desk[0].sla.escalate_to[0]`",
            "`desk[0].pending.remind_after[1]`: each reminder comes after the one before it",
            "`desk[0].pending.close_after`: must come after the last reminder",
            "`desk[0].pending.clock`",
        ] {
            assert!(e.contains(key), "{key}: {e}");
        }
        // A good one: the desk gets its calendar and its targets.
        let text = good().replace(
            "language = \"es\"",
            "language = \"es\"\ncalendar = \"madrid\"",
        ) + "[desk.sla]\nfirst_response = \"4h\"\n[desk.sla.high]\nfirst_response = \"1h\"\n\
              [[calendar]]\nname = \"madrid\"\ntime_zone = \"Europe/Madrid\"\nhours = { mon-fri = [\"09:00-17:00\"] }\nholidays = [\"12-25\"]\n";
        let c = Config::from_toml(&text, no_env()).unwrap();
        let d = &c.desks[0];
        assert_eq!(d.calendar.name, "madrid");
        assert!(d
            .calendar
            .is_holiday(chrono::NaiveDate::from_ymd_opt(2030, 12, 25).unwrap()));
        let sla = d.sla.as_ref().unwrap();
        assert!(sla.business && sla.warn_at == 0.75);
        assert_eq!(sla.pause_in, vec![crate::model::Status::Pending]);
        assert_eq!(
            sla.targets(crate::model::Priority::High).first_response,
            Some(chrono::Duration::hours(1))
        );
    }

    #[test]
    fn a_hung_password_command_is_killed() {
        let t = std::time::Instant::now();
        let e = secret_command("sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(20));
        assert_eq!(
            secret_command("echo s3cr3t", Duration::from_secs(10)).unwrap(),
            "s3cr3t\n"
        );
        assert!(secret_command("exit 3", Duration::from_secs(10))
            .unwrap_err()
            .contains("failed"));
    }

    #[test]
    fn zero_durations_are_refused_by_key() {
        for (table, key) in [
            ("[intake]", "poll_interval"),
            ("[intake]", "command_timeout"),
            ("[outbox]", "poll_interval"),
            ("[smtp]", "timeout"),
        ] {
            let text = if good().contains(table) {
                good().replacen(table, &format!("{table}\n{key} = \"0s\""), 1)
            } else {
                format!("{table}\n{key} = \"0s\"\n{}", good())
            };
            let e = err_of(&text);
            let name = format!("{}.{key}", table.trim_matches(['[', ']']));
            assert!(e.contains(&name) && e.contains("above zero"), "{name}: {e}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_line() {
        let text = good()
            .replace("port = 10025", "port = 0")
            .replace("tag = \"SOP\"", "tag = \"S P\"")
            .replace(
                "address = \"Soporte@Example.test\"",
                "address = \"soporte\"",
            )
            .replace(
                "language = \"es\"",
                "language = \"es\"\ntime_zone = \"Europe/Madird\"\nafter = \"move\"",
            );
        let e = Config::from_toml(&text, no_env()).unwrap_err();
        let ConfigError::Problems(p) = &e else {
            panic!("{e}");
        };
        let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let got: Vec<(&str, Option<usize>)> =
            p.0.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert_eq!(
            got,
            [
                ("smtp.port", Some(line("port = 0"))),
                // Left out, so the line of its table.
                ("desk[0].move_to", Some(line("[[desk]]"))),
                ("desk[0].address", Some(line("address = \"soporte\""))),
                ("desk[0].tag", Some(line("tag = \"S P\""))),
                ("desk[0].time_zone", Some(line("Madird"))),
            ],
            "{e}"
        );
        let shown = e.to_string();
        assert!(
            shown.starts_with("5 problems in the configuration:"),
            "{shown}"
        );
        assert!(
            shown.contains(&format!(
                "line {}: `desk[0].tag`: must be 1-16",
                line("S P")
            )),
            "{shown}"
        );
    }

    #[test]
    fn a_second_desk_is_checked_like_the_first() {
        let second = "[[desk]]\nname = \"ventas\"\naddress = \"ventas@example.test\"\ntag = \"VEN\"\nlanguage = \"xx\"\nnotify = [\"a@b.test\", \"nadie\"]\n[desk.imap]\nhost = \" \"\nport = 10143\nsecurity = \"none\"\nusername = \"v\"\npassword = \"x\"\n";
        let e = err_of(&format!("{}{second}", good()));
        for key in ["desk[1].language", "desk[1].notify[1]", "desk[1].imap.host"] {
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        }
        assert!(!e.contains("desk[0]"), "{e}");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err_of(&good().replace("port = 10025", "port = 10025\nprot = 1"));
        assert!(e.contains("prot"), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        let e = err_of(&good().replace("tag = \"SOP\"\n", ""));
        assert!(e.contains("tag"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = err_of(&good().replace("port = 10025", "port = \"many\""));
        assert!(e.contains("port"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = err_of(&good().replace("tag = \"SOP\"", "tag = \"S P\""));
        assert!(e.contains("desk[0].tag"), "{e}");
        let e = err_of(&good().replace(
            "security = \"none\"\n[[desk]]",
            "security = \"ssl\"\n[[desk]]",
        ));
        assert!(e.contains("security"), "{e}");
        let e = err_of(&good().replace("password = \"hunter2\"\n", ""));
        assert!(e.contains("desk[0].imap") && e.contains("password"), "{e}");
        let e = err_of(&good().replace(
            "address = \"Soporte@Example.test\"",
            "address = \"soporte\"",
        ));
        assert!(e.contains("desk[0].address"), "{e}");
    }

    #[test]
    fn after_and_start_from() {
        let c = Config::from_toml(&good(), no_env()).unwrap();
        assert_eq!(c.desks[0].after, After::Keep);
        assert_eq!(c.desks[0].start_from, StartFrom::Now);
        let with = |extra: &str| {
            good().replace("language = \"es\"", &format!("language = \"es\"\n{extra}"))
        };
        let c = Config::from_toml(
            &with("after = \"move\"\nmove_to = \"Done\"\nstart_from = \"all\""),
            no_env(),
        )
        .unwrap();
        assert_eq!(c.desks[0].after, After::Move("Done".into()));
        assert_eq!(c.desks[0].start_from, StartFrom::All);
        let e = err_of(&with("after = \"move\""));
        assert!(e.contains("desk[0].move_to"), "{e}");
        let e = err_of(&with(
            "after = \"move\"\nmove_to = \"Done\"\nquarantine_to = \"inbox\"",
        ));
        assert!(e.contains("desk[0].quarantine_to"), "{e}");
        let e = err_of(&with("after = \"delete\""));
        assert!(e.contains("desk[0].after"), "{e}");
        let e = err_of(&with("start_from = \"yesterday\""));
        assert!(e.contains("start_from"), "{e}");
    }

    #[test]
    fn agents_and_notify() {
        let with = |extra: &str| {
            good().replace("language = \"es\"", &format!("language = \"es\"\n{extra}"))
        };
        let c = Config::from_toml(
            &with("agents = [\"Agente1@Example.com\", \"@soporte.example.com\"]"),
            no_env(),
        )
        .unwrap();
        let d = &c.desks[0];
        assert!(d.is_agent("agente1@example.com"));
        assert!(d.is_agent("luis@SOPORTE.example.com"));
        assert!(!d.is_agent("luis@example.com"));
        assert!(!d.is_agent("x@evil-soporte.example.com"));
        assert_eq!(
            d.notify,
            vec!["agente1@example.com"],
            "full-address agents are notified by default"
        );
        assert_eq!(d.agent_trust, AgentTrust::SignedReply);
        let e = err_of(&with("agents = [\"nadie\"]"));
        assert!(e.contains("desk[0].agents[0]"), "{e}");
        let e = err_of(&with("relay_name = \"{agente}\""));
        assert!(e.contains("desk[0].relay_name"), "{e}");
        let e = err_of(&with("agent_trust = \"trust-me\""));
        assert!(e.contains("agent_trust"), "{e}");
    }

    #[test]
    fn aliases_are_the_desks_and_no_other_desks() {
        let with = |extra: &str| {
            good().replace("language = \"es\"", &format!("language = \"es\"\n{extra}"))
        };
        let c = Config::from_toml(
            &with("addresses = [\"Ayuda@Example.test\", \"soporte@example.test\"]\nplus_addressing = true"),
            no_env(),
        )
        .unwrap();
        let d = &c.desks[0];
        assert_eq!(d.addresses, ["soporte@example.test", "ayuda@example.test"]);
        assert!(d.receives_at("ayuda+x@example.test"));
        assert!(!d.receives_at("otra@example.test"));
        let e = err_of(&with("addresses = [\"no es\"]"));
        assert!(e.contains("desk[0].addresses[0]"), "{e}");
        // An alias of one desk cannot be another's.
        let two = format!(
            "{}\n[[desk]]\nname = \"ventas\"\naddress = \"ventas@example.test\"\naddresses = [\"ayuda@example.test\"]\ntag = \"VEN\"\nlanguage = \"es\"\n[desk.imap]\nhost = \"127.0.0.1\"\nport = 10143\nsecurity = \"none\"\nusername = \"v\"\npassword = \"x\"\n",
            with("addresses = [\"ayuda@example.test\"]")
        );
        let e = err_of(&two);
        assert!(
            e.contains("desk[1].addresses[0]") && e.contains("another desk"),
            "{e}"
        );
    }

    #[test]
    fn clear_text_password_to_remote_host_is_refused() {
        let e = err_of(&good().replace(
            "host = \"127.0.0.1\"\nport = 10143",
            "host = \"imap.example.com\"\nport = 143",
        ));
        assert!(e.contains("desk[0].imap.security"), "{e}");
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let text = example_config();
        let c = Config::from_toml(&text, no_env()).unwrap();
        assert_eq!(c.desks.len(), 2);
        assert_eq!(c.desks[1].tag, "HLP");
    }

    #[test]
    fn password_file_and_command() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\n").unwrap();
        let text = good().replace(
            "password = \"hunter2\"",
            &format!("password_file = \"{}\"", f.display()),
        );
        let c = Config::from_toml(&text, no_env()).unwrap();
        assert_eq!(c.desks[0].imap.password().unwrap().expose(), "from-file");

        let text = good().replace(
            "password = \"hunter2\"",
            "password_command = \"echo from-cmd\"",
        );
        let c = Config::from_toml(&text, no_env()).unwrap();
        assert_eq!(c.desks[0].imap.password().unwrap().expose(), "from-cmd");

        let text = good().replace("password = \"hunter2\"", "password_command = \"exit 3\"");
        let e = Config::from_toml(&text, no_env()).unwrap_err().to_string();
        assert!(e.contains("desk[0].imap.password_command"), "{e}");
    }
}
