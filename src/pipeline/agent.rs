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
use crate::mail::AuthHeader;

/// Where our receiving server's word may be read in a message.
#[derive(Debug, Clone, Copy)]
pub struct Trusted<'a> {
    /// The authserv-ids our server writes (lowercase).
    pub authserv_ids: &'a [String],
    /// The host names (or domains) in the `by` clause of the Received line
    /// our server adds (lowercase; `receiving_hosts`). Empty: position is
    /// not checked (and `hilo check` warns).
    pub receiving_hosts: &'a [String],
}

/// Is `host` one of `ours`, or a host in one of those domains?
fn our_host(host: &str, ours: &[String]) -> bool {
    !host.is_empty()
        && ours.iter().any(|o| {
            host == o
                || host
                    .strip_suffix(o.as_str())
                    .is_some_and(|p| p.ends_with('.'))
        })
}

/// Does `value` begin with `id` as a bare token (no quotes, no comment
/// before it, nothing glued to it)? RFC 8601 allows both, but our own
/// server writes a plain token, and a look-alike spelling is a sender's.
fn bare_id(value: &str, id: &str) -> bool {
    let v = value.trim_start();
    v.len() >= id.len()
        && v.is_char_boundary(id.len())
        && v[..id.len()].eq_ignore_ascii_case(id)
        && v[id.len()..]
            .chars()
            .next()
            .is_none_or(|c| c == ';' || c == ' ' || c == '\t')
}

/// The header our server wrote, among `headers` (top first): the topmost
/// whose `authserv-id` is one of ours, written as a bare token, and (with
/// `receiving_hosts`) that sits above the lowest Received line our server
/// added: anything below that line came with the message. When that line
/// is not found, nothing is ours.
pub fn ours(headers: &[AuthHeader], received_by: &[String], t: Trusted<'_>) -> Option<AuthResults> {
    let limit = if t.receiving_hosts.is_empty() {
        usize::MAX
    } else {
        received_by
            .iter()
            .rposition(|h| our_host(h, t.receiving_hosts))?
    };
    headers
        .iter()
        .filter(|h| h.received_above <= limit)
        .filter_map(|h| authres::parse(&h.value).map(|a| (h, a)))
        .find(|(h, a)| t.authserv_ids.contains(&a.authserv_id) && bare_id(&h.value, &a.authserv_id))
        .map(|(_, a)| a)
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

/// The verdict for a sender's mail: proven by our server's header for the
/// domain of `from` (an address).
pub fn authenticated(msg: &crate::mail::Inbound, t: Trusted<'_>, from: &str) -> bool {
    let domain = from.rsplit('@').next().unwrap_or("");
    ours(&msg.auth_results, &msg.received_by, t).is_some_and(|a| proof(&a, domain).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["mx.example.com".into()]
    }

    fn h(v: &[&str]) -> Vec<AuthHeader> {
        v.iter()
            .map(|s| AuthHeader {
                value: s.to_string(),
                received_above: 0,
            })
            .collect()
    }

    /// The verdict without a Received position check.
    fn authenticated(headers: &[AuthHeader], ids: &[String], from: &str) -> bool {
        let t = Trusted {
            authserv_ids: ids,
            receiving_hosts: &[],
        };
        let domain = from.rsplit('@').next().unwrap_or("");
        ours(headers, &[], t).is_some_and(|a| proof(&a, domain).is_some())
    }

    #[test]
    fn only_a_bare_authserv_id_is_ours() {
        let pass = |id: &str| format!("{id}; dkim=pass header.d=example.com");
        assert!(authenticated(
            &h(&[&pass("mx.example.com")]),
            &ids(),
            "luis@example.com"
        ));
        assert!(authenticated(
            &h(&[&pass("MX.example.com 1")]),
            &ids(),
            "luis@example.com"
        ));
        for forged in [
            "\"mx.example.com\"",
            "(ours) mx.example.com",
            "mx.example.com(x)",
            "mx.example.com.evil.test",
        ] {
            assert!(
                !authenticated(&h(&[&pass(forged)]), &ids(), "luis@example.com"),
                "{forged}"
            );
        }
    }

    #[test]
    fn only_headers_above_our_servers_received_line_count() {
        let t = Trusted {
            authserv_ids: &ids(),
            receiving_hosts: &["mx.example.com".to_string()],
        };
        let at = |above: usize| AuthHeader {
            value: "mx.example.com; dkim=pass header.d=example.com".into(),
            received_above: above,
        };
        // Delivery hop (LMTP), then our MX's line, then the sender's hops.
        let hops: Vec<String> = ["imap.internal", "mx.example.com", "mail.sender.test"]
            .map(String::from)
            .to_vec();
        // Our milter's header sits above our MX's Received line: believed.
        assert!(ours(&[at(1)], &hops, t).is_some());
        assert!(ours(&[at(0)], &hops, t).is_some());
        // The same header below it came with the message: forged.
        assert!(ours(&[at(2)], &hops, t).is_none());
        assert!(ours(&[at(3)], &hops, t).is_none());
        // The forged one below is skipped even with ours elsewhere missing.
        assert!(ours(&[at(2), at(3)], &hops, t).is_none());
        // Our host never seen: nothing is believed.
        let elsewhere: Vec<String> = vec!["mx.other.test".into()];
        assert!(ours(&[at(0)], &elsewhere, t).is_none());
        // A domain marker covers the hosts in it (Microsoft 365's edges).
        let t365 = Trusted {
            authserv_ids: &ids(),
            receiving_hosts: &["protection.outlook.com".to_string()],
        };
        let edge: Vec<String> = vec![
            "am6pr01mb1.eurprd01.prod.exchangelabs.com".into(),
            "am6eur01ft001.mail.protection.outlook.com".into(),
        ];
        assert!(ours(&[at(1)], &edge, t365).is_some());
        assert!(ours(&[at(2)], &edge, t365).is_none());
        let lookalike: Vec<String> = vec!["evilprotection.outlook.com".into()];
        assert!(ours(&[at(0)], &lookalike, t365).is_none());
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
