//! `hilo ingest --desk NAME [FILE|-]`: one message from a pipe transport.
//!
//! Exit 0 once the message is stored (also when set aside or quarantined),
//! 75 on a temporary failure so that the mail server retries.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

use super::{exit, load_config, open_store, Temporary};
use crate::config::ConfigError;
use crate::outgoing::templates::Templates;
use crate::pipeline::{Intake, Received};

pub fn ingest(config: &Path, desk: &str, file: Option<&Path>) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let max = config
        .desks
        .iter()
        .find(|d| d.name == desk)
        .map_or(u64::MAX, |d| d.max_message_bytes);
    // Read one byte past the limit, never more: a pipe can be endless.
    let mut raw = Vec::new();
    match file {
        Some(p) if p != Path::new("-") => {
            std::fs::File::open(p)
                .and_then(|f| f.take(max.saturating_add(1)).read_to_end(&mut raw))
                .with_context(|| format!("reading {}", p.display()))?;
        }
        _ => {
            std::io::stdin()
                .take(max.saturating_add(1))
                .read_to_end(&mut raw)
                .map_err(|e| Temporary(format!("reading stdin: {e}")))?;
        }
    }
    if raw.len() as u64 > max {
        // Nothing keeps a piped mail but us: refuse it whole (the mail
        // server bounces it with these words) rather than keep a part.
        eprintln!(
            "hilo: message refused: larger than max_message_bytes ({max} bytes) of desk `{desk}`"
        );
        return Ok(exit::UNAVAILABLE);
    }
    let store = open_store(&config)?;
    let intake = Intake::new(&config, store, Templates::load(&config)?);
    let rt = intake.desk(desk).ok_or_else(|| ConfigError::Invalid {
        key: "desk".into(),
        message: format!("no desk named `{desk}` in the configuration"),
    })?;
    let outcome = intake
        .process(&rt, None, &[Received::new(None, raw)], None)?
        .pop()
        .expect("one outcome per message");
    println!("{}", super::describe(&rt, &outcome));
    Ok(exit::OK)
}
