//! The configuration file's shapes as serde reads them, with the defaults
//! of every key the file may leave out. Only `validation` reads these.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::types::{
    AckQuote, AgentTrust, AuthKind, IntakeConfig, Language, OutboxConfig, Provider, RelaySignature,
    Security, StartFrom, StoreConfig,
};

/// A list of humantime durations (`["1m", "5m"]`).
pub(super) fn duration_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Duration>, D::Error> {
    let items: Vec<String> = Deserialize::deserialize(d)?;
    items
        .iter()
        .map(|s| humantime::parse_duration(s).map_err(serde::de::Error::custom))
        .collect()
}

// ---- raw (as written) shapes -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    #[serde(default)]
    pub(super) templates: RawTemplates,
    pub(super) store: StoreConfig,
    pub(super) smtp: RawSmtp,
    #[serde(default)]
    pub(super) outbox: OutboxConfig,
    #[serde(default)]
    pub(super) intake: IntakeConfig,
    #[serde(default)]
    pub(super) desk: Vec<RawDesk>,
    #[serde(default)]
    pub(super) calendar: Vec<RawCalendar>,
}

/// `[[calendar]]`: business hours and holidays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) name: String,
    pub(super) time_zone: String,
    /// Day specs (`mon-thu`) → openings (`09:00-14:00`).
    pub(super) hours: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub(super) holidays: Vec<String>,
    pub(super) holidays_file: Option<PathBuf>,
}

/// `[desk.sla]`: the desk's service levels.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSla {
    #[serde(flatten)]
    pub(super) targets: RawTargets,
    pub(super) clock: Option<String>,
    #[serde(default = "default_pause_in")]
    pub(super) pause_in: Vec<String>,
    #[serde(default = "default_warn_at")]
    pub(super) warn_at: String,
    #[serde(default)]
    pub(super) escalate_to: Vec<String>,
    pub(super) low: Option<RawTargets>,
    pub(super) normal: Option<RawTargets>,
    pub(super) high: Option<RawTargets>,
}

/// The targets of `[desk.sla]` or of one of its priorities.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargets {
    #[serde(default, with = "humantime_serde")]
    pub(super) first_response: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) next_response: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) resolution: Option<Duration>,
}

pub(super) fn default_pause_in() -> Vec<String> {
    vec!["pending".into()]
}

pub(super) fn default_warn_at() -> String {
    "75%".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTemplates {
    pub(super) dir: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPassword {
    pub(super) password: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) password_command: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) security: Security,
    pub(super) username: Option<String>,
    #[serde(flatten)]
    pub(super) password: RawPassword,
    pub(super) ca_file: Option<PathBuf>,
    #[serde(default = "default_smtp_timeout", with = "humantime_serde")]
    pub(super) timeout: Duration,
    pub(super) hello_name: Option<String>,
    #[serde(default)]
    pub(super) auth: AuthKind,
    pub(super) mailbox: Option<String>,
    pub(super) oauth2: Option<RawOAuth2>,
}

/// `[…oauth2]`: where access tokens come from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth2 {
    pub(super) token_command: Option<String>,
    pub(super) provider: Option<Provider>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) client_secret_file: Option<PathBuf>,
    pub(super) client_secret_command: Option<String>,
    pub(super) tenant: Option<String>,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    pub(super) token_url: Option<String>,
    pub(super) device_authorization_url: Option<String>,
}

