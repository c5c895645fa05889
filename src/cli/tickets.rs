//! `hilo tickets`: list, show, act on one (close, reply, participants…),
//! merge, unmerge and split.

use std::path::Path;

use clap::Subcommand;
use serde::Serialize;

use super::{exit, line, load_config, open_store, shown};
use crate::config::Config;
use crate::mail::subject::TagMatcher;
use crate::manage::Action;
use crate::model::Status;
use crate::outgoing::templates::Templates;
use crate::pipeline::apply::Done;
use crate::pipeline::Intake;
use crate::sla::Measure;
use crate::store::{MessageView, ParticipantView, TicketFilter, TicketView};

#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List tickets.
    List {
        #[arg(long)]
        desk: Option<String>,
        /// new, open, pending, resolved or closed.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// `number` (the default), or `due`: the soonest due first, tickets
        /// with nothing due last.
        #[arg(long, value_enum, default_value_t = SortBy::Number)]
        sort: SortBy,
        /// Only tickets that broke a service level in their current episode.
        #[arg(long)]
        breached: bool,
        /// Only tickets due within this time from now (`4h`, `2d`), overdue
        /// ones included.
        #[arg(long, value_name = "DURATION", value_parser = parse_within)]
        due_within: Option<chrono::Duration>,
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
    Close {
        number: i64,
        #[command(flatten)]
        actor: Actor,
    },
    /// Reopen a ticket.
    Reopen {
        number: i64,
        #[command(flatten)]
        actor: Actor,
    },
    /// Assign a ticket to an agent.
    Assign {
        number: i64,
        assignee: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Add an internal note (never reaches the customer).
    Note {
        number: i64,
        #[command(flatten)]
        body: Body,
        #[command(flatten)]
        actor: Actor,
    },
    /// Answer the customer: relayed exactly like an agent's mail reply.
    Reply {
        number: i64,
        #[command(flatten)]
        body: Body,
        #[command(flatten)]
        actor: Actor,
    },
    /// Add or remove a Cc participant (who receives the answers).
    Participant {
        #[command(subcommand)]
        command: ParticipantCommand,
    },
    /// Merge ticket FROM into INTO: its messages, attachments and
    /// participants move to INTO, FROM closes as merged, and later mail
    /// for FROM lands on INTO. Nobody is mailed. Undo with `unmerge`.
    Merge {
        from: i64,
        into: i64,
        #[command(flatten)]
        actor: Actor,
    },
    /// Undo the last merge of FROM: what it moved goes back; mail that
    /// reached the target since stays there.
    Unmerge {
        from: i64,
        #[command(flatten)]
        actor: Actor,
    },
    /// Move a customer's message, and everything after it in its
    /// sub-thread, into a new ticket (a new topic in an old thread).
    Split {
        number: i64,
        /// The message's id, from `hilo tickets show NUMBER --json`.
        #[arg(long = "from", value_name = "MESSAGE")]
        message: i64,
        #[command(flatten)]
        actor: Actor,
    },
    /// List the attachments of a ticket's messages.
    Attachments {
        number: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write one attachment's bytes to a file (`-` for stdout).
    Attachment {
        number: i64,
        /// Its id, from `hilo tickets attachments`.
        id: i64,
        #[arg(long, short)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortBy {
    Number,
    Due,
}

fn parse_within(s: &str) -> Result<chrono::Duration, String> {
    humantime::parse_duration(s.trim())
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .ok_or_else(|| format!("`{s}` is not a duration (such as \"4h\" or \"2d\")"))
}

#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// Add a Cc participant: they receive every answer from now on.
    Add {
        number: i64,
        /// `Name <address>` or an address.
        address: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Remove a Cc participant (the requester and agents stay).
    Remove {
        number: i64,
        address: String,
        #[command(flatten)]
        actor: Actor,
    },
}

/// Who acts (recorded in the ticket's history; shown to the customer in replies).
#[derive(Debug, clap::Args)]
pub struct Actor {
    /// Agent address, optionally with a name: `Ana <ana@example.com>`. Default: $USER.
    #[arg(long = "as", value_name = "AGENT")]
    pub agent: Option<String>,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Body {
    /// Read the text from this file (`-` for stdin).
    #[arg(long)]
    pub body_file: Option<std::path::PathBuf>,
    /// The text itself.
    #[arg(long)]
    pub body: Option<String>,
}

impl Body {
    fn read(self) -> anyhow::Result<String> {
        use std::io::Read;
        match (self.body, self.body_file) {
            (Some(b), _) => Ok(b),
            (None, Some(p)) if p.as_os_str() == "-" => {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                Ok(s)
            }
            (None, Some(p)) => Ok(std::fs::read_to_string(&p)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?),
            (None, None) => unreachable!("clap requires one"),
        }
    }
}

impl Actor {
    fn mailbox(&self) -> crate::mail::Mailbox {
        let user = std::env::var("USER").unwrap_or_else(|_| "admin".into());
        let given = self
            .agent
            .clone()
            .unwrap_or_else(|| format!("{user}@localhost"));
        mailbox_of(&given)
    }
}

/// `Name <address>` or a bare address.
fn mailbox_of(given: &str) -> crate::mail::Mailbox {
    match given.rsplit_once('<') {
        Some((name, addr)) => crate::mail::Mailbox::new(
            addr.trim_end_matches('>').trim(),
            Some(name.trim().trim_matches('"').to_string()),
        ),
        None => crate::mail::Mailbox::new(given.trim(), None),
    }
}

fn act(
    config: &Config,
    store: crate::store::Store,
    number: i64,
    actor: &Actor,
    action: Action,
    done: &str,
) -> anyhow::Result<u8> {
    moved(config, store, number, actor, action, |_| {
        format!("{done} ticket {number}")
    })
}

/// Carries out `action` and prints what it did, or why it was refused.
fn moved(
    config: &Config,
    store: crate::store::Store,
    number: i64,
    actor: &Actor,
    action: Action,
    say: impl Fn(&Done) -> String,
) -> anyhow::Result<u8> {
    let intake = Intake::new(config, store, Templates::load(config)?);
    match intake.act(number, &actor.mailbox(), action)? {
        Ok(done) => {
            println!("{}", say(&done));
            Ok(exit::OK)
        }
        Err(why) => {
            eprintln!("hilo: {why}");
            Ok(exit::ERROR)
        }
    }
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
    /// `null` when the desk promises nothing.
    sla: Option<Measure>,
    participants: Vec<ParticipantView>,
    messages: Vec<MessageView>,
}

/// A row of `tickets list --json`: the ticket, and where it stands.
#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    ticket: TicketView,
    sla: Option<Standing>,
}

#[derive(Serialize)]
struct Standing {
    standing: crate::sla::Standing,
    #[serde(serialize_with = "crate::store::serialize_ts_opt")]
    due_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Ticket `t`'s service levels now, by its desk's, from its timeline;
/// `None` when the desk has none (or is no longer configured).
fn measured(
    config: &Config,
    store: &crate::store::Store,
    t: &TicketView,
    timeline: &crate::sla::Timeline,
) -> Option<Measure> {
    let desk = config.desk(&t.desk)?;
    let sla = desk.sla.as_ref()?;
    Some(sla.measure(t.priority, timeline, &desk.calendar, store.now()))
}

pub fn tickets(config: &Path, cmd: TicketsCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    match cmd {
        TicketsCommand::List {
            desk,
            status,
            sort,
            breached,
            due_within,
            json,
        } => {
            let asks = sort == SortBy::Due || breached || due_within.is_some();
            // Every timeline in one query, not one a ticket.
            let timelines: std::collections::HashMap<i64, crate::sla::Timeline> = if asks || json {
                let (from, to) = (
                    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                    "9999-12-31T00:00:00Z".parse().unwrap_or_default(),
                );
                store
                    .timelines(desk.as_deref(), from, to)?
                    .into_iter()
                    .map(|r| (r.number, r.timeline))
                    .collect()
            } else {
                Default::default()
            };
            let mut list: Vec<Listed> = Vec::new();
            for t in store.list_tickets(&TicketFilter { desk, status })? {
                let m = timelines
                    .get(&t.number)
                    .and_then(|tl| measured(&config, &store, &t, tl));
                let sla = m.map(|m| Standing {
                    standing: m.standing,
                    due_at: m.due_at,
                });
                let (standing, due) = (
                    sla.as_ref().map(|s| s.standing),
                    sla.as_ref().and_then(|s| s.due_at),
                );
                if breached && standing != Some(crate::sla::Standing::Breached) {
                    continue;
                }
                if let Some(w) = due_within {
                    if due.is_none_or(|d| d > store.now() + w) {
                        continue;
                    }
                }
                list.push(Listed {
                    ticket: with_tag(&config, t),
                    sla,
                });
            }
            if sort == SortBy::Due {
                // Soonest first; nothing due last, by number.
                list.sort_by_key(|l| {
                    let due = l.sla.as_ref().and_then(|s| s.due_at);
                    (due.is_none(), due, l.ticket.number)
                });
            }
            if json {
                println!("{}", super::json(&list)?);
            } else {
                let due_col = asks;
                if due_col {
                    println!(
                        "{:<12} {:<10} {:<9} {:<9} {:<20} {:<30} {:>4}  SUBJECT",
                        "TICKET", "DESK", "STATUS", "SLA", "DUE", "REQUESTER", "MSGS"
                    );
                } else {
                    println!(
                        "{:<12} {:<10} {:<9} {:<30} {:>4}  SUBJECT",
                        "TICKET", "DESK", "STATUS", "REQUESTER", "MSGS"
                    );
                }
                for l in &list {
                    let t = &l.ticket;
                    let sla = if due_col {
                        let (standing, due) = match &l.sla {
                            Some(s) => (
                                s.standing.name().to_string(),
                                s.due_at.map(crate::store::ts).unwrap_or_else(|| "-".into()),
                            ),
                            None => ("-".into(), "-".into()),
                        };
                        format!("{standing:<9} {due:<20} ")
                    } else {
                        String::new()
                    };
                    println!(
                        "{:<12} {:<10} {:<9} {sla}{:<30} {:>4}  {}",
                        t.tag,
                        t.desk,
                        t.status.as_str(),
                        line(&t.requester),
                        t.messages,
                        line(&t.subject)
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
            let sla = measured(&config, &store, &t, &store.timeline(number)?);
            let ticket = with_tag(&config, t);
            let participants = store.participants(number)?;
            if json {
                let d = Detail {
                    ticket,
                    sla,
                    participants,
                    messages,
                };
                println!("{}", super::json(&d)?);
                return Ok(exit::OK);
            }
            println!("{} {}", ticket.tag, line(&ticket.subject));
            println!("desk:      {}", ticket.desk);
            println!("status:    {}", ticket.status.as_str());
            match &ticket.requester_name {
                Some(n) => println!("requester: {} <{}>", line(n), line(&ticket.requester)),
                None => println!("requester: {}", line(&ticket.requester)),
            }
            println!("created:   {}", crate::store::ts(ticket.created_at));
            println!("updated:   {}", crate::store::ts(ticket.updated_at));
            if let Some(m) = &sla {
                println!("sla:       {}", m.standing.name());
                for c in m.episodes.last().map_or(&[][..], |e| &e.clocks[..]) {
                    println!("  {}", clock_line(c));
                }
            }
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
            if let Some(into) = ticket.merged_into {
                println!("merged into: {} (its mail goes there)", tag_of(into));
            }
            if !ticket.merged_from.is_empty() {
                let from: Vec<String> = ticket.merged_from.iter().map(|n| tag_of(*n)).collect();
                println!("merged from: {}", from.join(", "));
            }
            println!("participants (the requester and Cc receive the answers):");
            for p in &participants {
                let who = match &p.name {
                    Some(n) => format!("{} <{}>", line(n), line(&p.address)),
                    None => line(&p.address).into_owned(),
                };
                println!(
                    "  {:<9} {who}: {}{}",
                    p.role,
                    p.joined.as_deref().unwrap_or("-"),
                    p.joined_at
                        .as_deref()
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default()
                );
            }
            for m in &messages {
                println!();
                let delivery = m
                    .delivery
                    .as_deref()
                    .map(|d| format!(" [{d}]"))
                    .unwrap_or_default();
                println!(
                    "--- #{} {} {} from {} to {}{}",
                    m.id,
                    m.direction,
                    m.kind,
                    line(&m.from),
                    line(&m.to.join(", ")),
                    delivery
                );
                println!(
                    "    {} {}",
                    m.date.as_deref().unwrap_or("-"),
                    line(&m.subject)
                );
                if let Some(note) = &m.note {
                    println!("    ({})", line(note));
                }
                // The new text; the full one (with quoted history) is in --json.
                let text = m
                    .new_text
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .unwrap_or(&m.text);
                for l in shown(text, true).lines() {
                    println!("    {l}");
                }
            }
            Ok(exit::OK)
        }
        TicketsCommand::Merge { from, into, actor } => moved(
            &config,
            store,
            from,
            &actor,
            Action::Merge { into },
            |done| {
                let Done::Merged(m) = done else {
                    return format!("{done:?}");
                };
                format!(
                    "merged ticket {} into {}: {} messages, {} participants added{}",
                    m.from,
                    m.into,
                    m.messages,
                    m.participants.len(),
                    match m.participants.as_slice() {
                        [] => String::new(),
                        p => format!(" ({})", p.join(", ")),
                    }
                )
            },
        ),
        TicketsCommand::Unmerge { from, actor } => {
            moved(&config, store, from, &actor, Action::Unmerge, |done| {
                let Done::Unmerged(u) = done else {
                    return format!("{done:?}");
                };
                format!(
                    "unmerged ticket {} from {}: {} messages and {} participants back; {} messages that arrived since stay on {}",
                    u.from, u.into, u.messages, u.participants, u.stayed, u.into
                )
            })
        }
        TicketsCommand::Split {
            number,
            message,
            actor,
        } => moved(
            &config,
            store,
            number,
            &actor,
            Action::Split { message },
            |done| {
                let Done::Split(s) = done else {
                    return format!("{done:?}");
                };
                format!(
                    "split {} messages of ticket {} into new ticket {}",
                    s.messages, s.from, s.into
                )
            },
        ),
        TicketsCommand::Close { number, actor } => {
            act(&config, store, number, &actor, Action::Close, "closed")
        }
        TicketsCommand::Reopen { number, actor } => {
            act(&config, store, number, &actor, Action::Reopen, "reopened")
        }
        TicketsCommand::Assign {
            number,
            assignee,
            actor,
        } => act(
            &config,
            store,
            number,
            &actor,
            Action::Assign(assignee.to_ascii_lowercase()),
            "assigned",
        ),
        TicketsCommand::Note {
            number,
            body,
            actor,
        } => act(
            &config,
            store,
            number,
            &actor,
            Action::Note(body.read()?),
            "note added to",
        ),
        TicketsCommand::Reply {
            number,
            body,
            actor,
        } => act(
            &config,
            store,
            number,
            &actor,
            Action::Reply(body.read()?),
            "reply queued for",
        ),
        TicketsCommand::Participant {
            command:
                ParticipantCommand::Add {
                    number,
                    address,
                    actor,
                },
        } => {
            let who = mailbox_of(&address);
            if !who.address.contains('@') {
                eprintln!("hilo: `{}` is not an address", line(&address));
                return Ok(exit::USAGE);
            }
            act(
                &config,
                store,
                number,
                &actor,
                Action::AddParticipant(who),
                "participant added to",
            )
        }
        TicketsCommand::Participant {
            command:
                ParticipantCommand::Remove {
                    number,
                    address,
                    actor,
                },
        } => act(
            &config,
            store,
            number,
            &actor,
            Action::RemoveParticipant(address.trim().to_ascii_lowercase()),
            "participant removed from",
        ),
        TicketsCommand::Attachments { number, json } => {
            let list = store.attachments(number)?;
            if json {
                println!("{}", super::json(&list)?);
            } else {
                println!("{:>6} {:>10} {:<30} NAME", "ID", "BYTES", "TYPE");
                for a in &list {
                    println!(
                        "{:>6} {:>10} {:<30} {}",
                        a.id,
                        a.size,
                        line(&a.content_type),
                        line(a.filename.as_deref().unwrap_or("-"))
                    );
                }
            }
            Ok(exit::OK)
        }
        TicketsCommand::Attachment { number, id, out } => {
            let Some(bytes) = store.attachment_content(number, id)? else {
                eprintln!("hilo: ticket {number} has no attachment {id}");
                return Ok(exit::ERROR);
            };
            if out.as_os_str() == "-" {
                use std::io::Write;
                std::io::stdout().write_all(&bytes)?;
            } else {
                std::fs::write(&out, &bytes)?;
                eprintln!("wrote {} bytes to {}", bytes.len(), out.display());
            }
            Ok(exit::OK)
        }
    }
}

/// One clock for people: `first_response  met after 1h 5m (target 4h)`.
fn clock_line(c: &crate::sla::Clock) -> String {
    let span = |secs: i64| {
        humantime::format_duration(std::time::Duration::from_secs(secs.max(0) as u64)).to_string()
    };
    let target = c
        .target_secs
        .map_or("no target".to_string(), |t| format!("target {}", span(t)));
    let state = match (c.stop, c.breached, c.paused) {
        (Some(crate::sla::Stop::Met), false, _) => format!("met after {}", span(c.elapsed_secs)),
        (Some(crate::sla::Stop::Met), true, _) => {
            format!("met late, after {}", span(c.elapsed_secs))
        }
        (Some(crate::sla::Stop::Ended), _, _) => format!("ended after {}", span(c.elapsed_secs)),
        (None, true, _) => format!("BREACHED, {} so far", span(c.elapsed_secs)),
        (None, false, true) => format!("paused, {} so far", span(c.elapsed_secs)),
        (None, false, false) => match c.due_at {
            Some(d) => format!(
                "due {}, {} so far",
                crate::store::ts(d),
                span(c.elapsed_secs)
            ),
            None => format!("{} so far", span(c.elapsed_secs)),
        },
    };
    let which = c.which.name();
    format!("{which:<15} {state} ({target})")
}
