//! Command-line interface: argument parsing and one module per command
//! group. Data goes to stdout, logs to stderr.

mod aside;
mod auth;
mod check;
mod faq;
mod import;
mod ingest;
mod outbox;
mod quarantine;
mod report;
mod run;
mod tickets;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::outgoing::templates::TemplateError;
use crate::sender::SmtpSetupError;
use crate::store::StoreError;
use crate::watcher::ImapError;

/// Exit codes (sysexits.h where one fits).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    /// EX_UNAVAILABLE: a mail server bounces the message with our words.
    pub const UNAVAILABLE: u8 = 69;
    pub const TEMPFAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

#[derive(Debug, Parser)]
#[command(name = "hilo", version, about = "Email-threaded helpdesk daemon")]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "HILO_CONFIG",
        default_value = "/etc/hilo/hilo.toml"
    )]
    pub config: PathBuf,
    /// Log format on stderr: text (for terminals) or json (journald, shippers).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration and templates, then the mail servers.
    Check {
        /// Only the configuration and templates; connect to nothing.
        #[arg(long)]
        offline: bool,
    },
    /// Write a consistent copy of the database to FILE, also while hilo runs.
    Backup { file: PathBuf },
    /// Watch every desk's mailbox and send mail until SIGTERM/SIGINT.
    Run {
        /// One pass: fetch what is new, send what is due, exit.
        #[arg(long)]
        once: bool,
        /// With --once: leave the outbox for later (nothing is sent).
        #[arg(long, requires = "once")]
        no_send: bool,
    },
    /// Process one raw message from FILE or stdin, as a mail server's pipe would.
    Ingest {
        /// The desk the message was addressed to.
        #[arg(long)]
        desk: String,
        /// Message file; `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },
    /// Import old mail (a folder, or an mbox file) as tickets without acknowledgements.
    Import {
        #[arg(long)]
        desk: String,
        /// Only mail received on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// IMAP folder of the desk's account (default: the watched folder).
        #[arg(long, conflicts_with = "mbox")]
        folder: Option<String>,
        /// Read an mbox file instead of IMAP.
        #[arg(long)]
        mbox: Option<PathBuf>,
    },
    /// Tickets.
    Tickets {
        #[command(subcommand)]
        command: tickets::TicketsCommand,
    },
    /// Outgoing mail.
    Outbox {
        #[command(subcommand)]
        command: outbox::OutboxCommand,
    },
    /// Machines' mail that matched no ticket (auto-replies, bounces, lists, own mail).
    Aside {
        #[command(subcommand)]
        command: aside::AsideCommand,
    },
    /// Messages that could not be parsed.
    Quarantine {
        #[command(subcommand)]
        command: quarantine::QuarantineCommand,
    },
    /// The team's figures over a period: first-response, next-response and
    /// resolution times (p50/p90), opened, reopened, resolved and breached.
    Report(report::ReportArgs),
    /// OAuth2 logins (Microsoft 365, Google Workspace): sign in, see their state.
    Auth {
        #[command(subcommand)]
        command: auth::AuthCommand,
    },
    /// A desk's knowledge file: what it answers to a text, and its
    /// precision and recall on a labelled set.
    Faq {
        #[command(subcommand)]
        command: faq::FaqCommand,
    },
    /// For developers: how often the new text of the `.eml` files under DIR
    /// matches the `new_text` of their `.expect.toml`, by class.
    Corpus {
        dir: PathBuf,
        /// Also print each file whose new text differs, with both texts.
        #[arg(long)]
        misses: bool,
    },
    /// The configuration file's keys.
    #[command(name = "config")]
    ConfigKeys {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Every key with its type, default and what it does, as a Markdown table.
    Keys,
    /// The same as the manual page hilo.toml(5), in roff.
    Man,
}

/// Text a sender wrote, safe to print on a terminal: control characters
/// (ESC and its sequences among them), DEL, C1 controls and the bidi
/// overrides that reorder what is shown become visible `\u{..}` escapes,
/// so a subject cannot clear the screen, rewrite a line or fake a table
/// row. Line breaks stay when `lines` is set (message text), nowhere else.
pub fn shown(s: &str, lines: bool) -> std::borrow::Cow<'_, str> {
    let bad =
        |c: char| (c.is_control() && !(lines && (c == '\n' || c == '\t'))) || is_bidi_control(c);
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The bidi controls that reorder what a terminal or a mail client shows.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `value` as pretty JSON, safe on a terminal: C1 controls, DEL and bidi
/// controls are written as `\uXXXX` escapes (serde_json escapes only C0),
/// which decode to the same text. They can only occur inside strings.
pub fn json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let raw = serde_json::to_string_pretty(value)?;
    let bad = |c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c);
    if !raw.chars().any(bad) {
        return Ok(raw);
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// One line of [`shown`] text.
fn line(s: &str) -> std::borrow::Cow<'_, str> {
    shown(s, false)
}

