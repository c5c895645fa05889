//! Compiles in the shipped templates (`config/templates/{kind}.{lang}.txt`)
//! and phrase tables (`config/phrases/{lang}.toml`) as they are found, so
//! that adding a language means adding its files, not code.

use std::fmt::Write;
use std::path::Path;

fn files(dir: &Path, ext: &str) -> Vec<(String, String)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, p.canonicalize().unwrap().display().to_string())
        })
        .collect();
    out.sort();
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    code.push_str("/// (kind, language, text) of every shipped template.\n");
    code.push_str("pub(crate) const TEMPLATES: &[(&str, &str, &str)] = &[\n");
    for (stem, path) in files(&root.join("config/templates"), "txt") {
        let (kind, lang) = stem
            .rsplit_once('.')
            .unwrap_or_else(|| panic!("{path}: a template is named KIND.LANG.txt"));
        writeln!(code, "    ({kind:?}, {lang:?}, include_str!({path:?})),").unwrap();
    }
    code.push_str("];\n\n/// (language, TOML) of every shipped phrase table.\n");
    code.push_str("pub(crate) const PHRASES: &[(&str, &str)] = &[\n");
    for (lang, path) in files(&root.join("config/phrases"), "toml") {
        writeln!(code, "    ({lang:?}, include_str!({path:?})),").unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin.rs");
    std::fs::write(out, code).unwrap();
}
