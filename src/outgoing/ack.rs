//! The acknowledgement of a new ticket: template text, threading headers to
//! the customer's mail, our signed Message-ID and the auto-reply markers.

use std::collections::HashMap;

use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::subject::TagMatcher;
use crate::mail::{Inbound, Mailbox};
use crate::model::Status;
use crate::outgoing::templates::Templates;

/// Lines of the customer's text quoted in the acknowledgement.
const SUMMARY_LINES: usize = 12;
const SUMMARY_CHARS: usize = 800;
/// References an acknowledgement carries from the customer's mail: the
/// first and the most recent (RFC 5322 allows trimming the middle).
const MAX_REFERENCES: usize = 10;

/// The first lines of what the customer wrote, quoted: at most
/// `SUMMARY_LINES` lines and about `SUMMARY_CHARS` characters, however long
/// one line is (whatever a stranger writes is echoed to the address they
/// chose, so it must stay short).
pub fn summary(text: &str) -> String {
    let mut out = String::new();
    let mut lines = 0;
    let mut budget = SUMMARY_CHARS;
    for line in text.lines().map(str::trim_end) {
        if lines == 0 && line.trim().is_empty() {
            continue;
        }
        if lines == SUMMARY_LINES || budget == 0 {
            out.push_str("> […]\n");
            break;
        }
        out.push_str("> ");
        match line.char_indices().nth(budget) {
            Some((cut, _)) => {
                out.push_str(&line[..cut]);
                out.push_str(" […]\n");
                break;
            }
            None => {
                budget -= line.chars().count();
                out.push_str(line);
            }
        }
        out.push('\n');
        lines += 1;
    }
    if out.is_empty() {
        out.push_str("> (—)\n");
    }
    out.trim_end().to_string()
}

pub struct AckInput<'a> {
    pub desk: &'a DeskConfig,
    pub tags: &'a TagMatcher,
    pub templates: &'a Templates,
    pub signer: &'a Signer,
    pub number: i64,
    /// The desk address the customer wrote to: the acknowledgement comes from it.
    pub address: &'a str,
    pub ticket_subject: &'a str,
    pub msg: &'a Inbound,
    /// The customer's new text (quoted history removed), for the summary.
    pub new_text: &'a str,
    /// Quote it (`ack_quote`)? Without, the summary is left out.
    pub quote: bool,
    /// A closed ticket this one follows (the acknowledgement says so).
    pub closed_before: Option<i64>,
    /// The requester's other open tickets: listed, with how to continue one.
    pub related: &'a [crate::pipeline::decide::Related],
    /// Knowledge-file entries to offer, and the file holding their text.
    pub answers: &'a [crate::faq::Match],
    pub faq: Option<&'a crate::faq::Faq>,
}

/// The knowledge-file answers, and how to say they solved it.
fn answers(i: &AckInput<'_>) -> String {
    let Some(faq) = i.faq else {
        return String::new();
    };
    let entries: Vec<&crate::faq::Entry> =
        i.answers.iter().filter_map(|a| faq.entry(&a.id)).collect();
    if entries.is_empty() {
        return String::new();
    }
    let es = i.desk.language == crate::config::Language::Es;
    let mut out = String::from(if es {
        "Quizá esto le ayude:\n\n"
    } else {
        "This may help:\n\n"
    });
    for e in entries {
        out.push_str(&format!("* {}\n\n{}\n\n", e.title, e.answer));
    }
    out.push_str(if es {
        "Si con esto queda resuelta su consulta, conteste a este correo con «#resuelto» y cerraremos la solicitud. Si no, no hace falta que haga nada: le atenderemos igualmente.\n\n"
    } else {
        "If this solves your question, reply to this email with \"#resolved\" and we will close the request. If not, there is nothing to do: we will get back to you anyway.\n\n"
    });
    out
}

