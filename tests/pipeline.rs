//! The intake pipeline through the library, on a real SQLite database in a
//! temporary directory: threading, deduplication, machines, strangers,
//! checkpoints. No mail server involved.

use std::sync::Arc;
use std::time::Duration;

use hilo::clock::ManualClock;
use hilo::config::{Config, TestConfig, TestDesk};
use hilo::outgoing::templates::Templates;
use hilo::pipeline::{Intake, Outcome, Received};
use hilo::store::{Checkpoint, Store, TicketFilter};

/// Two desks on the test servers' ports; `extra` goes in the first.
fn config(extra: &str) -> String {
    TestConfig::new("unused.db")
        .smtp_port(10025)
        .desk(
            TestDesk::soporte()
                .settings(extra)
                .imap(10143, "soporte@example.test", "x"),
        )
        .desk(
            TestDesk::new("helpdesk", "helpdesk@example.test", "HLP", "en").imap(
                10143,
                "helpdesk@example.test",
                "x",
            ),
        )
        .render()
}

struct T {
    _dir: tempfile::TempDir,
    store: Store,
    intake: Intake,
    /// The store's time: tests move it instead of sleeping.
    clock: Arc<ManualClock>,
}

fn setup() -> T {
    setup_with("")
}

/// A world whose first desk has these extra settings.
fn setup_with(extra: &str) -> T {
    let dir = tempfile::tempdir().unwrap();
    let text = config(extra);
    let config = Config::from_toml(&text, Vec::new()).unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store = Store::open(&dir.path().join("h.db"))
        .unwrap()
        .with_clock(clock.clone());
    let intake = Intake::new(&config, store.clone(), Templates::builtin().unwrap());
    T {
        _dir: dir,
        store,
        intake,
        clock,
    }
}

impl T {
    fn feed(&self, desk: &str, raw: &str) -> Outcome {
        self.feed_bytes(desk, raw.as_bytes())
    }
    fn feed_bytes(&self, desk: &str, raw: &[u8]) -> Outcome {
        let d = self.intake.desk(desk).unwrap();
        let items = [Received::new(None, raw.to_vec())];
        self.intake
            .process(&d, None, &items, None)
            .unwrap()
            .pop()
            .unwrap()
    }
    fn tickets(&self) -> usize {
        self.store
            .list_tickets(&TicketFilter::default())
            .unwrap()
            .len()
    }
    fn outbox(&self) -> usize {
        self.store.outbox_list().unwrap().len()
    }
    /// The Message-ID of our acknowledgement of `ticket`.
    fn ack_id(&self, ticket: i64) -> String {
        let (_, msgs) = self.store.ticket_detail(ticket).unwrap().unwrap();
        msgs.iter()
            .find(|m| m.kind == "ack")
            .unwrap()
            .message_id
            .clone()
            .unwrap()
    }
}

fn mail(from: &str, subject: &str, id: &str, extra: &str) -> String {
    format!("From: {from}\r\nTo: soporte@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\r\nbody of {id}\r\n")
}

#[test]
fn a_message_is_stored_once() {
    let t = setup();
    let m = mail("ana@cliente.test", "hola", "m1@c.test", "");
    assert_eq!(
        t.feed("soporte", &m),
        Outcome::Opened {
            ticket: 1,
            acknowledged: true
        }
    );
    assert_eq!(t.feed("soporte", &m), Outcome::Duplicate);
    assert_eq!((t.tickets(), t.outbox()), (1, 1));
    // Without Message-ID the bytes are the identity.
    let n = "From: bea@cliente.test\r\nSubject: sin id\r\n\r\nhola\r\n";
    assert!(matches!(
        t.feed("soporte", n),
        Outcome::Opened { ticket: 2, .. }
    ));
    assert_eq!(t.feed("soporte", n), Outcome::Duplicate);
    let n2 = "From: bea@cliente.test\r\nSubject: sin id\r\n\r\nhola otra vez\r\n";
    assert!(matches!(
        t.feed("soporte", n2),
        Outcome::Opened { ticket: 3, .. }
    ));
}

