#!/usr/bin/env bash
# The CI fuzz smoke run: every target for a short while (default 60 s each,
# FUZZ_SECONDS to change) from the seed corpora, failing on any crash, hang
# or out-of-memory. Works on a fresh machine with only stable Rust: installs
# cargo-fuzz from crates.io if it is missing (kept in ~/.cargo/bin, so a
# cached home directory pays it once) and uses RUSTC_BOOTSTRAP=1 for the
# nightly flags libFuzzer instrumentation needs.
#   fuzz/ci.sh                       # every target
#   fuzz/ci.sh load selector         # some
#   FUZZ_SECONDS=600 fuzz/ci.sh      # longer
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(load selector pipeline structured)
  # The slow mode needs the real tools and `unshare -n` (root).
  if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null && command -v iptables-restore >/dev/null &&
    command -v bird >/dev/null && command -v unshare >/dev/null; then
    targets+=(structured_tools)
  else
    echo "fuzz/ci.sh: skipping structured_tools (needs root, nft, iptables-restore, bird, unshare)" >&2
  fi
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version '^0.13'
fi
command -v c++ >/dev/null || { echo "fuzz/ci.sh: libFuzzer needs a C++ compiler (apt-get install g++)" >&2; exit 1; }

export RUSTC_BOOTSTRAP=1
# The invariant checks' own unit tests (accept the golden artifacts, reject
# broken ones) and the generator's validity rate.
cargo test --manifest-path fuzz/Cargo.toml --lib

# Every input that once crashed a target (fuzz/regressions/TARGET-*) must
# pass; the same bugs also have tests in the normal suite.
for f in fuzz/regressions/*; do
  [ -f "$f" ] || continue
  t=$(basename "$f")
  t=${t%%-*}
  CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} nice -n 10 cargo fuzz run -O -a -s none "$t" "$PWD/$f" -- -runs=1 >/dev/null 2>&1 ||
    { echo "fuzz/ci.sh: regression input $f fails again" >&2; exit 1; }
done

# Fresh seeds every run, in a corpus of its own: a crash found here
# reproduces from the repository, and a developer's corpus is left alone.
export FUZZ_CORPUS_ROOT=$PWD/fuzz/corpus-ci
rm -rf "$FUZZ_CORPUS_ROOT"
status=0
for t in "${targets[@]}"; do
  echo "--- fuzz $t (${secs}s)"
  fuzz/seed.sh "$t" >/dev/null
  log=$(mktemp)
  if ! fuzz/run.sh "$t" "$secs" >"$log" 2>&1; then
    status=1
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
    tail -60 "$log" >&2
    echo "fuzz/ci.sh: $t failed; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a -s none $t fuzz/artifacts/$t/<crash file>" >&2
  else
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)" "$log"
  fi
  rm -f "$log"
done
rm -rf "$FUZZ_CORPUS_ROOT"
exit $status