pub(super) fn default_smtp_timeout() -> Duration {
    Duration::from_secs(30)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDesk {
    pub(super) name: String,
    pub(super) address: String,
    #[serde(default)]
    pub(super) addresses: Vec<String>,
    #[serde(default)]
    pub(super) plus_addressing: bool,
    pub(super) display_name: Option<String>,
    pub(super) tag: String,
    pub(super) language: Language,
    #[serde(default = "default_time_zone")]
    pub(super) time_zone: String,
    pub(super) imap: RawImap,
    #[serde(default = "default_after")]
    pub(super) after: String,
    pub(super) move_to: Option<String>,
    #[serde(default = "default_quarantine_to")]
    pub(super) quarantine_to: String,
    #[serde(default = "default_start_from")]
    pub(super) start_from: StartFrom,
    #[serde(default = "default_max_message_bytes")]
    pub(super) max_message_bytes: u64,
    #[serde(default = "default_reopen_days")]
    pub(super) reopen_days: u32,
    #[serde(default = "default_max_autoreplies")]
    pub(super) max_autoreplies: u32,
    #[serde(default = "default_autoreply_window", with = "humantime_serde")]
    pub(super) autoreply_window: Duration,
    #[serde(default)]
    pub(super) agents: Vec<String>,
    #[serde(default = "default_agent_trust")]
    pub(super) agent_trust: AgentTrust,
    #[serde(default)]
    pub(super) authserv_ids: Vec<String>,
    #[serde(default)]
    pub(super) receiving_hosts: Vec<String>,
    #[serde(default = "default_max_participants")]
    pub(super) max_participants: u32,
    #[serde(default = "default_max_notifications")]
    pub(super) max_notifications: u32,
    #[serde(default = "default_notify_window", with = "humantime_serde")]
    pub(super) notify_window: Duration,
    #[serde(default = "default_loop_max_relays")]
    pub(super) loop_max_relays: u32,
    #[serde(default = "default_loop_window", with = "humantime_serde")]
    pub(super) loop_window: Duration,
    #[serde(default = "default_notify_attachments_max")]
    pub(super) notify_attachments_max: u64,
    pub(super) notify: Option<Vec<String>>,
    pub(super) admin: Option<Vec<String>>,
    #[serde(default)]
    pub(super) notify_lists: Vec<String>,
    pub(super) comment_address: Option<String>,
    #[serde(default = "default_relay_name")]
    pub(super) relay_name: String,
    pub(super) faq: Option<PathBuf>,
    #[serde(default = "default_faq_threshold")]
    pub(super) faq_threshold: u32,
    #[serde(default = "default_faq_max_answers")]
    pub(super) faq_max_answers: u32,
    #[serde(default = "default_resolved_phrases")]
    pub(super) resolved_phrases: Vec<String>,
    #[serde(default)]
    pub(super) auto_link_duplicates: bool,
    #[serde(default = "default_auto_link_threshold")]
    pub(super) auto_link_threshold: f64,
    #[serde(default = "default_auto_link_days")]
    pub(super) auto_link_days: u32,
    #[serde(default = "default_relay_signature")]
    pub(super) relay_signature: RelaySignature,
    #[serde(default = "default_ack_quote")]
    pub(super) ack_quote: AckQuote,
    #[serde(default)]
    pub(super) signature: String,
    #[serde(default = "default_close_after_days")]
    pub(super) close_after_days: u32,
    pub(super) calendar: Option<String>,
    pub(super) sla: Option<RawSla>,
    pub(super) pending: Option<RawPending>,
    pub(super) digest: Option<RawDigest>,
    pub(super) report: Option<RawReport>,
}

/// `[desk.report]`: the weekly report mail (opt-in).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReport {
    #[serde(default = "default_report_weekday")]
    pub(super) weekday: String,
    #[serde(default = "default_report_at")]
    pub(super) at: String,
    pub(super) to: Option<Vec<String>>,
    #[serde(default = "default_true")]
    pub(super) chart: bool,
    #[serde(default = "default_report_font")]
    pub(super) font: std::path::PathBuf,
}

pub(super) fn default_true() -> bool {
    true
}

pub(super) fn default_report_weekday() -> String {
    "mon".into()
}

pub(super) fn default_report_at() -> String {
    "08:00".into()
}

pub(super) fn default_report_font() -> std::path::PathBuf {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf".into()
}

/// `[desk.digest]`: the daily digest for the desk's agents.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    pub(super) at: String,
    pub(super) to: Option<Vec<String>>,
    #[serde(default = "default_pending_days")]
    pub(super) pending_days: u32,
}

pub(super) fn default_pending_days() -> u32 {
    3
}

/// `[desk.pending]`: what happens while a ticket waits on the customer.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPending {
    #[serde(default, deserialize_with = "duration_list")]
    pub(super) remind_after: Vec<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) close_after: Option<Duration>,
    pub(super) clock: Option<String>,
}

pub(super) fn default_max_participants() -> u32 {
    10
}

pub(super) fn default_max_notifications() -> u32 {
    20
}

pub(super) fn default_notify_window() -> Duration {
    Duration::from_secs(3600)
}

pub(super) fn default_loop_max_relays() -> u32 {
    5
}

pub(super) fn default_loop_window() -> Duration {
    Duration::from_secs(600)
}

pub(super) fn default_notify_attachments_max() -> u64 {
    5 * 1024 * 1024
}

pub(super) fn default_agent_trust() -> AgentTrust {
    AgentTrust::SignedReply
}

pub(super) fn default_faq_threshold() -> u32 {
    3
}

pub(super) fn default_faq_max_answers() -> u32 {
    2
}

pub(super) fn default_resolved_phrases() -> Vec<String> {
    crate::phrases::resolved_phrases()
}

pub(super) fn default_auto_link_threshold() -> f64 {
    0.6
}

pub(super) fn default_auto_link_days() -> u32 {
    7
}

pub(super) fn default_time_zone() -> String {
    "UTC".to_string()
}

pub(super) fn default_ack_quote() -> AckQuote {
    AckQuote::Known
}

pub(super) fn default_relay_signature() -> RelaySignature {
    RelaySignature::Agent
}

pub(super) fn default_relay_name() -> String {
    "{agent} ({desk})".into()
}

pub(super) fn default_close_after_days() -> u32 {
    7
}

pub(super) fn default_reopen_days() -> u32 {
    30
}

pub(super) fn default_max_autoreplies() -> u32 {
    10
}

pub(super) fn default_autoreply_window() -> Duration {
    Duration::from_secs(3 * 3600)
}

pub(super) fn default_after() -> String {
    "keep".into()
}

pub(super) fn default_quarantine_to() -> String {
    "Quarantine".into()
}

pub(super) fn default_start_from() -> StartFrom {
    StartFrom::Now
}

pub(super) fn default_max_message_bytes() -> u64 {
    25 * 1024 * 1024
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImap {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) security: Security,
    pub(super) username: String,
    #[serde(flatten)]
    pub(super) password: RawPassword,
    #[serde(default = "default_folder")]
    pub(super) folder: String,
    pub(super) ca_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) auth: AuthKind,
    pub(super) mailbox: Option<String>,
    pub(super) oauth2: Option<RawOAuth2>,
}

pub(super) fn default_folder() -> String {
    "INBOX".into()
}
