//! Intake benchmark against the real Dovecot (`cargo bench --bench intake`).
//!
//! Fills a fresh desk mailbox with N realistic ~3 KB customer mails (written
//! straight into its Maildir, then indexed by Dovecot), and measures in the
//! same run:
//! - the raw rate of one `UID FETCH 1:* BODY.PEEK[]` by a minimal client;
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
    for i in 0..n {
        let m = message(i, user);
        bytes += m.len() as u64;
        let p = md.join("new").join(format!("1795421642.M{i}P1.bench"));
        std::fs::write(&p, m).unwrap();
        chown(&p, Some(8), Some(8)).unwrap();
    }
    bytes
}

async fn raw_fetch(user: &str) -> (usize, f64) {
    let mut s = login(user).await;
    s.select("INBOX").await.unwrap();
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

fn children_max_rss_kb() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("intake benchmark: skipped (run it with `cargo bench --bench intake`)");
        return;
    }
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
    let raw_rate = n as f64 / secs;
    println!("raw UID FETCH 1:* BODY.PEEK[]: {n} messages in {secs:.2} s = {raw_rate:.0} msg/s");

    let t = Instant::now();
    let out = w.hilo(&["run", "--once", "--no-send"]).await;
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("{n} fetched, {n} new tickets")),
        "{summary}"
    );
    let rate = n as f64 / secs;
    println!("hilo intake (every ticket committed, acks queued): {n} messages in {secs:.2} s = {rate:.0} msg/s");
    println!("ratio hilo/raw: {:.2} (goal >= 0.33)", rate / raw_rate);
    println!(
        "hilo peak RSS: {:.1} MB",
        children_max_rss_kb() as f64 / 1024.0
    );
    if keep {
        let dir = w.dir.keep();
        println!(
            "kept {} (config hilo.toml, pristine database hilo.db.pristine)",
            dir.display()
        );
    }
}
