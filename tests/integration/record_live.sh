#!/usr/bin/env bash
# Integration: `sioreplay record --interface lo` captures real Socket.IO traffic live. The sample
# app (3 Node socket.io 4 replicas behind the sticky HAProxy, 127.0.0.1 only) is driven by
# `sioreplay replay` (5 users, polling then websocket, 4 acked emits each) while the recorder
# captures the HAProxy port on lo. Each session is written (and announced on stderr) once it has
# ended; SIGINT then stops the capture, which must write every session with every message
# (nothing lost at the stop), and the kernel's counters in the summary.
# Exit 77 (skipped) when this machine does not allow packet capture.
#
#   tests/integration/record_live.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init live "$1"
rec_pid=
sio_on_exit() { [[ -z $rec_pid ]] || kill "$rec_pid" 2>/dev/null || true; }

# Can this machine capture at all? (root or CAP_NET_RAW; containers may forbid it)
probe_rc=0
timeout 10 "$sioreplay" record --interface lo --filter "tcp port 1" --duration 0.3 -q \
  -o "$work/probe.jsonl" >"$work/probe.log" 2>&1 || probe_rc=$?
if grep -q "capturing needs root" "$work/probe.log"; then
  echo "SKIP: packet capture is not permitted here: $(head -c 300 "$work/probe.log")"
  exit 77
fi

sio_cluster_start 5700 5990

"$sioreplay" record --interface lo --filter "tcp port $base" -o "$work/live.jsonl" \
  >"$work/record.log" 2>&1 &
rec_pid=$!
sleep 1 # the capture is open before the first packet

cat >"$work/s.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  phases:
    - duration: 2
      arrivalCount: 5
scenarios:
  - engine: socketio
    flow:
      - loop:
          - emit:
              channel: echo
              data: "live {{ \$loopCount }}"
            acknowledge: {}
          - think: 0.2
        count: 4
      - think: 0.5
YAML
timeout 60 "$sioreplay" replay "$work/s.yml" -q -o "$work/report.json" >"$work/replay.log" 2>&1
# Sessions are written as they end: 10 s after their close the 5 are on disk and announced.
for _ in $(seq 1 30); do
  [[ $(grep -c "session ended" "$work/record.log" || true) -ge 5 ]] && break
  sleep 0.5
done
ended_before_stop=$(grep -c "session ended" "$work/record.log" || true)
kill -INT "$rec_pid"
rc=0
wait "$rec_pid" || rc=$?
rec_pid=
failures=0
ok() { echo "  ok    $1"; }
bad() { echo "  FAIL  $1"; failures=$((failures + 1)); }
[[ $ended_before_stop == 5 ]] && ok "the 5 sessions were written as they ended, before the stop" ||
  bad "sessions ended before the stop: $ended_before_stop"
[[ $rc == 0 ]] && ok "record exits 0 after SIGINT" || { bad "record exit $rc"; cat "$work/record.log"; }
grep -q "kernel: .* packets received, 0 dropped by the kernel" "$work/record.log" &&
  ok "summary has the kernel counters (0 dropped)" || bad "kernel counters: $(grep kernel "$work/record.log")"

node - "$work/live.jsonl" "$work/report.json" <<'JS' || failures=$((failures + 1))
const fs = require("fs");
const lines = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
const report = JSON.parse(fs.readFileSync(process.argv[3]));
const sessions = lines.filter((l) => l.kind === "session");
let bad = 0;
const check = (okay, what) => { console.log(`  ${okay ? "ok  " : "FAIL"}  ${what}`); if (!okay) bad++; };
check(report.aggregate.counters["vusers.completed"] === 5, "replay: 5 users completed");
check(sessions.length === 5, `5 sessions recorded (got ${sessions.length})`);
let emits = 0, acks = 0, upgraded = 0;
for (const s of sessions) {
  const c2s = s.messages.filter((m) => m.dir === "client->server" && m.type === "EVENT");
  const ack = s.messages.filter((m) => m.dir === "server->client" && m.type === "ACK");
  emits += c2s.length; acks += ack.length;
  if (s.upgraded) upgraded++;
  const texts = c2s.map((m) => m.args[0]).join(",");
  if (texts !== "live 1,live 2,live 3,live 4") check(false, `session ${s.sid} emits in order: ${texts}`);
}
check(emits === 20 && acks === 20, `20 emits and 20 acks recorded (got ${emits} / ${acks})`);
check(upgraded === 5, `every session upgraded to websocket (got ${upgraded})`);
process.exit(bad ? 1 : 0);
JS
[[ $failures == 0 ]] || { echo "record_live: $failures failure(s)"; cat "$work/record.log"; exit 1; }
echo "record_live: all checks passed"
