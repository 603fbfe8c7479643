#!/usr/bin/env bash
# Benchmark: `sioreplay replay` against real Artillery 2.0.34 -- the same scenario YAML, the same
# server (the sample app: 3 Node socket.io replicas behind HAProxy with cookie stickiness, on
# 127.0.0.1), in the same run. Each user connects, emits EMITS times with an ack (think THINK
# between), then leaves; RATE new users/s for DURATION s. Per tool it measures the CPU seconds
# (user+sys) and the peak memory of the tool's whole process tree, and reads the tool's report
# and the servers' own counters (every emit must have reached a replica and been acked).
#
#   bench/replay_vs_artillery.sh [--rate N] [--duration S] [--emits N] [--think 100ms]
#                                [--transports websocket,upgrade] [--no-baseline] [--marginal]
#                                [--rates LIST] [--out FILE]
#
# Env defaults: RATE=50 DURATION=30 EMITS=20 THINK=100ms TRANSPORTS=websocket,upgrade
# (modes: websocket, upgrade = polling then websocket, polling), BASELINE=1 (also runs 1 user x
# 1 emit per tool: the fixed start-up/wind-down cost), MARGINAL=0 (1: also runs the first mode
# with 1 emit per user, same arrivals: the marginal CPU of one more emit), OUT (results JSON;
# default results.json in the work dir, which is printed at the end and kept). About 2.5 min
# with the defaults on 2 cores (+70 s with --marginal).
# --rates 25,50,100,200 (RATES=...): a sweep instead of the modes' runs: the first transport mode
# at each arrival rate, both tools, from low up to where Artillery fails (it is not run at the
# rates above its first failing one; sioreplay still is). Prints per rate the CPU per 1000 emits,
# the peak RSS per concurrent user, failures and latency, the ratios, and each tool's highest
# rate with 0 failures. A failing run there is a result, not a benchmark failure. Suggested shape
# (the server must not be the bottleneck on 2 cores): --emits 5 --think 1s --duration 20.
# Exit: 0 when both tools completed every user with 0 failures and the servers' counts match the
# reports; 1 otherwise (the table is still printed); 2 usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

RATE=${RATE:-50}
DURATION=${DURATION:-30}
EMITS=${EMITS:-20}
THINK=${THINK:-100ms}
TRANSPORTS=${TRANSPORTS:-websocket,upgrade}
BASELINE=${BASELINE:-1}
MARGINAL=${MARGINAL:-0}
OUT=${OUT:-}
RATES=${RATES:-}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --rate) RATE=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --emits) EMITS=${2:?}; shift 2 ;;
    --think) THINK=${2:?}; shift 2 ;;
    --transports) TRANSPORTS=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --rates) RATES=${2:?}; shift 2 ;;
    --no-baseline) BASELINE=0; shift ;;
    --marginal) MARGINAL=1; shift ;;
    -h | --help) usage ;;
    *) echo "replay_vs_artillery.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $RATE =~ ^[1-9][0-9]*$ && $DURATION =~ ^[1-9][0-9]*$ && $EMITS =~ ^[1-9][0-9]*$ ]] ||
  { echo "replay_vs_artillery.sh: --rate, --duration, --emits must be positive integers" >&2; exit 2; }
# a unit is required: Artillery reads a quoted "1" as 1 ms but an unquoted 1 as 1 s
[[ $THINK =~ ^([0-9]+)(ms|s)$ ]] || { echo "replay_vs_artillery.sh: --think needs a unit: 100ms, 1s" >&2; exit 2; }
if [[ ${BASH_REMATCH[2]} == s ]]; then think_ms=$((BASH_REMATCH[1] * 1000)); else think_ms=${BASH_REMATCH[1]}; fi
IFS=, read -r -a modes <<<"$TRANSPORTS"
rates=()
if [[ -n $RATES ]]; then
  IFS=, read -r -a rates <<<"$RATES"
  for r in "${rates[@]}"; do
    [[ $r =~ ^[1-9][0-9]*$ ]] || { echo "replay_vs_artillery.sh: --rates takes positive integers: 25,50,100" >&2; exit 2; }
  done