/// Two different messages that share a Message-ID are both kept (their
/// bytes with them); the same mail again, by another delivery path with
/// other trace headers, is still one.
#[test]
fn a_reused_message_id_does_not_drop_the_other_message() {
    let t = setup();
    let m = mail("ana@cliente.test", "hola", "same@c.test", "");
    assert!(matches!(t.feed("soporte", &m), Outcome::Opened { .. }));
    let relayed = format!("Received: from otro.relay\r\nDelivered-To: soporte@example.test\r\n{m}");
    assert_eq!(t.feed("soporte", &relayed), Outcome::Duplicate);
    let other = mail("bea@cliente.test", "otra cosa", "same@c.test", "")
        .replace("body of", "otro cuerpo de");
    assert!(
        matches!(t.feed("soporte", &other), Outcome::Opened { ticket: 2, .. }),
        "kept as its own message"
    );
    assert_eq!(t.feed("soporte", &other), Outcome::Duplicate);
    assert_eq!(t.tickets(), 2);
}

/// 40,000 References ids once failed with "too many SQL variables" and was
/// quarantined; past the cap the mail is an ordinary one.
#[test]
fn a_mail_with_forty_thousand_references_is_an_ordinary_mail() {
    let t = setup();
    let refs: Vec<String> = (0..40_000).map(|i| format!("<r{i}@x.test>")).collect();
    let m = mail(
        "ana@cliente.test",
        "muchas referencias",
        "refs@c.test",
        &format!("References: {}\r\n", refs.join("\r\n ")),
    );
    assert!(matches!(t.feed("soporte", &m), Outcome::Opened { .. }));
    let body: String = (0..400_000).map(|i| format!("SOP-{i} ")).collect();
    let tags = format!(
        "From: bea@cliente.test\r\nSubject: etiquetas\r\nMessage-ID: <tags@c.test>\r\n\r\n{body}\r\n"
    );
    assert!(matches!(t.feed("soporte", &tags), Outcome::Opened { .. }));
}

#[test]
fn replies_thread_by_headers_or_tag() {
    let t = setup();
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "hola", "m1@c.test", ""),
    );
    let ack = t.ack_id(1);
    // Reply to our acknowledgement, by In-Reply-To only.
    let r = mail(
        "ana@cliente.test",
        "RE: hola",
        "m2@c.test",
        &format!("In-Reply-To: <{ack}>\r\n"),
    );
    assert_eq!(t.feed("soporte", &r), Outcome::Appended { ticket: 1 });
    // Outlook mobile: only References, naming the customer's own first mail.
    let r = mail(
        "ana@cliente.test",
        "hola",
        "m3@c.test",
        "References: <m1@c.test>\r\n",
    );
    assert_eq!(t.feed("soporte", &r), Outcome::Appended { ticket: 1 });
    // The tag under a prefix stack, no headers; case and spacing vary.
    let r = mail(
        "Ana <ANA@cliente.test>",
        "AW: RV: [ sop-1 ] hola",
        "m4@c.test",
        "",
    );
    assert_eq!(t.feed("soporte", &r), Outcome::Appended { ticket: 1 });
    // One acknowledgement, and a receipt for the mail that joined by its
    // tag alone (written outside the thread).
    assert_eq!(
        (t.tickets(), t.outbox()),
        (1, 2),
        "one ticket, one acknowledgement, one receipt"
    );
}

