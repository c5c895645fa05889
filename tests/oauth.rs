//! OAuth2 logins end to end, with no cloud: the test Dovecot takes
//! XOAUTH2 and OAUTHBEARER and checks each token at a local identity
//! provider (tests/support/idp.rs, standing in for Microsoft's and
//! Google's endpoints); Postfix's submission port authenticates through
//! Dovecot, so SMTP uses the same tokens.

mod support;

use std::time::Duration;

use support::idp::{idp, IDP_PORT};
use support::proxy::{Fault, Proxy};
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};

const SUBMISSION_PORT: u16 = 10587;

/// Switches the world's (first) desk to OAuth2 with `oauth2` as its table.
fn imap_oauth(w: &World, oauth2: &str) {
    w.edit_config(|t| {
        t.replacen(
            "password = \"secret\"\n",
            &format!("auth = \"oauth2\"\n[desk.imap.oauth2]\n{oauth2}\n"),
            1,
        )
    });
}

fn provider() -> String {
    format!(
        "provider = \"custom\"\nclient_id = \"hilo-test\"\ntoken_url = \"http://127.0.0.1:{IDP_PORT}/token\"\n\
         device_authorization_url = \"http://127.0.0.1:{IDP_PORT}/device\"\nscopes = [\"mail\"]"
    )
}

/// `hilo auth login ARGS` as a person would: read the code it prints,
/// confirm it as `user` in the "browser" once hilo has polled and been
/// told to wait (so the waiting is exercised, without timing it).
async fn sign_in(w: &World, args: &[&str], user: &str) -> String {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hilo"));
    cmd.arg("--config")
        .arg(&w.config)
        .args(["auth", "login"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn hilo auth login");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let code = loop {
        let line = tokio::time::timeout(WAIT, out.next_line())
            .await
            .expect("hilo prints the code")
            .unwrap()
            .expect("a line");
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.trim().to_string();
        }
    };
    assert!(
        printed.contains(&format!("http://127.0.0.1:{IDP_PORT}/verify")),
        "{printed}"
    );
    assert!(
        eventually(WAIT, || async { idp().pending_polls(&code) > 0 }).await,
        "hilo polls the token endpoint"
    );
    assert!(
        idp().approve(&code, user),
        "the code {code} is the provider's"
    );
    while let Ok(Some(line)) = tokio::time::timeout(WAIT, out.next_line()).await.unwrap() {
        printed.push_str(&line);
        printed.push('\n');
    }
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{printed}");
    printed
}

async fn customer_writes(w: &World, subject: &str) -> String {
    let customer = format!("cli-{}@cliente.test", uid());
    send(
        &customer,
        &[&w.desk],
        &customer_mail(&customer, &w.desk, subject, "Hola"),
    )
    .await;
    wait_mailbox(&w.desk, 1, WAIT).await;
    customer
}

