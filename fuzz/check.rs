// The check shared by the fuzz target (fuzz/fuzz_targets/pipeline.rs) and
// the regression test (tests/fuzz_regressions.rs), included by both: any
// bytes through parse → classify → thread → decide, then the
// acknowledgement composed from them and parsed back. Nothing may panic,
// and no header line a sender controls may be injected or overlong.

use std::sync::LazyLock;

use hilo::classify::{classify, Context};
use hilo::config::Config;
use hilo::desk::{decide, Policy};
use hilo::mail::msgid::Signer;
use hilo::mail::subject::TagMatcher;
use hilo::template::Templates;
use hilo::thread::{self, Lookup, TicketRef};

/// Every lookup finds ticket 7 of desk `soporte`, with the sender as a
/// participant: the threading rules all get to run.
struct Found;

impl Lookup for Found {
    type Error = std::convert::Infallible;
    fn ticket(&self, number: i64) -> Result<Option<TicketRef>, Self::Error> {
        Ok((number == 7).then(|| TicketRef {
            number,
            desk: "soporte".into(),
            status: hilo::model::Status::Open,
            closed_at: None,
        }))
    }
    fn ticket_by_message_ids(&self, _: &str, ids: &[&str]) -> Result<Option<i64>, Self::Error> {
        Ok(ids.iter().any(|i| i.starts_with('7')).then_some(7))
    }
    fn is_participant(&self, _: i64, _: &str) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn ticket_by_thread_root(&self, _: &str, _: &str) -> Result<Option<i64>, Self::Error> {
        Ok(Some(7))
    }
}

struct World {
    config: Config,
    templates: Templates,
    signer: Signer,
    tags: TagMatcher,
    own: Vec<String>,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let config = Config::from_toml(
        "[store]\npath = \"x.db\"\n[smtp]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"none\"\n[[desk]]\nname = \"soporte\"\naddress = \"soporte@example.test\"\ntag = \"SOP\"\nlanguage = \"es\"\n[desk.imap]\nhost = \"127.0.0.1\"\nport = 143\nsecurity = \"none\"\nusername = \"u\"\npassword = \"p\"\n",
        Vec::<(String, String)>::new(),
    )
    .expect("config");
    World {
        templates: Templates::builtin().expect("templates"),
        config,
        signer: Signer::new(b"fuzz"),
        tags: TagMatcher::new("SOP"),
        own: vec!["soporte@example.test".into()],
    }
});

/// The whole check on one input; panics on a defect.
pub fn check(data: &[u8]) {
    let w = &*WORLD;
    let Ok(msg) = hilo::mail::parse(data) else {
        return;
    };
    let class = classify(
        &msg,
        &Context {
            own_addresses: &w.own,
            signer: &w.signer,
        },
    );
    let reported = hilo::mail::parse::reported_message_ids(data);
    let t = thread::resolve(&Found, "soporte", &w.tags, &w.signer, &msg, &reported).unwrap();
    let policy = Policy {
        reopen_after_close: std::time::Duration::from_secs(86_400),
        now: chrono::Utc::now(),
    };
    let _ = decide(&class, &t, &policy);
    let _ = hilo::mail::parse::bounce_reason(data, &msg.subject);
    let _ = hilo::mail::parse::content_digest(data);
    let ticket_subject = w.tags.clean_subject(&msg.subject).into_owned();
    let ack = hilo::ack::acknowledgement(hilo::ack::AckInput {
        desk: &w.config.desks[0],
        tags: &w.tags,
        templates: &w.templates,
        signer: &w.signer,
        number: 7,
        ticket_subject: &ticket_subject,
        msg: &msg,
        new_text: &msg.new_text,
        closed_before: None,
    });
    let Ok(out) = ack else {
        return; // an address lettre refuses: the row would fail, not panic
    };
    let raw = match out.raw {
        Some(raw) => raw,
        None => hilo::mail::compose::compose(&out.draft).expect("a checked draft composes"),
    };
    // Every header line we wrote stays within RFC 5322's limit, and the
    // mail parses back with one recipient.
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header section");
    for line in raw[..head_end].split(|b| *b == b'\n') {
        assert!(line.len() <= 998, "header line of {} bytes", line.len());
    }
    let back = hilo::mail::parse(&raw).expect("our mail parses");
    assert_eq!(back.to.len(), 1, "one recipient");
    assert!(back.cc.is_empty(), "no injected Cc");
}
