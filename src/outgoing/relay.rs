//! An agent's answer on its way to the customer: from the desk address
//! (shown as "Agent (Desk)"), with the tag and the agent's signature (or
//! the desk's), threaded under the message answered, to its author and,
//! in Cc, the ticket's other customer-side participants. Also the report
//! to an agent on the commands of their reply.

use std::collections::HashMap;

use crate::config::Language;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::parse::Attachment;
use crate::mail::subject::TagMatcher;
use crate::mail::Mailbox;
use crate::outgoing::templates::Template;
use hilo_domain::{Answer, Answered};

pub struct RelayInput<'a> {
    pub about: super::About<'a>,
    pub agent: &'a Mailbox,
    /// The answer, commands and quoted history already removed.
    pub body: &'a str,
    /// Written below the answer, above the desk's footer.
    pub signature: Option<&'a str>,
    /// The customer's message answered: its author is the addressee.
    pub answering: Option<&'a Answered>,
    /// Only to these (the participants an agent's group reply left out);
    /// empty: to everyone on the customer's side.
    pub only: &'a [String],
    pub attachments: &'a [Attachment],
}

/// The agent's answer to the customer.
pub fn relay(i: RelayInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.about.desk;
    let tag = i.about.tags.format(i.about.ticket.number);
    let signature = i
        .signature
        .map(|s| format!("{}\n\n", s.trim_end()))
        .unwrap_or_default();
    let vars = HashMap::from([
        ("tag", tag),
        ("number", i.about.ticket.number.to_string()),
        ("desk", d.shown_name()),
        ("desk_address", d.from_for(i.about.ticket).to_string()),
        ("subject", super::shown_subject(&i.about.ticket.subject)),
        ("signature", signature),
    ]);
    let footer = i
        .about
        .templates
        .get(&d.name, d.language, "relay_footer")
        .render(&vars);
    let agent_name = i
        .agent
        .name
        .clone()
        .unwrap_or_else(|| i.agent.address.split('@').next().unwrap_or("").to_string());
    let shown = Template::parse_with("relay_name", &d.relay_name, &["agent", "desk"])
        .map(|t| {
            t.render(&HashMap::from([
                ("agent", agent_name),
                ("desk", d.shown_name()),
            ]))
        })
        .unwrap_or_else(|_| d.shown_name());
    // The thread's root and its recent customer-facing mail: never the
    // References of anyone's mail, which may hold ids of our mail to the
    // agents (proof for them, not for the customer).
    let references = i.about.ticket.thread_refs.clone();
    // To the author of the message answered; everyone else on the
    // customer's side in Cc, so each sees who else got the answer.
    let to = i
        .answering
        .map(|a| a.author.clone())
        .unwrap_or_else(|| i.about.ticket.requester.clone());
    let mut cc: Vec<Mailbox> = Vec::new();
    if to.address != i.about.ticket.requester.address {
        cc.push(i.about.ticket.requester.clone());
    }
    cc.extend(
        i.about
            .ticket
            .cc
            .iter()
            .filter(|a| !d.is_agent(a) && !d.receives_at(a) && **a != to.address)
            .map(|a| Mailbox::new(a, None)),
    );
    let (to, cc) = match i.only.split_first() {
        Some((first, rest)) => (
            Mailbox::new(first, None),
            rest.iter().map(|a| Mailbox::new(a, None)).collect(),
        ),
        None => (to, cc),
    };
    // Under the message answered when this copy's recipients have it (see
    // `ticket_info_for`), else under their own last mail.
    let in_reply_to = i
        .answering
        .and_then(|a| a.message_id.clone())
        .filter(|id| i.about.ticket.thread_refs.contains(id))
        .or_else(|| i.about.ticket.last_customer_id.clone());
    Outgoing::new(Draft {
        from: Mailbox::new(d.from_for(i.about.ticket), Some(shown)),
        to: vec![to],
        cc,
        reply_to: None,
        subject: i
            .about
            .tags
            .tagged_subject(i.about.ticket.number, &i.about.ticket.subject),
        text: format!("{}\n{}", i.body.trim_end(), footer),
        message_id: i.about.signer.new_id(i.about.ticket.number, d.domain()),
        in_reply_to,
        references,
        // A person's answer, not an automatic one: vacation responders may reply.
        auto_submitted: None,
        loop_marker: d.address.clone(),
        attachments: i.attachments.to_vec(),
    })
}

/// What a merge or split command did, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Merged {
        from: i64,
        into: i64,
        messages: usize,
        /// Participants of the source who joined the target: they get its
        /// answers from now on.
        participants: Vec<String>,
    },
    Split {
        from: i64,
        into: i64,
        messages: usize,
    },
    /// Refused by the store, with why.
    Refused(String),
}

pub struct ReportInput<'a> {
    pub about: super::About<'a>,
    pub agent: &'a Mailbox,
    /// What the agent's reply asked for, and what became of it.
    pub answer: &'a Answer,
    /// What its merge or split did.
    pub moved: &'a [Moved],
}

