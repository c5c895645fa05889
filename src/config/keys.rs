//! One description per configuration key: its default and what it does.
//! The README's key reference is generated from this table (`hilo config
//! keys`, checked by a test), a test checks that it names exactly the keys
//! the file's serde shapes accept, and validation reads it to know which
//! keys hold secrets, whose values an error must never show.

pub use super::ty::Ty;

/// One key of the configuration file. `desk[]` stands for every desk.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub path: &'static str,
    /// The default, as written in the file; `""` when the key is required,
    /// `"-"` when it is optional with no default.
    pub default: &'static str,
    pub doc: &'static str,
    /// Its value is a secret: never printed, not even in an error.
    pub secret: bool,
    /// What it holds, which is also the check its value passes alone.
    pub ty: Ty,
}

impl Key {
    const fn is(self, ty: Ty) -> Key {
        Key { ty, ..self }
    }
}

const fn key(path: &'static str, default: &'static str, doc: &'static str) -> Key {
    Key {
        path,
        default,
        doc,
        secret: false,
        ty: Ty::Text,
    }
}

const fn secret(path: &'static str, doc: &'static str) -> Key {
    Key {
        path,
        default: "-",
        doc,
        secret: true,
        ty: Ty::Secret,
    }
}

const PASSWORD: &str =
    "the password itself; give exactly one of `password`, `password_file`, `password_command`";
const PASSWORD_FILE: &str = "a file whose first line is the password";
const PASSWORD_COMMAND: &str =
    "a command (`sh -c`) whose first output line is the password; killed after 30 s";

const OAUTH2_COMMAND: &str =
    "a command whose first output line is an access token (oama, mutt_oauth2.py); or use provider";
const OAUTH2_PROVIDER: &str =
    "`microsoft`, `google` or `custom`: hilo gets tokens itself after `hilo auth login`";
const OAUTH2_CLIENT_ID: &str = "the application (client) id registered with the provider";
const OAUTH2_SECRET: &str =
    "the client secret, if the application has one; or client_secret_file / _command";
const OAUTH2_TENANT: &str = "Microsoft: the tenant (domain or id)";
const OAUTH2_SCOPES: &str = "scopes asked for (Microsoft: IMAP.AccessAsUser.All, SMTP.Send, offline_access; Google: https://mail.google.com/)";
const OAUTH2_TOKEN_URL: &str = "custom: the token endpoint";
const OAUTH2_DEVICE_URL: &str = "custom: the device authorization endpoint (RFC 8628)";

const SECURITY: Ty = Ty::Choice(&["none", "starttls", "tls"]);
const AUTH: Ty = Ty::Choice(&["password", "oauth2"]);
const POSITIVE: Ty = Ty::Duration {
    positive: true,
    below: 0,
};