#[test]
fn a_stranger_naming_a_ticket_gets_a_new_linked_one() {
    let t = setup();
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "mi factura", "m1@c.test", ""),
    );
    let o = t.feed(
        "soporte",
        &mail(
            "eve@cliente.test",
            "RE: [SOP-1] mi factura",
            "e1@c.test",
            "",
        ),
    );
    assert_eq!(
        o,
        Outcome::Opened {
            ticket: 2,
            acknowledged: true
        }
    );
    let list = t.store.list_tickets(&TicketFilter::default()).unwrap();
    assert_eq!(list[1].linked_to, Some(1));
    assert_eq!(
        list[1].subject, "mi factura",
        "our old tag is not carried over"
    );
    let (_, msgs) = t.store.ticket_detail(2).unwrap().unwrap();
    let ack = msgs.iter().find(|m| m.kind == "ack").unwrap();
    assert_eq!(ack.to, ["eve@cliente.test"]);
    assert!(
        ack.subject.starts_with("[SOP-2]") && !ack.subject.contains("SOP-1"),
        "{}",
        ack.subject
    );
    assert!(
        !ack.text.contains("body of m1"),
        "nothing of ticket 1 leaks"
    );
    // An unknown number is no tag at all.
    let o = t.feed(
        "soporte",
        &mail("ana@cliente.test", "RE: [SOP-99] x", "m9@c.test", ""),
    );
    assert!(matches!(o, Outcome::Opened { ticket: 3, .. }));
    // Another desk's ticket number is not ours.
    let to_helpdesk = mail("ana@cliente.test", "RE: [SOP-1] x", "h1@c.test", "")
        .replace("To: soporte@example.test", "To: helpdesk@example.test");
    let o = t.feed("helpdesk", &to_helpdesk);
    assert!(
        matches!(o, Outcome::Opened { ticket: 4, .. }),
        "numbers are unique across desks"
    );
}

#[test]
fn machines_never_open_tickets_nor_get_answers() {
    let t = setup();
    let cases = [
        mail(
            "ana@cliente.test",
            "Fuera de la oficina",
            "a1@c.test",
            "Auto-Submitted: auto-replied\r\n",
        ),
        mail("MAILER-DAEMON@mx.test", "Undelivered Mail", "a2@c.test", ""),
        mail(
            "news@shop.test",
            "Ofertas",
            "a3@c.test",
            "List-Unsubscribe: <mailto:u@shop.test>\r\n",
        ),
        mail("soporte@example.test", "loop?", "a4@c.test", ""),
        mail("helpdesk@example.test", "other desk", "a5@c.test", ""),
        mail(
            "x@c.test",
            "marked",
            "a6@c.test",
            "X-Hilo-Loop: soporte@example.test\r\n",
        ),
    ];
    for c in &cases {
        assert!(
            matches!(t.feed("soporte", c), Outcome::SetAside { .. }),
            "{c}"
        );
    }
    assert_eq!((t.tickets(), t.outbox()), (0, 0));
    // A person who asks for no auto-reply gets a ticket and no acknowledgement.
    let o = t.feed(
        "soporte",
        &mail(
            "bob@c.test",
            "hola",
            "b1@c.test",
            "X-Auto-Response-Suppress: OOF, AutoReply\r\n",
        ),
    );
    assert_eq!(
        o,
        Outcome::Opened {
            ticket: 1,
            acknowledged: false
        }
    );
    assert_eq!(t.outbox(), 0);
}

#[test]
fn an_auto_reply_to_a_ticket_is_recorded_without_changing_it() {
    let t = setup();
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "hola", "m1@c.test", ""),
    );
    let ack = t.ack_id(1);
    let ooo = mail(
        "ana@cliente.test",
        "Respuesta automática: [SOP-1] hola",
        "o1@c.test",
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{ack}>\r\n"),
    );
    assert_eq!(t.feed("soporte", &ooo), Outcome::Appended { ticket: 1 });
    let (tk, msgs) = t.store.ticket_detail(1).unwrap().unwrap();
    assert_eq!(tk.status.as_str(), "new");
    assert_eq!(msgs.last().unwrap().kind, "auto_reply");
    assert_eq!(t.outbox(), 1, "no answer to the auto-reply");
}

#[test]
fn checkpoint_advances_with_the_batch() {
    let t = setup();
    let d = t.intake.desk("soporte").unwrap();
    let items: Vec<Received> = (1..=3)
        .map(|i| {
            let raw = mail(&format!("c{i}@c.test"), "x", &format!("k{i}@c.test"), "");
            Received::new(Some(i * 10), raw.into_bytes())
        })
        .collect();
    let cp = Checkpoint {
        uid_validity: 7,
        last_uid: 30,
        backlog_until: 0,
    };
    let out = t
        .intake
        .process(&d, Some("INBOX"), &items, Some(cp))
        .unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(t.store.checkpoint("soporte", "INBOX").unwrap(), Some(cp));
    // The same batch again (a crash before the server saw anything): no duplicates.
    let out = t
        .intake
        .process(&d, Some("INBOX"), &items, Some(cp))
        .unwrap();
    assert!(out.iter().all(|o| *o == Outcome::Duplicate));
    assert_eq!(t.tickets(), 3);
}

