//! Everything about the shape of mail, with no I/O: parsing received bytes,
//! composing our outgoing mail, subjects and tags, and our signed Message-IDs.

pub mod authres;
pub mod charset;
pub mod compose;
pub mod dsn;
pub mod html;
pub mod mbox;
pub mod msgid;
pub mod parse;
pub mod quote;
pub mod subject;

pub use parse::{parse, AuthHeader, Inbound, ParseError};

pub use hilo_domain::Mailbox;

/// Longest display name we write into a header we compose, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest subject we write, in characters (RFC 5322 wants lines under 998
/// bytes; a longer subject is cut, with an ellipsis).
pub const MAX_SUBJECT_CHARS: usize = 250;

/// A header value that came from a sender, made safe to write into a header
/// of ours: controls (CR and LF among them) become spaces, runs of spaces
/// collapse, and the text is cut at `max` characters with an ellipsis.
/// Encoded words decode to any bytes, so a display name can hold a line feed
/// (`=?utf-8?q?Ana=0ABcc?=`): written raw, that would be a header injection.
pub fn header_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut count = 0;
    let mut space = false;
    for c in s.chars() {
        // Bidi controls would reorder how a client shows our subject.
        if matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            continue;
        }
        let c = if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if space || out.is_empty() {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if count == max {
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// The key rate limits count by: one person, however they spell their
/// address. Case, a `+suffix` on the local part and, at Gmail, dots in it
/// are folded away (`Victima+1@Example.com` and `victima@example.com` are
/// one key; `v.i.c.t.i.m.a@gmail.com` and `victima@gmail.com` too).
pub fn rate_key(address: &str) -> String {
    let address = address.trim().to_ascii_lowercase();
    let Some((local, domain)) = address.rsplit_once('@') else {
        return address;
    };
    let local = local.split('+').next().unwrap_or(local);
    let local = if matches!(domain, "gmail.com" | "googlemail.com") {
        local.replace('.', "")
    } else {
        local.to_string()
    };
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    format!("{local}@{domain}")
}

/// `local@domain` for `local+detail@domain` (plus-addressing); `None` when
/// the address has no detail.
pub fn base_address(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, _) = local.split_once('+')?;
    (!base.is_empty()).then(|| format!("{base}@{domain}"))
}

/// Could we send from `address` as written? A local part of 1 to 64
/// octets of dot-atom text (RFC 5322 atext, single dots between atoms) and
/// a domain of at most 253 octets. Quoted local parts and anything else a
/// sender may invent in a plus-detail are refused.
pub fn sendable_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    (1..=64).contains(&local.len())
        && (1..=253).contains(&domain.len())
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext))
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// Is `address` one of `own` (lowercase), or one of them with a
/// `+detail`? Loop and own-mail rules cover every spelling of our
/// addresses, whether a desk takes plus-addressed mail or not.
pub fn is_own(own: &[String], address: &str) -> bool {
    own.iter().any(|o| o == address) || base_address(address).is_some_and(|b| own.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_dot_atoms_are_sendable() {
        assert!(sendable_address("soporte+factura-2@example.com"));
        assert!(sendable_address("soporte@example.com"));
        let long = format!("soporte+{}@example.com", "x".repeat(80));
        for bad in [
            long.as_str(),
            "soporte+a..b@example.com",
            "soporte+a.@example.com",
            "\"soporte+x\"@example.com",
            "soporte+a b@example.com",
            "soporte+@@example.com",
            "soporte+x@exa_mple.com",
            "soporte+x@",
        ] {
            assert!(!sendable_address(bad), "{bad}");
        }
    }

    #[test]
    fn rate_keys_fold_the_spellings_of_one_address() {
        assert_eq!(rate_key("Victima+12@Example.COM"), "victima@example.com");
        assert_eq!(rate_key("victima@example.com"), "victima@example.com");
        assert_eq!(rate_key("v.ic.tima+x@googlemail.com"), "victima@gmail.com");
        // Dots matter elsewhere.
        assert_eq!(rate_key("v.ictima@example.com"), "v.ictima@example.com");
        assert_eq!(rate_key("+tag@example.com"), "@example.com");
    }

    #[test]
    fn header_text_removes_controls_and_caps_length() {
        assert_eq!(header_text("Ana\nBcc: x@y", 100), "Ana Bcc: x@y");
        assert_eq!(header_text(" a\r\n\t b\u{1b}[31m ", 100), "a b [31m");
        assert_eq!(header_text("Pérez", 100), "Pérez");
        assert_eq!(header_text("abcdef", 3), "abc…");
        assert_eq!(header_text("ab cdef", 3), "ab…");
        assert_eq!(header_text("", 3), "");
        let long = "ñ".repeat(10_000);
        assert_eq!(
            header_text(&long, MAX_SUBJECT_CHARS).chars().count(),
            MAX_SUBJECT_CHARS + 1
        );
    }

    #[test]
    fn plus_addresses_are_ours_whatever_the_detail() {
        assert_eq!(
            base_address("soporte+x@ex.test").as_deref(),
            Some("soporte@ex.test")
        );
        assert_eq!(base_address("soporte@ex.test"), None);
        assert_eq!(base_address("+x@ex.test"), None);
        let own = vec!["soporte@ex.test".to_string()];
        assert!(is_own(&own, "soporte@ex.test"));
        assert!(is_own(&own, "soporte+facturas@ex.test"));
        assert!(!is_own(&own, "soporte2@ex.test"));
        assert!(!is_own(&own, "ana+soporte@ex.test"));
    }
}
