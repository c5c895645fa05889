//! The developers' corpus runner (`hilo corpus DIR`, and
//! `cargo test --test fixtures`): over a folder of `.eml` files whose
//! `.expect.toml` give the exact `new_text` a reader would want, how often
//! hilo's new text matches, by the `class` each file names. Regressions in
//! quote and signature stripping show as a lower rate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One file with an expected new text.
#[derive(Debug, Clone)]
pub struct Case {
    pub path: PathBuf,
    pub class: String,
    pub expected: String,
    /// `Err` when the file does not parse.
    pub got: Result<String, String>,
}

impl Case {
    pub fn matches(&self) -> bool {
        self.got.as_deref() == Ok(self.expected.as_str())
    }
}

/// The cases of a folder, and their rates.
#[derive(Debug, Default)]
pub struct Summary {
    pub cases: Vec<Case>,
}

impl Summary {
    /// (matched, total) per class.
    pub fn by_class(&self) -> BTreeMap<&str, (usize, usize)> {
        let mut m: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for c in &self.cases {
            let e = m.entry(c.class.as_str()).or_default();
            e.1 += 1;
            if c.matches() {
                e.0 += 1;
            }
        }
        m
    }

    pub fn misses(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| !c.matches())
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |m: usize, t: usize| {
            if t == 0 {
                0.0
            } else {
                100.0 * m as f64 / t as f64
            }
        };
        writeln!(f, "{:<24} {:>7} {:>6}", "CLASS", "EXACT", "RATE")?;
        let (mut all_m, mut all_t) = (0, 0);
        for (class, (m, t)) in self.by_class() {
            writeln!(
                f,
                "{class:<24} {:>7} {:>5.0}%",
                format!("{m}/{t}"),
                pct(m, t)
            )?;
            all_m += m;
            all_t += t;
        }
        write!(
            f,
            "{:<24} {:>7} {:>5.0}%",
            "all",
            format!("{all_m}/{all_t}"),
            pct(all_m, all_t)
        )
    }
}

fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            eml_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Every `.eml` under `dir` whose `.expect.toml` has a `new_text` (and,
/// optionally, a `class`; default: the folder's name).
pub fn run(dir: &Path) -> std::io::Result<Summary> {
    let mut files = Vec::new();
    eml_files(dir, &mut files)?;
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(path.with_extension("expect.toml")) else {
            continue;
        };
        let Ok(exp) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(expected) = exp.get("new_text").and_then(|v| v.as_str()) else {
            continue;
        };
        let class = exp
            .get("class")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                path.parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let raw = std::fs::read(&path)?;
        let got = crate::mail::parse(&raw)
            .map(|m| m.new_text)
            .map_err(|e| e.to_string());
        cases.push(Case {
            path,
            class,
            expected: expected.trim_end_matches('\n').to_string(),
            got,
        });
    }
    Ok(Summary { cases })
}
