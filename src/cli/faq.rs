//! `hilo faq match|eval`: what a desk's knowledge file answers to a text,
//! and how it does on a labelled question set (precision and recall).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{exit, line, load_config};

#[derive(Debug, Subcommand)]
pub enum FaqCommand {
    /// The entries a text matches on a desk, with their scores (those
    /// below the desk's faq_threshold too, marked).
    Match {
        #[arg(long)]
        desk: String,
        /// What a customer wrote (subject and text).
        text: String,
    },
    /// Precision and recall of the desks' knowledge files over a labelled
    /// set of `[[question]]` tables (desk, text, expect).
    Eval {
        file: PathBuf,
        /// Also print every question answered wrongly or not at all.
        #[arg(long)]
        misses: bool,
    },
}

pub fn faq(config: &Path, cmd: FaqCommand) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    match cmd {
        FaqCommand::Match { desk, text } => {
            let Some(d) = config.desk(&desk) else {
                eprintln!("hilo: no desk {desk}");
                return Ok(exit::ERROR);
            };
            let Some(faq) = &d.faq else {
                eprintln!("hilo: desk {desk} has no knowledge file (faq)");
                return Ok(exit::ERROR);
            };
            let scores = faq.scores(&text);
            if scores.is_empty() {
                println!("no entry scores");
            }
            for (i, m) in scores.iter().enumerate() {
                let offered = m.score >= d.faq_threshold && i < d.faq_max_answers as usize;
                println!(
                    "{:>3}  {:<30} {}{}",
                    m.score,
                    m.id,
                    line(&m.title),
                    if offered { "" } else { "  (not offered)" }
                );
            }
            Ok(exit::OK)
        }
        FaqCommand::Eval { file, misses } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let questions = crate::faq::questions(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let e = crate::faq::evaluate(&questions, |name| {
                let d = config.desk(name)?;
                Some((
                    d.faq.as_deref()?,
                    d.faq_threshold,
                    d.faq_max_answers as usize,
                ))
            });
            if misses {
                for m in &e.misses {
                    println!("{}", line(m));
                }
            }
            println!(
                "{} questions: {} answers offered, {} right: precision {:.2}; {} with an entry, {} got it: recall {:.2}",
                e.questions,
                e.offered,
                e.right,
                e.precision(),
                e.labelled,
                e.found,
                e.recall()
            );
            Ok(exit::OK)
        }
    }
}