/// The requester's other open tickets, and how to continue one of them.
fn open_tickets(i: &AckInput<'_>) -> String {
    if i.related.is_empty() {
        return String::new();
    }
    let es = i.desk.language == crate::config::Language::Es;
    let lines: Vec<String> = i
        .related
        .iter()
        .map(|r| {
            let date = r.created_at.get(..10).unwrap_or(&r.created_at);
            let subject = super::shown_subject(&r.subject);
            if es {
                format!("  {} «{subject}», del {date}", i.tags.format(r.number))
            } else {
                format!("  {} \"{subject}\", of {date}", i.tags.format(r.number))
            }
        })
        .collect();
    let example = i.tags.format(i.related[0].number);
    let example = example.trim_matches(['[', ']']);
    if es {
        format!(
            "Tiene otras solicitudes abiertas con nosotros:\n{}\nSi su mensaje trata de una de ellas, conteste al correo de esa solicitud, o conteste a este indicando su número (por ejemplo, {example}) y lo uniremos a ella.\n\n",
            lines.join("\n")
        )
    } else {
        format!(
            "You have other open requests with us:\n{}\nIf your message is about one of them, reply to that request's email, or reply to this one with its number (for example, {example}) and we will join them.\n\n",
            lines.join("\n")
        )
    }
}

pub fn acknowledgement(i: AckInput<'_>) -> Result<Outgoing, ComposeError> {
    let tag = i.tags.format(i.number);
    let desk_name = i.desk.shown_name();
    let requester_name = i
        .msg
        .from
        .name
        .clone()
        .unwrap_or_else(|| i.msg.from.address.clone());
    let mut vars = HashMap::from([
        ("number", i.number.to_string()),
        ("tag", tag),
        ("subject", super::shown_subject(i.ticket_subject)),
        ("requester_name", requester_name),
        ("requester", i.msg.from.address.clone()),
        ("desk", desk_name.clone()),
        ("desk_address", i.address.to_string()),
        ("status", Status::New.as_str().to_string()),
        (
            "summary",
            if i.quote {
                summary(i.new_text)
            } else {
                String::new()
            },
        ),
        ("open_tickets", open_tickets(&i)),
        ("answers", answers(&i)),
    ]);
    let block = if i.quote {
        i.templates
            .get(&i.desk.name, i.desk.language, "summary_block")
            .render(&vars)
    } else {
        String::new()
    };
    vars.insert("summary_block", block);
    if let Some(prev) = i.closed_before {
        vars.insert("previous_tag", i.tags.format(prev));
        let note = i
            .templates
            .get(&i.desk.name, i.desk.language, "closed_note")
            .render(&vars);
        vars.insert("linked_note", note);
    }
    let text = i
        .templates
        .get(&i.desk.name, i.desk.language, "ack")
        .render(&vars);

    // The customer's References and id, less any id of ours: those belong
    // to other tickets' mail (this mail opened a new ticket), and echoing
    // them would hand them to whoever this acknowledgement reaches.
    let mut references: Vec<String> = i
        .msg
        .references
        .iter()
        .filter(|r| i.signer.verify(r).is_none())
        .cloned()
        .collect();
    if references.len() > MAX_REFERENCES {
        references.drain(1..references.len() + 1 - MAX_REFERENCES);
    }
    if let Some(id) = &i.msg.message_id {
        if !references.contains(id) {
            references.push(id.clone());
        }
    }
    Outgoing::new(Draft {
        from: Mailbox::new(i.address, Some(desk_name)),
        to: vec![i.msg.from.clone()],
        subject: i.tags.tagged_subject(i.number, i.ticket_subject),
        text,
        message_id: i.signer.new_id(i.number, i.desk.domain()),
        in_reply_to: i.msg.message_id.clone(),
        references,
        auto_submitted: Some(AutoSubmitted::Replied),
        loop_marker: i.desk.address.clone(),
        cc: Vec::new(),
        reply_to: None,
        attachments: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_quotes_and_cuts() {
        assert_eq!(summary("\n\nhola\nque tal"), "> hola\n> que tal");
        let long = (0..40).map(|i| format!("línea {i}\n")).collect::<String>();
        let s = summary(&long);
        assert_eq!(s.lines().count(), SUMMARY_LINES + 1);
        assert!(s.ends_with("> […]"));
        assert_eq!(summary(""), "> (—)");
    }

    #[test]
    fn one_long_line_is_cut_too() {
        let s = summary(&"spam ".repeat(200_000));
        assert!(s.chars().count() < SUMMARY_CHARS + 20, "{}", s.len());
        assert!(s.ends_with("[…]"));
    }
}
