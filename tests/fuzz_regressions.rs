//! Every input the fuzzer ever found a defect with (`fuzz/regressions/`),
//! and every fixture, through the fuzz target's check: parse → classify →
//! thread → decide → acknowledgement → compose → parse back.

include!("../fuzz/check.rs");

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
}

#[test]
fn fuzz_regressions_and_fixtures_pass_the_fuzz_check() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(&root.join("fuzz/regressions"), &mut all);
    let regressions = all.len();
    files(&root.join("fixtures"), &mut all);
    assert!(all.len() > regressions + 50, "fixtures found");
    for p in &all {
        let data = std::fs::read(p).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("{} fails the fuzz check", p.display());
        }
    }
}
