//! Intake benchmark against the real Dovecot (`cargo bench --bench intake`).
//!
//! Fills a fresh desk mailbox with N realistic ~3 KB customer mails (written
//! straight into its Maildir, then indexed by Dovecot), and measures in the
//! same run:
//! - the raw rate of one `UID FETCH 1:* BODY.PEEK[]` by a minimal client,
//!   over the same connection as hilo's (STARTTLS, verified; the ratio's
//!   denominator), and for reference over plain TCP;
//! - hilo's intake rate (`hilo run --once --no-send`): every ticket
//!   committed, acknowledgements queued but not sent;
//!
//! It prints both, their ratio, and hilo's peak RSS. Prints figures; never
//! fails on speed. N is `HILO_BENCH_MESSAGES` (default 10000).

#[path = "../tests/support/mod.rs"]
mod support;

use std::os::unix::fs::chown;
use std::time::Instant;

use futures::TryStreamExt;
use support::*;

fn message(i: usize, desk: &str) -> String {
    let id = format!("{i:06}.{}", uid());
    let body =
        "Buenos días:\r\n\r\nLes escribo porque desde el martes no puedo acceder a mi cuenta. \
Al introducir la contraseña aparece un error y después de tres intentos se bloquea el acceso. \
He probado desde el ordenador y desde el móvil, con el mismo resultado. También intenté \
restablecer la contraseña, pero el correo de recuperación no me llega (he revisado la carpeta \
de spam). Necesito entrar con urgencia porque tengo que descargar las facturas del último \
trimestre para la gestoría antes del viernes.\r\n\r\n¿Podrían revisarlo, por favor?\r\n\r\n\
Un saludo,\r\nCliente número ";
    format!(
        "Return-Path: <cliente{i}@cliente.test>\r\n\
Delivered-To: {desk}\r\n\
Received: from mail.cliente.test (mail.cliente.test [192.0.2.10])\r\n\tby mx.example.test (Postfix) with ESMTPS id 4F1A2{i:05}\r\n\tfor <{desk}>; Mon, 23 Nov 2026 09:14:03 +0100 (CET)\r\n\
Received: from [10.0.0.5] (unknown [198.51.100.7])\r\n\tby mail.cliente.test (Postfix) with ESMTPSA id 9C3D1{i:05};\r\n\tMon, 23 Nov 2026 09:14:02 +0100 (CET)\r\n\
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=cliente.test; s=mail;\r\n\tt=1795421642; bh=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXU=;\r\n\th=From:To:Subject:Date;\r\n\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaGFzIHRoZSByaWdodCBzaGFwZSBhbmQgbGVuZ3Ro\r\n\
Message-ID: <{id}@cliente.test>\r\n\
Date: Mon, 23 Nov 2026 09:14:02 +0100\r\n\
MIME-Version: 1.0\r\n\
User-Agent: Mozilla Thunderbird\r\n\
Content-Language: es-ES\r\n\
From: =?UTF-8?Q?Cliente_N=C3=BAmero_{i}?= <cliente{i}@cliente.test>\r\n\
To: Soporte <{desk}>\r\n\
Subject: =?UTF-8?Q?No_puedo_acceder_a_mi_cuenta_=28n=C2=BA_{i}=29?=\r\n\
Content-Type: multipart/alternative; boundary=\"b{i}\"\r\n\r\n\
--b{i}\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}{i}\r\n\r\n\
--b{i}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body><p>{body}{i}</p></body></html>\r\n--b{i}--\r\n"
    )
}

/// Writes the messages into the user's Maildir/new, owned by Dovecot's `mail` user.
fn fill_maildir(user: &str, n: usize) -> u64 {
    fill_maildir_from(user, 0, n)
}

/// Messages `from..from + n` (file names and Message-IDs stay unique across calls).
fn fill_maildir_from(user: &str, from: usize, n: usize) -> u64 {
    let (local, domain) = user.split_once('@').unwrap();
    let md = state_dir()
        .join("mail")
        .join(domain)
        .join(local)
        .join("Maildir");
    let mut bytes = 0;
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
        chown(md.join(sub), Some(8), Some(8)).unwrap();
    }
    for i in from..from + n {
        let m = message(i, user);
        bytes += m.len() as u64;
        let p = md.join("new").join(format!("1795421642.M{i}P1.bench"));
        std::fs::write(&p, m).unwrap();
        chown(&p, Some(8), Some(8)).unwrap();
    }
    bytes
}

