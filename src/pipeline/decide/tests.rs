//! The decision's unit tests, over an in-memory `Lookup`.

use super::*;
use crate::config::{Config, TestConfig, TestDesk};
use crate::pipeline::memory::MemoryLookup;
use crate::pipeline::Answered;

const NOW: &str = "2026-11-29T12:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

/// Two desks, `ventas` listed before `soporte`; `soporte` has agents,
/// notifications, a comment address and room for 2 acknowledgements.
fn desks(trust: &str, settings: &str) -> Vec<DeskRuntime> {
    let toml = TestConfig::new("x.db")
        .desk(TestDesk::new("ventas", "ventas@example.test", "VEN", "es"))
        .desk(TestDesk::soporte().settings(&format!(
            "addresses = [\"ayuda@example.test\"]\nplus_addressing = true\n\
             agents = [\"@agentes.test\", \"eva@agentes.test\"]\nagent_trust = \"{trust}\"\nauthserv_ids = [\"mx.example.test\"]\nnotify = [\"equipo@agentes.test\"]\nnotify_lists = [\"equipo@agentes.test\"]\n\
             max_participants = 3\nmax_notifications = 2\nnotify_window = \"1h\"\nloop_max_relays = 3\nloop_window = \"10m\"\n\
             comment_address = \"soporte+nota@example.test\"\nmax_autoreplies = 2\nautoreply_window = \"1h\"\n\
             reopen_days = 30\n{settings}"
        )))
        .render();
    let config = Config::from_toml(&toml, Vec::<(String, String)>::new()).unwrap();
    config.desks.iter().map(DeskRuntime::new).collect()
}

fn ticket(number: i64, status: Status, closed_at: Option<&str>) -> TicketRef {
    TicketRef {
        number,
        desk: "soporte".into(),
        status,
        closed_at: closed_at.map(|c| c.parse().expect("a test time")),
        merged_into: None,
    }
}

fn existing(status: Status, closed_at: Option<&str>) -> Thread {
    Thread::Existing {
        ticket: ticket(5, status, closed_at),
        via: Via::Header,
    }
}

fn class(kind: MessageKind, may_autoreply: bool) -> Classification {
    Classification {
        kind,
        may_autoreply,
        reason: "test",
    }
}

fn customer() -> Classification {
    class(MessageKind::Customer, true)
}

/// One decision over desk `soporte`.
struct Case {
    raw: String,
    class: Classification,
    thread: Thread,
    bounce: Option<Bounce>,
    backlog: bool,
    trust: &'static str,
    /// Extra keys for desk `soporte`.
    settings: &'static str,
}

impl Case {
    fn new(headers: &str, body: &str) -> Case {
        Case {
            raw: format!("{headers}\r\n\r\n{body}"),
            class: customer(),
            thread: Thread::New { linked_to: None },
            bounce: None,
            backlog: false,
            trust: "signed-reply",
            settings: "",
        }
    }

    fn from(from: &str) -> Case {
        Case::new(
            &format!("From: {from}\r\nTo: soporte@example.test\r\nSubject: Hola"),
            "texto",
        )
    }

    fn run(&self, lookup: &MemoryLookup) -> Plan {
        let desks = desks(self.trust, self.settings);
        let own = vec![
            "ventas@example.test".to_string(),
            "soporte@example.test".to_string(),
            "ayuda@example.test".to_string(),
            "soporte+nota@example.test".to_string(),
        ];
        let msg = crate::mail::parse(self.raw.as_bytes()).unwrap();
        let input = Input {
            desk: &desks[1],
            desks: &desks,
            own_addresses: &own,
            signer: &Signer::new(b"k"),
            msg: &msg,
            new_text: &msg.new_text,
            class: &self.class,
            thread: &self.thread,
            bounce: self.bounce.as_ref(),
            backlog: self.backlog,
            now: now(),
        };
        decide(&input, lookup).unwrap()
    }

    fn step(&self) -> Step {
        self.run(&MemoryLookup::default()).step
    }
}

fn open_of(s: Step) -> Open {
    match s {
        Step::Open(o) => o,
        other => panic!("expected Open, got {other:?}"),
    }
}

fn append_of(s: Step) -> Append {
    match s {
        Step::Append(a) => a,
        other => panic!("expected Append, got {other:?}"),
    }
}

fn answer_of(s: Step) -> Answer {
    match s {
        Step::Answer(a) => *a,
        other => panic!("expected Answer, got {other:?}"),
    }
}

