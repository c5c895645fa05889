//! A desk with several addresses (issue 15, part 4), end to end: the test
//! Postfix delivers `ayuda-ID@` and `support-ID@` into the desk's mailbox
//! `soporte-ID@` as a company's aliases would, and plus-addressed mail
//! into the base mailbox (Dovecot's recipient delimiter).

mod support;

use support::*;

struct Desk {
    w: World,
    /// `ayuda-ID@example.test`, `support-ID@example.test`.
    ayuda: String,
    support: String,
    agent: String,
}

async fn desk() -> Desk {
    let w = World::new();
    let id = w
        .desk
        .strip_prefix("soporte-")
        .and_then(|s| s.strip_suffix("@example.test"))
        .expect("soporte-ID@example.test")
        .to_string();
    let ayuda = format!("ayuda-{id}@example.test");
    let support = format!("support-{id}@example.test");
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!(
        "addresses = [\"{ayuda}\", \"{support}\"]\nplus_addressing = true\nagents = [\"{agent}\"]"
    ));
    w.init().await;
    Desk {
        w,
        ayuda,
        support,
        agent,
    }
}

async fn deliver(w: &World, from: &str, to: &[&str], raw: &[u8], desk_count: usize) {
    send(from, to, raw).await;
    assert_eq!(
        wait_mailbox(&w.desk, desk_count, WAIT).await.len(),
        desk_count
    );
    w.ok(&["run", "--once"]).await;
}

#[tokio::test]
async fn every_mail_of_a_ticket_comes_from_the_alias_written_to() {
    let d = desk().await;
    let w = &d.w;
    let customer = format!("ana-{}@cliente.test", uid());
    let first = customer_mail(
        &customer,
        &d.ayuda,
        "Alta de usuario",
        "Necesito un usuario nuevo.",
    );
    deliver(w, &customer, &[&d.ayuda], &first, 1).await;
    let t = w.ticket(1).await;
    assert_eq!(t["address"], d.ayuda.as_str(), "{t}");

    let ack = wait_mailbox(&customer, 1, WAIT).await;
    assert_eq!(
        parsed(&ack[0]).from.address,
        d.ayuda,
        "acknowledged from the alias"
    );
    let n = wait_mailbox(&d.agent, 1, WAIT).await;
    assert_eq!(header(&n[0], "Reply-To").as_deref(), Some(d.ayuda.as_str()));
    assert_eq!(parsed(&n[0]).from.address, d.ayuda);

    // The agent answers through the alias; so does the relay.
    let nid = parsed(&n[0]).message_id.unwrap();
    let reply = format!(
        "From: {}\r\nTo: {}\r\nSubject: RE: x\r\nMessage-ID: <{}@soporte.example.com>\r\nIn-Reply-To: <{nid}>\r\n\r\nEl usuario ya está creado.\r\n",
        d.agent,
        d.ayuda,
        uid()
    );
    deliver(w, &d.agent, &[&d.ayuda], reply.as_bytes(), 2).await;
    let inbox = wait_mailbox(&customer, 2, WAIT).await;
    assert_eq!(inbox.len(), 2, "the answer arrived");
    assert_eq!(
        parsed(&inbox[1]).from.address,
        d.ayuda,
        "answered from the alias"
    );
    // And the envelope: bounces come back to the same address.
    assert_eq!(
        header(&inbox[1], "Return-Path").as_deref(),
        Some(format!("<{}>", d.ayuda).as_str())
    );
}

#[tokio::test]
async fn a_plus_address_is_the_desks_and_answers_from_itself() {
    let d = desk().await;
    let w = &d.w;
    let plus = w.desk.replace("@", "+facturas@");
    let customer = format!("luis-{}@cliente.test", uid());
    let raw = customer_mail(&customer, &plus, "Factura 12", "La factura 12 está mal.");
    deliver(w, &customer, &[&plus], &raw, 1).await;
    assert_eq!(w.ticket(1).await["address"], plus.as_str());
    let ack = wait_mailbox(&customer, 1, WAIT).await;
    assert_eq!(parsed(&ack[0]).from.address, plus);
}

#[tokio::test]
async fn two_aliases_in_one_mail_make_one_ticket_and_no_participant() {
    let d = desk().await;
    let w = &d.w;
    let customer = format!("eva-{}@cliente.test", uid());
    let raw = mail(
        &customer,
        &d.ayuda,
        "Dos direcciones",
        &format!("{}@cliente.test", uid()),
        &format!("Cc: {}, {}\r\n", d.support, w.desk.replace("@", "+x@")),
        "Escribo a las dos por si acaso.",
    );
    send(&customer, &[&d.ayuda, &d.support], &raw).await;
    // One copy or two, depending on the server: one ticket either way.
    wait_mailbox(&w.desk, 1, WAIT).await;
    postfix_drained().await; // both copies, if the server makes two
    w.ok(&["run", "--once"]).await;
    assert_eq!(w.tickets().await.len(), 1);
    let t = w.ticket(1).await;
    let people: Vec<&str> = t["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert_eq!(people, [customer.as_str()], "no alias of ours joins: {t}");
    settled(&[w]).await;
    assert_eq!(mailbox(&customer).await.len(), 1, "one acknowledgement");
}

#[tokio::test]
async fn mail_from_any_alias_or_plus_address_is_our_own() {
    let d = desk().await;
    let w = &d.w;
    let plus = w.desk.replace("@", "+loop@");
    for from in [&d.support, &plus] {
        let raw = customer_mail(from, &w.desk, "Eco", "¿Un bucle?");
        send(from, &[&w.desk], &raw).await;
    }
    wait_mailbox(&w.desk, 2, WAIT).await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("0 new tickets"), "{out}");
    assert!(w.tickets().await.is_empty());
    let aside = w.ok(&["aside", "list", "--json"]).await;
    assert_eq!(aside.matches("\"own\"").count(), 2, "{aside}");
}
