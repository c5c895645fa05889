//! The validated configuration the rest of hilo reads: every value checked,
//! addresses lowercase, durations parsed, secrets resolved.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::raw::duration_list;

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

/// Language of a desk's mail: one with a phrase table.
pub use crate::phrases::Language;

/// The whole configuration, validated.
#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file; relative paths are relative to the working directory.
    pub path: PathBuf,
}

/// How an account logs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    #[default]
    Password,
    #[serde(rename = "oauth2")]
    OAuth2,
}

/// Who issues OAuth2 tokens; the first two know their endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Microsoft,
    Google,
    Custom,
}

/// Where an account's OAuth2 access tokens come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    /// A command whose first output line is a fresh access token (oama,
    /// mutt_oauth2.py…).
    Command(String),
    /// hilo itself: a refresh token from `hilo auth login`, kept in the
    /// database, exchanged at `token_url`.
    Provider(ProviderConfig),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub token_url: String,
    pub device_authorization_url: String,
    pub scopes: Vec<String>,
}

/// How an account proves who it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    Password(Secret),
    OAuth2(TokenSource),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    /// `None`: no AUTH.
    pub credential: Option<Credential>,
    /// For OAuth2 through a shared mailbox: the SASL identity, when it is
    /// not `username`.
    pub mailbox: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Name announced in EHLO; defaults to the machine's hostname.
    pub hello_name: Option<String>,
}

/// How the sender retries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    /// The support address customers write to, lowercase: the desk's
    /// main one, used when a ticket's own address is unknown.
    pub address: String,
    /// Every address of the desk, lowercase: `address` first, then its
    /// aliases (`addresses`).
    pub addresses: Vec<String>,
    /// `soporte+algo@` is the desk's too, and a ticket opened there keeps
    /// answering from it.
    pub plus_addressing: bool,
    /// Display name on outgoing mail ("Soporte").
    pub display_name: Option<String>,
    /// Tag in subjects, as written: `SOP` gives `[SOP-42]`.
    pub tag: String,
    pub language: Language,
    /// Where the desk's customers read dates ("el lunes 7 de diciembre").
    pub time_zone: chrono_tz::Tz,
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
    /// The `authserv-id`s of our own receiving server (lowercase): only
    /// Authentication-Results headers it wrote are read.
    pub authserv_ids: Vec<String>,
    /// The host names or domains in the `by` clause of the Received line
    /// our receiving server adds (lowercase): only Authentication-Results
    /// headers above the lowest such line are read. Empty: not checked.
    pub receiving_hosts: Vec<String>,
    /// Most Cc participants a ticket takes; past it, addresses are left out
    /// (and the notification says so).
    pub max_participants: u32,
    /// Most notifications caused by one sender per window.
    pub max_notifications: u32,
    pub notify_window: Duration,
    /// The loop breaker: more relays than this on one ticket within the
    /// window stop relaying there, and the agents are told once.
    pub loop_max_relays: u32,
    pub loop_window: Duration,
    /// Notifications carry a message's attachments up to this many bytes in
    /// all; larger ones are listed by name and size instead.
    pub notify_attachments_max: u64,
    /// Who gets notifications (addresses; may be a mailing list).
    pub notify: Vec<String>,
    /// Who hears of the desk's own trouble (a mailbox whose login stopped
    /// working): `admin`, else the agents with a full address.
    pub admin: Vec<String>,
    /// The addresses of `notify` that are lists or aliases of agents: a
    /// notification sent there proves a reply from any agent. Any other
    /// notification proves only for the addresses it was sent to.
    pub notify_lists: Vec<String>,
    /// Mail to this address is an internal note.
    pub comment_address: Option<String>,
    /// Display name of relayed agent replies: `{agent}` and `{desk}`.
    pub relay_name: String,
    /// The desk's knowledge file, loaded: answers offered in acknowledgements.
    pub faq: Option<std::sync::Arc<crate::faq::Faq>>,
    /// Where it was loaded from.
    pub faq_path: Option<PathBuf>,
    /// An entry matches from this score (see [`crate::faq`]).
    pub faq_threshold: u32,
    /// Most answers in one acknowledgement.
    pub faq_max_answers: u32,
    /// A short reply saying one of these to an acknowledgement that
    /// carried answers resolves the ticket.
    pub resolved_phrases: Vec<String>,
    /// A new mail this similar (see [`crate::text`]) to an open ticket of
    /// its requester opened within `auto_link_window` joins that ticket
    /// instead of opening one.
    pub auto_link_duplicates: bool,
    pub auto_link_threshold: f64,
    pub auto_link_window: Duration,
    /// Whose signature relayed answers carry.
    pub relay_signature: RelaySignature,
    /// When an acknowledgement quotes what the sender wrote.
    pub ack_quote: AckQuote,
    /// The desk's signature, for `relay_signature = "desk"`.
    pub signature: String,
    /// Resolved tickets close after this long.
    pub close_after: Duration,
    /// The desk's business calendar; wall time when it names none.
    pub calendar: std::sync::Arc<crate::calendar::Calendar>,
    /// The desk's service levels, if it promises any.
    pub sla: Option<crate::sla::Sla>,
    /// Reminders and the close while a ticket waits on the customer.
    pub pending: Option<crate::sla::PendingSteps>,
    /// The daily digest for the desk's agents.
    pub digest: Option<Digest>,
    /// The weekly report mail (opt-in).
    pub report: Option<WeeklyReport>,
}

