//! Agents answer from their mail client, end to end through the real
//! Postfix and Dovecot; agents are real mailboxes.

mod support;

use support::*;

struct Desk {
    w: World,
    agent: String,
    customer: String,
    customer_mid: String,
}

/// A desk with one agent; a customer has written and the agent got the notification.
async fn desk_with_ticket() -> (Desk, Vec<u8>) {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!("agents = [\"{agent}\"]"));
    w.init().await;
    let customer = format!("cli-{}@cliente.test", uid());
    let customer_mid = format!("{}@cliente.test", uid());
    let raw = mail(
        &customer,
        &w.desk,
        "No funciona la impresora",
        &customer_mid,
        "",
        "La impresora no imprime.",
    );
    send(&customer, &[&w.desk], &raw).await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let n = wait_mailbox(&agent, 1, WAIT).await;
    assert_eq!(n.len(), 1, "the agent was notified");
    let notification = n[0].clone();
    (
        Desk {
            w,
            agent,
            customer,
            customer_mid,
        },
        notification,
    )
}

/// The agent's reply to a notification, as their mail client writes it.
fn agent_reply(d: &Desk, notification: &[u8], body: &str, to: &str, cc: &str) -> Vec<u8> {
    let n = parsed(notification);
    let nid = n.message_id.expect("notification id");
    let quoted: String = n.text.lines().map(|l| format!("> {l}\r\n")).collect();
    let cc = if cc.is_empty() {
        String::new()
    } else {
        format!("Cc: {cc}\r\n")
    };
    format!(
        "From: Agente Uno <{}>\r\nTo: {to}\r\n{cc}Subject: RE: {}\r\nMessage-ID: <{}@soporte.example.com>\r\nIn-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nEl lun, 1 dic 2026 a las 10:00, Soporte <{}> escribió:\r\n{quoted}",
        d.agent,
        n.subject,
        uid(),
        d.w.desk
    )
    .into_bytes()
}

