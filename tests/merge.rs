//! Merge and split (issue 15, parts 2 and 3), end to end through the real
//! Postfix and Dovecot: by an agent's mail command and by the CLI, with
//! the customer's and the agent's mailboxes read and the tickets
//! inspected with `hilo tickets show --json`.

mod support;

use serde_json::Value;
use support::*;

impl Desk {
    /// A new mail from Ana (no threading headers).
    async fn ana_writes(&self, subject: &str, body: &str) -> Vec<u8> {
        let raw = customer_mail(&self.ana, &self.w.desk, subject, body);
        self.w.deliver(&self.ana, &raw).await;
        raw
    }

    /// Ana replies to `to` (a mail she got).
    async fn ana_replies(&self, to: &[u8], body: &str) {
        let raw = reply_to(&self.ana, &self.w.desk, to, body);
        self.w.deliver(&self.ana, &raw).await;
    }

    /// The agent answers `notification` with `body`.
    async fn agent_answers(&self, notification: &[u8], body: &str) {
        let n = parsed(notification);
        let nid = n.message_id.unwrap();
        let raw = format!(
            "From: Agente <{}>\r\nTo: {}\r\nSubject: RE: {}\r\nMessage-ID: <{}@soporte.example.com>\r\nIn-Reply-To: <{nid}>\r\nReferences: <{nid}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            self.agent,
            self.w.desk,
            n.subject,
            uid()
        );
        self.w.deliver(&self.agent, raw.as_bytes()).await;
    }

    /// The agent's notifications, waiting for at least `n`.
    async fn agent_box(&self, n: usize) -> Vec<Vec<u8>> {
        let b = wait_mailbox(&self.agent, n, WAIT).await;
        assert!(b.len() >= n, "the agent got {} mails, not {n}", b.len());
        b
    }

    async fn ana_box(&self, n: usize) -> Vec<Vec<u8>> {
        let b = wait_mailbox(&self.ana, n, WAIT).await;
        assert!(b.len() >= n, "Ana got {} mails, not {n}", b.len());
        b
    }
}

#[tokio::test]
async fn an_agent_merges_a_duplicate_by_mail_and_the_cli_undoes_it() {
    let d = desk("").await;
    let w = &d.w;
    d.ana_writes("No imprime", "La impresora no imprime.").await;
    d.ana_writes("Impresora", "¿Han visto mi correo de la impresora?")
        .await;
    assert_eq!(w.tickets().await.len(), 2);
    let acks = d.ana_box(2).await;
    let notes = d.agent_box(2).await;

    // "#fusionar [SOP-1]" on ticket 2's notification; nothing else written.
    d.agent_answers(&notes[1], &format!("#fusionar {}", d.tag(1)))
        .await;
    let two = w.ticket(2).await;
    assert_eq!(two["status"], "closed");
    assert_eq!(two["merged_into"], 1);
    assert!(kinds(&two).is_empty(), "{two}");
    let one = w.ticket(1).await;
    assert_eq!(one["merged_from"], serde_json::json!([2]));
    assert_eq!(
        kinds(&one),
        [
            "customer",
            "ack",
            "notification",
            "customer",
            "ack",
            "notification",
            "receipt",
            "agent",
            "report"
        ]
    );
    // The agent hears it was done; the customer hears it once, in the
    // thread she has, under the number that goes on.
    let confirm = text(&d.agent_box(3).await[2]);
    assert!(
        confirm.contains(&format!("{} fusionada en {}", d.tag(2), d.tag(1))),
        "{confirm}"
    );
    let inbox = d.ana_box(3).await;
    let notice = text(&inbox[2]);
    assert!(
        notice.contains(&format!(
            "Hemos unido su solicitud {} a la solicitud {}",
            d.tag(2),
            d.tag(1)
        )),
        "{notice}"
    );
    assert!(parsed(&inbox[2]).subject.starts_with(&d.tag(1)));
    settled(&[w]).await;
    assert_eq!(mailbox(&d.ana).await.len(), 3, "one notice");

    // Ana answers ticket 2's acknowledgement: it lands on ticket 1.
    d.ana_replies(&acks[1], "Sigue igual.").await;
    assert_eq!(kinds(&w.ticket(1).await).len(), 11);
    assert!(kinds(&w.ticket(2).await).is_empty());
    // A new mail naming ticket 2 by its tag lands on 1 too.
    d.ana_writes(&format!("Re: {} Impresora", d.tag(2)), "¿Novedades?")
        .await;
    assert_eq!(w.tickets().await.len(), 2, "no new ticket");
    assert_eq!(
        kinds(&w.ticket(1).await).len(),
        14,
        "customer, receipt, notification"
    );

    // Undo: what the merge moved goes back; what came since stays.
    let out = w.ok(&["tickets", "unmerge", "2"]).await;
    assert!(out.contains("3 messages"), "{out}");
    let two = w.ticket(2).await;
    assert_eq!(two["merged_into"], Value::Null);
    assert_eq!(two["status"], "new", "its status before the merge");
    assert_eq!(kinds(&two), ["customer", "ack", "notification"]);
    assert_eq!(
        kinds(&w.ticket(1).await).len(),
        11,
        "the merge notice stays with what came since"
    );
    assert_eq!(w.ticket(1).await["merged_from"], serde_json::json!([]));
    let events = w.ok(&["tickets", "show", "1"]).await;
    assert!(!events.contains("merged from"), "{events}");
}

