//! `HILO__SECTION__KEY` environment overrides, mapped to the file's keys.

/// config-rs writes nested keys under arrays as `desk[0]imap.port`.
pub(super) fn fix_key_path(msg: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\](\w)").expect("static regex"));
    RE.replace_all(msg, "].$1").into_owned()
}

/// `HILO__DESK__0__IMAP__PASSWORD` → `desk[0].imap.password`.
pub(super) fn env_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("HILO__")?;
    let mut key = String::new();
    for part in rest.split("__") {
        if part.is_empty() {
            return None;
        }
        if part.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(&part.to_ascii_lowercase());
        }
    }
    Some(key)
}
