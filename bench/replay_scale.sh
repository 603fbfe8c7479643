#!/usr/bin/env bash
# Benchmark: how many concurrent websocket Socket.IO users one `sioreplay replay` process holds,
# and what each costs. USERS users arrive over RAMP seconds, each connects (websocket only),
# emits every EVERY seconds and answers the server's heartbeats, and stays HOLD seconds after
# the last one arrived; the server is the sample app run as K Node processes sharing one port
# (`server.js --workers K`, 127.0.0.1 only), so that no Node process passes its open-files
# limit. With --processes P the replayer runs as P local shards (`replay --processes P`), for
# more users than one process's 20,000 open files allow. While it runs, the replayer's resident
# memory (VmRSS, summed over its processes) is sampled every second.
# Prints: users created/completed/failed, the idle RSS (the process before the first user),
# the peak RSS, the RSS per connected user above idle, CPU seconds, replayer.send_lag p99, and
# the targets (issue 6: <= 8 KB per user, <= 100 MB in all at 10,000 users, 0 failed).
#
#   bench/replay_scale.sh [--users 10000] [--ramp 20] [--hold 60] [--every 10] [--workers K]
#                         [--source-addresses LIST] [--processes P] [--port 7400]
#   e.g. 50,000 users: --users 50000 --ramp 50 --hold 60 --processes 3 \
#                      --source-addresses 127.0.0.1-127.0.0.4
#   SIOREPLAY=PATH: the binary (default: build/release/sioreplay, built here)
#   KEEP_REPORT=FILE: keep the replayer's report there
#
# Exit 0 when every user completed, 1 otherwise or when a tool could not run, 2 usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

users=10000 ramp=20 hold=60 every=10 workers="" sources="" processes=1 port=7400
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --users) users=${2:?}; shift 2 ;;
    --ramp) ramp=${2:?}; shift 2 ;;
    --hold) hold=${2:?}; shift 2 ;;
    --every) every=${2:?}; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --source-addresses) sources=${2:?}; shift 2 ;;
    --processes) processes=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "replay_scale.sh: unknown argument $1" >&2; usage ;;
  esac
done
# One Node worker per 8,000 users (each holds a descriptor per user, under the 20,000 cap).
[ -n "$workers" ] || workers=$(((users + 7999) / 8000))

