//! What a key holds: the type the reference prints, and the check a value
//! must pass on its own. Rules between keys (a password with a username,
//! a folder other than the watched one) stay in `validation`.

use std::time::Duration;

/// The type of one key, which is also its check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    /// Any string.
    Text,
    /// A string that must not be blank.
    Required,
    Path,
    /// A host name or address; not blank.
    Host,
    Port,
    Bool,
    /// An email address.
    Address,
    /// A list of email addresses.
    Addresses,
    /// A list of addresses or `@domain`s.
    Agents,
    /// A list of host names or domains.
    HostNames,
    /// A list of strings.
    List,
    /// A humantime duration (`30s`, `5m`); `positive`: above zero;
    /// `below`: shorter than this many seconds.
    Duration {
        positive: bool,
        below: u64,
    },
    /// A non-empty list of durations, each above zero.
    Durations,
    /// A whole number of at least `min`.
    Count {
        min: i64,
    },
    /// A size in bytes of at least `min`.
    Bytes {
        min: i64,
    },
    /// A number above 0 and at most 1.
    Fraction,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A ticket tag: 1-16 letters or digits, starting with a letter.
    Tag,
    /// A language code with a phrase table.
    Language,
    /// An IANA time zone.
    TimeZone,
    /// A template with these `{placeholders}`.
    Template(&'static [&'static str]),
    /// `address:port` to listen on.
    Listen,
    Url,
    /// A shell command.
    Command,
    /// A secret: never shown, so never checked here.
    Secret,
    /// A list of these words.
    Choices(&'static [&'static str]),
    /// A percentage of a target: `"75%"`, above 0 and at most 100.
    Percent,
    /// A list of holidays: `"2026-12-08"` or yearly `"12-25"`.
    Holidays,
    /// A table of day specs (`mon-thu`) → openings (`["09:00-14:00"]`).
    Hours,
}

