//! The security and mail-client review of issues 21 and 29, end to end:
//! each test is one finding, tried as the review tried it, mail piped
//! through `hilo ingest` or delivered by the real Postfix, what hilo sends
//! going out through Postfix into Dovecot and read back over IMAP. Each
//! failed on the code before the fix.

mod support;

use serde_json::Value;
use support::*;

/// The participants of ticket `n`: (address, role).
async fn participants(w: &World, n: i64) -> Vec<(String, String)> {
    w.ticket(n).await["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["address"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An agent's answer to our mail `original` (a notification), From `from`.
fn agent_reply(from: &str, to: &str, original_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Agente <{from}>\r\nTo: {to}\r\nSubject: RE: x\r\nMessage-ID: <{}@soporte.example.com>\r\n\
         In-Reply-To: <{original_id}>\r\nReferences: <{original_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        uid()
    )
    .into_bytes()
}

/// The Message-ID of the last notification of ticket `n` sent to `to`.
async fn notification_to(w: &World, n: i64, to: &str) -> String {
    of_kind(w, n, "notification")
        .await
        .iter()
        .rev()
        .find(|m| m["to"].as_array().unwrap().iter().any(|a| a == to))
        .unwrap_or_else(|| panic!("no notification of {n} to {to}"))["message_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The last message of ticket JSON `t` that hilo received.
fn last_in(t: &Value) -> Value {
    t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["direction"] == "in")
        .unwrap()
        .clone()
}

fn all_output(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---- Issue 29.1, 21.4: a forged From with a stranger in Cc --------------

#[tokio::test]
async fn a_forged_mail_and_merge_bring_no_stranger_to_the_victims_answers() {
    let d = desk("").await;
    let w = &d.w;
    let eve = format!("eve-{}@evil.test", uid());
    // The victim's real ticket.
    let first = customer_mail(
        &d.ana,
        &w.desk,
        "Cambio de cuenta",
        "Mi cuenta es la de siempre.",
    );
    assert!(ingest(w, &first).await.contains("opened"));
    // Eve forges the victim's From with herself in Cc: a new ticket, on
    // which she waits for an agent's word.
    let forged = mail(
        &d.ana,
        &w.desk,
        "Nueva cuenta",
        &mid(),
        &format!("Cc: {eve}\r\n"),
        "Cambien mi cuenta bancaria, por favor.",
    );
    assert!(ingest(w, &forged).await.contains("opened"));
    assert!(
        participants(w, 2)
            .await
            .contains(&(eve.clone(), "pending".into())),
        "{:?}",
        participants(w, 2).await
    );
    // The notification tells the agents she waits, and how to confirm.
    let n = of_kind(w, 2, "notification").await;
    let n = n[0]["text"].as_str().unwrap();
    assert!(
        n.contains("Pendientes de confirmar") && n.contains(&eve),
        "{n}"
    );

    // She writes with the tag herself: as no participant, a new ticket.
    let tagged = customer_mail(&eve, &w.desk, &format!("{} hola", d.tag(2)), "¿Ya está?");
    ingest(w, &tagged).await;
    assert!(w.ticket(2).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["from"] != eve.as_str()));

    // A third mail forged as the victim answers ticket 2's acknowledgement
    // (say Eve learnt its id) naming ticket 1: nothing merges.
    let ack2 = of_kind(w, 2, "ack").await[0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let merge = mail(
        &d.ana,
        &w.desk,
        &format!("Re: {} Nueva cuenta", d.tag(2)),
        &mid(),
        &format!("In-Reply-To: <{ack2}>\r\nReferences: <{ack2}>\r\n"),
        &format!("Es sobre {}-1.", w.tag),
    );
    ingest(w, &merge).await;
    assert_eq!(w.ticket(2).await["merged_into"], Value::Null);
    let n = of_kind(w, 2, "notification").await;
    let last = n.last().unwrap()["text"].as_str().unwrap();
    assert!(
        last.contains("pide unir esta solicitud") && last.contains("#fusionar"),
        "{last}"
    );

    // The agent answers ticket 2 with the IBAN: only the victim gets it.
    let nid = notification_to(w, 2, &d.agent).await;
    ingest(
        w,
        &agent_reply(
            &d.agent,
            &w.desk,
            &nid,
            "Su IBAN ES12 3456 queda registrado.",
        ),
    )
    .await;
    w.ok(&["outbox", "flush"]).await;
    let got = wait_mailbox(&d.ana, 3, WAIT).await;
    assert!(
        got.iter().any(|m| text(m).contains("ES12 3456")),
        "the victim got the answer"
    );
    settled(&[w]).await;
    assert!(
        mailbox(&eve)
            .await
            .iter()
            .all(|m| !text(m).contains("ES12 3456")),
        "the stranger got the IBAN"
    );

    // The agent merges 2 into 1 by command: the confirmation lists who
    // moved (Eve, still pending, is not among those who get answers).
    let nid = notification_to(w, 2, &d.agent).await;
    ingest(
        w,
        &agent_reply(&d.agent, &w.desk, &nid, &format!("#fusionar {}-1", w.tag)),
    )
    .await;
    assert_eq!(w.ticket(2).await["merged_into"], 1);
    let report = of_kind(w, 1, "report").await;
    let r = report.last().unwrap()["text"].as_str().unwrap();
    assert!(r.contains("fusionada en") && !r.contains(&eve), "{r}");
    assert!(!participants(w, 1)
        .await
        .contains(&(eve.clone(), "cc".into())));

    // An agent's #añadir confirms a pending participant.
    let nid = notification_to(w, 1, &d.agent).await;
    ingest(
        w,
        &agent_reply(
            &d.agent,
            &w.desk,
            &nid,
            &format!("#añadir {eve}\n\nAñadida."),
        ),
    )
    .await;
    assert!(participants(w, 1)
        .await
        .contains(&(eve.clone(), "cc".into())));
}

// ---- Issue 29.2: the comment alias ---------------------------------------

#[tokio::test]
async fn a_customer_writing_to_the_comment_alias_is_answered_from_the_desk() {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    let note = w.desk.replace('@', "+nota@");
    w.desk_settings(&format!(
        "agents = [\"{agent}\"]\nplus_addressing = true\ncomment_address = \"{note}\""
    ));
    w.init().await;
    let ana = format!("ana-{}@cliente.test", uid());
    let raw = customer_mail(&ana, &note, "Pedido", "¿Dónde está mi pedido?");
    w.deliver(&ana, &raw).await;
    assert_eq!(w.ticket(1).await["address"], w.desk.as_str());
    let ack = wait_mailbox(&ana, 1, WAIT).await;
    assert_eq!(parsed(&ack[0]).from.address, w.desk);
    // The agent's plain Reply to the notification reaches the customer.
    let n = wait_mailbox(&agent, 1, WAIT).await;
    assert_eq!(header(&n[0], "Reply-To").as_deref(), Some(w.desk.as_str()));
    let nid = parsed(&n[0]).message_id.unwrap();
    let reply = agent_reply(&agent, &w.desk, &nid, "Sale mañana.");
    w.deliver(&agent, &reply).await;
    let inbox = wait_mailbox(&ana, 2, WAIT).await;
    assert!(text(&inbox[1]).contains("Sale mañana."), "relayed");
}

// ---- Issue 29.5: long and odd plus-addresses -----------------------------

#[tokio::test]
async fn odd_plus_addresses_make_whole_tickets_answered_from_the_desk() {
    let d = desk("plus_addressing = true").await;
    let w = &d.w;
    let long = w.desk.replace('@', &format!("+{}@", "x".repeat(80)));
    let dots = w.desk.replace('@', "+a..b@");
    for (n, to) in [(1, &long), (2, &dots)] {
        let raw = mail(&d.ana, to, "Hola", &mid(), "", "Consulta.");
        assert!(ingest(w, &raw).await.contains("opened"));
        let t = w.ticket(n).await;
        assert_eq!(t["address"], w.desk.as_str(), "{t}");
        assert_eq!(of_kind(w, n, "ack").await.len(), 1, "{t}");
        assert_eq!(of_kind(w, n, "notification").await.len(), 1, "{t}");
        let out = w
            .hilo(&["tickets", "reply", &n.to_string(), "--body", "Respuesta."])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    }
    w.ok(&["outbox", "flush"]).await;
    assert_eq!(wait_mailbox(&d.ana, 4, WAIT).await.len(), 4);
}

// ---- Issue 29.3: token URLs that only look local -------------------------

#[tokio::test]
async fn a_token_url_that_only_looks_local_is_refused() {
    for url in [
        "http://127.0.0.1@192.0.2.2/token",
        "http://127.0.0.1.evil.test/token",
        "http://localhost.evil.test/token",
    ] {
        let w = World::new();
        w.edit_config(|t| {
            t.replacen(
                "password = \"secret\"\n",
                &format!(
                    "auth = \"oauth2\"\n[desk.imap.oauth2]\nprovider = \"custom\"\nclient_id = \"c\"\n\
                     token_url = \"{url}\"\ndevice_authorization_url = \"https://idp.example/device\"\n"
                ),
                1,
            )
        });
        let out = w.hilo(&["check", "--offline"]).await;
        assert_eq!(out.status.code(), Some(78), "{url}: {}", all_output(&out));
        assert!(
            all_output(&out).contains("oauth2.token_url"),
            "{url}: {}",
            all_output(&out)
        );
    }
}

// ---- Issue 29.4: trace logs -------------------------------------------

#[tokio::test]
async fn trace_logs_show_neither_password_nor_token() {
    let w = World::new();
    let out = w
        .hilo_with(&["run", "--once"], None, &[("RUST_LOG", "trace")])
        .await;
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("TRACE"), "trace logging is on");
    // (rustls traces words like "extended_master_secret": look for the
    // password as a LOGIN or AUTHENTICATE PLAIN line carries it.)
    use base64::Engine;
    let plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{}\0{PASSWORD}", w.desk));
    for l in log.lines() {
        assert!(
            !(l.contains(&w.desk) && l.contains(PASSWORD)),
            "the IMAP password in the log: {l}"
        );
        assert!(!l.contains(&plain), "the IMAP password in the log: {l}");
    }

    // An OAuth2 token, as a token_command gives it (Dovecot refuses it:
    // the AUTHENTICATE line is written all the same).
    let token = format!("tok-{}-{}", uid(), uid());
    w.edit_config(|t| {
        t.replacen(
            "password = \"secret\"\n",
            &format!("auth = \"oauth2\"\n[desk.imap.oauth2]\ntoken_command = \"echo {token}\"\n"),
            1,
        )
    });
    let out = w
        .hilo_with(&["run", "--once"], None, &[("RUST_LOG", "trace")])
        .await;
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(log.contains("TRACE"), "{log}");
    assert!(!log.contains(&token), "the token in the log");
    // Nor base64-encoded inside the SASL message.
    for mech in [
        format!("n,a={},\x01auth=Bearer {token}\x01\x01", w.desk),
        format!("user={}\x01auth=Bearer {token}\x01\x01", w.desk),
    ] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(mech);
        assert!(!log.contains(&b64[..40]), "the SASL message in the log");
    }
}

// ---- Issue 29.6: one notification per agent ------------------------------

#[tokio::test]
async fn one_agent_cannot_answer_as_another() {
    let w = World::new();
    let (a1, a2) = (
        format!("a1-{}@soporte.example.com", uid()),
        format!("a2-{}@soporte.example.com", uid()),
    );
    w.desk_settings(&format!(
        "agents = [\"{a1}\", \"{a2}\"]\nnotify = [\"{a1}\", \"{a2}\"]"
    ));
    let ana = format!("ana-{}@cliente.test", uid());
    ingest(&w, &customer_mail(&ana, &w.desk, "Hola", "Ayuda.")).await;
    let n = of_kind(&w, 1, "notification").await;
    assert_eq!(n.len(), 2, "one copy per agent");
    for m in &n {
        assert_eq!(m["to"].as_array().unwrap().len(), 1, "{m}");
    }
    // a2 holds only their own copy's id: forging a1's From with it proves nothing.
    let id2 = notification_to(&w, 1, &a2).await;
    ingest(&w, &agent_reply(&a1, &w.desk, &id2, "#cerrar\n\nCerrado.")).await;
    let t = w.ticket(1).await;
    assert_eq!(t["status"], "new", "{t}");
    assert_eq!(last_in(&t)["kind"], "unverified");
    // Each with their own id is an agent.
    ingest(&w, &agent_reply(&a2, &w.desk, &id2, "#pendiente\n\nMiro.")).await;
    assert_eq!(w.ticket(1).await["status"], "pending");
}

// ---- Issue 29.6: #añadir and the cap, #resuelto from a Cc -----------------

#[tokio::test]
async fn adding_participants_stops_at_max_participants() {
    let d = desk("max_participants = 2").await;
    let w = &d.w;
    let raw = mail(
        &d.ana,
        &w.desk,
        "Hola",
        &mid(),
        "Cc: jefe@cliente.test\r\n",
        "Ayuda.",
    );
    ingest(w, &raw).await;
    let nid = notification_to(w, 1, &d.agent).await;
    let body =
        "#añadir b@cliente.test\n#añadir c@cliente.test\n#añadir d@cliente.test\n\nAñadidos.";
    ingest(w, &agent_reply(&d.agent, &w.desk, &nid, body)).await;
    let cc: Vec<String> = participants(w, 1)
        .await
        .into_iter()
        .filter(|(_, r)| r == "cc")
        .map(|(a, _)| a)
        .collect();
    assert_eq!(cc.len(), 2, "{cc:?}");
    let report = of_kind(w, 1, "report").await;
    let r = report[0]["text"].as_str().unwrap();
    assert!(r.contains("max_participants"), "{r}");
}

#[tokio::test]
async fn only_the_requester_resolves_with_resuelto() {
    let w = World::new();
    let faq = repo().join("config/faq/ctaima.example.toml");
    w.desk_settings(&format!("faq = \"{}\"", faq.display()));
    let ana = format!("ana-{}@cliente.test", uid());
    let irene = format!("irene-{}@cliente.test", uid());
    let raw = mail(
        &ana,
        &w.desk,
        "No puedo entrar",
        &mid(),
        &format!("Cc: {irene}\r\n"),
        "Hola, he olvidado mi contraseña y no puedo acceder a la plataforma.",
    );
    ingest(&w, &raw).await;
    let ack = of_kind(&w, 1, "ack").await[0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let from_cc = mail(
        &irene,
        &w.desk,
        "Re: x",
        &mid(),
        &format!("In-Reply-To: <{ack}>\r\nReferences: <{ack}>\r\n"),
        "#resuelto",
    );
    ingest(&w, &from_cc).await;
    assert_eq!(
        w.ticket(1).await["status"],
        "new",
        "a Cc participant resolved it"
    );
    let from_ana = mail(
        &ana,
        &w.desk,
        "Re: x",
        &mid(),
        &format!("In-Reply-To: <{ack}>\r\nReferences: <{ack}>\r\n"),
        "#resuelto",
    );
    ingest(&w, &from_ana).await;
    assert_eq!(w.ticket(1).await["status"], "resolved");
}

// ---- Issue 29.6: answers per day for an unverified sender ----------------

#[tokio::test]
async fn a_forged_sender_gets_few_answers_a_day() {
    let w = World::new();
    let faq = repo().join("config/faq/ctaima.example.toml");
    w.desk_settings(&format!("faq = \"{}\"", faq.display()));
    let victim = format!("v-{}@cliente.test", uid());
    for _ in 0..5 {
        let raw = customer_mail(
            &victim,
            &w.desk,
            "No puedo entrar",
            "Hola, he olvidado mi contraseña y no puedo acceder a la plataforma.",
        );
        ingest(&w, &raw).await;
    }
    let mut with_answers = 0u32;
    for n in 1..=5 {
        let acks = of_kind(&w, n, "ack").await;
        if acks
            .iter()
            .any(|a| a["text"].as_str().unwrap().contains("Quizá esto le ayude"))
        {
            with_answers += 1;
        }
    }
    assert_eq!(with_answers, hilo::faq::UNVERIFIED_ANSWERS_PER_DAY);
}

// ---- Issue 29.6: bidi controls -------------------------------------------

#[tokio::test]
async fn bidi_controls_reach_no_header_and_no_json() {
    let d = desk("").await;
    let w = &d.w;
    let raw = customer_mail(
        &d.ana,
        &w.desk,
        "Factura \u{202e}fdp.exe",
        "Adjunto \u{202e}fdp.exe",
    );
    ingest(w, &raw).await;
    w.ok(&["outbox", "flush"]).await;
    let ack = &wait_mailbox(&d.ana, 1, WAIT).await[0];
    let subject = parsed(ack).subject;
    assert!(
        subject.contains("Factura") && !subject.contains('\u{202e}'),
        "{subject:?}"
    );
    // The ticket's subject goes into our headers: without it.
    let list = w.ok(&["tickets", "list", "--json"]).await;
    assert!(!list.contains('\u{202e}'), "{list}");
    // The text keeps what was sent, escaped in the JSON output.
    let json = w.ok(&["tickets", "show", "1", "--json"]).await;
    assert!(!json.contains('\u{202e}'), "{json}");
    assert!(json.contains("\\u202e"), "escaped, the data kept: {json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["messages"][0]["text"]
        .as_str()
        .unwrap()
        .contains('\u{202e}'));
}

// ---- Issue 21.5 and 29.6: Authentication-Results ------------------------

#[tokio::test]
async fn an_authentication_results_below_our_received_line_is_not_believed() {
    let d = desk(
        "agent_trust = \"authenticated\"\nauthserv_ids = [\"mx.hilo.test\"]\nreceiving_hosts = [\"mx.hilo.test\"]",
    )
    .await;
    let w = &d.w;
    ingest(
        w,
        &customer_mail(&d.ana, &w.desk, "Impresora", "No imprime."),
    )
    .await;
    let ours = "Received: from mail.cliente.test (mail.cliente.test [192.0.2.7])\r\n\tby mx.hilo.test (Postfix) with ESMTPS id 4F1; Mon, 7 Dec 2026 10:00:00 +0100\r\n";
    let pass = "Authentication-Results: mx.hilo.test; dkim=pass header.d=soporte.example.com\r\n";
    let sender = "Received: from pc by mail.evil.test; Mon, 7 Dec 2026 09:59:00 +0100\r\n";
    let subject = format!("RE: {} Impresora", d.tag(1));
    let attack = "#cerrar\n\nEnvíenos su contraseña.";
    for (i, headers) in [
        // The forged pass came with the message, below our server's line.
        format!("{ours}{pass}{sender}"),
        // Our id quoted, or with a comment before it.
        format!("Authentication-Results: \"mx.hilo.test\"; dkim=pass header.d=soporte.example.com\r\n{ours}"),
        format!("Authentication-Results: (x) mx.hilo.test; dkim=pass header.d=soporte.example.com\r\n{ours}"),
        // Our server's line never seen: nothing can be told.
        format!("{pass}{sender}"),
    ]
    .iter()
    .enumerate()
    {
        let raw = mail(&d.agent, &w.desk, &subject, &mid(), headers, attack);
        ingest(w, &raw).await;
        let t = w.ticket(1).await;
        assert_eq!(t["status"], "new", "attack {i} closed the ticket");
        assert_eq!(last_in(&t)["kind"], "unverified", "attack {i}");
    }
    // Our milter's header above our line: proof.
    let raw = mail(
        &d.agent,
        &w.desk,
        &subject,
        &mid(),
        &format!("{pass}{ours}{sender}"),
        "#cerrar\n\nResuelto.",
    );
    ingest(w, &raw).await;
    assert_eq!(w.ticket(1).await["status"], "closed");

    // Without receiving_hosts, hilo check warns.
    w.edit_config(|t| t.replace("receiving_hosts = [\"mx.hilo.test\"]\n", ""));
    let out = w.hilo(&["check", "--offline"]).await;
    assert!(
        all_output(&out).contains("receiving_hosts"),
        "{}",
        all_output(&out)
    );
}

// ---- Issue 21.6: backscatter ---------------------------------------------

#[tokio::test]
async fn a_first_unauthenticated_mail_is_not_quoted_back() {
    let d = desk("").await;
    let w = &d.w;
    let spam = "Compre ahora en http://spam.example/oferta";
    ingest(w, &customer_mail(&d.ana, &w.desk, "Oferta", spam)).await;
    let ack = of_kind(w, 1, "ack").await[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !ack.contains("spam.example") && !ack.contains("Resumen"),
        "{ack}"
    );
    // Someone who wrote before is quoted.
    ingest(
        w,
        &customer_mail(&d.ana, &w.desk, "Otra", "La impresora vuelve a fallar."),
    )
    .await;
    let ack = of_kind(w, 2, "ack").await[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ack.contains("> La impresora vuelve a fallar."), "{ack}");
    // `ack_quote = "never"`: nobody is.
    w.desk_settings("ack_quote = \"never\"");
    ingest(w, &customer_mail(&d.ana, &w.desk, "Y otra", "Tercera vez.")).await;
    let ack = of_kind(w, 3, "ack").await[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!ack.contains("Tercera vez"), "{ack}");
}

// ---- Issue 21.7: secrets given for the wrong key -------------------------

#[tokio::test]
async fn a_value_from_the_environment_is_never_echoed() {
    let w = World::new();
    let secret = format!("Pw-{}-{}", uid(), uid());
    for key in [
        "HILO__SMTP__PORT",
        "HILO__DESK__0__MAX_AUTOREPLIES",
        "HILO__DESK__0__AGENT_TRUST",
    ] {
        let out = w
            .hilo_with(&["check", "--offline"], None, &[(key, &secret)])
            .await;
        assert_eq!(out.status.code(), Some(78), "{key}");
        let all = all_output(&out);
        assert!(!all.contains(&secret), "{key}: {all}");
        assert!(all.contains('`'), "{key}: the key is named: {all}");
    }
}

// ---- Issue 30.5: a closed pipe -------------------------------------------

#[tokio::test]
async fn a_closed_pipe_ends_every_listing_quietly() {
    let d = desk("").await;
    let w = &d.w;
    for i in 0..30 {
        ingest(
            w,
            &customer_mail(
                &d.ana,
                &w.desk,
                &format!("Consulta {i}"),
                &"línea\n".repeat(200),
            ),
        )
        .await;
    }
    for args in [
        vec!["tickets", "list"],
        vec!["tickets", "list", "--json"],
        vec!["tickets", "show", "1"],
        vec!["outbox", "list"],
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hilo"));
        cmd.arg("--config").arg(&w.config).args(&args);
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Read one byte, then close the pipe, as `head -c1` does.
        use std::io::Read;
        let mut out = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        out.read_exact(&mut one).unwrap();
        drop(out);
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            status.success() || std::os::unix::process::ExitStatusExt::signal(&status) == Some(13),
            "{args:?}: {status:?} {err}"
        );
    }
}

// ---- Issue 21.1: nobody unheard ------------------------------------------

#[tokio::test]
async fn an_answer_without_proof_is_noticed_and_enviar_sends_it_once() {
    let d = desk("").await;
    let w = &d.w;
    ingest(
        w,
        &customer_mail(&d.ana, &w.desk, "Impresora", "No imprime."),
    )
    .await;
    // A fresh mail with the tag in the subject: no proof, as from a phone
    // that dropped the References.
    let fresh = mail(
        &d.agent,
        &w.desk,
        &format!("{} Impresora", d.tag(1)),
        &mid(),
        "",
        "Ya está arreglada: pruebe de nuevo.",
    );
    ingest(w, &fresh).await;
    assert!(of_kind(w, 1, "relay").await.is_empty());
    let notices = of_kind(w, 1, "notice").await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["to"], serde_json::json!([d.agent]));
    w.ok(&["outbox", "flush"]).await;
    let inbox = wait_mailbox(&d.agent, 2, WAIT).await;
    let notice = inbox
        .iter()
        .find(|m| text(m).contains("no se ha enviado al cliente"))
        .expect("the agent hears of it");
    let t = text(notice);
    assert!(
        t.contains("Ya está arreglada") && t.contains("#enviar"),
        "{t}"
    );
    assert!(t.contains("en su nombre"), "warns of a forger: {t}");

    // "#enviar" in answer to the notice: sent once, as written.
    let confirm = reply_to(&d.agent, &w.desk, notice, "#enviar");
    ingest(w, &confirm).await;
    assert_eq!(of_kind(w, 1, "relay").await.len(), 1);
    let again = reply_to(&d.agent, &w.desk, notice, "#enviar");
    ingest(w, &again).await;
    assert_eq!(of_kind(w, 1, "relay").await.len(), 1, "sent once");
    let reports = of_kind(w, 1, "report").await;
    let last = reports.last().unwrap()["text"].as_str().unwrap();
    assert!(last.contains("#enviar"), "the second is refused: {last}");
    w.ok(&["outbox", "flush"]).await;
    let got = wait_mailbox(&d.ana, 2, WAIT).await;
    assert!(
        text(&got[1]).contains("Ya está arreglada"),
        "{}",
        text(&got[1])
    );
    settled(&[w]).await;
    assert_eq!(mailbox(&d.ana).await.len(), 2, "exactly once");

    // A forger writing as the agent: the notice goes to the agent, never
    // to the forger, and "#enviar" from the forger proves nothing.
    let forged = mail(
        &d.agent,
        &w.desk,
        &format!("RE: {} x", d.tag(1)),
        &mid(),
        "",
        "Envíe su PIN.",
    );
    send("atacante@evil.test", &[&w.desk], &forged).await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let notices = of_kind(w, 1, "notice").await;
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[1]["to"], serde_json::json!([d.agent]));
    let id = notices[1]["message_id"].as_str().unwrap();
    let fake = mail(
        &d.agent,
        &w.desk,
        "Re: x",
        &mid(),
        &format!("In-Reply-To: <{}@soporte.example.com>\r\n", uid()),
        "#enviar",
    );
    ingest(w, &fake).await;
    assert_eq!(of_kind(w, 1, "relay").await.len(), 1, "{id}: nothing sent");
}

