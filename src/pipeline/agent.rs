//! May an agent's mail speak for the desk? A From header can be forged, so
//! besides a signed reply (checked against the store by the intake) the
//! only other proof is the receiving server's Authentication-Results
//! (RFC 8601) showing DKIM, SPF or DMARC passing for the agent's domain.
//! Only the topmost such header counts: it is the one our own server added;
//! anything below it came with the message.

use regex::Regex;
use std::sync::LazyLock;

/// Does this Authentication-Results value show a pass for `domain`?
pub fn authenticated(results: &str, domain: &str) -> bool {
    static METHOD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(dkim|spf|dmarc)\s*=\s*pass\b([^;]*)").expect("static regex")
    });
    let domain = domain.to_ascii_lowercase();
    let matches = |v: &str| {
        let v = v.trim().trim_matches('"').to_ascii_lowercase();
        let host = v.rsplit('@').next().unwrap_or(&v);
        host == domain
    };
    METHOD.captures_iter(results).any(|c| {
        let method = c[1].to_ascii_lowercase();
        let props = &c[2];
        let keys: &[&str] = match method.as_str() {
            "dkim" => &["header.d", "header.i"],
            "spf" => &["smtp.mailfrom", "smtp.helo"],
            _ => &["header.from"],
        };
        props.split_whitespace().any(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| keys.contains(&k.to_ascii_lowercase().as_str()) && matches(v))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_only_for_the_agents_domain() {
        let ar = "mx.example.com; dkim=pass (2048-bit key) header.d=soporte.example.com header.s=s1; spf=fail smtp.mailfrom=x@evil.test";
        assert!(authenticated(ar, "soporte.example.com"));
        assert!(!authenticated(ar, "evil.test"));
        assert!(authenticated(
            "mx; spf=pass smtp.mailfrom=agente1@Example.com",
            "example.com"
        ));
        assert!(authenticated(
            "mx; dmarc=pass (p=none) header.from=example.com",
            "example.com"
        ));
        assert!(!authenticated(
            "mx; dkim=fail header.d=example.com; dmarc=none header.from=example.com",
            "example.com"
        ));
        assert!(!authenticated(
            "mx; dkim=pass header.d=notexample.com",
            "example.com"
        ));
    }
}
