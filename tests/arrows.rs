//! The layers' arrows (ARCHITECTURE.md, "Layers"): which crate may depend
//! on which, read from `cargo metadata`; and, inside the `hilo` crate,
//! which top-level module may name which, read from the sources. Any other
//! arrow fails here; the crates' arrows the compiler enforces as well.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each workspace crate and the workspace crates it may depend on.
const CRATES: &[(&str, &[&str])] = &[
    ("hilo-domain", &[]),
    ("hilo-mail", &["hilo-domain"]),
    ("hilo-store", &["hilo-domain", "hilo-mail"]),
    ("hilo", &["hilo-domain", "hilo-mail", "hilo-store"]),
];

/// Names the `hilo` crate re-exports from the crates below it: every
/// module may use them.
const FLOOR: &[&str] = &[
    "domain",
    "clock",
    "fault",
    "model",
    "mail",
    "store",
    "report",
    "Report",
    "panic_message",
];

/// Each top-level module of the `hilo` crate, bottom first, and the
/// modules it may name (besides the floor).
const MODULES: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("template", &[]),
    ("net", &[]),
    ("calendar", &[]),
    ("sla", &["calendar"]),
    ("phrases", &["template"]),
    ("faq", &["text"]),
    (
        "config",
        &["calendar", "faq", "phrases", "sla", "template", "text"],
    ),
    ("metrics", &[]),
    ("report", &["calendar", "config", "sla"]),
    (
        "outgoing",
        &["config", "faq", "phrases", "sla", "template", "text"],
    ),
    (
        "pipeline",
        &[
            "calendar", "config", "faq", "metrics", "outgoing", "phrases", "sla", "text",
        ],
    ),
    ("auth", &["config", "metrics", "net", "outgoing", "phrases"]),
    ("manage", &["pipeline"]),
    ("watcher", &["auth", "config", "net", "pipeline"]),
    ("sender", &["auth", "config", "metrics", "net"]),
    ("corpus", &[]),
    (
        "daemon",
        &[
            "auth", "config", "metrics", "outgoing", "pipeline", "sender", "watcher", "manage",
        ],
    ),
    (
        "cli",
        &[
            "auth", "config", "corpus", "daemon", "faq", "manage", "outgoing", "pipeline",
            "sender", "watcher", "metrics", "net", "phrases", "sla", "report", "calendar",
        ],
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn each_crate_depends_only_on_the_crates_below_it() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let ours: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let listed: BTreeSet<&str> = CRATES.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        ours, listed,
        "every workspace crate has its place in CRATES"
    );
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let allowed = CRATES.iter().find(|(c, _)| *c == name).unwrap().1;
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            if ours.contains(dep) && d["kind"].is_null() {
                assert!(allowed.contains(&dep), "{name} may not depend on {dep}");
            }
        }
    }
}

/// Every `crate::NAME` in the code of `path` (comments left out).
fn named(path: &Path, out: &mut BTreeSet<String>) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            named(&e.unwrap().path(), out);
        }
        return;
    }
    if path.extension().is_none_or(|e| e != "rs") {
        return;
    }
    let re = regex::Regex::new(r"crate::([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let code = line.split("//").next().unwrap_or("");
        for c in re.captures_iter(code) {
            out.insert(c[1].to_string());
        }
    }
}

#[test]
fn each_module_names_only_the_modules_below_it() {
    let src = root().join("src");
    let mut modules = BTreeMap::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        if ["lib", "main"].contains(&stem.as_str()) {
            continue;
        }
        modules.insert(stem, p);
    }
    let listed: BTreeSet<&str> = MODULES.iter().map(|(m, _)| *m).collect();
    let found: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    assert_eq!(found, listed, "every module has its place in MODULES");
    let mut wrong = Vec::new();
    for (i, (m, allowed)) in MODULES.iter().enumerate() {
        // The table itself runs one way: a module names only modules
        // listed before it.
        for a in *allowed {
            let at = MODULES.iter().position(|(n, _)| n == a).unwrap();
            assert!(at < i, "{m} may name {a}, which is not below it");
        }
        let mut names = BTreeSet::new();
        named(&modules[*m], &mut names);
        for n in names {
            if n != *m && !FLOOR.contains(&n.as_str()) && !allowed.contains(&n.as_str()) {
                wrong.push(format!("{m} → {n}"));
            }
        }
    }
    assert!(wrong.is_empty(), "arrows not in the table: {wrong:?}");
}

/// The floor crates never name the `hilo` crate, nor the crates above
/// them, even in comments' paths.
#[test]
fn the_floor_crates_name_nothing_above_them() {
    for (dir, forbidden) in [
        ("crates/hilo-domain/src", &["hilo::", "hilo_mail::"][..]),
        ("crates/hilo-mail/src", &["hilo::", "hilo_store::"][..]),
        ("crates/hilo-store/src", &["hilo::"][..]),
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for f in forbidden {
                assert!(!text.contains(f), "{} names {f}", p.display());
            }
        }
    }
}
