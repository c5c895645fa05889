//! Service levels end to end: the real binary at chosen instants
//! (`HILO_NOW`), mail through the test Postfix into Dovecot, the clocks
//! read back with `tickets show --json` and `tickets list`.

mod support;

use support::*;

/// A desk with a Madrid calendar (Monday to Friday, 09:00-14:00 and
/// 15:00-18:00), the holidays given, and `sla` as its `[desk.sla]`.
fn world(holidays: &str, sla: &str) -> World {
    world_with("", holidays, sla)
}

/// [`world`], with more lines for the desk's table.
fn world_with(desk: &str, holidays: &str, sla: &str) -> World {
    let w = World::new();
    w.desk_settings(&format!("calendar = \"madrid\"\n{desk}"));
    w.edit_config(|t| {
        format!(
            "{t}\n[desk.sla]\n{sla}\n\n[[calendar]]\nname = \"madrid\"\ntime_zone = \"Europe/Madrid\"\n\
             hours = {{ mon-fri = [\"09:00-14:00\", \"15:00-18:00\"] }}\nholidays = [{holidays}]\n"
        )
    });
    w
}

/// Like [`arrives`], from `from`; the customer's acknowledgement text.
async fn acknowledged(w: &World, now: &str, from: &str) -> String {
    let before = mailbox(&w.desk).await.len();
    send(
        from,
        &[&w.desk],
        &customer_mail(from, &w.desk, "Ayuda", "No puedo entrar."),
    )
    .await;
    wait_mailbox(&w.desk, before + 1, WAIT).await;
    at(w, now, &["run", "--once"]).await;
    support::text(&wait_mailbox(from, 1, WAIT).await[0])
}

/// `hilo ARGS` at instant `now`, asserting exit 0; its stdout.
async fn at(w: &World, now: &str, args: &[&str]) -> String {
    let out = w.hilo_with(args, None, &[("HILO_NOW", now)]).await;
    assert!(
        out.status.success(),
        "HILO_NOW={now} hilo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sends a customer's mail through Postfix and lets hilo take it in at
/// `now`; the new ticket's number.
async fn arrives(w: &World, now: &str, body: &str) -> i64 {
    let before = mailbox(&w.desk).await.len();
    let from = format!("cliente-{}@cliente.test", uid());
    send(
        &from,
        &[&w.desk],
        &customer_mail(&from, &w.desk, "Ayuda", body),
    )
    .await;
    wait_mailbox(&w.desk, before + 1, WAIT).await;
    at(w, now, &["run", "--once"]).await;
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&at(w, now, &["tickets", "list", "--json"]).await).unwrap();
    list.last().expect("a ticket")["number"].as_i64().unwrap()
}

async fn sla(w: &World, now: &str, n: i64) -> serde_json::Value {
    let out = at(w, now, &["tickets", "show", &n.to_string(), "--json"]).await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["sla"].clone()
}

/// The clock starts at `HILO_NOW` and runs on while the binary works:
/// times are right to within a few seconds.
const SLACK: i64 = 30;

fn near(v: &serde_json::Value, want: &str, all: &serde_json::Value) {
    let got = chrono::DateTime::parse_from_rfc3339(
        v.as_str().unwrap_or_else(|| panic!("no time in {all}")),
    )
    .unwrap();
    let want = chrono::DateTime::parse_from_rfc3339(want).unwrap();
    let off = (got - want).num_seconds().abs();
    assert!(off <= SLACK, "{got} is not {want}: {all}");
}

fn secs(v: &serde_json::Value, want: i64, all: &serde_json::Value) {
    let got = v.as_i64().unwrap();
    assert!(
        (got - want).abs() <= SLACK,
        "{got} s is not {want} s: {all}"
    );
}

fn clock<'a>(sla: &'a serde_json::Value, which: &str) -> &'a serde_json::Value {
    let e = sla["episodes"].as_array().unwrap().last().unwrap();
    e["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c["which"] == which)
        .unwrap_or_else(|| panic!("no {which} clock in {sla}"))
}

