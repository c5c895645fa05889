//! End-to-end: the `hilo` binary against the real Dovecot and Postfix.
//! Each test has its own desk mailbox, customer mailbox and database.

mod support;

use support::*;

/// A customer's mail through Postfix becomes exactly one ticket and one
/// acknowledgement, threaded to their mail; a second pass changes nothing.
#[tokio::test]
async fn new_mail_becomes_one_acknowledged_ticket() {
    let w = World::new();
    w.init().await;
    let customer = format!("ana-{}@cliente.test", uid());
    let mid = format!("{}@cliente.test", uid());
    let raw = mail(
        &customer,
        &w.desk,
        "No puedo entrar en mi cuenta",
        &mid,
        "",
        "Hola,\nla contraseña no funciona.",
    );
    send(&customer, &[&w.desk], &raw).await;
    assert_eq!(
        wait_mailbox(&w.desk, 1, WAIT).await.len(),
        1,
        "delivered to the desk"
    );

    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("1 new tickets"), "{out}");
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let t = &tickets[0];
    let tag = format!("[{}-1]", w.tag);
    assert_eq!(t["number"], 1);
    assert_eq!(t["tag"], tag.as_str());
    assert_eq!(t["status"], "new");
    assert_eq!(t["requester"], customer.as_str());
    assert_eq!(t["subject"], "No puedo entrar en mi cuenta");
    assert_eq!(
        t["messages"], 2,
        "the customer's mail and our acknowledgement"
    );

    let inbox = wait_mailbox(&customer, 1, WAIT).await;
    assert_eq!(inbox.len(), 1, "one acknowledgement");
    let ack = &inbox[0];
    let subject = parsed(ack).subject;
    assert!(subject.contains(&tag), "subject {subject:?} has the tag");
    assert_eq!(
        header(ack, "In-Reply-To").as_deref(),
        Some(format!("<{mid}>").as_str())
    );
    assert_eq!(
        header(ack, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let ack_text = parsed(ack).text;
    // A first, unauthenticated mail is not quoted back (`ack_quote =
    // "known"`): its From may be forged.
    assert!(
        ack_text.contains(&tag) && !ack_text.contains("la contraseña no funciona"),
        "{ack_text}"
    );

    // A second pass: no new ticket, no second acknowledgement.
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("0 fetched"), "{out}");
    assert_eq!(w.tickets().await.len(), 1);
    settled(&[&w]).await;
    assert_eq!(mailbox(&customer).await.len(), 1);
    let outbox = w.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["status"], "sent");
}

/// The customer's replies land on the same ticket: one with only
/// In-Reply-To, one with only the tag under a Spanish Outlook forward prefix.
#[tokio::test]
async fn replies_land_on_the_same_ticket() {
    let w = World::new();
    w.init().await;
    let customer = format!("luis-{}@cliente.test", uid());
    let mid = format!("{}@cliente.test", uid());
    send(
        &customer,
        &[&w.desk],
        &mail(
            &customer,
            &w.desk,
            "Factura duplicada",
            &mid,
            "",
            "Me cobraron dos veces.",
        ),
    )
    .await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let ack = wait_mailbox(&customer, 1, WAIT).await.pop().expect("ack");
    let ack_id = parsed(&ack).message_id.expect("ack has a Message-ID");

    // Reply 1: In-Reply-To only, subject without the tag.
    let r1 = mail(
        &customer,
        &w.desk,
        "RE: Factura duplicada",
        &format!("{}@cliente.test", uid()),
        &format!("In-Reply-To: <{ack_id}>\r\n"),
        "Adjunto el extracto.",
    );
    // Reply 2: no threading headers, only the tag behind "RV: RE:".
    let r2 = mail(
        &customer,
        &w.desk,
        &format!("RV: RE: [{}-1] Factura duplicada", w.tag),
        &format!("{}@cliente.test", uid()),
        "",
        "¿Alguna novedad?",
    );
    send(&customer, &[&w.desk], &r1).await;
    send(&customer, &[&w.desk], &r2).await;
    assert_eq!(wait_mailbox(&w.desk, 3, WAIT).await.len(), 3);
    w.ok(&["run", "--once"]).await;

    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1, "no new ticket: {tickets:?}");
    let t = w.ticket(1).await;
    // Only the first mail was acknowledged; the one outside the thread
    // (no threading headers) gets a receipt saying where it went.
    assert_eq!(
        kinds(&t),
        ["customer", "ack", "customer", "customer", "receipt"]
    );
    settled(&[&w]).await;
    assert_eq!(mailbox(&customer).await.len(), 2);
}

