//! `hilo outbox list|flush`: outgoing mail and its delivery state.

use std::path::Path;

use clap::Subcommand;

use super::{exit, line, load_config, open_store, runtime};
use crate::daemon::App;

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

pub fn outbox(config: &Path, cmd: OutboxCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        OutboxCommand::List { json } => {
            let rows = store.outbox_list()?;
            if json {
                println!("{}", super::json(&rows)?);
            } else {
                println!(
                    "{:>5} {:<13} {:>8} {:>7} {:<30} SUBJECT",
                    "ID", "STATUS", "ATTEMPTS", "TICKET", "TO"
                );
                for r in &rows {
                    println!(
                        "{:>5} {:<13} {:>8} {:>7} {:<30} {}",
                        r.id,
                        r.status.as_str(),
                        r.attempts,
                        r.ticket.map(|t| t.to_string()).unwrap_or_default(),
                        line(&r.recipients.join(",")),
                        line(&r.subject)
                    );
                    if let Some(e) = &r.last_error {
                        println!("      last error: {}", line(e));
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
