//! Notifications to a desk's agents: a new ticket or a customer's new
//! message, with its new text, the ticket's state and its attachments.
//! `Reply-To` is the desk, so "Reply" in any client goes back through hilo;
//! all notifications of a ticket thread together in the agent's client.

use std::collections::HashMap;

use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::parse::Attachment;
use crate::mail::subject::TagMatcher;
use crate::mail::Mailbox;
use crate::outgoing::templates::Templates;
use crate::store::TicketInfo;

/// Attachments larger than this in total are listed, not attached.
const MAX_ATTACHED: usize = 10 * 1024 * 1024;

pub struct NotifyInput<'a> {
    pub desk: &'a DeskConfig,
    pub tags: &'a TagMatcher,
    pub templates: &'a Templates,
    pub signer: &'a Signer,
    pub ticket: &'a TicketInfo,
    /// Who wrote, and what is new.
    pub from: &'a Mailbox,
    pub new_text: &'a str,
    pub attachments: &'a [Attachment],
}

fn size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

pub fn notification(i: NotifyInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.desk;
    let es = d.language == crate::config::Language::Es;
    let total: usize = i.attachments.iter().map(|a| a.data.len()).sum();
    let attach = total <= MAX_ATTACHED;
    let attachments = if i.attachments.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = i
            .attachments
            .iter()
            .map(|a| {
                format!(
                    "- {} ({})",
                    a.filename.as_deref().unwrap_or("?"),
                    size(a.data.len())
                )
            })
            .collect();
        let head = match (es, attach) {
            (true, true) => "Adjuntos (incluidos en este correo):",
            (true, false) => {
                "Adjuntos (demasiado grandes para reenviarlos; están guardados en la solicitud):"
            }
            (false, true) => "Attachments (included in this email):",
            (false, false) => "Attachments (too large to forward; kept on the ticket):",
        };
        format!("{head}\n{}\n", list.join("\n"))
    };
    let none = if es { "nadie" } else { "nobody" };
    let vars = HashMap::from([
        ("number", i.ticket.number.to_string()),
        ("tag", i.tags.format(i.ticket.number)),
        ("subject", i.ticket.subject.clone()),
        (
            "requester_name",
            i.from
                .name
                .clone()
                .unwrap_or_else(|| i.from.address.clone()),
        ),
        ("requester", i.from.address.clone()),
        ("desk", d.shown_name()),
        ("desk_address", d.address.clone()),
        ("status", i.ticket.status.as_str().to_string()),
        ("priority", i.ticket.priority.clone()),
        (
            "assignee",
            i.ticket
                .assignee
                .clone()
                .unwrap_or_else(|| none.to_string()),
        ),
        ("text", i.new_text.to_string()),
        ("attachments", attachments),
    ]);
    let text = i.templates.get(&d.name, d.language, "notify").render(&vars);
    let desk_box = Mailbox::new(&d.address, d.display_name.clone());
    Outgoing::new(Draft {
        from: Mailbox::new(
            &d.address,
            Some(format!(
                "{} ({})",
                i.from.name.as_deref().unwrap_or(&i.from.address),
                d.shown_name()
            )),
        ),
        to: d.notify.iter().map(|a| Mailbox::new(a, None)).collect(),
        cc: Vec::new(),
        reply_to: Some(desk_box),
        subject: i.tags.tagged_subject(i.ticket.number, &i.ticket.subject),
        text,
        message_id: i.signer.new_id(i.ticket.number, d.domain()),
        in_reply_to: i.ticket.notifications.last().cloned(),
        references: i.ticket.notifications.clone(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: d.address.clone(),
        attachments: if attach {
            i.attachments.to_vec()
        } else {
            Vec::new()
        },
    })
}
