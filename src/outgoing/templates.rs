//! Plain-text templates with `{placeholder}` fields, checked when loaded.
//!
//! The defaults are compiled in from `config/templates/`; an unknown
//! placeholder is an error naming the template and line, so a typo is caught
//! at start-up, not in a customer's inbox. `{{` and `}}` write literal braces.

use std::collections::HashMap;

use crate::config::Language;

/// Placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "number",
    "tag",
    "subject",
    "requester_name",
    "requester",
    "desk",
    "desk_address",
    "status",
    "summary",
    "previous_tag",
    "linked_note",
    "text",
    "attachments",
    "priority",
    "assignee",
    "commands",
    "agent",
    "recipients",
    "message_subject",
    "signature",
    "done",
    "open_tickets",
    "related",
    "answers",
    "summary_block",
    "greeting",
    "promise",
    "about_message",
    "closes",
    "reopen",
];

pub use crate::template::{Template, TemplateError};

/// Parses `text` as a template of hilo's mail, with [`PLACEHOLDERS`].
pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
    Template::parse_with(name, text, PLACEHOLDERS)
}

/// The kinds of template, by file stem.
pub const KINDS: &[&str] = &[
    "ack",
    "closed_note",
    "notify",
    "relay_footer",
    "report",
    "receipt",
    "summary_block",
    "merged",
    "split",
    "resolved",
    "notify_help",
    "reminder",
    "pending_closed",
];

/// Every template hilo uses: the built-ins, overridden per language by
/// `DIR/{kind}.{lang}.txt` and per desk by `DIR/{desk}/{kind}.{lang}.txt`.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    builtin: HashMap<(String, String), Template>,
    shared: HashMap<(String, String), Template>,
    per_desk: HashMap<(String, String), Template>,
}

impl Templates {
    /// The templates shipped with hilo.
    pub fn builtin() -> Result<Templates, TemplateError> {
        let mut t = Templates::default();
        for (kind, lang, text) in crate::phrases::builtin_templates() {
            let parsed = parse(&format!("{kind}.{lang}.txt"), text)?;
            t.builtin
                .insert((kind.to_string(), lang.to_string()), parsed);
        }
        Ok(t)
    }

    /// Built-ins plus the overrides found in the configured directory, all
    /// checked now: an unknown placeholder names the file and line.
    pub fn load(config: &crate::config::Config) -> Result<Templates, TemplateError> {
        let mut t = Self::builtin()?;
        let Some(dir) = &config.templates_dir else {
            return Ok(t);
        };
        let read = |path: &std::path::Path| -> Result<Option<Template>, TemplateError> {
            match std::fs::read_to_string(path) {
                Ok(text) => parse(&path.display().to_string(), &text).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(TemplateError {
                    name: path.display().to_string(),
                    line: 0,
                    message: e.to_string(),
                }),
            }
        };
        for kind in KINDS {
            for lang in Language::all() {
                if let Some(tpl) = read(&dir.join(format!("{kind}.{lang}.txt")))? {
                    t.shared.insert((kind.to_string(), lang.to_string()), tpl);
                }
            }
            for d in &config.desks {
                let lang = d.language.code();
                if let Some(tpl) = read(&dir.join(&d.name).join(format!("{kind}.{lang}.txt")))? {
                    t.per_desk.insert((d.name.clone(), kind.to_string()), tpl);
                }
            }
        }
        Ok(t)
    }

    /// The template of `kind` for a desk: its own, else its language's.
    pub fn get(&self, desk: &str, lang: Language, kind: &str) -> &Template {
        let key = (kind.to_string(), lang.code().to_string());
        self.per_desk
            .get(&(desk.to_string(), kind.to_string()))
            .or_else(|| self.shared.get(&key))
            .or_else(|| self.builtin.get(&key))
            .expect("every kind has a built-in template in every language")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let t = parse("t", "Caso {tag} {{literal}}\n{subject}").unwrap();
        let vars = HashMap::from([("tag", "[SOP-1]".to_string()), ("subject", "x".to_string())]);
        assert_eq!(t.render(&vars), "Caso [SOP-1] {literal}\nx");
    }

    #[test]
    fn unknown_placeholder_names_file_and_line() {
        let e = parse("ack.es.txt", "hola\n\n{numero}").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("ack.es.txt, line 3"), "{e}");
        assert!(e.to_string().contains("numero"));
        assert!(parse("t", "a { b").is_err());
        assert!(parse("t", "a } b").is_err());
    }

    #[test]
    fn builtin_templates_parse_and_mention_the_tag() {
        let t = Templates::builtin().unwrap();
        for lang in Language::all() {
            for kind in ["ack", "notify", "relay_footer", "report", "receipt"] {
                let vars = HashMap::from([("tag", "[SOP-9]".to_string())]);
                assert!(
                    t.get("any", lang, kind).render(&vars).contains("[SOP-9]"),
                    "{kind}"
                );
            }
        }
    }

    #[test]
    fn signature_separators_are_dash_dash_space() {
        // "--" without the space is no separator to mail clients, which
        // then quote the footer in every reply.
        for (kind, lang, text) in crate::phrases::builtin_templates() {
            for line in text.lines() {
                assert!(
                    line.trim_end() != "--" || line == "-- ",
                    "{kind}.{lang}.txt has a separator without its space"
                );
            }
        }
    }

    #[test]
    fn overrides_per_language_and_per_desk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ack.es.txt"), "común {tag}").unwrap();
        std::fs::create_dir(dir.path().join("helpdesk")).unwrap();
        std::fs::write(dir.path().join("helpdesk/ack.es.txt"), "own {tag}").unwrap();
        let text = crate::config::example_config().replace(
            "# dir = \"/etc/hilo/templates\"",
            &format!("dir = \"{}\"", dir.path().display()),
        );
        let config = crate::config::Config::from_toml(&text, Vec::new()).unwrap();
        let t = Templates::load(&config).unwrap();
        let vars = HashMap::from([("tag", "[X-1]".to_string())]);
        assert_eq!(
            t.get("soporte", Language::ES, "ack").render(&vars),
            "común [X-1]"
        );
        assert_eq!(
            t.get("helpdesk", Language::ES, "ack").render(&vars),
            "own [X-1]"
        );
        assert!(t
            .get("helpdesk", Language::ES, "notify")
            .render(&vars)
            .contains("[X-1]"));
        std::fs::write(dir.path().join("helpdesk/notify.es.txt"), "line\n{oops}").unwrap();
        let e = Templates::load(&config).unwrap_err().to_string();
        assert!(e.contains("helpdesk/notify.es.txt, line 2"), "{e}");
    }
}
