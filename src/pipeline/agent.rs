//! May an agent's mail speak for the desk on the strength of the receiving
//! server's word? A From header can be forged, and so can any
//! `Authentication-Results` header that came with the message. Only a
//! header written by our own receiving server counts: one whose
//! `authserv-id` is configured for the desk (`authserv_ids`); RFC 8601 §5
//! requires that server to remove any copy claiming its id that arrived
//! with the mail. Of those, only the topmost (the last one added) is read.
//!
//! What it must show is that the From address's own domain signed the
//! mail: DMARC `pass` for `header.from` = that domain, or DKIM `pass` with
//! `header.d` aligned with it (the same domain or a parent of it, RFC 7489
//! relaxed alignment). SPF proves only the envelope sender and `smtp.helo`
//! only the client's name: neither says who wrote From, so neither counts.

use crate::mail::authres::{self, AuthResults};

/// The header our server wrote, among `headers` (top first): the topmost
/// whose `authserv-id` is one of `ours` (lowercase).
pub fn ours(headers: &[String], ours: &[String]) -> Option<AuthResults> {
    headers
        .iter()
        .filter_map(|h| authres::parse(h))
        .find(|a| ours.contains(&a.authserv_id))
}

/// Why `results` prove that `from_domain` wrote the mail, if they do.
pub fn proof(results: &AuthResults, from_domain: &str) -> Option<&'static str> {
    let from = from_domain.trim_end_matches('.').to_ascii_lowercase();
    let aligned = |d: &str| {
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        // `header.i=@sub.example.com` or `user@…`: the domain part.
        let d = d.rsplit('@').next().unwrap_or(&d).to_string();
        !d.is_empty() && (from == d || from.ends_with(&format!(".{d}")))
    };
    results.results.iter().find_map(|r| {
        if r.result != "pass" {
            return None;
        }
        match r.method.as_str() {
            "dmarc" => r
                .prop("header.from")
                .is_some_and(|d| d.eq_ignore_ascii_case(&from))
                .then_some("DMARC pass for the From domain"),
            "dkim" => r
                .prop("header.d")
                .is_some_and(aligned)
                .then_some("DKIM signature of the From domain"),
            _ => None,
        }
    })
}

/// The verdict for an agent's mail: proven by our server's header for the
/// domain of `from` (an address).
pub fn authenticated(headers: &[String], authserv_ids: &[String], from: &str) -> bool {
    let domain = from.rsplit('@').next().unwrap_or("");
    ours(headers, authserv_ids).is_some_and(|a| proof(&a, domain).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["mx.example.com".into()]
    }

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dkim_or_dmarc_for_the_from_domain_proves() {
        let ok = |v: &str, from: &str| authenticated(&h(&[v]), &ids(), from);
        assert!(ok(
            "mx.example.com; dkim=pass (2048-bit key) header.d=soporte.example.com header.s=s1",
            "luis@soporte.example.com"
        ));
        assert!(ok(
            "mx.example.com; dmarc=pass (p=none) header.from=soporte.example.com",
            "luis@soporte.example.com"
        ));
        // Relaxed alignment: the parent domain's signature covers a subdomain.
        assert!(ok(
            "mx.example.com; dkim=pass header.d=example.com",
            "luis@soporte.example.com"
        ));
        // But not the other way round, nor a lookalike.
        assert!(!ok(
            "mx.example.com; dkim=pass header.d=soporte.example.com",
            "luis@example.com"
        ));
        assert!(!ok(
            "mx.example.com; dkim=pass header.d=notexample.com",
            "luis@example.com"
        ));
        assert!(!ok(
            "mx.example.com; dkim=fail header.d=example.com; dmarc=none header.from=example.com",
            "luis@example.com"
        ));
    }

    #[test]
    fn spf_and_helo_prove_nothing_about_from() {
        for v in [
            "mx.example.com; spf=pass smtp.mailfrom=luis@example.com",
            "mx.example.com; spf=pass smtp.helo=example.com",
            "mx.example.com; iprev=pass policy.iprev=192.0.2.1 (mail.example.com)",
        ] {
            assert!(!authenticated(&h(&[v]), &ids(), "luis@example.com"), "{v}");
        }
    }

    #[test]
    fn only_our_servers_topmost_header_counts() {
        let pass = "mx.example.com; dkim=pass header.d=example.com";
        let fail = "mx.example.com; dkim=fail header.d=example.com";
        // A header from any other server, however it reads, is ignored.
        let theirs = "mx.evil.test; dkim=pass header.d=example.com";
        assert!(!authenticated(&h(&[theirs]), &ids(), "luis@example.com"));
        // Ours said fail; a pass below it came with the message.
        assert!(!authenticated(
            &h(&[fail, pass]),
            &ids(),
            "luis@example.com"
        ));
        // Ours said pass, under someone else's header on top.
        assert!(authenticated(
            &h(&[theirs, pass]),
            &ids(),
            "luis@example.com"
        ));
        // No id configured: nothing counts.
        assert!(!authenticated(&h(&[pass]), &[], "luis@example.com"));
    }

    #[test]
    fn passes_hidden_in_comments_or_quotes_prove_nothing() {
        for v in [
            "mx.example.com; dkim=fail (dkim=pass header.d=example.com) header.d=evil.test",
            "mx.example.com; spf=pass smtp.mailfrom=\"a dkim=pass header.d=example.com\"@evil.test",
            "mx.example.com; dmarc=fail header.from=\"example.com\" (dmarc=pass header.from=example.com)",
        ] {
            assert!(!authenticated(&h(&[v]), &ids(), "luis@example.com"), "{v}");
        }
    }
}
