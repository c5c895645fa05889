//! Typed configuration: one TOML file plus `HILO__SECTION__KEY` environment
//! overrides, validated at start-up.
//!
//! Every error names the key at fault. Passwords come from `password`,
//! `password_file` or `password_command` and are held in [`Secret`], whose
//! `Debug`/`Display` print `***`, so a config dump can never leak one.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{0}")]
    Parse(String),
    #[error("`{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A secret string that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The only way to read the value; grep for it to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Transport security of a mail server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text; only sensible on loopback.
    None,
    /// Plain connection upgraded with STARTTLS; fails if the server does not offer it.
    Starttls,
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
}

/// Language of a desk's templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Es,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Es => "es",
            Language::En => "en",
        }
    }
}

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to serve Prometheus metrics, if anywhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Directory of template overrides (`{desk}/{kind}.{lang}.txt`, `{kind}.{lang}.txt`).
    pub templates_dir: Option<PathBuf>,
    pub store: StoreConfig,
    pub smtp: SmtpConfig,
    pub outbox: OutboxConfig,
    pub intake: IntakeConfig,
    pub desks: Vec<DeskConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file; relative paths are relative to the working directory.
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Name announced in EHLO; defaults to the machine's hostname.
    pub hello_name: Option<String>,
}

/// How the sender retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Delay before each retry after a transient failure; the last one repeats.
    #[serde(deserialize_with = "duration_list")]
    pub retry: Vec<Duration>,
    /// A mail that could not be sent for this long is marked failed.
    #[serde(with = "humantime_serde")]
    pub expire_after: Duration,
    /// How often the sender looks for due mail when nothing woke it.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(60 * n);
        OutboxConfig {
            retry: vec![m(1), m(2), m(5), m(10), m(15), m(30), m(60), m(120)],
            expire_after: Duration::from_secs(5 * 24 * 3600),
            poll_interval: Duration::from_secs(30),
        }
    }
}

/// Intake tuning shared by every desk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Time between mailbox checks.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Messages fetched and committed together.
    pub batch_size: usize,
    /// Timeout of every IMAP command.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Use IMAP IDLE where the server offers it (else poll).
    pub idle: bool,
    /// IDLE is re-issued after this long (RFC 2177: before 29 minutes).
    #[serde(with = "humantime_serde")]
    pub idle_renew: Duration,
    /// A batch is also cut when its messages add up to this many bytes.
    pub batch_bytes: u64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            poll_interval: Duration::from_secs(30),
            batch_size: 100,
            command_timeout: Duration::from_secs(60),
            idle: true,
            idle_renew: Duration::from_secs(25 * 60),
            // Small enough that large mail is handled a few at a time.
            batch_bytes: 8 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeskConfig {
    pub name: String,
    /// The support address customers write to, lowercase.
    pub address: String,
    /// Display name on outgoing mail ("Soporte").
    pub display_name: Option<String>,
    /// Tag in subjects, as written: `SOP` gives `[SOP-42]`.
    pub tag: String,
    pub language: Language,
    pub imap: ImapConfig,
    /// What happens to a message on the server once it is stored.
    pub after: After,
    /// Where quarantined messages go when `after = "move"`.
    pub quarantine_to: String,
    /// Where to begin on a mailbox never seen before.
    pub start_from: StartFrom,
    /// Larger messages are recorded with their headers only.
    pub max_message_bytes: u64,
    /// A reply to a ticket closed at most this long ago reopens it; later
    /// ones open a new ticket linked to it.
    pub reopen_after_close: Duration,
    /// At most this many acknowledgements to one address per window.
    pub max_autoreplies: u32,
    pub autoreply_window: Duration,
    /// Agents: full addresses, or `@domain` for everyone there (lowercase).
    pub agents: Vec<String>,
    pub agent_trust: AgentTrust,
    /// Who gets notifications (addresses; may be a mailing list).
    pub notify: Vec<String>,
    /// Mail to this address is an internal note.
    pub comment_address: Option<String>,
    /// Display name of relayed agent replies: `{agent}` and `{desk}`.
    pub relay_name: String,
    /// Resolved tickets close after this long.
    pub close_after: Duration,
}

/// When an agent's mail may reach a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentTrust {
    /// It answers a notification hilo sent (our signed Message-ID in its headers).
    SignedReply,
    /// As above, or the receiving server's Authentication-Results show DKIM,
    /// SPF or DMARC passing for the agent's domain.
    Authenticated,
}