/// A failure the caller should retry later (exit 75).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Temporary(pub String);

/// Runs a parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check { offline } => check::check(&cli.config, offline),
        Command::Backup { file } => {
            let config = load_config(&cli.config)?;
            crate::store::Store::backup(&config.store.path, &file)?;
            println!(
                "backed up {} to {}",
                config.store.path.display(),
                file.display()
            );
            Ok(exit::OK)
        }
        Command::Run { once, no_send } => run::run(&cli.config, once, !no_send),
        Command::Ingest { desk, file } => ingest::ingest(&cli.config, &desk, file.as_deref()),
        Command::Import {
            desk,
            since,
            folder,
            mbox,
        } => import::import(
            &cli.config,
            import::ImportArgs {
                desk: &desk,
                since,
                folder: folder.as_deref(),
                mbox: mbox.as_deref(),
            },
        ),
        Command::Tickets { command } => tickets::tickets(&cli.config, command),
        Command::Outbox { command } => outbox::outbox(&cli.config, command),
        Command::Quarantine { command } => quarantine::quarantine(&cli.config, command),
        Command::Aside { command } => aside::aside(&cli.config, command),
        Command::Auth { command } => auth::auth(&cli.config, command),
        Command::Report(args) => report::report(&cli.config, args),
        Command::Faq { command } => faq::faq(&cli.config, command),
        Command::Corpus { dir, misses } => {
            let summary = crate::corpus::run(&dir)?;
            if misses {
                for c in summary.misses() {
                    println!("--- {} ({})", c.path.display(), c.class);
                    println!("expected:\n{}", shown(&c.expected, true));
                    match &c.got {
                        Ok(t) => println!("got:\n{}", shown(t, true)),
                        Err(e) => println!("does not parse: {e}"),
                    }
                }
            }
            println!("{summary}");
            Ok(exit::OK)
        }
        Command::ConfigKeys {
            command: ConfigCommand::Keys,
        } => {
            print!("{}", crate::config::keys::reference());
            Ok(exit::OK)
        }
        Command::ConfigKeys {
            command: ConfigCommand::Man,
        } => {
            print!("{}", crate::config::keys::man_page());
            Ok(exit::OK)
        }
    }
}

/// The exit code an error deserves, from the first cause that tells.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<ConfigError>() || cause.is::<TemplateError>() || cause.is::<SmtpSetupError>()
        {
            return exit::CONFIG;
        }
        if cause.is::<Temporary>() {
            return exit::TEMPFAIL;
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return if e.is_temporary() {
                exit::TEMPFAIL
            } else {
                exit::ERROR
            };
        }
        if cause.is::<ImapError>() {
            return exit::TEMPFAIL;
        }
    }
    exit::ERROR
}

/// One line saying what became of a message.
fn describe(desk: &crate::pipeline::DeskRuntime, o: &crate::pipeline::Outcome) -> String {
    use crate::pipeline::Outcome;
    match o {
        Outcome::Opened {
            ticket,
            acknowledged,
        } => format!(
            "opened {}{}",
            desk.tags.format(*ticket),
            if *acknowledged {
                ", acknowledgement queued"
            } else {
                ""
            }
        ),
        Outcome::Appended { ticket } => format!("added to {}", desk.tags.format(*ticket)),
        Outcome::SetAside { kind, reason } => format!("set aside ({kind}: {reason})"),
        Outcome::Duplicate => "already stored".into(),
        Outcome::Quarantined { id, reason } => format!("quarantined as {id}: {reason}"),
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    Ok(Config::load(path)?)
}

fn open_store(config: &Config) -> anyhow::Result<crate::store::Store> {
    let clock = crate::clock::from_env()?;
    Ok(crate::store::Store::open(&config.store.path)?.with_clock(clock))
}

/// One thread for all network I/O; parsing, storing and composing run on
/// tokio's blocking pool. A multi-thread scheduler only added wake-ups
/// between its workers (measured: sys time of a 1,000-mail outbox flush
/// 0.36 s -> 0.20 s).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        assert_eq!(shown("Hola", false), "Hola");
        assert_eq!(shown("a\u{1b}[2Jb", false), "a\\u{1b}[2Jb");
        assert_eq!(shown("x\ry\nz", false), "x\\u{d}y\\u{a}z");
        assert_eq!(shown("x\ny\u{7}", true), "x\ny\\u{7}");
        assert_eq!(shown("abc\u{202e}fed", false), "abc\\u{202e}fed");
        assert_eq!(shown("\u{9b}31m", false), "\\u{9b}31m");
    }
}
