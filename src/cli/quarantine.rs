//! `hilo quarantine list|retry`: mail that could not be processed, kept raw.

use std::path::Path;

use clap::Subcommand;

use super::{exit, line, load_config, open_store};
use crate::outgoing::templates::Templates;
use crate::pipeline::{Intake, Outcome};

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

pub fn quarantine(config: &Path, cmd: QuarantineCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        QuarantineCommand::List { json } => {
            let rows = store.quarantine_list()?;
            if json {
                println!("{}", super::json(&rows)?);
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
                        line(&r.reason)
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