#[test]
fn charsets_come_out_as_utf8() {
    let t = setup();
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/e2e/outlook-windows-1252.eml"
    ))
    .unwrap();
    assert!(matches!(
        t.feed_bytes("soporte", &raw),
        Outcome::Opened { .. }
    ));
    let (tk, msgs) = t.store.ticket_detail(1).unwrap().unwrap();
    assert_eq!(tk.subject, "Pedido nº 4471: cargo en €");
    assert_eq!(tk.requester_name.as_deref(), Some("Eva Martínez"));
    assert!(msgs[0].text.contains("“comisión” de 3,50 €"));
    // ISO-8859-1, 8bit, with an encoded-word subject folded over two lines.
    let latin1: Vec<u8> = [
        &b"From: =?ISO-8859-1?Q?Jos=E9_Pe=F1a?= <jose@c.test>\r\nSubject: =?ISO-8859-1?Q?Informaci=F3n_del?=\r\n =?ISO-8859-1?Q?_env=EDo?=\r\nMessage-ID: <l1@c.test>\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"[..],
        &b"A\xf1o \xbfd\xf3nde?\r\n"[..],
    ]
    .concat();
    assert!(matches!(
        t.feed_bytes("soporte", &latin1),
        Outcome::Opened { .. }
    ));
    let (tk, msgs) = t.store.ticket_detail(2).unwrap().unwrap();
    assert_eq!(tk.subject, "Información del envío");
    assert_eq!(tk.requester_name.as_deref(), Some("José Peña"));
    assert!(msgs[0].text.contains("Año ¿dónde?"), "{}", msgs[0].text);
}

fn ticket_status(t: &T, n: i64) -> String {
    t.store
        .ticket_detail(n)
        .unwrap()
        .unwrap()
        .0
        .status
        .as_str()
        .to_string()
}

#[test]
fn closed_tickets_reopen_within_reopen_days_else_link() {
    let t = setup();
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "hola", "m1@c.test", ""),
    );
    t.store
        .set_ticket_status(1, hilo::model::Status::Closed, "test")
        .unwrap();
    let r = mail("ana@cliente.test", "RE: [SOP-1] hola", "m2@c.test", "");
    assert_eq!(t.feed("soporte", &r), Outcome::Appended { ticket: 1 });
    assert_eq!(ticket_status(&t, 1), "open", "reopened");

    // Closed 40 days ago: a new ticket, linked, and the acknowledgement says so.
    t.store
        .set_ticket_status(1, hilo::model::Status::Closed, "test")
        .unwrap();
    t.clock.advance(Duration::from_secs(40 * 86_400));
    let r = mail("ana@cliente.test", "RE: [SOP-1] hola", "m3@c.test", "");
    assert_eq!(
        t.feed("soporte", &r),
        Outcome::Opened {
            ticket: 2,
            acknowledged: true
        }
    );
    let (tk, msgs) = t.store.ticket_detail(2).unwrap().unwrap();
    assert_eq!(tk.linked_to, Some(1));
    let ack = msgs.iter().find(|m| m.kind == "ack").unwrap();
    assert!(
        ack.text.contains("[SOP-1] ya estaba cerrada"),
        "{}",
        ack.text
    );
    assert_eq!(ticket_status(&t, 1), "closed");
    let (old, _) = t.store.ticket_detail(1).unwrap().unwrap();
    assert_eq!(old.linked_from, vec![2]);
}

