#!/usr/bin/env bash
# Runs one fuzz target on its work corpus for a while (the ctest `fuzz.<target>`, and
# bench/fuzz_all.sh). Crashing inputs land in CORPUS/../fuzz-artifacts/<target>/.
# Usage: fuzz/run_fuzzer.sh TARGET_BINARY CORPUS SECONDS [libFuzzer options...]
set -euo pipefail
bin=$1 corpus=$2 seconds=$3
shift 3
name=$(basename "$bin")
artifacts=$(dirname "$corpus")/fuzz-artifacts/$name
mkdir -p "$corpus/$name" "$artifacts"
exec "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" "$corpus/$name"