#[tokio::test]
async fn a_friday_evening_mail_is_not_breached_on_monday_morning() {
    let w = world("", "first_response = \"4h\"\nresolution = \"40h\"");
    at(&w, "2026-11-27T16:00:00Z", &["run", "--once"]).await;
    // Friday 27 November, 17:55 in Madrid: five minutes before closing.
    let n = arrives(&w, "2026-11-27T16:55:00Z", "No puedo entrar.").await;
    let stamp = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let created = w.ticket(n).await["created_at"].clone();
    assert!(
        stamp(&created).starts_with("2026-11-27T16:55:0"),
        "{created}"
    );
    // Monday 30 November, 09:00 in Madrid.
    let s = sla(&w, "2026-11-30T08:00:00Z", n).await;
    let first = clock(&s, "first_response");
    assert_eq!(first["breached"], false, "{s}");
    assert_eq!(s["standing"], "running", "{s}");
    // Five minutes on Friday, 3 h 55 min on Monday: 12:55 in Madrid.
    near(&first["due_at"], "2026-11-30T11:55:00Z", &s);
    assert!(first["elapsed_secs"].as_i64().unwrap() < 400, "{s}");
    // At 12:56 it is late; `tickets list` finds it by breach and due.
    let late = "2026-11-30T11:56:00Z";
    assert_eq!(sla(&w, late, n).await["standing"], "breached");
    let breached = at(&w, late, &["tickets", "list", "--breached", "--json"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&breached).unwrap();
    assert_eq!(rows.len(), 1, "{breached}");
    assert_eq!(rows[0]["sla"]["standing"], "breached");
    let quiet = at(
        &w,
        "2026-11-30T08:00:00Z",
        &["tickets", "list", "--breached", "--json"],
    )
    .await;
    assert_eq!(quiet.trim(), "[]");
}

#[tokio::test]
async fn a_monday_holiday_moves_the_due_time_to_tuesday() {
    let w = world("\"2026-12-07\"", "first_response = \"4h\"");
    at(&w, "2026-12-04T16:00:00Z", &["run", "--once"]).await;
    // Friday 4 December 17:55; Monday the 7th is a holiday.
    let n = arrives(&w, "2026-12-04T16:55:00Z", "La factura no cuadra.").await;
    let s = sla(&w, "2026-12-07T10:00:00Z", n).await;
    near(
        &clock(&s, "first_response")["due_at"],
        "2026-12-08T11:55:00Z",
        &s,
    );
    assert_eq!(s["standing"], "running", "not breached on the holiday: {s}");
}

#[tokio::test]
async fn a_ticket_across_the_dst_change_is_due_at_the_right_hour() {
    let w = world("", "first_response = \"4h\"");
    at(&w, "2026-10-23T14:00:00Z", &["run", "--once"]).await;
    // Friday 23 October 17:00 in Madrid (15:00Z, summer time): one hour
    // on Friday. Sunday the 25th has 25 hours; Monday is on winter time,
    // so three hours after 09:00 CET is 12:00 CET, 11:00Z.
    let n = arrives(&w, "2026-10-23T15:00:00Z", "El informe no sale.").await;
    let s = sla(&w, "2026-10-26T08:30:00Z", n).await;
    near(
        &clock(&s, "first_response")["due_at"],
        "2026-10-26T11:00:00Z",
        &s,
    );
    // Ordered by due time, with a later ticket after it.
    let m = arrives(&w, "2026-10-26T09:00:00Z", "Otra cosa.").await;
    let out = at(
        &w,
        "2026-10-26T09:00:00Z",
        &["tickets", "list", "--sort", "due", "--json"],
    )
    .await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let order: Vec<i64> = rows.iter().map(|r| r["number"].as_i64().unwrap()).collect();
    assert_eq!(order, [n, m], "{out}");
    let soon = at(
        &w,
        "2026-10-26T09:00:00Z",
        &["tickets", "list", "--due-within", "3h", "--json"],
    )
    .await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&soon).unwrap();
    assert_eq!(rows.len(), 1, "only the first is due by 12:00Z: {soon}");
}

