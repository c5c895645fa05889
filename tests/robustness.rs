//! One hostile or broken mail never stops hilo (issue 10): each message's
//! processing and each outgoing mail's composition is contained. Every test
//! here reproduces something that stopped hilo before its fix.

mod support;

use std::time::Duration;

use support::proxy::{Fault, Proxy};
use support::*;

/// A From display name that decodes to a line feed, on a mail with an
/// attachment (composed at intake) and on one without (composed by the
/// sender): both are handled, and the mail around them too.
fn poison(from: &str, to: &str, with_attachment: bool) -> Vec<u8> {
    let head = format!(
        "From: =?utf-8?q?Ana=0ABcc?= <{from}>\r\nTo: {to}\r\n\
         Subject: =?utf-8?q?Hola=0D=0ABcc=3A_intruso=40evil=2Etest?=\r\n\
         Message-ID: <{}@cliente.test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\n",
        uid()
    );
    if with_attachment {
        format!(
            "{head}Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
             --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto la factura.\r\n\
             --b1\r\nContent-Type: application/pdf\r\n\
             Content-Disposition: attachment; filename*=utf-8''fac%0Atura.pdf\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
        )
        .into_bytes()
    } else {
        format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\nNo funciona.\r\n")
            .into_bytes()
    }
}

fn plain(from: &str, to: &str, body: &str) -> Vec<u8> {
    customer_mail(from, to, "Consulta", body)
}

#[tokio::test]
async fn a_line_feed_in_a_display_name_stops_nothing() {
    let w = World::new();
    w.init().await;
    let customers: Vec<String> = (0..4)
        .map(|i| format!("c{i}-{}@cliente.test", uid()))
        .collect();
    let raws = vec![
        plain(&customers[0], &w.desk, "Antes."),
        poison(&customers[1], &w.desk, true),
        poison(&customers[2], &w.desk, false),
        plain(&customers[3], &w.desk, "Después."),
    ];
    append_all(&w.desk, "INBOX", &raws, None).await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(
        out.contains("4 fetched, 4 new tickets"),
        "every mail opens its ticket: {out}"
    );
    for c in &customers {
        let inbox = wait_mailbox(c, 1, WAIT).await;
        assert_eq!(inbox.len(), 1, "{c} got its acknowledgement");
        assert!(header(&inbox[0], "Bcc").is_none());
    }
    let outbox = w.outbox().await;
    assert!(outbox.iter().all(|r| r["status"] == "sent"), "{outbox:?}");
    for r in &outbox {
        let rcpts = r["recipients"].as_array().unwrap();
        assert_eq!(rcpts.len(), 1, "no injected recipient: {r}");
    }
    // The second run finds nothing left: the checkpoint moved past them all.
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("0 fetched"), "{out}");
}

#[tokio::test]
async fn a_panic_while_processing_one_mail_quarantines_only_it() {
    let w = World::new();
    w.init().await;
    let customers: Vec<String> = (0..3)
        .map(|i| format!("p{i}-{}@cliente.test", uid()))
        .collect();
    let raws = vec![
        plain(&customers[0], &w.desk, "Primero."),
        plain(&customers[1], &w.desk, "Este lleva POISON-INTAKE."),
        plain(&customers[2], &w.desk, "Tercero."),
    ];
    append_all(&w.desk, "INBOX", &raws, None).await;
    let out = w
        .hilo_with(
            &["run", "--once"],
            None,
            &[("HILO_FAULTS", "intake:POISON-INTAKE")],
        )
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("3 fetched, 2 new tickets") && stdout.contains("1 quarantined"),
        "{stdout}"
    );
    let q = w.quarantine().await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(
        q[0]["reason"].as_str().unwrap().contains("panicked"),
        "{q:?}"
    );
    // Without the fault, the quarantined mail goes through on a retry.
    let id = q[0]["id"].to_string();
    w.ok(&["quarantine", "retry", &id]).await;
    assert_eq!(w.tickets().await.len(), 3);
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("0 fetched"), "checkpoint advanced: {out}");
}