/// The lines of a report saying what the commands did.
fn done_lines(a: &Answer, moved: &[Moved], tags: &TagMatcher, lang: Language) -> Vec<String> {
    let es = lang == Language::Es;
    let mut out = Vec::new();
    for m in moved {
        out.push(match (m, es) {
            (Moved::Merged { from, into, messages, participants }, true) => format!(
                "{} fusionada en {}: {messages} mensajes movidos; {}; el cliente recibe un aviso en {} (deshacer: hilo tickets unmerge {from})",
                tags.format(*from),
                tags.format(*into),
                match participants.as_slice() {
                    [] => "ningún participante nuevo".to_string(),
                    p => format!("participantes que ahora reciben las respuestas: {}", p.join(", ")),
                },
                tags.format(*into),
            ),
            (Moved::Merged { from, into, messages, participants }, false) => format!(
                "{} merged into {}: {messages} messages moved; {}; the customer is told in {} (undo: hilo tickets unmerge {from})",
                tags.format(*from),
                tags.format(*into),
                match participants.as_slice() {
                    [] => "no new participants".to_string(),
                    p => format!("participants who now get the answers: {}", p.join(", ")),
                },
                tags.format(*into),
            ),
            (Moved::Split { from, into, messages }, true) => format!(
                "separada de {}: nueva solicitud {} con {messages} mensajes",
                tags.format(*from),
                tags.format(*into)
            ),
            (Moved::Split { from, into, messages }, false) => format!(
                "split from {}: new ticket {} with {messages} messages",
                tags.format(*from),
                tags.format(*into)
            ),
            (Moved::Refused(why), true) => format!("no hecho: {why}"),
            (Moved::Refused(why), false) => format!("not done: {why}"),
        });
    }
    for why in &a.refused {
        out.push(if es {
            format!("no hecho: {why}")
        } else {
            format!("not done: {why}")
        });
    }
    if a.internal {
        out.push(
            if es {
                "guardada como nota interna: el cliente no la recibe"
            } else {
                "kept as an internal note: the customer does not get it"
            }
            .to_string(),
        );
    }
    if let Some(s) = a.status {
        let w = super::status_word(s, lang);
        out.push(if es {
            format!("estado: {w}")
        } else {
            format!("status: {w}")
        });
    }
    if let Some(who) = &a.assign {
        out.push(if es {
            format!("asignada a {who}")
        } else {
            format!("assigned to {who}")
        });
    }
    if let Some(p) = &a.priority {
        let w = super::priority_word(*p, lang);
        out.push(if es {
            format!("prioridad: {w}")
        } else {
            format!("priority: {w}")
        });
    }
    for who in &a.add {
        out.push(if es {
            format!("añadido {who}: recibirá las respuestas")
        } else {
            format!("added {who}: they will get the answers")
        });
    }
    for who in &a.remove {
        out.push(if es {
            format!("quitado {who}")
        } else {
            format!("removed {who}")
        });
    }
    let direct = a.direct_to.join(", ");
    let only = a.only.join(", ");
    match (&a.relay, &a.held) {
        (Some(_), _) if a.release.is_some() => out.push(
            if es {
                "la respuesta retenida se ha enviado al cliente tal como la escribió"
            } else {
                "the answer held back was sent to the customer as written"
            }
            .to_string(),
        ),
        (Some(_), _) if !a.only.is_empty() => out.push(if es {
            format!("usted la envió directamente a {direct}; hilo la ha enviado a quienes dejó fuera: {only}")
        } else {
            format!("you sent it directly to {direct}; hilo sent it to those you left out: {only}")
        }),
        (None, None) if !a.direct_to.is_empty() && !a.internal => out.push(if es {
            format!("usted la envió directamente a {direct}: todos los participantes la tienen, hilo no la reenvía")
        } else {
            format!("you sent it directly to {direct}: every participant has it, hilo does not send it again")
        }),
        (Some(_), _) => out.push(
            if es {
                "respuesta enviada al cliente"
            } else {
                "answer sent to the customer"
            }
            .to_string(),
        ),
        (None, Some(h)) => out.push(if es {
            format!("respuesta no enviada: {}", h.why)
        } else {
            format!("answer not sent: {}", h.why)
        }),
        (None, None) => {}
    }
    out
}

