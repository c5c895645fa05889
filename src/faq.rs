//! A desk's knowledge file: answers to common questions, offered in the
//! acknowledgement when a new mail matches them.
//!
//! The file is TOML (`[[entry]]` tables) or a folder of Markdown files
//! (one entry each, `key: value` lines between `---` lines, then the
//! answer). An entry has an `id`, a `title`, the `answer`, and rules:
//! `keywords` (single words), `phrases` (words in a row) and `exclude`
//! (words or phrases that rule the entry out); `desks` limits it to some
//! desks. Matching uses [`crate::text`]'s normaliser: accents and case
//! do not matter, stop words are skipped (in phrases too), and every word
//! counts by its Spanish and English stems.
//!
//! Score: 2 for each phrase found (a phrase has at least two words that
//! are not stop words), 1 for each keyword found; an entry with an
//! exclusion found scores nothing. The best entry matches when it scores
//! at least the desk's `faq_threshold` (3: a phrase and a keyword, or
//! three keywords); others only when they score as much, up to
//! `faq_max_answers`. A wrong answer is worse than none: the threshold and
//! the tie rule favour precision.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::text;

/// Most entries a knowledge file may hold.
pub const MAX_ENTRIES: usize = 500;
/// Most keywords, phrases and exclusions of one entry, each.
pub const MAX_RULES: usize = 100;
/// Longest answer, in characters: it goes into an acknowledgement.
pub const MAX_ANSWER_CHARS: usize = 4000;
/// Most characters of answers one acknowledgement carries: answers past it
/// (the best is always kept) are left out.
pub const MAX_ACK_ANSWER_CHARS: usize = 6000;
/// Acknowledgements with answers that one sender whose mail is not
/// authenticated gets per 24 hours; past it, acknowledgements carry none.
/// An answer is much longer than the mail that asks for it: a forged From
/// should not turn the desk into an amplifier.
pub const UNVERIFIED_ANSWERS_PER_DAY: u32 = 3;

/// Why a knowledge file cannot be used: the file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FaqError {
    pub path: String,
    pub message: String,
}

/// One answer and its rules, as loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub answer: String,
    keywords: Vec<Stems>,
    phrases: Vec<Vec<Stems>>,
    exclude: Vec<Vec<Stems>>,
}

/// A word as matched: its Spanish and English stems.
type Stems = [String; 2];

/// A desk's knowledge file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faq {
    pub entries: Vec<Entry>,
}

/// An entry that matched a mail, with its score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub id: String,
    pub title: String,
    pub score: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    title: String,
    answer: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    desks: Vec<String>,
}

/// The content words of `s`, each as its stems.
fn content(s: &str) -> Vec<Stems> {
    text::words(s)
        .iter()
        .filter(|w| text::is_content(w))
        .map(|w| text::stems_of(w))
        .collect()
}

fn same(a: &Stems, b: &Stems) -> bool {
    a[0] == b[0] || a[1] == b[1]
}

/// Does `words` hold `phrase` in a row?
fn holds(words: &[Stems], phrase: &[Stems]) -> bool {
    !phrase.is_empty()
        && words
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase).all(|(a, b)| same(a, b)))
}

