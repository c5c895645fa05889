// The check shared by the fuzz target (fuzz/fuzz_targets/pipeline.rs) and
// the regression test (tests/fuzz_regressions.rs), included by both: any
// bytes through parse → classify → thread → decide, then the
// acknowledgement composed from them and parsed back. Nothing may panic,
// and no header line a sender controls may be injected or overlong.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use hilo::config::Config;
use hilo::mail::msgid::Signer;
use hilo::outgoing::templates::Templates;
use hilo::pipeline::classify::{classify, Context};
use hilo::pipeline::decide::{decide, Input};
use hilo::pipeline::parse::Bounce;
use hilo::pipeline::{thread, Answered, DeskRuntime, Lookup, TicketRef};

/// Every lookup finds ticket 7 of desk `soporte`, with the sender as a
/// participant: the threading rules all get to run.
struct Found;

impl Lookup for Found {
    type Error = std::convert::Infallible;
    fn ticket(&self, number: i64) -> Result<Option<TicketRef>, Self::Error> {
        Ok((number == 7).then(|| TicketRef {
            number,
            desk: "soporte".into(),
            status: hilo::model::Status::Open,
            closed_at: None,
            merged_into: None,
        }))
    }
    fn ticket_by_message_ids(&self, _: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error> {
        Ok(ids.iter().any(|i| i.starts_with('7')).then_some(7))
    }
    fn message_tickets(
        &self,
        _: &str,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, i64>, Self::Error> {
        Ok(ids
            .iter()
            .filter(|i| i.starts_with('7'))
            .map(|i| (i.to_string(), 7))
            .collect())
    }
    fn is_participant(&self, _: i64, _: &str) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn ticket_by_thread_root(&self, _: &str, _: &str) -> Result<Option<i64>, Self::Error> {
        Ok(Some(7))
    }
    fn agent_mail_recipients(&self, _: i64, _: &str) -> Result<Option<Vec<String>>, Self::Error> {
        Ok(Some(vec!["equipo@example.test".into()]))
    }
    fn digest_recipients(&self, _: &str) -> Result<Option<Vec<String>>, Self::Error> {
        Ok(Some(vec!["equipo@example.test".into()]))
    }
    fn customer_addresses(&self, _: i64) -> Result<Vec<String>, Self::Error> {
        Ok(vec!["ana@cliente.test".into()])
    }
    fn caused_since(
        &self,
        _: &str,
        _: hilo::model::MessageKind,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn relays_since(&self, _: i64, _: DateTime<Utc>) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn event_since(&self, _: i64, _: hilo::domain::EventKind, _: DateTime<Utc>) -> Result<bool, Self::Error> {
        Ok(false)
    }
    fn cc_participants(&self, _: i64) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn faq_acks(&self, _: i64) -> Result<Vec<String>, Self::Error> {
        Ok(vec!["7@ack".into()])
    }
    fn held_answer(
        &self,
        _: i64,
        _: &[&str],
    ) -> Result<Option<hilo::pipeline::HeldAnswer>, Self::Error> {
        Ok(None)
    }
    fn wrote_before(&self, _: &str, _: &str) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn faq_acks_caused_since(&self, _: &str, _: &str, _: DateTime<Utc>) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn open_tickets(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Vec<hilo::pipeline::OpenTicket>, Self::Error> {
        // The fuzzer's text against a ticket of its own: every rule runs.
        Ok(vec![hilo::pipeline::OpenTicket {
            number: 7,
            subject: "La impresora no imprime".into(),
            status: hilo::model::Status::Open,
            created_at: "2026-01-01T00:00:00.000Z".parse().expect("a time"),
            updated_at: "2999-01-01T00:00:00.000Z".parse().expect("a time"),
            text: "La impresora de la segunda planta no imprime desde ayer.".into(),
        }])
    }
    fn answered(&self, _: i64, ids: &[&str]) -> Result<Option<Answered>, Self::Error> {
        Ok(ids.first().map(|id| Answered {
            message: 1,
            author: hilo::mail::Mailbox::new("otro@cliente.test", None),
            message_id: Some(id.to_string()),
        }))
    }
}

struct World {
    templates: Templates,
    signer: Signer,
    desks: Vec<DeskRuntime>,
    own: Vec<String>,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let config = Config::from_toml(
        "[store]\npath = \"x.db\"\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"none\"\n[[desk]]\nname = \"soporte\"\naddress = \"soporte@example.test\"\ntag = \"SOP\"\nlanguage = \"es\"\nnotify = [\"equipo@example.test\"]\n[desk.imap]\nhost = \"127.0.0.1\"\nport = 143\nsecurity = \"none\"\nusername = \"u\"\npassword = \"p\"\n",
        Vec::<(String, String)>::new(),
    )
    .expect("config");
    World {
        templates: Templates::builtin().expect("templates"),
        signer: Signer::new(b"fuzz"),
        desks: config.desks.iter().map(DeskRuntime::new).collect(),
        own: vec!["soporte@example.test".into()],
    }
});

/// The whole check on one input; panics on a defect.
pub fn check(data: &[u8]) {
    let w = &*WORLD;
    let Ok(msg) = hilo::mail::parse(data) else {
        return;
    };
    let class = classify(
        &msg,
        &Context {
            own_addresses: &w.own,
            signer: &w.signer,
        },
    );
    let desk = &w.desks[0];
    let bounce = Bounce::read(data, &msg);
    let agent = desk.cfg.is_agent(&msg.from.address);
    let t = thread::resolve(&Found, "soporte", &desk.tags, &w.signer, &msg, &bounce.reported, agent)
        .unwrap();
    // Found finds a ticket for every rule and proves every signed reply.
    let plan = decide(
        &Input {
            desk,
            desks: &w.desks,
            own_addresses: &w.own,
            signer: &w.signer,
            msg: &msg,
            new_text: &msg.new_text,
            class: &class,
            thread: &t,
            bounce: Some(&bounce),
            backlog: false,
            now: Utc::now(),
        },
        &Found,
    )
    .unwrap();
    // The open tickets a new ticket's mail lists, as the decision found them.
    let (related, answers) = match &plan.step {
        hilo::pipeline::decide::Step::Open(o) => (o.related.clone(), o.answers.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let _ = hilo::mail::parse::content_digest(data);
    let ticket_subject = desk.tags.clean_subject(&msg.subject).into_owned();
    let ack = hilo::outgoing::ack::acknowledgement(hilo::outgoing::ack::AckInput {
        desk: &desk.cfg,
        tags: &desk.tags,
        templates: &w.templates,
        signer: &w.signer,
        number: 7,
        address: &desk.cfg.address,
        ticket_subject: &ticket_subject,
        msg: &msg,
        new_text: &msg.new_text,
        quote: true,
        now: chrono::Utc::now(),
        closed_before: None,
        related: &related,
        answers: &answers,
        faq: desk.cfg.faq.as_deref(),
    });
    let Ok(out) = ack else {
        return; // an address lettre refuses: the row would fail, not panic
    };
    let back = composed(out);
    assert_eq!(back.to.len(), 1, "one recipient");
    assert!(back.cc.is_empty(), "no injected Cc");
    // The mail about this message to the customer and to the agents, with
    // what the sender wrote in its subject, text and signature.
    let ticket = hilo::store::TicketInfo {
        number: 7,
        address: None,
        subject: ticket_subject.clone(),
        requester: msg.from.clone(),
        status: hilo::model::Status::Open,
        priority: hilo::model::Priority::Normal,
        assignee: None,
        cc: Vec::new(),
        pending: Vec::new(),
        last_customer_id: msg.message_id.clone(),
        thread_refs: msg.references.clone(),
        notifications: Vec::new(),
    };
    let about = hilo::outgoing::About {
        desk: &desk.cfg,
        tags: &desk.tags,
        templates: &w.templates,
        signer: &w.signer,
        ticket: &ticket,
    };
    let receipt = hilo::outgoing::notify::receipt(hilo::outgoing::notify::ReceiptInput {
        about,
        msg: &msg,
        what: hilo::outgoing::notify::ReceiptKind::Added,
    });
    if let Ok(out) = receipt {
        assert_eq!(composed(out).to.len(), 1, "one recipient");
    }
    let notification = hilo::outgoing::notify::notification(hilo::outgoing::notify::NotifyInput {
        about,
        from: &msg.from,
        subject: &msg.subject,
        new_text: &msg.new_text,
        signature: msg.signature.as_deref(),
        attachments: &msg.attachments,
        cc_left_out: 0,
        to: "agente@example.test",
        how: hilo::outgoing::notify::How::Opened {
            related: &related,
            answers: &answers,
        },
    });
    if let Ok(out) = notification {
        composed(out);
    }
}

/// The bytes of `out`, checked: every header line we wrote stays within
/// RFC 5322's limit, and the mail parses back.
fn composed(out: hilo::mail::compose::Outgoing) -> hilo::mail::Inbound {
    let raw = match out.raw {
        Some(raw) => raw,
        None => hilo::mail::compose::compose(&out.draft).expect("a checked draft composes"),
    };
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header section");
    for line in raw[..head_end].split(|b| *b == b'\n') {
        assert!(line.len() <= 998, "header line of {} bytes", line.len());
    }
    hilo::mail::parse(&raw).expect("our mail parses")
}
