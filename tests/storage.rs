//! The database in trouble (issue 10): a full disk and a database locked by
//! another process. Nothing is acknowledged that was not stored, the error
//! says what is wrong, and hilo recovers by itself once the trouble ends.

mod support;

use std::time::Duration;

use support::*;

const WAIT: Duration = Duration::from_secs(30);

fn customer_mail(customer: &str, desk: &str, body: &str) -> Vec<u8> {
    support::customer_mail(customer, desk, "Ayuda", body)
}

/// A small tmpfs holds the database; unmounted when the test ends.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(
            st.success(),
            "this test mounts a small tmpfs for the database: run it as root"
        );
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The database's filesystem fills up while `hilo run` works: the batch is
/// not committed and nothing is acknowledged; the log says the disk is
/// full; once space returns, every mail becomes one ticket with one
/// acknowledgement.
#[tokio::test]
async fn a_full_disk_loses_nothing_and_recovers() {
    let w = World::new();
    let dir = w.dir.path().join("db");
    let _disk = SmallDisk::mount(&dir, "6m");
    let db = dir.join("hilo.db");
    w.edit_config(|t| t.replace(&w.db().display().to_string(), &db.display().to_string()));
    w.init().await;
    let mut daemon = w.spawn_daemon();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("ready") }).await);
    // Fill the disk to the brim under the running daemon.
    let filler = dir.join("filler");
    let _ = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", filler.display()))
        .stderr(std::process::Stdio::null())
        .status();
    let customers: Vec<String> = (0..5)
        .map(|i| format!("f{i}-{}@cliente.test", uid()))
        .collect();
    let body = "texto de relleno para ocupar espacio\n".repeat(2000);
    let raws: Vec<Vec<u8>> = customers
        .iter()
        .map(|c| customer_mail(c, &w.desk, &body))
        .collect();
    append_all(&w.desk, "INBOX", &raws, None).await;
    assert!(
        eventually(WAIT, || async {
            let log = w.daemon_log();
            log.contains("full") && log.contains("retry_in")
        })
        .await,
        "the full disk is reported: {}",
        w.daemon_log()
    );
    for c in &customers {
        assert!(
            mailbox(c).await.is_empty(),
            "nothing acknowledged before it is stored"
        );
    }
    std::fs::remove_file(&filler).unwrap();
    assert!(
        eventually(Duration::from_secs(90), || async {
            let o = w.outbox().await;
            o.len() == 5 && o.iter().all(|r| r["status"] == "sent")
        })
        .await,
        "recovered once space returned: {}",
        w.daemon_log()
    );
    daemon.kill().await.ok();
    assert_eq!(w.tickets().await.len(), 5);
    for c in &customers {
        assert_eq!(wait_mailbox(c, 1, WAIT).await.len(), 1, "{c}");
    }
}

/// Another process holds a write transaction for longer than hilo's busy
/// timeout: `hilo ingest` exits 75 (the mail server retries), the daemon's
/// batch waits and retries, and once the lock is gone each mail is stored
/// and acknowledged exactly once.
#[tokio::test]
async fn a_locked_database_is_waited_for() {
    let w = World::new();
    w.init().await;
    let mut daemon = w.spawn_daemon();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("ready") }).await);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let db = w.db();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();

    let piped = format!("p-{}@cliente.test", uid());
    let out = w
        .hilo_stdin(
            &["ingest", "--desk", "soporte"],
            Some(&customer_mail(&piped, &w.desk, "por tubería")),
        )
        .await;
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let c = format!("l-{}@cliente.test", uid());
    append(&w.desk, &customer_mail(&c, &w.desk, "hola")).await;
    assert!(
        eventually(WAIT, || async { w.daemon_log().contains("locked") }).await,
        "the lock is reported: {}",
        w.daemon_log()
    );
    assert!(mailbox(&c).await.is_empty());
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(wait_mailbox(&c, 1, Duration::from_secs(90)).await.len(), 1);
    daemon.kill().await.ok();
    let tickets = w.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    settled(&[&w]).await;
    assert_eq!(mailbox(&c).await.len(), 1, "acknowledged once");
}
