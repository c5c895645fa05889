//! Subjects: reply/forward prefixes and the desk's ticket tag (`[SOP-42]`).
//!
//! The tag is found anywhere in the (already RFC 2047-decoded) subject, case-
//! insensitively and tolerant of spacing, so whatever stack of "RE: RV: AW:"
//! a client adds in front does not matter. Other helpdesks' tags are left as
//! they are.

use regex::Regex;
use std::sync::LazyLock;

/// How many distinct ticket numbers a body's tags may name (each costs a
/// lookup when threading).
pub const MAX_BODY_TAGS: usize = 10;
/// How many tag-like tokens of a body are looked at, at most.
pub const MAX_BODY_TAG_TOKENS: usize = 1000;

/// Finds a desk's tag in subjects.
#[derive(Debug, Clone)]
pub struct TagMatcher {
    tag: String,
    re: Regex,
    body_re: Regex,
}

impl TagMatcher {
    pub fn new(tag: &str) -> Self {
        // `[SOP-42]`, `[ sop 42 ]`, `[SOP#42]`, `［SOP-42］` (full-width
        // brackets), and our escalations' `[SOP-42 · vence 11:00]`.
        let re = Regex::new(&format!(
            r"(?i)[\[［]\s*{}\s*[-#‐–]?\s*0*(\d{{1,12}})\s*(?:·[^\]］\[［]{{0,40}})?[\]］]",
            regex::escape(tag)
        ))
        .expect("tag is validated as alphanumeric");
        let body_re = Regex::new(&format!(
            r"(?i)\b{}[-#]\s?(\d{{1,12}})\b",
            regex::escape(tag)
        ))
        .expect("tag is validated as alphanumeric");
        TagMatcher {
            tag: tag.to_string(),
            re,
            body_re,
        }
    }

    /// Ticket numbers mentioned in a body, bracketed or not ("mi caso
    /// SOP-42", "[SOP-42]"), in order, without repeats.
    /// At most [`MAX_BODY_TAGS`] numbers, from the first
    /// [`MAX_BODY_TAG_TOKENS`] tag-like tokens: a body full of tags costs no
    /// more than that to thread.
    pub fn find_in_text(&self, text: &str) -> Vec<i64> {
        let mut out = Vec::new();
        for c in self.body_re.captures_iter(text).take(MAX_BODY_TAG_TOKENS) {
            if out.len() == MAX_BODY_TAGS {
                break;
            }
            if let Some(n) = c.get(1).and_then(|m| m.as_str().parse().ok()) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// The ticket number of the first of our tags in `subject`.
    pub fn find(&self, subject: &str) -> Option<i64> {
        self.re
            .captures_iter(subject)
            .find_map(|c| c.get(1)?.as_str().parse().ok())
    }

    /// The subject with our tags and reply prefixes removed: what a ticket is called.
    pub fn clean_subject<'a>(&self, subject: &'a str) -> std::borrow::Cow<'a, str> {
        let s = strip_prefixes(subject);
        if !self.re.is_match(s) {
            return std::borrow::Cow::Borrowed(s);
        }
        let rest = collapse_spaces(&self.re.replace_all(s, ""));
        std::borrow::Cow::Owned(strip_prefixes(&rest).to_string())
    }

    /// `[SOP-42]`.
    pub fn format(&self, number: i64) -> String {
        format!("[{}-{}]", self.tag, number)
    }

    /// The subject of mail we send about `number`: the tag, then the subject
    /// with any earlier tag of ours removed. Other helpdesks' tags stay.
    pub fn tagged_subject(&self, number: i64, subject: &str) -> String {
        let rest = self.re.replace_all(subject, "");
        let rest = collapse_spaces(&rest);
        if rest.is_empty() {
            self.format(number)
        } else {
            format!("{} {}", self.format(number), rest)
        }
    }
}

static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    // Reply/forward markers in the languages our customers' clients use, with
    // ASCII or full-width colon and optional counters ("RE[2]:"), and the
    // markers gateways add ("[EXTERNAL]", "*SPAM*").
    Regex::new(
        r"(?ix)^\s*(?:
            (?:re|rv|res|r|aw|wg|sv|vs|tr|fwd|fw|rif|antw|odp|enc|ref|réf|atb|vb|vl|doorst|ynt|ilt)
                \s*(?:\[\d+\]|\(\d+\))?\s*[:：]
          | \[\s*(?:external|extern|ext|externo|spam)\s*\]
          | \*+\s*spam\s*\*+
        )\s*",
    )
    .expect("static regex")
});

/// Removes every leading reply and forward prefix, and the wrappers some
/// clients put around a forwarded subject: mutt's `[author@domain: subject]`
/// and Pine's `subject (fwd)`.
pub fn strip_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    // Each pass removes something, so this ends; a bound all the same.
    for _ in 0..subject.len() {
        if let Some(m) = PREFIX.find(s).filter(|m| m.end() > 0) {
            s = s[m.end()..].trim_start();
        } else if let Some(inner) = unwrap_forward(s) {
            s = inner.trim();
        } else {
            break;
        }
    }
    s
}

