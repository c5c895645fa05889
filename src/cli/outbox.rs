//! `hilo outbox list|flush` and `hilo quarantine list`.

use std::path::Path;

use clap::Subcommand;

use super::{exit, load_config, open_store, runtime};
use crate::daemon::App;
use crate::intake::{Intake, Outcome};
use crate::template::Templates;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outgoing mail and its delivery state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Send everything that is due now, then exit.
    Flush,
}

#[derive(Debug, Subcommand)]
pub enum AsideCommand {
    /// List machines' mail that matched no ticket, with the reason.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn aside(config: &Path, cmd: AsideCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    let AsideCommand::List { json } = cmd;
    let rows = store.aside_list()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:>6} {:<10} {:<10} {:<30} {:<40} SUBJECT",
            "ID", "DESK", "KIND", "FROM", "REASON"
        );
        for r in &rows {
            println!(
                "{:>6} {:<10} {:<10} {:<30} {:<40} {}",
                r.id,
                r.desk,
                r.kind,
                r.from,
                r.reason.as_deref().unwrap_or(""),
                r.subject
            );
        }
    }
    Ok(exit::OK)
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List messages that could not be processed.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run a quarantined message through the pipeline again.
    Retry { id: i64 },
}

pub fn outbox(config: &Path, cmd: OutboxCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        OutboxCommand::List { json } => {
            let rows = store.outbox_list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:>5} {:<13} {:>8} {:>7} {:<30} SUBJECT",
                    "ID", "STATUS", "ATTEMPTS", "TICKET", "TO"
                );
                for r in &rows {
                    println!(
                        "{:>5} {:<13} {:>8} {:>7} {:<30} {}",
                        r.id,
                        r.status,
                        r.attempts,
                        r.ticket.map(|t| t.to_string()).unwrap_or_default(),
                        r.recipients.join(","),
                        r.subject
                    );
                    if let Some(e) = &r.last_error {
                        println!("      last error: {e}");
                    }
                }
            }
            Ok(exit::OK)
        }
        OutboxCommand::Flush => {
            let (f, why) = runtime()?.block_on(async move {
                let app = App::with_store(config, store)?;
                let f = app.sender.flush().await?;
                anyhow::Ok((f, app.sender.relay_error()))
            })?;
            println!("{} sent, {} to retry, {} failed", f.sent, f.retry, f.failed);
            if f.relay_down {
                println!(
                    "relay unreachable, the rest waits: {}",
                    why.unwrap_or_default()
                );
            }
            Ok(if f.retry > 0 || f.relay_down {
                exit::TEMPFAIL
            } else {
                exit::OK
            })
        }
    }
}

pub fn quarantine(config: &Path, cmd: QuarantineCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        QuarantineCommand::List { json } => {
            let rows = store.quarantine_list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:>5} {:<10} {:>7} {:>8} {:<24} REASON",
                    "ID", "DESK", "UID", "BYTES", "WHEN"
                );
                for r in &rows {
                    println!(
                        "{:>5} {:<10} {:>7} {:>8} {:<24} {}",
                        r.id,
                        r.desk,
                        r.uid.map(|u| u.to_string()).unwrap_or_default(),
                        r.size,
                        r.created_at,
                        r.reason
                    );
                }
            }
            Ok(exit::OK)
        }
        QuarantineCommand::Retry { id } => {
            let intake = Intake::new(&config, store, Templates::load(&config)?);
            let Some((desk, _)) = intake.store().quarantined(id)? else {
                eprintln!("hilo: no quarantined message {id}");
                return Ok(exit::ERROR);
            };
            let Some(outcome) = intake.retry_quarantined(id)? else {
                return Ok(exit::ERROR);
            };
            let rt = intake.desk(&desk).expect("retry checked the desk");
            println!("{}", super::describe(&rt, &outcome));
            Ok(match outcome {
                Outcome::Quarantined { .. } => exit::ERROR,
                _ => exit::OK,
            })
        }
    }
}