fi
for m in "${modes[@]}"; do
  [[ $m == websocket || $m == upgrade || $m == polling ]] ||
    { echo "replay_vs_artillery.sh: unknown transport mode '$m' (websocket, upgrade, polling)" >&2; exit 2; }
done

cluster="$root/samples/app/cluster.sh"
sioreplay="$root/build/release/sioreplay"
artillery="$root/tests/peers/artillery/artillery"
[[ -x /usr/bin/time ]] || { echo "replay_vs_artillery.sh: GNU time (/usr/bin/time) missing: apt-get install -y time" >&2; exit 1; }
[[ -x $sioreplay ]] || scripts/build.sh release
if [[ ! -d tests/peers/artillery/node_modules || ! -f samples/app/node_modules/socket.io/package.json ]]; then
  scripts/install-node-deps.sh
fi

work=$(mktemp -d /tmp/sio_bench_replay_XXXXXX)
state="$work/cluster"
tool_pid="" sampler_pid=""
cleanup() {
  # only what this script started: the current run (timeout forwards TERM to its process
  # group, i.e. /usr/bin/time and the tool), the sampler, the cluster recorded in $state
  set +e # a failing kill/wait must not skip the rest
  if [[ -n $tool_pid ]]; then kill -TERM "$tool_pid" 2>/dev/null; wait "$tool_pid" 2>/dev/null; fi
  if [[ -n $sampler_pid ]]; then kill -TERM "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; fi
  "$cluster" stop "$state" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

base=$("$cluster" free-base 46000 46900)
"$cluster" start "$state" "$base" >"$work/cluster-start.log"
target="http://127.0.0.1:$base"
named=()
while read -r name pid _; do named+=("$name=$pid"); done <"$state/pids"

# scenario FILE MODE RATE DURATION EMITS: the YAML both tools run unmodified
scenario() {
  local file=$1 mode=$2 rate=$3 duration=$4 emits=$5 transports="" phase
  case $mode in
    websocket) transports='    transports: ["websocket"]' ;;
    # withCredentials: Artillery's socket.io-client then keeps the balancer's cookie (sticky);
    # sioreplay has a cookie jar per user anyway
    upgrade) transports='    withCredentials: true' ;;
    polling) transports=$'    transports: ["polling"]\n    withCredentials: true' ;;
  esac
  if [[ $rate == once ]]; then phase="      arrivalCount: 1"; else phase="      arrivalRate: $rate"; fi
  {
    cat <<YAML
# generated by bench/replay_vs_artillery.sh: $mode, ${rate} users/s for ${duration} s, $emits acked emits each
config:
  target: "$target"
  phases:
    - duration: $duration
$phase
  socketio:
    path: "/socket.io/"
$transports
scenarios:
  - name: "bench-$mode"
    engine: socketio
    flow:
      - emit:
          channel: "echo"
          data: { seq: 0, text: "sioreplay vs artillery benchmark payload" }
        acknowledge: {}
YAML
    if ((emits > 1)); then
      cat <<YAML
      - loop:
          - think: "$THINK"
          - emit:
              channel: "echo"
              data: { seq: "{{ \$loopCount }}", text: "sioreplay vs artillery benchmark payload" }
            acknowledge: {}
        count: $((emits - 1))
YAML
    fi
  } >"$file"
}

# run_tool DIR TOOL YAML: one measured run; leaves time.txt, sample.json, report.json,
# stats.json, log, rc in DIR
run_tool() {
  local dir=$1 tool=$2 yml=$3 limit=$4 rc=0
  mkdir -p "$dir"
  "$cluster" reset "$state" >/dev/null
  sleep 1 # let the previous run's disconnects settle
  local cmd
  if [[ $tool == sioreplay ]]; then cmd=("$sioreplay" replay "$yml" -q -o "$dir/report.json")
  else cmd=("$artillery" run -o "$dir/report.json" "$yml"); fi
  # timeout (own process group) -> GNU time -> the tool; the sampler watches the tree under
  # timeout, without the time/timeout wrappers
  (cd "$dir" && exec timeout -k 15 "$limit" /usr/bin/time -o "$dir/time.txt" -f '%e %U %S %M' "${cmd[@]}") \
    >"$dir/log" 2>&1 &
  tool_pid=$!
  node "$root/bench/tree_sampler.js" "$dir/sample.json" "$tool_pid" --exclude time,timeout "${named[@]}" &
  sampler_pid=$!
  wait "$tool_pid" || rc=$?
  tool_pid=""
  wait "$sampler_pid" || true
  sampler_pid=""
  echo "$rc" >"$dir/rc"
  "$cluster" stats "$state" >"$dir/stats.json"
}