#[tokio::test]
async fn pending_pauses_the_clock_and_a_reply_starts_next_response() {
    let w = world(
        "",
        "first_response = \"4h\"\nnext_response = \"2h\"\nresolution = \"16h\"\npause_in = [\"pending\"]",
    );
    at(&w, "2026-12-01T08:00:00Z", &["run", "--once"]).await;
    // Tuesday 1 December 10:00 in Madrid.
    let n = arrives(&w, "2026-12-01T09:00:00Z", "No me llegan los correos.").await;
    // The agent answers at 11:00; an answer leaves the ticket pending.
    at(
        &w,
        "2026-12-01T10:00:00Z",
        &[
            "tickets",
            "reply",
            &n.to_string(),
            "--body",
            "¿Desde cuándo?",
            "--as",
            "Eva <eva@example.test>",
        ],
    )
    .await;
    assert_eq!(w.ticket(n).await["status"], "pending");
    // Two business days later, still paused: the resolution clock has
    // only the hour before the answer.
    let s = sla(&w, "2026-12-03T10:00:00Z", n).await;
    assert_eq!(s["standing"], "paused", "{s}");
    let first = clock(&s, "first_response");
    assert_eq!(first["stop"], "met", "{s}");
    secs(&first["elapsed_secs"], 3600, &s);
    secs(&clock(&s, "resolution")["paused_secs"], 16 * 3600, &s);
    let res = clock(&s, "resolution");
    secs(&res["elapsed_secs"], 3600, &s);
    assert_eq!(res["paused"], true, "{s}");
    assert!(res["due_at"].is_null(), "nothing is due while paused: {s}");
    // The customer writes back on Thursday 3 December at 11:00.
    let before = mailbox(&w.desk).await.len();
    let who = w.ticket(n).await["requester"].as_str().unwrap().to_string();
    let tag = format!("[{}-{n}]", w.tag);
    send(
        &who,
        &[&w.desk],
        &customer_mail(
            &who,
            &w.desk,
            &format!("RE: {tag} Ayuda"),
            "Desde el lunes.",
        ),
    )
    .await;
    wait_mailbox(&w.desk, before + 1, WAIT).await;
    at(&w, "2026-12-03T10:00:00Z", &["run", "--once"]).await;
    let s = sla(&w, "2026-12-03T10:30:00Z", n).await;
    assert_eq!(s["standing"], "running", "{s}");
    let next = clock(&s, "next_response");
    near(&next["due_at"], "2026-12-03T12:00:00Z", &s);
    // Resolution resumed with its hour: 15 h left of 16, from 11:00 on
    // Thursday, in 8-hour days: Thursday 6 h (to 18:00), Friday 8 h, and
    // one hour on Monday 7 December (10:00 Madrid, 09:00Z).
    // `hilo report` reads the same clocks: one first response of an hour.
    let csv = at(
        &w,
        "2026-12-03T10:30:00Z",
        &["report", "--since", "2026-12-01", "--format", "csv"],
    )
    .await;
    let row: Vec<&str> = csv.lines().nth(1).expect("one row").split(',').collect();
    assert_eq!((row[0], row[1], row[5]), ("soporte", "1", "1"), "{csv}");
    secs(&serde_json::json!(row[6].parse::<i64>().unwrap()), 3600, &s);
    near(
        &clock(&s, "resolution")["due_at"],
        "2026-12-07T09:00:00Z",
        &s,
    );
}

#[tokio::test]
async fn a_bad_hilo_now_is_refused_by_name() {
    let w = World::new();
    let out = w
        .hilo_with(&["tickets", "list"], None, &[("HILO_NOW", "el lunes")])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HILO_NOW=\"el lunes\" is not an RFC 3339 instant"),
        "{err}"
    );
}

/// The escalations in `who`'s mailbox (their subjects carry `·`).
async fn escalations(who: &str) -> Vec<Vec<u8>> {
    mailbox(who)
        .await
        .into_iter()
        .filter(|m| parsed(m).subject.contains('·'))
        .collect()
}