/// The minimal client over hilo's own connection (as configured for `w`).
async fn raw_fetch_as_hilo(w: &World) -> (usize, f64) {
    let config = hilo::config::Config::load(&w.config).unwrap();
    let (s, _) = hilo::watcher::connect(&config.desks[0].imap, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    fetch_all(s).await
}

/// The minimal client over plain TCP.
async fn raw_fetch(user: &str) -> (usize, f64) {
    let mut s = login(user).await;
    s.select("INBOX").await.unwrap();
    fetch_all(s).await
}

/// One `UID FETCH 1:* BODY.PEEK[]` of the selected folder: (messages, seconds).
async fn fetch_all<T>(mut s: async_imap::Session<T>) -> (usize, f64)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let t = Instant::now();
    let mut n = 0;
    {
        let mut st = s.uid_fetch("1:*", "(UID BODY.PEEK[])").await.unwrap();
        while let Some(f) = st.try_next().await.unwrap() {
            if f.body().is_some() {
                n += 1;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let _ = s.logout().await;
    (n, secs)
}

/// Runs `hilo ARGS` and returns (success, peak RSS in KB) of that process
/// alone: the sum of its mappings' Rss in /proc/PID/smaps, sampled every
/// 20 ms. (`ru_maxrss` from wait4 is not used: a child spawned by vfork
/// shares the parent's pages until exec, so it reports at least the
/// benchmark's own RSS, which grows with the mail it generated.)
fn hilo_measured(w: &World, args: &[&str]) -> (bool, i64) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hilo"))
        .arg("--config")
        .arg(&w.config)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn hilo");
    let smaps = format!("/proc/{}/smaps_rollup", child.id());
    let mut peak = 0i64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&smaps) {
            let rss = text
                .lines()
                .find(|l| l.starts_with("Rss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0);
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status.success(), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// What to run: HILO_BENCH_PARTS=intake,send,latency,rss (default: all).
fn part(name: &str) -> bool {
    std::env::var("HILO_BENCH_PARTS").map_or(true, |p| p.split(',').any(|x| x.trim() == name))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("intake benchmark: skipped (run it with `cargo bench --bench intake`)");
        return;
    }
    if part("intake") {
        intake().await;
    }
    if part("send") {
        send_rate(env_usize("HILO_BENCH_SEND", 1000)).await;
    }
    if part("latency") {
        latency(env_usize("HILO_BENCH_LATENCY", 200)).await;
    }
    if part("rss") {
        rss_with_large_mail().await;
    }
    if part("rss-backlog") {
        let sizes =
            std::env::var("HILO_BENCH_RSS_BACKLOGS").unwrap_or_else(|_| "2000,10000".into());
        for n in sizes.split(',').filter_map(|n| n.trim().parse().ok()) {
            rss_backlog(n, false).await;
            rss_backlog(n, true).await;
        }
    }
    if part("growth") {
        growth(
            env_usize("HILO_BENCH_STORED", 1_000_000),
            env_usize("HILO_BENCH_GROWTH_MAILS", 5000),
        )
        .await;
    }
}

/// Intake rate of `n` new mails into `w` (already initialised): msg/s.
async fn intake_rate(w: &World, n: usize) -> f64 {
    fill_maildir(&w.desk, n);
    assert_eq!(count(&w.desk, "INBOX").await as usize, n);
    let t = Instant::now();
    let (ok, _) = hilo_measured(w, &["run", "--once", "--no-send"]);
    assert!(ok);
    n as f64 / t.elapsed().as_secs_f64()
}

/// The intake rate with `stored` messages already in the database against
/// an empty one. The big database is filled through the store layer.
async fn growth(stored: usize, n: usize) {
    use hilo::mail::Mailbox;
    use hilo::model::{Direction, MessageKind};
    use hilo::store::{NewMessage, Store};
    let empty = World::new();
    let _ = count(&empty.desk, "INBOX").await;
    empty.init().await;
    let empty_rate = intake_rate(&empty, n).await;

    let big = World::new();
    let _ = count(&big.desk, "INBOX").await;
    big.init().await;
    let t = Instant::now();
    let db = big.db();
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&db).unwrap();
        let from = Mailbox::new("antiguo@cliente.test", Some("Cliente Antiguo".into()));
        for chunk in 0..stored.div_ceil(10_000) {
            store
                .write(|tx| {
                    for i in chunk * 10_000..((chunk + 1) * 10_000).min(stored) {
                        let id = format!("old{i}@cliente.test");
                        let raw = format!("From: antiguo@cliente.test\r\nSubject: consulta {i}\r\nMessage-ID: <{id}>\r\n\r\nUna consulta antigua, la número {i}.\r\n");
                        let ticket = tx.create_ticket("soporte", Some("soporte@example.test"), &format!("consulta {i}"), &from, None)?;
                        tx.insert_message(&NewMessage {
                            ticket: Some(ticket),
                            desk: "soporte",
                            direction: Direction::In,
                            kind: MessageKind::Customer,
                            dedup_key: id.clone(),
                            message_id: Some(&id),
                            in_reply_to: &[],
                            references: &[],
                            from: &from,
                            to: vec!["soporte@example.test"],
                            cc: Vec::new(),
                            subject: "consulta",
                            date: None,
                            text: "Una consulta antigua.",
                            new_text: Some("Una consulta antigua."),
                            thread_root: None,
                            note: None,
                            raw: raw.as_bytes(),
                            draft: None,
                            folder: Some("INBOX"),
                            uid: None,
                            about: None,
                        })?;
                    }
                    Ok::<_, hilo::store::StoreError>(())
                })
                .unwrap();
        }
    })
    .await
    .unwrap();
    let size = std::fs::metadata(big.db()).map(|m| m.len()).unwrap_or(0);
    println!(
        "stored {stored} messages through the store layer in {:.0} s (database {:.0} MB)",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    let big_rate = intake_rate(&big, n).await;
    println!("intake of {n} mails: empty database {empty_rate:.0} msg/s, with {stored} stored {big_rate:.0} msg/s");
    println!("growth ratio: {:.2} (goal >= 0.8)", big_rate / empty_rate);
}

/// Acknowledgements sent by `hilo outbox flush` against the rate at which
/// a minimal SMTP client pushes the same number of mails into the same
/// Postfix. Postfix's speed on this machine drifts from run to run, so the
/// two are measured in alternating rounds (HILO_BENCH_SEND_ROUNDS, default
/// 4), each after a short warm-up, from an idle Postfix and a synced disk,
/// and the medians compared.
async fn send_rate(n: usize) {
    let rounds = env_usize("HILO_BENCH_SEND_ROUNDS", 4);
    let w = World::new();
    // The same customers write every round: lift the per-recipient limit.
    w.desk_settings(&format!("max_autoreplies = {}", rounds + 1));
    let _ = count(&w.desk, "INBOX").await;
    w.init().await;
    let (mut hilo_rates, mut bare_rates) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        fill_maildir_from(&w.desk, round * n, n);
        let out = w.hilo(&["run", "--once", "--no-send"]).await;
        assert!(out.status.success());
        let acks: Vec<(String, Vec<u8>)> = (0..n)
            .map(|i| {
                let to = format!("bare{}@cliente.test", round * n + i);
                let raw = message(i, &to).into_bytes();
                (to, raw)
            })
            .collect();
        let warmup: Vec<(String, Vec<u8>)> = (0..20)
            .map(|i| {
                let to = format!("warm{}@cliente.test", round * 20 + i);
                let raw = message(i, &to).into_bytes();
                (to, raw)
            })
            .collect();
        // Alternate which goes first, so neither always meets a busier Postfix.
        for hilo_turn in [round % 2 == 0, round % 2 == 1] {
            // A few mails first, so neither pays for Postfix's idle processes
            // starting again; then an idle Postfix and no disk writes (the
            // other's or the intake's) still going out.
            bare_smtp(&w.desk, &warmup).await;
            postfix_idle().await;
            // SAFETY: sync(2) takes no arguments and cannot fail.
            unsafe { libc::sync() };
            let t = Instant::now();
            if hilo_turn {
                let out = w.hilo(&["outbox", "flush"]).await;
                let secs = t.elapsed().as_secs_f64();
                assert!(
                    String::from_utf8_lossy(&out.stdout).starts_with(&format!("{n} sent")),
                    "{}",
                    String::from_utf8_lossy(&out.stdout)
                );
                hilo_rates.push(n as f64 / secs);
            } else {
                bare_smtp(&w.desk, &acks).await;
                bare_rates.push(n as f64 / t.elapsed().as_secs_f64());
            }
        }
        println!(
            "send round {}: hilo {:.0} msg/s, bare client {:.0} msg/s",
            round + 1,
            hilo_rates[round],
            bare_rates[round]
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (hr, br) = (median(&mut hilo_rates), median(&mut bare_rates));
    println!(
        "acknowledgements sent by hilo (`hilo outbox flush`, {n} per round): median {hr:.0} msg/s"
    );
    println!("bare SMTP client into the same Postfix: median {br:.0} msg/s");
    println!("ratio hilo/bare: {:.2} (goal >= 0.9)", hr / br);
}

/// The minimal SMTP client: one connection with TCP_NODELAY, one command at
/// a time, each answer read before the next (what Python's smtplib does).
async fn bare_smtp(from: &str, mails: &[(String, Vec<u8>)]) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", SMTP_PORT))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    async fn reply(r: &mut (impl AsyncBufReadExt + Unpin)) -> String {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }
    assert!(reply(&mut r).await.starts_with("220"));
    w.write_all(b"EHLO bench.example.test\r\n").await.unwrap();
    assert!(reply(&mut r).await.starts_with("250"));
    for (to, raw) in mails {
        for cmd in [
            format!("MAIL FROM:<{from}>\r\n"),
            format!("RCPT TO:<{to}>\r\n"),
            "DATA\r\n".to_string(),
        ] {
            w.write_all(cmd.as_bytes()).await.unwrap();
            let a = reply(&mut r).await;
            assert!(a.starts_with('2') || a.starts_with('3'), "{a}");
        }
        // The mails are ours and have no line starting with a dot.
        w.write_all(raw).await.unwrap();
        w.write_all(b"\r\n.\r\n").await.unwrap();
        assert!(reply(&mut r).await.starts_with("250"));
    }
    w.write_all(b"QUIT\r\n").await.unwrap();
}

/// Waits until the test Postfix has delivered everything queued.
async fn postfix_idle() {
    let conf = state_dir().join("postfix/conf");
    for _ in 0..600 {
        let out = std::process::Command::new("postqueue")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Single mails through Postfix with `hilo run` in IDLE: time from handing
/// the mail to Postfix until the acknowledgement is in the customer's INBOX.
async fn latency(n: usize) {
    postfix_idle().await;
    let w = World::new();
    // One customer writes all of them: lift the per-recipient limit.
    w.desk_settings(&format!("max_autoreplies = {}", n + 1));
    w.init().await;
    let daemon = w.spawn_daemon();
    let _ = eventually(std::time::Duration::from_secs(20), || async {
        w.daemon_log().contains("idle=true")
    })
    .await;
    let customer = format!("lat-{}@cliente.test", uid());
    let mut s = login(&customer).await;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let raw = mail(
            &customer,
            &w.desk,
            &format!("latencia {i}"),
            &format!("{}@c.test", uid()),
            "",
            "hola",
        );
        let t = Instant::now();
        send(&customer, &[&w.desk], &raw).await;
        loop {
            let st = s.status("INBOX", "(MESSAGES)").await.unwrap();
            if st.exists as usize > i {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = s.logout().await;
    drop(daemon);
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "send-to-acknowledgement latency over {n} mails (IDLE): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal p50 <= 650, p99 <= 1200)",
        p(0.5),
        p(0.99),
        lat[lat.len() - 1]
    );
}

/// Peak RSS of `hilo run --once --no-send` through a backlog of 500 mails
/// that includes 20 mails of 10 MB.
/// Peak RSS of `hilo run --once --no-send` over a backlog of `n` plain
/// 3 KB mails (about 40 short lines each): it should not grow with `n`.
async fn rss_backlog(n: usize, plain: bool) {
    let w = World::new();
    if plain {
        w.edit_config(|t| t.replace("security = \"starttls\"", "security = \"none\""));
    }
    // The intake defaults, as a new user runs it.
    w.edit_config(|t| t.replace("batch_size = 25\n", ""));
    let _ = count(&w.desk, "INBOX").await;
    w.init().await;
    let (local, domain) = w.desk.split_once('@').unwrap();
    let md = state_dir()
        .join("mail")
        .join(domain)
        .join(local)
        .join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
        std::os::unix::fs::chown(md.join(sub), Some(8), Some(8)).unwrap();
    }
    let line = "una línea corta de texto del cliente, unas setenta letras más o menos\r\n";
    let body = line.repeat(40);
    for i in 0..n {
        let m = format!(
            "From: Cliente {i} <c{i}@cliente.test>\r\nTo: {}\r\nSubject: Consulta {i}\r\nMessage-ID: <p{i}.{}@c.test>\r\nDate: Mon, 23 Nov 2026 09:14:02 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
            w.desk,
            uid()
        );
        let p = md.join("new").join(format!("1795421644.P{i}P1.bench"));
        std::fs::write(&p, m).unwrap();
        std::os::unix::fs::chown(&p, Some(8), Some(8)).unwrap();
    }
    assert_eq!(count(&w.desk, "INBOX").await as usize, n);
    let t = Instant::now();
    let (ok, rss) = hilo_measured(&w, &["run", "--once", "--no-send"]);
    assert!(ok);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(w.tickets().await.len(), n);
    println!(
        "backlog of {n} plain-text 3 KB mails over {}: {secs:.2} s; hilo peak RSS {:.1} MB",
        if plain { "plain IMAP" } else { "STARTTLS" },
        rss as f64 / 1024.0
    );
}

async fn rss_with_large_mail() {
    let w = World::new();
    let _ = count(&w.desk, "INBOX").await;
    w.init().await;
    fill_maildir(&w.desk, 480);
    let (local, domain) = w.desk.split_once('@').unwrap();
    let md = state_dir()
        .join("mail")
        .join(domain)
        .join(local)
        .join("Maildir/new");
    let chunk = "A".repeat(76) + "\r\n";
    let big_body = chunk.repeat(10 * 1024 * 1024 / 78);
    for i in 0..20 {
        let m = format!("From: big{i}@cliente.test\r\nTo: {}\r\nSubject: grande {i}\r\nMessage-ID: <big{i}.{}@c.test>\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{big_body}", w.desk, uid());
        let p = md.join(format!("1795421643.B{i}P1.bench"));
        std::fs::write(&p, m).unwrap();
        std::os::unix::fs::chown(&p, Some(8), Some(8)).unwrap();
    }
    assert_eq!(count(&w.desk, "INBOX").await, 500);
    let t = Instant::now();
    let (ok, rss) = hilo_measured(&w, &["run", "--once", "--no-send"]);
    assert!(ok);
    assert_eq!(w.tickets().await.len(), 500);
    println!(
        "backlog of 500 mails incl. 20 x 10 MB: {:.2} s; hilo peak RSS {:.1} MB (goal <= 64 MB)",
        t.elapsed().as_secs_f64(),
        rss as f64 / 1024.0
    );
}

async fn intake() {
    let n: usize = std::env::var("HILO_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let w = World::new();
    w.intake_setting("batch_size", "200");
    // Let Dovecot create the mailbox, and hilo take its starting point.
    let _ = count(&w.desk, "INBOX").await;
    w.init().await;
    // HILO_BENCH_KEEP=1 keeps the world for profiling: restore hilo.db from
    // hilo.db.pristine and run `hilo --config … run --once --no-send` again.
    let keep = std::env::var_os("HILO_BENCH_KEEP").is_some();
    if keep {
        std::fs::copy(w.db(), w.dir.path().join("hilo.db.pristine")).unwrap();
    }
    let t = Instant::now();
    let bytes = fill_maildir(&w.desk, n);
    println!(
        "filled {n} messages ({:.1} MB) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // Dovecot indexes the new files on first access; not part of either figure.
    let t = Instant::now();
    assert_eq!(count(&w.desk, "INBOX").await as usize, n);
    println!("dovecot indexed them in {:.1} s", t.elapsed().as_secs_f64());

    let (got, secs) = raw_fetch(&w.desk).await;
    assert_eq!(got, n);
    println!(
        "raw UID FETCH 1:* BODY.PEEK[], plain TCP: {n} messages in {secs:.2} s = {:.0} msg/s",
        n as f64 / secs
    );
    let (got, secs) = raw_fetch_as_hilo(&w).await;
    assert_eq!(got, n);
    let raw_rate = n as f64 / secs;
    println!("raw UID FETCH 1:* BODY.PEEK[], hilo's connection (STARTTLS): {n} messages in {secs:.2} s = {raw_rate:.0} msg/s");

    let t = Instant::now();
    let (ok, rss) = hilo_measured(&w, &["run", "--once", "--no-send"]);
    let secs = t.elapsed().as_secs_f64();
    assert!(ok);
    assert_eq!(w.tickets().await.len(), n, "every ticket committed");
    let rate = n as f64 / secs;
    println!("hilo intake (every ticket committed, acks queued): {n} messages in {secs:.2} s = {rate:.0} msg/s");
    println!("ratio hilo/raw: {:.2} (goal >= 0.33)", rate / raw_rate);
    println!("hilo peak RSS: {:.1} MB", rss as f64 / 1024.0);
    if keep {
        let dir = w.dir.keep();
        println!(
            "kept {} (config hilo.toml, pristine database hilo.db.pristine)",
            dir.display()
        );
    }
}
