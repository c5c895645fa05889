//! A support address is public: anyone can write to it, forge any header
//! and read whatever it sends back. Each test here is an attack of issue 12,
//! tried as a stranger would: mail piped through `hilo ingest`, outgoing
//! mail sent through the real Postfix, and the mailboxes of the customer,
//! the stranger and the agents read back over IMAP.

mod support;

use serde_json::Value;
use support::*;

/// Every Message-ID named anywhere in a mail's threading headers.
fn thread_ids(raw: &[u8]) -> String {
    format!(
        "{} {}",
        header(raw, "In-Reply-To").unwrap_or_default(),
        header(raw, "References").unwrap_or_default()
    )
}

/// A desk whose agent is a real mailbox, and a customer with ticket 1.
struct Desk {
    w: World,
    agent: String,
    customer: String,
    customer_mid: String,
}

async fn desk(settings: &str) -> Desk {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!("agents = [\"{agent}\"]\n{settings}"));
    let customer = format!("cli-{}@cliente.test", uid());
    let customer_mid = mid();
    let out = ingest(
        &w,
        &mail(
            &customer,
            &w.desk,
            "No funciona la impresora",
            &customer_mid,
            "",
            "La impresora no imprime.",
        ),
    )
    .await;
    assert!(out.contains("opened"), "{out}");
    Desk {
        w,
        agent,
        customer,
        customer_mid,
    }
}

/// The tag subject of ticket 1, as a reply.
fn re(d: &Desk) -> String {
    format!("RE: [{}-1] No funciona la impresora", d.w.tag)
}

// ---- 1. Authentication-Results -------------------------------------------

#[tokio::test]
async fn forged_authentication_results_prove_nothing() {
    let d = desk("agent_trust = \"authenticated\"\nauthserv_ids = [\"mx.hilo.test\"]").await;
    let w = &d.w;
    let attack = "#cerrar\n#asignar atacante@example.net\n\nEnvíenos su contraseña.";
    for (i, ar) in [
        // No header of our server at all: the attacker's own is on top.
        "Authentication-Results: mx.evil.test; dkim=pass header.d=soporte.example.com\r\n",
        // Ours, with the pass written inside a comment.
        "Authentication-Results: mx.hilo.test; dkim=fail (dkim=pass header.d=soporte.example.com) header.d=evil.test\r\n",
        // Ours, with the pass inside a quoted value.
        "Authentication-Results: mx.hilo.test; spf=pass smtp.mailfrom=\"a dkim=pass header.d=soporte.example.com\"@evil.test\r\n",
        // SPF and HELO for the agent's domain say nothing about From.
        "Authentication-Results: mx.hilo.test; spf=pass smtp.mailfrom=soporte.example.com smtp.helo=soporte.example.com\r\n",
        // Ours says fail; a pass with our id below it came with the message.
        "Authentication-Results: mx.hilo.test; dkim=fail header.d=soporte.example.com\r\nAuthentication-Results: mx.hilo.test; dkim=pass header.d=soporte.example.com\r\n",
    ]
    .iter()
    .enumerate()
    {
        let raw = mail(&d.agent, &w.desk, &re(&d), &mid(), ar, attack);
        let out = ingest(w, &raw).await;
        assert!(out.contains("added to"), "{i}: {out}");
        let t = w.ticket(1).await;
        assert_eq!(t["status"], "new", "attack {i} changed the status");
        assert_eq!(t["assignee"], Value::Null, "attack {i} assigned the ticket");
        let last = t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["direction"] == "in")
            .unwrap()
            .clone();
        assert_eq!(last["kind"], "unverified", "attack {i}");
    }
    assert!(of_kind(w, 1, "relay").await.is_empty(), "nothing relayed");
    w.ok(&["outbox", "flush"]).await;
    let got = wait_mailbox(&d.customer, 1, WAIT).await;
    assert_eq!(got.len(), 1, "the customer got the acknowledgement only");
    assert!(!String::from_utf8_lossy(&got[0]).contains("contraseña"));

    // Our server's own pass for the agent's domain is proof.
    let ar = "Authentication-Results: mx.hilo.test; dkim=pass header.d=soporte.example.com; dmarc=pass header.from=soporte.example.com\r\n";
    let raw = mail(
        &d.agent,
        &w.desk,
        &re(&d),
        &mid(),
        ar,
        "#cerrar\n\nResuelto.",
    );
    ingest(w, &raw).await;
    assert_eq!(w.ticket(1).await["status"], "closed");
    assert_eq!(of_kind(w, 1, "relay").await.len(), 1);

    // Without authserv_ids, "authenticated" refuses to start.
    w.edit_config(|t| t.replace("authserv_ids = [\"mx.hilo.test\"]\n", ""));
    let out = w.hilo(&["check", "--offline"]).await;
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stdout).contains("authserv_ids"));
}

