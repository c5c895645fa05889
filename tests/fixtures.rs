//! Every fixture under `fixtures/` must parse and classify as its
//! `.expect.toml` says, and where it gives a `new_text`, produce exactly
//! that. Failures are collected and reported together; the exact-match
//! rate of new text by class is printed (`-- --nocapture`), as
//! `hilo corpus fixtures` prints it.

use std::path::{Path, PathBuf};

use hilo::mail::msgid::Signer;
use hilo::mail::subject::TagMatcher;
use hilo::pipeline::classify::{classify, Context};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[allow(dead_code)]
    description: String,
    kind: String,
    from: Option<String>,
    from_name: Option<String>,
    subject: Option<String>,
    message_id: Option<String>,
    in_reply_to: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    text_contains: Vec<String>,
    attachments: Option<usize>,
    tag: Option<i64>,
    /// The original Message-ID a bounce reports.
    bounced_message_id: Option<String>,
    /// The new-text class the corpus runner reports this file under.
    #[allow(dead_code)]
    class: Option<String>,
    /// The exact new text (quoted history, signature and sign-off removed).
    new_text: Option<String>,
}

fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            eml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

fn check(path: &Path) -> Vec<String> {
    let mut errs = Vec::new();
    let exp_path = path.with_extension("expect.toml");
    let Ok(text) = std::fs::read_to_string(&exp_path) else {
        return vec!["missing .expect.toml".into()];
    };
    let exp: Expect = match toml::from_str(&text) {
        Ok(e) => e,
        Err(e) => return vec![format!("bad .expect.toml: {e}")],
    };
    let raw = std::fs::read(path).unwrap();
    let parsed = hilo::mail::parse(&raw);
    if exp.kind == "unparseable" {
        if let Ok(m) = parsed {
            errs.push(format!(
                "expected unparseable, parsed with From {}",
                m.from.address
            ));
        }
        return errs;
    }
    let m = match parsed {
        Ok(m) => m,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    let eq = |errs: &mut Vec<String>, what: &str, got: String, want: String| {
        if got != want {
            errs.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    };
    eq(
        &mut errs,
        "from",
        m.from.address.clone(),
        exp.from.clone().unwrap_or_default(),
    );
    if let Some(n) = &exp.from_name {
        eq(
            &mut errs,
            "from_name",
            m.from.name.clone().unwrap_or_default(),
            n.clone(),
        );
    }
    eq(
        &mut errs,
        "subject",
        m.subject.clone(),
        exp.subject.clone().unwrap_or_default(),
    );
    eq(
        &mut errs,
        "message_id",
        format!("{:?}", m.message_id),
        format!("{:?}", exp.message_id),
    );
    eq(
        &mut errs,
        "in_reply_to",
        format!("{:?}", m.in_reply_to.first()),
        format!("{:?}", exp.in_reply_to.as_ref()),
    );
    eq(
        &mut errs,
        "references",
        format!("{:?}", m.references),
        format!("{:?}", exp.references),
    );
    for t in &exp.text_contains {
        if !m.text.contains(t.as_str()) {
            errs.push(format!(
                "text lacks {t:?}; text starts {:?}",
                m.text.chars().take(200).collect::<String>()
            ));
        }
    }
    if let Some(want) = &exp.new_text {
        let want = want.trim_end_matches('\n');
        if m.new_text != want {
            errs.push(format!(
                "new text:\n--- got\n{}\n--- want\n{want}",
                m.new_text
            ));
        }
    }
    if let Some(n) = exp.attachments {
        eq(
            &mut errs,
            "attachments",
            m.attachments.len().to_string(),
            n.to_string(),
        );
    }
    let tag = TagMatcher::new("SOP")
        .find(&m.subject)
        .or_else(|| TagMatcher::new("HLP").find(&m.subject));
    eq(
        &mut errs,
        "tag",
        format!("{tag:?}"),
        format!("{:?}", exp.tag),
    );

    if let Some(id) = &exp.bounced_message_id {
        let found = hilo::mail::dsn::read(&raw, "").ids;
        if !found.contains(id) {
            errs.push(format!("reported ids {found:?} lack {id:?}"));
        }
    }
    let own = vec![
        "soporte@example.test".to_string(),
        "helpdesk@example.test".to_string(),
    ];
    let signer = Signer::new(b"fixtures");
    let c = classify(
        &m,
        &Context {
            own_addresses: &own,
            signer: &signer,
        },
    );
    eq(
        &mut errs,
        "kind",
        c.kind.as_str().to_string(),
        exp.kind.clone(),
    );
    if exp.kind != "customer" && c.may_autoreply {
        errs.push("a machine's mail may be auto-answered".into());
    }
    errs
}

#[test]
fn every_fixture_parses_and_classifies_as_expected() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    eml_files(&root, &mut files);
    files.sort();
    assert!(files.len() >= 40, "only {} fixtures found", files.len());
    let mut report = String::new();
    let mut kinds = std::collections::BTreeMap::new();
    for f in &files {
        let errs = check(f);
        if let Ok(t) = std::fs::read_to_string(f.with_extension("expect.toml")) {
            if let Ok(e) = toml::from_str::<Expect>(&t) {
                *kinds.entry(e.kind).or_insert(0) += 1;
            }
        }
        for e in errs {
            report.push_str(&format!(
                "{}: {e}\n",
                f.strip_prefix(&root).unwrap().display()
            ));
        }
    }
    eprintln!("fixtures by kind: {kinds:?}");
    assert!(report.is_empty(), "fixture mismatches:\n{report}");
}

#[test]
fn new_text_exact_match_rate_by_class() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let summary = hilo::corpus::run(&root).unwrap();
    println!("{summary}");
    assert!(
        summary.cases.len() >= 40,
        "only {} new-text cases",
        summary.cases.len()
    );
    let misses: Vec<String> = summary
        .misses()
        .map(|c| c.path.display().to_string())
        .collect();
    assert!(misses.is_empty(), "new text differs: {misses:?}");
}