impl Faq {
    /// Loads a TOML file or a folder of Markdown files, keeping the
    /// entries for `desk` (those without `desks`, or listing it).
    pub fn load(path: &Path, desk: &str) -> Result<Faq, FaqError> {
        let err = |message: String| FaqError {
            path: path.display().to_string(),
            message,
        };
        let raw = if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| err(e.to_string()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect();
            files.sort();
            let mut entries = Vec::new();
            for f in files.iter().take(MAX_ENTRIES + 1) {
                let text = std::fs::read_to_string(f).map_err(|e| err(e.to_string()))?;
                let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned());
                entries.push(
                    markdown(&text, stem.unwrap_or_default()).map_err(|m| FaqError {
                        path: f.display().to_string(),
                        message: m,
                    })?,
                );
            }
            entries
        } else {
            let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
            toml::from_str::<RawFile>(&text)
                .map_err(|e| err(e.message().to_string()))?
                .entry
        };
        Self::build(raw, desk).map_err(err)
    }

    /// From TOML text (tests, `hilo faq`).
    pub fn from_toml(text: &str, desk: &str) -> Result<Faq, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        Self::build(raw.entry, desk)
    }

    fn build(raw: Vec<RawEntry>, desk: &str) -> Result<Faq, String> {
        if raw.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        let mut ids = HashSet::new();
        let mut entries = Vec::new();
        for (i, e) in raw.into_iter().enumerate() {
            let at = format!("entry {} ({:?})", i + 1, e.id);
            if e.id.trim().is_empty() || !ids.insert(e.id.clone()) {
                return Err(format!("{at}: id is empty or used twice"));
            }
            if e.title.trim().is_empty() || e.answer.trim().is_empty() {
                return Err(format!("{at}: needs a title and an answer"));
            }
            if e.answer.chars().count() > MAX_ANSWER_CHARS {
                return Err(format!(
                    "{at}: answer longer than {MAX_ANSWER_CHARS} characters"
                ));
            }
            if [&e.keywords, &e.phrases, &e.exclude]
                .iter()
                .any(|l| l.len() > MAX_RULES)
            {
                return Err(format!(
                    "{at}: more than {MAX_RULES} keywords, phrases or exclusions"
                ));
            }
            if e.keywords.is_empty() && e.phrases.is_empty() {
                return Err(format!("{at}: needs keywords or phrases"));
            }
            let mut keywords = Vec::new();
            for k in &e.keywords {
                match content(k).as_slice() {
                    [one] => keywords.push(one.clone()),
                    _ => {
                        return Err(format!(
                            "{at}: keyword {k:?} is not one word (a stop word, or several: use phrases)"
                        ))
                    }
                }
            }
            let mut phrases = Vec::new();
            for p in &e.phrases {
                // A phrase of one content word ("cuál es mi usuario") would
                // score twice a keyword for one word.
                let c = content(p);
                if c.len() < 2 {
                    return Err(format!(
                        "{at}: phrase {p:?} has fewer than two words that are not stop words: make it a keyword"
                    ));
                }
                phrases.push(c);
            }
            let exclude: Vec<Vec<Stems>> = e
                .exclude
                .iter()
                .map(|x| content(x))
                .filter(|c| !c.is_empty())
                .collect();
            if !e.desks.is_empty() && !e.desks.iter().any(|d| d == desk) {
                continue;
            }
            entries.push(Entry {
                id: e.id,
                title: e.title.trim().to_string(),
                answer: e.answer.trim().to_string(),
                keywords,
                phrases,
                exclude,
            });
        }
        Ok(Faq { entries })
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Every entry's score for `text`, the best first (zero scores left
    /// out); ties keep the file's order.
    pub fn scores(&self, text: &str) -> Vec<Match> {
        let words = content(text);
        let mut out: Vec<Match> = self
            .entries
            .iter()
            .filter(|e| !e.exclude.iter().any(|x| holds(&words, x)))
            .map(|e| {
                let phrases = e.phrases.iter().filter(|p| holds(&words, p)).count();
                let keywords = e
                    .keywords
                    .iter()
                    .filter(|k| words.iter().any(|w| same(w, k)))
                    .count();
                Match {
                    id: e.id.clone(),
                    title: e.title.clone(),
                    score: (2 * phrases + keywords) as u32,
                }
            })
            .filter(|m| m.score > 0)
            .collect();
        out.sort_by_key(|m| std::cmp::Reverse(m.score));
        out
    }

    /// The entries `text` matches: scoring at least `threshold`, the best
    /// first, at most `max`. A further answer only when it scores as high
    /// as the best: a weaker second guess is more often wrong than right.
    pub fn matches(&self, text: &str, threshold: u32, max: usize) -> Vec<Match> {
        let mut m = self.scores(text);
        let best = m.first().map_or(0, |m| m.score);
        m.retain(|m| m.score >= threshold && m.score == best);
        m.truncate(max);
        m
    }
}

/// One Markdown entry: `---`, `key: value` lines (`title`, `keywords`,
/// `phrases`, `exclude`, `desks`; lists separated by commas), `---`, then
/// the answer. The id is the file's name.
fn markdown(text: &str, id: String) -> Result<RawEntry, String> {
    let text = text.trim_start_matches('\u{feff}');
    let rest = text
        .strip_prefix("---")
        .ok_or("starts without a `---` line of rules")?;
    let (head, answer) = rest
        .split_once("\n---")
        .ok_or("no closing `---` after the rules")?;
    let answer = answer.split_once('\n').map_or("", |(_, a)| a);
    let mut e = RawEntry {
        id,
        title: String::new(),
        answer: answer.trim().to_string(),
        keywords: Vec::new(),
        phrases: Vec::new(),
        exclude: Vec::new(),
        desks: Vec::new(),
    };
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for line in head.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("rule line {line:?} is not `key: value`"))?;
        let v = v.trim();
        match k.trim() {
            "title" => e.title = v.to_string(),
            "keywords" => e.keywords = list(v),
            "phrases" => e.phrases = list(v),
            "exclude" => e.exclude = list(v),
            "desks" => e.desks = list(v),
            other => return Err(format!("unknown rule {other:?}")),
        }
    }
    Ok(e)
}

/// Characters of a reply read for a resolution phrase: a longer reply is
/// about more than saying it is solved.
pub const RESOLVED_MAX_CHARS: usize = 200;

