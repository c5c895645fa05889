//! Server faults while `hilo run` works. These stop and start the shared
//! test servers, so they live in their own test binary (cargo runs test
//! binaries one after another) and take a lock against each other.

mod support;

use std::time::Duration;

use support::*;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Restarts Postfix even when the test fails halfway.
struct PostfixBack;
impl Drop for PostfixBack {
    fn drop(&mut self) {
        mailserver("start-postfix");
    }
}

fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("running").to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(st.success());
}

/// Postfix stopped while hilo runs: tickets are still created, the
/// acknowledgement waits in the outbox and goes out once Postfix is back.
#[tokio::test]
async fn acknowledgements_wait_for_postfix() {
    let _serial = SERIAL.lock().await;
    let w = World::new();
    w.init().await;
    let customer = format!("rosa-{}@cliente.test", uid());
    mailserver("stop-postfix");
    let back = PostfixBack;
    let mut daemon = w.spawn_daemon();

    // The customer's mail reached the mailbox before Postfix went down.
    append(
        &w.desk,
        &mail(
            &customer,
            &w.desk,
            "Sin servicio",
            &format!("{}@cliente.test", uid()),
            "",
            "No tengo línea.",
        ),
    )
    .await;
    let created = eventually(Duration::from_secs(15), || async {
        w.tickets().await.len() == 1
    })
    .await;
    assert!(
        created,
        "ticket created while Postfix is down\n{}",
        w.daemon_log()
    );
    let waiting = eventually(Duration::from_secs(15), || async {
        let o = w.outbox().await;
        // An unreachable relay pauses the queue: the mail is not charged.
        o.len() == 1
            && o[0]["status"] == "pending"
            && o[0]["attempts"] == 0
            && w.daemon_log()
                .contains("SMTP relay unreachable; sending paused")
    })
    .await;
    assert!(
        waiting,
        "acknowledgement waits: {:?}\n{}",
        w.outbox().await,
        w.daemon_log()
    );
    assert!(mailbox(&customer).await.is_empty());

    drop(back); // Postfix starts again.
    let inbox = wait_mailbox(&customer, 1, Duration::from_secs(30)).await;
    assert_eq!(
        inbox.len(),
        1,
        "acknowledgement delivered once Postfix is back\n{}",
        w.daemon_log()
    );
    assert_eq!(w.outbox().await[0]["status"], "sent");

    sigterm(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(10), daemon.wait())
        .await
        .expect("stops within 10 s")
        .expect("exit status");
    assert_eq!(status.code(), Some(0), "{}", w.daemon_log());
}

/// Dovecot stopped while hilo runs: it reconnects with backoff and picks up
/// the mail that arrived in between.
#[tokio::test]
async fn watcher_reconnects_after_dovecot_restart() {
    let _serial = SERIAL.lock().await;
    let w = World::new();
    w.init().await;
    let customer = format!("ines-{}@cliente.test", uid());
    let mut daemon = w.spawn_daemon();
    let connected = eventually(Duration::from_secs(10), || async {
        w.daemon_log().contains("connected")
    })
    .await;
    assert!(connected, "{}", w.daemon_log());

    mailserver("stop-dovecot");
    // Dovecot comes back once hilo has seen it gone.
    assert!(
        eventually(WAIT, || async {
            w.daemon_log().contains("mailbox unavailable")
        })
        .await,
        "{}",
        w.daemon_log()
    );
    mailserver("start-dovecot");
    append(
        &w.desk,
        &mail(
            &customer,
            &w.desk,
            "Tras el corte",
            &format!("{}@cliente.test", uid()),
            "",
            "hola",
        ),
    )
    .await;

    let created = eventually(Duration::from_secs(30), || async {
        w.tickets().await.len() == 1
    })
    .await;
    assert!(
        created,
        "mail picked up after the restart\n{}",
        w.daemon_log()
    );
    assert!(
        w.daemon_log().contains("mailbox unavailable"),
        "the outage was noticed and logged\n{}",
        w.daemon_log()
    );
    assert_eq!(
        wait_mailbox(&customer, 1, Duration::from_secs(20))
            .await
            .len(),
        1
    );

    sigterm(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(10), daemon.wait())
        .await
        .expect("stops")
        .expect("status");
    assert_eq!(status.code(), Some(0));
}
