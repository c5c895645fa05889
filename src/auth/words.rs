//! A token endpoint's refusal in plain words: what happened and what to
//! do, for the log, `hilo check`, `hilo auth status` and the alert mail.
//! Microsoft's `AADSTS…` codes come inside the error description.

use super::AuthError;

/// The refusal `code` (with its description) as an [`AuthError`]:
/// permanent unless the provider says to try again.
pub fn refusal(code: &str, description: Option<&str>) -> AuthError {
    let description = description.unwrap_or("");
    let aadsts = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("AADSTS"))
        .unwrap_or("");
    let (words, permanent) = match (aadsts, code) {
        ("AADSTS70008" | "AADSTS700082" | "AADSTS50173" | "AADSTS70043" | "AADSTS700084", _) => (
            "the sign-in expired or was revoked (inactivity, a password change or an administrator's policy): sign in again with `hilo auth login`",
            true,
        ),
        ("AADSTS50076" | "AADSTS50079" | "AADSTS50158", _) | (_, "interaction_required") => (
            "the provider wants the user to sign in again (multi-factor authentication or conditional access): run `hilo auth login`",
            true,
        ),
        ("AADSTS65001", _) | (_, "consent_required") => (
            "the application has not been granted the permissions it asks for: an administrator must consent to them",
            true,
        ),
        ("AADSTS7000215" | "AADSTS7000222", _) => (
            "the client secret is wrong or expired: set a new one",
            true,
        ),
        ("AADSTS700016", _) => (
            "the application (client_id) does not exist in this tenant",
            true,
        ),
        ("AADSTS50034" | "AADSTS50057", _) => (
            "the account does not exist or is disabled",
            true,
        ),
        (_, "invalid_grant") => (
            "the sign-in is no longer valid (revoked or expired): sign in again with `hilo auth login`",
            true,
        ),
        (_, "invalid_client" | "unauthorized_client") => (
            "the provider does not accept this client_id or client secret",
            true,
        ),
        (_, "invalid_scope") => ("the provider refuses the scopes asked for", true),
        (_, "temporarily_unavailable" | "server_error") => {
            ("the provider is temporarily unavailable", false)
        }
        (_, "expired_token") => (
            "the code was not confirmed in time: run `hilo auth login` again",
            true,
        ),
        (_, "access_denied") => ("the user declined the sign-in", true),
        _ => ("the provider refused the token request", true),
    };
    let code = if aadsts.is_empty() {
        code.to_string()
    } else {
        format!("{code}, {aadsts}")
    };
    if permanent {
        AuthError::Refused {
            code,
            words: words.to_string(),
        }
    } else {
        AuthError::Unavailable {
            code,
            words: words.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_codes_become_plain_words() {
        let e = refusal(
            "invalid_grant",
            Some("AADSTS70008: The provided authorization code or refresh token has expired due to inactivity."),
        );
        assert!(e.is_permanent());
        let s = e.to_string();
        assert!(
            s.contains("expired or was revoked") && s.contains("AADSTS70008"),
            "{s}"
        );
        let e = refusal("interaction_required", None);
        assert!(e.is_permanent() && e.to_string().contains("sign in again"));
        assert!(
            refusal("invalid_grant", Some("Token has been expired or revoked.")).is_permanent()
        );
        assert!(!refusal("temporarily_unavailable", None).is_permanent());
    }
}
