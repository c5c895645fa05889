//! Micro-benchmarks (criterion): parse + classify + thread + decide of one
//! message on realistic fixtures (plain, HTML with an attachment, 1 MB), and
//! the store transaction of one new ticket with its acknowledgement.
//! `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::collections::HashMap;

use hilo::config::Config;
use hilo::mail::msgid::Signer;
use hilo::outgoing::templates::Templates;
use hilo::pipeline::classify::{classify, Context};
use hilo::pipeline::decide::{decide, Input};
use hilo::pipeline::memory::MemoryLookup;
use hilo::pipeline::{thread, Intake, Received};
use hilo::store::Store;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A 1 MB message: text plus a base64 attachment.
fn one_megabyte() -> Vec<u8> {
    use base64::Engine;
    let data: Vec<u8> = (0..750_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: Ana <ana@cliente.test>\r\nTo: soporte@example.test\r\nSubject: Factura escaneada\r\nMessage-ID: <big@cliente.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto la factura escaneada.\r\n--b\r\nContent-Type: application/pdf; name=\"factura.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"factura.pdf\"\r\n\r\n{}\r\n--b--\r\n",
        wrapped.join("\r\n")
    )
    .into_bytes()
}

fn decide_bench(c: &mut Criterion) {
    let signer = Signer::new(b"bench");
    let own = vec!["soporte@example.test".to_string()];
    let (_dir, intake) = intake_on_disk();
    let desks = intake.desks();
    let lookup = MemoryLookup::default();
    let now = chrono::Utc::now();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("plain", fixture("clients/gmail_new_request.eml")),
        (
            "html+attachment",
            fixture("clients/gmail_reply_with_pdf.eml"),
        ),
        ("1MB", one_megabyte()),
    ];
    let mut g = c.benchmark_group("parse+classify+thread+decide");
    for (name, raw) in &cases {
        g.throughput(Throughput::Bytes(raw.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| {
                let m = hilo::mail::parse(raw).unwrap();
                let class = classify(
                    &m,
                    &Context {
                        own_addresses: &own,
                        signer: &signer,
                    },
                );
                let t =
                    thread::resolve(&lookup, "soporte", &desks[0].tags, &signer, &m, &[], false)
                        .unwrap();
                let input = Input {
                    desk: &desks[0],
                    desks: &desks,
                    own_addresses: &own,
                    signer: &signer,
                    msg: &m,
                    new_text: &m.new_text,
                    class: &class,
                    thread: &t,
                    bounce: None,
                    backlog: false,
                    now,
                };
                // (new_text again, as before the reshape, to keep the figures comparable)
                let new_text = hilo::mail::quote::new_text(&m.text, &m.subject);
                (decide(&input, &lookup).unwrap(), new_text.len())
            })
        });
    }
    g.finish();
}

/// An intake with one desk `soporte` on a database file in a temporary
/// directory (kept alive by the returned guard).
fn intake_on_disk() -> (tempfile::TempDir, Intake) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_toml(
        &hilo::config::test_config(&dir.path().join("bench.db").display().to_string(), ""),
        HashMap::<String, String>::new(),
    )
    .unwrap();
    let store = Store::open(&config.store.path).unwrap();
    let intake = Intake::new(&config, store, Templates::builtin().unwrap());
    (dir, intake)
}

fn store_bench(c: &mut Criterion) {
    let (_dir, intake) = intake_on_disk();
    let desk = intake.desk("soporte").unwrap();
    let raw = String::from_utf8(fixture("clients/gmail_new_request.eml")).unwrap();
    let mut n = 0u64;
    c.bench_function(
        "store: one new ticket with its acknowledgement (one transaction, fsync)",
        |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let r = raw.replacen("Message-ID: <", &format!("Message-ID: <b{n}."), 1);
                    [Received::new(None, r.into_bytes())]
                },
                |items| intake.process(&desk, None, &items, None).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
}

/// Hostile shapes through the whole intake (parse to commit): the time
/// should grow with the size of the mail, not faster (issue 10: 100,000
/// References ids once took 76 s under the write lock).
fn hostile_bench(c: &mut Criterion) {
    let (_dir, intake) = intake_on_disk();
    let desk = intake.desk("soporte").unwrap();
    let mut g = c.benchmark_group("hostile intake");
    g.sample_size(10);
    let mut n = 0u64;
    let mut case = |name: String, headers: String, body: String| {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let raw = format!(
                        "From: Ana <ana@cliente.test>\r\nTo: soporte@example.test\r\nSubject: Hola\r\nMessage-ID: <h{n}@cliente.test>\r\n{headers}\r\n{body}\r\n"
                    );
                    [Received::new(None, raw.into_bytes())]
                },
                |items| intake.process(&desk, None, &items, None).unwrap(),
                BatchSize::LargeInput,
            )
        });
    };
    for refs in [1_000usize, 10_000, 100_000] {
        let ids: Vec<String> = (0..refs).map(|i| format!("<r{i}@x.test>")).collect();
        case(
            format!("{refs} References ids"),
            format!("References: {}\r\n", ids.join("\r\n ")),
            "hola".into(),
        );
    }
    for tags in [40_000usize, 400_000] {
        let body: String = (0..tags).map(|i| format!("SOP-{i} ")).collect();
        case(
            format!("{tags} tag tokens in the body"),
            String::new(),
            body,
        );
    }
    let cc: Vec<String> = (0..10_000).map(|i| format!("c{i}@x.test")).collect();
    case(
        "10000 Cc addresses".into(),
        format!("Cc: {}\r\n", cc.join(",\r\n ")),
        "hola".into(),
    );
    g.finish();
}

criterion_group!(benches, decide_bench, store_bench, hostile_bench);
criterion_main!(benches);