#[tokio::test]
async fn one_warning_and_one_breach_reach_the_lead_across_restarts() {
    let lead = format!("jefa-{}@soporte.example.com", uid());
    let w = world_with(
        &format!("agents = [\"{lead}\"]"),
        "",
        &format!("first_response = \"2h\"\nwarn_at = \"50%\"\nescalate_to = [\"{lead}\"]"),
    );
    at(&w, "2026-12-01T08:00:00Z", &["run", "--once"]).await;
    // Tuesday 1 December, 10:00 in Madrid: warned at 11:00, due at 12:00.
    let n = arrives(&w, "2026-12-01T09:00:00Z", "No arranca el programa.").await;
    at(&w, "2026-12-01T09:59:00Z", &["run", "--once"]).await;
    settled(&[&w]).await;
    assert!(escalations(&lead).await.is_empty(), "nothing before 11:00");
    // Past the warning point; then hilo restarts (another run) twice.
    for now in [
        "2026-12-01T10:01:00Z",
        "2026-12-01T10:02:00Z",
        "2026-12-01T10:30:00Z",
    ] {
        at(&w, now, &["run", "--once"]).await;
    }
    settled(&[&w]).await;
    let got = escalations(&lead).await;
    assert_eq!(got.len(), 1, "one warning: {:#?}", w.outbox().await);
    let subject = parsed(&got[0]).subject;
    assert!(
        subject.contains(&format!("[{}-{n} · vence 12:00]", w.tag)),
        "{subject}"
    );
    let text = support::text(&got[0]);
    assert!(
        text.contains("primera respuesta") && text.contains("Europe/Madrid"),
        "{text}"
    );
    // Past the target; two more runs.
    for now in [
        "2026-12-01T11:01:00Z",
        "2026-12-01T11:05:00Z",
        "2026-12-01T12:00:00Z",
    ] {
        at(&w, now, &["run", "--once"]).await;
    }
    settled(&[&w]).await;
    let got = escalations(&lead).await;
    assert_eq!(got.len(), 2, "one warning and one breach");
    let breach = got
        .iter()
        .find(|m| parsed(m).subject.contains("vencida 12:00"))
        .expect("the breach mail");
    // The lead acts on it by reply, with the proof of an agent's mail.
    let id = parsed(breach).message_id.unwrap();
    let reply = format!(
        "From: Jefa <{lead}>\r\nTo: {}\r\nSubject: RE: {}\r\nMessage-ID: <{}@soporte.example.com>\r\n\
         In-Reply-To: <{id}>\r\nReferences: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         #prioridad alta\r\n#asignar {lead}\r\n",
        w.desk,
        parsed(breach).subject,
        uid()
    );
    let before = mailbox(&w.desk).await.len();
    send(&lead, &[&w.desk], reply.as_bytes()).await;
    wait_mailbox(&w.desk, before + 1, WAIT).await;
    at(&w, "2026-12-01T11:10:00Z", &["run", "--once"]).await;
    let t = w.ticket(n).await;
    assert_eq!(
        (t["priority"].as_str(), t["assignee"].as_str()),
        (Some("high"), Some(lead.as_str())),
        "{t}"
    );
}

#[tokio::test]
async fn the_acknowledgement_promises_a_time_in_the_desks_language() {
    for (lang, want) in [
        (
            "es",
            "Le responderemos, a más tardar, el martes 8 de diciembre a las 11:00 (hora de Madrid). \
             Tenga en cuenta que el lunes 7 de diciembre es festivo.",
        ),
        (
            "en",
            "We will answer you by 11:00 on Tuesday 8 December (Madrid time). \
             Please note that we are closed on Monday 7 December for a holiday.",
        ),
    ] {
        let w = world("\"2026-12-07\"", "first_response = \"4h\"");
        w.edit_config(|t| t.replacen("language = \"es\"", &format!("language = \"{lang}\""), 1));
        at(&w, "2026-12-04T14:00:00Z", &["run", "--once"]).await;
        // Friday 4 December, 16:00 in Madrid.
        let who = format!("cliente-{}@cliente.test", uid());
        let ack = acknowledged(&w, "2026-12-04T15:00:00Z", &who).await;
        assert!(ack.replace('\n', " ").contains(want), "{lang}: {ack}");
        // On Saturday the acknowledgement says when the team is back.
        let who = format!("cliente-{}@cliente.test", uid());
        let ack = acknowledged(&w, "2026-12-05T10:00:00Z", &who).await;
        let back = if lang == "es" { "volvemos el martes 8 de diciembre a las 09:00" } else { "we are back at 09:00 on Tuesday 8 December" };
        assert!(ack.replace('\n', " ").contains(back), "{lang}: {ack}");
    }
}