/// `[desk.report]`: a weekly mail of the desk's figures, with a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyReport {
    /// Sent on the first working day from this weekday on, each ISO week.
    pub weekday: chrono::Weekday,
    /// At this local time in the desk's calendar's zone.
    pub at: chrono::NaiveTime,
    pub to: Vec<String>,
    /// Attach the week's chart (PNG).
    pub chart: bool,
    /// The chart's font (TrueType or OpenType).
    pub font: std::path::PathBuf,
}

/// `[desk.digest]`: a daily mail of the desk's work.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// Local time in the desk's calendar's zone, on its working days.
    pub at: chrono::NaiveTime,
    pub to: Vec<String>,
    /// Pending tickets listed once they wait longer than this many days.
    pub pending_days: u32,
}

/// Whose signature an agent's relayed answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelaySignature {
    /// The agent's own, as their mail client wrote it below the answer.
    Agent,
    /// The desk's `signature` instead (the agent's is dropped).
    Desk,
}

/// When an acknowledgement quotes the first lines of the mail it answers.
/// A support address is public: a spammer who forges a victim's From gets
/// the victim an acknowledgement, and a quote carries the spam to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckQuote {
    /// Only when the mail is authenticated (our server's verdict) or its
    /// sender has written to the desk before.
    Known,
    Always,
    Never,
}

/// When an agent's mail may reach a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentTrust {
    /// It answers a notification hilo sent (our signed Message-ID in its headers).
    SignedReply,
    /// As above, or our receiving server's Authentication-Results (by its
    /// `authserv-id`) show DKIM or DMARC passing for the From domain.
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

    /// Is `address` (lowercase) one the desk receives at: its address, an
    /// alias, or with `plus_addressing` one of those with `+anything`?
    pub fn receives_at(&self, address: &str) -> bool {
        self.addresses.iter().any(|a| a == address)
            || (self.plus_addressing
                && crate::mail::base_address(address).is_some_and(|b| self.addresses.contains(&b)))
    }

    /// The address a new ticket answers from: the first of `written_to`
    /// the desk may answer from ([`Self::answers_from`]), else its main
    /// address (a Bcc, the comment address, an unusable plus-address).
    pub fn address_for<'a>(&'a self, written_to: impl IntoIterator<Item = &'a str>) -> &'a str {
        written_to
            .into_iter()
            .find(|a| self.answers_from(a))
            .unwrap_or(&self.address)
    }

    /// The address all mail about `ticket` goes from: the one its customer
    /// wrote to, unless it is a special one; else the desk's main address.
    pub fn from_for<'a>(&'a self, ticket: &'a hilo_domain::TicketInfo) -> &'a str {
        ticket.answers_from(&self.address, |a| self.answers_from(a))
    }

    /// May a ticket's mail go out from `address`? One the desk receives
    /// at, but never one with a job of its own (the comment address, where
    /// an agent's plain reply would become an internal note; a notify or
    /// admin address), and a plus-address only when it is a valid address
    /// mail can be sent from (RFC 5321: a local part of at most 64 octets,
    /// dot-atom text). Anything else answers from the main address.
    pub fn answers_from(&self, address: &str) -> bool {
        let special = self.comment_address.as_deref() == Some(address)
            || self.notify.iter().any(|n| n == address)
            || self.admin.iter().any(|n| n == address);
        if special || !self.receives_at(address) {
            return false;
        }
        self.addresses.iter().any(|a| a == address) || crate::mail::sendable_address(address)
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
    pub credential: Credential,
    /// A shared mailbox reached with `username`'s OAuth2 token (Microsoft
    /// 365): the SASL identity.
    pub mailbox: Option<String>,
    pub folder: String,
    pub ca_file: Option<PathBuf>,
}

impl ImapConfig {
    /// The password, when the account logs in with one.
    pub fn password(&self) -> Option<&Secret> {
        match &self.credential {
            Credential::Password(p) => Some(p),
            Credential::OAuth2(_) => None,
        }
    }

    /// The identity a SASL mechanism names: the shared mailbox, else the user.
    pub fn sasl_user(&self) -> &str {
        self.mailbox.as_deref().unwrap_or(&self.username)
    }
}

impl SmtpConfig {
    /// The identity a SASL mechanism names: the shared mailbox, else the user.
    pub fn sasl_user(&self) -> Option<&str> {
        self.mailbox.as_deref().or(self.username.as_deref())
    }
}
