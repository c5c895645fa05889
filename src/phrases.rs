//! hilo's words in each language, as data: one phrase table per language
//! (`config/phrases/LANG.toml`) beside its templates
//! (`config/templates/KIND.LANG.txt`), both compiled in by `build.rs` as
//! they are found. Adding a language is adding those files.
//!
//! Spanish is the reference: every table has every key of `es.toml`, of
//! the same shape (a phrase, or a list as long), and a phrase uses only
//! the `{fields}` of its Spanish one. [`check`] holds that at start-up and
//! in the tests. The `[commands]` and `[priorities]` words of every table
//! are what agents may write, whatever their desk's language.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::template::Template;

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The reference table: the others follow its keys and fields.
const REFERENCE: &str = "es";

/// A language hilo writes: one with a phrase table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(&'static str);

enum Entry {
    Text(Template),
    List(Vec<String>),
}

struct Table {
    code: &'static str,
    name: String,
    entries: HashMap<String, Entry>,
}

struct Tables {
    tables: Vec<Table>,
    /// Every language's command word → the command (its key in `[commands]`).
    commands: HashMap<String, &'static str>,
    /// Every language's priority word → the priority.
    priorities: HashMap<String, crate::model::Priority>,
}

static TABLES: LazyLock<Result<Tables, String>> = LazyLock::new(load);

/// The shipped tables are complete and consistent (see the module docs);
/// the error names the language and key.
pub fn check() -> Result<(), String> {
    TABLES.as_ref().map(|_| ()).map_err(Clone::clone)
}

fn flatten(
    code: &str,
    prefix: &str,
    t: &toml::Table,
    out: &mut HashMap<String, Entry>,
) -> Result<(), String> {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                let t = Template::parse_open(&format!("{code}.toml: {key}"), s)
                    .map_err(|e| e.to_string())?;
                out.insert(key, Entry::Text(t));
            }
            toml::Value::Array(a) => {
                let list = a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("{code}.toml: {key}: a list of texts"))?;
                out.insert(key, Entry::List(list));
            }
            toml::Value::Table(t) => flatten(code, &key, t, out)?,
            _ => return Err(format!("{code}.toml: {key}: a text, a list or a table")),
        }
    }
    Ok(())
}

fn load() -> Result<Tables, String> {
    let mut tables = Vec::new();
    for (code, text) in PHRASES {
        let t: toml::Table = toml::from_str(text).map_err(|e| format!("{code}.toml: {e}"))?;
        let mut entries = HashMap::new();
        flatten(code, "", &t, &mut entries)?;
        let name = match entries.remove("name") {
            Some(Entry::Text(t)) => t.render(&HashMap::new()),
            _ => return Err(format!("{code}.toml: name: the language's own name")),
        };
        tables.push(Table {
            code,
            name,
            entries,
        });
    }
    let reference = tables
        .iter()
        .find(|t| t.code == REFERENCE)
        .ok_or_else(|| format!("no {REFERENCE}.toml phrase table"))?;
    for t in &tables {
        for (key, e) in &reference.entries {
            match (e, t.entries.get(key)) {
                (_, None) => return Err(format!("{}.toml: {key} is missing", t.code)),
                (Entry::Text(r), Some(Entry::Text(x))) => {
                    let allowed = r.fields();
                    if let Some(f) = x.fields().into_iter().find(|f| !allowed.contains(f)) {
                        return Err(format!(
                            "{}.toml: {key}: {{{f}}} is not a field of {REFERENCE}.toml's (those are: {})",
                            t.code,
                            allowed.join(", ")
                        ));
                    }
                }
                (Entry::List(r), Some(Entry::List(x))) => {
                    // Weekdays and months are indexed; word lists are not.
                    if key.starts_with("date.") && r.len() != x.len() {
                        return Err(format!(
                            "{}.toml: {key}: {} items, as in {REFERENCE}.toml",
                            t.code,
                            r.len()
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "{}.toml: {key}: of the shape of {REFERENCE}.toml's",
                        t.code
                    ))
                }
            }
        }
        if let Some(k) = t
            .entries
            .keys()
            .find(|k| !reference.entries.contains_key(*k))
        {
            return Err(format!(
                "{}.toml: {k} is no key of {REFERENCE}.toml",
                t.code
            ));
        }
    }
    let mut commands = HashMap::new();
    let mut priorities = HashMap::new();
    for t in &tables {
        for (key, e) in &t.entries {
            let Entry::List(words) = e else { continue };
            if let Some(cmd) = key.strip_prefix("commands.") {
                // The key as written in the reference table, for 'static.
                let cmd: &'static str = COMMANDS
                    .iter()
                    .find(|c| **c == cmd)
                    .ok_or_else(|| format!("{}.toml: {key}: no such command", t.code))?;
                for w in words.iter().chain(std::iter::once(&cmd.to_string())) {
                    if let Some(other) = commands.insert(w.to_lowercase(), cmd) {
                        if other != cmd {
                            return Err(format!("{}.toml: {key}: `{w}` is also {other}", t.code));
                        }
                    }
                }
            } else if let Some(p) = key.strip_prefix("priorities.") {
                let p = crate::model::Priority::parse(p)
                    .ok_or_else(|| format!("{}.toml: {key}: no such priority", t.code))?;
                for w in words {
                    if let Some(other) = priorities.insert(w.to_lowercase(), p) {
                        if other != p {
                            return Err(format!("{}.toml: {key}: `{w}` is also {other}", t.code));
                        }
                    }
                }
            }
        }
    }
    if let Some(c) = COMMANDS
        .iter()
        .find(|c| !commands.values().any(|v| v == *c))
    {
        return Err(format!("{REFERENCE}.toml: commands.{c} is missing"));
    }
    Ok(Tables {
        tables,
        commands,
        priorities,
    })
}

/// The phrases of every language that say a customer's question is
/// solved (`[customer] resolved`), in table order.
pub fn resolved_phrases() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in Language::all() {
        for p in l.list("customer.resolved") {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
    }
    out
}

/// The commands agents write (`#cerrar`), by their key in `[commands]`.
pub const COMMANDS: &[&str] = &[
    "note", "close", "pending", "open", "resolved", "assign", "add", "remove", "merge", "split",
    "send", "priority", "remind",
];

/// The command `word` (without `#`, any case) names in any language.
pub fn command(word: &str) -> Option<&'static str> {
    TABLES
        .as_ref()
        .ok()?
        .commands
        .get(&word.to_lowercase())
        .copied()
}