#[test]
fn a_new_mail_naming_the_case_in_its_body_joins_it() {
    let t = setup();
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "factura", "m1@c.test", ""),
    );
    let body_ref = |from: &str, id: &str| {
        format!("From: {from}\r\nTo: soporte@example.test\r\nSubject: otra pregunta\r\nMessage-ID: <{id}>\r\n\r\nSigo sin respuesta sobre mi caso sop-1.\r\n")
    };
    assert_eq!(
        t.feed("soporte", &body_ref("ana@cliente.test", "b1@c.test")),
        Outcome::Appended { ticket: 1 }
    );
    // A stranger mentioning it gets their own ticket, not linked, and joins nothing.
    assert!(matches!(
        t.feed("soporte", &body_ref("eve@otro.test", "b2@c.test")),
        Outcome::Opened { ticket: 2, .. }
    ));
    assert_eq!(t.store.ticket_detail(2).unwrap().unwrap().0.linked_to, None);
}

#[test]
fn outlook_thread_index_alone_threads_a_participant() {
    let t = setup();
    let idx = |v: &str| format!("Thread-Index: {v}\r\n");
    t.feed(
        "soporte",
        &mail(
            "ana@cliente.test",
            "impresora",
            "o1@c.test",
            &idx("AdtPq3xk2Vv7yQmHSuOQk8gq0cYh1A=="),
        ),
    );
    // Outlook's next mail of the same conversation (22-byte root + 5 bytes): no In-Reply-To, no tag.
    let r = mail(
        "ana@cliente.test",
        "impresora (más datos)",
        "o2@c.test",
        &idx("AdtPq3xk2Vv7yQmHSuOQk8gq0cYh1AASNFZ4"),
    );
    assert_eq!(t.feed("soporte", &r), Outcome::Appended { ticket: 1 });
}

#[test]
fn a_bounce_marks_our_mail_undeliverable_and_opens_nothing() {
    let t = setup();
    t.feed(
        "soporte",
        &mail("nadie@noexiste.test", "hola", "m1@c.test", ""),
    );
    let ack = t.ack_id(1);
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\nTo: soporte@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\nFinal-Recipient: rfc822; nadie@noexiste.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <nadie@noexiste.test>: Recipient address rejected\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: soporte@example.test\r\nTo: nadie@noexiste.test\r\nSubject: [SOP-1] hola\r\nMessage-ID: <{ack}>\r\n--b--\r\n"
    );
    assert_eq!(t.feed("soporte", &dsn), Outcome::Appended { ticket: 1 });
    let o = t.store.outbox_list().unwrap();
    assert_eq!(o[0].status.as_str(), "undeliverable");
    let err = o[0].last_error.as_deref().unwrap();
    assert!(
        err.contains("5.1.1") && err.contains("Recipient address rejected"),
        "{err}"
    );
    assert_eq!(t.outbox(), 1, "the bounce is not answered");
    // A bounce about mail we never sent is set aside.
    let other = dsn
        .replace(&ack, "unknown@x.test")
        .replace("dsn1@", "dsn2@");
    assert!(matches!(
        t.feed("soporte", &other),
        Outcome::SetAside {
            kind: hilo::model::MessageKind::Bounce,
            ..
        }
    ));
    assert_eq!(t.tickets(), 1);
    // From a MAILER-DAEMON without a domain: a bounce all the same.
    t.feed(
        "soporte",
        &mail("otro@noexiste.test", "hola", "m2@c.test", ""),
    );
    let ack2 = t.ack_id(2);
    let domainless = dsn
        .replace(
            "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)",
            "From: MAILER-DAEMON <>",
        )
        .replace(&ack, &ack2)
        .replace("nadie@noexiste.test", "otro@noexiste.test")
        .replace("dsn1@", "dsn3@");
    assert_eq!(
        t.feed("soporte", &domainless),
        Outcome::Appended { ticket: 2 }
    );
    let o = t.store.outbox_list().unwrap();
    let row = o.iter().find(|r| r.ticket == Some(2)).unwrap();
    assert_eq!(row.status.as_str(), "undeliverable");
}

