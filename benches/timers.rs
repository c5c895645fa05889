//! Timers and reports at scale (`cargo bench --bench timers`): with N open
//! tickets (`HILO_BENCH_TICKETS`, default 100,000) spread over a year, the
//! time of the first timer pass (every ticket measured), of an idle pass
//! (nothing due: one indexed query), of `Store::sla_next`, and of a
//! year's `hilo report` (one query for every timeline, then the figures).
//! Prints figures; fails on nothing but errors. Under `cargo test
//! --benches` it runs once with 1,000 tickets as a smoke test.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use hilo::clock::ManualClock;
use hilo::config::{Config, TestConfig, TestDesk};
use hilo::mail::Mailbox;
use hilo::model::{Direction, MessageKind, Status};
use hilo::outgoing::templates::Templates;
use hilo::pipeline::Intake;
use hilo::store::{NewMessage, Store, StoreError};

fn config(db: &str) -> Config {
    let toml = TestConfig::new(db)
        .desk(TestDesk::soporte().settings("calendar = \"madrid\""))
        .render()
        + "\n[desk.sla]\nfirst_response = \"4h\"\nnext_response = \"8h\"\nresolution = \"40h\"\n\
           [desk.pending]\nremind_after = [\"3d\"]\nclose_after = \"10d\"\n\n\
           [[calendar]]\nname = \"madrid\"\ntime_zone = \"Europe/Madrid\"\n\
           hours = { mon-fri = [\"09:00-14:00\", \"15:00-18:00\"] }\nholidays = [\"12-25\"]\n";
    Config::from_toml(&toml, Vec::<(String, String)>::new()).expect("config")
}

fn msg<'a>(
    number: i64,
    kind: MessageKind,
    direction: Direction,
    from: &'a Mailbox,
    to: &'a str,
    key: String,
) -> NewMessage<'a> {
    NewMessage {
        ticket: Some(number),
        desk: "soporte",
        direction,
        kind,
        dedup_key: key,
        message_id: None,
        in_reply_to: &[],
        references: &[],
        from,
        to: vec![to],
        cc: vec![],
        subject: "Factura",
        date: None,
        text: "No me llega la factura.",
        new_text: None,
        thread_root: None,
        note: None,
        raw: b"raw",
        draft: None,
        folder: None,
        uid: None,
        about: None,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = if full {
        std::env::var("HILO_BENCH_TICKETS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000)
    } else {
        1_000
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hilo.db");
    let cfg = config(&db.display().to_string());
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let store = Store::open(&db).unwrap().with_clock(clock.clone());
    // A year of tickets, one every few minutes; a third answered and
    // pending, a third resolved, the rest waiting for an answer.
    let step = Duration::seconds(365 * 86_400 / n as i64);
    let customer = Mailbox::new("ana@cliente.test", None);
    let desk = Mailbox::new("soporte@example.test", None);
    let t = Instant::now();
    for chunk in 0..n.div_ceil(1000) {
        store
            .write(|tx| {
                for i in chunk * 1000..((chunk + 1) * 1000).min(n) {
                    clock.set(start + step * i as i32);
                    let number = tx.create_ticket("soporte", None, "Factura", &customer, None)?;
                    let key = format!("k{i}");
                    tx.insert_message(&msg(
                        number,
                        MessageKind::Customer,
                        Direction::In,
                        &customer,
                        &desk.address,
                        key.clone(),
                    ))?;
                    match i % 3 {
                        0 => {}
                        k => {
                            clock.set(start + step * i as i32 + Duration::minutes(90));
                            tx.insert_message(&msg(
                                number,
                                MessageKind::Relay,
                                Direction::Out,
                                &desk,
                                &customer.address,
                                format!("{key}r"),
                            ))?;
                            let s = if k == 1 {
                                Status::Pending
                            } else {
                                Status::Resolved
                            };
                            tx.set_status(number, s, "eva@example.test")?;
                        }
                    }
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
    println!(
        "timers: {n} tickets written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let now = start + Duration::days(365);
    clock.set(now);
    let intake = Intake::new(&cfg, store.clone(), Templates::builtin().unwrap());
    let t = Instant::now();
    let pass = intake.timers().unwrap();
    let first = t.elapsed();
    let t = Instant::now();
    let idle = intake.timers().unwrap();
    let idle_t = t.elapsed();
    let t = Instant::now();
    let next = store.sla_next().unwrap();
    let next_t = t.elapsed();
    println!(
        "timers: first pass over {n} open tickets (all measured): {:.3} s ({} measured, {} breaches, {} reminders, {} closed)",
        first.as_secs_f64(),
        pass.measured,
        pass.breaches,
        pass.reminders,
        pass.closed
    );
    println!(
        "timers: idle pass: {:.3} ms ({} measured); sla_next: {:.3} ms (next: {next:?})",
        idle_t.as_secs_f64() * 1e3,
        idle.measured,
        next_t.as_secs_f64() * 1e3
    );
    // A year's report: one query for every timeline, then the figures.
    let t = Instant::now();
    let since = start;
    let tickets = store.timelines(Some("soporte"), since, now).unwrap();
    let read = t.elapsed();
    let d = &cfg.desks[0];
    let sla = d.sla.as_ref().unwrap();
    let measured: Vec<hilo::report::Measured<'_>> = tickets
        .iter()
        .map(|t| hilo::report::Measured {
            desk: &t.desk,
            assignee: t.assignee.as_deref(),
            tz: d.calendar.tz,
            episodes: hilo::sla::episodes(
                &t.timeline,
                sla.targets(t.priority),
                &sla.pause_in,
                sla.warn_at,
                &d.calendar,
                now,
            ),
        })
        .collect();
    let rows = hilo::report::rows(&measured, hilo::report::By::Week, since, now);
    let total = t.elapsed();
    println!(
        "report: a year, {} tickets, by week ({} rows): {:.3} s ({:.3} s reading the timelines)",
        tickets.len(),
        rows.len(),
        total.as_secs_f64(),
        read.as_secs_f64()
    );
    assert_eq!(pass.measured, n, "every ticket measured once");
    assert_eq!(idle.measured, 0, "nothing due right after");
}