#[tokio::test]
async fn a_panic_while_composing_fails_only_that_mail() {
    let w = World::new();
    // The acknowledgement quotes the text that trips the fault point.
    w.desk_settings("ack_quote = \"always\"");
    w.init().await;
    let customers: Vec<String> = (0..3)
        .map(|i| format!("k{i}-{}@cliente.test", uid()))
        .collect();
    // Queued first, so the poisoned row is claimed with the others.
    for (i, c) in customers.iter().enumerate() {
        let body = if i == 1 {
            "Texto POISON-COMPOSE."
        } else {
            "Hola."
        };
        let out = w
            .hilo_stdin(
                &["ingest", "--desk", "soporte"],
                Some(&plain(c, &w.desk, body)),
            )
            .await;
        assert!(out.status.success());
    }
    let out = w
        .hilo_with(
            &["outbox", "flush"],
            None,
            &[("HILO_FAULTS", "compose:POISON-COMPOSE")],
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outbox = w.outbox().await;
    let failed: Vec<_> = outbox.iter().filter(|r| r["status"] == "failed").collect();
    let sent = outbox.iter().filter(|r| r["status"] == "sent").count();
    assert_eq!((failed.len(), sent), (1, 2), "{outbox:?}");
    assert!(
        failed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("panicked"),
        "{failed:?}"
    );
    assert_eq!(wait_mailbox(&customers[0], 1, WAIT).await.len(), 1);
    assert_eq!(wait_mailbox(&customers[2], 1, WAIT).await.len(), 1);
}

/// `hilo ingest` reads no more than `max_message_bytes` (plus one) from its
/// pipe, and refuses a larger mail whole with EX_UNAVAILABLE (the mail
/// server bounces it) rather than storing a part.
#[tokio::test]
async fn ingest_honours_max_message_bytes() {
    let w = World::new();
    w.desk_settings("max_message_bytes = 2000");
    let c = format!("big-{}@cliente.test", uid());
    let big = plain(&c, &w.desk, &"x".repeat(5000));
    let out = w
        .hilo_stdin(&["ingest", "--desk", "soporte"], Some(&big))
        .await;
    assert_eq!(out.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_message_bytes"));
    assert!(w.tickets().await.is_empty());
    let small = plain(&c, &w.desk, "corto");
    let out = w
        .hilo_stdin(&["ingest", "--desk", "soporte"], Some(&small))
        .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(w.tickets().await.len(), 1);
}

/// A sender task that dies (here by a panic at a fault point) is noticed,
/// logged and restarted with a backoff while the watcher goes on; once the
/// fault is gone, the mail queued meanwhile goes out.
#[tokio::test]
async fn a_task_that_dies_is_restarted() {
    let w = World::new();
    w.init().await;
    let faults = w.dir.path().join("faults");
    std::fs::write(&faults, "sender").unwrap();
    let mut daemon = w.spawn_daemon_with(&[("HILO_FAULTS_FILE", faults.to_str().unwrap())]);
    let c = format!("r-{}@cliente.test", uid());
    append(&w.desk, &plain(&c, &w.desk, "Hola.")).await;
    assert!(
        eventually(WAIT, || async { w.tickets().await.len() == 1 }).await,
        "the watcher works while the sender is down: {}",
        w.daemon_log()
    );
    assert!(
        eventually(WAIT, || async {
            w.daemon_log()
                .matches("task panicked; restarting it")
                .count()
                >= 2
        })
        .await,
        "{}",
        w.daemon_log()
    );
    assert!(mailbox(&c).await.is_empty());
    std::fs::write(&faults, "").unwrap();
    assert_eq!(wait_mailbox(&c, 1, Duration::from_secs(60)).await.len(), 1);
    daemon.kill().await.ok();
}

/// systemd's view (through a real NOTIFY_SOCKET): READY, a STATUS line with
/// each desk's last successful fetch and the relay's state, and WATCHDOG
/// pets while the database answers and the sender goes round.
#[tokio::test]
async fn the_watchdog_and_status_reflect_real_health() {
    let w = World::new();
    w.init().await;
    let sock_path = w.dir.path().join("notify.sock");
    let sock = tokio::net::UnixDatagram::bind(&sock_path).unwrap();
    let mut daemon = w.spawn_daemon_with(&[
        ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
        ("WATCHDOG_USEC", "2000000"),
    ]);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut buf = vec![0u8; 4096];
    while !(seen.contains("WATCHDOG=1") && seen.contains("STATUS=soporte read")) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                seen.push('\n');
            }
            _ => break,
        }
    }
    daemon.kill().await.ok();
    assert!(seen.contains("READY=1"), "{seen}");
    assert!(seen.contains("WATCHDOG=1"), "{seen}");
    assert!(seen.contains("STATUS=soporte read"), "{seen}");
    assert!(seen.contains("relay up, sender active"), "{seen}");
}