#[tokio::test]
async fn desks_on_oauthbearer_and_xoauth2_receive_and_acknowledge_over_oauth2_smtp() {
    idp();
    // Desk 1: hilo's own tokens (device sign-in, then refresh), OAUTHBEARER.
    let w1 = World::new();
    imap_oauth(&w1, &provider());
    // Desk 2: a token_command, through a server that offers only XOAUTH2.
    let w2 = World::new();
    let hide = Proxy::start(IMAP_PORT, Fault::Hide("OAUTHBEARER")).await;
    let token2 = idp().access_token(&w2.desk);
    imap_oauth(&w2, &format!("token_command = \"echo {token2}\""));
    w2.edit_config(|t| {
        t.replace(
            &format!("port = {IMAP_PORT}\nsecurity = \"starttls\""),
            &format!("port = {}\nsecurity = \"none\"", hide.port),
        )
    });
    // Both send through the submission port with an OAuth2 token.
    let sender = format!("hilo-{}@example.test", uid());
    let smtp_token = idp().access_token(&sender);
    for w in [&w1, &w2] {
        w.edit_config(|t| {
            t.replace(
                "port = 10025\nsecurity = \"none\"\n",
                &format!(
                    "port = {SUBMISSION_PORT}\nsecurity = \"none\"\nusername = \"{sender}\"\nauth = \"oauth2\"\n\
                     [smtp.oauth2]\ntoken_command = \"echo {smtp_token}\"\n"
                ),
            )
        });
    }
    let printed = sign_in(&w1, &["--desk", "soporte"], &w1.desk).await;
    assert!(printed.contains("signed in"), "{printed}");

    for w in [&w1, &w2] {
        w.init().await;
    }
    let c1 = customer_writes(&w1, "Por OAUTHBEARER").await;
    let c2 = customer_writes(&w2, "Por XOAUTH2").await;
    for (w, c) in [(&w1, &c1), (&w2, &c2)] {
        let out = w.ok(&["run", "--once"]).await;
        assert!(out.contains("1 new tickets"), "{out}");
        let got = wait_mailbox(c, 1, WAIT).await;
        assert_eq!(
            got.len(),
            1,
            "the acknowledgement went out over OAuth2 SMTP"
        );
    }
    let check1 = w1.ok(&["check"]).await;
    assert!(check1.contains("OAUTHBEARER, token valid"), "{check1}");
    assert!(check1.contains("AUTH OAUTHBEARER"), "{check1}");
    let check2 = w2.ok(&["check"]).await;
    assert!(check2.contains("XOAUTH2"), "{check2}");
    let status = w1.ok(&["auth", "status", "--json"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&status).unwrap();
    let desk = rows
        .iter()
        .find(|r| r["account"] == "desk:soporte")
        .unwrap();
    assert_eq!(desk["signed_in"], true);
    assert_eq!(desk["state"], "ok");
}

#[tokio::test]
async fn a_token_that_expires_mid_run_is_refreshed_and_no_mail_is_lost() {
    idp();
    let w = World::new();
    imap_oauth(&w, &provider());
    sign_in(&w, &["--desk", "soporte"], &w.desk).await;
    w.init().await;
    let mut daemon = w.spawn_daemon();
    let c1 = customer_writes(&w, "Primero").await;
    assert_eq!(wait_mailbox(&c1, 1, WAIT).await.len(), 1);
    let before = idp().refreshes(&w.desk);
    // The provider ends the token; the server drops the session.
    idp().expire_access(&w.desk);
    let kick = std::process::Command::new("doveadm")
        .args([
            "-c",
            &format!("{}/dovecot/dovecot.conf", state_dir().display()),
            "kick",
            &w.desk,
        ])
        .output()
        .expect("doveadm kick");
    assert!(
        kick.status.success(),
        "{}",
        String::from_utf8_lossy(&kick.stderr)
    );
    let customer = format!("cli-{}@cliente.test", uid());
    send(
        &customer,
        &[&w.desk],
        &customer_mail(&customer, &w.desk, "Segundo", "Hola"),
    )
    .await;
    let got = wait_mailbox(&customer, 1, Duration::from_secs(40)).await;
    assert_eq!(
        got.len(),
        1,
        "the second mail was handled after a new token"
    );
    assert!(
        idp().refreshes(&w.desk) > before,
        "hilo refreshed the token"
    );
    assert_eq!(w.tickets().await.len(), 2);
    daemon.kill().await.ok();
}

#[tokio::test]
async fn a_revoked_sign_in_stops_fast_retries_shows_everywhere_and_alerts_once() {
    idp();
    let w = World::new();
    let admin = format!("admin-{}@example.test", uid());
    imap_oauth(&w, &provider());
    w.desk_settings(&format!("admin = [\"{admin}\"]"));
    sign_in(&w, &["--desk", "soporte"], &w.desk).await;
    w.init().await;
    idp().revoke(&w.desk);
    idp().expire_access(&w.desk);
    // A run fails with the provider's words.
    let out = w.hilo(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(75));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("sign in again") && text.contains("AADSTS70008"),
        "{text}"
    );
    // hilo check says so in plain words.
    let out = w.hilo(&["check"]).await;
    let check = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        check.contains("FAILED") && check.contains("sign in again"),
        "{check}"
    );
    let status = w.ok(&["auth", "status"]).await;
    assert!(status.contains("failing since"), "{status}");
    // One alert, however often it fails within the day.
    w.hilo(&["run", "--once"]).await;
    let alerts: Vec<serde_json::Value> = w
        .outbox()
        .await
        .into_iter()
        .filter(|r| r["recipients"] == serde_json::json!([admin]))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    w.ok(&["outbox", "flush"]).await;
    let mail = wait_mailbox(&admin, 1, WAIT).await;
    let body = parsed(&mail[0]).text;
    assert!(body.contains("hilo auth login --desk soporte"), "{body}");

    // The daemon: the metric says so, and it does not hammer the provider.
    let port = 19_000 + (rand::random::<u16>() % 1000);
    w.edit_config(|t| {
        t.replacen(
            "[store]",
            &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n[store]"),
            1,
        )
    });
    let before = idp().refreshes(&w.desk);
    let mut daemon = w.spawn_daemon();
    let scraped = eventually(WAIT, || async move {
        let out = tokio::process::Command::new("curl")
            .args(["-s", &format!("http://127.0.0.1:{port}/metrics")])
            .output()
            .await
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("hilo_auth_ok{desk=\"soporte\"} 0")
    })
    .await;
    assert!(scraped, "hilo_auth_ok{{desk=\"soporte\"}} 0 in the metrics");
    // The daemon logs the refusal with the delay it waits before trying
    // again: the slow one of rejected credentials (300 s and jitter), not
    // the seconds of a server that is down. That delay, read when the
    // daemon decides it, is the proof that it does not hammer.
    let slow = || {
        w.daemon_log().lines().any(|l| {
            l.contains("mailbox unavailable")
                && l.contains("sign in again")
                && regex::Regex::new(r"retry_in=([0-9]+)\.?[0-9]*s\b")
                    .unwrap()
                    .captures(l)
                    .is_some_and(|c| c[1].parse::<u64>().unwrap() >= 300)
        })
    };
    assert!(
        eventually(WAIT, || async { slow() }).await,
        "{}",
        w.daemon_log()
    );
    daemon.kill().await.ok();
    // Refused refreshes are not counted as grants; nothing was granted.
    assert_eq!(idp().refreshes(&w.desk), before);
    let log = w.daemon_log();
    let attempts = log.matches("the OAuth2 login does not work").count();
    assert!((1..=2).contains(&attempts), "{attempts} attempts:\n{log}");
}

