//! HTML → plain text for the mail that comes only as HTML: line breaks
//! where the layout breaks lines (`<br>`, and the end of every block:
//! `<div>`, `<p>`, `<li>`, `<tr>`, headings…), `<blockquote>` as `> `
//! quoting (so quoted history is found as in plain text), lists as `- `,
//! entities decoded, `<head>`, `<style>`, `<script>` and comments dropped,
//! white space collapsed outside `<pre>`. One pass, linear in the input;
//! quote prefixes are capped at 8 levels, so the output stays linear too.

/// Block elements: their start and end break the line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
];

/// Most `> ` written before a line, however deep the quotes nest.
const MAX_QUOTE_DEPTH: usize = 8;

/// Elements whose content is not text to read.
const SKIPPED: &[&str] = &["head", "style", "script", "title", "template", "noscript"];

struct Out {
    text: String,
    /// `<blockquote>` nesting: each line starts with that many `> `.
    quote: usize,
    at_line_start: bool,
    pending_space: bool,
}

impl Out {
    fn newline(&mut self) {
        // Trailing spaces of the line go.
        let kept = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(kept);
        self.text.push('\n');
        self.at_line_start = true;
        self.pending_space = false;
    }

    /// Ends the current line unless it is empty already.
    fn break_line(&mut self) {
        if !self.at_line_start {
            self.newline();
        }
    }

    fn push(&mut self, c: char, pre: bool) {
        if !pre && c.is_whitespace() {
            self.pending_space = !self.at_line_start;
            return;
        }
        if pre && c == '\n' {
            self.newline();
            return;
        }
        if self.at_line_start {
            // Capped, or deep nesting times many lines would be quadratic.
            for _ in 0..self.quote.min(MAX_QUOTE_DEPTH) {
                self.text.push_str("> ");
            }
            self.at_line_start = false;
        } else if self.pending_space {
            self.text.push(' ');
        }
        self.pending_space = false;
        self.text.push(c);
    }
}

pub fn html_to_text(html: &str) -> String {
    let mut out = Out {
        text: String::with_capacity(html.len() / 2),
        quote: 0,
        at_line_start: true,
        pending_space: false,
    };
    let mut skip: Option<String> = None; // inside a skipped element
    let mut pre = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            let end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[1..end];
            rest = rest.get(end + 1..).unwrap_or("");
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(s) = &skip {
                if closing && *s == name {
                    skip = None;
                }
                continue;
            }
            if !closing && !tag.ends_with('/') && SKIPPED.contains(&name.as_str()) {
                skip = Some(name);
                continue;
            }
            match name.as_str() {
                "br" => out.newline(),
                "blockquote" => {
                    out.break_line();
                    out.quote = if closing {
                        out.quote.saturating_sub(1)
                    } else {
                        out.quote + 1
                    };
                }
                "li" if !closing => {
                    out.break_line();
                    out.push('-', false);
                    out.pending_space = true;
                }
                "pre" => {
                    out.break_line();
                    pre = if closing {
                        pre.saturating_sub(1)
                    } else {
                        pre + 1
                    };
                }
                "td" | "th" if !closing => out.pending_space = !out.at_line_start,
                "img" if !closing => {
                    // The text the sender gave for an image, if any.
                    if let Some(alt) = attribute(tag, "alt").filter(|a| !a.trim().is_empty()) {
                        for c in decode_entities(&alt).chars() {
                            out.push(c, false);
                        }
                    }
                }
                n if BLOCKS.contains(&n) => {
                    out.break_line();
                    // A paragraph is followed by an empty line.
                    if closing && n == "p" {
                        out.newline();
                    }
                }
                _ => {}
            }
            continue;
        }
        let next = rest.find('<').unwrap_or(rest.len());
        let (text, after) = rest.split_at(next);
        rest = after;
        if skip.is_none() {
            for c in decode_entities(text).chars() {
                out.push(c, pre > 0);
            }
        }
    }
    // At most one empty line in a row, none at the ends.
    let mut clean = String::with_capacity(out.text.len());
    let mut blanks = 0;
    for line in out.text.lines() {
        if line.trim().is_empty() {
            blanks += 1;
            if blanks > 1 {
                continue;
            }
            clean.push('\n');
        } else {
            blanks = 0;
            clean.push_str(line.trim_end());
            clean.push('\n');
        }
    }
    clean.trim_matches('\n').to_string()
}

