//! Threading and loop safety end to end, through the real Postfix and
//! Dovecot: reply variants, machines, strangers, real bounces, a Sieve
//! vacation responder, and two hilo installations writing to each other.

mod support;

use support::*;

async fn open_ticket(w: &World, customer: &str) -> (String, String) {
    let mid = format!("{}@cliente.test", uid());
    send(
        customer,
        &[&w.desk],
        &mail(
            customer,
            &w.desk,
            "Consulta inicial",
            &mid,
            "",
            "Primera consulta.",
        ),
    )
    .await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let ack = wait_mailbox(customer, 1, WAIT)
        .await
        .pop()
        .expect("acknowledgement");
    (mid, parsed(&ack).message_id.expect("ack id"))
}

/// Whatever the client did to the subject or headers, a reply lands on its ticket.
#[tokio::test]
async fn every_reply_variant_lands_on_its_ticket() {
    let w = World::new();
    w.init().await;
    let c = format!("var-{}@cliente.test", uid());
    let (first, ack) = open_ticket(&w, &c).await;
    let tag = format!("[{}-1]", w.tag);
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let variants: Vec<(String, String, &str)> = vec![
        (
            "RE: Consulta inicial".into(),
            format!("In-Reply-To: <{ack}>\r\n"),
            "In-Reply-To only",
        ),
        (
            "Consulta inicial".into(),
            format!("References: <x@y.test> <{ack}>\r\n"),
            "References only",
        ),
        (
            "Re: x".into(),
            format!("References: <{first}>\r\n"),
            "References to the customer's own mail",
        ),
        (
            format!("RE: RV: AW: WG: SV: Fwd: {tag} Consulta"),
            String::new(),
            "prefix stack",
        ),
        (
            format!("[EXTERNAL] *SPAM* RES: R: TR: Rif: Antw: Odp: {tag}"),
            String::new(),
            "gateway markers",
        ),
        (
            format!("RE： {}", tag.to_lowercase().replace('-', " - ")),
            String::new(),
            "full-width colon, spacing, case",
        ),
        (
            format!(
                "=?UTF-8?B?{}?=\r\n =?UTF-8?B?{}?=",
                b64("RE: Sigue sin funcionar "),
                b64(&format!("{tag} ñ"))
            ),
            String::new(),
            "tag inside folded encoded words",
        ),
        ("Otra cosa".into(), String::new(), "tag in the body"),
    ];
    for (i, (subject, headers, what)) in variants.iter().enumerate() {
        let body = if *what == "tag in the body" {
            format!("Sobre mi caso {}-1: ¿novedades?", w.tag)
        } else {
            format!("variante {i}")
        };
        let raw = mail(
            &c,
            &w.desk,
            subject,
            &format!("v{i}-{}@cliente.test", uid()),
            headers,
            &body,
        );
        send(&c, &[&w.desk], &raw).await;
    }
    assert_eq!(
        wait_mailbox(&w.desk, 1 + variants.len(), WAIT).await.len(),
        1 + variants.len()
    );
    let out = w.ok(&["run", "--once"]).await;
    assert!(
        out.contains(&format!(
            "{n} fetched, 0 new tickets, {n} added to tickets",
            n = variants.len()
        )),
        "{out}"
    );
    assert_eq!(w.tickets().await.len(), 1);
    // Replies are not acknowledged; those that joined by the tag alone (no
    // threading headers: written outside the thread) get a receipt each.
    let outside = variants.iter().filter(|(_, h, _)| h.is_empty()).count();
    let inbox = wait_mailbox(&c, 1 + outside, WAIT).await;
    assert_eq!(inbox.len(), 1 + outside);
    for raw in &inbox[1..] {
        assert!(parsed(raw).text.contains("Hemos añadido su mensaje"));
    }
}

/// Auto-replies, bounces and list mail from real-world shapes: no ticket,
/// no answer, all listed as set aside.
#[tokio::test]
async fn automatic_senders_never_get_an_answer() {
    let w = World::new();
    w.init().await;
    let root = repo().join("fixtures");
    let mut n = 0;
    for dir in ["auto_replies", "bounces", "lists"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "eml") {
                continue;
            }
            let raw = read(&p);
            // The envelope sender as the original had it: bounces and some
            // auto-replies come from the null sender.
            let null = header(&raw, "Return-Path").is_some_and(|r| r == "<>");
            let from = parsed(&raw).from.address;
            send_from(
                if null { None } else { Some(from.as_str()) },
                &[&w.desk],
                &raw,
            )
            .await;
            n += 1;
        }
    }
    assert_eq!(wait_mailbox(&w.desk, n, WAIT).await.len(), n);
    let out = w.ok(&["run", "--once"]).await;
    assert!(
        out.contains(&format!(
            "{n} fetched, 0 new tickets, 0 added to tickets, {n} set aside"
        )),
        "{out}"
    );
    assert!(
        w.outbox().await.is_empty(),
        "nothing is ever sent to a machine"
    );
    let aside: Vec<serde_json::Value> =
        serde_json::from_str(&w.ok(&["aside", "list", "--json"]).await).unwrap();
    assert_eq!(aside.len(), n);
}