#[test]
fn a_customers_new_mail_opens_an_acknowledged_notified_ticket() {
    let o = open_of(Case::from("ana@cliente.test").step());
    assert_eq!(o.subject, "Hola");
    assert_eq!(o.linked_to, None);
    assert_eq!(
        o.ack,
        Ack::Send {
            closed_before: None
        }
    );
    assert_eq!(o.notify, Notify::Yes);
}

#[test]
fn the_ticket_subject_loses_tags_and_prefixes_and_is_never_empty() {
    let c = Case::new(
        "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: RE: [SOP-9] Factura",
        "x",
    );
    assert_eq!(open_of(c.step()).subject, "Factura");
    let c = Case::new("From: ana@cliente.test\r\nTo: soporte@example.test", "x");
    assert_eq!(open_of(c.step()).subject, "(no subject)");
}

#[test]
fn other_recipients_become_cc_but_never_our_addresses_or_the_sender() {
    let c = Case::new(
        "From: ana@cliente.test\r\nTo: soporte@example.test, jefe@cliente.test\r\n\
         Cc: ana@cliente.test, soporte+nota@example.test, ventas@example.test\r\nSubject: x",
        "x",
    );
    // ventas is listed first and addressed: that is the other-desk rule.
    assert!(matches!(c.step(), Step::OtherDesk { .. }));
    let c = Case::new(
        "From: ana@cliente.test\r\nTo: soporte@example.test, jefe@cliente.test\r\n\
         Cc: ana@cliente.test, soporte+nota@example.test\r\nSubject: x",
        "x",
    );
    let cc: Vec<String> = open_of(c.step())
        .cc
        .into_iter()
        .map(|m| m.address)
        .collect();
    assert_eq!(cc, ["jefe@cliente.test"]);
}

fn open_ticket(
    number: i64,
    subject: &str,
    text: &str,
    days_ago: i64,
) -> crate::pipeline::OpenTicket {
    let at = now() - chrono::Duration::days(days_ago);
    crate::pipeline::OpenTicket {
        number,
        subject: subject.into(),
        status: Status::Open,
        created_at: at,
        updated_at: at,
        text: text.into(),
    }
}

#[test]
fn a_new_ticket_knows_the_requesters_open_ones_most_similar_first() {
    let c = Case::new(
        "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: La impresora sigue sin imprimir",
        "La impresora de la planta 2 no imprime.",
    );
    let mut f = MemoryLookup::default();
    f.open.insert(
        "ana@cliente.test".into(),
        vec![
            open_ticket(9, "Factura duplicada", "Me cobraron dos veces.", 1),
            open_ticket(
                8,
                "No imprime",
                "La impresora de la planta 2 no imprime nada.",
                2,
            ),
        ],
    );
    let o = open_of(c.run(&f).step);
    let order: Vec<i64> = o.related.iter().map(|r| r.number).collect();
    assert_eq!(order, [8, 9]);
    assert!(o.related[0].score > 400, "{:?}", o.related[0]);
    assert_eq!(o.related[1].score, 0);
    // Off by default: the mail still opens its own ticket.
    assert!(matches!(c.run(&f).step, Step::Open(_)));
}

#[test]
fn auto_link_joins_only_a_similar_recent_ticket() {
    let mut c = Case::new(
        "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: La impresora no imprime",
        "La impresora de la planta 2 no imprime nada.",
    );
    let with = |days| {
        let mut f = MemoryLookup::default();
        f.open.insert(
            "ana@cliente.test".into(),
            vec![open_ticket(
                8,
                "No imprime",
                "La impresora de la planta 2 no imprime nada.",
                days,
            )],
        );
        f
    };
    c.settings = "auto_link_duplicates = true\nauto_link_threshold = 0.5\nauto_link_days = 7";
    let a = append_of(c.run(&with(2)).step);
    assert_eq!(a.ticket, 8);
    assert!(a.auto_linked.is_some());
    assert_eq!(a.receipt, Receipt::Send, "the customer hears where it went");
    // Opened too long ago: a new ticket.
    assert!(matches!(c.run(&with(30)).step, Step::Open(_)));
    // Not similar enough: a new ticket.
    c.raw = c.raw.replace(
        "Subject: La impresora no imprime",
        "Subject: Y la factura 12 duplicada",
    );
    c.settings = "auto_link_duplicates = true\nauto_link_threshold = 0.7";
    assert!(matches!(c.run(&with(2)).step, Step::Open(_)));
}

