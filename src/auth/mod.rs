//! OAuth2 access tokens for the IMAP and SMTP logins (SASL XOAUTH2 or
//! OAUTHBEARER, `net::sasl`), for mailboxes on Microsoft 365 and Google
//! Workspace, where passwords no longer log in.
//!
//! A token comes from a `token_command` (oama, mutt_oauth2.py…: its first
//! output line, run with a deadline on a blocking thread, never logged),
//! or from hilo itself: `hilo auth login` runs the device authorization
//! grant once and keeps the refresh token in the database; hilo then
//! refreshes the access token before it expires, and again after a login
//! the server refused (once), keeping a rotated refresh token.
//!
//! A refusal from the provider (`invalid_grant`, `interaction_required`,
//! `AADSTS…`) is permanent: the account's watcher stops retrying fast, the
//! trouble shows in `hilo check`, `hilo auth status`, the metric
//! `hilo_auth_ok{desk}` and the log at error level, and the desk's `admin`
//! get an alert mail, at most once a day while it lasts. A token endpoint
//! that does not answer is temporary, and backs off like any outage.

pub mod provider;
mod words;

pub use words::refusal;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::config::{Config, Credential, DeskConfig, Secret, TokenSource};
use crate::store::{Store, StoreError};

/// How long a cached access token must still be valid to be used: a
/// session may take this long to log in.
const MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// At most one alert mail per account in this long.
const ALERT_QUIET: chrono::Duration = chrono::Duration::hours(24);

/// One login that uses OAuth2.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// `desk:NAME` or `smtp`: the row in the database, the metric's label.
    pub key: String,
    /// The SASL identity (the shared mailbox, when one is set).
    pub user: String,
    pub source: TokenSource,
}

impl Account {
    /// The IMAP login of desk `d`, if it uses OAuth2.
    pub fn imap(d: &DeskConfig) -> Option<Account> {
        match &d.imap.credential {
            Credential::OAuth2(source) => Some(Account {
                key: format!("desk:{}", d.name),
                user: d.imap.sasl_user().to_string(),
                source: source.clone(),
            }),
            Credential::Password(_) => None,
        }
    }

    /// The SMTP login, if it uses OAuth2.
    pub fn smtp(c: &Config) -> Option<Account> {
        match &c.smtp.credential {
            Some(Credential::OAuth2(source)) => Some(Account {
                key: "smtp".into(),
                user: c.smtp.sasl_user().unwrap_or_default().to_string(),
                source: source.clone(),
            }),
            _ => None,
        }
    }

    /// Every OAuth2 login of the configuration.
    pub fn all(c: &Config) -> Vec<Account> {
        c.desks
            .iter()
            .filter_map(Account::imap)
            .chain(Account::smtp(c))
            .collect()
    }

    /// The name the metric and the CLI show: the desk, or `smtp`.
    pub fn label(&self) -> &str {
        self.key.strip_prefix("desk:").unwrap_or(&self.key)
    }
}

/// An access token.
#[derive(Clone)]
pub struct Token {
    pub secret: Secret,
    /// `None` for a `token_command`'s (it says nothing of its life).
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(***, expires {:?})", self.expires_at)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not signed in yet: run `hilo auth login {0}`")]
    NotLoggedIn(String),
    /// The provider refused: the grant is gone until someone signs in again.
    #[error("{words} ({code})")]
    Refused { code: String, words: String },
    /// The provider asked to try again later (`temporarily_unavailable`).
    #[error("{words} ({code})")]
    Unavailable { code: String, words: String },
    /// The TLS client for the token endpoint could not be set up.
    #[error("cannot set up TLS for the token endpoint")]
    Tls(#[source] crate::net::tls::TlsError),
    /// No answer from the token endpoint.
    #[error("no answer from the token endpoint")]
    NoAnswer(#[source] provider::HttpError),
    #[error("the token endpoint answered with something that is not a token ({bytes} bytes)")]
    NotAToken { bytes: usize },
    #[error("the token exchange failed: {0}")]
    Protocol(String),
    /// The blocking task that asks for the token died.
    #[error("the token task failed")]
    Task(#[source] tokio::task::JoinError),
    #[error("token_command: {0}")]
    Command(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// Retrying soon will not help: someone has to act.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            AuthError::NotLoggedIn(_) | AuthError::Refused { .. } | AuthError::Config(_)
        )
    }
}

/// The access tokens of every account, shared by the watchers, the sender
/// and `hilo check`.
pub struct Tokens {
    store: Store,
    /// The desks whose admins hear of an account's trouble.
    desks: Vec<DeskConfig>,
    cache: Mutex<HashMap<String, Token>>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens")
    }
}

impl Tokens {
    pub fn new(store: Store, config: &Config) -> Arc<Tokens> {
        Self::with_metrics(store, config, None)
    }

