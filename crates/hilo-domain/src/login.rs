//! How a session logged in.

/// How a session logged in, for `hilo check`.
#[derive(Debug, Clone, Default)]
pub struct LoginInfo {
    /// `LOGIN`, `OAUTHBEARER` or `XOAUTH2`.
    pub mechanism: &'static str,
    /// When the access token used expires, if known.
    pub token_expires: Option<chrono::DateTime<chrono::Utc>>,
}
