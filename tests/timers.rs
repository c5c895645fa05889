//! The timers in process, under the manual clock: service-level warnings
//! and breaches, the next instants the daemon sleeps until, the steps of
//! a pending ticket, and the daily digest. No mail server involved; the
//! end-to-end versions through Dovecot and Postfix are in `service.rs`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hilo::clock::ManualClock;
use hilo::config::{Config, TestConfig, TestDesk};
use hilo::model::Status;
use hilo::outgoing::templates::Templates;
use hilo::pipeline::{Intake, Received};
use hilo::store::Store;

struct T {
    _dir: tempfile::TempDir,
    store: Store,
    intake: Intake,
    clock: Arc<ManualClock>,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// One desk on wall time: the first answer due in an hour (warned at half),
/// pending tickets reminded after a day and closed after two, a digest at
/// 08:00 (UTC: no calendar).
fn setup(now: &str) -> T {
    let text = TestConfig::new("unused.db")
        .desk(TestDesk::soporte().settings("notify = [\"equipo@example.test\"]"))
        .render()
        + "\n[desk.sla]\nfirst_response = \"1h\"\nwarn_at = \"50%\"\nescalate_to = [\"jefa@example.test\"]\n\
           [desk.pending]\nremind_after = [\"1d\"]\nclose_after = \"2d\"\nclock = \"wall\"\n\
           [desk.digest]\nat = \"08:00\"\n";
    let config = Config::from_toml(&text, Vec::new()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at(now)));
    let store = Store::open(&dir.path().join("h.db"))
        .unwrap()
        .with_clock(clock.clone());
    let intake = Intake::new(&config, store.clone(), Templates::builtin().unwrap());
    T {
        _dir: dir,
        store,
        intake,
        clock,
    }
}

impl T {
    /// A customer's new mail, Message-ID `<id@cliente.test>`.
    fn mail(&self, id: &str) {
        let raw = format!(
            "From: Ana <ana@cliente.test>\r\nTo: soporte@example.test\r\nSubject: Factura {id}\r\n\
             Message-ID: <{id}@cliente.test>\r\n\r\nNo me llega la factura {id}.\r\n"
        );
        let d = self.intake.desk("soporte").unwrap();
        self.intake
            .process(&d, None, &[Received::new(None, raw.into_bytes())], None)
            .unwrap();
    }

    fn to(&self, who: &str) -> usize {
        let rows = self.store.outbox_list().unwrap();
        rows.iter()
            .filter(|r| r.recipients.iter().any(|x| x == who))
            .count()
    }
}

use hilo::clock::Clock;

#[test]
fn warnings_breaches_and_the_next_instants_under_the_manual_clock() {
    let t = setup("2026-12-01T09:00:00Z");
    t.mail("a1");
    // Changed since measured: due now.
    assert_eq!(
        t.store.sla_next().unwrap(),
        Some(at("2026-12-01T09:00:00Z"))
    );
    let p = t.intake.timers().unwrap();
    assert_eq!((p.measured, p.warnings, p.breaches), (1, 0, 0));
    assert_eq!(
        t.store.sla_next().unwrap(),
        Some(at("2026-12-01T09:30:00Z")),
        "the warning point"
    );
    // Before it, a pass measures nothing.
    t.clock.set(at("2026-12-01T09:29:00Z"));
    assert_eq!(t.intake.timers().unwrap().measured, 0);
    t.clock.set(at("2026-12-01T09:31:00Z"));
    let p = t.intake.timers().unwrap();
    assert_eq!((p.warnings, p.mails), (1, 1));
    assert_eq!(t.to("jefa@example.test"), 1);
    assert_eq!(
        t.store.sla_next().unwrap(),
        Some(at("2026-12-01T10:00:00Z")),
        "the due time"
    );
    // The warning's own mail marked the ticket changed; measured again, nothing new.
    let p = t.intake.timers().unwrap();
    assert_eq!((p.warnings, p.breaches, p.mails), (0, 0, 0));
    t.clock.set(at("2026-12-01T10:01:00Z"));
    let p = t.intake.timers().unwrap();
    assert_eq!((p.breaches, p.mails), (1, 1));
    t.intake.timers().unwrap();
    assert_eq!(t.to("jefa@example.test"), 2, "one warning, one breach");
    assert_eq!(
        t.store.sla_next().unwrap(),
        None,
        "nothing more to wait for"
    );
    // Marked for measuring again (a reload): still nothing repeated.
    assert_eq!(t.store.sla_remeasure_all().unwrap(), 1);
    assert_eq!(t.intake.timers().unwrap().mails, 0);
}

#[test]
fn a_pending_ticket_is_reminded_then_closed_and_a_jump_in_time_sends_only_the_latest() {
    let t = setup("2026-12-01T09:00:00Z");
    t.mail("b1");
    t.mail("b2");
    t.intake.timers().unwrap();
    t.store
        .set_ticket_status(1, Status::Pending, "eva@example.test")
        .unwrap();
    t.store
        .set_ticket_status(2, Status::Pending, "eva@example.test")
        .unwrap();
    t.intake.timers().unwrap();
    assert_eq!(
        t.store.sla_next().unwrap(),
        Some(at("2026-12-02T09:00:00Z")),
        "the first reminder"
    );
    t.clock.set(at("2026-12-02T09:01:00Z"));
    // Ticket 2's customer answers before the reminder goes: nothing for it.
    t.store.set_ticket_status(2, Status::Open, "hilo").unwrap();
    let p = t.intake.timers().unwrap();
    assert_eq!((p.reminders, p.closed), (1, 0));
    assert_eq!(
        t.to("ana@cliente.test"),
        3,
        "two acknowledgements and one reminder"
    );
    // A jump past the close (a suspended machine): closed, without a
    // second reminder.
    t.clock.set(at("2026-12-05T00:00:00Z"));
    let p = t.intake.timers().unwrap();
    assert_eq!((p.reminders, p.closed), (0, 1));
    let list = t.store.list_tickets(&Default::default()).unwrap();
    assert_eq!(list[0].status, Status::Closed);
    assert_eq!(list[1].status, Status::Open);
    assert_eq!(t.to("ana@cliente.test"), 4, "and the closing mail");
}

#[test]
fn the_digest_goes_once_a_day_at_its_hour() {
    let t = setup("2026-12-01T07:59:00Z");
    t.mail("c1");
    let (sent, next) = t.intake.digests(t.clock.now()).unwrap();
    assert_eq!((sent, next), (0, Some(at("2026-12-01T08:00:00Z"))));
    t.clock.set(at("2026-12-01T08:00:00Z"));
    let (sent, next) = t.intake.digests(t.clock.now()).unwrap();
    assert_eq!((sent, next), (1, Some(at("2026-12-02T08:00:00Z"))));
    t.clock.set(at("2026-12-01T17:00:00Z"));
    assert_eq!(t.intake.digests(t.clock.now()).unwrap().0, 0, "once a day");
    t.clock.set(at("2026-12-02T08:30:00Z"));
    assert_eq!(t.intake.digests(t.clock.now()).unwrap().0, 1);
    assert_eq!(
        t.to("equipo@example.test"),
        2 + 1,
        "two digests and the notification"
    );
}
