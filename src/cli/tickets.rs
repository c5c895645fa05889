//! `hilo tickets list|show`.

use std::path::Path;

use clap::Subcommand;
use serde::Serialize;

use super::{exit, load_config, open_store};
use crate::config::Config;
use crate::mail::subject::TagMatcher;
use crate::model::Status;
use crate::store::{MessageView, TicketFilter, TicketView};

#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List tickets.
    List {
        #[arg(long)]
        desk: Option<String>,
        /// new, open, pending, resolved or closed.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with its messages.
    Show {
        number: i64,
        #[arg(long)]
        json: bool,
    },
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s).ok_or_else(|| "expected new, open, pending, resolved or closed".to_string())
}

fn with_tag(config: &Config, mut t: TicketView) -> TicketView {
    let tag = config.desk(&t.desk).map_or("?", |d| d.tag.as_str());
    t.tag = TagMatcher::new(tag).format(t.number);
    t
}

#[derive(Serialize)]
struct Detail {
    #[serde(flatten)]
    ticket: TicketView,
    messages: Vec<MessageView>,
}

pub fn tickets(config: &Path, cmd: TicketsCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        TicketsCommand::List { desk, status, json } => {
            let list: Vec<TicketView> = store
                .list_tickets(&TicketFilter { desk, status })?
                .into_iter()
                .map(|t| with_tag(&config, t))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<12} {:<10} {:<9} {:<30} {:>4}  SUBJECT",
                    "TICKET", "DESK", "STATUS", "REQUESTER", "MSGS"
                );
                for t in &list {
                    println!(
                        "{:<12} {:<10} {:<9} {:<30} {:>4}  {}",
                        t.tag,
                        t.desk,
                        t.status.as_str(),
                        t.requester,
                        t.messages,
                        t.subject
                    );
                }
            }
            Ok(exit::OK)
        }
        TicketsCommand::Show { number, json } => {
            let Some((t, messages)) = store.ticket_detail(number)? else {
                eprintln!("hilo: no ticket {number}");
                return Ok(exit::ERROR);
            };
            let ticket = with_tag(&config, t);
            if json {
                let d = Detail { ticket, messages };
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(exit::OK);
            }
            println!("{} {}", ticket.tag, ticket.subject);
            println!("desk:      {}", ticket.desk);
            println!("status:    {}", ticket.status.as_str());
            match &ticket.requester_name {
                Some(n) => println!("requester: {n} <{}>", ticket.requester),
                None => println!("requester: {}", ticket.requester),
            }
            println!("created:   {}", ticket.created_at);
            println!("updated:   {}", ticket.updated_at);
            if let Some(l) = ticket.linked_to {
                println!("linked to: ticket {l}");
            }
            for m in &messages {
                println!();
                let delivery = m
                    .delivery
                    .as_deref()
                    .map(|d| format!(" [{d}]"))
                    .unwrap_or_default();
                println!(
                    "--- {} {} from {} to {}{}",
                    m.direction,
                    m.kind,
                    m.from,
                    m.to.join(", "),
                    delivery
                );
                println!("    {} {}", m.date.as_deref().unwrap_or("-"), m.subject);
                for line in m.text.lines() {
                    println!("    {line}");
                }
            }
            Ok(exit::OK)
        }
    }
}