impl Ty {
    /// The type as the reference and hilo.toml(5) print it.
    pub fn name(self) -> String {
        match self {
            Ty::Text => "string".into(),
            Ty::Required => "non-empty string".into(),
            Ty::Path => "path".into(),
            Ty::Host => "host".into(),
            Ty::Port => "port".into(),
            Ty::Bool => "boolean".into(),
            Ty::Address => "address".into(),
            Ty::Addresses => "list of addresses".into(),
            Ty::Agents => "list of addresses or @domains".into(),
            Ty::HostNames => "list of host names".into(),
            Ty::List => "list of strings".into(),
            Ty::Duration { positive, below } => match (positive, below) {
                (_, 0) if positive => "duration, above zero".into(),
                (_, 0) => "duration".into(),
                _ => format!("duration, above zero and below {}", human(below)),
            },
            Ty::Durations => "list of durations".into(),
            Ty::Count { min } => format!("integer, at least {min}"),
            Ty::Bytes { min } => format!("bytes, at least {min}"),
            Ty::Fraction => "number, above 0 and at most 1".into(),
            Ty::Choice(words) => format!("one of {}", words.join(", ")),
            Ty::Tag => "tag (1-16 letters or digits)".into(),
            Ty::Language => "language code".into(),
            Ty::TimeZone => "IANA time zone".into(),
            Ty::Template(names) => format!(
                "template with {}",
                names
                    .iter()
                    .map(|n| format!("{{{n}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Listen => "address:port".into(),
            Ty::Url => "URL".into(),
            Ty::Command => "command".into(),
            Ty::Secret => "secret".into(),
            Ty::Choices(words) => format!("list of {}", words.join(", ")),
            Ty::Percent => "percentage".into(),
            Ty::Holidays => "list of dates (YYYY-MM-DD, or MM-DD yearly)".into(),
            Ty::Hours => "table of days → openings (HH:MM-HH:MM)".into(),
        }
    }

    /// The problems of one value: `(suffix, message)`, where the suffix is
    /// `""` for the value itself or `[j]` for a list item. A value of the
    /// wrong shape is left to serde, which names what it expected.
    pub fn check(self, v: config::Value) -> Vec<(String, String)> {
        let one = |m: String| vec![(String::new(), m)];
        let string = || v.clone().into_string().ok();
        match self {
            Ty::Text | Ty::Path | Ty::Bool | Ty::List | Ty::Url | Ty::Command | Ty::Secret => {
                Vec::new()
            }
            Ty::Required | Ty::Host => match string() {
                Some(s) if s.trim().is_empty() => one("must not be empty".into()),
                _ => Vec::new(),
            },
            Ty::Port => match v.clone().into_int() {
                Ok(0) => one("0 is not a port: 1 to 65535".into()),
                _ => Vec::new(),
            },
            Ty::Address => string()
                .and_then(|s| address_problem(&s))
                .map(one)
                .unwrap_or_default(),
            Ty::Addresses => each(v, address_problem),
            Ty::Agents => each(v, |a| {
                let a = a.trim().to_ascii_lowercase();
                let ok = match a.strip_prefix('@') {
                    Some(domain) => domain.contains('.') && !domain.contains('@'),
                    None => address_problem(&a).is_none(),
                };
                (!ok).then(|| format!("`{a}`: expected an address or @domain"))
            }),
            Ty::HostNames => each(v, |h| {
                let h = h.trim().trim_matches('.');
                (!h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .then(|| format!("{h:?} is not a host name or domain"))
            }),
            Ty::Duration { positive, below } => {
                let Some(s) = string() else {
                    return Vec::new();
                };
                match parse_duration(&s) {
                    Err(m) => one(m),
                    Ok(d) if below > 0 && (d.is_zero() || d >= Duration::from_secs(below)) => {
                        one(format!("must be above zero and below {}", human(below)))
                    }
                    Ok(d) if positive && d.is_zero() => one("must be above zero".into()),
                    Ok(_) => Vec::new(),
                }
            }
            Ty::Durations => match v.into_array() {
                Ok(items) if items.is_empty() => one("needs at least one delay".into()),
                Ok(items) => items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(j, item)| {
                        let s = item.into_string().ok()?;
                        let m = match parse_duration(&s) {
                            Err(m) => m,
                            Ok(d) if d.is_zero() => "every delay must be above zero".into(),
                            Ok(_) => return None,
                        };
                        Some((format!("[{j}]"), m))
                    })
                    .collect(),
                Err(_) => Vec::new(),
            },
            Ty::Count { min } | Ty::Bytes { min } => match v.into_int() {
                Ok(n) if n < min => one(format!("must be at least {min}")),
                _ => Vec::new(),
            },
            Ty::Fraction => match v.into_float() {
                Ok(x) if !(x > 0.0 && x <= 1.0) => {
                    one(format!("{x}: expected a number above 0 and at most 1"))
                }
                _ => Vec::new(),
            },
            Ty::Choice(words) => match string() {
                Some(s) if !words.contains(&s.as_str()) => {
                    one(format!("`{s}`: expected {}", or_list(words)))
                }
                _ => Vec::new(),
            },
            Ty::Tag => match string() {
                Some(t) if !is_tag(&t) => {
                    one("must be 1-16 letters or digits, starting with a letter".into())
                }
                _ => Vec::new(),
            },
            Ty::Language => match string() {
                Some(s) if crate::phrases::Language::parse(&s).is_none() => one(format!(
                    "`{s}`: no phrase table for this language (there are: {})",
                    crate::phrases::Language::all()
                        .iter()
                        .map(|l| l.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => Vec::new(),
            },
            Ty::TimeZone => match string() {
                Some(s) if s.trim().parse::<chrono_tz::Tz>().is_err() => one(format!(
                    "{s:?} is not an IANA time zone (such as \"Europe/Madrid\" or \"UTC\")"
                )),
                _ => Vec::new(),
            },
            Ty::Template(names) => match string() {
                Some(s) => crate::template::Template::parse_with("", &s, names)
                    .err()
                    .map(|e| one(e.message))
                    .unwrap_or_default(),
                None => Vec::new(),
            },
            Ty::Choices(words) => each(v, |w| {
                (!words.contains(&w.trim())).then(|| format!("`{w}`: expected {}", or_list(words)))
            }),
            Ty::Percent => match string() {
                Some(p) if percent(&p).is_none() => {
                    one(format!("`{p}`: expected a percentage such as \"75%\""))
                }
                _ => Vec::new(),
            },
            Ty::Holidays => each(v, |h| crate::calendar::parse_holiday(h).err()),
            // Checked with the calendar it belongs to (overlaps need all days).
            Ty::Hours => Vec::new(),
            Ty::Listen => match string() {
                Some(s) if s.parse::<std::net::SocketAddr>().is_err() => {
                    one(format!("`{s}` is not an address:port"))
                }
                _ => Vec::new(),
            },
        }
    }
}

/// `"75%"` → 0.75; above 0 and at most 100 %.
pub(super) fn percent(s: &str) -> Option<f64> {
    let n: f64 = s.trim().strip_suffix('%')?.trim().parse().ok()?;
    (n > 0.0 && n <= 100.0).then_some(n / 100.0)
}

/// The problem of each string item of a list, keyed `[j]`.
fn each(v: config::Value, problem: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let Ok(items) = v.into_array() else {
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        .filter_map(|(j, item)| {
            let s = item.into_string().ok()?;
            problem(&s).map(|m| (format!("[{j}]"), m))
        })
        .collect()
}

/// An address as the config holds it: trimmed and lowercased.
pub(super) fn address(a: &str) -> String {
    a.trim().to_ascii_lowercase()
}

fn address_problem(a: &str) -> Option<String> {
    let a = address(a);
    match a.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => None,
        _ => Some(format!("`{a}` is not an email address")),
    }
}

pub(super) fn is_tag(t: &str) -> bool {
    let mut chars = t.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && t.len() <= 16
        && chars.all(|c| c.is_ascii_alphanumeric())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("`{s}` is not a duration (such as \"30s\", \"5m\", \"2h\")"))
}

fn human(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn or_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> config::Value {
        config::Value::from(s)
    }

    #[test]
    fn each_type_refuses_what_it_should_and_nothing_else() {
        let bad = |t: Ty, s: &str| !t.check(v(s)).is_empty();
        assert!(bad(Ty::Address, "soporte") && !bad(Ty::Address, "A@b.test"));
        assert!(bad(Ty::Host, "  ") && !bad(Ty::Host, "imap.example.com"));
        assert!(bad(Ty::Tag, "S P") && bad(Ty::Tag, "1AB") && !bad(Ty::Tag, "SOP"));
        assert!(bad(Ty::TimeZone, "Europe/Madird") && !bad(Ty::TimeZone, "Europe/Madrid"));
        assert!(bad(Ty::Listen, "localhost") && !bad(Ty::Listen, "127.0.0.1:9090"));
        let renew = Ty::Duration {
            positive: true,
            below: 29 * 60,
        };
        assert!(bad(renew, "30m") && bad(renew, "0s") && !bad(renew, "25m"));
        assert!(bad(renew, "soon"));
        let choice = Ty::Choice(&["keep", "seen", "move"]);
        let m = choice.check(v("delete"));
        assert_eq!(m[0].1, "`delete`: expected keep, seen or move");
        assert!(
            bad(Ty::Template(&["agent"]), "{agente}") && !bad(Ty::Template(&["agent"]), "{agent}")
        );
        assert!(bad(Ty::Count { min: 1 }, "0") && !bad(Ty::Count { min: 1 }, "3"));
        assert!(bad(Ty::Fraction, "1.5") && bad(Ty::Fraction, "0") && !bad(Ty::Fraction, "0.6"));
    }

    #[test]
    fn list_items_are_named_by_their_index() {
        let list = config::Value::from(vec!["a@b.test", "nadie", "c@d.test", "x"]);
        let p = Ty::Addresses.check(list);
        let at: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(at, ["[1]", "[3]"]);
        let retry = config::Value::from(vec!["1m", "0s"]);
        assert_eq!(Ty::Durations.check(retry)[0].0, "[1]");
        let empty: Vec<String> = Vec::new();
        assert!(!Ty::Durations.check(config::Value::from(empty)).is_empty());
    }
}
