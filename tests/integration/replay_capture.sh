#!/usr/bin/env bash
# Integration: `sioreplay replay` takes a packet capture directly. b8.pcap (20 real browser-like
# clients through HAProxy, captured with tcpdump) is read on the fly and replayed against the
# sample app (3 socket.io replicas behind the sticky HAProxy, 127.0.0.1 only): every user must
# complete, and the replayer must emit exactly the client events the recording of the same
# capture holds.
#
#   tests/integration/replay_capture.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init rcap "$1"
capture="$root/samples/pcap/b8/b8.pcap"

sio_cluster_start 6000 6290

"$sioreplay" record "$capture" -q -o "$work/rec.jsonl"
timeout 120 "$sioreplay" replay "$capture" --target "http://127.0.0.1:$base" -q \
  -o "$work/report.json" 2>"$work/replay.err"

node - "$work/rec.jsonl" "$work/report.json" "$work/replay.err" <<'JS'
const fs = require("fs");
const lines = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
const report = JSON.parse(fs.readFileSync(process.argv[3]));
const err = fs.readFileSync(process.argv[4], "utf8");
const c = report.aggregate.counters;
let bad = 0;
const check = (ok, what) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}`); if (!ok) bad++; };
const sessions = lines.filter((l) => l.kind === "session");
const events = sessions.reduce((n, s) => n + s.messages.filter(
  (m) => m.dir === "client->server" && (m.type === "EVENT" || m.type === "BINARY_EVENT")).length, 0);
check(/20 session\(s\) x 1 replayed with their recorded timing/.test(err), "the capture was read: 20 sessions, replayed with their timing");
check(c["vusers.created"] === 20 && c["vusers.completed"] === 20,
      `20 users created and completed (got ${c["vusers.created"]} / ${c["vusers.completed"]})`);
check((c["vusers.failed"] || 0) === 0, `0 failed (got ${c["vusers.failed"]})`);
check(c["socketio.emit"] === events, `emitted the recording's ${events} client events (got ${c["socketio.emit"]})`);
if (bad) { console.log(err); process.exit(1); }
console.log("replay_capture: all checks passed");
JS