/// What happens to a processed message in the mailbox. Done only after the
/// transaction that stored it has committed; losing it in a crash is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Leave it as it is.
    Keep,
    /// Set `\Seen`.
    Seen,
    /// Move it to this folder.
    Move(String),
}

/// Where intake begins on a mailbox it has no checkpoint for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartFrom {
    /// Only mail that arrives from now on; older mail is left alone (see `hilo import`).
    Now,
    /// Everything already there, as tickets without acknowledgements.
    All,
}

impl DeskConfig {
    /// Is `address` one of this desk's agents?
    pub fn is_agent(&self, address: &str) -> bool {
        let a = address.to_ascii_lowercase();
        self.agents.iter().any(|g| match g.strip_prefix('@') {
            Some(domain) => a.rsplit_once('@').is_some_and(|(_, d)| d == domain),
            None => *g == a,
        })
    }

    /// The name customers see: `display_name`, else the desk's name.
    pub fn shown_name(&self) -> String {
        self.display_name
            .clone()
            .unwrap_or_else(|| self.name.clone())
    }

    /// The domain part of the desk address, used in our Message-IDs.
    pub fn domain(&self) -> &str {
        self.address.rsplit('@').next().unwrap_or("localhost")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: Secret,
    pub folder: String,
    pub ca_file: Option<PathBuf>,
}

/// A list of humantime durations (`["1m", "5m"]`).
fn duration_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let items: Vec<String> = Deserialize::deserialize(d)?;
    items
        .iter()
        .map(|s| humantime::parse_duration(s).map_err(serde::de::Error::custom))
        .collect()
}

// ---- raw (as written) shapes -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    templates: RawTemplates,
    store: StoreConfig,
    smtp: RawSmtp,
    #[serde(default)]
    outbox: OutboxConfig,
    #[serde(default)]
    intake: IntakeConfig,
    #[serde(default)]
    desk: Vec<RawDesk>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    dir: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPassword {
    password: Option<String>,
    password_file: Option<PathBuf>,
    password_command: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: u16,
    security: Security,
    username: Option<String>,
    #[serde(flatten)]
    password: RawPassword,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_smtp_timeout", with = "humantime_serde")]
    timeout: Duration,
    hello_name: Option<String>,
}

fn default_smtp_timeout() -> Duration {
    Duration::from_secs(30)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesk {
    name: String,
    address: String,
    display_name: Option<String>,
    tag: String,
    language: Language,
    imap: RawImap,
    #[serde(default = "default_after")]
    after: String,
    move_to: Option<String>,
    #[serde(default = "default_quarantine_to")]
    quarantine_to: String,
    #[serde(default = "default_start_from")]
    start_from: StartFrom,
    #[serde(default = "default_max_message_bytes")]
    max_message_bytes: u64,
    #[serde(default = "default_reopen_days")]
    reopen_days: u32,
    #[serde(default = "default_max_autoreplies")]
    max_autoreplies: u32,
    #[serde(default = "default_autoreply_window", with = "humantime_serde")]
    autoreply_window: Duration,
    #[serde(default)]
    agents: Vec<String>,
    #[serde(default = "default_agent_trust")]
    agent_trust: AgentTrust,
    notify: Option<Vec<String>>,
    comment_address: Option<String>,
    #[serde(default = "default_relay_name")]
    relay_name: String,
    #[serde(default = "default_close_after_days")]
    close_after_days: u32,
}

fn default_agent_trust() -> AgentTrust {
    AgentTrust::SignedReply
}

fn default_relay_name() -> String {
    "{agent} ({desk})".into()
}

fn default_close_after_days() -> u32 {
    7
}

fn default_reopen_days() -> u32 {
    30
}

fn default_max_autoreplies() -> u32 {
    10
}

fn default_autoreply_window() -> Duration {
    Duration::from_secs(3 * 3600)
}

fn default_after() -> String {
    "keep".into()
}

fn default_quarantine_to() -> String {
    "Quarantine".into()
}

fn default_start_from() -> StartFrom {
    StartFrom::Now
}

fn default_max_message_bytes() -> u64 {
    25 * 1024 * 1024
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImap {
    host: String,
    port: u16,
    security: Security,
    username: String,
    #[serde(flatten)]
    password: RawPassword,
    #[serde(default = "default_folder")]
    folder: String,
    ca_file: Option<PathBuf>,
}

fn default_folder() -> String {
    "INBOX".into()
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
        for (name, value) in env {
            if let Some(key) = env_key(&name) {
                builder = builder
                    .set_override(key.as_str(), value)
                    .map_err(|e| ConfigError::invalid(&key, e.to_string()))?;
            }
        }
        let raw: RawConfig = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Parse(fix_key_path(&e.to_string())))?;
        raw.validate()
    }
}