#[tokio::test]
async fn a_merge_by_the_cli_brings_participants_and_refusals_are_clear() {
    let d = desk("").await;
    let w = &d.w;
    d.ana_writes("Alta", "Necesito un usuario.").await;
    let jefe = format!("jefe-{}@cliente.test", uid());
    let raw = mail(
        &jefe,
        &w.desk,
        "Alta de Ana",
        &format!("{}@cliente.test", uid()),
        &format!("Cc: {}\r\n", d.ana),
        "Por favor, den de alta a Ana.",
    );
    d.w.deliver(&jefe, &raw).await;
    let out = w
        .ok(&[
            "tickets",
            "merge",
            "2",
            "1",
            "--as",
            "Agente <x@soporte.example.com>",
        ])
        .await;
    assert!(out.contains("merged ticket 2 into 1"), "{out}");
    let one = w.ticket(1).await;
    let people: Vec<(String, String)> = one["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["address"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(people.contains(&(jefe.clone(), "cc".into())), "{people:?}");
    assert!(
        people.contains(&(d.ana.clone(), "requester".into())),
        "{people:?}"
    );

    // Refusals name the reason and change nothing.
    for (args, why) in [
        (vec!["tickets", "merge", "1", "1"], "into itself"),
        (vec!["tickets", "merge", "2", "1"], "already merged"),
        (vec!["tickets", "merge", "1", "2"], "merge into 1"),
        (vec!["tickets", "unmerge", "1"], "not merged"),
        (vec!["tickets", "merge", "1", "99"], "no ticket 99"),
    ] {
        let o = w.hilo(&args).await;
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(why), "{args:?}: {err}");
    }
    // A mail command naming a ticket that does not exist is reported back.
    let notes = d.agent_box(2).await;
    d.agent_answers(&notes[0], "#fusionar 99\nHola.").await;
    let confirm = text(&d.agent_box(3).await[2]);
    assert!(
        confirm.contains("no hecho: #fusionar 99: no ticket 99"),
        "{confirm}"
    );
    assert_eq!(w.ticket(1).await["merged_into"], Value::Null);
}

#[tokio::test]
async fn an_agent_splits_a_new_topic_off_and_each_part_keeps_its_replies() {
    let d = desk("").await;
    let w = &d.w;
    d.ana_writes("No imprime", "La impresora no imprime.").await;
    let acks = d.ana_box(1).await;
    // A new topic, written as a reply in the old thread.
    d.ana_replies(&acks[0], "Otra cosa: la factura 12 está duplicada.")
        .await;
    assert_eq!(w.tickets().await.len(), 1);
    let notes = d.agent_box(2).await;
    d.agent_answers(
        &notes[1],
        "#separar\nSobre la factura: ya la hemos anulado.",
    )
    .await;
    assert_eq!(w.tickets().await.len(), 2);
    let one = w.ticket(1).await;
    assert_eq!(kinds(&one), ["customer", "ack", "notification"]);
    let two = w.ticket(2).await;
    assert_eq!(two["linked_to"], 1);
    assert_eq!(two["requester"], d.ana.as_str());
    assert_eq!(
        two["subject"], "No imprime",
        "the message's subject, cleaned"
    );
    assert_eq!(
        kinds(&two),
        [
            "customer",
            "notification",
            "receipt",
            "agent",
            "relay",
            "report"
        ]
    );
    // Ana hears once why the new number, then the answer under it.
    let mut inbox = d.ana_box(3).await;
    // Queued in that order; delivered in any.
    inbox[1..].sort_by_key(|m| text(m).contains("ya la hemos anulado"));
    let notice = text(&inbox[1]);
    assert!(
        notice.contains(&format!("a una solicitud nueva, {}", d.tag(2))),
        "{notice}"
    );
    let relay = parsed(&inbox[2]);
    assert!(relay.subject.starts_with(&d.tag(2)), "{}", relay.subject);
    let confirm = text(&d.agent_box(3).await[2]);
    assert!(
        confirm.contains(&format!("nueva solicitud {}", d.tag(2))),
        "{confirm}"
    );

    // Ana's reply to that answer lands on the new ticket; her reply to
    // the old acknowledgement stays on the old one.
    d.ana_replies(&inbox[2], "Gracias, comprobado.").await;
    d.ana_replies(&acks[0], "La impresora sigue igual.").await;
    assert_eq!(kinds(&w.ticket(2).await).len(), 8);
    assert_eq!(kinds(&w.ticket(1).await).len(), 5);
}

#[tokio::test]
async fn the_cli_splits_at_a_message_and_refuses_the_first() {
    let d = desk("").await;
    let w = &d.w;
    d.ana_writes("No imprime", "La impresora no imprime.").await;
    let acks = d.ana_box(1).await;
    d.ana_replies(&acks[0], "Y además el escáner.").await;
    let one = w.ticket(1).await;
    let ids: Vec<i64> = one["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    let o = w
        .hilo(&["tickets", "split", "1", "--from", &ids[0].to_string()])
        .await;
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("first"),
        "{o:?}"
    );
    let out = w
        .ok(&["tickets", "split", "1", "--from", &ids[1].to_string()])
        .await;
    assert!(out.contains("into new ticket 2"), "{out}");
    assert_eq!(kinds(&w.ticket(2).await), ["customer", "notification"]);
    assert_eq!(
        kinds(&w.ticket(1).await),
        ["customer", "ack", "notification"]
    );
    // Nothing was sent for it.
    settled(&[w]).await;
    assert_eq!(mailbox(&d.ana).await.len(), 1);
}
