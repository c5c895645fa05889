//! Fault points for the tests: `HILO_FAULTS=compose,intake` makes those
//! points panic, so that the containment around them is proven by a test
//! rather than assumed. `HILO_FAULTS_FILE=PATH` reads the same list from a
//! file at each hit, so a test can switch faults on and off under a running
//! daemon. Only in debug builds; a release build has none.

/// Whether `point` is listed (debug builds only): for faults that are not
/// panics, such as a server without an extension.
pub fn active(point: &str) -> bool {
    cfg!(debug_assertions) && listed().split([',', '\n']).any(|f| f.trim() == point)
}

fn listed() -> String {
    match std::env::var("HILO_FAULTS_FILE") {
        Ok(path) => std::fs::read_to_string(path).unwrap_or_default(),
        Err(_) => std::env::var("HILO_FAULTS").unwrap_or_default(),
    }
}

/// Panics here when `point` is listed (debug builds only). A point may be
/// narrowed to data that contains a marker: `intake:POISON` panics only for
/// messages whose text contains `POISON`.
pub fn hit(point: &str, data: &[u8]) {
    if !cfg!(debug_assertions) {
        return;
    }
    for f in listed().split([',', '\n']).map(str::trim) {
        let (name, marker) = f.split_once(':').unwrap_or((f, ""));
        if name != point {
            continue;
        }
        let found = marker.is_empty() || data.windows(marker.len()).any(|w| w == marker.as_bytes());
        if found {
            panic!("fault point `{point}` hit (HILO_FAULTS)");
        }
    }
}
