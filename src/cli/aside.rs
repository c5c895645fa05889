//! `hilo aside list`: machines' mail that matched no ticket, with the reason.

use std::path::Path;

use clap::Subcommand;

use super::{exit, line, load_config, open_store};

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
        println!("{}", super::json(&rows)?);
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
                line(&r.from),
                line(r.reason.as_deref().unwrap_or("")),
                line(&r.subject)
            );
        }
    }
    Ok(exit::OK)
}
