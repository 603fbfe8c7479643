#!/usr/bin/env bash
# Benchmark: `sioreplay record` on ~200 MB HARs tiled from the bundled real Chromium HARs.
# Prints throughput (MB/s of input, wall and per CPU-second) and peak memory against the targets
# (>= 100 MB/s on one core, peak RSS <= 2x the file size), side by side with Node.js merely
# parsing the same file (JSON.parse: the floor for any JavaScript HAR tool), and the ratio.
#
#   bench/har_record.sh [SIZE_MB]      (default 200; files go to bench/out/, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-200}
scripts/install-deps.sh
scripts/build.sh release >/dev/null
out=bench/out
mkdir -p "$out"
trap 'rm -f "$out"/*.har "$out"/*.jsonl "$out"/time.txt' EXIT

samples=(samples/har/a1/devtools.har samples/har/a2/devtools.har samples/har/a3/devtools.har)
build/release/bench/make_har "$out/devtools.har" "$size" "${samples[@]}"
build/release/bench/make_har "$out/messages.har" "$size" --engineio-only "${samples[@]}"

# run LABEL CMD...: prints "wall_s cpu_s peak_kb" of one run (pinned to one core).
measure() {
  /usr/bin/time -o "$out/time.txt" -f "%e %U %S %M" taskset -c 0 "$@" >/dev/null 2>&1
  awk '{printf "%.3f %.3f %d\n", $1, $2 + $3, $4}' "$out/time.txt"
}

printf '\n%-14s %-22s %9s %9s %10s %9s %12s\n' "input" "tool" "size MB" "wall s" "MB/s" "MB/cpu-s" "peak RSS MB"
for kind in devtools messages; do
  f="$out/$kind.har"
  bytes=$(stat -c %s "$f")
  mb=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')
  build/release/sioreplay record "$f" -o "$out/$kind.jsonl" -q # warm the page cache
  read -r sw sc sk < <(measure build/release/sioreplay record "$f" -o "$out/$kind.jsonl" -q)
  printf '%-14s %-22s %9s %9s %10.0f %9.0f %12.0f\n' "$kind" "sioreplay record" "$mb" "$sw" \
    "$(awk -v m="$mb" -v w="$sw" 'BEGIN{print m/w}')" "$(awk -v m="$mb" -v c="$sc" 'BEGIN{print m/c}')" \
    "$(awk -v k="$sk" 'BEGIN{print k/1024}')"
  if command -v node >/dev/null 2>&1; then
    read -r nw nc nk < <(measure node --max-old-space-size=16000 -e \
      'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$f")
    printf '%-14s %-22s %9s %9s %10.0f %9.0f %12.0f\n' "$kind" "node JSON.parse only" "$mb" "$nw" \
      "$(awk -v m="$mb" -v w="$nw" 'BEGIN{print m/w}')" "$(awk -v m="$mb" -v c="$nc" 'BEGIN{print m/c}')" \
      "$(awk -v k="$nk" 'BEGIN{print k/1024}')"
    awk -v s="$sw" -v n="$nw" -v sk="$sk" -v nk="$nk" -v kind="$kind" \
      'BEGIN{printf "%-14s ratio: sioreplay %.1fx faster than node only parsing, %.1fx less memory\n", kind, n/s, nk/sk}'
  fi
  awk -v m="$mb" -v w="$sw" -v k="$sk" -v kind="$kind" 'BEGIN{
    printf "%-14s targets: %s >= 100 MB/s (%.0f), %s peak <= 2x file (%.2fx)\n", kind,
      (m/w >= 100 ? "MET" : "MISSED"), m/w, (k*1024 <= 2*m*1e6 ? "MET" : "MISSED"), k*1024/(m*1e6)}'
done