/// Garbage between two good messages is quarantined; both good ones become
/// tickets and the mailbox does not stall.
#[tokio::test]
async fn garbage_is_quarantined_and_skipped() {
    let w = World::new();
    w.init().await;
    let a = format!("a-{}@cliente.test", uid());
    let b = format!("b-{}@cliente.test", uid());
    append(
        &w.desk,
        &mail(
            &a,
            &w.desk,
            "primero",
            &format!("{}@x.test", uid()),
            "",
            "uno",
        ),
    )
    .await;
    append(
        &w.desk,
        b"\x01\x02\x03 this is not a mail \xff\xfe\r\n\r\n\x00garbage",
    )
    .await;
    append(
        &w.desk,
        b"Subject: no sender here\r\nTo: x@example.test\r\n\r\nbody\r\n",
    )
    .await;
    append(
        &w.desk,
        &mail(
            &b,
            &w.desk,
            "segundo",
            &format!("{}@x.test", uid()),
            "",
            "dos",
        ),
    )
    .await;

    let out = w.ok(&["run", "--once"]).await;
    assert!(
        out.contains(
            "4 fetched, 2 new tickets, 0 added to tickets, 0 set aside, 0 already stored, 2 quarantined"
        ),
        "{out}"
    );
    let tickets = w.tickets().await;
    let subjects: Vec<&str> = tickets
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["primero", "segundo"]);
    let q = w.quarantine().await;
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q[0]["uid"], 2);
    assert_eq!(q[1]["reason"], "no usable From address");
    // The checkpoint moved past everything: nothing is fetched again.
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("0 fetched"), "{out}");
}

/// `hilo ingest` makes the same ticket as the IMAP path from the same bytes,
/// exits 0 for stored, duplicate and quarantined input.
#[tokio::test]
async fn ingest_matches_the_imap_path() {
    let via_imap = World::new();
    via_imap.init().await;
    let via_pipe = World::with_desks(&[support::DeskSpec {
        name: "soporte",
        address: via_imap.desk.clone(),
        tag: &via_imap.tag,
        language: "es",
        password: PASSWORD,
    }]);
    let customer = format!("eva-{}@cliente.test", uid());
    // The original windows-1252 bytes, with a fresh customer address.
    let orig = std::fs::read(repo().join("fixtures/e2e/outlook-windows-1252.eml")).unwrap();
    let raw = replace_bytes(&orig, b"eva@cliente.test", customer.as_bytes());

    append(&via_imap.desk, &raw).await;
    via_imap.ok(&["run", "--once"]).await;

    let out = via_pipe
        .hilo_stdin(&["ingest", "--desk", "soporte", "-"], Some(&raw))
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("opened"),
        "{out:?}"
    );

    let a = via_imap.ticket(1).await;
    let b = via_pipe.ticket(1).await;
    for k in [
        "number",
        "tag",
        "desk",
        "status",
        "subject",
        "requester",
        "requester_name",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert_eq!(a["subject"], "Pedido nº 4471: cargo en €");
    let texts = |t: &serde_json::Value| t["messages"][0]["text"].as_str().unwrap().to_string();
    assert_eq!(texts(&a), texts(&b));
    assert!(texts(&a).contains("“comisión” de 3,50 €"), "{}", texts(&a));
    assert_eq!(a["messages"][1]["kind"], "ack");
    assert_eq!(b["messages"][1]["kind"], "ack");

    // The same bytes again: stored once.
    let out = via_pipe
        .hilo_stdin(&["ingest", "--desk", "soporte", "-"], Some(&raw))
        .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "already stored"
    );
    assert_eq!(via_pipe.tickets().await.len(), 1);
    // Garbage is kept and still exits 0, so the mail server does not bounce it.
    let out = via_pipe
        .hilo_stdin(&["ingest", "--desk", "soporte"], Some(b"\xff\xfe"))
        .await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("quarantined"));
    // An unknown desk is a configuration error.
    let out = via_pipe
        .hilo_stdin(&["ingest", "--desk", "nope"], Some(&raw))
        .await;
    assert_eq!(out.status.code(), Some(78));
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Automatic mail never opens a ticket and is never answered.
#[tokio::test]
async fn auto_replies_are_never_answered() {
    let w = World::new();
    w.init().await;
    let robot = format!("robot-{}@cliente.test", uid());
    let ooo = mail(
        &robot,
        &w.desk,
        "Respuesta automática: fuera de la oficina",
        &format!("{}@cliente.test", uid()),
        "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
        "Estoy fuera hasta el lunes.",
    );
    send(&robot, &[&w.desk], &ooo).await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("1 fetched, 0 new tickets"), "{out}");
    assert!(w.tickets().await.is_empty());
    assert!(w.outbox().await.is_empty());
    settled(&[&w]).await;
    assert!(mailbox(&robot).await.is_empty());
}

