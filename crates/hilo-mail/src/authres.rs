//! `Authentication-Results` (RFC 8601) read as the grammar says, not by
//! searching for `dkim=pass`: comments `( … )` (nested, with escapes) and
//! quoted strings are consumed as such, so a `header.d=` written inside a
//! comment or inside a quoted value is no property. What this module does
//! not understand is dropped, one result at a time; it never guesses.
//!
//! Whose header it is (its `authserv-id`) and what a result proves are for
//! the caller: see `pipeline::agent`.

/// Longest header value parsed; the rest is ignored (a real one is a few
/// hundred bytes).
pub const MAX_LEN: usize = 8 * 1024;
/// Most results read from one header.
pub const MAX_RESULTS: usize = 32;
/// Most properties read from one result.
pub const MAX_PROPS: usize = 16;

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Who wrote it: the receiving server's `authserv-id`, lowercase.
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// One `method=result` with its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lowercase: `dkim`, `spf`, `dmarc`, …
    pub method: String,
    /// Lowercase: `pass`, `fail`, `none`, …
    pub result: String,
    /// `(ptype.property, value)`, the name lowercase, e.g.
    /// `("header.d", "example.com")`.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of property `name` (`header.d`), if given once or more (the first).
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An RFC 2045 token (dots allowed: `header.d`, `mx.example.com`).
    Word(String),
    /// A quoted string, unescaped.
    Quoted(String),
    /// One of `; = / @`.
    Sep(char),
}

/// RFC 2045 tspecials, less `.`, which RFC 8601 values use inside tokens.
fn special(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '<' | '>' | '@' | ',' | ';' | ':' | '\\' | '"' | '/' | '[' | ']' | '?' | '='
    )
}

/// Splits a header value into tokens; comments and white space vanish.
/// Linear in the input; an unterminated comment or string ends the input.
fn lex(v: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = v.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => {
                let mut depth = 1usize;
                while let Some(c) = it.next() {
                    match c {
                        '\\' => {
                            it.next();
                        }
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                while let Some(c) = it.next() {
                    match c {
                        '\\' => s.extend(it.next()),
                        '"' => break,
                        c => s.push(c),
                    }
                }
                out.push(Tok::Quoted(s));
            }
            ';' | '=' | '/' | '@' => out.push(Tok::Sep(c)),
            c if special(c) || c.is_control() => {
                // Not part of any production we read: a separator that
                // makes the result around it unreadable.
                out.push(Tok::Sep(c));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = it.peek() {
                    if n.is_whitespace() || special(n) || n.is_control() {
                        break;
                    }
                    s.push(n);
                    it.next();
                }
                out.push(Tok::Word(s));
            }
        }
    }
    out
}

/// Parses one header value. `None` when not even the `authserv-id` can be
/// read.
pub fn parse(value: &str) -> Option<AuthResults> {
    let value = match value.char_indices().nth(MAX_LEN) {
        Some((i, _)) => &value[..i],
        None => value,
    };
    let toks = lex(value);
    let mut i = 0;
    let authserv_id = match toks.first()? {
        Tok::Word(w) | Tok::Quoted(w) => w.to_ascii_lowercase(),
        Tok::Sep(_) => return None,
    };
    i += 1;
    // An optional version number.
    if let Some(Tok::Word(w)) = toks.get(i) {
        if w.bytes().all(|b| b.is_ascii_digit()) {
            i += 1;
        }
    }
    let mut results = Vec::new();
    // Each result starts after a `;`; anything we cannot read up to the
    // next `;` drops that result only.
    while let Some(start) = toks[i..].iter().position(|t| *t == Tok::Sep(';')) {
        let from = i + start + 1;
        let end = toks[from..]
            .iter()
            .position(|t| *t == Tok::Sep(';'))
            .map_or(toks.len(), |p| from + p);
        if let Some(r) = resinfo(&toks[from..end]) {
            results.push(r);
            if results.len() == MAX_RESULTS {
                break;
            }
        }
        i = end;
    }
    Some(AuthResults {
        authserv_id,
        results,
    })
}