/// Words that make "ya está resuelto" mean something else ("…pero ahora").
const BUT: &[&str] = &[
    "pero",
    "sin embargo",
    "todavia",
    "aun",
    "sigue",
    "but",
    "however",
    "still",
];

/// Does a customer's reply say their question is solved? It is short (at
/// most [`RESOLVED_MAX_CHARS`]), holds one of `phrases` (folded), and no
/// question mark nor "pero", "todavía", "sigue", "but", "still"…
pub fn says_resolved(new_text: &str, phrases: &[String]) -> bool {
    let t = new_text.trim();
    if t.chars().count() > RESOLVED_MAX_CHARS || t.contains('?') {
        return false;
    }
    let folded = text::fold(t);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric() && c != '#')
        .filter(|w| !w.is_empty())
        .collect();
    let joined = format!(" {} ", words.join(" "));
    if BUT.iter().any(|b| joined.contains(&format!(" {b} "))) {
        return false;
    }
    phrases.iter().any(|p| {
        let p = text::fold(p);
        let pw: Vec<&str> = p
            .split(|c: char| !c.is_alphanumeric() && c != '#')
            .filter(|w| !w.is_empty())
            .collect();
        !pw.is_empty() && joined.contains(&format!(" {} ", pw.join(" ")))
    })
}

/// A labelled question: what a customer wrote to a desk, and the entry
/// they should get (empty: none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub desk: String,
    pub text: String,
    #[serde(default)]
    pub expect: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Questions {
    question: Vec<Question>,
}

/// Reads a labelled question set (`[[question]]` tables).
pub fn questions(text: &str) -> Result<Vec<Question>, String> {
    toml::from_str::<Questions>(text)
        .map(|q| q.question)
        .map_err(|e| e.message().to_string())
}

/// How a knowledge file does on a labelled set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Eval {
    pub questions: usize,
    /// Answers offered, and how many were the expected one.
    pub offered: usize,
    pub right: usize,
    /// Questions with an expected entry, and how many got it.
    pub labelled: usize,
    pub found: usize,
    /// What went wrong, one line each.
    pub misses: Vec<String>,
}

impl Eval {
    /// Right answers over answers offered (1 when none were offered).
    pub fn precision(&self) -> f64 {
        if self.offered == 0 {
            1.0
        } else {
            self.right as f64 / self.offered as f64
        }
    }

    /// Questions that got their entry over questions that have one.
    pub fn recall(&self) -> f64 {
        if self.labelled == 0 {
            1.0
        } else {
            self.found as f64 / self.labelled as f64
        }
    }
}

