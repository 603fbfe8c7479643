#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/, built with the fuzz preset) for a while and prints, per
# target: executions run, executions per second, corpus size (inputs and bytes) at the end, and
# crashes found (inputs in build/fuzz/fuzz-artifacts/<target>/). The corpora persist in
# build/fuzz/fuzz-corpus/, so a later run goes on where the last one stopped.
#
#   bench/fuzz_all.sh [SECONDS_PER_TARGET] [JOBS] [TARGET...]
#     SECONDS_PER_TARGET  default 300
#     JOBS                targets run at once (default 1; the machine may be shared)
#     TARGET              default: all (fuzz_har fuzz_pcap ...)
#   FUZZ_RUNS=N           also stop a target after N executions (libFuzzer -runs), e.g.
#                         FUZZ_RUNS=10000000 bench/fuzz_all.sh 36000 2: each target until 10 million
#   FUZZ_TIMEOUT=S        libFuzzer's -timeout per input (default 30 s, run_fuzzer.sh). It is
#                         wall time: fuzzers run at low priority (nice, chrt --idle) beside other
#                         work can be starved past it and report a "timeout" that is not one;
#                         give them e.g. FUZZ_TIMEOUT=600 and check a reported input on its own.
# The captures and HARs are fuzzed with a length limit (-max_len, below): the samples are up to
# 900 KB, and without it every mutation copies and parses the whole file.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
jobs=${2:-1}
shift $(($# > 2 ? 2 : $#))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_har fuzz_pcap fuzz_pcap_reader fuzz_tcp_reassembly fuzz_http fuzz_websocket fuzz_engineio
           fuzz_socketio fuzz_tls fuzz_recording fuzz_scenario fuzz_template fuzz_cookie)
fi
build=build/fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}" >/dev/null
fuzz/make_seeds.sh "$build/fuzz-corpus" >/dev/null
logs=$build/fuzz-logs
mkdir -p "$logs"

run_one() {
  local t=$1
  local opts=()
  case $t in
    fuzz_pcap) opts+=(-max_len=20000) ;;
    fuzz_pcap_reader) opts+=(-max_len=65536) ;;
    fuzz_har) opts+=(-max_len=100000) ;;
  esac
  [ -n "${FUZZ_RUNS:-}" ] && opts+=(-runs="$FUZZ_RUNS")
  [ -n "${FUZZ_TIMEOUT:-}" ] && opts+=(-timeout="$FUZZ_TIMEOUT") # after run_fuzzer.sh's: wins
  fuzz/run_fuzzer.sh "$build/fuzz/$t" "$build/fuzz-corpus" "$seconds" "${opts[@]}" \
    >"$logs/$t.log" 2>&1 || true
}
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

printf '\n%-22s %8s %14s %10s %10s %12s %8s\n' target seconds executions "exec/s" "corpus" "corpus KB" crashes
for t in "${targets[@]}"; do
  log=$logs/$t.log
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec:/ {print $2}' "$log" | tail -1)
  files=$(find "$build/fuzz-corpus/$t" -type f | wc -l)
  kb=$(du -sk "$build/fuzz-corpus/$t" | cut -f1)
  crashes=$(find "$build/fuzz-artifacts/$t" -type f 2>/dev/null | wc -l)
  printf '%-22s %8s %14s %10s %10s %12s %8s\n' "$t" "${took:-?}" "${execs:-?}" "${rate:-?}" \
    "$files" "$kb" "$crashes"
done
echo "logs: $logs/<target>.log; crashing inputs: $build/fuzz-artifacts/<target>/"