// ---- Issue 21.2: a group reply -------------------------------------------

#[tokio::test]
async fn a_group_reply_reaches_the_left_out_cc_once() {
    let d = desk("").await;
    let w = &d.w;
    let hugo = d.ana.clone();
    let irene = format!("irene-{}@cliente.test", uid());
    let first = mail(
        &hugo,
        &w.desk,
        "VPN",
        &mid(),
        &format!("Cc: {irene}\r\n"),
        "La VPN no conecta.",
    );
    w.deliver(&hugo, &first).await;
    assert!(participants(w, 1)
        .await
        .contains(&(irene.clone(), "cc".into())));
    let n = wait_mailbox(&d.agent, 1, WAIT).await;
    let nid = parsed(&n[0]).message_id.unwrap();
    // Reply All in the agent's client: To the desk, Cc Hugo.
    let group = format!(
        "From: Agente <{}>\r\nTo: {}\r\nCc: {hugo}\r\nSubject: RE: x\r\nMessage-ID: <{}@soporte.example.com>\r\n\
         In-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Reinicie el router y vuelva a probar.\r\n",
        d.agent,
        w.desk,
        uid()
    );
    let before = mailbox(&w.desk).await.len();
    send(&d.agent, &[&w.desk, &hugo], group.as_bytes()).await;
    wait_mailbox(&w.desk, before + 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let irenes = wait_mailbox(&irene, 1, WAIT).await;
    assert!(
        text(&irenes[0]).contains("Reinicie el router"),
        "{}",
        text(&irenes[0])
    );
    let reports = wait_mailbox(&d.agent, 2, WAIT).await;
    let r = text(&reports[1]);
    assert!(r.contains(&format!("quienes dejó fuera: {irene}")), "{r}");
    settled(&[w]).await;
    assert_eq!(mailbox(&irene).await.len(), 1, "Irene: once");
    let hugos = mailbox(&hugo).await;
    let answers = hugos
        .iter()
        .filter(|m| text(m).contains("Reinicie el router"))
        .count();
    assert_eq!(answers, 1, "Hugo: once, the agent's own");
}

// ---- Issue 21.3: threads across merge and split --------------------------

/// The messages of `mailbox` that hang under a mail its owner never had
/// (their parent: the last reference, else In-Reply-To), given the ids of
/// the mail the owner wrote.
fn orphans(mailbox: &[Vec<u8>], sent: &[String]) -> Vec<String> {
    let nodes: Vec<support::threads::Node> = mailbox
        .iter()
        .map(|m| support::threads::Node::of(m))
        .collect();
    let have: Vec<&str> = nodes
        .iter()
        .map(|n| n.id.as_str())
        .chain(sent.iter().map(String::as_str))
        .collect();
    nodes
        .iter()
        .filter(|n| n.refs.last().is_some_and(|p| !have.contains(&p.as_str())))
        .map(|n| format!("{} under {:?}", n.id, n.refs.last()))
        .collect()
}

#[tokio::test]
async fn merge_and_split_leave_no_orphan_in_any_mailbox() {
    let d = desk("").await;
    let w = &d.w;
    let hugo = d.ana.clone();
    let diego = format!("diego-{}@cliente.test", uid());
    let (h1, g1) = (mid(), mid());
    let (hugo1, diego1) = (
        mail(
            &hugo,
            &w.desk,
            "Portátil",
            &h1,
            "",
            "El portátil no arranca.",
        ),
        mail(
            &diego,
            &w.desk,
            "Portátil de Diego",
            &g1,
            "",
            "El mío tampoco.",
        ),
    );
    w.deliver(&hugo, &hugo1).await;
    w.deliver(&diego, &diego1).await;
    // The agent merges Diego's ticket into Hugo's, then answers.
    let n = wait_mailbox(&d.agent, 2, WAIT).await;
    let n2 = parsed(&n[1]).message_id.unwrap();
    let merge = agent_reply(&d.agent, &w.desk, &n2, &format!("#fusionar {}-1", w.tag));
    w.deliver(&d.agent, &merge).await;
    assert_eq!(w.ticket(2).await["merged_into"], 1);
    let n1 = parsed(&n[0]).message_id.unwrap();
    w.deliver(
        &d.agent,
        &agent_reply(
            &d.agent,
            &w.desk,
            &n1,
            "Es la fuente de alimentación: la cambiamos.",
        ),
    )
    .await;
    // Diego answers in his own thread; the agent answers him; then splits
    // his message off into a ticket of its own and answers there.
    let dg = wait_mailbox(&diego, 2, WAIT).await;
    let relay = dg
        .iter()
        .find(|m| text(m).contains("fuente de alimentación"))
        .expect("Diego got the answer")
        .clone();
    let diego_reply = reply_to(&diego, &w.desk, &relay, "¿Y el mío también?");
    let g2 = parsed(&diego_reply).message_id.unwrap();
    w.deliver(&diego, &diego_reply).await;
    let n = wait_mailbox(&d.agent, 4, WAIT).await;
    let last = n
        .iter()
        .rev()
        .find(|m| text(m).contains("¿Y el mío también?"))
        .expect("the notification of Diego's reply");
    let nid = parsed(last).message_id.unwrap();
    w.deliver(
        &d.agent,
        &agent_reply(
            &d.agent,
            &w.desk,
            &nid,
            "#separar\n\nLo vemos aparte: el suyo es otro modelo.",
        ),
    )
    .await;
    assert_eq!(w.tickets().await.len(), 3, "the split made ticket 3");

    // Read the mailboxes only once everything sent has arrived: a count
    // alone can return before the split's notice, whose answer then
    // looks orphaned.
    settled(&[w]).await;
    let hs = wait_mailbox(&hugo, 2, WAIT).await;
    let dg = wait_mailbox(&diego, 4, WAIT).await;
    assert!(
        dg.iter()
            .any(|m| text(m).contains("el suyo es otro modelo")),
        "Diego got the split answer"
    );
    assert_eq!(
        orphans(&hs, std::slice::from_ref(&h1)),
        Vec::<String>::new(),
        "Hugo"
    );
    assert_eq!(
        orphans(&dg, &[g1.clone(), g2.clone()]),
        Vec::<String>::new(),
        "Diego"
    );
    // And each sees one thread: every answer hangs under his own chain.
    for (who, mbox, sent) in [
        ("Hugo", &hs, vec![hugo1]),
        ("Diego", &dg, vec![diego1, diego_reply]),
    ] {
        let nodes: Vec<support::threads::Node> = mbox
            .iter()
            .chain(&sent)
            .map(|m| support::threads::Node::of(m))
            .collect();
        let th = support::threads::threads(&nodes);
        let shown: Vec<String> = mbox
            .iter()
            .map(|m| {
                format!(
                    "{:?} {:?} irt={:?} refs={:?} | {}",
                    header(m, "Subject"),
                    header(m, "Message-ID"),
                    header(m, "In-Reply-To"),
                    header(m, "References"),
                    text(m).chars().take(120).collect::<String>()
                )
            })
            .collect();
        assert_eq!(th.len(), 1, "{who}: {th:?}\n{shown:#?}");
    }
}

// ---- Issue 30.3: the internal stays internal -----------------------------

#[tokio::test]
async fn a_customer_in_cc_of_an_agents_reply_sees_nothing_internal() {
    let d = desk("").await;
    let w = &d.w;
    let hugo = d.ana.clone();
    w.deliver(
        &hugo,
        &customer_mail(&hugo, &w.desk, "Router", "El router no arranca."),
    )
    .await;
    let n = &wait_mailbox(&d.agent, 1, WAIT).await[0];
    // Our address shows the desk's name, never the customer's.
    let from = header(n, "From").unwrap();
    assert!(
        from.starts_with("Soporte <") && !from.contains("Cliente"),
        "{from}"
    );
    // The body a client quotes holds no instructions nor commands; they
    // come in a part of their own.
    let body = parsed(n).text;
    for internal in ["#nota", "#cerrar", "Órdenes", "Responda a este correo"] {
        assert!(!body.contains(internal), "{internal} in the body: {body}");
    }
    let raw = String::from_utf8_lossy(n).to_string();
    assert!(raw.contains("como-contestar.txt"), "the help part");
    // Reply All as a client builds it: To the desk as shown, Cc the
    // customer, the notification's body quoted.
    let quoted: String = body.lines().map(|l| format!("> {l}\r\n")).collect();
    let nid = parsed(n).message_id.unwrap();
    let reply = format!(
        "From: Agente <{}>\r\nTo: {from}\r\nCc: {hugo}\r\nSubject: RE: x\r\nMessage-ID: <{}@soporte.example.com>\r\n\
         In-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Lo miro ahora mismo.\r\n\r\n{quoted}",
        d.agent,
        uid()
    );
    send(&d.agent, &[&w.desk, &hugo], reply.as_bytes()).await;
    let got = wait_mailbox(&hugo, 2, WAIT).await;
    let copy = got
        .iter()
        .find(|m| text(m).contains("Lo miro"))
        .expect("Hugo's copy");
    let t = text(copy);
    for internal in ["#nota", "#cerrar", "Órdenes", "Responda a este correo"] {
        assert!(
            !t.contains(internal),
            "{internal} reached the customer: {t}"
        );
    }
    assert!(
        !header(copy, "To").unwrap().contains("Cliente"),
        "his name on our address"
    );
}

// ---- Issue 30.4: no internal ids outward ---------------------------------

#[tokio::test]
async fn relays_never_name_the_agents_own_message_ids() {
    let d = desk("").await;
    let w = &d.w;
    let first = customer_mail(&d.ana, &w.desk, "Correo", "No me llegan los correos.");
    ingest(w, &first).await;
    let mut agent_ids = Vec::new();
    for (i, text) in ["¿Desde cuándo?", "Revise la carpeta de spam."]
        .iter()
        .enumerate()
    {
        let nid = notification_to(w, 1, &d.agent).await;
        let reply = agent_reply(&d.agent, &w.desk, &nid, text);
        agent_ids.push(parsed(&reply).message_id.unwrap());
        ingest(w, &reply).await;
        if i == 0 {
            let relay = of_kind(w, 1, "relay").await;
            let rid = relay[0]["message_id"].as_str().unwrap().to_string();
            let answer = mail(
                &d.ana,
                &w.desk,
                "Re: x",
                &mid(),
                &format!("In-Reply-To: <{rid}>\r\nReferences: <{rid}>\r\n"),
                "Desde ayer.",
            );
            ingest(w, &answer).await;
        }
    }
    w.ok(&["outbox", "flush"]).await;
    let got = wait_mailbox(&d.ana, 3, WAIT).await;
    for m in &got {
        let ids = format!(
            "{} {}",
            header(m, "In-Reply-To").unwrap_or_default(),
            header(m, "References").unwrap_or_default()
        );
        for a in &agent_ids {
            assert!(!ids.contains(a.as_str()), "{a} in {ids}");
        }
    }
}
