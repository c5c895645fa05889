//! What a customer, a colleague and an agent saw using a real mail client
//! (mutt) against hilo over the real Dovecot and Postfix (issue 15, part
//! 6): threads that hold in the client, answers to whoever wrote, mail
//! added from outside the thread confirmed, signatures kept, commands
//! confirmed, and the smaller points. Threads are read from the
//! mailboxes as a client builds them (`support::threads`).

mod support;

use support::threads::{threads, Node};
use support::*;

/// A desk with one agent, and a customer's first mail acknowledged and
/// notified.
struct Desk {
    w: World,
    agent: String,
    customer: String,
    /// The customer's first mail, as sent.
    first: Vec<u8>,
}

async fn desk_with_ticket(settings: &str) -> Desk {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!("agents = [\"{agent}\"]\n{settings}"));
    w.init().await;
    let customer = format!("ana-{}@cliente.test", uid());
    let first = mail(
        &customer,
        &w.desk,
        "No funciona la impresora",
        &format!("{}@cliente.test", uid()),
        "",
        "La impresora no imprime.",
    );
    send(&customer, &[&w.desk], &first).await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    w.ok(&["run", "--once"]).await;
    assert_eq!(
        wait_mailbox(&customer, 1, WAIT).await.len(),
        1,
        "acknowledged"
    );
    assert_eq!(wait_mailbox(&agent, 1, WAIT).await.len(), 1, "notified");
    Desk {
        w,
        agent,
        customer,
        first,
    }
}

/// An agent's reply to `notification`, as mutt writes it: quoted, with a
/// signature.
fn agent_reply(d: &Desk, notification: &[u8], body: &str) -> Vec<u8> {
    let n = parsed(notification);
    let nid = n.message_id.expect("notification id");
    let refs: Vec<String> = n
        .references
        .iter()
        .chain(std::iter::once(&nid))
        .map(|r| format!("<{r}>"))
        .collect();
    let quoted: String = n.text.lines().map(|l| format!("> {l}\r\n")).collect();
    format!(
        "From: Agente Uno <{}>\r\nTo: {}\r\nSubject: Re: {}\r\nMessage-ID: <{}@soporte.example.com>\r\n\
         In-Reply-To: <{nid}>\r\nReferences: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         On Mon, Dec 01, 2026 at 10:00:00AM +0100, Soporte wrote:\r\n{quoted}\r\n{body}\r\n",
        d.agent,
        d.w.desk,
        n.subject,
        uid(),
        refs.join(" ")
    )
    .into_bytes()
}