scripts/install-deps.sh
scripts/install-node-deps.sh >/dev/null
sioreplay=${SIOREPLAY:-build/release/sioreplay}
if [ -z "${SIOREPLAY:-}" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target sioreplay >/dev/null
fi

work=$(mktemp -d /tmp/replay_scale.XXXXXX)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

node samples/app/server.js --port "$port" --replica scale --workers "$workers" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# Each user: emits every `every` s until it has been connected for ramp + hold s (the first
# user), so all are connected together for `hold` s at least.
loops=$(((ramp + hold) / every))
rate=$(awk -v u="$users" -v r="$ramp" 'BEGIN{printf "%d", u / r}')
cat >"$work/scale.yml" <<EOF
config:
  target: http://127.0.0.1:$port
  phases:
    - duration: $ramp
      arrivalRate: $rate
  socketio:
    transports: ["websocket"]
scenarios:
  - engine: socketio
    flow:
      - loop:
          - emit: ["tick", {"n": "{{ \$loopCount }}"}]
          - think: $every
        count: $loops
EOF

extra=()
[ -z "$sources" ] || extra=(--source-addresses "$sources")
[ "$processes" = 1 ] || extra+=(--processes "$processes")
echo "== $((rate * ramp)) users over ${ramp} s, each emitting every ${every} s for $((loops * every)) s;" \
  "server: $workers Node worker(s) on 127.0.0.1:$port; replayer: $processes process(es)"
/usr/bin/time -o "$work/time.txt" -f '%e %U %S %M' "$sioreplay" replay "$work/scale.yml" \
  -o "$work/report.json" "${extra[@]}" 2>"$work/replay.err" &
time_pid=$!
sleep 0.3
rep_pid=$(pgrep -P "$time_pid" | head -n 1 || true)
idle_kb="" peak_kb=0
while kill -0 "$time_pid" 2>/dev/null; do
  if [ -n "$rep_pid" ] && [ -r "/proc/$rep_pid/status" ]; then
    # The replayer and its shard processes.
    kb=0
    for p in "$rep_pid" $(pgrep -P "$rep_pid" || true); do
      k=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
      kb=$((kb + ${k:-0}))
    done
    [ -n "$idle_kb" ] || idle_kb=$kb
    [ "${kb:-0}" -le "$peak_kb" ] || peak_kb=$kb
  fi
  sleep 1
done
rc=0
wait "$time_pid" || rc=$?
# The server's CPU seconds (its master and workers), from /proc, before it is stopped.
server_cpu=0
clk=$(getconf CLK_TCK)
for p in "$server_pid" $(pgrep -P "$server_pid" || true); do
  t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
  server_cpu=$((server_cpu + ${t:-0}))
done
server_cpu=$(awk -v t="$server_cpu" -v c="$clk" 'BEGIN{printf "%.1f", t / c}')
if [ ! -f "$work/report.json" ]; then
  echo "replay_scale.sh: sioreplay exited $rc without a report:" >&2
  tail -n 20 "$work/replay.err" >&2
  exit 1
fi
[ -z "${KEEP_REPORT:-}" ] || cp "$work/report.json" "$KEEP_REPORT"
node - "$work/report.json" "$work/time.txt" "$users" "${idle_kb:-0}" "$peak_kb" "$server_cpu" <<'JS'
const fs = require("fs");
const [reportFile, timeFile, usersArg, idleArg, peakArg, serverCpu] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(reportFile));
// The run period by period: users, emits/s, how late emits went out.
const t0 = r.intermediate.length ? r.intermediate[0].period : 0;
let arrived = 0, ended = 0;
console.log("   t (s)     active    emits/s   send_lag p50 / p99 / max (ms)");
for (const p of r.intermediate) {
  const pc = p.counters || {}, l = (p.summaries || {})["replayer.send_lag"];
  arrived += pc["vusers.created"] || 0;
  ended += (pc["vusers.completed"] || 0) + (pc["vusers.failed"] || 0);
  const rate = (pc["socketio.emit"] || 0) / 10;
  console.log(`${String((p.period - t0) / 1000).padStart(8)} ${String(arrived - ended).padStart(10)} ` +
    `${rate.toFixed(0).padStart(10)}   ${l ? `${l.p50} / ${l.p99} / ${l.max}` : "-"}`);
}
const [wall, user, sys] = fs.readFileSync(timeFile, "utf8").trim().split(/\s+/).map(Number);
const c = r.aggregate.counters, s = r.aggregate.summaries || {};
const created = c["vusers.created"] || 0, completed = c["vusers.completed"] || 0, failed = c["vusers.failed"] || 0;
const idle = Number(idleArg) / 1024, peak = Number(peakArg) / 1024;
const perUser = created ? (peak - idle) * 1024 / created : 0;
const lag = s["replayer.send_lag"] || {};
const errors = Object.entries(c).filter(([k]) => k.startsWith("errors.")).map(([k, v]) => `${k}=${v}`);
console.log(`users: created ${created}, completed ${completed}, failed ${failed}${errors.length ? " (" + errors.join(", ") + ")" : ""}`);
console.log(`emits: ${c["socketio.emit"] || 0}; pushes: ${c["socketio.push"] || 0}; send_lag p99 ${lag.p99 ?? "-"} ms`);
console.log(`memory: idle ${idle.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, ${perUser.toFixed(1)} KB per user above idle`);
console.log(`cpu: ${(user + sys).toFixed(1)} s (user ${user}, sys ${sys}) over ${wall} s; the Node server: ${serverCpu} s`);
console.log(`target <= 8 KB per user:        ${perUser <= 8 ? "MET" : "MISSED"} (${perUser.toFixed(1)})`);
if (Number(usersArg) <= 10000)
  console.log(`target <= 100 MB at 10k users:  ${peak * 10000 / Math.max(created, 1) <= 100 ? "MET" : "MISSED"} (${(peak * 10000 / Math.max(created, 1)).toFixed(1)} MB scaled to 10,000)`);
console.log(`target 0 failed:                ${failed === 0 && completed === created ? "MET" : "MISSED"}`);
process.exit(failed === 0 && completed === created ? 0 : 1);
JS