/// config-rs writes nested keys under arrays as `desk[0]imap.port`.
fn fix_key_path(msg: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\](\w)").expect("static regex"));
    RE.replace_all(msg, "].$1").into_owned()
}

/// `HILO__DESK__0__IMAP__PASSWORD` → `desk[0].imap.password`.
fn env_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("HILO__")?;
    let mut key = String::new();
    for part in rest.split("__") {
        if part.is_empty() {
            return None;
        }
        if part.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(&part.to_ascii_lowercase());
        }
    }
    Some(key)
}

impl RawPassword {
    /// Resolves the one configured source, naming `key` on error.
    fn resolve(self, key: &str, required: bool) -> Result<Option<Secret>, ConfigError> {
        let given = [
            self.password.is_some(),
            self.password_file.is_some(),
            self.password_command.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given > 1 {
            return Err(ConfigError::invalid(
                key,
                "give only one of password, password_file, password_command",
            ));
        }
        if let Some(p) = self.password {
            return Ok(Some(Secret(p)));
        }
        if let Some(path) = self.password_file {
            // systemd's LoadCredential= puts secrets in $CREDENTIALS_DIRECTORY.
            let path = match path.to_str().and_then(|p| p.strip_prefix("$CREDENTIALS_DIRECTORY/")) {
                Some(rest) => match std::env::var_os("CREDENTIALS_DIRECTORY") {
                    Some(dir) => PathBuf::from(dir).join(rest),
                    None => {
                        return Err(ConfigError::invalid(
                            format!("{key}.password_file"),
                            "uses $CREDENTIALS_DIRECTORY, which is not set (LoadCredential= in the unit)",
                        ))
                    }
                },
                None => path,
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::invalid(
                    format!("{key}.password_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            return Ok(Some(Secret(first_line(&text))));
        }
        if let Some(cmd) = self.password_command {
            let text = secret_command(&cmd, SECRET_COMMAND_TIMEOUT)
                .map_err(|e| ConfigError::invalid(format!("{key}.password_command"), e))?;
            return Ok(Some(Secret(first_line(&text))));
        }
        if required {
            return Err(ConfigError::invalid(
                key,
                "missing password: give password, password_file or password_command",
            ));
        }
        Ok(None)
    }
}

/// How long a `password_command` may take before it is killed and the
/// configuration refused.
pub const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `sh -c cmd` for a secret: stdin closed, stderr dropped (it could
/// echo the secret), stdout read up to 64 KiB, killed past `timeout`.
fn secret_command(cmd: &str, timeout: Duration) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    // Its own process group, so that a timeout kills what it started too.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(st) => break st,
            None if std::time::Instant::now() >= deadline => {
                // SAFETY: signals the process group we created above.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not finish within {timeout:?}; killed"));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    if !status.success() {
        return Err(format!("command failed with {status}"));
    }
    let out = reader
        .join()
        .map_err(|_| "cannot read its output".to_string())?;
    String::from_utf8(out).map_err(|_| "output is not UTF-8".to_string())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

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
    fn validate(self) -> Result<Config, ConfigError> {
        if self.store.path.as_os_str().is_empty() {
            return Err(ConfigError::invalid("store.path", "must not be empty"));
        }
        let s = self.smtp;
        check_host("smtp.host", &s.host)?;
        let smtp_password = s.password.resolve("smtp", false)?;
        if s.username.is_some() != smtp_password.is_some() {
            return Err(ConfigError::invalid(
                "smtp.username",
                "username and a password go together",
            ));
        }
        if s.security == Security::None && smtp_password.is_some() && !is_loopback(&s.host) {
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
            password: smtp_password,
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
            let password = imap
                .password
                .resolve(&format!("{k}.imap"), true)?
                .expect("required password");
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
            if imap.security == Security::None && !is_loopback(&imap.host) {
                return Err(ConfigError::invalid(
                    format!("{k}.imap.security"),
                    "refusing to send a password in clear text to a remote server; use starttls or tls",
                ));
            }
            desks.push(DeskConfig {
                name: d.name,
                address,
                display_name: d.display_name,
                tag: d.tag,
                language: d.language,
                imap: ImapConfig {
                    host: imap.host,
                    port: imap.port,
                    security: imap.security,
                    username: imap.username,
                    password,
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
                notify,
                comment_address,
                relay_name: d.relay_name,
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

impl Config {
    pub fn desk(&self, name: &str) -> Option<&DeskConfig> {
        self.desks.iter().find(|d| d.name == name)
    }
}

/// The shipped example configuration with inline passwords instead of the
/// files it names, for tests.
#[cfg(test)]
pub(crate) fn example_config() -> String {
    include_str!("../config/hilo.example.toml")
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
    use super::*;

    const GOOD: &str = r#"
[store]
path = "hilo.db"
[smtp]
host = "127.0.0.1"
port = 10025
security = "none"
[[desk]]
name = "soporte"
address = "Soporte@Example.test"
tag = "SOP"
language = "es"
[desk.imap]
host = "127.0.0.1"
port = 10143
security = "none"
username = "soporte@example.test"
password = "hunter2"
"#;

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn loads_a_good_config_with_defaults() {
        let c = Config::from_toml(GOOD, no_env()).unwrap();
        assert_eq!(c.desks[0].address, "soporte@example.test");
        assert_eq!(c.desks[0].imap.folder, "INBOX");
        assert_eq!(c.desks[0].imap.password.expose(), "hunter2");
        assert_eq!(c.intake.batch_size, 100);
        assert_eq!(c.outbox.retry[0], Duration::from_secs(60));
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_toml(GOOD, no_env()).unwrap();
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
        let c = Config::from_toml(GOOD, env).unwrap();
        assert_eq!(c.smtp.port, 2525);
        assert_eq!(c.desks[0].imap.password.expose(), "from-env");
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
            let text = if GOOD.contains(table) {
                GOOD.replacen(table, &format!("{table}\n{key} = \"0s\""), 1)
            } else {
                format!("{table}\n{key} = \"0s\"\n{GOOD}")
            };
            let e = err_of(&text);
            let name = format!("{}.{key}", table.trim_matches(['[', ']']));
            assert!(e.contains(&name) && e.contains("above zero"), "{name}: {e}");
        }
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err_of(&GOOD.replace("port = 10025", "port = 10025\nprot = 1"));
        assert!(e.contains("prot"), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        let e = err_of(&GOOD.replace("tag = \"SOP\"\n", ""));
        assert!(e.contains("tag"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = err_of(&GOOD.replace("port = 10025", "port = \"many\""));
        assert!(e.contains("port"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = err_of(&GOOD.replace("tag = \"SOP\"", "tag = \"S P\""));
        assert!(e.contains("desk[0].tag"), "{e}");
        let e = err_of(&GOOD.replace(
            "security = \"none\"\n[[desk]]",
            "security = \"ssl\"\n[[desk]]",
        ));
        assert!(e.contains("security"), "{e}");
        let e = err_of(&GOOD.replace("password = \"hunter2\"\n", ""));
        assert!(e.contains("desk[0].imap") && e.contains("password"), "{e}");
        let e = err_of(&GOOD.replace(
            "address = \"Soporte@Example.test\"",
            "address = \"soporte\"",
        ));
        assert!(e.contains("desk[0].address"), "{e}");
    }

    #[test]
    fn after_and_start_from() {
        let c = Config::from_toml(GOOD, no_env()).unwrap();
        assert_eq!(c.desks[0].after, After::Keep);
        assert_eq!(c.desks[0].start_from, StartFrom::Now);
        let with =
            |extra: &str| GOOD.replace("language = \"es\"", &format!("language = \"es\"\n{extra}"));
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
        let with =
            |extra: &str| GOOD.replace("language = \"es\"", &format!("language = \"es\"\n{extra}"));
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
    fn clear_text_password_to_remote_host_is_refused() {
        let e = err_of(&GOOD.replace(
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
        let text = GOOD.replace(
            "password = \"hunter2\"",
            &format!("password_file = \"{}\"", f.display()),
        );
        let c = Config::from_toml(&text, no_env()).unwrap();
        assert_eq!(c.desks[0].imap.password.expose(), "from-file");

        let text = GOOD.replace(
            "password = \"hunter2\"",
            "password_command = \"echo from-cmd\"",
        );
        let c = Config::from_toml(&text, no_env()).unwrap();
        assert_eq!(c.desks[0].imap.password.expose(), "from-cmd");

        let text = GOOD.replace("password = \"hunter2\"", "password_command = \"exit 3\"");
        let e = Config::from_toml(&text, no_env()).unwrap_err().to_string();
        assert!(e.contains("desk[0].imap.password_command"), "{e}");
    }
}