/// The value of `name="…"` (or unquoted) in a tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let v = &tag[at..];
    Some(match v.chars().next()? {
        q @ ('"' | '\'') => v[1..].split(q).next()?.to_string(),
        _ => v.split(|c: char| c.is_whitespace()).next()?.to_string(),
    })
}

/// `&amp;`, `&#241;`, `&#xF1;` and the named entities mail uses most.
fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(|c: char| !c.is_ascii_alphanumeric() && c != '#');
        let decoded = end.and_then(|e| {
            if rest.as_bytes().get(e + 1) != Some(&b';') {
                return None;
            }
            let name = &rest[1..e + 1];
            entity(name).map(|c| (c, e + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "aacute" => 'á',
        "eacute" => 'é',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "Aacute" => 'Á',
        "Eacute" => 'É',
        "Iacute" => 'Í',
        "Oacute" => 'Ó',
        "Uacute" => 'Ú',
        "ntilde" => 'ñ',
        "Ntilde" => 'Ñ',
        "uuml" => 'ü',
        "Uuml" => 'Ü',
        "auml" => 'ä',
        "ouml" => 'ö',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "Ccedil" => 'Ç',
        "agrave" => 'à',
        "egrave" => 'è',
        "ograve" => 'ò',
        "ecirc" => 'ê',
        "acirc" => 'â',
        "ocirc" => 'ô',
        "atilde" => 'ã',
        "otilde" => 'õ',
        "iquest" => '¿',
        "iexcl" => '¡',
        "ordm" => 'º',
        "ordf" => 'ª',
        "deg" => '°',
        "euro" => '€',
        "pound" => '£',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "middot" => '·',
        "bull" => '•',
        "zwnj" => '\u{200c}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_break_lines() {
        assert_eq!(
            html_to_text("<div>Thanks,</div><div>Alex</div>"),
            "Thanks,\nAlex"
        );
        assert_eq!(html_to_text("Hola<br>Ana<br/>adiós"), "Hola\nAna\nadiós");
        assert_eq!(html_to_text("<p>Uno</p><p>Dos</p>"), "Uno\n\nDos");
        assert_eq!(
            html_to_text("<ul><li>a</li><li>b</li></ul>fin"),
            "- a\n- b\nfin"
        );
        assert_eq!(
            html_to_text("<table><tr><td>Total</td><td>40 &euro;</td></tr></table>"),
            "Total 40 €"
        );
    }

    #[test]
    fn quotes_entities_and_noise() {
        let h = "<html><head><style>p{color:red}</style><title>t</title></head><body>\
                 <div dir=\"ltr\">S&iacute;, ya va.</div>\
                 <div class=\"gmail_quote\"><div class=\"gmail_attr\">El lun, escribi&oacute;:<br></div>\
                 <blockquote class=\"gmail_quote\"><div>&iquest;Funciona?</div><div>Gracias</div></blockquote></div>\
                 <!-- <b>comment</b> --><script>alert(1)</script></body></html>";
        assert_eq!(
            html_to_text(h),
            "Sí, ya va.\nEl lun, escribió:\n> ¿Funciona?\n> Gracias"
        );
        assert_eq!(
            html_to_text("a &amp;&lt;b&gt; &#241;&#xF1; &bogus; & x"),
            "a &<b> ññ &bogus; & x"
        );
        assert_eq!(html_to_text("<pre>a  b\n  c</pre>"), "a  b\n  c");
        assert_eq!(html_to_text("x <img src=a alt=\"[logo]\"> y"), "x [logo] y");
    }

    #[test]
    fn broken_html_ends_without_harm() {
        assert_eq!(html_to_text("Hola <b"), "Hola");
        assert_eq!(html_to_text("<!-- never closed"), "");
        assert_eq!(html_to_text("<script>never closed"), "");
        let deep = "<blockquote>".repeat(10_000) + &"x<br>".repeat(10_000);
        let t = html_to_text(&deep);
        assert!(t.len() < deep.len() * 4, "{} bytes", t.len());
        assert!(t.starts_with(&format!("{}x", "> ".repeat(MAX_QUOTE_DEPTH))));
    }
}
