//! The IMAP intake through the `hilo` binary and the real Dovecot: IDLE,
//! crashes, UIDVALIDITY, flags set by other clients, backlog, several desks,
//! after-actions, size limits, import.

mod support;

use std::time::{Duration, Instant};

use support::*;

fn customer_mail(customer: &str, desk: &str, subject: &str) -> Vec<u8> {
    mail(
        customer,
        desk,
        subject,
        &format!("{}@cliente.test", uid()),
        "",
        "Hola, necesito ayuda.",
    )
}

async fn stop(mut daemon: tokio::process::Child, w: &World) {
    let pid = daemon.id().expect("running").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let st = tokio::time::timeout(Duration::from_secs(10), daemon.wait())
        .await
        .expect("stops in time")
        .unwrap();
    assert_eq!(st.code(), Some(0), "{}", w.daemon_log());
}

/// With IDLE, a mail sent through Postfix is acknowledged long before the
/// poll interval (set to 10 minutes here) could explain it.
#[tokio::test]
async fn idle_picks_up_new_mail_at_once() {
    let w = World::new();
    w.init().await;
    w.intake_setting("poll_interval", "\"10m\"");
    let daemon = w.spawn_daemon_with(&[("RUST_LOG", "info,hilo::watcher=debug")]);
    assert!(
        eventually(WAIT, || async {
            w.daemon_log().contains("waiting in IDLE")
        })
        .await,
        "{}",
        w.daemon_log()
    );
    let customer = format!("rapido-{}@cliente.test", uid());
    let t0 = Instant::now();
    send(
        &customer,
        &[&w.desk],
        &customer_mail(&customer, &w.desk, "urgente"),
    )
    .await;
    let got = wait_mailbox(&customer, 1, Duration::from_secs(60)).await;
    let latency = t0.elapsed();
    assert_eq!(got.len(), 1, "acknowledged\n{}", w.daemon_log());
    println!("send-to-acknowledgement latency with IDLE: {latency:?}");
    assert!(
        latency < Duration::from_secs(60),
        "only IDLE can explain an answer before the 10 min poll"
    );
    stop(daemon, &w).await;
}

/// 1,000 mails in the mailbox; hilo is killed with SIGKILL at random
/// moments 10 times while it works, then left to finish. Exactly 1,000
/// tickets and every customer acknowledged; at most one duplicate
/// acknowledgement per kill (the mail in flight).
#[tokio::test]
async fn kill_9_never_loses_or_duplicates_tickets() {
    use rand::Rng;
    let w = World::new();
    w.init().await;
    w.intake_setting("batch_size", "20");
    let n = 1000;
    let customers: Vec<String> = (0..n)
        .map(|i| format!("c{i}-{}@cliente.test", uid()))
        .collect();
    let raws: Vec<Vec<u8>> = customers
        .iter()
        .map(|c| customer_mail(c, &w.desk, "pedido"))
        .collect();
    append_all(&w.desk, "INBOX", &raws, None).await;

    let mut kills = 0;
    let mut daemon = w.spawn_daemon();
    while kills < 10 {
        // Real time on purpose: the kills land at random points of the
        // daemon's work, which no event of ours marks.
        let ms = rand::thread_rng().gen_range(150..900);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        daemon.start_kill().expect("SIGKILL");
        daemon.wait().await.expect("reaped");
        kills += 1;
        daemon = w.spawn_daemon();
    }
    let done = eventually(Duration::from_secs(120), || async {
        let o = w.outbox().await;
        o.len() == n && o.iter().all(|r| r["status"] == "sent")
    })
    .await;
    assert!(done, "all acknowledgements sent\n{}", w.daemon_log());
    stop(daemon, &w).await;
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), n, "exactly one ticket per mail");

    // Every customer got its acknowledgement; count the duplicates, once
    // everything sent is delivered.
    postfix_drained().await;
    let mut counts = Vec::with_capacity(n);
    for chunk in customers.chunks(25) {
        let cs = futures::future::join_all(chunk.iter().map(|c| count(c, "INBOX"))).await;
        counts.extend(cs);
    }
    let missing = counts.iter().filter(|k| **k == 0).count();
    let duplicated = counts.iter().filter(|k| **k > 1).count();
    println!("kills: {kills}, tickets: {}, customers without ack: {missing}, with a duplicate ack: {duplicated}", tickets.len());
    assert_eq!(missing, 0);
    assert!(
        duplicated <= kills,
        "a duplicate only for mail in flight at a kill: {duplicated} > {kills}"
    );
}

