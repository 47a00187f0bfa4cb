#!/usr/bin/env bash
# Run one fuzz target for a while:
#   fuzz/run.sh TARGET SECONDS [more libFuzzer flags]
# Builds it with cargo-fuzz (stable toolchain + RUSTC_BOOTSTRAP=1, release
# with debug assertions), seeds its corpus (fuzz/seed.sh) if missing, runs it
# at nice 10 and keeps crashes in fuzz/artifacts/TARGET/. Exit status is
# non-zero on a crash, a hang (-timeout) or an out-of-memory.
# FUZZ_CORPUS_ROOT (default fuzz/corpus) holds one corpus directory per target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
t=$1
secs=$2
shift 2
corpus=${FUZZ_CORPUS_ROOT:-$root/fuzz/corpus}/$t
[ -d "$corpus" ] || fuzz/seed.sh "$t"
mkdir -p "fuzz/artifacts/$t"
nice -n 10 cargo fuzz build -O -a -s none "$t"
exec nice -n 10 cargo fuzz run -O -a -s none "$t" "$corpus" -- \
  -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -dict="$root/fuzz/dict/netc.dict" -artifact_prefix="$root/fuzz/artifacts/$t/" \
  -print_final_stats=1 "$@"