/// A mail that makes mail-parser itself panic (found by fuzzing, kept in
/// fuzz/regressions/) is quarantined with the reason; nothing crashes.
#[tokio::test]
async fn a_mail_that_panics_the_parser_is_quarantined() {
    let w = World::new();
    let raw = read(&repo().join("fuzz/regressions/mail-parser-invalid-part-id.eml"));
    let out = w
        .hilo_stdin(&["ingest", "--desk", "soporte"], Some(&raw))
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = w.quarantine().await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(
        q[0]["reason"].as_str().unwrap().contains("parser panicked"),
        "{q:?}"
    );
}

/// SIGHUP with a `password_command` that hangs: the configuration is read
/// off the runtime thread, so mail is still fetched and acknowledged while
/// it hangs; after 30 s the command is killed and the reload refused.
#[tokio::test]
async fn a_hung_password_command_on_reload_stalls_nothing() {
    let w = World::new();
    w.init().await;
    let daemon = w.spawn_daemon();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("connected") }).await);
    w.edit_config(|t| {
        t.replace(
            &format!("password = \"{PASSWORD}\""),
            "password_command = \"sleep 600\"",
        )
    });
    let pid = daemon.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    let c = format!("hup-{}@cliente.test", uid());
    append(&w.desk, &plain(&c, &w.desk, "Durante la recarga.")).await;
    assert_eq!(
        wait_mailbox(&c, 1, WAIT).await.len(),
        1,
        "{}",
        w.daemon_log()
    );
    assert!(
        !w.daemon_log().contains("reload refused"),
        "still waiting for the command"
    );
    assert!(
        eventually(Duration::from_secs(60), || async {
            w.daemon_log().contains("reload refused")
        })
        .await,
        "{}",
        w.daemon_log()
    );
    assert!(
        w.daemon_log().contains("did not finish"),
        "{}",
        w.daemon_log()
    );
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", "^sleep 600$"])
        .output()
        .unwrap();
    assert!(
        sleeping.stdout.is_empty(),
        "the command's process group was killed"
    );
    drop(daemon);
}

/// An IMAP server that accepts TCP and never answers the TLS handshake:
/// `hilo check` gives up within `command_timeout` and says where.
#[tokio::test]
async fn a_silent_tls_server_fails_check_within_the_timeout() {
    let w = World::new();
    let proxy = Proxy::start(10993, Fault::Hang).await;
    w.edit_config(|t| {
        t.replacen(
            &format!("port = {IMAP_PORT}\nsecurity = \"starttls\""),
            &format!("port = {}\nsecurity = \"tls\"", proxy.port),
            1,
        )
        .replace("command_timeout = \"10s\"", "command_timeout = \"2s\"")
    });
    let out = tokio::time::timeout(Duration::from_secs(30), w.hilo(&["check"]))
        .await
        .expect("check returns");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(75), "{stdout}");
    assert!(stdout.contains("TLS handshake"), "{stdout}");
}

/// A server whose certificate no trusted CA signed: the admin reads which
/// step failed, where, and rustls's reason, in one line.
#[tokio::test]
async fn an_untrusted_certificate_is_named_with_its_cause() {
    let w = World::new();
    w.edit_config(|t| {
        let ca = format!("ca_file = \"{}\"\n", ca_file().display());
        t.replacen(
            &format!("port = {IMAP_PORT}\nsecurity = \"starttls\"\n{ca}"),
            "port = 10993\nsecurity = \"tls\"\n",
            1,
        )
    });
    let out = w.hilo(&["check"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(75), "{stdout}");
    assert!(
        stdout.contains("cannot open the TLS session to 127.0.0.1:10993: invalid peer certificate: UnknownIssuer"),
        "{stdout}"
    );
}
