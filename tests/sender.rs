//! The sender treats a relay as a server (issue 10): an unreachable or
//! hanging relay pauses the queue as a whole, without charging each mail an
//! attempt, and a row whose lease ran out is never sent twice. The relay
//! faults come from a proxy in front of the real Postfix.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::proxy::{Fault, Proxy};
use support::*;

/// Queues `n` acknowledgements (one new ticket each) without sending them.
async fn queue_acks(w: &World, n: usize) -> Vec<String> {
    let mut customers = Vec::new();
    for i in 0..n {
        let c = format!("s{i}-{}@cliente.test", uid());
        let raw = customer_mail(&c, &w.desk, "Ayuda", "Hola.");
        let out = w
            .hilo_stdin(&["ingest", "--desk", "soporte"], Some(&raw))
            .await;
        assert!(out.status.success());
        customers.push(c);
    }
    customers
}

fn attempts(outbox: &[serde_json::Value]) -> Vec<i64> {
    outbox
        .iter()
        .map(|r| r["attempts"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_refused_relay_charges_no_mail_and_is_tried_once() {
    let w = World::new();
    let proxy = Proxy::start(SMTP_PORT, Fault::Refuse).await;
    w.smtp_via(proxy.port, "5s");
    let customers = queue_acks(&w, 12).await;

    let out = w.hilo(&["outbox", "flush"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(75), "{stdout}");
    assert!(stdout.contains("0 sent, 0 to retry, 0 failed"), "{stdout}");
    assert!(stdout.contains("relay unreachable"), "{stdout}");
    assert_eq!(proxy.connections(), 1, "one probe, not one per mail");
    let outbox = w.outbox().await;
    assert_eq!(attempts(&outbox), vec![0; 12], "{outbox:?}");
    assert!(outbox.iter().all(|r| r["status"] == "pending"));

    proxy.set(Fault::Pass);
    let out = w.ok(&["outbox", "flush"]).await;
    assert!(out.contains("12 sent"), "{out}");
    for c in &customers {
        assert_eq!(wait_mailbox(c, 1, WAIT).await.len(), 1, "{c}");
    }
    assert_eq!(attempts(&w.outbox().await), vec![1; 12]);
}

#[tokio::test]
async fn a_hanging_relay_costs_one_timeout_not_one_per_mail() {
    let w = World::new();
    let proxy = Proxy::start(SMTP_PORT, Fault::Hang).await;
    w.smtp_via(proxy.port, "1s");
    queue_acks(&w, 8).await;
    let out = w.hilo(&["outbox", "flush"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("relay unreachable"), "{stdout}");
    assert_eq!(proxy.connections(), 1, "{stdout}");
    assert_eq!(attempts(&w.outbox().await), vec![0; 8]);
}

/// Under `hilo run`, a relay down for a while: probes on the retry
/// schedule, no charge per mail, and every acknowledgement exactly once
/// after it comes back.
#[tokio::test]
async fn an_outage_under_the_daemon_sends_everything_once_after_it() {
    let w = World::new();
    let proxy = Proxy::start(SMTP_PORT, Fault::Refuse).await;
    w.smtp_via(proxy.port, "2s");
    w.init().await;
    let mut daemon = w.spawn_daemon();
    let customers: Vec<String> = (0..10)
        .map(|i| format!("o{i}-{}@cliente.test", uid()))
        .collect();
    for c in &customers {
        let raw = customer_mail(c, &w.desk, "Ayuda", "Hola.");
        append(&w.desk, &raw).await;
    }
    assert!(
        eventually(WAIT, || async { w.outbox().await.len() == 10 }).await,
        "tickets and acknowledgements stored while the relay is down"
    );
    // The pause is the event: once the sender says it paused, it has
    // stopped trying mails. A sender that tried each of the ten mails
    // would have opened ten sessions by then.
    assert!(
        eventually(WAIT, || async {
            w.daemon_log()
                .contains("SMTP relay unreachable; sending paused")
        })
        .await,
        "{}",
        w.daemon_log()
    );
    let probes = proxy.connections();
    assert!(probes >= 1, "probed");
    assert!(
        probes <= 3,
        "probes on the schedule, not per mail: {probes}"
    );
    assert_eq!(attempts(&w.outbox().await), vec![0; 10]);
    assert!(w
        .daemon_log()
        .contains("SMTP relay unreachable; sending paused"));

    proxy.set(Fault::Pass);
    for c in &customers {
        assert_eq!(wait_mailbox(c, 1, WAIT).await.len(), 1, "{c}");
    }
    assert!(
        eventually(WAIT, || async {
            w.outbox().await.iter().all(|r| r["status"] == "sent")
        })
        .await
    );
    assert_eq!(attempts(&w.outbox().await), vec![1; 10]);
    settled(&[&w]).await;
    for c in &customers {
        assert_eq!(mailbox(c).await.len(), 1, "exactly once: {c}");
    }
    assert!(w.daemon_log().contains("SMTP relay reachable again"));
    daemon.kill().await.ok();
}

/// A row claimed by one sender whose lease ran out and that another sender
/// then claimed: the first can neither lock it for DATA nor mark it.
#[tokio::test]
async fn an_expired_lease_is_not_sent_or_marked_by_its_old_owner() {
    let w = World::new();
    queue_acks(&w, 1).await;
    let config = hilo::config::Config::load(&w.config).unwrap();
    let store = hilo::store::Store::open(&config.store.path).unwrap();
    let a = store.claim_due(Duration::ZERO, 10, "host:1").unwrap();
    assert_eq!(a.len(), 1);
    let id = a[0].id;
    let b = store
        .claim_due(Duration::from_secs(300), 10, "host:2")
        .unwrap();
    assert_eq!(b.len(), 1, "the expired lease is taken over");
    assert!(!store
        .lock_for_data(id, "host:1", Duration::from_secs(300))
        .unwrap());
    assert!(!store.mark_sent(id, "host:1").unwrap());
    assert!(store
        .lock_for_data(id, "host:2", Duration::from_secs(300))
        .unwrap());
    assert!(store.mark_sent(id, "host:2").unwrap());
    assert!(
        !store
            .lock_for_data(id, "host:2", Duration::from_secs(300))
            .unwrap(),
        "sent"
    );
    let rows: HashMap<i64, String> = w
        .outbox()
        .await
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rows[&id], "sent");
}