#[test]
fn acknowledgements_are_rate_limited_per_recipient() {
    let t = setup_with("max_autoreplies = 2\nautoreply_window = \"1h\"");
    let mut acked = Vec::new();
    for i in 0..4 {
        let m = mail(
            "prisa@cliente.test",
            &format!("asunto {i}"),
            &format!("r{i}@c.test"),
            "",
        );
        match t.feed("soporte", &m) {
            Outcome::Opened { acknowledged, .. } => acked.push(acknowledged),
            o => panic!("{o:?}"),
        }
    }
    assert_eq!(
        acked,
        [true, true, false, false],
        "every mail is a ticket; only 2 acknowledged"
    );
    assert_eq!(t.outbox(), 2);
    // Another customer is not affected.
    let m = mail("otra@cliente.test", "x", "o1@c.test", "");
    assert!(matches!(
        t.feed("soporte", &m),
        Outcome::Opened {
            acknowledged: true,
            ..
        }
    ));
}

#[test]
fn every_machine_fixture_is_set_aside_and_unanswered() {
    let t = setup();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut n = 0;
    for dir in ["auto_replies", "bounces", "lists"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") {
                let o = t.feed_bytes("soporte", &std::fs::read(&p).unwrap());
                assert!(
                    matches!(o, Outcome::SetAside { .. }),
                    "{}: {o:?}",
                    p.display()
                );
                n += 1;
            }
        }
    }
    assert!(n >= 17);
    assert_eq!((t.tickets(), t.outbox()), (0, 0));
    assert_eq!(t.store.aside_list().unwrap().len(), n);
}

#[test]
fn quarantined_message_can_be_retried() {
    let t = setup();
    let good = mail("ana@cliente.test", "hola", "q1@c.test", "");
    let id = t
        .store
        .write(|tx| {
            tx.quarantine(
                "soporte",
                Some("INBOX"),
                Some(7),
                "parser bug",
                good.as_bytes(),
            )
        })
        .unwrap();
    assert!(matches!(
        t.intake.retry_quarantined(id).unwrap(),
        Some(Outcome::Opened { ticket: 1, .. })
    ));
    assert!(t.store.quarantine_list().unwrap().is_empty());
    assert_eq!(t.intake.retry_quarantined(id).unwrap(), None);
}

fn agent_setup(extra: &str) -> T {
    setup_with(&format!(
        "agents = [\"@soporte.example.com\"]\nnotify = [\"equipo@soporte.example.com\"]\nnotify_lists = [\"equipo@soporte.example.com\"]\n{extra}"
    ))
}

fn kinds_of(t: &T, n: i64) -> Vec<String> {
    t.store
        .ticket_detail(n)
        .unwrap()
        .unwrap()
        .1
        .into_iter()
        .map(|m| m.kind)
        .collect()
}

#[test]
fn authenticated_agents_may_name_a_ticket_in_a_new_mail() {
    let t = agent_setup("agent_trust = \"authenticated\"\nauthserv_ids = [\"mx.example.test\"]");
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "hola", "m1@c.test", ""),
    );
    // Our server's verdict is the topmost header; a forged one below it does not count.
    let passing =
        "Authentication-Results: mx.example.test; dkim=pass header.d=soporte.example.com\r\n";
    let forged = "Authentication-Results: mx.example.test; dkim=fail header.d=soporte.example.com\r\nAuthentication-Results: mx.example.test; dkim=pass header.d=soporte.example.com\r\n";
    let m = mail(
        "luis@soporte.example.com",
        "[SOP-1] respuesta",
        "a1@s.test",
        passing,
    );
    assert_eq!(t.feed("soporte", &m), Outcome::Appended { ticket: 1 });
    assert_eq!(
        kinds_of(&t, 1).last().unwrap(),
        "relay",
        "authenticated: relayed"
    );
    let m = mail(
        "luis@soporte.example.com",
        "[SOP-1] otra",
        "a2@s.test",
        forged,
    );
    assert_eq!(t.feed("soporte", &m), Outcome::Appended { ticket: 1 });
    let (_, msgs) = t.store.ticket_detail(1).unwrap().unwrap();
    let kinds: Vec<&str> = msgs.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["unverified", "notice"]);
    let last = &msgs[msgs.len() - 2];
    assert!(last.note.as_deref().unwrap().contains("unverified"));
}