/// A wrong IMAP password: clear message, exit 75, no secret in the output.
#[tokio::test]
async fn wrong_password_is_reported_without_the_secret() {
    let w = World::with_desks(&[DeskSpec {
        name: "soporte",
        address: format!("soporte-{}@example.test", uid()),
        tag: "SOP",
        language: "es",
        password: "s3cr3t-wr0ng",
    }]);
    let out = w.hilo(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(75));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("rejected the login"), "{all}");
    assert!(!all.contains("s3cr3t-wr0ng"), "secret leaked: {all}");
}

/// The sender tells a permanent refusal (5xx: failed at once, with the
/// server's answer) from a temporary one (4xx: retried later).
#[tokio::test]
async fn smtp_refusals_are_classified() {
    let w = World::new();
    w.init().await;
    let gone = format!("nadie-{}@rechazo.test", uid());
    let later = format!("luego-{}@tempfail.test", uid());
    append(
        &w.desk,
        &mail(&gone, &w.desk, "uno", &format!("{}@x.test", uid()), "", "a"),
    )
    .await;
    append(
        &w.desk,
        &mail(
            &later,
            &w.desk,
            "dos",
            &format!("{}@x.test", uid()),
            "",
            "b",
        ),
    )
    .await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("0 sent, 1 to retry, 1 failed"), "{out}");
    let o = w.outbox().await;
    let by_to = |addr: &str| {
        o.iter()
            .find(|r| r["recipients"][0] == addr)
            .expect("row")
            .clone()
    };
    let failed = by_to(&gone);
    assert_eq!(failed["status"], "failed");
    let err = failed["last_error"].as_str().unwrap();
    assert!(err.starts_with("permanent") && err.contains("554"), "{err}");
    let retry = by_to(&later);
    assert_eq!(retry["status"], "pending");
    assert!(
        retry["last_error"].as_str().unwrap().contains("450"),
        "{retry}"
    );
    assert!(retry["next_attempt_at"].as_str().unwrap() > retry["created_at"].as_str().unwrap());
}

/// Acknowledgements are queued as drafts and composed by the sender, which
/// keeps the bytes before it sends them; a draft that cannot be composed
/// fails its own row and no other.
#[tokio::test]
async fn acknowledgements_are_composed_when_sent() {
    let w = World::new();
    w.init().await;
    let ana = format!("ana-{}@cliente.test", uid());
    let luis = format!("luis-{}@cliente.test", uid());
    for c in [&ana, &luis] {
        let id = format!("{}@cliente.test", uid());
        append(&w.desk, &mail(c, &w.desk, "Consulta", &id, "", "Hola")).await;
    }
    let out = w.ok(&["run", "--once", "--no-send"]).await;
    assert!(out.contains("2 new tickets"), "{out}");

    let db = rusqlite::Connection::open(w.db()).unwrap();
    let queued = |to: &str| -> (i64, usize, Option<String>) {
        db.query_row(
            "SELECT m.id, length(m.raw), m.draft FROM outbox o
             JOIN messages m ON m.id = o.message_id WHERE o.recipients = json_array(?1)",
            [to],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let (ana_msg, len, draft) = queued(&ana);
    assert_eq!(len, 0, "not composed while queued");
    assert!(
        draft.unwrap().contains(&ana),
        "the draft names the customer"
    );
    let (luis_msg, _, _) = queued(&luis);
    db.execute("UPDATE messages SET draft = '{' WHERE id = ?1", [luis_msg])
        .unwrap();

    let out = w.ok(&["outbox", "flush"]).await;
    assert!(out.contains("1 sent, 0 to retry, 1 failed"), "{out}");
    let o = w.outbox().await;
    let luis_row = o
        .iter()
        .find(|r| r["recipients"][0] == luis.as_str())
        .unwrap();
    assert_eq!(luis_row["status"], "failed");
    assert!(
        luis_row["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot compose"),
        "{luis_row}"
    );

    // What is kept is what was delivered (after the headers Postfix adds).
    let inbox = wait_mailbox(&ana, 1, WAIT).await;
    let (_, len, draft) = queued(&ana);
    assert!(len > 0 && draft.is_none());
    let kept: Vec<u8> = db
        .query_row("SELECT raw FROM messages WHERE id = ?1", [ana_msg], |r| {
            r.get(0)
        })
        .unwrap();
    // (Line ends aside, and the final one SMTP adds.)
    let lf = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).replace("\r\n", "\n");
        s.trim_end().to_string()
    };
    assert!(lf(&inbox[0]).ends_with(&lf(&kept)), "{}", lf(&inbox[0]));
    settled(&[&w]).await;
    assert_eq!(
        mailbox(&luis).await.len(),
        0,
        "nothing sent for the bad draft"
    );
}
