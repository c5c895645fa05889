//! The SASL messages for OAuth2 bearer tokens, as IMAP and SMTP send them
//! (before base64): XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER
//! (RFC 7628). Whichever the server offers; OAUTHBEARER first.

/// The mechanisms hilo speaks with a token, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    OAuthBearer,
    XOAuth2,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The best of those a server offers (`offered` as it lists them:
    /// `AUTH=XOAUTH2`, or the words of an EHLO `AUTH` line).
    pub fn choose<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Mechanism> {
        let mut best = None;
        for o in offered {
            let o = o.trim().trim_start_matches("AUTH=").to_ascii_uppercase();
            match o.as_str() {
                "OAUTHBEARER" => return Some(Mechanism::OAuthBearer),
                "XOAUTH2" => best = Some(Mechanism::XOAuth2),
                _ => {}
            }
        }
        best
    }

    /// The initial client response for `user` with `token`. OAUTHBEARER
    /// also names the server (`host`, `port`).
    pub fn response(self, user: &str, token: &str, host: &str, port: u16) -> String {
        match self {
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            Mechanism::OAuthBearer => format!(
                "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01",
                // RFC 5801: `,` and `=` in the authzid are escaped.
                user.replace('=', "=3D").replace(',', "=2C")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_as_the_rfcs_write_them() {
        assert_eq!(
            Mechanism::XOAuth2.response("soporte@x.test", "tok", "imap.x.test", 993),
            "user=soporte@x.test\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            Mechanism::OAuthBearer.response("a,b=c@x.test", "tok", "imap.x.test", 993),
            "n,a=a=2Cb=3Dc@x.test,\x01host=imap.x.test\x01port=993\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn oauthbearer_first_then_xoauth2() {
        assert_eq!(
            Mechanism::choose(["AUTH=PLAIN", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER"]),
            Some(Mechanism::OAuthBearer)
        );
        assert_eq!(
            Mechanism::choose(["PLAIN", "xoauth2"]),
            Some(Mechanism::XOAuth2)
        );
        assert_eq!(Mechanism::choose(["PLAIN", "LOGIN"]), None);
    }
}