/// `method[/version] = result [reason=value] [ptype.property=pvalue]…`
fn resinfo(t: &[Tok]) -> Option<MethodResult> {
    let word = |k: usize| match t.get(k) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let method = word(0)?.to_ascii_lowercase();
    let mut k = 1;
    if t.get(k) == Some(&Tok::Sep('/')) {
        word(k + 1)?;
        k += 2;
    }
    if t.get(k) != Some(&Tok::Sep('=')) {
        return None;
    }
    let result = word(k + 1)?.to_ascii_lowercase();
    k += 2;
    let mut props = Vec::new();
    while k < t.len() {
        let name = word(k)?.to_ascii_lowercase();
        if t.get(k + 1) != Some(&Tok::Sep('=')) {
            return None;
        }
        k += 2;
        // A value: a token or a quoted string, or `[local-part]@domain`.
        let mut v = String::new();
        match t.get(k) {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                v.push_str(w);
                k += 1;
            }
            Some(Tok::Sep('@')) => {}
            _ => return None,
        }
        if t.get(k) == Some(&Tok::Sep('@')) {
            v.push('@');
            v.push_str(word(k + 1)?);
            k += 2;
        }
        if name == "reason" {
            continue;
        }
        // A property is `ptype.property`; anything else is not one.
        if !name.contains('.') {
            return None;
        }
        if props.len() < MAX_PROPS {
            props.push((name, v));
        }
    }
    Some(MethodResult {
        method,
        result,
        props,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(v: &str) -> MethodResult {
        let mut r = parse(v).unwrap().results;
        assert_eq!(r.len(), 1, "{r:?}");
        r.remove(0)
    }

    #[test]
    fn reads_the_rfc_examples() {
        // RFC 8601, appendix B.
        let a = parse("example.com; none").unwrap();
        assert_eq!(a.authserv_id, "example.com");
        assert!(a.results.is_empty());
        let a = parse("example.com; spf=pass smtp.mailfrom=example.net").unwrap();
        assert_eq!(a.results[0].method, "spf");
        assert_eq!(a.results[0].prop("smtp.mailfrom"), Some("example.net"));
        let a = parse(
            "example.com;\r\n  auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n  spf=pass smtp.mailfrom=example.net",
        )
        .unwrap();
        assert_eq!(a.results.len(), 2);
        assert_eq!(a.results[0].prop("smtp.auth"), Some("sender@example.net"));
        let a = parse(
            "example.com; sender-id=fail header.from=example.com; dkim=pass (good signature) header.d=example.com",
        )
        .unwrap();
        assert_eq!(a.results[1].method, "dkim");
        assert_eq!(a.results[1].result, "pass");
        assert_eq!(a.results[1].prop("header.d"), Some("example.com"));
        // A version, a method version, a reason.
        let a = parse(
            "mx.example.org 1; dkim/1=pass reason=\"good sig\" header.i=@mail-router.example.net",
        )
        .unwrap();
        assert_eq!(a.authserv_id, "mx.example.org");
        assert_eq!(
            a.results[0].prop("header.i"),
            Some("@mail-router.example.net")
        );
    }

    #[test]
    fn comments_and_quoted_strings_hide_nothing_and_prove_nothing() {
        // The pass written inside a comment is a comment.
        let a =
            parse("mx.example.com; dkim=fail (dkim=pass header.d=agentes.test) header.d=evil.test")
                .unwrap();
        assert_eq!(a.results[0].result, "fail");
        assert_eq!(a.results[0].prop("header.d"), Some("evil.test"));
        assert_eq!(a.results[0].props.len(), 1);
        // Inside a quoted value: one value, not a second property.
        let r = only("mx.example.com; spf=pass smtp.mailfrom=\"x; dkim=pass header.d=agentes.test\"@evil.test");
        assert_eq!(r.method, "spf");
        assert_eq!(r.props.len(), 1);
        assert_eq!(r.prop("header.d"), None);
        // Nested comments with escapes.
        let r = only("mx; dkim=pass (a (b \\) dkim=pass header.d=x.test) c) header.d=ok.test");
        assert_eq!(
            r.props,
            vec![("header.d".to_string(), "ok.test".to_string())]
        );
        // A quoted authserv-id.
        assert_eq!(
            parse("\"mx.example.com\"; none").unwrap().authserv_id,
            "mx.example.com"
        );
    }

    #[test]
    fn what_cannot_be_read_is_dropped_not_guessed() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("; dkim=pass header.d=x.test"), None);
        // A broken result is dropped; its neighbours stay.
        let a = parse("mx; dkim=pass header.d; spf=pass smtp.mailfrom=a.test").unwrap();
        assert_eq!(a.results.len(), 1);
        assert_eq!(a.results[0].method, "spf");
        // Unterminated comment or string: the rest is gone.
        let a = parse("mx; dkim=pass header.d=x.test (dmarc=pass").unwrap();
        assert_eq!(a.results.len(), 1);
        let a = parse("mx; dkim=pass header.d=\"x.test; dmarc=pass header.from=x.test").unwrap();
        assert_eq!(a.results.len(), 1);
        assert_eq!(a.results[0].method, "dkim");
    }

    #[test]
    fn large_values_cost_linear_time_and_stay_bounded() {
        let many = format!("mx{}", "; dkim=pass header.d=x.test".repeat(10_000));
        assert_eq!(parse(&many).unwrap().results.len(), MAX_RESULTS);
        let parens = format!("mx; dkim=pass {}", "(".repeat(100_000));
        assert_eq!(parse(&parens).unwrap().results.len(), 1);
    }
}