#[test]
fn a_customer_naming_an_open_ticket_in_answer_to_an_acknowledgement_merges() {
    let headers =
        "From: ana@cliente.test\r\nTo: soporte@example.test\r\nSubject: Re: [SOP-9] Impresora";
    // Her domain's signature, as our receiving server saw it.
    let verified = format!(
        "Authentication-Results: mx.example.test; dkim=pass header.d=cliente.test\r\n{headers}"
    );
    let mut c = Case::new(&verified, "Es sobre SOP-8, perdón.");
    let mut f = MemoryLookup::default();
    f.open.insert(
        "ana@cliente.test".into(),
        vec![
            open_ticket(9, "Impresora", "x", 0),
            open_ticket(8, "No imprime", "y", 1),
        ],
    );
    let signed = |status| Thread::Existing {
        ticket: ticket(9, status, None),
        via: Via::SignedHeader,
    };
    c.thread = signed(Status::New);
    let a = append_of(c.run(&f).step);
    assert_eq!((a.ticket, a.merge_from), (8, Some(9)));
    // Once an agent acted (not new), or by a tag only, or naming a
    // ticket that is not hers: no merge.
    c.thread = signed(Status::Pending);
    assert_eq!(append_of(c.run(&f).step).merge_from, None);
    c.thread = Thread::Existing {
        ticket: ticket(9, Status::New, None),
        via: Via::SubjectTag,
    };
    assert_eq!(append_of(c.run(&f).step).merge_from, None);
    c.thread = signed(Status::New);
    // Unauthenticated, the same words only ask the agents.
    let mut forged = Case::new(headers, "Es sobre SOP-8, perdón.");
    forged.thread = signed(Status::New);
    let a = append_of(forged.run(&f).step);
    assert_eq!((a.ticket, a.merge_from, a.merge_asked), (9, None, Some(8)));
    assert_eq!(a.receipt, Receipt::No);
    f.open.get_mut("ana@cliente.test").unwrap().pop();
    assert_eq!(append_of(c.run(&f).step).merge_from, None);
}

#[test]
fn strangers_in_cc_of_an_unverified_first_mail_wait_for_an_agent() {
    let headers = "From: ana@cliente.test\r\nTo: soporte@example.test\r\nCc: jefe@cliente.test, eve@evil.test\r\nSubject: IBAN";
    let o = open_of(Case::new(headers, "x").step());
    assert_eq!(o.cc.len(), 2);
    assert_eq!(o.pending, ["eve@evil.test"]);
    // Her own domain's verified mail: she chose whom to copy.
    let signed = format!(
        "Authentication-Results: mx.example.test; dmarc=pass header.from=cliente.test\r\n{headers}"
    );
    assert!(open_of(Case::new(&signed, "x").step()).pending.is_empty());
}

