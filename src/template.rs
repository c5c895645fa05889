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
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {name}, line {line}: {message}")]
pub struct TemplateError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Field(String),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut buf = String::new();
        let mut chars = text.chars().peekable();
        let mut line = 1;
        let err = |line, message: String| TemplateError {
            name: name.to_string(),
            line,
            message,
        };
        while let Some(c) = chars.next() {
            match c {
                '\n' => {
                    line += 1;
                    buf.push(c);
                }
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    buf.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    buf.push('}');
                }
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('\n') | None => {
                                return Err(err(line, "unclosed `{`".into()));
                            }
                            Some(ch) => field.push(ch),
                        }
                    }
                    let field = field.trim().to_string();
                    if !PLACEHOLDERS.contains(&field.as_str()) {
                        return Err(err(
                            line,
                            format!(
                                "unknown placeholder {{{field}}}; known: {}",
                                PLACEHOLDERS.join(", ")
                            ),
                        ));
                    }
                    if !buf.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut buf)));
                    }
                    pieces.push(Piece::Field(field));
                }
                '}' => return Err(err(line, "stray `}` (write `}}`)".into())),
                _ => buf.push(c),
            }
        }
        if !buf.is_empty() {
            pieces.push(Piece::Text(buf));
        }
        Ok(Template { pieces })
    }

    /// Fills the fields; a field without a value renders empty.
    pub fn render(&self, vars: &HashMap<&str, String>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(vars.get(f.as_str()).map_or("", String::as_str)),
            }
        }
        out
    }
}

/// The templates of every language.
#[derive(Debug, Clone)]
pub struct Templates {
    ack: HashMap<&'static str, Template>,
    closed_note: HashMap<&'static str, Template>,
}

const BUILTIN: &[(&str, &str, &str)] = &[
    ("ack", "es", include_str!("../config/templates/ack.es.txt")),
    ("ack", "en", include_str!("../config/templates/ack.en.txt")),
    (
        "closed_note",
        "es",
        include_str!("../config/templates/closed_note.es.txt"),
    ),
    (
        "closed_note",
        "en",
        include_str!("../config/templates/closed_note.en.txt"),
    ),
];

impl Templates {
    /// The templates shipped with hilo.
    pub fn builtin() -> Result<Templates, TemplateError> {
        let mut ack = HashMap::new();
        let mut closed_note = HashMap::new();
        for (kind, lang, text) in BUILTIN {
            let t = Template::parse(&format!("{kind}.{lang}.txt"), text)?;
            match *kind {
                "ack" => ack.insert(*lang, t),
                _ => closed_note.insert(*lang, t),
            };
        }
        Ok(Templates { ack, closed_note })
    }

    pub fn ack(&self, lang: Language) -> &Template {
        self.ack
            .get(lang.code())
            .expect("every language has a built-in acknowledgement")
    }

    /// The acknowledgement's note when a reply to a long-closed ticket opened a new one.
    pub fn closed_note(&self, lang: Language) -> &Template {
        self.closed_note
            .get(lang.code())
            .expect("every language has a built-in note")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let t = Template::parse("t", "Caso {tag} {{literal}}\n{subject}").unwrap();
        let vars = HashMap::from([("tag", "[SOP-1]".to_string()), ("subject", "x".to_string())]);
        assert_eq!(t.render(&vars), "Caso [SOP-1] {literal}\nx");
    }

    #[test]
    fn unknown_placeholder_names_file_and_line() {
        let e = Template::parse("ack.es.txt", "hola\n\n{numero}").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("ack.es.txt, line 3"), "{e}");
        assert!(e.to_string().contains("numero"));
        assert!(Template::parse("t", "a { b").is_err());
        assert!(Template::parse("t", "a } b").is_err());
    }

    #[test]
    fn builtin_templates_parse_and_mention_the_tag() {
        let t = Templates::builtin().unwrap();
        for lang in [Language::Es, Language::En] {
            let vars = HashMap::from([("tag", "[SOP-9]".to_string())]);
            assert!(t.ack(lang).render(&vars).contains("[SOP-9]"));
        }
    }
}