#[test]
fn mail_to_the_comment_address_is_an_internal_note() {
    let t = agent_setup("comment_address = \"soporte+nota@example.test\"");
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "hola", "m1@c.test", ""),
    );
    let (_, msgs) = t.store.ticket_detail(1).unwrap().unwrap();
    let nid = msgs
        .iter()
        .find(|m| m.kind == "notification")
        .unwrap()
        .message_id
        .clone()
        .unwrap();
    let note = mail(
        "luis@soporte.example.com",
        "RE: [SOP-1] hola",
        "n1@s.test",
        &format!("In-Reply-To: <{nid}>\r\n"),
    )
    .replace("To: soporte@example.test", "To: soporte+nota@example.test");
    assert_eq!(t.feed("soporte", &note), Outcome::Appended { ticket: 1 });
    assert_eq!(kinds_of(&t, 1), ["customer", "ack", "notification", "note"]);
    assert_eq!(t.store.outbox_list().unwrap().len(), 2, "nothing relayed");
}

#[test]
fn resolved_tickets_close_after_close_after_days() {
    let t = agent_setup("close_after_days = 3");
    t.feed(
        "soporte",
        &mail("ana@cliente.test", "hola", "m1@c.test", ""),
    );
    t.feed(
        "soporte",
        &mail("bea@cliente.test", "hola", "m2@c.test", ""),
    );
    t.store
        .set_ticket_status(1, hilo::model::Status::Resolved, "test")
        .unwrap();
    t.clock.advance(Duration::from_secs(4 * 86_400));
    t.store
        .set_ticket_status(2, hilo::model::Status::Resolved, "test")
        .unwrap();
    assert_eq!(t.intake.close_resolved().unwrap(), 1);
    assert_eq!(ticket_status(&t, 1), "closed");
    assert_eq!(ticket_status(&t, 2), "resolved", "resolved recently: stays");
}

#[test]
fn an_agent_adds_and_removes_participants_by_mail() {
    let t = agent_setup("");
    t.feed(
        "soporte",
        &mail(
            "ana@cliente.test",
            "hola",
            "m1@c.test",
            "Cc: otro@cliente.test\r\n",
        ),
    );
    let (_, msgs) = t.store.ticket_detail(1).unwrap().unwrap();
    let nid = msgs
        .iter()
        .find(|m| m.kind == "notification")
        .unwrap()
        .message_id
        .clone()
        .unwrap();
    let reply = format!(
        "From: luis@soporte.example.com\r\nTo: soporte@example.test\r\nSubject: RE: [SOP-1] hola\r\n\
         Message-ID: <a1@s.test>\r\nIn-Reply-To: <{nid}>\r\n\r\n\
         #añadir <Jefe@Cliente.test>\r\n#quitar otro@cliente.test\r\n\r\nLe escribo también a su jefe.\r\n"
    );
    assert_eq!(t.feed("soporte", &reply), Outcome::Appended { ticket: 1 });
    let people: Vec<(String, String, Option<String>)> = t
        .store
        .participants(1)
        .unwrap()
        .into_iter()
        .map(|p| (p.address, p.role, p.joined))
        .collect();
    assert_eq!(
        people,
        [
            (
                "ana@cliente.test".to_string(),
                "requester".to_string(),
                Some("wrote the first message".to_string())
            ),
            (
                "jefe@cliente.test".to_string(),
                "cc".to_string(),
                Some("added by luis@soporte.example.com".to_string())
            ),
            (
                "luis@soporte.example.com".to_string(),
                "agent".to_string(),
                Some("answered as an agent".to_string())
            ),
        ]
    );
    // The relay, then the confirmation of the commands to the agent.
    let mut out = t.store.outbox_list().unwrap();
    let confirm = out.pop().unwrap();
    assert_eq!(confirm.recipients, ["luis@soporte.example.com"]);
    // Jefe, just added, has no mail of the ticket to thread under: his
    // copy (the same To and Cc) goes to him alone.
    let jefe = out.pop().unwrap();
    assert_eq!(jefe.recipients, ["jefe@cliente.test"]);
    let relay = out.pop().unwrap();
    assert_eq!(relay.recipients, ["ana@cliente.test"]);
}
