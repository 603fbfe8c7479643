#!/usr/bin/env bash
# Runs a fuzz target once on every input of samples/regression/<target>/ (the crashes found so
# far, each fixed): a crash, a hang or a broken check fails the test.
# Usage: fuzz/replay_regressions.sh TARGET_BINARY REGRESSION_DIR
set -euo pipefail
bin=$1
dir=$2/$(basename "$bin")
shopt -s nullglob
files=("$dir"/*)
if [ ${#files[@]} -eq 0 ]; then
  echo "no regression inputs in $dir"
  exit 0
fi
exec "$bin" -timeout=10 -rss_limit_mb=2048 "${files[@]}"