#[test]
fn adding_participants_stops_at_the_cap() {
    let mut f = MemoryLookup::default();
    f.to_agents.push((
        5,
        "n1@agentes.test".into(),
        vec!["equipo@agentes.test".into()],
    ));
    f.customers
        .insert(5, vec!["ana@cliente.test".into(), "b@cliente.test".into()]);
    let mut c = Case::new(
        "From: eva@agentes.test\r\nTo: soporte@example.test\r\nSubject: Re: [SOP-5] x\r\nIn-Reply-To: <n1@agentes.test>",
        "#añadir c@cliente.test\n#añadir d@cliente.test\n#añadir b@cliente.test\n#añadir soporte@example.test\n\nHecho.",
    );
    c.thread = existing(Status::Open, None);
    // Signed ids only: make the notification id one of ours.
    let id = Signer::new(b"k").new_id(5, "example.test");
    c.raw = c.raw.replace("n1@agentes.test", &id);
    f.to_agents[0].1 = id;
    // max_participants = 3, one Cc already (b@).
    f.participants.push((5, "b@cliente.test".into()));
    let a = match c.run(&f).step {
        Step::Answer(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(a.add, ["c@cliente.test", "d@cliente.test"]);
    assert_eq!(a.refused.len(), 1, "{:?}", a.refused);
    assert!(a.refused[0].contains("soporte@example.test"));
}

#[test]
fn only_the_requester_resolves_with_a_faq_phrase() {
    let mut f = MemoryLookup::default();
    f.faq_acks.push((9, "ack9@example.test".into()));
    let mut c = Case::new(
        "From: irene@cliente.test\r\nTo: soporte@example.test\r\nSubject: Re: [SOP-9] x\r\nIn-Reply-To: <ack9@example.test>",
        "#resuelto",
    );
    c.thread = Thread::Existing {
        ticket: ticket(9, Status::New, None),
        via: Via::SignedHeader,
    };
    assert!(!append_of(c.run(&f).step).solved_by_faq, "a Cc participant");
    f.open.insert(
        "irene@cliente.test".into(),
        vec![open_ticket(9, "x", "x", 0)],
    );
    assert!(append_of(c.run(&f).step).solved_by_faq, "the requester");
}

#[test]
fn a_ticket_remembers_the_desk_address_written_to() {
    let to = |to: &str| {
        let c = Case::new(
            &format!("From: ana@cliente.test\r\nTo: {to}\r\nSubject: x"),
            "x",
        );
        open_of(c.step()).address
    };
    assert_eq!(to("soporte@example.test"), "soporte@example.test");
    assert_eq!(to("Ayuda <AYUDA@example.test>"), "ayuda@example.test");
    assert_eq!(
        to("ayuda+facturas@example.test"),
        "ayuda+facturas@example.test"
    );
    // Bcc: the desk is in no header.
    assert_eq!(to("otro@cliente.test"), "soporte@example.test");
    // An alias and a plus-address in Cc are ours, not participants.
    let c = Case::new(
        "From: ana@cliente.test\r\nTo: ayuda@example.test\r\nCc: soporte+x@example.test, jefe@cliente.test\r\nSubject: x",
        "x",
    );
    let cc: Vec<String> = open_of(c.step())
        .cc
        .into_iter()
        .map(|m| m.address)
        .collect();
    assert_eq!(cc, ["jefe@cliente.test"]);
}

#[test]
fn mail_also_sent_to_a_desk_listed_first_is_left_to_it() {
    let c = Case::new(
        "From: ana@cliente.test\r\nTo: soporte@example.test\r\nCc: ventas@example.test\r\n\
         Message-ID: <m1@cliente.test>\r\nSubject: x",
        "x",
    );
    let Step::OtherDesk { note } = c.step() else {
        panic!("not left to the other desk")
    };
    assert_eq!(
        note,
        "also sent to desk ventas, listed first: handled there"
    );
    let mut f = MemoryLookup::default();
    f.ids.insert("m1@cliente.test".into(), 12);
    let Step::OtherDesk { note } = c.run(&f).step else {
        panic!("not left to the other desk")
    };
    assert_eq!(note, "also sent to desk ventas: handled there as [VEN-12]");
    // A machine's copy is not a customer's: the rule is for customers.
    let mut ooo = c;
    ooo.class = class(MessageKind::AutoReply, false);
    assert!(matches!(ooo.step(), Step::SetAside { .. }));
}

#[test]
fn acknowledgements_stop_at_the_rate_limit_within_the_window() {
    let c = Case::from("ana@cliente.test");
    let mut f = MemoryLookup::default();
    let ago = |mins| now() - chrono::Duration::minutes(mins);
    // Two in the window reach max_autoreplies = 2; older ones do not count.
    let ack = |who: &str, t| (MessageKind::Ack, who.to_string(), t);
    f.caused.push(ack("ana@cliente.test", ago(90)));
    f.caused.push(ack("ana@cliente.test", ago(30)));
    f.caused.push(ack("otro@cliente.test", ago(10)));
    assert_eq!(
        open_of(c.run(&f).step).ack,
        Ack::Send {
            closed_before: None
        }
    );
    f.caused.push(ack("ana@cliente.test", ago(5)));
    let Ack::Limited { why } = open_of(c.run(&f).step).ack else {
        panic!("not limited")
    };
    assert_eq!(
        why,
        "rate limit: 2 acknowledgements to ana@cliente.test within 1h"
    );
}

#[test]
fn no_acknowledgement_when_the_sender_wants_none_or_the_mail_is_old() {
    let mut c = Case::from("ana@cliente.test");
    c.class = class(MessageKind::Customer, false);
    let o = open_of(c.step());
    assert_eq!(o.ack, Ack::No);
    assert_eq!(o.notify, Notify::Yes, "agents still hear of it");
    let mut c = Case::from("ana@cliente.test");
    c.backlog = true;
    let o = open_of(c.step());
    assert_eq!(o.ack, Ack::No);
    assert_eq!(o.notify, Notify::No, "old mail notifies no one");
}

#[test]
fn closed_tickets_reopen_only_within_the_window() {
    let mut c = Case::from("ana@cliente.test");
    c.thread = existing(Status::Closed, Some("2026-11-20T12:00:00.000Z"));
    let a = append_of(c.step());
    assert_eq!((a.ticket, a.status), (5, Some(Status::Open)));
    c.thread = existing(Status::Closed, Some("2026-09-01T12:00:00.000Z"));
    let o = open_of(c.step());
    assert_eq!(o.linked_to, Some(5));
    assert_eq!(
        o.ack,
        Ack::Send {
            closed_before: Some(5)
        }
    );
    // Closed before hilo recorded when: reopened.
    c.thread = existing(Status::Closed, None);
    assert_eq!(append_of(c.step()).status, Some(Status::Open));
    // An out-of-office to an old closed ticket is just recorded.
    c.thread = existing(Status::Closed, Some("2026-09-01T12:00:00.000Z"));
    c.class = class(MessageKind::AutoReply, false);
    let a = append_of(c.step());
    assert_eq!((a.status, a.notify), (None, Notify::No));
}

#[test]
fn a_customer_reply_puts_the_ticket_back_with_the_agents() {
    let mut c = Case::from("ana@cliente.test");
    for (status, then) in [
        (Status::New, None),
        (Status::Open, None),
        (Status::Pending, Some(Status::Open)),
        (Status::Resolved, Some(Status::Open)),
    ] {
        c.thread = existing(status, None);
        let a = append_of(c.step());
        assert_eq!(a.status, then, "{status:?}");
        assert_eq!(a.notify, Notify::Yes);
        assert_eq!(a.kind, MessageKind::Customer);
    }
    c.backlog = true;
    assert_eq!(append_of(c.step()).notify, Notify::No);
}

#[test]
fn a_subject_tag_a_stranger_may_not_join_links_a_new_ticket() {
    let mut c = Case::from("ana@cliente.test");
    c.thread = Thread::New { linked_to: Some(8) };
    let o = open_of(c.step());
    assert_eq!(o.linked_to, Some(8));
    assert_eq!(
        o.ack,
        Ack::Send {
            closed_before: None
        }
    );
}

#[test]
fn machines_never_open_tickets_or_change_them() {
    for k in [
        MessageKind::AutoReply,
        MessageKind::Bounce,
        MessageKind::List,
        MessageKind::Own,
    ] {
        let mut c = Case::from("robot@cliente.test");
        c.class = class(k, false);
        assert_eq!(
            c.step(),
            Step::SetAside {
                kind: k,
                reason: "test",
                note: "test".into()
            },
            "{k:?}"
        );
        c.thread = existing(Status::Closed, None);
        let a = append_of(c.step());
        assert_eq!((a.kind, a.status, a.notify), (k, None, Notify::No), "{k:?}");
    }
}

#[test]
fn a_bounce_marks_what_it_reports_and_records_why() {
    let bounce = Bounce {
        reported: vec!["out1@example.test".into()],
        recipients: vec!["ana@cliente.test".into()],
        reason: "5.1.1 user unknown".into(),
    };
    let mut c = Case::from("mailer-daemon@cliente.test");
    c.class = class(MessageKind::Bounce, false);
    c.bounce = Some(bounce.clone());
    let p = c.run(&MemoryLookup::default());
    assert_eq!(p.undeliverable.as_ref(), Some(&bounce));
    let Step::SetAside { note, .. } = p.step else {
        panic!("not set aside")
    };
    assert_eq!(note, "5.1.1 user unknown");
    c.thread = existing(Status::Pending, None);
    let a = append_of(c.step());
    assert_eq!(a.bounce.as_deref(), Some("5.1.1 user unknown"));
    assert_eq!(a.note.as_deref(), Some("5.1.1 user unknown"));
    assert_eq!(a.status, None);
}

// The agent path. `Signer::new(b"k")` signs ids; the fake says which
// signed ids went to the agents of which ticket.

fn signed_id(ticket: i64) -> String {
    Signer::new(b"k").new_id(ticket, "example.test")
}

/// An agent's reply to our notification on ticket 5 (signed, sent to
/// the agents) with `body`, and the lookup that knows ticket 5.
fn agent_reply(body: &str, extra_headers: &str) -> (Case, MemoryLookup) {
    let id = signed_id(5);
    let mut c = Case::new(
        &format!(
            "From: Luis <luis@agentes.test>\r\nTo: soporte@example.test\r\n{extra_headers}\
             In-Reply-To: <{id}>\r\nSubject: RE: [SOP-5] Hola"
        ),
        body,
    );
    c.thread = existing(Status::Open, None);
    let mut f = MemoryLookup::default();
    f.tickets.insert(5, ticket(5, Status::Open, None));
    f.to_agents
        .push((5, id, vec!["equipo@agentes.test".into()]));
    f.customers.insert(5, vec!["ana@cliente.test".into()]);
    (c, f)
}

#[test]
fn a_mail_that_joined_by_its_tag_is_confirmed_within_the_rate_limit() {
    let mut c = Case::from("ana@cliente.test");
    let via = |via| Thread::Existing {
        ticket: ticket(5, Status::Open, None),
        via,
    };
    for (v, want) in [
        (Via::BodyTag, Receipt::Send),
        (Via::SubjectTag, Receipt::Send),
        (Via::Header, Receipt::No),
        (Via::SignedHeader, Receipt::No),
        (Via::ThreadIndex, Receipt::No),
    ] {
        c.thread = via(v);
        assert_eq!(append_of(c.step()).receipt, want, "{v:?}");
    }
    c.thread = via(Via::BodyTag);
    let mut f = MemoryLookup::default();
    for _ in 0..2 {
        f.caused
            .push((MessageKind::Receipt, "ana@cliente.test".into(), now()));
    }
    assert!(matches!(
        append_of(c.run(&f).step).receipt,
        Receipt::Limited { .. }
    ));
    // Old mail and machines hear nothing.
    c.backlog = true;
    assert_eq!(append_of(c.step()).receipt, Receipt::No);
    c.backlog = false;
    c.class = class(MessageKind::Customer, false);
    assert_eq!(append_of(c.step()).receipt, Receipt::No);
}

#[test]
fn the_answer_goes_to_the_author_answered_who_joins_if_new() {
    let (c, mut f) = agent_reply("Gracias, Luis.", "");
    let id = f.to_agents[0].1.clone();
    let who = |a: &str| Answered {
        message: 9,
        author: Mailbox::new(a, None),
        message_id: Some("m@cliente.test".into()),
    };
    // Unknown: the requester, as before.
    let a = answer_of(c.run(&f).step);
    assert_eq!((a.answering, a.join), (None, false));
    // A colleague who wrote through our acknowledgement.
    f.answered.push((5, id.clone(), who("pepe@cliente.test")));
    let a = answer_of(c.run(&f).step);
    assert_eq!(a.answering, Some(who("pepe@cliente.test")));
    assert!(a.join);
    // The requester: no one joins.
    f.answered[0].2 = who("ana@cliente.test");
    let a = answer_of(c.run(&f).step);
    assert_eq!(a.answering, Some(who("ana@cliente.test")));
    assert!(!a.join);
    // Never an agent or one of our own addresses.
    for own in ["eva@agentes.test", "soporte@example.test"] {
        f.answered[0].2 = who(own);
        let a = answer_of(c.run(&f).step);
        assert_eq!((a.answering, a.join), (None, false), "{own}");
    }
    // An internal note answers no one.
    let (c, mut f) = agent_reply("#nota\nllamar mañana", "");
    let id = f.to_agents[0].1.clone();
    f.answered.push((5, id, who("pepe@cliente.test")));
    let a = answer_of(c.run(&f).step);
    assert_eq!((a.answering, a.join), (None, false));
}

#[test]
fn commands_are_confirmed_and_the_agents_signature_relayed() {
    let (c, f) = agent_reply("Hecho.\n\n-- \nLuis\nExt. 12", "");
    let a = answer_of(c.run(&f).step);
    assert!(!a.confirm, "no command, no confirmation");
    assert_eq!(a.signature.as_deref(), Some("Luis\nExt. 12"));
    for cmd in [
        "#cerrar",
        "#nota",
        "#prioridad alta",
        "#asignar x@agentes.test",
        "#añadir x@y.test",
        "#quitar x@y.test",
        "#bailar",
    ] {
        let (c, f) = agent_reply(&format!("{cmd}\nHecho."), "");
        assert!(answer_of(c.run(&f).step).confirm, "{cmd}");
    }
    // A note carries no signature anywhere: nothing is relayed.
    let (c, f) = agent_reply("#nota\nHecho.\n-- \nLuis", "");
    assert_eq!(answer_of(c.run(&f).step).signature, None);
}

#[test]
fn a_signed_agent_reply_is_relayed_and_leaves_the_ticket_pending() {
    let (c, f) = agent_reply("Ya está resuelto.", "");
    let a = answer_of(c.run(&f).step);
    assert_eq!(a.ticket, 5);
    assert!(!a.internal);
    assert_eq!(a.relay.as_deref(), Some("Ya está resuelto."));
    assert_eq!(a.status, Some(Status::Pending));
    assert_eq!(a.note, None);
}

#[test]
fn an_agent_mail_without_proof_reaches_no_one() {
    // A reply that names a signed id we never sent to the agents.
    let (c, mut f) = agent_reply("hola", "");
    f.to_agents.clear();
    assert_eq!(
        c.run(&f).step,
        Step::Unverified {
            ticket: 5,
            notice: Notice::Send(Unheard::NoProof)
        }
    );
    // A signed id of another ticket proves nothing for this one.
    let (c, mut f) = agent_reply("hola", "");
    f.to_agents = vec![(6, signed_id(6), vec!["equipo@agentes.test".into()])];
    assert_eq!(
        c.run(&f).step,
        Step::Unverified {
            ticket: 5,
            notice: Notice::Send(Unheard::NoProof)
        }
    );
    // Authentication-Results count only with agent_trust = "authenticated".
    let (c, mut f) = agent_reply(
        "hola",
        "Authentication-Results: mx.example.test; dkim=pass header.d=agentes.test\r\n",
    );
    f.to_agents.clear();
    assert_eq!(
        c.run(&f).step,
        Step::Unverified {
            ticket: 5,
            notice: Notice::Send(Unheard::NoProof)
        }
    );
}

#[test]
fn an_authenticated_agent_may_name_a_ticket_by_its_tag() {
    let (mut c, mut f) = agent_reply(
        "Respuesta",
        "Authentication-Results: mx.example.test; dkim=pass header.d=agentes.test\r\n",
    );
    c.trust = "authenticated";
    f.to_agents.clear();
    c.thread = Thread::New { linked_to: None };
    let a = answer_of(c.run(&f).step);
    assert_eq!((a.ticket, a.relay.as_deref()), (5, Some("Respuesta")));
    // A pass for another domain is no proof.
    let (mut c, mut f) = agent_reply(
        "Respuesta",
        "Authentication-Results: mx.example.test; dkim=pass header.d=otro.test\r\n",
    );
    c.trust = "authenticated";
    f.to_agents.clear();
    assert_eq!(
        c.run(&f).step,
        Step::Unverified {
            ticket: 5,
            notice: Notice::Send(Unheard::NoProof)
        }
    );
}

#[test]
fn an_agent_mail_about_no_ticket_is_anyones_mail() {
    let mut c = Case::from("luis@agentes.test");
    c.thread = Thread::New { linked_to: None };
    assert!(matches!(c.step(), Step::Open(_)));
    // Naming another desk's ticket, or one that does not exist, is no ticket.
    let c = Case::new(
        "From: luis@agentes.test\r\nTo: soporte@example.test\r\nSubject: [SOP-77] x",
        "x",
    );
    let mut f = MemoryLookup::default();
    f.tickets.insert(
        77,
        TicketRef {
            desk: "ventas".into(),
            ..ticket(77, Status::Open, None)
        },
    );
    assert!(matches!(c.run(&f).step, Step::Open(_)));
}

#[test]
fn an_internal_note_changes_no_status_and_is_relayed_to_no_one() {
    let (c, f) = agent_reply("#nota\nLlamé al cliente.", "");
    let a = answer_of(c.run(&f).step);
    assert!(a.internal);
    assert_eq!(
        (a.relay, a.status, a.note),
        (None, None, Some("internal note"))
    );
    // Mail to the comment address is a note too.
    let (c, f) = agent_reply("Llamé al cliente.", "Cc: soporte+nota@example.test\r\n");
    let a = answer_of(c.run(&f).step);
    assert!(a.internal);
    assert_eq!(a.relay, None);
}

#[test]
fn a_reply_written_to_the_customer_directly_is_not_relayed_again() {
    let (c, f) = agent_reply("Hola Ana", "Cc: ana@cliente.test\r\n");
    let a = answer_of(c.run(&f).step);
    assert_eq!(a.relay, None);
    assert_eq!(a.status, Some(Status::Pending));
    assert_eq!(
        a.note,
        Some("written to the customer directly: not relayed again")
    );
}

#[test]
fn agent_commands_set_what_they_name_and_unknown_ones_are_reported() {
    let (c, f) = agent_reply(
        "#cerrar\n#asignar eva@agentes.test\n#prioridad alta\n#bailar\n\nListo.",
        "",
    );
    let a = answer_of(c.run(&f).step);
    assert_eq!(a.status, Some(Status::Closed));
    assert_eq!(a.assign.as_deref(), Some("eva@agentes.test"));
    assert_eq!(a.priority, Some(crate::model::Priority::High));
    assert_eq!(a.unknown, ["#bailar"]);
    assert_eq!(a.relay.as_deref(), Some("Listo."));
    // Commands alone relay nothing.
    let (c, f) = agent_reply("#cerrar", "");
    let a = answer_of(c.run(&f).step);
    assert_eq!((a.relay, a.status), (None, Some(Status::Closed)));
}

#[test]
fn a_notification_id_proves_only_for_whom_it_was_sent() {
    // Sent to Eva alone (an agent listed by address): Luis cannot use it.
    let (c, mut f) = agent_reply("hola", "");
    f.to_agents[0].2 = vec!["eva@agentes.test".into()];
    assert_eq!(
        c.run(&f).step,
        Step::Unverified {
            ticket: 5,
            notice: Notice::Send(Unheard::NoProof)
        }
    );
    // Sent to Luis himself: it proves for him.
    f.to_agents[0].2 = vec!["luis@agentes.test".into()];
    assert!(matches!(c.run(&f).step, Step::Answer(_)));
    // Sent to someone else who is no list: no proof for Luis either.
    f.to_agents[0].2 = vec!["observador@example.org".into()];
    assert_eq!(
        c.run(&f).step,
        Step::Unverified {
            ticket: 5,
            notice: Notice::Send(Unheard::NoProof)
        }
    );
    // Sent to a list the desk names in notify_lists: any agent.
    f.to_agents[0].2 = vec!["equipo@agentes.test".into()];
    assert!(matches!(c.run(&f).step, Step::Answer(_)));
    // Never for someone who is not an agent, whatever id they hold.
    let (mut c, f) = agent_reply("hola", "");
    c.raw = c.raw.replace("luis@agentes.test", "ana@cliente.test");
    assert!(!matches!(
        c.run(&f).step,
        Step::Answer(_) | Step::Unverified { .. }
    ));
}

#[test]
fn the_loop_breaker_holds_relays_and_alerts_once() {
    let (c, mut f) = agent_reply("Respuesta", "");
    let ago = |mins| now() - chrono::Duration::minutes(mins);
    // Two recent relays and an old one: under loop_max_relays = 3.
    f.relays = vec![(5, ago(2)), (5, ago(5)), (5, ago(60)), (6, ago(1))];
    assert_eq!(
        answer_of(c.run(&f).step).relay.as_deref(),
        Some("Respuesta")
    );
    f.relays.push((5, ago(1)));
    let a = answer_of(c.run(&f).step);
    assert_eq!(a.relay, None);
    let held = a.held.unwrap();
    assert!(held.alert);
    assert_eq!(
        held.why,
        "loop breaker: 3 relays on this ticket within 10m; not relayed"
    );
    // Alerted already in this window: held, no second alert.
    f.events.push((5, EventKind::LoopBreaker, ago(3)));
    assert!(!answer_of(c.run(&f).step).held.unwrap().alert);
    // Notes and commands are never held.
    let (c, f2) = agent_reply("#nota\nllamé", "");
    let mut f2 = f2;
    f2.relays = f.relays.clone();
    assert_eq!(answer_of(c.run(&f2).step).held, None);
}

#[test]
fn notifications_stop_at_the_senders_limit_however_they_spell_their_address() {
    let c = Case::from("Ana+12@Cliente.test");
    let mut f = MemoryLookup::default();
    let note = |t| (MessageKind::Notification, "ana@cliente.test".to_string(), t);
    f.caused.push(note(now() - chrono::Duration::minutes(90)));
    f.caused.push(note(now() - chrono::Duration::minutes(30)));
    assert_eq!(open_of(c.run(&f).step).notify, Notify::Yes);
    f.caused.push(note(now() - chrono::Duration::minutes(1)));
    let Notify::Limited { why } = open_of(c.run(&f).step).notify else {
        panic!("not limited")
    };
    assert_eq!(
        why,
        "rate limit: 2 notifications about mail from ana@cliente.test within 1h"
    );
    // The acknowledgement limit folds the spellings too.
    f.caused
        .push((MessageKind::Ack, "ana@cliente.test".into(), now()));
    f.caused
        .push((MessageKind::Ack, "ana@cliente.test".into(), now()));
    assert!(matches!(open_of(c.run(&f).step).ack, Ack::Limited { .. }));
}

#[test]
fn cc_participants_stop_at_the_cap() {
    let cc: Vec<String> = (0..10_000).map(|n| format!("c{n}@x.test")).collect();
    let c = Case::new(
        &format!(
            "From: ana@cliente.test\r\nTo: soporte@example.test\r\nCc: {}\r\nSubject: x",
            cc.join(", ")
        ),
        "x",
    );
    let o = open_of(c.step());
    let kept: Vec<&str> = o.cc.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(kept, ["c0@x.test", "c1@x.test", "c2@x.test"]);
    // The parser keeps MAX_ADDRESSES of each header; past the cap, counted.
    assert_eq!(o.cc_left_out, crate::mail::parse::MAX_ADDRESSES - 3);
}