    /// Tokens whose health also shows as `hilo_auth_ok{desk}`.
    pub fn with_metrics(
        store: Store,
        config: &Config,
        metrics: Option<Arc<crate::metrics::Metrics>>,
    ) -> Arc<Tokens> {
        if let Some(m) = &metrics {
            for a in Account::all(config) {
                m.auth(a.label(), true);
            }
        }
        Arc::new(Tokens {
            store,
            desks: config.desks.clone(),
            cache: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// An access token for `a`: the cached one while it is valid for a
    /// while yet, else a new one. `fresh`: the server just refused the
    /// cached one; get another.
    pub async fn get(&self, a: &Account, fresh: bool) -> Result<Token, AuthError> {
        if !fresh {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = cache.get(&a.key) {
                if t.expires_at.is_some_and(|e| e - MARGIN > self.store.now()) {
                    return Ok(t.clone());
                }
            }
        }
        let (store, account) = (self.store.clone(), a.clone());
        let got = tokio::task::spawn_blocking(move || fetch(&store, &account))
            .await
            .unwrap_or_else(|e| Err(AuthError::Task(e)));
        match &got {
            Ok(t) => {
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(a.key.clone(), t.clone());
                self.set_ok(a, true);
            }
            Err(e) => {
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&a.key);
                self.failed(a, e);
            }
        }
        got
    }

    fn set_ok(&self, a: &Account, ok: bool) {
        if let Some(m) = &self.metrics {
            m.auth(a.label(), ok);
        }
    }

    /// A server refused a login with a token we got: the account does not
    /// log in, and the admins should know (once a day).
    pub fn login_refused(&self, a: &Account, message: &str) {
        self.failed(
            a,
            &AuthError::Refused {
                code: "login refused".into(),
                words: format!("the server refused the token: {message}"),
            },
        );
    }

    /// Records a failure; a permanent one is logged at error level and
    /// alerts the desks' admins, at most once a day.
    fn failed(&self, a: &Account, e: &AuthError) {
        self.set_ok(a, false);
        let why = crate::report(e).to_string();
        if !e.is_permanent() {
            tracing::warn!(account = %a.key, error = %why, "cannot get an access token; will retry");
            return;
        }
        tracing::error!(account = %a.key, error = %why, "the OAuth2 login does not work until someone acts");
        let desks: Vec<&DeskConfig> = match a.key.strip_prefix("desk:") {
            Some(name) => self.desks.iter().filter(|d| d.name == name).collect(),
            None => self.desks.iter().collect(),
        };
        let r = self.store.write(|tx| {
            if !tx.token_failed(&a.key, &why, ALERT_QUIET)? {
                return Ok::<_, StoreError>(());
            }
            for d in &desks {
                if d.admin.is_empty() {
                    continue;
                }
                let signer = self.store.signer();
                let what = match a.key.strip_prefix("desk:") {
                    Some(_) => format!("IMAP ({})", a.user),
                    None => format!("SMTP ({})", a.user),
                };
                let login = crate::outgoing::alert::LoginFailed {
                    what: &what,
                    why: &why,
                    login_args: &login_args(a),
                };
                match crate::outgoing::alert::login_failed(d, &login, signer) {
                    Ok(out) => {
                        let q = crate::store::Queued::on_no_ticket(
                            &d.name,
                            &d.address,
                            crate::model::MessageKind::Alert,
                            std::time::Duration::from_secs(5 * 86_400),
                        );
                        tx.queue_outgoing(&q, &out)?;
                    }
                    Err(e) => {
                        tracing::warn!(error = %crate::report(&e), "cannot compose the alert")
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            tracing::warn!(error = %crate::report(&e), "cannot record the login failure");
        }
    }
}

/// Gets a new access token for `a` (blocking: a command or HTTP).
fn fetch(store: &Store, a: &Account) -> Result<Token, AuthError> {
    match &a.source {
        TokenSource::Command(cmd) => {
            let out = crate::config::secret_command(cmd, crate::config::SECRET_COMMAND_TIMEOUT)
                .map_err(AuthError::Command)?;
            let token = out.lines().next().unwrap_or("").trim().to_string();
            if token.is_empty() {
                return Err(AuthError::Command("printed no token".into()));
            }
            Ok(Token {
                secret: Secret::new(token),
                expires_at: None,
            })
        }
        TokenSource::Provider(cfg) => {
            let row = store.token(&a.key)?;
            let Some(refresh) = row.and_then(|r| r.refresh_token) else {
                return Err(AuthError::NotLoggedIn(login_args(a)));
            };
            let g = provider::refresh(cfg, &refresh)?;
            // A rotated refresh token replaces the old one, which the
            // provider may no longer accept.
            store.token_ok(&a.key, g.refresh.as_deref(), g.expires_at)?;
            Ok(Token {
                secret: Secret::new(g.access),
                expires_at: g.expires_at,
            })
        }
    }
}

/// The `hilo auth login` arguments for an account.
pub fn login_args(a: &Account) -> String {
    match a.key.strip_prefix("desk:") {
        Some(d) => format!("--desk {d}"),
        None => "--smtp".into(),
    }
}

/// `hilo auth login`: the device authorization grant for `a`, with the URL
/// and code shown through `show`; keeps the refresh token. Blocking.
pub fn login(
    store: &Store,
    a: &Account,
    show: &mut dyn FnMut(&str, &str, Option<&str>),
) -> Result<Option<DateTime<Utc>>, AuthError> {
    let TokenSource::Provider(cfg) = &a.source else {
        return Err(AuthError::Config(format!(
            "{} gets its tokens from token_command: there is nothing to sign in to",
            a.key
        )));
    };
    let g = provider::device_login(cfg, show)?;
    let Some(refresh) = g.refresh.as_deref() else {
        return Err(AuthError::Config(
            "the provider gave no refresh token (Microsoft needs the offline_access scope)".into(),
        ));
    };
    store.token_ok(&a.key, Some(refresh), g.expires_at)?;
    Ok(g.expires_at)
}
