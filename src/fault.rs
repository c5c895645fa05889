//! Fault points for the tests: `HILO_FAULTS=compose,intake` makes those
//! points panic, so that the containment around them is proven by a test
//! rather than assumed. Only in debug builds; a release build has none.

/// Panics here when `point` is listed in `HILO_FAULTS` (debug builds only).
/// A point may be narrowed to messages whose text contains a marker:
/// `HILO_FAULTS=intake:POISON` panics only for those.
pub fn hit(point: &str, text: &[u8]) {
    if cfg!(debug_assertions) {
        if let Ok(list) = std::env::var("HILO_FAULTS") {
            for f in list.split(',') {
                let (name, marker) = f.split_once(':').unwrap_or((f, ""));
                let found =
                    marker.is_empty() || text.windows(marker.len()).any(|w| w == marker.as_bytes());
                if name == point && found {
                    panic!("fault point `{point}` hit (HILO_FAULTS)");
                }
            }
        }
    }
}