/// The subject inside a forward wrapper, if `s` is one.
fn unwrap_forward(s: &str) -> Option<&str> {
    let len = s.len();
    if len > 5 && s.is_char_boundary(len - 5) && s[len - 5..].eq_ignore_ascii_case("(fwd)") {
        return Some(&s[..len - 5]);
    }
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (who, rest) = inner.split_once(": ")?;
    // An address, as mutt's default forward_format ("[%a: %s]") writes
    // it: "[URGENTE: servidor caído]" is a subject, not a wrapper.
    let address = who.len() <= 254
        && !who.contains(char::is_whitespace)
        && who
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    address.then_some(rest)
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_tags_are_bounded() {
        let t = TagMatcher::new("SOP");
        let body: String = (0..400_000).map(|i| format!("SOP-{i} ")).collect();
        let found = t.find_in_text(&body);
        assert_eq!(found, (0..MAX_BODY_TAGS as i64).collect::<Vec<_>>());
        // Repeats of one tag do not use up the distinct numbers.
        let body = format!("{}SOP-7 SOP-8", "SOP-1 ".repeat(500));
        assert_eq!(t.find_in_text(&body), vec![1, 7, 8]);
    }

    #[test]
    fn finds_tag_after_any_prefix_stack() {
        let t = TagMatcher::new("SOP");
        for s in [
            "[SOP-42] No puedo entrar",
            "RE: [SOP-42] No puedo entrar",
            "RV: RE: Fwd: [SOP-42] x",
            "AW: WG: [sop-42] x",
            "RE： [SOP-42] x",
            "[EXTERNAL] RE: [ SOP - 42 ] x",
            "*SPAM* Re: x [SOP#42]",
            "Re: [SOP-042]",
        ] {
            assert_eq!(t.find(s), Some(42), "{s}");
        }
        assert_eq!(t.find("[SOPA-42] x"), None);
        assert_eq!(t.find("SOP-42 without brackets"), None);
        assert_eq!(t.find("[Ticket#123] otra mesa"), None);
    }

    #[test]
    fn strips_prefix_stacks() {
        assert_eq!(strip_prefixes("RE: RV: Fwd: hola"), "hola");
        assert_eq!(strip_prefixes("AW:WG: Rechnung"), "Rechnung");
        assert_eq!(strip_prefixes("RE： hola"), "hola");
        assert_eq!(strip_prefixes("Re[2]: hola"), "hola");
        assert_eq!(strip_prefixes("[EXTERNAL] RE: hola"), "hola");
        assert_eq!(strip_prefixes("Reunión del lunes"), "Reunión del lunes");
        assert_eq!(strip_prefixes("Re: "), "");
    }

    #[test]
    fn strips_forward_wrappers_of_mutt_and_pine() {
        let t = TagMatcher::new("SOP");
        assert_eq!(
            t.clean_subject("[soporte@example.test: [SOP-1] No imprime]"),
            "No imprime"
        );
        assert_eq!(
            t.find("[soporte@example.test: [SOP-1] No imprime]"),
            Some(1)
        );
        assert_eq!(strip_prefixes("Re: [ana@cliente.test: Fwd: hola]"), "hola");
        assert_eq!(strip_prefixes("hola (fwd)"), "hola");
        assert_eq!(
            strip_prefixes("[URGENTE: servidor caído]"),
            "[URGENTE: servidor caído]"
        );
        assert_eq!(strip_prefixes("[a@b.test: ]"), "");
        assert_eq!(strip_prefixes("[a@b.test:x]"), "[a@b.test:x]");
    }

    #[test]
    fn clean_subject_drops_our_tags_and_prefixes() {
        let t = TagMatcher::new("SOP");
        assert_eq!(t.clean_subject("RE: [SOP-1] RE: hola"), "hola");
        assert_eq!(t.clean_subject("RV: hola [Ticket#9]"), "hola [Ticket#9]");
    }

    #[test]
    fn an_escalations_tag_with_its_due_time_is_ours() {
        let t = TagMatcher::new("SOP");
        assert_eq!(t.find("RE: [SOP-41 · vence mar 8 11:00] Factura"), Some(41));
        assert_eq!(
            t.clean_subject("RE: [SOP-41 · overdue 11:00] Factura"),
            "Factura"
        );
        assert_eq!(t.find("[SOP-41 vence]"), None, "only after a middle dot");
    }

    #[test]
    fn tagged_subject_keeps_foreign_tags_and_replaces_ours() {
        let t = TagMatcher::new("SOP");
        assert_eq!(t.tagged_subject(7, "hola"), "[SOP-7] hola");
        assert_eq!(t.tagged_subject(7, "[SOP-7] hola"), "[SOP-7] hola");
        assert_eq!(
            t.tagged_subject(7, "[Ticket#123] hola"),
            "[SOP-7] [Ticket#123] hola"
        );
        assert_eq!(t.tagged_subject(7, ""), "[SOP-7]");
    }
}
