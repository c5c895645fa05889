//! hilo as a daemon on a server: `check`, `backup`, JSON logs, metrics,
//! systemd readiness and watchdog, the unit file.

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use support::*;

#[tokio::test]
async fn check_reports_what_works_and_stops_at_the_first_problem() {
    let w = World::new();
    let out = w.ok(&["check"]).await;
    assert!(
        out.contains("templates")
            && out.contains("imap soporte 127.0.0.1:10143")
            && out.contains("IDLE MOVE UIDPLUS"),
        "{out}"
    );
    assert!(
        out.contains("smtp 127.0.0.1:10025") && out.contains("ok (EHLO"),
        "{out}"
    );

    // Offline: no connection even to a server that does not exist.
    w.edit_config(|t| t.replace("port = 10143", "port = 1"));
    assert!(w.ok(&["check", "--offline"]).await.contains("templates"));
    let out = w.hilo(&["check"]).await;
    assert_eq!(out.status.code(), Some(75));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAILED: cannot connect to 127.0.0.1:1"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("smtp "),
        "stops at the first problem: {stdout}"
    );

    // A template with an unknown placeholder: a configuration error naming file and line.
    let dir = w.dir.path().join("tpl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ack.es.txt"), "Hola\n{numero}\n").unwrap();
    w.edit_config(|t| format!("[templates]\ndir = \"{}\"\n{t}", dir.display()));
    let out = w.hilo(&["check", "--offline"]).await;
    assert_eq!(out.status.code(), Some(78));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ack.es.txt, line 2") && stdout.contains("numero"),
        "{stdout}"
    );
}

