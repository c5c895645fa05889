//! `hilo check [--offline]`: validates the configuration and templates,
//! then (unless offline) connects to every desk's IMAP and to SMTP. Prints a
//! table of what works; stops with the reason at the first problem.

use std::path::Path;

use super::{exit, runtime};
use crate::config::{Config, Security};
use crate::outgoing::templates::Templates;

fn row(what: &str, result: &str) {
    println!("{what:<44} {result}");
}

fn security(s: Security) -> &'static str {
    match s {
        Security::None => "plain",
        Security::Starttls => "STARTTLS",
        Security::Tls => "TLS",
    }
}

/// How a login went: the mechanism, and for a token how long it has left.
fn login(used: &crate::watcher::LoginInfo) -> String {
    match used.token_expires {
        Some(at) => {
            let left = at
                .signed_duration_since(chrono::Utc::now())
                .num_minutes()
                .max(0);
            format!("{}, token valid {left} min more", used.mechanism)
        }
        None => used.mechanism.to_string(),
    }
}

pub fn check(path: &Path, offline: bool) -> anyhow::Result<u8> {
    println!("{:<44} RESULT", "CHECK");
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            row(
                &format!("config {}", path.display()),
                &format!("FAILED: {}", crate::report(&e)),
            );
            return Ok(exit::CONFIG);
        }
    };
    row(
        &format!("config {}", path.display()),
        &format!("ok ({} desks)", config.desks.len()),
    );
    for w in config.warnings() {
        row("config", &format!("warning: {w}"));
    }
    if let Err(e) = Templates::load(&config) {
        row("templates", &format!("FAILED: {}", crate::report(&e)));
        return Ok(exit::CONFIG);
    }
    row("templates", "ok");
    if offline {
        return Ok(exit::OK);
    }
    // Token state lives in the database: `check` reads it, and a token it
    // gets (or the refusal it meets) is recorded as the daemon would.
    let store = super::open_store(&config)?;
    let tokens = crate::auth::Tokens::new(store, &config);
    runtime()?.block_on(async {
        let t = config.intake.command_timeout;
        for d in &config.desks {
            let what = format!("imap {} {}:{}", d.name, d.imap.host, d.imap.port);
            let account = crate::auth::Account::imap(d);
            let oauth = account.as_ref().map(|a| (&*tokens, a));
            let mut used = crate::watcher::LoginInfo::default();
            match crate::watcher::connect_as(&d.imap, t, oauth, &mut used).await {
                Ok((mut session, mb)) => {
                    let caps: Vec<&str> = [("IDLE", mb.idle), ("MOVE", mb.moves), ("UIDPLUS", mb.uidplus)]
                        .iter()
                        .filter(|(_, on)| *on)
                        .map(|(c, _)| *c)
                        .collect();
                    let _ = session.logout().await;
                    let mut note = format!(
                        "ok ({}, {}, {} selected; {})",
                        security(d.imap.security),
                        login(&used),
                        d.imap.folder,
                        if caps.is_empty() { "no IDLE: polling".to_string() } else { caps.join(" ") }
                    );
                    if let crate::config::After::Move(_) = d.after {
                        if !mb.moves && !mb.uidplus {
                            note.push_str("; warning: no MOVE nor UIDPLUS, moved mail is only flagged \\Deleted");
                        }
                    }
                    row(&what, &note);
                }
                Err(e) => {
                    row(&what, &format!("FAILED: {}", crate::report(&e)));
                    return Ok(exit::TEMPFAIL);
                }
            }
        }
        let what = format!("smtp {}:{}", config.smtp.host, config.smtp.port);
        match crate::sender::test_connection(&config.smtp, Some(tokens.clone())).await {
            Ok(used) if used.mechanism.is_empty() => {
                row(&what, &format!("ok (EHLO, {})", security(config.smtp.security)))
            }
            Ok(used) => row(
                &what,
                &format!("ok (EHLO, {}, AUTH {})", security(config.smtp.security), login(&used)),
            ),
            Err(e) => {
                row(&what, &format!("FAILED: {e}"));
                return Ok(exit::TEMPFAIL);
            }
        }
        Ok(exit::OK)
    })
}
