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
    runtime()?.block_on(async {
        let t = config.intake.command_timeout;
        for d in &config.desks {
            let what = format!("imap {} {}:{}", d.name, d.imap.host, d.imap.port);
            match crate::watcher::connect(&d.imap, t).await {
                Ok((mut session, mb)) => {
                    let caps: Vec<&str> = [("IDLE", mb.idle), ("MOVE", mb.moves), ("UIDPLUS", mb.uidplus)]
                        .iter()
                        .filter(|(_, on)| *on)
                        .map(|(c, _)| *c)
                        .collect();
                    let _ = session.logout().await;
                    let mut note = format!(
                        "ok ({}, {} selected; {})",
                        security(d.imap.security),
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
        let auth = if config.smtp.username.is_some() { ", AUTH" } else { "" };
        match crate::sender::test_connection(&config.smtp).await {
            Ok(()) => row(&what, &format!("ok (EHLO, {}{auth})", security(config.smtp.security))),
            Err(e) => {
                row(&what, &format!("FAILED: {}", e));
                return Ok(exit::TEMPFAIL);
            }
        }
        Ok(exit::OK)
    })
}
