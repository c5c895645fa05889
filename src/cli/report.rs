//! `hilo report`: the team's figures over a period, from the tickets'
//! timelines (see [`crate::report`]).

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use super::{exit, load_config, open_store};
use crate::report::{By, Measured};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockArg {
    /// The desk's calendar (wall time for a desk without one).
    Business,
    Wall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// One desk (default: every desk).
    #[arg(long)]
    pub desk: Option<String>,
    /// From this day (YYYY-MM-DD, UTC) or instant (RFC 3339); default: 30 days ago.
    #[arg(long, value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// Until this day, excluded, or instant; default: now.
    #[arg(long, value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = By::Desk)]
    pub by: By,
    /// Count in business or wall time; default: as each desk's SLA counts.
    #[arg(long, value_enum)]
    pub clock: Option<ClockArg>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_when(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("`{s}` is neither a day (2026-12-01) nor an RFC 3339 instant"))
}

pub fn report(config: &Path, a: ReportArgs) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    if let Some(d) = &a.desk {
        if config.desk(d).is_none() {
            eprintln!("hilo: no desk {d:?} in the configuration");
            return Ok(exit::ERROR);
        }
    }
    let store = open_store(&config)?;
    let now = store.now();
    let until = a.until.unwrap_or(now);
    let since = a.since.unwrap_or(until - chrono::Duration::days(30));
    let tickets = store.timelines(a.desk.as_deref(), since, until)?;
    let business = a.clock.map(|c| c == ClockArg::Business);
    let measured: Vec<Measured<'_>> = tickets
        .iter()
        .map(|t| crate::report::measured(t, config.desk(&t.desk), business, now))
        .collect();
    let rows = crate::report::rows(&measured, a.by, since, until);
    match a.format {
        Format::Csv => print!("{}", crate::report::csv(&rows)),
        Format::Json => println!("{}", super::json(&rows)?),
        Format::Table => print!("{}", crate::report::table(&rows)),
    }
    Ok(exit::OK)
}
