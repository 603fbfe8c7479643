#!/usr/bin/env bash
# Integration: `replayer.send_lag` (how late emits go out after they were due) checked against
# the server's own timestamps. 400 websocket users arrive over 2 s; each waits 2.5 s (so that no
# connection is being set up while emits flow: the server's event loop would add jitter), then
# emits "tick" 10 times, 250 ms apart (think steps are absolute: emit k is due k x 250 ms after
# the first), 1,600 emits/s in all. The sample app (one Node process on 127.0.0.1) logs each
# event with a microsecond timestamp.
# Per user, the server-side lateness of emit k is (t_k - k x 250 ms) - min_j (t_j - j x 250 ms):
# the replayer's lag of emit k against its least late emit, plus loopback and server jitter.
# Checks:
#   - 4,000 events arrived, 10 per server session, 0 failed users;
#   - the replayer reports send_lag p99 <= 3 ms (10 ms in a sanitizer build); issue 6's target,
#     2 ms at 10,000 users, is measured by bench/replay_scale.sh, not by a timed test;
#   - the server-side lateness p99 is <= the reported p99 + 3 ms (5 ms sanitized) of loopback
#     and server jitter: the reported figure is what the server saw;
#   - the median server-side gap between a user's emits is 250 ms within 1 ms (no drift).
# A run that misses only the two time bounds (every count right) is measured once more with a
# fresh server: a shared 2-core machine can delay a wake-up by milliseconds now and then. Both
# results are printed; the test passes when the second run holds every bound.
#
#   tests/integration/replay_timing.sh SIOREPLAY_BINARY [--sanitized]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init timing "$1"
lag_limit=3 jitter=3
if [ "${2:-}" = --sanitized ]; then lag_limit=10 jitter=5; fi

for attempt in 1 2; do
port=$(sio_free_port 5500 5690)
rm -f "$work/events.jsonl"
node "$root/samples/app/server.js" --port "$port" --replica t1 --event-log "$work/events.jsonl" \
  >"$work/server.log" 2>&1 &
server=$!
sio_track "$server"
sio_wait_port "$port"

cat >"$work/timing.yml" <<YAML
config:
  target: "http://127.0.0.1:$port"
  phases:
    - duration: 2
      arrivalCount: 400
  socketio:
    transports: ["websocket"]
scenarios:
  - engine: socketio
    flow:
      - think: 2.5
      - loop:
          - emit: ["tick", "{{ \$loopCount }}"]
          - think: 0.25
        count: 10
YAML
"$sioreplay" replay "$work/timing.yml" ${SIO_TIMING_ARGS:-} -q -o "$work/report.json" 2>"$work/replay.err" ||
  { cat "$work/replay.err"; exit 1; }

kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
rc=0
node - "$work/report.json" "$work/events.jsonl" "$lag_limit" "$jitter" <<'JS' || rc=$?
const fs = require("fs");
const [LAG_LIMIT, JITTER] = [+process.argv[4], +process.argv[5]];
const report = JSON.parse(fs.readFileSync(process.argv[2]));
const events = fs.readFileSync(process.argv[3], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
let bad = 0, badTime = 0;
const check = (ok, what, time = false) => {
  console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}`);
  if (!ok) { bad++; if (time) badTime++; }
};
const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]; };

const c = report.aggregate.counters;
const bySid = new Map();
for (const e of events.filter((e) => e.event === "tick")) {
  if (!bySid.has(e.eio)) bySid.set(e.eio, []);
  bySid.get(e.eio).push(e.t);
}
const sessions = [...bySid.values()].map((ts) => ts.sort((a, b) => a - b));
check(events.length === 4000 && sessions.length === 400 && sessions.every((ts) => ts.length === 10) &&
      c["vusers.completed"] === 400 && !c["vusers.failed"],
  `4,000 events, 10 in each of 400 server sessions, 0 failed (got ${events.length} in ${sessions.length}, failed ${c["vusers.failed"] || 0})`);

const lag = report.aggregate.summaries["replayer.send_lag"];
check(lag && lag.count === 4000, `reported send_lag count ${lag && lag.count}`);
check(lag && lag.p99 <= LAG_LIMIT,
  `reported send_lag: p50 ${lag && lag.p50} ms, p99 ${lag && lag.p99} ms (<= ${LAG_LIMIT})`, true);

const late = [], gaps = [];
for (const ts of sessions) {
  const base = Math.min(...ts.map((t, k) => t - k * 250));
  ts.forEach((t, k) => late.push(t - k * 250 - base));
  for (let k = 1; k < ts.length; k++) gaps.push(ts[k] - ts[k - 1]);
}
const p99 = pct(late, 0.99), p50 = pct(late, 0.5);
check(lag && p99 <= lag.p99 + JITTER,
  `server-side lateness: p50 ${p50.toFixed(2)}, p99 ${p99.toFixed(2)} ms ` +
  `(<= reported p99 ${lag && lag.p99} + ${JITTER} ms jitter)`, true);
const g50 = pct(gaps, 0.5);
check(Math.abs(g50 - 250) <= 1, `median gap between a user's emits at the server: ${g50.toFixed(2)} ms (250 +- 1)`);
if (bad) process.exit(bad === badTime ? 3 : 1); // 3: only the time bounds
console.log("replay_timing: all checks passed");
JS
if [ "$rc" = 0 ]; then exit 0; fi
if [ "$rc" != 3 ] || [ "$attempt" = 2 ]; then exit 1; fi
echo "  only the time bounds missed: measuring once more"
done