#[tokio::test]
async fn a_token_endpoint_that_fails_is_temporary_and_backs_off() {
    idp();
    let w = World::new();
    imap_oauth(&w, &provider());
    sign_in(&w, &["--desk", "soporte"], &w.desk).await;
    w.init().await;
    idp().fail(true);
    // The cached token of `init` is gone with its process: a refresh is needed.
    let out = w.hilo(&["run", "--once"]).await;
    idp().fail(false);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(75), "{text}");
    assert!(text.contains("token endpoint"), "{text}");
    let status = w.ok(&["auth", "status", "--json"]).await;
    assert!(
        status.contains("\"signed_in\": true"),
        "still signed in: {status}"
    );
    // The next run gets through.
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("fetched"), "{out}");
}

#[tokio::test]
async fn a_shared_mailbox_is_opened_with_the_agents_token() {
    idp();
    let w = World::new();
    let agent = format!("agente-{}@example.test", uid());
    // Microsoft 365: the agent's token, the shared mailbox as SASL user;
    // the test provider vouches for the mailbox, as Exchange would.
    let token = idp().access_token(&w.desk);
    imap_oauth(&w, &format!("token_command = \"echo {token}\""));
    w.edit_config(|t| {
        t.replace(
            &format!("username = \"{}\"\nauth = \"oauth2\"", w.desk),
            &format!(
                "username = \"{agent}\"\nmailbox = \"{}\"\nauth = \"oauth2\"",
                w.desk
            ),
        )
    });
    w.init().await;
    let c = customer_writes(&w, "Buzón compartido").await;
    let out = w.ok(&["run", "--once"]).await;
    assert!(out.contains("1 new tickets"), "{out}");
    assert_eq!(wait_mailbox(&c, 1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn a_token_command_that_hangs_times_out() {
    idp();
    let w = World::new();
    imap_oauth(&w, "token_command = \"sleep 600\"");
    let started = std::time::Instant::now();
    let out = w.hilo(&["check"]).await;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(75), "{text}");
    assert!(text.contains("did not finish"), "{text}");
    assert!(took < Duration::from_secs(50), "took {took:?}");
}
