//! Open-case awareness (issue 15, part 1), end to end through the real
//! Postfix and Dovecot: a customer who writes a new mail while a ticket
//! of theirs is open hears of it in the acknowledgement and can join them
//! by answering with its number; the agents see a possible duplicate with
//! its similarity; `auto_link_duplicates` joins a near-identical mail.

mod support;

use serde_json::Value;
use support::*;

impl Desk {
    async fn deliver(&self, raw: &[u8]) {
        self.w.deliver(&self.ana, raw).await;
    }

    async fn ana_writes(&self, subject: &str, body: &str) {
        self.deliver(&customer_mail(&self.ana, &self.w.desk, subject, body))
            .await;
    }
}

#[tokio::test]
async fn a_customer_hears_of_her_open_case_and_joins_it_by_answering() {
    // Her word merges only when her mail is authenticated: our receiving
    // server's verdict, as its milter would write it.
    let d = desk("authserv_ids = [\"mx.hilo.test\"]").await;
    let w = &d.w;
    d.ana_writes(
        "No imprime",
        "La impresora de la segunda planta no imprime.",
    )
    .await;
    d.ana_writes(
        "La impresora sigue sin imprimir",
        "Sigue sin imprimir la impresora de la segunda planta.",
    )
    .await;
    assert_eq!(w.tickets().await.len(), 2);

    // The second acknowledgement names the first ticket and says how to
    // continue it.
    let acks = wait_mailbox(&d.ana, 2, WAIT).await;
    let ack = text(&acks[1]);
    assert!(ack.contains("Tiene otras solicitudes abiertas"), "{ack}");
    assert!(
        ack.contains(&format!("{} «No imprime», abierta el ", d.tag(1))),
        "{ack}"
    );
    assert!(
        ack.contains(&format!("(por ejemplo, {}-1)", w.tag)),
        "{ack}"
    );
    let first_ack = text(&acks[0]);
    assert!(!first_ack.contains("otras solicitudes"), "{first_ack}");

    // The agents see a possible duplicate, with its similarity.
    let notes = wait_mailbox(&d.agent, 2, WAIT).await;
    let n = text(&notes[1]);
    assert!(n.contains("Posible duplicado de"), "{n}");
    let line = n
        .lines()
        .find(|l| l.contains(&d.tag(1)) && l.contains("No imprime"))
        .unwrap_or_else(|| panic!("{n}"));
    let score: f64 = line
        .rsplit("; ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!(score > 0.4, "{line}");

    // Ana answers the second acknowledgement: "it is about SOP-1".
    let reply = [
        b"Authentication-Results: mx.hilo.test; dkim=pass header.d=cliente.test\r\n".as_slice(),
        &reply_to(
            &d.ana,
            &w.desk,
            &acks[1],
            &format!("Perdón, es sobre {}-1.", w.tag),
        ),
    ]
    .concat();
    d.deliver(&reply).await;
    let two = w.ticket(2).await;
    assert_eq!(two["merged_into"], 1, "{two}");
    let one = w.ticket(1).await;
    assert_eq!(
        kinds(&one),
        [
            "customer",
            "ack",
            "notification",
            "customer",
            "ack",
            "notification",
            "customer",
            "receipt",
            "notification"
        ]
    );
    let inbox = wait_mailbox(&d.ana, 3, WAIT).await;
    let receipt = text(&inbox[2]);
    assert!(
        receipt.contains(&format!(
            "Hemos unido su solicitud {} a la solicitud {}",
            d.tag(2),
            d.tag(1)
        )),
        "{receipt}"
    );
    let notes = wait_mailbox(&d.agent, 3, WAIT).await;
    let n = text(&notes[2]);
    assert!(n.contains("El cliente contestó al acuse de"), "{n}");
}

#[tokio::test]
async fn auto_link_joins_a_near_identical_mail_and_says_so() {
    let d = desk("auto_link_duplicates = true").await;
    let w = &d.w;
    d.ana_writes(
        "No puedo entrar",
        "No puedo entrar en la plataforma con mi usuario.",
    )
    .await;
    d.ana_writes(
        "No puedo entrar en la plataforma",
        "No puedo entrar en la plataforma con mi usuario.",
    )
    .await;
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1, "joined: {tickets:?}");
    let one = w.ticket(1).await;
    let last_customer: &Value = one["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|m| m["kind"] == "customer")
        .unwrap();
    assert!(
        last_customer["note"]
            .as_str()
            .unwrap()
            .contains("similarity"),
        "{last_customer}"
    );
    let inbox = wait_mailbox(&d.ana, 2, WAIT).await;
    assert!(text(&inbox[1]).contains("Hemos añadido su mensaje"));
    let notes = wait_mailbox(&d.agent, 2, WAIT).await;
    assert!(
        text(&notes[1]).contains("por su parecido"),
        "{}",
        text(&notes[1])
    );
    // A different matter still opens its own ticket.
    d.ana_writes("Factura", "La factura 12 llegó duplicada.")
        .await;
    assert_eq!(w.tickets().await.len(), 2);
}
