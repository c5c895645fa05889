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
    /// Close a ticket (a customer's reply within the desk's reopen_days reopens it).
    Close { number: i64 },
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
            let tag_of = |n: i64| {
                TagMatcher::new(config.desk(&ticket.desk).map_or("?", |d| d.tag.as_str())).format(n)
            };
            if let Some(l) = ticket.linked_to {
                println!("linked to: {}", tag_of(l));
            }
            if !ticket.linked_from.is_empty() {
                let from: Vec<String> = ticket.linked_from.iter().map(|n| tag_of(*n)).collect();
                println!("linked from: {}", from.join(", "));
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
                if let Some(note) = &m.note {
                    println!("    ({note})");
                }
                // The new text; the full one (with quoted history) is in --json.
                let text = m
                    .new_text
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .unwrap_or(&m.text);
                for line in text.lines() {
                    println!("    {line}");
                }
            }
            Ok(exit::OK)
        }
        TicketsCommand::Close { number } => {
            let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            match store.set_ticket_status(number, Status::Closed, &actor) {
                Ok(()) => {
                    println!("closed ticket {number}");
                    Ok(exit::OK)
                }
                Err(crate::store::StoreError::NoSuchTicket(n)) => {
                    eprintln!("hilo: no ticket {n}");
                    Ok(exit::ERROR)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