// ---- 2. Notification ids do not leak -------------------------------------

#[tokio::test]
async fn relays_carry_no_notification_id() {
    let observer = format!("observador-{}@example.org", uid());
    let d = desk("").await;
    let w = &d.w;
    w.desk_settings(&format!("notify = [\"{}\", \"{observer}\"]", d.agent));
    // The first notification went to the agent only (the setting came
    // after); the observer gets those of the next customer mail.
    let again = mail(
        &d.customer,
        &w.desk,
        &re(&d),
        &mid(),
        &format!("In-Reply-To: <{}>\r\n", d.customer_mid),
        "Sigue sin imprimir.",
    );
    assert!(ingest(w, &again).await.contains("added to"));
    w.ok(&["outbox", "flush"]).await;
    let seen = wait_mailbox(&observer, 1, WAIT).await;
    let notification = parsed(&seen[0]);
    let nid = notification.message_id.clone().unwrap();
    // The observer, who is no agent, answers the notification: recorded
    // as the customer side's mail, with the notification's id in its
    // References.
    let reply = mail(
        &observer,
        &w.desk,
        &re(&d),
        &mid(),
        &format!("In-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\n"),
        "Yo también lo veo.",
    );
    assert!(ingest(w, &reply).await.contains("added to"));
    // The agent answers through their own copy of the notification
    // (each notify address gets one, with its own id): relayed.
    let mine = wait_mailbox(&d.agent, 2, WAIT).await;
    let aid = parsed(&mine[1]).message_id.unwrap();
    assert_ne!(aid, nid);
    let answer = mail(
        &d.agent,
        &w.desk,
        &re(&d),
        &mid(),
        &format!("In-Reply-To: <{aid}>\r\nReferences: <{aid}> <{nid}>\r\n"),
        "Reinicie la impresora.",
    );
    assert!(ingest(w, &answer).await.contains("added to"));
    assert_eq!(of_kind(w, 1, "relay").await.len(), 1);
    w.ok(&["outbox", "flush"]).await;
    let got = wait_mailbox(&d.customer, 2, WAIT).await;
    let relay = got
        .iter()
        .find(|m| String::from_utf8_lossy(m).contains("Reinicie"))
        .expect("the relay reached the customer");
    // No id of our mail to the agents in anything the customer got.
    let notes: Vec<String> = of_kind(w, 1, "notification")
        .await
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    assert!(notes.len() >= 2);
    for m in &got {
        let ids = thread_ids(m);
        for n in &notes {
            assert!(!ids.contains(n.as_str()), "{n} leaked in {ids}");
        }
    }
    // And the relay still threads under the customer's conversation.
    let ids = thread_ids(relay);
    assert!(ids.contains(&d.customer_mid), "{ids}");
}

// ---- 3. Unverified mail joins nobody --------------------------------------