/// An answer from the command line at `now`: the ticket waits on the customer.
async fn answered(w: &World, now: &str, n: i64) {
    at(
        w,
        now,
        &[
            "tickets",
            "reply",
            &n.to_string(),
            "--body",
            "¿Puede enviarnos una captura?",
            "--as",
            "Eva <eva@example.test>",
        ],
    )
    .await;
    assert_eq!(w.ticket(n).await["status"], "pending");
}

/// A mail from `from` to the desk in the thread of `raw`, taken in at `now`.
async fn replies(w: &World, now: &str, from: &str, raw: &[u8], extra: &str, body: &str) {
    let m = parsed(raw);
    let id = m.message_id.unwrap();
    let mail = format!(
        "From: {from}\r\nTo: {}\r\nSubject: RE: {}\r\nMessage-ID: <{}@cliente.test>\r\n\
         In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        w.desk,
        m.subject,
        uid()
    );
    let before = mailbox(&w.desk).await.len();
    send(from, &[&w.desk], mail.as_bytes()).await;
    wait_mailbox(&w.desk, before + 1, WAIT).await;
    at(w, now, &["run", "--once"]).await;
}

#[tokio::test]
async fn reminders_and_the_close_fire_at_their_times_and_a_reply_cancels_them() {
    let w = world(
        "",
        "first_response = \"4h\"\n\n[desk.pending]\nremind_after = [\"2d\", \"4d\"]\nclose_after = \"6d\"\nclock = \"wall\"",
    );
    at(&w, "2026-12-01T08:00:00Z", &["run", "--once"]).await;
    let who = format!("cliente-{}@cliente.test", uid());
    let other = format!("cliente-{}@cliente.test", uid());
    let mut tickets = Vec::new();
    for c in [&who, &other] {
        acknowledged(&w, "2026-12-01T09:00:00Z", c).await;
        let list: Vec<serde_json::Value> = serde_json::from_str(
            &at(&w, "2026-12-01T09:00:00Z", &["tickets", "list", "--json"]).await,
        )
        .unwrap();
        tickets.push(list.last().unwrap()["number"].as_i64().unwrap());
    }
    let (n, m) = (tickets[0], tickets[1]);
    // Both answered at 10:00 on Tuesday: pending from then.
    answered(&w, "2026-12-01T10:00:00Z", n).await;
    answered(&w, "2026-12-01T10:00:00Z", m).await;
    at(&w, "2026-12-01T10:00:00Z", &["outbox", "flush"]).await;
    wait_mailbox(&who, 2, WAIT).await;
    at(&w, "2026-12-03T09:59:00Z", &["run", "--once"]).await;
    settled(&[&w]).await;
    assert_eq!(
        mailbox(&who).await.len(),
        2,
        "acknowledgement and answer only"
    );
    // Two days on: the first reminder, once, however often hilo runs.
    for now in ["2026-12-03T10:01:00Z", "2026-12-03T10:30:00Z"] {
        at(&w, now, &["run", "--once"]).await;
    }
    settled(&[&w]).await;
    let got = wait_mailbox(&who, 3, WAIT).await;
    assert_eq!(got.len(), 3);
    let reminder = got.last().unwrap().clone();
    let text = support::text(&reminder).replace('\n', " ");
    assert!(
        text.contains("esperamos su respuesta")
            && text.contains("la cerraremos el lunes 7 de diciembre"),
        "{text}"
    );
    assert_eq!(parsed(&reminder).in_reply_to.len(), 1, "in the thread");
    // The first customer's out-of-office changes nothing; the other
    // customer really answers, which cancels the rest of his steps.
    replies(
        &w,
        "2026-12-04T08:00:00Z",
        &who,
        &reminder,
        "Auto-Submitted: auto-replied\r\n",
        "Estoy fuera hasta el lunes.",
    )
    .await;
    assert_eq!(
        w.ticket(n).await["status"],
        "pending",
        "an out-of-office is no answer"
    );
    let other_reminder = wait_mailbox(&other, 3, WAIT).await.last().unwrap().clone();
    replies(
        &w,
        "2026-12-04T08:00:00Z",
        &other,
        &other_reminder,
        "",
        "Adjunto la captura.",
    )
    .await;
    assert_eq!(w.ticket(m).await["status"], "open");
    // The second reminder on Saturday; the close on Monday 10:00.
    at(&w, "2026-12-05T10:01:00Z", &["run", "--once"]).await;
    settled(&[&w]).await;
    assert_eq!(
        wait_mailbox(&who, 4, WAIT).await.len(),
        4,
        "second reminder"
    );
    at(&w, "2026-12-07T09:59:00Z", &["run", "--once"]).await;
    assert_eq!(w.ticket(n).await["status"], "pending");
    at(&w, "2026-12-07T10:01:00Z", &["run", "--once"]).await;
    at(&w, "2026-12-07T11:00:00Z", &["run", "--once"]).await;
    assert_eq!(w.ticket(n).await["status"], "closed");
    settled(&[&w]).await;
    let got = wait_mailbox(&who, 5, WAIT).await;
    assert_eq!(got.len(), 5, "one closing mail");
    let text = support::text(got.last().unwrap()).replace('\n', " ");
    assert!(
        text.contains("Hemos cerrado la solicitud") && text.contains("la reabriremos"),
        "{text}"
    );
    // The one who answered got no more reminders.
    assert_eq!(
        mailbox(&other).await.len(),
        3,
        "acknowledgement, answer, first reminder"
    );
    assert_eq!(w.ticket(m).await["status"], "open");
}

