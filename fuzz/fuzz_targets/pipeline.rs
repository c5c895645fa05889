//! libFuzzer entry point: see `fuzz/check.rs` for what is checked.

#![no_main]

include!("../check.rs");

static QUIET: std::sync::Once = std::sync::Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts at every panic, even one hilo catches on
    // purpose (mail-parser's, in mail::parse). With the default behaviour
    // back, a contained panic unwinds into hilo's catch_unwind, and one that
    // escapes the check still reaches libfuzzer-sys's catch_unwind, which
    // aborts: that is the crash the fuzzer reports.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    check(data)
});