/// The priority `word` names in any language (`alta`, `high`, `baixa`).
pub fn priority(word: &str) -> Option<crate::model::Priority> {
    TABLES
        .as_ref()
        .ok()?
        .priorities
        .get(&word.to_lowercase())
        .copied()
}

impl Language {
    pub const ES: Language = Language("es");
    pub const EN: Language = Language("en");

    /// The language of phrase table `code`, if hilo has one.
    pub fn parse(code: &str) -> Option<Language> {
        let t = TABLES.as_ref().ok()?;
        t.tables
            .iter()
            .find(|t| t.code == code)
            .map(|t| Language(t.code))
    }

    /// Every language hilo writes, by code.
    pub fn all() -> Vec<Language> {
        match TABLES.as_ref() {
            Ok(t) => t.tables.iter().map(|t| Language(t.code)).collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    fn table(self) -> Option<&'static Table> {
        TABLES
            .as_ref()
            .ok()?
            .tables
            .iter()
            .find(|t| t.code == self.0)
    }

    /// The language's own name ("español").
    pub fn name(self) -> &'static str {
        self.table().map_or(self.0, |t| t.name.as_str())
    }

    /// Phrase `key` with its fields filled. A key no table has is a bug
    /// the tests catch (every mail is rendered in every language); in a
    /// release build it renders as the key.
    pub fn say(self, key: &str, vars: &[(&str, &str)]) -> String {
        match self.table().and_then(|t| t.entries.get(key)) {
            Some(Entry::Text(t)) => {
                let vars: HashMap<&str, String> =
                    vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
                t.render(&vars)
            }
            _ => {
                debug_assert!(false, "no phrase {key} in {}", self.0);
                key.to_string()
            }
        }
    }

    /// List `key` (weekdays, months), empty if there is none.
    pub fn list(self, key: &str) -> &'static [String] {
        match self.table().and_then(|t| t.entries.get(key)) {
            Some(Entry::List(l)) => l,
            _ => {
                debug_assert!(false, "no list {key} in {}", self.0);
                &[]
            }
        }
    }

    /// `text` quoted as running text does ("«…»", "\"…\"").
    pub fn quoted(self, text: &str) -> String {
        self.say("words.quoted", &[("text", text)])
    }
}

impl std::fmt::Debug for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl serde::Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Language, D::Error> {
        let code = String::deserialize(d)?;
        Language::parse(&code).ok_or_else(|| {
            let known: Vec<&str> = Language::all().iter().map(|l| l.code()).collect();
            serde::de::Error::custom(format!(
                "no phrase table for language `{code}`; hilo has: {}",
                known.join(", ")
            ))
        })
    }
}

/// The shipped templates: (kind, language, text).
pub fn builtin_templates() -> &'static [(&'static str, &'static str, &'static str)] {
    TEMPLATES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_complete_and_uses_only_the_reference_fields() {
        check().unwrap();
        let all = Language::all();
        assert!(all.len() >= 3, "es, en and pt at least: {all:?}");
        for l in &all {
            assert_eq!(l.list("date.weekdays").len(), 7);
            assert_eq!(l.list("date.months").len(), 12);
            assert!(!l.name().is_empty());
        }
    }

    #[test]
    fn every_language_has_every_template() {
        let kinds: std::collections::BTreeSet<&str> =
            TEMPLATES.iter().map(|(k, _, _)| *k).collect();
        for l in Language::all() {
            for k in &kinds {
                assert!(
                    TEMPLATES
                        .iter()
                        .any(|(kk, ll, _)| kk == k && *ll == l.code()),
                    "no {k}.{l}.txt"
                );
            }
        }
        for (k, l, _) in TEMPLATES {
            assert!(
                Language::parse(l).is_some(),
                "{k}.{l}.txt has no phrase table"
            );
        }
    }

    #[test]
    fn phrases_render_their_fields() {
        assert_eq!(
            Language::ES.say("greeting.named", &[("name", "Ana")]),
            "Hola, Ana:"
        );
        assert_eq!(Language::EN.quoted("x"), "\"x\"");
        assert_eq!(
            Language::parse("pt")
                .unwrap()
                .say("greeting.anonymous", &[]),
            "Olá:"
        );
        assert_eq!(Language::parse("xx"), None);
    }

    #[test]
    fn commands_and_priorities_in_any_language() {
        assert_eq!(command("CERRAR"), Some("close"));
        assert_eq!(command("close"), Some("close"));
        assert_eq!(command("fechar"), Some("close"));
        assert_eq!(command("fusionar"), Some("merge"));
        assert_eq!(command("nope"), None);
        use crate::model::Priority;
        assert_eq!(priority("Alta"), Some(Priority::High));
        assert_eq!(priority("baixa"), Some(Priority::Low));
        assert_eq!(priority("máxima"), None);
    }
}