/// The text of a raw mail, with plain line feeds.
#[tokio::test]
async fn a_new_mail_naming_the_case_is_confirmed_and_the_thread_holds() {
    let d = desk_with_ticket("").await;
    let w = &d.w;
    let tag = format!("{}-1", w.tag);
    // A new mail, not a reply: it names the case in its text, and signs.
    let second = mail(
        &d.customer,
        &w.desk,
        "Otra cosa",
        &format!("{}@cliente.test", uid()),
        "",
        &format!(
            "Sobre mi caso {tag}: sigue sin imprimir.\r\n\r\n-- \r\nAna Pérez\r\nTel. 600 123 456\r\nCliente SA"
        ),
    );
    w.deliver(&d.customer, &second).await;
    let t = w.ticket(1).await;
    assert_eq!(
        kinds(&t),
        [
            "customer",
            "ack",
            "notification",
            "customer",
            "receipt",
            "notification"
        ]
    );

    // The customer hears it was added, in the ticket's thread.
    let inbox = wait_mailbox(&d.customer, 2, WAIT).await;
    assert_eq!(inbox.len(), 2, "the acknowledgement and the receipt");
    let receipt = parsed(&inbox[1]);
    assert!(receipt.subject.contains(&tag), "{}", receipt.subject);
    let rt = text(&inbox[1]);
    assert!(rt.contains("Hemos añadido su mensaje «Otra cosa»"), "{rt}");
    assert_eq!(
        header(&inbox[1], "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );

    // The agents see the new subject, the signature below the text, and
    // Spanish words for the state.
    let agent = wait_mailbox(&d.agent, 2, WAIT).await;
    let first_n = text(&agent[0]);
    assert!(
        first_n.contains("Estado: nueva. Prioridad: normal."),
        "{first_n}"
    );
    let n = text(&agent[1]);
    assert!(n.contains("Asunto de este mensaje: «Otra cosa»"), "{n}");
    let (new, sig) = n.split_once("\n-- \n").expect("a signature block");
    assert!(new.contains("sigue sin imprimir"), "{new}");
    assert!(
        !new.contains("600 123 456"),
        "the signature is below: {new}"
    );
    assert!(
        sig.starts_with("Ana Pérez\nTel. 600 123 456\nCliente SA"),
        "{sig}"
    );
    assert!(!n.lines().any(|l| l == "--"), "separators are \"-- \": {n}");

    // The agent answers; the answer carries the agent's signature.
    let reply = agent_reply(
        &d,
        &agent[1],
        "Hemos reiniciado el servidor de impresión.\r\n\r\n-- \r\nAgente Uno\r\nSoporte, nivel 1",
    );
    w.deliver(&d.agent, &reply).await;
    let inbox = wait_mailbox(&d.customer, 3, WAIT).await;
    assert_eq!(inbox.len(), 3, "acknowledgement, receipt, answer");
    let relay = parsed(&inbox[2]);
    let rt = text(&inbox[2]);
    assert!(rt.contains("Hemos reiniciado"), "{rt}");
    assert!(rt.contains("-- \nAgente Uno\nSoporte, nivel 1\n"), "{rt}");
    assert_eq!(
        rt.matches("\n-- \n").count(),
        1,
        "one signature block, the footer in it: {rt}"
    );

    // In the customer's client: their two mails and our three are one
    // thread, rooted at their first mail.
    let mine = [&d.first, &second];
    let nodes: Vec<Node> = mine
        .iter()
        .map(|r| Node::of(r))
        .chain(inbox.iter().map(|r| Node::of(r)))
        .collect();
    let t = threads(&nodes);
    assert_eq!(t.len(), 1, "one thread in the customer's client: {t:?}");
    let first_id = parsed(&d.first).message_id.unwrap();
    assert_eq!(
        relay.references.first(),
        Some(&first_id),
        "rooted at the first mail"
    );
    assert_eq!(
        relay.in_reply_to,
        vec![parsed(&second).message_id.unwrap()],
        "under the mail answered"
    );
    // In the agent's client: every mail about the ticket is one thread.
    let agent = mailbox(&d.agent).await;
    let nodes: Vec<Node> = agent.iter().map(|r| Node::of(r)).collect();
    assert_eq!(threads(&nodes).len(), 1, "one thread for the agent");
}

#[tokio::test]
async fn the_author_of_the_message_answered_gets_the_answer_and_joins() {
    let d = desk_with_ticket("").await;
    let w = &d.w;
    // Ana sends our acknowledgement on to Luis, who presses Reply.
    let ack = parsed(&mailbox(&d.customer).await[0]);
    let luis = format!("luis-{}@cliente.test", uid());
    let ack_id = ack.message_id.clone().unwrap();
    let first_id = parsed(&d.first).message_id.unwrap();
    let luis_mail = mail(
        &luis,
        &w.desk,
        &format!("Re: {}", ack.subject),
        &format!("{}@cliente.test", uid()),
        &format!("In-Reply-To: <{ack_id}>\r\nReferences: <{first_id}> <{ack_id}>\r\n"),
        "Soy compañero de Ana: la impresora es la HP de la segunda planta.",
    );
    w.deliver(&luis, &luis_mail).await;
    let agent = wait_mailbox(&d.agent, 2, WAIT).await;
    let n = text(&agent[1]);
    assert!(
        n.contains(&format!("Su respuesta llegará a: {luis}, {}", d.customer)),
        "{n}"
    );

    let reply = agent_reply(&d, &agent[1], "Gracias, Luis: ya la hemos localizado.");
    w.deliver(&d.agent, &reply).await;
    // Luis gets the answer addressed to him, Ana in Cc.
    let to_luis = wait_mailbox(&luis, 1, WAIT).await;
    assert_eq!(to_luis.len(), 1, "Luis hears back");
    let r = parsed(&to_luis[0]);
    assert_eq!(
        r.to.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(),
        [luis.as_str()]
    );
    assert_eq!(
        r.cc.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(),
        [d.customer.as_str()]
    );
    assert_eq!(r.in_reply_to, vec![parsed(&luis_mail).message_id.unwrap()]);
    let inbox = wait_mailbox(&d.customer, 2, WAIT).await;
    assert_eq!(inbox.len(), 2, "Ana sees the answer too");
    // Luis is now a visible participant, and says how he joined.
    let t = w.ticket(1).await;
    let p = t["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == luis.as_str())
        .unwrap_or_else(|| panic!("Luis is a participant: {t}"))
        .clone();
    assert_eq!(p["role"], "cc");
    assert!(p["joined"].as_str().unwrap().contains("answered"), "{p}");
    // No commands, no confirmation: the agent got only the notifications.
    settled(&[w]).await;
    assert_eq!(mailbox(&d.agent).await.len(), 2);
}

#[tokio::test]
async fn commands_are_confirmed_and_the_desk_can_sign_for_its_agents() {
    let d = desk_with_ticket(
        "relay_signature = \"desk\"\nsignature = \"Equipo de Soporte\\nTel. 900 000 000\"",
    )
    .await;
    let w = &d.w;
    let agent = mailbox(&d.agent).await;
    let reply = agent_reply(
        &d,
        &agent[0],
        "#cerrar\r\n#prioridad alta\r\n#cerar\r\n\r\nListo.\r\n\r\n-- \r\nAgente Uno, móvil 699 999 999",
    );
    w.deliver(&d.agent, &reply).await;
    let agent = wait_mailbox(&d.agent, 2, WAIT).await;
    assert_eq!(agent.len(), 2, "the notification and the confirmation");
    let c = text(&agent[1]);
    for want in [
        "estado: cerrada",
        "prioridad: alta",
        "respuesta enviada al cliente",
        "#cerar",
    ] {
        assert!(c.contains(want), "{want:?} in {c}");
    }
    let inbox = wait_mailbox(&d.customer, 2, WAIT).await;
    let relay = text(&inbox[1]);
    assert!(relay.contains("Listo."), "{relay}");
    assert!(
        relay.contains("-- \nEquipo de Soporte\nTel. 900 000 000\n"),
        "{relay}"
    );
    assert!(
        !relay.contains("699 999 999"),
        "the agent's own is replaced: {relay}"
    );
    assert_eq!(w.ticket(1).await["status"], "closed");
}

#[tokio::test]
async fn a_mutt_forward_keeps_no_wrapper_in_the_subject() {
    let w = World::new();
    w.init().await;
    let customer = format!("ana-{}@cliente.test", uid());
    let fwd = customer_mail(
        &customer,
        &w.desk,
        "[jefe@cliente.test: Factura duplicada]",
        "Os reenvío lo que me dice mi jefe.\r\n\r\n----- Forwarded message from jefe@cliente.test -----\r\nLa factura 12 llegó dos veces.",
    );
    w.deliver(&customer, &fwd).await;
    assert_eq!(w.ticket(1).await["subject"], "Factura duplicada");
    let ack = parsed(&wait_mailbox(&customer, 1, WAIT).await[0]);
    assert_eq!(ack.subject, format!("[{}-1] Factura duplicada", w.tag));
}

#[test]
fn the_client_threader_links_by_references_and_splits_strangers() {
    let n = |id: &str, refs: &[&str]| Node {
        id: id.into(),
        refs: refs.iter().map(|s| s.to_string()).collect(),
    };
    let t = threads(&[
        n("a", &[]),
        n("b", &["a"]),
        n("c", &["a", "x", "b"]),
        n("d", &[]),
    ]);
    assert_eq!(t, vec![vec!["a", "b", "c"], vec!["d"]]);
    // A message met before its parent is joined when the parent comes.
    let t = threads(&[n("m2", &[]), n("r", &["m1", "ack", "m2"]), n("m1", &[])]);
    assert_eq!(t.len(), 1, "{t:?}");
    // Without the root in its References, a new mail is a thread apart.
    let t = threads(&[
        n("m1", &[]),
        n("ack", &["m1"]),
        n("m2", &[]),
        n("r", &["m2"]),
    ]);
    assert_eq!(t.len(), 2, "{t:?}");
}
