//! `hilo import --desk D [--since DATE] [--folder F | --mbox FILE]`: old
//! mail becomes tickets without acknowledgements, with a progress bar on
//! stderr and a summary on stdout. Safe to run again: what is stored is
//! skipped.

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

use super::{exit, load_config, open_store, runtime};
use crate::config::{After, ConfigError};
use crate::outgoing::templates::Templates;
use crate::pipeline::{Intake, Received, Tally};
use crate::watcher::Watcher;

pub struct ImportArgs<'a> {
    pub desk: &'a str,
    pub since: Option<NaiveDate>,
    pub folder: Option<&'a str>,
    pub mbox: Option<&'a Path>,
}

fn bar() -> ProgressBar {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos}/{len} messages [{bar:40}] {per_sec}, {eta} left",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb
}

pub fn import(config: &Path, args: ImportArgs<'_>) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let store = open_store(&config)?;
    let intake = Intake::new(&config, store, Templates::load(&config)?);
    let mut desk = intake
        .desk(args.desk)
        .ok_or_else(|| ConfigError::Invalid {
            key: "desk".into(),
            message: format!("no desk named `{}` in the configuration", args.desk),
        })?
        .clone();
    let pb = bar();
    let tally = if let Some(path) = args.mbox {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        import_mbox(
            &intake,
            &desk,
            &data,
            args.since,
            config.intake.batch_size,
            &pb,
        )?
    } else {
        if let Some(f) = args.folder {
            desk.cfg.imap.folder = f.to_string();
        }
        // Importing never marks or moves anything on the server.
        desk.cfg.after = After::Keep;
        let tokens = crate::auth::Tokens::new(intake.store().clone(), &config);
        let w = Watcher {
            desk,
            intake,
            tuning: config.intake.clone(),
            wake: Default::default(),
            attempted: None,
            misses: Default::default(),
            tokens,
        };
        let progress = |done: u64, total: u64| {
            pb.set_length(total);
            pb.set_position(done);
        };
        runtime()?.block_on(w.import(args.since, &progress))?
    };
    pb.finish_and_clear();
    println!("imported: {tally}");
    Ok(exit::OK)
}

fn import_mbox(
    intake: &Intake,
    desk: &crate::pipeline::DeskRuntime,
    data: &[u8],
    since: Option<NaiveDate>,
    batch: usize,
    pb: &ProgressBar,
) -> anyhow::Result<Tally> {
    let since = since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let messages: Vec<Vec<u8>> = crate::mail::mbox::split(data)
        .into_iter()
        .filter(
            |raw| match (since, crate::mail::parse(raw).ok().and_then(|m| m.date)) {
                (Some(s), Some(d)) => d >= s,
                _ => true, // no filter, or no date to judge by: import it
            },
        )
        .collect();
    pb.set_length(messages.len() as u64);
    let mut tally = Tally::default();
    for chunk in messages.chunks(batch) {
        let items: Vec<Received> = chunk
            .iter()
            .map(|raw| Received {
                backlog: true,
                ..Received::new(None, raw.clone())
            })
            .collect();
        for o in intake.process(desk, None, &items, None)? {
            tally.add(&o);
        }
        pb.set_position(tally.fetched as u64);
    }
    Ok(tally)
}
