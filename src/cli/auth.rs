//! `hilo auth login|status`: OAuth2 sign-in for mailboxes and the relay
//! that use `provider`, and every OAuth2 login's state.

use std::path::Path;

use clap::Subcommand;

use super::{exit, line, load_config, open_store};
use crate::auth::Account;
use crate::config::TokenSource;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in once with the device authorization grant (RFC 8628): prints
    /// a URL and a code to enter in any browser, then keeps the refresh
    /// token in the database.
    Login {
        /// The desk whose mailbox signs in.
        #[arg(long, conflicts_with = "smtp", required_unless_present = "smtp")]
        desk: Option<String>,
        /// The SMTP relay's login instead.
        #[arg(long)]
        smtp: bool,
    },
    /// Every OAuth2 login: where its tokens come from, whether it works,
    /// and when the last token expires.
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub fn auth(config: &Path, cmd: AuthCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        AuthCommand::Login { desk, smtp } => {
            let account = if smtp {
                Account::smtp(&config)
            } else {
                let name = desk.unwrap_or_default();
                let Some(d) = config.desk(&name) else {
                    eprintln!("hilo: no desk named `{}`", line(&name));
                    return Ok(exit::USAGE);
                };
                Account::imap(d)
            };
            let Some(account) = account else {
                eprintln!("hilo: that login does not use auth = \"oauth2\"");
                return Ok(exit::CONFIG);
            };
            let mut show = |uri: &str, code: &str, complete: Option<&str>| {
                println!(
                    "To let hilo use {} for {}, open {uri} in any browser and enter the code {code}",
                    account.user, account.key
                );
                if let Some(c) = complete {
                    println!("(or open {c})");
                }
                println!("Waiting for you to sign in…");
            };
            match crate::auth::login(&store, &account, &mut show) {
                Ok(expires) => {
                    let left = expires
                        .map(|e| {
                            format!(
                                "; this access token is valid {} min more",
                                e.signed_duration_since(chrono::Utc::now())
                                    .num_minutes()
                                    .max(0)
                            )
                        })
                        .unwrap_or_default();
                    println!("signed in: {} keeps its refresh token{left}", account.key);
                    Ok(exit::OK)
                }
                Err(e) if !e.is_permanent() => {
                    eprintln!("hilo: {}", crate::report(&e));
                    Ok(exit::TEMPFAIL)
                }
                Err(e) => {
                    eprintln!("hilo: {}", crate::report(&e));
                    Ok(exit::ERROR)
                }
            }
        }
        AuthCommand::Status { json } => {
            let rows: Vec<serde_json::Value> = Account::all(&config)
                .iter()
                .map(|a| {
                    let row = store.token(&a.key).ok().flatten().unwrap_or_default();
                    let source = match &a.source {
                        TokenSource::Command(_) => "token_command".to_string(),
                        TokenSource::Provider(p) => format!("{:?}", p.provider).to_lowercase(),
                    };
                    let state = match (&row.error, &a.source) {
                        (Some(e), _) => format!(
                            "failing since {}: {e}",
                            row.failing_since.map_or("?".to_string(), crate::store::ts)
                        ),
                        (None, TokenSource::Provider(_)) if !row.logged_in() => {
                            format!(
                                "not signed in: run `hilo auth login {}`",
                                crate::auth::login_args(a)
                            )
                        }
                        (None, _) => "ok".to_string(),
                    };
                    serde_json::json!({
                        "account": a.key,
                        "user": a.user,
                        "source": source,
                        "signed_in": row.logged_in(),
                        "state": state,
                        "token_expires": row.expires_at.map(crate::store::ts),
                        "alerted_at": row.alerted_at.map(crate::store::ts),
                    })
                })
                .collect();
            if json {
                println!("{}", super::json(&rows)?);
                return Ok(exit::OK);
            }
            if rows.is_empty() {
                println!("no login uses auth = \"oauth2\"");
                return Ok(exit::OK);
            }
            println!(
                "{:<20} {:<30} {:<14} {:<26} STATE",
                "ACCOUNT", "USER", "SOURCE", "TOKEN EXPIRES"
            );
            for r in &rows {
                let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
                println!(
                    "{:<20} {:<30} {:<14} {:<26} {}",
                    line(&s("account")),
                    line(&s("user")),
                    s("source"),
                    s("token_expires"),
                    line(&s("state"))
                );
            }
            Ok(exit::OK)
        }
    }
}
