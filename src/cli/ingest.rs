//! `hilo ingest --desk NAME [FILE|-]`: one message from a pipe transport.
//!
//! Exit 0 once the message is stored (also when set aside or quarantined),
//! 75 on a temporary failure so that the mail server retries.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

use super::{exit, load_config, open_store, Temporary};
use crate::config::ConfigError;
use crate::intake::{Intake, Received};
use crate::template::Templates;

pub fn ingest(config: &Path, desk: &str, file: Option<&Path>) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    let mut raw = Vec::new();
    match file {
        Some(p) if p != Path::new("-") => {
            raw = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut raw)
                .map_err(|e| Temporary(format!("reading stdin: {e}")))?;
        }
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