/// A stranger who puts someone's tag in the subject gets a new ticket,
/// linked, and nothing of the other one.
#[tokio::test]
async fn a_stranger_gets_a_linked_ticket_and_sees_nothing() {
    let w = World::new();
    w.init().await;
    let ana = format!("ana-{}@cliente.test", uid());
    open_ticket(&w, &ana).await;
    let eve = format!("eve-{}@cliente.test", uid());
    let subject = format!("RE: [{}-1] Consulta inicial", w.tag);
    send(
        &eve,
        &[&w.desk],
        &mail(
            &eve,
            &w.desk,
            &subject,
            &format!("{}@cliente.test", uid()),
            "",
            "¿Me dais los datos?",
        ),
    )
    .await;
    wait_mailbox(&w.desk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let t2 = w.ticket(2).await;
    assert_eq!(t2["linked_to"], 1);
    assert_eq!(t2["requester"], eve.as_str());
    let t1 = w.ticket(1).await;
    assert_eq!(t1["linked_from"], serde_json::json!([2]));
    assert_eq!(
        t1["messages"].as_array().unwrap().len(),
        2,
        "nothing added to ticket 1"
    );
    let eve_box = wait_mailbox(&eve, 1, WAIT).await;
    assert_eq!(eve_box.len(), 1);
    let ack = parsed(&eve_box[0]);
    assert!(
        ack.subject.starts_with(&format!("[{}-2]", w.tag)),
        "{}",
        ack.subject
    );
    assert!(
        !ack.text.contains("Primera consulta"),
        "ticket 1's text does not leak"
    );
    settled(&[&w]).await;
    assert_eq!(mailbox(&ana).await.len(), 1, "ana gets nothing about eve");
    let out = w.ok(&["tickets", "show", "1"]).await;
    assert!(
        out.contains(&format!("linked from: [{}-2]", w.tag)),
        "{out}"
    );
}

/// An acknowledgement to an address that does not exist: Postfix bounces
/// it to the desk, hilo matches the bounce to the acknowledgement, marks it
/// undeliverable, records it on the ticket and answers nothing.
#[tokio::test]
async fn a_real_bounce_marks_the_acknowledgement_undeliverable() {
    let w = World::new();
    w.init().await;
    // Postfix accepts mail to rebote.test, then bounces it to the sender.
    let ghost = format!("nadie-{}@rebote.test", uid());
    append(
        &w.desk,
        &mail(
            &ghost,
            &w.desk,
            "hola",
            &format!("{}@rebote.test", uid()),
            "",
            "¿Hay alguien?",
        ),
    )
    .await;
    w.ok(&["run", "--once"]).await; // ticket + acknowledgement, which Postfix accepts
    let bounced = wait_mailbox(&w.desk, 2, WAIT).await;
    assert_eq!(bounced.len(), 2, "Postfix's bounce reached the desk");
    let out = w.ok(&["run", "--once"]).await;
    assert!(
        out.contains("1 fetched, 0 new tickets, 1 added to tickets"),
        "{out}"
    );
    let o = w.outbox().await;
    assert_eq!(o.len(), 1, "the bounce is not answered");
    assert_eq!(o[0]["status"], "undeliverable");
    let err = o[0]["last_error"].as_str().unwrap();
    assert!(err.starts_with("bounced: 5.1.1"), "{err}");
    let t = w.ticket(1).await;
    assert_eq!(t["messages"][2]["kind"], "bounce");
    assert_eq!(w.tickets().await.len(), 1);
}

/// A Dovecot Sieve vacation responder on the customer's mailbox meets hilo:
/// it ignores hilo's acknowledgement (Auto-Submitted), answers a plain mail
/// once, and hilo never answers it back. At most 2 mails between them.
#[tokio::test]
async fn a_sieve_vacation_responder_never_loops() {
    let w = World::new();
    w.init().await;
    let c = format!("vacaciones-{}@cliente.test", uid());
    install_vacation(&c);
    let daemon = w.spawn_daemon();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("connected") }).await);

    send(
        &c,
        &[&w.desk],
        &mail(
            &c,
            &w.desk,
            "Pedido",
            &format!("{}@cliente.test", uid()),
            "",
            "¿Dónde está mi pedido?",
        ),
    )
    .await;
    assert_eq!(wait_mailbox(&c, 1, WAIT).await.len(), 1, "acknowledged");
    // A plain mail from the desk (what an agent's answer looks like) does trigger the vacation reply.
    let ack_id = parsed(&mailbox(&c).await[0]).message_id.unwrap();
    let plain = mail(
        &w.desk,
        &c,
        &format!("RE: [{}-1] Pedido", w.tag),
        &format!("{}@example.test", uid()),
        &format!("In-Reply-To: <{ack_id}>\r\n"),
        "Sale mañana.",
    );
    send(&w.desk, &[&c], &plain).await;
    // It answers a mail hilo never sent, so it is set aside (listed), not answered.
    let vacation_seen = || async {
        let aside: Vec<serde_json::Value> =
            serde_json::from_str(&w.ok(&["aside", "list", "--json"]).await).unwrap();
        aside.iter().any(|m| m["kind"] == "auto_reply")
    };
    assert!(
        eventually(WAIT, vacation_seen).await,
        "the vacation reply reached hilo\n{}",
        w.daemon_log()
    );
    settled(&[&w]).await;
    let desk_box = mailbox(&w.desk).await;
    let auto: Vec<_> = desk_box
        .iter()
        .filter(|m| header(m, "Auto-Submitted").is_some())
        .collect();
    assert_eq!(
        auto.len(),
        1,
        "the responder answered once: to the plain mail, not to the acknowledgement"
    );
    assert_eq!(
        w.outbox().await.len(),
        1,
        "hilo sent only the acknowledgement"
    );
    assert_eq!(
        mailbox(&c).await.len(),
        2,
        "the acknowledgement and the plain mail, nothing more"
    );
    assert_eq!(
        w.ticket(1).await["status"],
        "new",
        "an auto-reply does not reopen or change the ticket"
    );
    drop(daemon);
}