/// The folder is deleted and re-created (new UIDVALIDITY) with the same mail
/// in it: nothing is duplicated, the change is logged, the rest is imported
/// without acknowledgements.
#[tokio::test]
async fn uidvalidity_reset_duplicates_nothing() {
    let w = World::new();
    create_folder(&w.desk, "Soporte").await;
    w.edit_config(|t| t.replace("username = ", "folder = \"Soporte\"\nusername = "));
    w.init().await;
    let a = customer_mail(&format!("a-{}@cliente.test", uid()), &w.desk, "uno");
    let b = customer_mail(&format!("b-{}@cliente.test", uid()), &w.desk, "dos");
    append_all(&w.desk, "Soporte", &[a.clone(), b.clone()], None).await;
    w.ok(&["run", "--once"]).await;
    assert_eq!(w.tickets().await.len(), 2);

    delete_folder(&w.desk, "Soporte").await;
    // Real time on purpose: Dovecot's UIDVALIDITY is the folder's creation
    // time in seconds, and this test needs a new one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    create_folder(&w.desk, "Soporte").await;
    let c = customer_mail(&format!("c-{}@cliente.test", uid()), &w.desk, "tres");
    append_all(&w.desk, "Soporte", &[a, b, c], None).await;
    let out = w.hilo(&["run", "--once"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("UIDVALIDITY changed"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "3 fetched, 1 new tickets, 0 added to tickets, 0 set aside, 2 already stored"
        ),
        "{stdout}"
    );
    assert_eq!(w.tickets().await.len(), 3);
    // c was in the folder at the reset: imported as backlog, without an
    // acknowledgement (hilo cannot tell it from old mail).
    assert_eq!(
        w.outbox().await.len(),
        2,
        "no repeats, and nothing acknowledged from the re-read folder"
    );
}

/// Another client marked the mail \Seen before hilo looked: still processed.
#[tokio::test]
async fn mail_already_seen_is_not_missed() {
    let w = World::new();
    w.init().await;
    let raws = vec![customer_mail(
        &format!("s-{}@cliente.test", uid()),
        &w.desk,
        "leído",
    )];
    append_all(&w.desk, "INBOX", &raws, Some("(\\Seen)")).await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("1 fetched, 1 new tickets"), "{out}");
}

/// start_from = "now" leaves old mail alone; "all" imports it as tickets
/// without acknowledgements. Mail after the first start is acknowledged.
#[tokio::test]
async fn backlog_start_from_now_and_all() {
    for (mode, old_tickets) in [("now", 0), ("all", 3)] {
        let w = World::new();
        w.desk_settings(&format!("start_from = \"{mode}\""));
        let old: Vec<Vec<u8>> = (0..3)
            .map(|i| customer_mail(&format!("old{i}-{}@cliente.test", uid()), &w.desk, "viejo"))
            .collect();
        append_all(&w.desk, "INBOX", &old, None).await;
        w.ok(&["run", "--once"]).await;
        assert_eq!(w.tickets().await.len(), old_tickets, "{mode}");
        assert!(
            w.outbox().await.is_empty(),
            "{mode}: no acknowledgement for old mail"
        );

        let new = format!("new-{}@cliente.test", uid());
        append_all(
            &w.desk,
            "INBOX",
            &[customer_mail(&new, &w.desk, "nuevo")],
            None,
        )
        .await;
        w.ok(&["run", "--once"]).await;
        assert_eq!(w.tickets().await.len(), old_tickets + 1, "{mode}");
        let o = w.outbox().await;
        assert_eq!(o.len(), 1, "{mode}");
        assert_eq!(o[0]["recipients"][0], new.as_str());
    }
}

