#!/usr/bin/env bash
# The whole test suite: installs what it needs (Debian packages), starts the
# private Dovecot and Postfix, then checks formatting and lints and runs every
# test (unit, pipeline, end-to-end against the real servers, server faults),
# then fuzzes the mail pipeline for about a minute.
# Idempotent; safe to run again. Needs a Rust toolchain (cargo) and root or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/mailserver.sh start

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== benchmarks, once each as a smoke test" >&2
cargo test --workspace --benches --locked
echo "== cargo test" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
# One closing line with the totals of every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
# A smoke fuzz of about 60 s (HILO_FUZZ_SECONDS; 0 skips it).
if [[ "${HILO_FUZZ_SECONDS:-60}" != 0 ]]; then
    scripts/fuzz.sh
fi