#[tokio::test]
async fn an_unverified_mail_lets_no_stranger_in() {
    let d = desk("").await;
    let w = &d.w;
    // A forged agent mail on ticket 1, with an id the attacker chose.
    let planted = mid();
    let forged = mail(&d.agent, &w.desk, &re(&d), &planted, "", "Hola");
    ingest(w, &forged).await;
    let before = w.ticket(1).await["messages"].as_array().unwrap().len();
    // The stranger "replies" to it, and to the customer's own mail.
    let stranger = format!("extrano-{}@example.net", uid());
    for parent in [planted.as_str(), d.customer_mid.as_str()] {
        let raw = mail(
            &stranger,
            &w.desk,
            "RE: No funciona la impresora",
            &mid(),
            &format!("In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n"),
            "Déjenme entrar.",
        );
        let out = ingest(w, &raw).await;
        assert!(out.contains("opened"), "{parent}: {out}");
    }
    let t = w.ticket(1).await;
    assert_eq!(t["messages"].as_array().unwrap().len(), before);
    assert_eq!(t["status"], "new");
    let participants: Vec<&str> = t["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert!(!participants.contains(&stranger.as_str()));
    assert_eq!(of_kind(w, 1, "unverified").await.len(), 1);
    // The planted id threads nothing at all; a reply to the customer's own
    // mail opens a ticket linked to theirs, for the agents to see.
    assert_eq!(w.ticket(2).await["linked_to"], Value::Null);
    assert_eq!(w.ticket(3).await["linked_to"], 1);
}

// ---- 4. Cc participants are visible and bounded ---------------------------

#[tokio::test]
async fn cc_participants_are_shown_to_agents_and_capped() {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!("agents = [\"{agent}\"]"));
    let victim = format!("victima-{}@cliente.test", uid());
    let attacker = format!("atacante-{}@example.net", uid());
    // A forged From of the victim, with the attacker in Cc.
    let raw = mail(
        &victim,
        &w.desk,
        "Cambio de cuenta bancaria",
        &mid(),
        &format!("Cc: {attacker}\r\n"),
        "Cambien mi cuenta.",
    );
    ingest(&w, &raw).await;
    w.ok(&["outbox", "flush"]).await;
    let n = wait_mailbox(&agent, 1, WAIT).await;
    let text = parsed(&n[0]).text;
    let line = text
        .lines()
        .find(|l| l.starts_with("Su respuesta llegará a:"))
        .expect("the notification says who gets the answer");
    // The first mail proves nothing of its sender, and the attacker is of
    // another domain: named, waiting for an agent's word (issue 21).
    assert!(
        line.contains(&victim) && !line.contains(&attacker),
        "{line}"
    );
    let pending = text
        .lines()
        .find(|l| l.starts_with("Pendientes de confirmar"))
        .expect("the notification names who waits");
    assert!(pending.contains(&attacker), "{pending}");
    let t = w.ticket(1).await;
    let cc = t["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == attacker.as_str())
        .unwrap()
        .clone();
    assert_eq!(cc["role"], "pending");
    assert!(cc["joined"]
        .as_str()
        .unwrap()
        .starts_with("in To/Cc of a first message"));
    let shown = w.ok(&["tickets", "show", "1"]).await;
    assert!(
        shown.contains(&attacker) && shown.contains("in To/Cc"),
        "{shown}"
    );
    // The agent takes the attacker out; the answer goes to the victim only.
    w.ok(&["tickets", "participant", "remove", "1", &attacker])
        .await;
    w.ok(&["tickets", "reply", "1", "--body", "Hecho.", "--as", &agent])
        .await;
    let rows = w.outbox().await;
    let relay = rows.last().unwrap();
    assert_eq!(relay["recipients"], serde_json::json!([victim]));

    // 10,000 Cc: at most max_participants join, and the agents are told.
    let many: Vec<String> = (0..10_000).map(|i| format!("c{i}@example.net")).collect();
    let raw = mail(
        &format!("otro-{}@example.net", uid()),
        &w.desk,
        "Hola a todos",
        &mid(),
        &format!("Cc: {}\r\n", many.join(", ")),
        "x",
    );
    ingest(&w, &raw).await;
    w.ok(&["tickets", "reply", "2", "--body", "Hola.", "--as", &agent])
        .await;
    let rows = w.outbox().await;
    let relay = rows.last().unwrap();
    assert_eq!(relay["recipients"].as_array().unwrap().len(), 1 + 10);
    // The requester, ten Cc and the agent who answered.
    assert_eq!(
        w.ticket(2).await["participants"].as_array().unwrap().len(),
        1 + 10 + 1
    );
}

// ---- 5. Loops and amplification -------------------------------------------

#[tokio::test]
async fn two_out_of_office_replies_without_headers_stop_looping() {
    let d = desk("").await;
    let w = &d.w;
    let last_id = |msgs: &[Value]| {
        msgs.last().unwrap()["message_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for round in 0..20 {
        // The agent's auto-reply answers the latest notification…
        let nid = last_id(&of_kind(w, 1, "notification").await);
        let ooo = mail(
            &d.agent,
            &w.desk,
            &re(&d),
            &mid(),
            &format!("In-Reply-To: <{nid}>\r\n"),
            "Gracias por su mensaje. Lo leeré a mi vuelta.",
        );
        ingest(w, &ooo).await;
        // …and the customer's answers the latest relay (or, once they stop,
        // the acknowledgement).
        let relays = of_kind(w, 1, "relay").await;
        let parent = if relays.is_empty() {
            last_id(&of_kind(w, 1, "ack").await)
        } else {
            last_id(&relays)
        };
        let back = mail(
            &d.customer,
            &w.desk,
            &re(&d),
            &mid(),
            &format!("In-Reply-To: <{parent}>\r\n"),
            &format!("Gracias por escribirnos ({round}). Le responderemos pronto."),
        );
        ingest(w, &back).await;
    }
    let relays = of_kind(w, 1, "relay").await.len();
    assert_eq!(relays, 5, "loop_max_relays");
    let alerts: Vec<Value> = of_kind(w, 1, "notification")
        .await
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap().contains("dejado de reenviar"))
        .collect();
    assert_eq!(alerts.len(), 1, "the agents are told once");
}

#[tokio::test]
async fn plus_addressing_does_not_multiply_acknowledgements() {
    let w = World::new();
    w.desk_settings("max_autoreplies = 3");
    let user = format!("victima{}", uid());
    let spam = format!(
        "Compre ya en http://spam.example.net/ {}",
        "ofertas ".repeat(20_000)
    );
    for n in 0..12 {
        let from = format!("{user}+{n}@cliente.test");
        ingest(&w, &mail(&from, &w.desk, "Oferta", &mid(), "", &spam)).await;
    }
    let acks: Vec<Value> = w
        .outbox()
        .await
        .into_iter()
        .filter(|r| r["subject"].as_str().unwrap().contains("Oferta"))
        .collect();
    assert_eq!(acks.len(), 3);
    w.ok(&["outbox", "flush"]).await;
    let got = wait_mailbox(&format!("{user}@cliente.test"), 3, WAIT).await;
    assert_eq!(got.len(), 3, "plus-addresses land in the base mailbox");
    for m in &got {
        assert!(
            m.len() < 8 * 1024,
            "an acknowledgement of {} bytes",
            m.len()
        );
    }
}

#[tokio::test]
async fn one_sender_cannot_flood_the_agents() {
    let d = desk("").await;
    let w = &d.w;
    for _ in 0..25 {
        let raw = mail(
            &d.customer,
            &w.desk,
            &re(&d),
            &mid(),
            &format!("In-Reply-To: <{}>\r\n", d.customer_mid),
            "¿Hay novedades?",
        );
        ingest(w, &raw).await;
    }
    let notes = of_kind(w, 1, "notification").await.len();
    assert_eq!(notes, 20, "max_notifications per sender and hour");
}

#[tokio::test]
async fn a_huge_subject_and_attachment_stay_out_of_what_we_send() {
    let d = desk("").await;
    let w = &d.w;
    // A 1 MB subject.
    let customer = format!("cli-{}@cliente.test", uid());
    let subject = format!("Ayuda {}", "x".repeat(1024 * 1024));
    ingest(w, &mail(&customer, &w.desk, &subject, &mid(), "", "hola")).await;
    // A 6 MB attachment (over notify_attachments_max, 5 MB by default).
    let data: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let raw = format!(
        "From: {customer}\r\nTo: {}\r\nSubject: Con adjunto\r\nMessage-ID: <{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nVer adjunto.\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"grande.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        w.desk,
        mid(),
        lines.join("\r\n")
    );
    let size_before = db_size(w);
    ingest(w, raw.as_bytes()).await;
    let grown = db_size(w) - size_before;
    w.ok(&["outbox", "flush"]).await;
    // Every mail we sent is small, with no header line over 998 bytes.
    let got = wait_mailbox(&customer, 2, WAIT).await;
    let agent = wait_mailbox(&d.agent, 3, WAIT).await;
    for m in got.iter().chain(&agent) {
        assert!(m.len() < 128 * 1024, "a mail of {} bytes", m.len());
        let head = &m[..m.windows(4).position(|x| x == b"\r\n\r\n").unwrap()];
        for l in head.split(|b| *b == b'\n') {
            assert!(l.len() <= 998, "a header line of {} bytes", l.len());
        }
    }
    // The notification lists the attachment instead of carrying it, and
    // the database holds its bytes once more than the raw mail, no more.
    let note = agent
        .iter()
        .find(|m| String::from_utf8_lossy(m).contains("grande.bin"))
        .unwrap();
    assert!(String::from_utf8_lossy(note).contains("hilo tickets attachments 3"));
    assert!(
        (grown as f64) < raw.len() as f64 * 1.9,
        "the database grew {grown} bytes for a {}-byte mail",
        raw.len()
    );
    let list = w.ok(&["tickets", "attachments", "3", "--json"]).await;
    let list: Vec<Value> = serde_json::from_str(&list).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let out = w.dir.path().join("grande.bin");
    w.ok(&[
        "tickets",
        "attachment",
        "3",
        &id,
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(std::fs::read(out).unwrap(), data);
}

fn db_size(w: &World) -> u64 {
    ["hilo.db", "hilo.db-wal"]
        .iter()
        .map(|f| {
            std::fs::metadata(w.dir.path().join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

// ---- 6. Forged bounces -----------------------------------------------------

fn dsn(desk: &str, recipient: &str, id: &str, diagnostic: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@example.net\r\nTo: {desk}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 {diagnostic}\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\nTo: {recipient}\r\n\
         --r--\r\n",
        mid()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_bounce_marks_only_mail_to_the_recipient_it_reports() {
    let d = desk("").await;
    let w = &d.w;
    w.ok(&["outbox", "flush"]).await;
    let ack = of_kind(w, 1, "ack").await[0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let status = |rows: Vec<Value>| {
        rows.iter()
            .find(|r| r["recipients"] == serde_json::json!([d.customer]))
            .unwrap()["status"]
            .clone()
    };
    // Even knowing the acknowledgement's id, a report about another
    // recipient marks nothing.
    let forged = dsn(&w.desk, "atacante@example.net", &ack, &"a".repeat(10_000));
    ingest(w, &forged).await;
    assert_eq!(status(w.outbox().await), "sent");
    // The real recipient's report does; its reason is one short line.
    let real = dsn(&w.desk, &d.customer, &ack, &"user unknown ".repeat(1000));
    ingest(w, &real).await;
    let rows = w.outbox().await;
    assert_eq!(status(rows.clone()), "undeliverable");
    let reason = rows
        .iter()
        .find(|r| r["status"] == "undeliverable")
        .unwrap()["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.chars().count() < 400, "{} chars", reason.len());
}

// ---- 7. Smaller findings ---------------------------------------------------

#[tokio::test]
async fn terminal_escapes_are_printed_as_text() {
    let w = World::new();
    let raw = mail(
        &format!("cli-{}@cliente.test", uid()),
        &w.desk,
        "=?utf-8?q?Factura_=E2=80=AEfdp.exe?=",
        &mid(),
        "",
        "Hola\u{1b}[2J\u{1b}]0;pwned\u{7} mundo",
    );
    ingest(&w, &raw).await;
    for args in [
        vec!["tickets", "list"],
        vec!["tickets", "show", "1"],
        vec!["outbox", "list"],
    ] {
        let out = w.hilo(&args).await;
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{args:?}"
        );
        assert!(
            !text.contains('\u{202e}'),
            "{args:?}: bidi override printed raw"
        );
    }
    let shown = w.ok(&["tickets", "show", "1"]).await;
    assert!(shown.contains("Hola\\u{1b}[2J"), "{shown}");
}

#[tokio::test]
async fn a_config_error_never_shows_a_password() {
    let w = World::new();
    w.edit_config(|t| t.replace("password = \"secret\"", "password = 86420135"));
    let out = w.hilo(&["check", "--offline"]).await;
    assert_eq!(out.status.code(), Some(78));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("86420135"), "{all}");
    assert!(all.contains("desk[0].imap"), "{all}");
}

#[tokio::test]
async fn a_stranger_who_takes_a_message_id_first_takes_nothing() {
    let w = World::new();
    let id = mid();
    let stranger = mail(
        "extrano@example.net",
        &w.desk,
        "Primero",
        &id,
        "",
        "Yo llegué antes.",
    );
    assert!(ingest(&w, &stranger).await.contains("opened"));
    let victim = format!("cli-{}@cliente.test", uid());
    let mine = mail(
        &victim,
        &w.desk,
        "Mi pedido",
        &id,
        "",
        "¿Dónde está mi pedido?",
    );
    let out = ingest(&w, &mine).await;
    assert!(
        out.contains("opened") && out.contains("acknowledgement"),
        "{out}"
    );
    assert_eq!(w.ticket(2).await["requester"], victim.as_str());
}

// ---- End to end: a forged agent and a stranger read nothing ---------------

#[tokio::test]
async fn a_forged_agent_and_a_stranger_learn_nothing_end_to_end() {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!("agents = [\"{agent}\"]"));
    w.init().await;
    let customer = format!("cli-{}@cliente.test", uid());
    let customer_mid = mid();
    let secret = format!("pedido-{}", uid());
    let raw = mail(
        &customer,
        &w.desk,
        "Mi pedido",
        &customer_mid,
        "",
        &format!("Mi número de pedido es {secret}."),
    );
    send(&customer, &[&w.desk], &raw).await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    wait_mailbox(&agent, 1, WAIT).await;
    let tag = format!("[{}-1]", w.tag);

    // The attacker writes as the agent, with commands and a question.
    let attacker = format!("atacante-{}@example.net", uid());
    let forged = mail(
        &agent,
        &w.desk,
        &format!("RE: {tag} Mi pedido"),
        &mid(),
        &format!("Authentication-Results: mx.evil.test; dkim=pass header.d=soporte.example.com\r\nReply-To: {attacker}\r\nCc: {attacker}\r\n"),
        &format!("#cerrar\n#asignar {attacker}\n#añadir {attacker}\n\nConfirme su contraseña."),
    );
    send(&attacker, &[&w.desk], &forged).await;
    // A stranger names the ticket and replies to the customer's message.
    let stranger = format!("extrano-{}@example.net", uid());
    let nosy = mail(
        &stranger,
        &w.desk,
        &format!("RE: {tag} Mi pedido"),
        &mid(),
        &format!("In-Reply-To: <{customer_mid}>\r\nReferences: <{customer_mid}>\r\n"),
        "¿Cuál es el estado?",
    );
    send(&stranger, &[&w.desk], &nosy).await;
    wait_mailbox(&w.desk, 3, WAIT).await;
    w.ok(&["run", "--once"]).await;
    settled(&[&w]).await;

    let t = w.ticket(1).await;
    assert_eq!(t["status"], "new");
    assert_eq!(t["assignee"], Value::Null);
    let people: Vec<&str> = t["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert_eq!(people, [customer.as_str()]);
    // The customer got the acknowledgement and nothing of the attacker's.
    let got = mailbox(&customer).await;
    assert_eq!(got.len(), 1);
    assert!(!String::from_utf8_lossy(&got[0]).contains("contraseña"));
    // The stranger got an acknowledgement of their own ticket, without a
    // word of the customer's.
    let theirs = wait_mailbox(&stranger, 1, WAIT).await;
    assert_eq!(theirs.len(), 1);
    let text = String::from_utf8_lossy(&theirs[0]);
    assert!(
        !text.contains(&secret) && !text.contains(&format!("{}-1]", w.tag)),
        "{text}"
    );
    // The attacker's mailbox is empty.
    assert!(mailbox(&attacker).await.is_empty());
}