/// Tells an agent what the commands of their reply did, and which were
/// not understood.
pub fn report(i: ReportInput<'_>) -> Result<Outgoing, ComposeError> {
    let (desk, tags, ticket) = (i.about.desk, i.about.tags, i.about.ticket);
    let list = |lines: Vec<String>| {
        lines
            .iter()
            .map(|c| format!("  {c}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let es = desk.language == Language::Es;
    let done = done_lines(i.answer, i.moved, tags, desk.language);
    let done = if done.is_empty() {
        String::new()
    } else {
        let head = if es { "Hecho:" } else { "Done:" };
        format!("{head}\n{}\n\n", list(done))
    };
    let unknown = if i.answer.unknown.is_empty() {
        String::new()
    } else {
        let head = if es {
            "Estas órdenes no se han entendido y no se han aplicado:"
        } else {
            "These commands were not understood and were not applied:"
        };
        format!("{head}\n{}\n\n", list(i.answer.unknown.clone()))
    };
    let vars = HashMap::from([
        ("tag", tags.format(ticket.number)),
        ("subject", super::shown_subject(&ticket.subject)),
        ("done", done),
        ("commands", unknown),
        ("desk", desk.shown_name()),
    ]);
    let text = i
        .about
        .templates
        .get(&desk.name, desk.language, "report")
        .render(&vars);
    let signer = i.about.signer;
    Outgoing::new(Draft {
        from: Mailbox::new(desk.from_for(ticket), Some(desk.shown_name())),
        to: vec![i.agent.clone()],
        cc: Vec::new(),
        reply_to: None,
        subject: tags.tagged_subject(ticket.number, &ticket.subject),
        text,
        message_id: signer.new_id(ticket.number, desk.domain()),
        in_reply_to: ticket.notifications.last().cloned(),
        references: ticket.notifications.clone(),
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: desk.address.clone(),
        attachments: Vec::new(),
    })
}

pub struct NoticeInput<'a> {
    pub about: super::About<'a>,
    /// The agent's address the unsent answer came from: an agent's by
    /// configuration, so the real agent reads this, never a forger.
    pub agent: &'a Mailbox,
    pub why: hilo_domain::Unheard,
    /// What the mail said (commands included), shown in full up to a cap.
    pub text: &'a str,
    /// The Message-ID of the agent's mail, to thread under it.
    pub their_id: Option<&'a str>,
}

/// Longest answer a notice shows, in characters.
const NOTICE_TEXT_CHARS: usize = 8000;

/// Tells an agent that their answer was not sent, why, and how to send it
/// as written (`#enviar` in reply); warns that someone may be writing in
/// their name.
pub fn notice(i: NoticeInput<'_>) -> Result<Outgoing, ComposeError> {
    use hilo_domain::Unheard;
    let (desk, tags, ticket) = (i.about.desk, i.about.tags, i.about.ticket);
    let tag = tags.format(ticket.number);
    let subject = super::shown_subject(&ticket.subject);
    let es = desk.language == Language::Es;
    let quoted: String = super::capped(
        i.text.trim(),
        NOTICE_TEXT_CHARS,
        if es { "recortado" } else { "cut" },
    )
    .lines()
    .map(|l| format!("> {l}\n"))
    .collect();
    let agent = &i.agent.address;
    let why = match (i.why, es) {
        (Unheard::NoProof, true) => format!(
            "nada prueba que la escribiera usted: no responde a una notificación de hilo enviada a su dirección ({agent}). \
             Pasa al contestar la notificación enviada a otra persona o a una lista que no figura en notify_lists, \
             cuando el programa de correo no conserva las cabeceras de la respuesta (algunos móviles) \
             o en un correo nuevo con {tag} en el asunto."
        ),
        (Unheard::NoProof, false) => format!(
            "nothing proves you wrote it: it does not answer a notification hilo sent to your address ({agent}). \
             This happens when answering a notification sent to someone else or to a list not in notify_lists, \
             when the mail client drops the reply's headers (some phones), \
             or with a fresh mail with {tag} in the subject."
        ),
        (Unheard::LoopBreaker, true) => "el freno de bucles: demasiadas respuestas en poco tiempo en esta solicitud.".to_string(),
        (Unheard::LoopBreaker, false) => "the loop breaker: too many answers in a short time on this ticket.".to_string(),
    };
    let text = if es {
        format!(
            "Su respuesta en {tag} «{subject}» no se ha enviado al cliente.\n\n\
             Motivo: {why}\n\n\
             Esto es lo que recibimos:\n\n{quoted}\n\
             Si la escribió usted y quiere enviarla tal cual, responda a este correo con «#enviar» en la primera línea.\n\
             Si no la escribió usted, no haga nada: alguien puede estar escribiendo en su nombre. \
             La respuesta queda guardada en la solicitud y no llega a nadie.\n\n{}\n",
            desk.shown_name()
        )
    } else {
        format!(
            "Your answer on {tag} \"{subject}\" was not sent to the customer.\n\n\
             Why: {why}\n\n\
             This is what we received:\n\n{quoted}\n\
             If you wrote it and want it sent as written, reply to this email with \"#send\" on the first line.\n\
             If you did not write it, do nothing: someone may be writing in your name. \
             The answer stays on the ticket and reaches no one.\n\n{}\n",
            desk.shown_name()
        )
    };
    let mut references = ticket.notifications.clone();
    references.extend(i.their_id.map(str::to_string));
    Outgoing::new(Draft {
        from: Mailbox::new(desk.from_for(ticket), Some(desk.shown_name())),
        to: vec![i.agent.clone()],
        cc: Vec::new(),
        reply_to: None,
        subject: tags.tagged_subject(ticket.number, &ticket.subject),
        text,
        message_id: i.about.signer.new_id(ticket.number, desk.domain()),
        in_reply_to: i.their_id.map(str::to_string),
        references,
        auto_submitted: Some(AutoSubmitted::Generated),
        loop_marker: desk.address.clone(),
        attachments: Vec::new(),
    })
}