/// A file with several mistakes: one run names them all, each with its
/// key and line, and exits as a configuration error (78).
#[tokio::test]
async fn check_names_every_config_problem_with_its_line() {
    let w = World::new();
    w.edit_config(|t| {
        t.lines()
            .map(|l| match l {
                l if l.starts_with("tag = ") => "tag = \"S P\"".to_string(),
                l if l.starts_with("port = ") && l.contains(&SMTP_PORT.to_string()) => {
                    "port = 0".to_string()
                }
                "[[desk]]" => "[[desk]]\ntime_zone = \"Europe/Madird\"".to_string(),
                l => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let text = std::fs::read_to_string(&w.config).unwrap();
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let out = w.hilo(&["check", "--offline"]).await;
    assert_eq!(out.status.code(), Some(78));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (key, needle) in [
        ("smtp.port", "port = 0"),
        ("desk[0].tag", "S P"),
        ("desk[0].time_zone", "Madird"),
    ] {
        assert!(
            all.contains(&format!("line {}: `{key}`", line(needle))),
            "{key}: {all}"
        );
    }
    assert!(all.contains("3 problems in the configuration"), "{all}");
}

#[tokio::test]
async fn backup_is_consistent_while_the_daemon_works() {
    let w = World::new();
    w.init().await;
    let raws: Vec<Vec<u8>> = (0..60)
        .map(|i| {
            mail(
                &format!("b{i}-{}@cliente.test", uid()),
                &w.desk,
                "x",
                &format!("{}@c.test", uid()),
                "",
                "hola",
            )
        })
        .collect();
    append_all(&w.desk, "INBOX", &raws, None).await;
    let daemon = w.spawn_daemon();
    assert!(eventually(WAIT, || async { !w.tickets().await.is_empty() }).await);
    let copy = w.dir.path().join("copia.db");
    let out = w.ok(&["backup", copy.to_str().unwrap()]).await;
    assert!(out.contains("backed up"), "{out}");
    let c = rusqlite::Connection::open(&copy).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let (tickets, msgs): (i64, i64) = c
        .query_row("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM messages WHERE kind = 'customer')", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(
        tickets, msgs,
        "every ticket with its message: a consistent cut"
    );
    // It will not overwrite.
    assert_eq!(
        w.hilo(&["backup", copy.to_str().unwrap()])
            .await
            .status
            .code(),
        Some(1)
    );
    drop(daemon);
}

#[tokio::test]
async fn json_logs_carry_the_desk_uid_message_and_ticket_and_no_secret() {
    let w = World::new();
    w.init().await;
    let mid = format!("{}@cliente.test", uid());
    append(
        &w.desk,
        &mail(
            &format!("j-{}@cliente.test", uid()),
            &w.desk,
            "json",
            &mid,
            "",
            "hola",
        ),
    )
    .await;
    let out = w.hilo(&["--log-format", "json", "run", "--once"]).await;
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let new_ticket = lines
        .iter()
        .find(|l| l["fields"]["message"] == "new ticket")
        .expect("logged");
    let span = &new_ticket["span"];
    assert_eq!(span["desk"], "soporte");
    assert_eq!(span["uid"], 1);
    assert_eq!(span["message_id"], mid.as_str());
    assert_eq!(span["ticket"], 1);
    assert!(!stderr.contains(PASSWORD), "no secret in logs");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let w = World::new();
    w.init().await;
    let port = free_port();
    w.edit_config(|t| format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n{t}"));
    let daemon = w.spawn_daemon();
    let customer = format!("m-{}@cliente.test", uid());
    assert!(eventually(WAIT, || async { w.daemon_log().contains("connected") }).await);
    send(
        &customer,
        &[&w.desk],
        &mail(
            &customer,
            &w.desk,
            "métricas",
            &format!("{}@c.test", uid()),
            "",
            "hola",
        ),
    )
    .await;
    wait_mailbox(&customer, 1, WAIT).await;
    let scrape = || async {
        let out = tokio::process::Command::new("curl")
            .args(["-s", &format!("http://127.0.0.1:{port}/metrics")])
            .output()
            .await
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        eventually(WAIT, || async {
            scrape().await.contains("hilo_ack_latency_seconds_count 1")
        })
        .await,
        "{}",
        scrape().await
    );
    let text = scrape().await;
    for line in [
        "hilo_messages_total{desk=\"soporte\",outcome=\"ticket\"} 1",
        "hilo_imap_connected{desk=\"soporte\"} 1",
        "hilo_outbox{state=\"sent\"} 1",
        "hilo_seconds_since_last_fetch{desk=\"soporte\"}",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
    drop(daemon);
}

/// Run as systemd would with Type=notify and WatchdogSec: READY=1 once the
/// desk is connected, WATCHDOG=1 regularly, STOPPING=1 on SIGTERM.
#[tokio::test]
async fn tells_systemd_ready_pets_the_watchdog_and_says_stopping() {
    let w = World::new();
    w.init().await;
    let sock = w.dir.path().join("notify.sock");
    let listener = UnixDatagram::bind(&sock).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hilo"))
        .args(["--config", w.config.to_str().unwrap(), "run"])
        .env("NOTIFY_SOCKET", &sock)
        .env("WATCHDOG_USEC", "1000000")
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut buf = [0u8; 512];
    while seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() < 2 {
        let n = listener.recv(&mut buf).expect("a notification");
        seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    assert!(seen[0].contains("READY=1"), "ready first: {seen:?}");
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    loop {
        let n = listener.recv(&mut buf).expect("STOPPING=1");
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            break;
        }
    }
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(repo().join("systemd/hilo.service")).unwrap();
    for key in [
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=hilo",
        "ConfigurationDirectory=hilo",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "LoadCredential=",
    ] {
        assert!(unit.contains(key), "unit lacks {key}");
    }
    // systemd-analyze wants ExecStart's binary to exist: point it at the one built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hilo.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/hilo", env!("CARGO_BIN_EXE_hilo")),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian's systemd package)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("hilo.service"),
        "{stderr}"
    );
}

/// SIGHUP: new templates and a new desk take effect; the unchanged desk
/// keeps its connection; a broken configuration is refused.
#[tokio::test]
async fn sighup_reloads_templates_and_desks() {
    let w = World::new();
    w.init().await;
    let daemon = w.spawn_daemon();
    let pid = daemon.id().unwrap().to_string();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("connected") }).await);

    let tpl = w.dir.path().join("tpl");
    std::fs::create_dir_all(&tpl).unwrap();
    std::fs::write(tpl.join("ack.es.txt"), "Plantilla recargada {tag}\n").unwrap();
    let second = format!("helpdesk-{}@example.test", uid());
    w.edit_config(|t| {
        format!(
            "[templates]\ndir = \"{}\"\n{t}\n[[desk]]\nname = \"helpdesk\"\naddress = \"{second}\"\ntag = \"HLP\"\nlanguage = \"en\"\nstart_from = \"all\"\n[desk.imap]\nhost = \"127.0.0.1\"\nport = {IMAP_PORT}\nsecurity = \"none\"\nusername = \"{second}\"\npassword = \"{PASSWORD}\"\n",
            tpl.display()
        )
    });
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(
        eventually(WAIT, || async {
            w.daemon_log().contains("configuration reloaded")
        })
        .await,
        "{}",
        w.daemon_log()
    );
    let log = w.daemon_log();
    assert!(log.contains("kept=1") && log.contains("started=1"), "{log}");

    let c = format!("r-{}@cliente.test", uid());
    send(
        &c,
        &[&w.desk],
        &mail(
            &c,
            &w.desk,
            "tras recargar",
            &format!("{}@c.test", uid()),
            "",
            "hola",
        ),
    )
    .await;
    let ack = parsed(&wait_mailbox(&c, 1, WAIT).await[0]);
    assert_eq!(
        ack.text.trim(),
        format!("Plantilla recargada [{}-1]", w.tag)
    );
    let c2 = format!("h-{}@cliente.test", uid());
    send(
        &c2,
        &[&second],
        &mail(
            &c2,
            &second,
            "new desk",
            &format!("{}@c.test", uid()),
            "",
            "hello",
        ),
    )
    .await;
    assert!(
        eventually(WAIT, || async {
            w.tickets().await.iter().any(|t| t["desk"] == "helpdesk")
        })
        .await,
        "{}",
        w.daemon_log()
    );
    let connects = w
        .daemon_log()
        .matches("desk{desk=soporte}: hilo::watcher: connected")
        .count();
    assert_eq!(connects, 1, "the unchanged desk kept its connection");

    // A broken file is refused; the daemon goes on with what it had.
    w.edit_config(|t| t.replace("[store]", "[store"));
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(eventually(WAIT, || async { w.daemon_log().contains("reload refused") }).await);
    let c3 = format!("s-{}@cliente.test", uid());
    send(
        &c3,
        &[&w.desk],
        &mail(
            &c3,
            &w.desk,
            "sigue",
            &format!("{}@c.test", uid()),
            "",
            "hola",
        ),
    )
    .await;
    assert_eq!(wait_mailbox(&c3, 1, WAIT).await.len(), 1, "still working");
    drop(daemon);
}

/// The sender over STARTTLS (port 10025) and TLS (SMTPS, 10465): the
/// certificate is verified against ca_file, and refused without it.
#[tokio::test]
async fn smtp_over_starttls_and_tls_verifies_certificates() {
    for (port, security) in [(SMTP_PORT, "starttls"), (10465, "tls")] {
        let w = World::new();
        w.init().await;
        let with_ca = |t: String| {
            t.replacen(
                &format!("port = {SMTP_PORT}\nsecurity = \"none\""),
                &format!(
                    "port = {port}\nsecurity = \"{security}\"\nca_file = \"{}\"",
                    ca_file().display()
                ),
                1,
            )
        };
        let plain = std::fs::read_to_string(&w.config).unwrap();
        w.edit_config(with_ca);
        let out = w.ok(&["check"]).await;
        assert!(
            out.contains(&format!("smtp 127.0.0.1:{port}")) && out.contains("ok (EHLO"),
            "{security}: {out}"
        );
        let c = format!("tls-{}@cliente.test", uid());
        append(
            &w.desk,
            &mail(
                &c,
                &w.desk,
                "cifrado",
                &format!("{}@c.test", uid()),
                "",
                "hola",
            ),
        )
        .await;
        let out = w.ok(&["run", "--once"]).await;
        assert!(out.contains("outbox: 1 sent"), "{security}: {out}");
        assert_eq!(wait_mailbox(&c, 1, WAIT).await.len(), 1, "{security}");

        // Without the private CA the server's certificate is not trusted.
        let no_ca = plain.replacen(
            &format!("port = {SMTP_PORT}\nsecurity = \"none\""),
            &format!("port = {port}\nsecurity = \"{security}\""),
            1,
        );
        std::fs::write(&w.config, no_ca).unwrap();
        let out = w.hilo(&["check"]).await;
        assert_eq!(out.status.code(), Some(75), "{security}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("smtp 127.0.0.1:{port}")) && stdout.contains("FAILED"),
            "{security}: {stdout}"
        );
    }
}