/// Two desks at once, one with a wrong password: the other works.
#[tokio::test]
async fn one_desk_down_does_not_stop_another() {
    let good = format!("soporte-{}@example.test", uid());
    let bad = format!("helpdesk-{}@example.test", uid());
    let w = World::with_desks(&[
        DeskSpec {
            name: "soporte",
            address: good.clone(),
            tag: "SOP",
            language: "es",
            password: PASSWORD,
        },
        DeskSpec {
            name: "helpdesk",
            address: bad.clone(),
            tag: "HLP",
            language: "en",
            password: "wrong",
        },
    ]);
    let out = w.hilo(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(75), "a desk failed");
    let daemon = w.spawn_daemon();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("connected") }).await);
    let customer = format!("d-{}@cliente.test", uid());
    send(
        &customer,
        &[&good],
        &customer_mail(&customer, &good, "hola"),
    )
    .await;
    assert_eq!(
        wait_mailbox(&customer, 1, WAIT).await.len(),
        1,
        "{}",
        w.daemon_log()
    );
    let log = w.daemon_log();
    assert!(log.contains("rejected the login"), "{log}");
    assert!(
        !log.contains("password = \"wrong\"") && !log.contains(" wrong"),
        "{log}"
    );
    stop(daemon, &w).await;
}

/// after = "move": processed mail goes to move_to, unparseable mail to the
/// quarantine folder; the watched folder ends empty.
#[tokio::test]
async fn processed_mail_is_moved_after_commit() {
    let w = World::new();
    w.desk_settings("after = \"move\"\nmove_to = \"Procesado\"\nquarantine_to = \"Cuarentena\"");
    w.init().await;
    let good = customer_mail(&format!("m-{}@cliente.test", uid()), &w.desk, "mover");
    append_all(
        &w.desk,
        "INBOX",
        &[good, b"no headers at all\r\n".to_vec()],
        None,
    )
    .await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("2 fetched, 1 new tickets"), "{out}");
    assert_eq!(count(&w.desk, "INBOX").await, 0);
    assert_eq!(count(&w.desk, "Procesado").await, 1);
    assert_eq!(count(&w.desk, "Cuarentena").await, 1);
    // The quarantined one can be retried; it is still garbage.
    let out = w.hilo(&["quarantine", "retry", "1"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("quarantined as 1"));
}

/// A message over max_message_bytes is recorded with its headers and a
/// note, never dropped.
#[tokio::test]
async fn oversized_mail_is_recorded_with_headers_only() {
    let w = World::new();
    w.desk_settings("max_message_bytes = 4096");
    w.init().await;
    let customer = format!("big-{}@cliente.test", uid());
    let body = "x".repeat(20_000);
    let raw = mail(
        &customer,
        &w.desk,
        "adjunto enorme",
        &format!("{}@cliente.test", uid()),
        "",
        &body,
    );
    append_all(&w.desk, "INBOX", &[raw], None).await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("1 fetched, 1 new tickets"), "{out}");
    let t = w.ticket(1).await;
    assert_eq!(t["subject"], "adjunto enorme");
    let text = t["messages"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("max_message_bytes (4096)") && !text.contains("xxxx"),
        "{text}"
    );
}

/// `hilo import` brings in what start_from = "now" left alone, without
/// acknowledgements, and is safe to run again; an mbox can be imported with --since.
#[tokio::test]
async fn import_folder_and_mbox() {
    let w = World::new();
    let old: Vec<Vec<u8>> = (0..3)
        .map(|i| customer_mail(&format!("i{i}-{}@cliente.test", uid()), &w.desk, "antiguo"))
        .collect();
    append_all(&w.desk, "INBOX", &old, None).await;
    w.init().await;
    assert!(w.tickets().await.is_empty());
    let out = w.ok(&["import", "--desk", "soporte"]).await;
    assert!(out.contains("3 fetched, 3 new tickets"), "{out}");
    let out = w.ok(&["import", "--desk", "soporte"]).await;
    assert!(out.contains("3 already stored"), "{out}");
    assert!(
        w.outbox().await.is_empty(),
        "no acknowledgements for imported mail"
    );

    let mbox = w.dir.path().join("old.mbox");
    let m1 = "From x Mon Jan  5 10:00:00 2026\nFrom: viejo@cliente.test\nSubject: de 2020\nDate: Mon, 6 Jan 2020 10:00:00 +0000\nMessage-ID: <mb1@c.test>\n\n>From the archive\n\n";
    let m2 = "From x Mon Jan  5 10:00:00 2026\nFrom: nuevo@cliente.test\nSubject: de 2026\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nMessage-ID: <mb2@c.test>\n\nhola\n";
    std::fs::write(&mbox, format!("{m1}{m2}")).unwrap();
    let out = w
        .ok(&[
            "import",
            "--desk",
            "soporte",
            "--mbox",
            mbox.to_str().unwrap(),
            "--since",
            "2025-01-01",
        ])
        .await;
    assert!(out.contains("1 fetched, 1 new tickets"), "{out}");
    assert_eq!(w.tickets().await.len(), 4);
    assert!(w.outbox().await.is_empty());
}