pub const KEYS: &[Key] = &[
    key("metrics.listen", "-", "serve Prometheus metrics at http://LISTEN/metrics").is(Ty::Listen),
    key("templates.dir", "-", "overrides of the built-in templates: DIR/{desk}/{kind}.{lang}.txt, then DIR/{kind}.{lang}.txt").is(Ty::Path),
    key("store.path", "", "the SQLite database, created and migrated on start").is(Ty::Required),
    key("smtp.host", "", "the relay acknowledgements and relays are handed to").is(Ty::Host),
    key("smtp.port", "", "its port").is(Ty::Port),
    key("smtp.security", "", "`none`, `starttls` or `tls`; `none` with a password only to loopback").is(SECURITY),
    key("smtp.username", "-", "log in as this user").is(Ty::Text),
    secret("smtp.password", PASSWORD),
    secret("smtp.password_file", PASSWORD_FILE),
    secret("smtp.password_command", PASSWORD_COMMAND),
    key("smtp.ca_file", "-", "an extra CA to trust (certificates are always verified)").is(Ty::Path),
    key("smtp.timeout", "30s", "every SMTP step").is(POSITIVE),
    key("smtp.hello_name", "-", "the EHLO name (default: this host's name)").is(Ty::Text),
    key("smtp.auth", "password", "`password` or `oauth2` (then `[smtp.oauth2]`)").is(AUTH),
    key("smtp.mailbox", "-", "OAuth2: the mailbox to send as, when not `username` (a shared mailbox)").is(Ty::Address),
    key("smtp.oauth2.token_command", "-", OAUTH2_COMMAND).is(Ty::Command),
    key("smtp.oauth2.provider", "-", OAUTH2_PROVIDER).is(Ty::Choice(&["microsoft", "google", "custom"])),
    key("smtp.oauth2.client_id", "-", OAUTH2_CLIENT_ID).is(Ty::Required),
    secret("smtp.oauth2.client_secret", OAUTH2_SECRET),
    secret("smtp.oauth2.client_secret_file", PASSWORD_FILE),
    secret("smtp.oauth2.client_secret_command", PASSWORD_COMMAND),
    key("smtp.oauth2.tenant", "organizations", OAUTH2_TENANT).is(Ty::Text),
    key("smtp.oauth2.scopes", "the provider's", OAUTH2_SCOPES).is(Ty::List),
    key("smtp.oauth2.token_url", "the provider's", OAUTH2_TOKEN_URL).is(Ty::Url),
    key("smtp.oauth2.device_authorization_url", "the provider's", OAUTH2_DEVICE_URL).is(Ty::Url),
    key("outbox.retry", "[\"1m\", \"2m\", \"5m\", \"10m\", \"15m\", \"30m\", \"1h\", \"2h\"]", "delays after a temporary failure; the last repeats").is(Ty::Durations),
    key("outbox.expire_after", "5days", "a mail not delivered by then is marked failed").is(POSITIVE),
    key("outbox.poll_interval", "30s", "how often the sender looks for due mail when nothing wakes it").is(POSITIVE),
    key("intake.idle", "true", "use IMAP IDLE where the server offers it").is(Ty::Bool),
    key("intake.idle_renew", "25m", "IDLE is re-issued this often (below RFC 2177's 29 minutes)").is(Ty::Duration { positive: true, below: 29 * 60 }),
    key("intake.poll_interval", "30s", "how often a mailbox without IDLE is checked").is(POSITIVE),
    key("intake.batch_size", "100", "messages fetched and committed per transaction").is(Ty::Count { min: 1 }),
    key("intake.batch_bytes", "8388608", "a batch is cut at this size; one over half of it is handled alone").is(Ty::Bytes { min: 1 }),
    key("intake.command_timeout", "60s", "every IMAP command").is(POSITIVE),
    key("desk[].name", "", "the desk's name in the CLI (`--desk`) and logs").is(Ty::Required),
    key("desk[].address", "", "customers write here; our mail comes from here").is(Ty::Address),
    key("desk[].addresses", "[]", "the desk's other addresses (aliases): mail to any of them is the desk's, and a ticket answers from the one its customer wrote to").is(Ty::Addresses),
    key("desk[].plus_addressing", "false", "`soporte+algo@` is the desk's too, and its tickets answer from it").is(Ty::Bool),
    key("desk[].display_name", "-", "the name in our From and in templates").is(Ty::Text),
    key("desk[].tag", "", "the ticket tag in subjects: `SOP` gives `[SOP-42]`").is(Ty::Tag),
    key(
        "desk[].language",
        "",
        "the language of the desk's mail: a code with a phrase table (`es`, `en`, `pt`; adding a language is adding its files, see README)",
    )
    .is(Ty::Language),
    key("desk[].time_zone", "UTC", "IANA time zone of the dates customers read (`Europe/Madrid`)").is(Ty::TimeZone),
    key("desk[].after", "keep", "`keep`, `seen` or `move`: what happens on the server to a stored message").is(Ty::Choice(&["keep", "seen", "move"])),
    key("desk[].move_to", "-", "the folder for `after = \"move\"`").is(Ty::Text),
    key("desk[].quarantine_to", "Quarantine", "the folder for mail that cannot be parsed").is(Ty::Text),
    key("desk[].start_from", "now", "first start on a folder: `now` leaves old mail alone, `all` imports it unacknowledged").is(Ty::Choice(&["now", "all"])),
    key("desk[].max_message_bytes", "26214400", "a larger message is recorded with its headers only").is(Ty::Bytes { min: 1024 }),
    key("desk[].reopen_days", "30", "a reply to a ticket closed at most this long ago reopens it; a later one opens a linked ticket").is(Ty::Count { min: 0 }),
    key("desk[].max_autoreplies", "10", "acknowledgements to one address per `autoreply_window`").is(Ty::Count { min: 0 }),
    key("desk[].autoreply_window", "3h", "the window of `max_autoreplies`").is(Ty::Duration { positive: false, below: 0 }),
    key("desk[].agents", "[]", "agents' addresses, or `@domain`").is(Ty::Agents),
    key("desk[].agent_trust", "signed-reply", "`signed-reply` or `authenticated`: what proves an agent's mail (SECURITY.md)").is(Ty::Choice(&["signed-reply", "authenticated"])),
    key("desk[].authserv_ids", "[]", "the authserv-id(s) of your receiving server: only its Authentication-Results count; required by `authenticated`").is(Ty::List),
    key("desk[].receiving_hosts", "[]", "host names or domains in the `by` clause of the Received line your receiving server adds: only Authentication-Results above the lowest such line count (SECURITY.md)").is(Ty::HostNames),
    key("desk[].max_participants", "10", "Cc participants a ticket takes; further addresses are left out and the agents told").is(Ty::Count { min: 0 }),
    key("desk[].max_notifications", "20", "notifications one sender can cause per `notify_window`; past it, an event on the ticket").is(Ty::Count { min: 1 }),
    key("desk[].notify_window", "1h", "the window of `max_notifications`").is(POSITIVE),
    key("desk[].loop_max_relays", "5", "relays on one ticket per `loop_window`; past it relaying stops there and the agents are told").is(Ty::Count { min: 1 }),
    key("desk[].loop_window", "10m", "the window of `loop_max_relays`").is(POSITIVE),
    key("desk[].notify_attachments_max", "5242880", "notifications carry attachments up to this many bytes in all; larger ones are listed").is(Ty::Bytes { min: 0 }),
    key("desk[].notify", "the agents with a full address", "who hears of new tickets and customer messages").is(Ty::Addresses),
    key("desk[].admin", "the agents with a full address", "who hears of the desk's own trouble (a login that stopped working), at most once a day").is(Ty::Addresses),
    key("desk[].notify_lists", "[]", "addresses of `notify` that are lists or aliases: a notification sent there proves any agent's reply; otherwise only its own recipients'").is(Ty::Addresses),
    key("desk[].comment_address", "-", "mail to this address is an internal note").is(Ty::Address),
    key("desk[].relay_name", "{agent} ({desk})", "the From name of relayed answers").is(Ty::Template(&["agent", "desk"])),
    key("desk[].faq", "-", "the desk's knowledge file (TOML) or folder of Markdown files: answers offered in acknowledgements (README \"Answers from the FAQ\"); relative to where hilo runs").is(Ty::Path),
    key("desk[].faq_threshold", "3", "an entry matches from this score: 2 per phrase, 1 per keyword").is(Ty::Count { min: 1 }),
    key("desk[].faq_max_answers", "2", "most answers in one acknowledgement (at most 10)").is(Ty::Count { min: 0 }),
    key("desk[].resolved_phrases", "the [customer] resolved phrases of every language", "a short reply with one of these, to an acknowledgement that carried answers, resolves the ticket").is(Ty::List),
    key("desk[].auto_link_duplicates", "false", "a new mail very similar to an open ticket of its requester joins that ticket instead of opening one").is(Ty::Bool),
    key("desk[].auto_link_threshold", "0.6", "the similarity (0 to 1, README \"Open-case awareness\") from which `auto_link_duplicates` joins").is(Ty::Fraction),
    key("desk[].auto_link_days", "7", "`auto_link_duplicates` looks at tickets opened within this many days").is(Ty::Count { min: 0 }),
    key("desk[].ack_quote", "known", "when acknowledgements quote the sender's first lines: `known` (authenticated mail, or a sender who wrote before), `always`, `never`").is(Ty::Choice(&["known", "always", "never"])),
    key("desk[].relay_signature", "agent", "`agent`: relayed answers carry the agent's own signature; `desk`: the desk's `signature` instead").is(Ty::Choice(&["agent", "desk"])),
    key("desk[].signature", "-", "the desk's signature, for `relay_signature = \"desk\"`").is(Ty::Text),
    key("desk[].close_after_days", "7", "resolved tickets close after this many days").is(Ty::Count { min: 0 }),
    key("desk[].calendar", "-", "the `[[calendar]]` of the desk's business hours; without one, SLA clocks count wall time").is(Ty::Required),
    key("desk[].sla.first_response", "-", "SLA: time to the first agent's answer relayed to the customer (the acknowledgement and FAQ answers do not count)").is(POSITIVE),
    key("desk[].sla.next_response", "-", "SLA: time from a customer's mail after an answer to the next answer").is(POSITIVE),
    key("desk[].sla.resolution", "-", "SLA: time from opening (or reopening) to resolved or closed").is(POSITIVE),
    key("desk[].sla.clock", "business", "`business`: targets count the open hours of the desk's `calendar` (`8h` is one 09:00-17:00 day); `wall`: every hour counts").is(Ty::Choice(&["business", "wall"])),
    key("desk[].sla.pause_in", "[\"pending\"]", "statuses in which every clock stops (waiting on the customer)").is(Ty::Choices(&["new", "open", "pending"])),
    key("desk[].sla.warn_at", "75%", "the share of a target at which the lead is warned").is(Ty::Percent),
    key("desk[].sla.escalate_to", "[]", "who gets one mail per clock at its warning point and one at its breach (a lead, not every agent); empty: the events are recorded, no mail").is(Ty::Addresses),
    key("desk[].sla.low.first_response", "-", "the target for low-priority tickets; likewise `next_response`, `resolution`, and `[desk.sla.normal]`, `[desk.sla.high]`").is(POSITIVE),
    key("desk[].sla.low.next_response", "-", "low priority: next response").is(POSITIVE),
    key("desk[].sla.low.resolution", "-", "low priority: resolution").is(POSITIVE),
    key("desk[].sla.normal.first_response", "-", "normal priority: first response").is(POSITIVE),
    key("desk[].sla.normal.next_response", "-", "normal priority: next response").is(POSITIVE),
    key("desk[].sla.normal.resolution", "-", "normal priority: resolution").is(POSITIVE),
    key("desk[].sla.high.first_response", "-", "high priority: first response").is(POSITIVE),
    key("desk[].sla.high.next_response", "-", "high priority: next response").is(POSITIVE),
    key("desk[].sla.high.resolution", "-", "high priority: resolution").is(POSITIVE),
    key("desk[].pending.remind_after", "-", "reminders to the customer while the ticket is pending, each this long after it became pending (`[\"3d\", \"7d\"]`; at most 10, in order); a customer's real reply cancels the rest").is(Ty::Durations),
    key("desk[].pending.close_after", "-", "closes a ticket pending this long, with a mail saying how to reopen it (after the last reminder)").is(POSITIVE),
    key("desk[].digest.at", "-", "the daily digest's local time in the desk's calendar's zone (`\"08:00\"`), sent on working days only, once a day").is(Ty::Required),
    key("desk[].digest.to", "the desk's notify", "who gets the digest").is(Ty::Addresses),
    key("desk[].digest.pending_days", "3", "pending tickets are listed once they have waited longer than this many days").is(Ty::Count { min: 0 }),
    key("desk[].report.weekday", "mon", "the weekly report mail goes on this weekday (the first working day from it on, in a business calendar), once an ISO week, and covers the seven days before").is(Ty::Choice(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"])),
    key("desk[].report.at", "08:00", "its local time in the desk's calendar's zone").is(Ty::Text),
    key("desk[].report.to", "the desk's sla.escalate_to", "who gets the weekly report").is(Ty::Addresses),
    key("desk[].report.chart", "true", "attach the week's chart, a PNG of each day's opened, resolved and breached tickets").is(Ty::Bool),
    key("desk[].report.font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "the chart's font (Debian's fonts-dejavu-core); unreadable: the chart is drawn without words").is(Ty::Path),
    key("desk[].pending.clock", "business", "`business`: each day of `3d` is a working day of the desk's `calendar` (the hours part counts open hours); `wall`: calendar days").is(Ty::Choice(&["business", "wall"])),
    key("desk[].imap.host", "", "the desk's IMAP server").is(Ty::Host),
    key("desk[].imap.port", "", "its port").is(Ty::Port),
    key("desk[].imap.security", "", "`none`, `starttls` or `tls`").is(SECURITY),
    key("desk[].imap.username", "", "log in as this user").is(Ty::Required),
    secret("desk[].imap.password", PASSWORD),
    secret("desk[].imap.password_file", PASSWORD_FILE),
    secret("desk[].imap.password_command", PASSWORD_COMMAND),
    key("desk[].imap.folder", "INBOX", "the folder watched").is(Ty::Required),
    key("desk[].imap.ca_file", "-", "an extra CA to trust").is(Ty::Path),
    key("desk[].imap.auth", "password", "`password` or `oauth2` (then `[desk.imap.oauth2]`)").is(AUTH),
    key("desk[].imap.mailbox", "-", "OAuth2: the shared mailbox to open with `username`'s token (Microsoft 365)").is(Ty::Address),
    key("desk[].imap.oauth2.token_command", "-", OAUTH2_COMMAND).is(Ty::Command),
    key("desk[].imap.oauth2.provider", "-", OAUTH2_PROVIDER).is(Ty::Choice(&["microsoft", "google", "custom"])),
    key("desk[].imap.oauth2.client_id", "-", OAUTH2_CLIENT_ID).is(Ty::Required),
    secret("desk[].imap.oauth2.client_secret", OAUTH2_SECRET),
    secret("desk[].imap.oauth2.client_secret_file", PASSWORD_FILE),
    secret("desk[].imap.oauth2.client_secret_command", PASSWORD_COMMAND),
    key("desk[].imap.oauth2.tenant", "organizations", OAUTH2_TENANT).is(Ty::Text),
    key("desk[].imap.oauth2.scopes", "the provider's", OAUTH2_SCOPES).is(Ty::List),
    key("desk[].imap.oauth2.token_url", "the provider's", OAUTH2_TOKEN_URL).is(Ty::Url),
    key("desk[].imap.oauth2.device_authorization_url", "the provider's", OAUTH2_DEVICE_URL).is(Ty::Url),
    key("calendar[].name", "", "the name desks give as `calendar`").is(Ty::Required),
    key("calendar[].time_zone", "", "its IANA time zone (`Europe/Madrid`); hours are local, across DST changes").is(Ty::TimeZone),
    key("calendar[].hours", "", "opening hours per day: `mon-thu = [\"09:00-14:00\", \"15:00-18:00\"]`, `fri = [\"08:00-15:00\"]`; days `mon`…`sun`, ranges, lists (`sat,sun`)").is(Ty::Hours),
    key("calendar[].holidays", "[]", "closed days: `\"2026-12-08\"`, or `\"12-25\"` every year").is(Ty::Holidays),
    key("calendar[].holidays_file", "-", "an iCalendar (.ics) file whose all-day events are holidays (yearly with RRULE:FREQ=YEARLY), read at start and reload").is(Ty::Path),
];

/// Checks every value the file (or the environment) sets against its
/// key's type, for every desk, recording each problem.
pub(super) fn check_values(c: &config::Config, bad: &mut super::Problems) {
    for k in KEYS {
        let paths: Vec<String> = match k.path.split_once("[]") {
            Some((array, rest)) => {
                let n = c.get_array(array).map(|d| d.len()).unwrap_or(0);
                (0..n).map(|i| format!("{array}[{i}]{rest}")).collect()
            }
            None => vec![k.path.to_string()],
        };
        for path in paths {
            let Ok(v) = c.get::<config::Value>(&path) else {
                continue;
            };
            for (item, message) in k.ty.check(v) {
                bad.push(format!("{path}{item}"), message);
            }
        }
    }
}

/// The table entry for a key as errors name it (`desk[0].imap.password`).
pub fn find(path: &str) -> Option<&'static Key> {
    let mut generic = String::with_capacity(path.len());
    let mut rest = path;
    // `desk[12]` → `desk[]`.
    while let Some(open) = rest.find('[') {
        generic.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    generic.push_str(rest);
    KEYS.iter().find(|k| k.path == generic)
}

/// Does `path` hold a secret, or is it a section with a secret among its
/// keys (a flattened password source is reported under its section)?
fn holds_secret(path: &str) -> bool {
    let Some(k) = find(&format!("{path}.password")).or_else(|| find(path)) else {
        return false;
    };
    k.secret
}

/// An error message from the file's parser, safe to print: values given
/// for a key that holds a secret are replaced, and the source excerpt of a
/// syntax error (which shows the line, password and all) is left out.
pub(super) fn scrub(msg: &str, from_env: bool) -> String {
    use std::sync::LazyLock;
    static KEY: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"for key `([^`]*)`").expect("static regex"));
    static VALUE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"(invalid (?:type|value|length): [a-z ]+?) (?:`[^`]*`|"(?:[^"\\]|\\.)*")"#,
        )
        .expect("static regex")
    });
    // A syntax error's excerpt: `17 | password = "…` and its `   |` frame.
    let lines: Vec<&str> = msg
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let excerpt = t.starts_with('|')
                || t.split_once(" |")
                    .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty());
            !excerpt
        })
        .collect();
    let text = lines.join("\n");
    let secret = from_env || KEY.captures(&text).is_some_and(|c| holds_secret(&c[1]));
    if secret {
        VALUE
            .replace_all(&text, "$1 (value not shown)")
            .into_owned()
    } else {
        text
    }
}