/// Runs `questions` through each desk's knowledge file as hilo would
/// (`desk` gives the file, threshold and most answers of a desk name).
pub fn evaluate<'a>(
    questions: &[Question],
    desk: impl Fn(&str) -> Option<(&'a Faq, u32, usize)>,
) -> Eval {
    let mut e = Eval::default();
    for q in questions {
        let Some((faq, threshold, max)) = desk(&q.desk) else {
            e.misses
                .push(format!("no knowledge file for desk {:?}", q.desk));
            continue;
        };
        e.questions += 1;
        let got = faq.matches(&q.text, threshold, max);
        e.offered += got.len();
        let hit = got.iter().any(|m| m.id == q.expect);
        if hit {
            e.right += 1;
        }
        if !q.expect.is_empty() {
            e.labelled += 1;
            if hit {
                e.found += 1;
            }
        }
        let wrong: Vec<String> = got
            .iter()
            .filter(|m| m.id != q.expect)
            .map(|m| format!("{} ({})", m.id, m.score))
            .collect();
        if !wrong.is_empty() || (!q.expect.is_empty() && !hit) {
            e.misses.push(format!(
                "{}: {:?}: expected {:?}, offered [{}]",
                q.desk,
                q.text,
                q.expect,
                got.iter()
                    .map(|m| format!("{} ({})", m.id, m.score))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[entry]]
id = "olvido"
title = "He olvidado la contraseña"
answer = "Use el servicio de olvido de contraseña."
keywords = ["contraseña", "olvidado", "password", "forgot"]
phrases = ["olvidé la contraseña", "forgot my password"]
exclude = ["cambiar"]

[[entry]]
id = "solo-helpdesk"
title = "Validación"
answer = "La valida su cliente."
keywords = ["validar", "documentos", "valida"]
desks = ["helpdesk"]
"#;

    #[test]
    fn phrases_keywords_and_exclusions_score() {
        let f = Faq::from_toml(FILE, "soporte").unwrap();
        assert_eq!(f.entries.len(), 1, "the helpdesk entry is not soporte's");
        let m = f.matches("Hola, OLVIDÉ mi contraseña y no puedo entrar", 3, 2);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].id, "olvido");
        // A phrase (stop words skipped, "olvidé" and "olvidado" one stem) and two keywords.
        assert_eq!(m[0].score, 4);
        assert_eq!(f.matches("I forgot my password", 3, 2)[0].score, 4);
        assert!(f.matches("quiero cambiar la contraseña", 3, 2).is_empty());
        assert!(
            f.matches("mi contraseña", 3, 2).is_empty(),
            "one keyword is not enough"
        );
        assert!(f.matches("no funciona la impresora", 1, 2).is_empty());
        let h = Faq::from_toml(FILE, "helpdesk").unwrap();
        assert_eq!(h.entries.len(), 2);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = Faq::from_toml(
            "[[entry]]\nid = \"a\"\ntitle = \"t\"\nanswer = \"x\"\n",
            "s",
        )
        .unwrap_err();
        assert!(e.contains("needs keywords or phrases"), "{e}");
        let e = Faq::from_toml(
            "[[entry]]\nid = \"a\"\ntitle = \"t\"\nanswer = \"x\"\nkeywords = [\"dos palabras\"]\n",
            "s",
        )
        .unwrap_err();
        assert!(e.contains("not one word"), "{e}");
        let e = Faq::from_toml("[[entry]]\nid = \"a\"\ntitel = \"t\"\n", "s").unwrap_err();
        assert!(e.contains("titel"), "{e}");
    }

    #[test]
    fn a_folder_of_markdown_files_is_a_knowledge_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("navegadores.md"),
            "---\ntitle: Navegadores recomendados\nkeywords: navegador, chrome, firefox, browser\nphrases: navegador recomendado\n---\nGoogle Chrome o Mozilla Firefox.\n",
        )
        .unwrap();
        let f = Faq::load(dir.path(), "soporte").unwrap();
        assert_eq!(f.entries[0].id, "navegadores");
        assert_eq!(f.entries[0].answer, "Google Chrome o Mozilla Firefox.");
        assert_eq!(
            f.matches("¿Qué navegador uso, Chrome o Firefox?", 3, 2)
                .len(),
            1
        );
        std::fs::write(dir.path().join("malo.md"), "sin reglas").unwrap();
        let e = Faq::load(dir.path(), "soporte").unwrap_err();
        assert!(e.path.ends_with("malo.md"), "{e}");
    }

    #[test]
    fn a_short_reply_that_says_so_is_resolved() {
        let p: Vec<String> = ["#resuelto", "ya está resuelto", "problem solved"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(says_resolved("#resuelto", &p));
        assert!(says_resolved("Gracias, ya esta RESUELTO.", &p));
        assert!(says_resolved("Problem solved, thanks!", &p));
        assert!(!says_resolved(
            "Ya está resuelto lo de la clave, pero sigo sin ver el módulo",
            &p
        ));
        assert!(!says_resolved("¿Ya está resuelto?", &p));
        assert!(!says_resolved(
            &format!("#resuelto {}", "x ".repeat(200)),
            &p
        ));
        assert!(!says_resolved("resuelto", &p), "a phrase, not a word of it");
    }

    /// The similarity of `crate::text` on pairs of the labelled questions:
    /// same entry (one topic, written by different people) against
    /// different entries. The README reports these figures.
    #[test]
    fn similarity_of_questions_on_one_topic_and_on_different_ones() {
        let mut q = Vec::new();
        for file in ["questions.toml", "heldout.toml"] {
            let path = format!("{}/fixtures/faq/{file}", env!("CARGO_MANIFEST_DIR"));
            q.extend(questions(&std::fs::read_to_string(path).unwrap()).unwrap());
        }
        q.retain(|q| !q.expect.is_empty());
        let stems: Vec<_> = q.iter().map(|q| text::stems(&q.text)).collect();
        let (mut same, mut other) = (Vec::new(), Vec::new());
        for a in 0..q.len() {
            for b in a + 1..q.len() {
                let j = text::jaccard(&stems[a], &stems[b]);
                if q[a].expect == q[b].expect {
                    same.push(j);
                } else {
                    other.push(j);
                }
            }
        }
        let pct = |v: &mut Vec<f64>, p: f64| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[((v.len() - 1) as f64 * p).round() as usize]
        };
        let line = format!(
            "{} pairs on one topic: median {:.2}, 90th percentile {:.2}, highest {:.2}; {} pairs on different topics: median {:.2}, 90th percentile {:.2}, highest {:.2}",
            same.len(),
            pct(&mut same, 0.5),
            pct(&mut same, 0.9),
            pct(&mut same, 1.0),
            other.len(),
            pct(&mut other, 0.5),
            pct(&mut other, 0.9),
            pct(&mut other, 1.0),
        );
        println!("{line}");
        assert!(
            include_str!("../README.md").contains(&line),
            "README.md must report: {line}"
        );
    }
}
