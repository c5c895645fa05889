//! An agent's answer on its way to the customer: from the desk address
//! (shown as "Agent (Desk)"), with the tag, threaded under the customer's
//! last mail, to the requester and the ticket's Cc participants. Also the
//! report to an agent whose commands were not understood.

use std::collections::HashMap;

use crate::config::DeskConfig;
use crate::mail::compose::{AutoSubmitted, ComposeError, Draft, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::parse::Attachment;
use crate::mail::subject::TagMatcher;
use crate::mail::Mailbox;
use crate::outgoing::templates::{Template, Templates};
use crate::store::TicketInfo;

pub struct RelayInput<'a> {
    pub desk: &'a DeskConfig,
    pub tags: &'a TagMatcher,
    pub templates: &'a Templates,
    pub signer: &'a Signer,
    pub ticket: &'a TicketInfo,
    pub agent: &'a Mailbox,
    /// The answer, commands and quoted history already removed.
    pub body: &'a str,
    pub attachments: &'a [Attachment],
}

/// The agent's answer to the customer.
pub fn relay(i: RelayInput<'_>) -> Result<Outgoing, ComposeError> {
    let d = i.desk;
    let tag = i.tags.format(i.ticket.number);
    let vars = HashMap::from([
        ("tag", tag),
        ("number", i.ticket.number.to_string()),
        ("desk", d.shown_name()),
        ("desk_address", d.address.clone()),
        ("subject", super::shown_subject(&i.ticket.subject)),
    ]);
    let footer = i
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
    let references = i.ticket.thread_refs.clone();
    Outgoing::new(Draft {
        from: Mailbox::new(&d.address, Some(shown)),
        to: vec![i.ticket.requester.clone()],
        cc: i
            .ticket
            .cc
            .iter()
            .filter(|a| !d.is_agent(a) && **a != d.address)
            .map(|a| Mailbox::new(a, None))
            .collect(),
        reply_to: None,
        subject: i.tags.tagged_subject(i.ticket.number, &i.ticket.subject),
        text: format!("{}\n{}", i.body.trim_end(), footer),
        message_id: i.signer.new_id(i.ticket.number, d.domain()),
        in_reply_to: i.ticket.last_customer_id.clone(),
        references,
        // A person's answer, not an automatic one: vacation responders may reply.
        auto_submitted: None,
        loop_marker: d.address.clone(),
        attachments: i.attachments.to_vec(),
    })
}

/// Tells an agent which commands of their reply were not understood.
pub fn report(
    desk: &DeskConfig,
    tags: &TagMatcher,
    templates: &Templates,
    signer: &Signer,
    ticket: &TicketInfo,
    agent: &Mailbox,
    unknown: &[String],
) -> Result<Outgoing, ComposeError> {
    let vars = HashMap::from([
        ("tag", tags.format(ticket.number)),
        (
            "commands",
            unknown
                .iter()
                .map(|c| format!("  {c}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("desk", desk.shown_name()),
    ]);
    let text = templates
        .get(&desk.name, desk.language, "report")
        .render(&vars);
    Outgoing::new(Draft {
        from: Mailbox::new(&desk.address, Some(desk.shown_name())),
        to: vec![agent.clone()],
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