#[tokio::test]
async fn an_agent_reply_reaches_the_customer_threaded_from_the_desk() {
    let (d, notification) = desk_with_ticket().await;
    let w = &d.w;
    let tag = format!("[{}-1]", w.tag);
    // The bare address: with a display name, mutt asks on every reply.
    assert_eq!(
        header(&notification, "Reply-To").as_deref(),
        Some(w.desk.as_str())
    );
    assert_eq!(
        header(&notification, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let n = parsed(&notification);
    assert!(
        n.subject.contains(&tag) && n.text.contains("La impresora no imprime."),
        "{}",
        n.text
    );

    let reply = agent_reply(
        &d,
        &notification,
        "Hola:\r\nReinicie la impresora, por favor.",
        &w.desk,
        "",
    );
    send(&d.agent, &[&w.desk], &reply).await;
    wait_mailbox(&w.desk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;

    let inbox = wait_mailbox(&d.customer, 2, WAIT).await;
    assert_eq!(inbox.len(), 2, "acknowledgement and the relayed answer");
    let relay = &inbox[1];
    let r = parsed(relay);
    assert_eq!(r.from.address, w.desk);
    assert_eq!(r.from.name.as_deref(), Some("Agente Uno (Soporte)"));
    assert!(r.subject.starts_with(&tag), "{}", r.subject);
    assert_eq!(
        r.in_reply_to,
        vec![d.customer_mid.clone()],
        "threaded under the customer's mail"
    );
    assert!(r.text.contains("Reinicie la impresora"), "{}", r.text);
    assert!(
        !r.text.contains("La impresora no imprime"),
        "the quoted notification is stripped: {}",
        r.text
    );
    assert!(
        header(relay, "Auto-Submitted").is_none(),
        "a person's answer"
    );
    assert_eq!(
        kinds(&w.ticket(1).await),
        ["customer", "ack", "notification", "agent", "relay"]
    );
    assert_eq!(w.ticket(1).await["status"], "pending");
}

#[tokio::test]
async fn a_note_reaches_no_one() {
    let (d, notification) = desk_with_ticket().await;
    let w = &d.w;
    let reply = agent_reply(
        &d,
        &notification,
        "#nota\r\nHe llamado al cliente; vuelve a probar mañana.",
        &w.desk,
        "",
    );
    send(&d.agent, &[&w.desk], &reply).await;
    wait_mailbox(&w.desk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let k = kinds(&w.ticket(1).await);
    assert_eq!(k[k.len() - 2..], ["note", "report"]);
    // The agent hears that the command was applied.
    let agent = wait_mailbox(&d.agent, 2, WAIT).await;
    assert_eq!(agent.len(), 2, "the notification and the confirmation");
    let confirm = parsed(&agent[1]).text;
    assert!(confirm.contains("nota interna"), "{confirm}");
    settled(&[w]).await;
    assert_eq!(
        mailbox(&d.customer).await.len(),
        1,
        "only the acknowledgement"
    );
    assert_eq!(
        w.ticket(1).await["status"],
        "new",
        "a note does not change the status"
    );
}

#[tokio::test]
async fn an_agent_writing_to_the_customer_directly_is_not_relayed_again() {
    let (d, notification) = desk_with_ticket().await;
    let w = &d.w;
    let direct = agent_reply(
        &d,
        &notification,
        "Le escribo directamente: ya está.",
        &d.customer,
        &w.desk,
    );
    send(&d.agent, &[&d.customer, &w.desk], &direct).await;
    wait_mailbox(&w.desk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;
    settled(&[w]).await;
    assert_eq!(
        mailbox(&d.customer).await.len(),
        2,
        "the acknowledgement and the agent's own mail: exactly one copy"
    );
    let k = kinds(&w.ticket(1).await);
    assert_eq!(
        k[k.len() - 2..],
        ["agent", "report"],
        "recorded, and the agent told who has it"
    );
    assert!(w.outbox().await.iter().all(|o| o["status"] != "pending"));
    let rows = w.outbox().await;
    assert_eq!(rows.len(), 3, "acknowledgement, notification, report");
    assert_eq!(rows[2]["recipients"], serde_json::json!([d.agent]));
    let report = wait_mailbox(&d.agent, 2, WAIT).await;
    let r = text(&report[1]);
    assert!(
        r.contains(&format!("usted la envió directamente a {}", d.customer)),
        "{r}"
    );
}

#[tokio::test]
async fn a_forged_agent_from_is_recorded_and_relayed_to_no_one() {
    let (d, _) = desk_with_ticket().await;
    let w = &d.w;
    let forged = mail(
        &d.agent,
        &w.desk,
        &format!("RE: [{}-1] No funciona la impresora", w.tag),
        &format!("{}@evil.test", uid()),
        "",
        "Envíenos su contraseña.",
    );
    send("atacante@evil.test", &[&w.desk], &forged).await;
    wait_mailbox(&w.desk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let t = w.ticket(1).await;
    let k = kinds(&t);
    assert_eq!(
        k[k.len() - 2..],
        ["unverified", "notice"],
        "recorded as unverified, never a threading key; the agent told"
    );
    let all = t["messages"].as_array().unwrap();
    let last = all[all.len() - 2].clone();
    let notice = all.last().unwrap();
    assert_eq!(notice["to"], serde_json::json!([d.agent]), "{notice}");
    assert!(
        last["note"].as_str().unwrap().contains("unverified"),
        "{last}"
    );
    settled(&[w]).await;
    assert_eq!(
        mailbox(&d.customer).await.len(),
        1,
        "nothing reaches the customer"
    );
}

#[tokio::test]
async fn cerrar_closes_and_the_customers_reply_reopens() {
    let (d, notification) = desk_with_ticket().await;
    let w = &d.w;
    let reply = agent_reply(
        &d,
        &notification,
        "#cerrar\r\n#prioridad alta\r\n#cerar\r\nSolucionado.",
        &w.desk,
        "",
    );
    send(&d.agent, &[&w.desk], &reply).await;
    wait_mailbox(&w.desk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let t = w.ticket(1).await;
    assert_eq!(t["status"], "closed");
    assert_eq!(t["priority"], "high");
    let relay = wait_mailbox(&d.customer, 2, WAIT).await.pop().unwrap();
    let r = parsed(&relay);
    assert!(
        r.text.contains("Solucionado.")
            && !r.text.contains("#cerrar")
            && !r.text.contains("#cerar"),
        "{}",
        r.text
    );
    // The unknown command is reported to the agent.
    let agent_box = wait_mailbox(&d.agent, 2, WAIT).await;
    assert_eq!(agent_box.len(), 2);
    assert!(parsed(&agent_box[1]).text.contains("#cerar"));

    let rid = r.message_id.unwrap();
    let again = mail(
        &d.customer,
        &w.desk,
        &format!("RE: {}", r.subject),
        &format!("{}@cliente.test", uid()),
        &format!("In-Reply-To: <{rid}>\r\n"),
        "Vuelve a fallar.",
    );
    send(&d.customer, &[&w.desk], &again).await;
    wait_mailbox(&w.desk, 3, WAIT).await;
    w.ok(&["run", "--once"]).await;
    assert_eq!(w.ticket(1).await["status"], "open", "reopened");
    assert_eq!(w.tickets().await.len(), 1);
    assert_eq!(
        wait_mailbox(&d.agent, 3, WAIT).await.len(),
        3,
        "the agents hear about it"
    );
}

#[tokio::test]
async fn a_reply_from_the_cli_follows_the_relay_path() {
    let (d, _) = desk_with_ticket().await;
    let w = &d.w;
    w.ok(&[
        "tickets",
        "reply",
        "1",
        "--body",
        "Respuesta desde la consola.",
        "--as",
        "Luisa <luisa@soporte.example.com>",
    ])
    .await;
    w.ok(&["tickets", "assign", "1", "luisa@soporte.example.com"])
        .await;
    w.ok(&["tickets", "note", "1", "--body", "nota interna"])
        .await;
    w.ok(&["outbox", "flush"]).await;
    let relay = wait_mailbox(&d.customer, 2, WAIT).await.pop().unwrap();
    let r = parsed(&relay);
    assert_eq!(r.from.name.as_deref(), Some("Luisa (Soporte)"));
    assert_eq!(r.in_reply_to, vec![d.customer_mid.clone()]);
    assert!(r.text.contains("Respuesta desde la consola."));
    let t = w.ticket(1).await;
    assert_eq!(
        (t["status"].as_str(), t["assignee"].as_str()),
        (Some("pending"), Some("luisa@soporte.example.com"))
    );
    settled(&[w]).await;
    assert_eq!(
        mailbox(&d.customer).await.len(),
        2,
        "the note reached no one"
    );
}

/// Two desks with their own mailbox, tag, language and templates: a mail to
/// both makes one ticket, on the desk listed first.
#[tokio::test]
async fn two_desks_one_ticket_and_their_own_templates() {
    let soporte = format!("soporte-{}@example.test", uid());
    let helpdesk = format!("helpdesk-{}@example.test", uid());
    let w = World::with_desks(&[
        DeskSpec {
            name: "soporte",
            address: soporte.clone(),
            tag: "SOP",
            language: "es",
            password: PASSWORD,
        },
        DeskSpec {
            name: "helpdesk",
            address: helpdesk.clone(),
            tag: "HLP",
            language: "en",
            password: PASSWORD,
        },
    ]);
    let tpl = w.dir.path().join("templates");
    std::fs::create_dir_all(tpl.join("helpdesk")).unwrap();
    std::fs::write(
        tpl.join("helpdesk/ack.en.txt"),
        "Subcontractor desk: we got {tag}, thanks {requester_name}.\n",
    )
    .unwrap();
    w.edit_config(|t| format!("[templates]\ndir = \"{}\"\n{t}", tpl.display()));
    w.init().await;

    let c = format!("both-{}@cliente.test", uid());
    let mid = format!("{}@cliente.test", uid());
    let raw = format!(
        "From: {c}\r\nTo: {soporte}, {helpdesk}\r\nSubject: Para los dos\r\nMessage-ID: <{mid}>\r\n\r\nhola a ambos\r\n"
    );
    send(&c, &[&soporte, &helpdesk], raw.as_bytes()).await;
    wait_mailbox(&soporte, 1, WAIT).await;
    wait_mailbox(&helpdesk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["desk"], "soporte");
    assert_eq!(tickets[0]["tag"], "[SOP-1]");
    let aside: Vec<serde_json::Value> =
        serde_json::from_str(&w.ok(&["aside", "list", "--json"]).await).unwrap();
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0]["desk"], "helpdesk");
    assert!(
        aside[0]["reason"]
            .as_str()
            .unwrap()
            .contains("desk soporte"),
        "{aside:?}"
    );
    let acks = wait_mailbox(&c, 1, WAIT).await;
    assert_eq!(acks.len(), 1, "one acknowledgement, from the first desk");
    assert!(parsed(&acks[0]).text.contains("Hemos recibido su mensaje"));

    // Mail only to helpdesk: its own tag, language and template.
    let c2 = format!("sub-{}@cliente.test", uid());
    send(
        &c2,
        &[&helpdesk],
        &mail(
            &c2,
            &helpdesk,
            "Documents",
            &format!("{}@cliente.test", uid()),
            "",
            "attached",
        ),
    )
    .await;
    wait_mailbox(&helpdesk, 2, WAIT).await;
    w.ok(&["run", "--once"]).await;
    let ack = parsed(&wait_mailbox(&c2, 1, WAIT).await[0]);
    assert!(
        ack.subject.starts_with("[HLP-2]"),
        "numbers are unique across desks: {}",
        ack.subject
    );
    assert!(
        ack.text
            .starts_with("Subcontractor desk: we got [HLP-2], thanks Cliente."),
        "{}",
        ack.text
    );
}
