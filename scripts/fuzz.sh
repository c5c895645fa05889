#!/usr/bin/env bash
# Fuzzes parse → classify → thread → decide → compose (fuzz/check.rs) with
# cargo-fuzz and libFuzzer on the nightly toolchain. Seeds: every fixture,
# every saved regression, and the corpus grown by earlier runs.
#   HILO_FUZZ_SECONDS=60 (default): a smoke run, as CI does;
#   HILO_FUZZ_RUNS=10000000: a long run of that many executions.
# A crash leaves its input in fuzz/artifacts/pipeline/; fix it, then copy
# the input into fuzz/regressions/ (tests/fuzz_regressions.rs replays it).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

args=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
if [[ -n "${HILO_FUZZ_RUNS:-}" ]]; then
    args+=(-runs="$HILO_FUZZ_RUNS")
else
    args+=(-max_total_time="${HILO_FUZZ_SECONDS:-60}")
fi
mkdir -p corpus/pipeline
# No sanitizer: the code under test is safe Rust (SQLite is not in this
# path), and without ASan it runs about 4.5 times faster.
echo "== fuzz: pipeline ${HILO_FUZZ_RUNS:+${HILO_FUZZ_RUNS} runs}${HILO_FUZZ_RUNS:-${HILO_FUZZ_SECONDS:-60} s}" >&2
cargo +nightly fuzz run -s none pipeline corpus/pipeline ../fixtures regressions -- "${args[@]}"