/// The key reference as a Markdown table, for the README.
pub fn reference() -> String {
    let mut out =
        String::from("| key | type | default | what it does |\n| --- | --- | --- | --- |\n");
    for k in KEYS {
        let default = match k.default {
            "" => "required".to_string(),
            "-" => "".to_string(),
            d => format!("`{d}`"),
        };
        out.push_str(&format!(
            "| `{}` | {} | {default} | {} |\n",
            k.path,
            k.ty.name(),
            k.doc
        ));
    }
    out
}

/// hilo.toml(5), the same table as a manual page.
pub fn man_page() -> String {
    let mut out = format!(
        ".TH HILO.TOML 5 \"\" \"hilo {}\" \"File Formats\"\n\
         .SH NAME\nhilo.toml \\- configuration of the hilo helpdesk daemon\n\
         .SH SYNOPSIS\n/etc/hilo/hilo.toml\n\
         .SH DESCRIPTION\n\
         One TOML file: \\fB[store]\\fR, \\fB[smtp]\\fR, \\fB[outbox]\\fR, \\fB[intake]\\fR, \\fB[metrics]\\fR, \\fB[templates]\\fR \
         and one \\fB[[desk]]\\fR per support address, each with its \\fB[desk.imap]\\fR. \
         Any key can be set in the environment as \\fBHILO__SECTION__KEY\\fR \
         (\\fBHILO__DESK__0__IMAP__PASSWORD\\fR); such values are never shown in an error.\n\
         .PP\n\\fBhilo check\\fR reports every problem of the file at once, each with its key and line. \
         Keys marked secret are never printed, not even in an error.\n\
         .SH KEYS\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut section = "";
    for k in KEYS {
        let (sec, name) = k.path.rsplit_once('.').unwrap_or(("", k.path));
        if sec != section {
            section = sec;
            let header = match sec {
                "desk[]" => "[[desk]]".to_string(),
                s => format!("[{}]", s.replace("desk[]", "desk")),
            };
            out.push_str(&format!(".SS {}\n", roff(&header)));
        }
        let default = match k.default {
            "" => "required".to_string(),
            "-" => "optional".to_string(),
            d => format!("default {}", roff(d)),
        };
        let secret = if k.secret { "; secret" } else { "" };
        out.push_str(&format!(
            ".TP\n.B {}\n\\fI{}\\fR; {default}{secret}.\n{}\n",
            roff(name),
            roff(&k.ty.name()),
            roff_doc(k.doc)
        ));
    }
    out.push_str(
        ".SH FILES\n/etc/hilo/hilo.toml, /usr/share/doc/hilo/hilo.example.toml\n\
         .SH SEE ALSO\n\\fBhilo\\fR(1)\n",
    );
    out
}

/// Text safe in a roff line: backslashes doubled, a leading dot or quote
/// kept from being read as a request.
fn roff(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with(['.', '\'']) {
        format!("\\&{s}")
    } else {
        s
    }
}

/// A doc string in roff, with its `code` in bold.
fn roff_doc(doc: &str) -> String {
    roff(doc)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("\\fB{part}\\fR")
            } else {
                part.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The table header of a key's section (`desk[].imap` → `[desk.imap]`).
    fn header_of(section: &str) -> String {
        match section {
            "desk[]" => "[[desk]]".to_string(),
            "calendar[]" => "[[calendar]]".to_string(),
            s => format!("[{}]", s.replace("[]", "")),
        }
    }

    /// The base every key is tried on: one desk `d`.
    fn base() -> String {
        crate::config::TestConfig::new("x.db")
            .desk(crate::config::TestDesk::new("d", "d@x.test", "D", "es"))
            .render()
    }

    /// The keys serde accepts in the section whose table header is
    /// `header`, read from its error for an unknown key there; `None` where
    /// serde names no list (sections with a flattened password source).
    fn accepted(header: &str) -> Option<BTreeSet<String>> {
        let text = if base().contains(header) {
            base().replacen(header, &format!("{header}\nbogus_key = 1"), 1)
        } else {
            format!("{}{header}\nbogus_key = 1\n", base())
        };
        let e = crate::config::Config::from_toml(&text, Vec::<(String, String)>::new())
            .unwrap_err()
            .to_string();
        let list = e.split_once("`bogus_key`, expected ")?.1;
        let list = list.split(" for key").next().unwrap_or(list);
        Some(
            list.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect(),
        )
    }

    fn documented(prefix: &str) -> BTreeSet<String> {
        KEYS.iter()
            .filter_map(|k| k.path.strip_prefix(prefix))
            .filter(|rest| !rest.contains('.'))
            .map(str::to_string)
            .collect()
    }

    /// Every default the table documents is serde's: writing the default
    /// out changes nothing. Defaults that are descriptions ("the agents
    /// with a full address") and the OAuth2 sections (which need a
    /// provider) are listed, not checked.
    #[test]
    fn every_documented_default_is_the_one_serde_applies() {
        // Loopback hosts: a password in clear text goes nowhere else.
        let base_text = base();
        let base =
            crate::config::Config::from_toml(&base_text, Vec::<(String, String)>::new()).unwrap();
        let (mut checked, mut described) = (Vec::new(), Vec::new());
        for k in KEYS.iter().filter(|k| !["", "-"].contains(&k.default)) {
            let (section, name) = k.path.rsplit_once('.').unwrap();
            let header = header_of(section);
            if section.starts_with("calendar[]")
                || section.starts_with("desk[].digest")
                || section.starts_with("desk[].report")
            {
                // A calendar, a digest, need their own required keys; a
                // report needs someone to send it to: described.
                described.push(k.path);
                continue;
            }
            let literal = format!("v = {}", k.default);
            let value = if toml::from_str::<toml::Table>(&literal).is_ok() {
                k.default.to_string()
            } else if !k.default.contains(' ') {
                format!("{:?}", k.default)
            } else {
                described.push(k.path);
                continue;
            };
            if header.contains("oauth2") {
                described.push(k.path);
                continue;
            }
            let line = format!("{name} = {value}");
            let text = if base_text.contains(&format!("{header}\n")) {
                base_text.replacen(&format!("{header}\n"), &format!("{header}\n{line}\n"), 1)
            } else if section.starts_with("desk[].") {
                // A desk's sub-table: after the (last) desk.
                format!("{base_text}{header}\n{line}\n")
            } else {
                format!("{header}\n{line}\n{base_text}")
            };
            let with = crate::config::Config::from_toml(&text, Vec::<(String, String)>::new())
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", k.path));
            assert!(
                with == base,
                "{}: the table says {}, serde applies something else",
                k.path,
                k.default
            );
            checked.push(k.path);
        }
        println!(
            "defaults checked: {}; described, not checked: {described:?}",
            checked.len()
        );
        assert!(checked.len() >= 40, "{checked:?}");
    }

    #[test]
    fn the_table_names_exactly_the_keys_serde_accepts() {
        let mut listed = 0;
        for (header, prefix) in [
            ("[metrics]", "metrics."),
            ("[templates]", "templates."),
            ("[store]", "store."),
            ("[smtp]", "smtp."),
            ("[outbox]", "outbox."),
            ("[intake]", "intake."),
            ("[[desk]]", "desk[]."),
            ("[desk.imap]", "desk[].imap."),
            ("[desk.imap.oauth2]", "desk[].imap.oauth2."),
            ("[smtp.oauth2]", "smtp.oauth2."),
            ("[[calendar]]", "calendar[]."),
            ("[desk.sla]", "desk[].sla."),
            ("[desk.sla.low]", "desk[].sla.low."),
            ("[desk.sla.normal]", "desk[].sla.normal."),
            ("[desk.sla.high]", "desk[].sla.high."),
            ("[desk.pending]", "desk[].pending."),
            ("[desk.digest]", "desk[].digest."),
            ("[desk.report]", "desk[].report."),
        ] {
            let Some(mut want) = accepted(header) else {
                continue;
            };
            listed += 1;
            // Sub-tables are documented by their own keys.
            want.remove("imap");
            want.remove("oauth2");
            for sub in [
                "sla", "low", "normal", "high", "pending", "digest", "report",
            ] {
                want.remove(sub);
            }
            assert_eq!(documented(prefix), want, "{header}");
        }
        assert!(
            listed >= 5,
            "serde listed the keys of only {listed} sections"
        );
        // Sections with a flattened password source name no list; every
        // documented key of theirs must at least be accepted.
        for k in KEYS {
            let Some((section, name)) = k.path.rsplit_once('.') else {
                continue;
            };
            let header = match section {
                "desk[]" | "store" => continue,
                s => &header_of(s),
            };
            let value = if k.default.starts_with('[') {
                "[]"
            } else {
                "\"1\""
            };
            let text = if base().contains(header) {
                base().replacen(header, &format!("{header}\n{name} = {value}"), 1)
            } else {
                format!("{}{header}\n{name} = {value}\n", base())
            };
            let e = crate::config::Config::from_toml(&text, Vec::<(String, String)>::new())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!e.contains("unknown field"), "{}: {e}", k.path);
        }
    }

    #[test]
    fn keys_are_found_whatever_the_desk_index() {
        assert!(find("desk[3].imap.password").unwrap().secret);
        assert!(find("smtp.password_command").unwrap().secret);
        assert!(!find("desk[0].tag").unwrap().secret);
        assert!(find("desk[0].nope").is_none());
    }

    #[test]
    fn errors_never_show_a_secret_value() {
        for text in [
            "password = 12345678",
            "password = \"hunter2",
            "password = [\"hunter2\"]",
            "password_command = 12345678",
        ] {
            let toml = base().replacen("password = \"p\"", text, 1);
            let e = crate::config::Config::from_toml(&toml, Vec::<(String, String)>::new())
                .unwrap_err()
                .to_string();
            assert!(!e.contains("hunter2") && !e.contains("12345678"), "{e}");
            assert!(
                e.contains("desk[0].imap") || e.contains("line 17"),
                "still names where: {e}"
            );
        }
        // Values of other keys are still shown: they help.
        let toml = base().replacen("port = 25", "port = \"veinticinco\"", 1);
        let e = crate::config::Config::from_toml(&toml, Vec::<(String, String)>::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("veinticinco") && e.contains("smtp.port"), "{e}");
    }

    #[test]
    fn the_shipped_manual_page_is_this_table() {
        let shipped = include_str!("../../man/hilo.toml.5");
        assert!(
            shipped == man_page(),
            "man/hilo.toml.5 is out of date: `hilo config man > man/hilo.toml.5`"
        );
        // Every key has its entry, and nothing starts a line as a request.
        for k in KEYS {
            let name = k.path.rsplit('.').next().unwrap().replace('-', "\\-");
            assert!(shipped.contains(&format!(".B {name}\n")), "{}", k.path);
        }
        for line in shipped.lines() {
            assert!(
                !line.starts_with('.') || line.len() > 1 && line.as_bytes()[1].is_ascii_uppercase(),
                "{line}"
            );
        }
    }

    #[test]
    fn the_readme_reference_is_this_table() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&reference()),
            "README.md's key reference is out of date; paste the output of `hilo config keys`:\n{}",
            reference()
        );
    }

    /// The lines of the example's first `header` section.
    fn example_section(header: &str) -> String {
        let example = include_str!("../../config/hilo.example.toml");
        // A section may be shown commented out (`# [smtp.oauth2]`).
        let head = |l: &str| {
            let l = l.trim_start_matches(['#', ' ']);
            l.split('#').next().unwrap_or(l).trim().to_string()
        };
        let mut lines = example.lines().skip_while(|l| head(l) != header);
        let mut out: Vec<&str> = lines.next().into_iter().collect();
        out.extend(lines.take_while(|l| !head(l).starts_with('[')));
        out.join("\n")
    }

    #[test]
    fn the_example_config_shows_every_key_in_its_section() {
        for k in KEYS {
            let (section, name) = k.path.rsplit_once('.').unwrap_or(("", k.path));
            let header = header_of(section);
            let text = example_section(&header);
            let shown = text.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{name} ="))
            });
            assert!(
                shown,
                "config/hilo.example.toml does not show {} under {header}",
                k.path
            );
        }
    }
}
