//! Every problem of a configuration at once, each with its key and, where
//! the file sets that key, its line.

use std::fmt;

/// One problem: the key at fault, where it is, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    /// 1-based line in the file; `None` for a key the file leaves out.
    pub line: Option<usize>,
    /// The value came from a `HILO__…` variable.
    pub from_env: bool,
    pub message: String,
}

/// The problems found, in the order of the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Records a problem; a key already at fault keeps its first one, so
    /// that one mistake is reported once.
    pub(super) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        if !self.0.iter().any(|p| p.key == key) {
            self.0.push(Problem {
                key,
                line: None,
                from_env: false,
                message: message.into(),
            });
        }
    }

    /// `Some(value)`, or the problem recorded and `None`.
    pub(super) fn take<T>(&mut self, r: Result<T, super::ConfigError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(super::ConfigError::Invalid { key, message }) => {
                self.push(key, message);
                None
            }
            Err(other) => {
                self.push("", other.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fills in the lines from the file's text and sorts by them.
    pub(super) fn locate(&mut self, text: &str, env_keys: &[String]) {
        let doc = toml_edit::ImDocument::parse(text).ok();
        for p in &mut self.0 {
            p.from_env = env_keys.contains(&p.key);
            if !p.from_env {
                p.line = doc.as_ref().and_then(|d| line_of(d, text, &p.key));
            }
        }
        self.0.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.line {
            write!(f, "line {n}: ")?;
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "`{}`: {}", self.key, self.message)?;
        }
        if self.from_env {
            write!(f, " (set in the environment)")?;
        }
        Ok(())
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} problems in the configuration:", all.len())?;
                for p in all {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// The line that sets `key` (`desk[1].imap.host`, `desk[0].notify[2]`),
/// or failing that the line of its nearest table that is in the file.
fn line_of(doc: &toml_edit::ImDocument<&str>, text: &str, key: &str) -> Option<usize> {
    let mut item = doc.as_item();
    let mut best = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        item = match item.get(name) {
            Some(i) => i,
            None => break,
        };
        if let Some(i) = index {
            item = match item.get(i) {
                Some(i) => i,
                None => break,
            };
        }
        best = item.span().or(best);
    }
    let at = best?.start;
    Some(text[..at.min(text.len())].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[smtp]\nhost = \"\"\nport = 25\n\n[[desk]]\nname = \"a\"\n[desk.imap]\nhost = \"h\"\n\n[[desk]]\nname = \"b\"\nnotify = [\"x@y.test\",\n  \"nadie\"]\n[desk.imap]\nport = 143\n";

    fn line(key: &str) -> Option<usize> {
        let doc = toml_edit::ImDocument::parse(TEXT).unwrap();
        line_of(&doc, TEXT, key)
    }

    #[test]
    fn keys_are_found_on_their_lines() {
        assert_eq!(line("smtp.host"), Some(2));
        assert_eq!(line("smtp.port"), Some(3));
        assert_eq!(line("desk[0].imap.host"), Some(8));
        assert_eq!(line("desk[1].name"), Some(11));
        assert_eq!(
            line("desk[1].notify[1]"),
            Some(13),
            "an item on its own line"
        );
        // Left out: the nearest table that is there.
        assert_eq!(line("desk[1].imap.host"), Some(14));
        assert_eq!(line("outbox.retry"), None);
    }

    #[test]
    fn all_problems_print_in_file_order() {
        let mut p = Problems::default();
        p.push("desk[1].notify[1]", "`nadie` is not an email address");
        p.push("smtp.host", "must not be empty");
        p.push("smtp.host", "a second complaint about the same key");
        p.push("smtp.port", "0 is not a port: 1 to 65535");
        p.locate(TEXT, &["smtp.port".to_string()]);
        assert_eq!(
            p.to_string(),
            "3 problems in the configuration:\n  line 2: `smtp.host`: must not be empty\n  \
             line 13: `desk[1].notify[1]`: `nadie` is not an email address\n  \
             `smtp.port`: 0 is not a port: 1 to 65535 (set in the environment)"
        );
    }
}