#[tokio::test]
async fn the_digest_goes_once_a_working_day_at_eight_and_not_on_the_holiday() {
    let lead = format!("jefa-{}@soporte.example.com", uid());
    let w = world_with(
        &format!("agents = [\"{lead}\"]"),
        "\"2026-12-08\"",
        &format!("first_response = \"4h\"\n\n[desk.digest]\nat = \"08:00\"\nto = [\"{lead}\"]"),
    );
    at(&w, "2026-12-04T08:00:00Z", &["run", "--once"]).await;
    // Friday 4 December, 11:00 in Madrid: due at 15:00 (lunch), unanswered.
    let n = arrives(&w, "2026-12-04T10:00:00Z", "La factura no cuadra.").await;
    let digests = || async {
        settled(&[&w]).await;
        mailbox(&lead)
            .await
            .into_iter()
            .filter(|m| parsed(m).subject.starts_with("Resumen diario"))
            .collect::<Vec<_>>()
    };
    // Friday's came at the first run after 08:00 (the ticket was not there yet).
    assert_eq!(digests().await.len(), 1, "Friday's");
    // Saturday and Sunday are no working days; Monday 7:59 is too early.
    for now in [
        "2026-12-05T09:00:00Z",
        "2026-12-06T09:00:00Z",
        "2026-12-07T06:59:00Z",
    ] {
        at(&w, now, &["run", "--once"]).await;
    }
    assert_eq!(
        digests().await.len(),
        1,
        "none on the weekend, none before 08:00"
    );
    // Monday 08:01, then two restarts: one digest.
    for now in [
        "2026-12-07T07:01:00Z",
        "2026-12-07T07:30:00Z",
        "2026-12-07T10:00:00Z",
    ] {
        at(&w, now, &["run", "--once"]).await;
    }
    let got = digests().await;
    assert_eq!(got.len(), 2, "Monday's, once");
    let text = support::text(got.last().unwrap());
    let tag = format!("[{}-{n}]", w.tag);
    assert!(
        parsed(got.last().unwrap())
            .subject
            .contains("el lunes 7 de diciembre"),
        "{}",
        parsed(got.last().unwrap()).subject
    );
    for want in [
        "Plazo vencido (1):",
        "Sin asignar (1):",
        &tag,
        "venció vie 4 16:00",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // The lead acts on Monday's digest by reply, one ticket a line.
    let bare = tag.trim_matches(['[', ']']).to_string();
    let body = format!(
        "{bare} #asignar {lead} #prioridad alta\r\n{}-999 #cerrar\r\n{bare} #nota algo",
        w.tag
    );
    replies(
        &w,
        "2026-12-07T08:00:00Z",
        &lead,
        got.last().unwrap(),
        "",
        &body,
    )
    .await;
    let t = w.ticket(n).await;
    assert_eq!(
        (t["assignee"].as_str(), t["priority"].as_str()),
        (Some(lead.as_str()), Some("high")),
        "{t}"
    );
    assert_eq!(t["status"], "new", "the note line did nothing");
    settled(&[&w]).await;
    let confirmation = mailbox(&lead)
        .await
        .into_iter()
        .find(|m| support::text(m).contains("Órdenes de su respuesta al resumen"))
        .expect("a confirmation");
    let c = support::text(&confirmation);
    assert!(
        c.contains(&format!("{tag}: asignada a {lead}; prioridad: alta")),
        "{c}"
    );
    assert!(
        c.contains("-999 #cerrar»: no nombra una solicitud de este buzón"),
        "{c}"
    );
    assert!(c.contains("no entendido: #nota algo"), "{c}");
    // A stranger's reply to the digest (no proof) acts on nothing.
    let before = w.ticket(n).await;
    replies(
        &w,
        "2026-12-07T08:10:00Z",
        "intruso@cliente.test",
        got.last().unwrap(),
        "",
        &format!("{bare} #cerrar"),
    )
    .await;
    assert_eq!(w.ticket(n).await["status"], before["status"]);
    // Tuesday 8 is a holiday; Wednesday's comes.
    at(&w, "2026-12-08T07:05:00Z", &["run", "--once"]).await;
    assert_eq!(digests().await.len(), 2, "not on the holiday");
    at(&w, "2026-12-09T07:05:00Z", &["run", "--once"]).await;
    assert_eq!(digests().await.len(), 3, "Wednesday's");
}

#[tokio::test]
async fn an_agents_recordar_comes_back_once_at_its_time() {
    let agent = format!("eva-{}@soporte.example.com", uid());
    let w = world_with(
        &format!("agents = [\"{agent}\"]"),
        "",
        "first_response = \"4h\"",
    );
    at(&w, "2026-12-01T08:00:00Z", &["run", "--once"]).await;
    let n = arrives(&w, "2026-12-01T09:00:00Z", "¿Cuándo llega el pedido?").await;
    let notification = wait_mailbox(&agent, 1, WAIT).await[0].clone();
    // Tuesday 10:10 in Madrid: "remind me in two days".
    replies(
        &w,
        "2026-12-01T09:10:00Z",
        &agent,
        &notification,
        "",
        "#recordar 2d",
    )
    .await;
    settled(&[&w]).await;
    let got = wait_mailbox(&agent, 2, WAIT).await;
    let report = support::text(got.last().unwrap());
    assert!(
        report.contains("se le recordará el jueves 3 de diciembre a las 10:10"),
        "{report}"
    );
    at(&w, "2026-12-02T09:10:00Z", &["run", "--once"]).await;
    settled(&[&w]).await;
    assert_eq!(mailbox(&agent).await.len(), 2, "not yet");
    for now in ["2026-12-03T09:11:00Z", "2026-12-03T09:30:00Z"] {
        at(&w, now, &["run", "--once"]).await;
    }
    settled(&[&w]).await;
    let got = mailbox(&agent).await;
    assert_eq!(got.len(), 3, "one reminder");
    let text = support::text(got.last().unwrap());
    let tag = format!("[{}-{n}]", w.tag);
    assert!(
        text.contains("Recordatorio que pidió con #recordar") && text.contains(&tag),
        "{text}"
    );
    assert!(parsed(got.last().unwrap()).subject.contains(&tag));
}

#[tokio::test]
async fn the_weekly_report_reaches_the_lead_once_with_its_chart_after_a_monday_holiday() {
    let lead = format!("jefa-{}@soporte.example.com", uid());
    // Monday 7 December is a holiday: the report waits for Tuesday 08:00.
    let w = world(
        "\"2026-12-07\"",
        &format!(
            "first_response = \"4h\"\nescalate_to = [\"{lead}\"]\n\n\
             [desk.report]\nweekday = \"mon\"\nat = \"08:00\""
        ),
    );
    at(&w, "2026-12-01T08:00:00Z", &["run", "--once"]).await;
    // Tuesday 1 December, 11:00 in Madrid: answered at 12:00 (1h).
    let a = arrives(&w, "2026-12-01T10:00:00Z", "La factura no cuadra.").await;
    answered(&w, "2026-12-01T11:00:00Z", a).await;
    // Wednesday 2 December, 11:00: never answered, past 16:00 it is breached.
    let _b = arrives(&w, "2026-12-02T10:00:00Z", "No puedo entrar.").await;
    at(&w, "2026-12-02T16:00:00Z", &["run", "--once"]).await;
    let reports = || async {
        settled(&[&w]).await;
        mailbox(&lead)
            .await
            .into_iter()
            .filter(|m| parsed(m).subject.starts_with("Informe semanal"))
            .collect::<Vec<_>>()
    };
    for now in [
        "2026-12-07T07:05:00Z",
        "2026-12-07T12:00:00Z",
        "2026-12-08T06:59:00Z",
    ] {
        at(&w, now, &["run", "--once"]).await;
    }
    // The first run, on Tuesday 1 December, sent the week before's (this
    // week's Monday 08:00 had passed); nothing since.
    let got = reports().await;
    assert_eq!(got.len(), 1, "none on the holiday, none before 08:00");
    assert!(
        parsed(&got[0])
            .subject
            .ends_with("del 23 de noviembre al 29 de noviembre"),
        "{}",
        parsed(&got[0]).subject
    );
    for now in ["2026-12-08T07:01:00Z", "2026-12-08T07:30:00Z"] {
        at(&w, now, &["run", "--once"]).await;
    }
    let got = reports().await;
    assert_eq!(got.len(), 2, "Tuesday's, once across two runs");
    let m = parsed(&got[1]);
    assert_eq!(
        m.subject,
        "Informe semanal de Soporte: del 30 de noviembre al 6 de diciembre",
    );
    let text = support::text(&got[1]);
    for want in [
        "Solicitudes: nuevas 2 (la semana anterior, entre nuevas y reabiertas: 0), reabiertas 0, resueltas 0, fuera de plazo 1.",
                "Resolución: nada que medir.",
        "(sin asignar): nuevas 2, reabiertas 0, resueltas 0, fuera de plazo 1; primera respuesta, mediana ",
        "lun 30: nuevas 0, resueltas 0, fuera de plazo 0",
        "mar 1: nuevas 1, resueltas 0, fuera de plazo 0",
        "mié 2: nuevas 1, resueltas 0, fuera de plazo 1",
        "dom 6: nuevas 0",
        "El gráfico adjunto",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    // Answered an hour after it came, give or take the binary's own
    // running seconds (the clock runs on from HILO_NOW).
    assert!(
        text.contains("Primera respuesta: mediana 1h, p90 1h (n = 1).")
            || text.contains("Primera respuesta: mediana 59m, p90 59m (n = 1)."),
        "{text}"
    );
    let png = m
        .attachments
        .iter()
        .find(|a| a.content_type == "image/png")
        .unwrap_or_else(|| {
            panic!(
                "no chart: {:?}",
                m.attachments
                    .iter()
                    .map(|a| &a.content_type)
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(png.filename.as_deref(), Some("informe-2026-W50.png"));
    let info = png::Decoder::new(&png.data[..]).read_info().unwrap();
    assert_eq!((info.info().width, info.info().height), (640, 320));
    // The next Monday is a working day: the second report counts the week
    // before it as "the week before".
    at(&w, "2026-12-14T07:01:00Z", &["run", "--once"]).await;
    let got = reports().await;
    assert_eq!(got.len(), 3);
    let text = support::text(&got[2]);
    assert!(
        text.contains("Solicitudes: nuevas 0 (la semana anterior, entre nuevas y reabiertas: 2)"),
        "{text}"
    );
}