limit=$((DURATION + EMITS * think_ms / 1000 + 120))
manifest="$work/runs.tsv"
: >"$manifest"
echo "sioreplay vs Artillery: $TRANSPORTS, $RATE users/s x ${DURATION} s, $EMITS acked emits/user, think $THINK; cluster $target; work dir $work" >&2
if [[ $BASELINE == 1 ]]; then
  scenario "$work/baseline.yml" websocket once 1 1
  for tool in sioreplay artillery; do
    echo "  run: baseline (1 user x 1 emit) $tool" >&2
    run_tool "$work/baseline-$tool" "$tool" "$work/baseline.yml" 120
    printf 'baseline\t%s\t%s\t1\n' "$tool" "$work/baseline-$tool" >>"$manifest"
  done
fi
if ((${#rates[@]})); then
  # the sweep: the first mode at each rate; Artillery stops at its first failing rate
  mode=${modes[0]} artillery_failed=""
  for rate in "${rates[@]}"; do
    scenario "$work/$mode-$rate.yml" "$mode" "$rate" "$DURATION" "$EMITS"
    for tool in sioreplay artillery; do
      if [[ $tool == artillery && -n $artillery_failed ]]; then
        echo "  skip: $mode at $rate/s artillery (it failed at $artillery_failed/s)" >&2
        continue
      fi
      echo "  run: $mode at $rate/s $tool" >&2
      run_tool "$work/$mode-$rate-$tool" "$tool" "$work/$mode-$rate.yml" "$limit"
      printf '%s@%s\t%s\t%s\t%s\t%s\n' "$mode" "$rate" "$tool" "$work/$mode-$rate-$tool" "$EMITS" "$rate" >>"$manifest"
      if [[ $tool == artillery ]] && ! node "$root/bench/replay_vs_artillery.js" --passed "$work/$mode-$rate-$tool" "$((rate * DURATION))" "$EMITS" "$think_ms" "$DURATION"; then
        artillery_failed=$rate
      fi
    done
  done
  modes=()
fi
for mode in "${modes[@]}"; do
  scenario "$work/$mode.yml" "$mode" "$RATE" "$DURATION" "$EMITS"
  for tool in sioreplay artillery; do
    echo "  run: $mode $tool" >&2
    run_tool "$work/$mode-$tool" "$tool" "$work/$mode.yml" "$limit"
    printf '%s\t%s\t%s\t%s\n' "$mode" "$tool" "$work/$mode-$tool" "$EMITS" >>"$manifest"
  done
done
if [[ $MARGINAL == 1 ]] && ((EMITS > 1)) && ((${#modes[@]})); then
  mode=${modes[0]}
  scenario "$work/$mode-1emit.yml" "$mode" "$RATE" "$DURATION" 1
  for tool in sioreplay artillery; do
    echo "  run: $mode-1emit $tool" >&2
    run_tool "$work/$mode-1emit-$tool" "$tool" "$work/$mode-1emit.yml" "$limit"
    printf '%s-1emit\t%s\t%s\t1\n' "$mode" "$tool" "$work/$mode-1emit-$tool" >>"$manifest"
  done
fi

out=${OUT:-$work/results.json}
rc=0
node "$root/bench/replay_vs_artillery.js" "$manifest" "$out" \
  "{\"rate\":$RATE,\"duration_s\":$DURATION,\"emits_per_user\":$EMITS,\"think\":\"$THINK\",\"think_ms\":$think_ms,\"transports\":\"$TRANSPORTS\",\"rates\":\"$RATES\",\"target\":\"$target\",\"work_dir\":\"$work\"}" \
  "$("$sioreplay" --version 2>/dev/null || echo unknown)" || rc=$?
echo "results: $out (scenarios, reports, logs and samples in $work)"
exit "$rc"