/// SIGTERM while a backlog is being processed: hilo stops at a batch
/// boundary within seconds, exit 0, with what it did committed; a restart
/// finishes the rest without duplicates.
#[tokio::test]
async fn sigterm_mid_backlog_stops_cleanly() {
    let w = World::new();
    w.init().await;
    w.intake_setting("batch_size", "10");
    let n = 400;
    let raws: Vec<Vec<u8>> = (0..n)
        .map(|i| customer_mail(&format!("t{i}-{}@cliente.test", uid()), &w.desk, "cola"))
        .collect();
    append_all(&w.desk, "INBOX", &raws, None).await;
    let daemon = w.spawn_daemon();
    assert!(
        eventually(WAIT, || async { !w.tickets().await.is_empty() }).await,
        "{}",
        w.daemon_log()
    );
    let t = Instant::now();
    stop(daemon, &w).await; // asserts exit 0 within 10 s
    println!("stopped {:?} after SIGTERM", t.elapsed());
    let done = w.tickets().await.len();
    assert!(done > 0 && done <= n);
    let out = w.ok(&["run", "--once", "--no-send"]).await;
    assert_eq!(w.tickets().await.len(), n, "{out}");
    assert!(
        out.contains(&format!("{} fetched, {} new tickets", n - done, n - done)),
        "resumes where it stopped: {out}"
    );
}

/// Large mail is committed alone (no second batch fetched meanwhile), in
/// order with small mail around it, and its attachment is kept byte for byte.
#[tokio::test]
async fn large_mail_is_handled_alone_and_whole() {
    use base64::Engine;
    let w = World::new();
    // Mail over half of batch_bytes counts as large.
    w.intake_setting("batch_bytes", "40000");
    w.init().await;
    let data: Vec<u8> = (0..60_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let customer = format!("grande-{}@cliente.test", uid());
    let big = format!(
        "From: {customer}\r\nTo: {}\r\nSubject: factura adjunta\r\nMessage-ID: <{}@cliente.test>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto la factura.\r\n\
--b\r\nContent-Type: application/pdf; name=\"factura.pdf\"\r\nContent-Disposition: attachment; filename=\"factura.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        w.desk,
        uid(),
        lines.join("\r\n")
    );
    let mut raws: Vec<Vec<u8>> = (0..2)
        .map(|i| customer_mail(&format!("a{i}-{}@cliente.test", uid()), &w.desk, "antes"))
        .collect();
    raws.push(big.into_bytes());
    raws.extend(
        (0..2).map(|i| customer_mail(&format!("d{i}-{}@cliente.test", uid()), &w.desk, "después")),
    );
    append_all(&w.desk, "INBOX", &raws, None).await;
    let out = w.ok(&["run", "--once", "--no-send"]).await;
    assert!(out.contains("5 fetched, 5 new tickets"), "{out}");
    let subjects: Vec<String> = w
        .tickets()
        .await
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        subjects,
        ["antes", "antes", "factura adjunta", "después", "después"],
        "in mailbox order"
    );
    let db = rusqlite::Connection::open(w.db()).unwrap();
    let (name, kept): (String, Vec<u8>) = db
        .query_row("SELECT filename, content FROM attachments", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(name, "factura.pdf");
    assert!(kept == data, "attachment bytes kept whole");
}
