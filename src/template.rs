//! The template language of the mail hilo writes: plain text with
//! `{placeholder}` fields, checked when parsed (an unknown placeholder is
//! an error naming the template and line). `{{` and `}}` write literal
//! braces.

use std::collections::HashMap;

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
    /// Parses `text`, whose fields must be among `allowed`.
    pub fn parse_with(name: &str, text: &str, allowed: &[&str]) -> Result<Template, TemplateError> {
        Self::parse_fields(name, text, Some(allowed))
    }

    /// Parses `text` with any fields whose names are words (`[a-z_]+`).
    pub fn parse_open(name: &str, text: &str) -> Result<Template, TemplateError> {
        Self::parse_fields(name, text, None)
    }

    /// The names of its fields, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.pieces {
            if let Piece::Field(f) = p {
                if !out.contains(&f.as_str()) {
                    out.push(f);
                }
            }
        }
        out
    }

    fn parse_fields(
        name: &str,
        text: &str,
        allowed: Option<&[&str]>,
    ) -> Result<Template, TemplateError> {
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
                    match allowed {
                        Some(allowed) if !allowed.contains(&field.as_str()) => {
                            return Err(err(
                                line,
                                format!(
                                    "unknown placeholder {{{field}}}; known: {}",
                                    allowed.join(", ")
                                ),
                            ));
                        }
                        None if field.is_empty()
                            || !field.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
                        {
                            return Err(err(line, format!("a field is a word: {{{field}}}")));
                        }
                        _ => {}
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