/// Sieve vacation for a mailbox of the test Dovecot.
fn install_vacation(user: &str) {
    use std::os::unix::fs::{chown, symlink};
    let (local, domain) = user.split_once('@').unwrap();
    let home = state_dir().join("mail").join(domain).join(local);
    std::fs::create_dir_all(home.join("sieve")).unwrap();
    std::fs::write(
        home.join("sieve/vacation.sieve"),
        "require [\"vacation\"];\nvacation :days 1 :subject \"Fuera de la oficina\" \"Estoy de vacaciones hasta el lunes.\";\n",
    )
    .unwrap();
    symlink("sieve/vacation.sieve", home.join(".dovecot.sieve")).unwrap();
    for p in [
        home.clone(),
        home.join("sieve"),
        home.join("sieve/vacation.sieve"),
    ] {
        chown(&p, Some(8), Some(8)).unwrap();
    }
    std::os::unix::fs::lchown(home.join(".dovecot.sieve"), Some(8), Some(8)).unwrap();
}

/// Two hilo installations whose desks write to each other: one mail, one
/// acknowledgement, then silence.
#[tokio::test]
async fn two_hilo_desks_never_loop() {
    let a = World::new();
    let b = World::new();
    a.init().await;
    b.init().await;
    let da = a.spawn_daemon();
    let db = b.spawn_daemon();
    for w in [&a, &b] {
        assert!(eventually(WAIT, || async { w.daemon_log().contains("connected") }).await);
    }
    // Someone at desk A writes to desk B from A's address.
    send(
        &a.desk,
        &[&b.desk],
        &mail(
            &a.desk,
            &b.desk,
            "Consulta entre mesas",
            &format!("{}@example.test", uid()),
            "",
            "hola",
        ),
    )
    .await;
    assert_eq!(
        wait_mailbox(&a.desk, 1, WAIT).await.len(),
        1,
        "B acknowledged to A"
    );
    // A has read B's acknowledgement (and set it aside as its own kind of
    // mail), and nothing either desk queued is still to go out.
    let read = || async {
        let aside: Vec<serde_json::Value> =
            serde_json::from_str(&a.ok(&["aside", "list", "--json"]).await).unwrap();
        !aside.is_empty()
    };
    assert!(
        eventually(WAIT, read).await,
        "A read B's acknowledgement\n{}",
        a.daemon_log()
    );
    settled(&[&a, &b]).await;
    assert_eq!(mailbox(&a.desk).await.len(), 1);
    assert_eq!(mailbox(&b.desk).await.len(), 1);
    assert_eq!(b.tickets().await.len(), 1);
    assert!(
        a.tickets().await.is_empty(),
        "A sees B's acknowledgement as hilo's own mail"
    );
    assert!(a.outbox().await.is_empty());
    drop((da, db));
}
