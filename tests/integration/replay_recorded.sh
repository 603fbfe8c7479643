#!/usr/bin/env bash
# Integration: recorded-timing replay. b8.pcap (20 real clients through HAProxy, 100 client
# events over 5.6 s) is recorded, then `sioreplay replay rec.jsonl --speed 2 --multiply 3` runs it
# against the sample app (3 socket.io replicas behind the sticky HAProxy, 127.0.0.1 only) whose
# replicas log every event they receive. Checked on the server side:
#   - exactly 3x the recorded client events arrived, and each Engine.IO session received the
#     event sequence of one recorded session, in order, each recorded session exactly 3 times;
#   - the times: the k-th event the servers saw is within a tolerance of the k-th recorded client
#     event at half speed, and the run took about half the recorded span;
# and in the report: 60 users, 0 failed, and the pushes compared with the recording.
#
#   tests/integration/replay_recorded.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init rrec "$1"
capture="$root/samples/pcap/b8/b8.pcap"

sio_cluster_start 6300 6590 --event-log

"$sioreplay" record "$capture" -q -o "$work/rec.jsonl"
# A scenario option is refused for a recording, and a recording option for a scenario.
rc=0
"$sioreplay" replay "$work/rec.jsonl" --scale 2 -q 2>"$work/usage.err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--multiply" "$work/usage.err" ||
  { echo "FAIL: --scale on a recording: exit $rc: $(cat "$work/usage.err")"; exit 1; }

timeout 120 "$sioreplay" replay "$work/rec.jsonl" --speed 2 --multiply 3 \
  --target "http://127.0.0.1:$base" -q -o "$work/report.json" 2>"$work/replay.err"

node - "$work/rec.jsonl" "$work/report.json" "$work/replay.err" "$work/cluster" <<'JS'
const fs = require("fs");
const [recFile, reportFile, errFile, clusterDir] = process.argv.slice(2);
const sessions = fs.readFileSync(recFile, "utf8").trim().split("\n").map(JSON.parse)
  .filter((l) => l.kind === "session");
const report = JSON.parse(fs.readFileSync(reportFile));
const err = fs.readFileSync(errFile, "utf8");
const seen = [];
for (const r of ["s1", "s2", "s3"])
  for (const line of fs.readFileSync(`${clusterDir}/${r}-events.jsonl`, "utf8").split("\n"))
    if (line) seen.push(JSON.parse(line));
let bad = 0;
const check = (ok, what) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}`); if (!ok) bad++; };
const SPEED = 2, COPIES = 3;

// The recording's client events: per session, the sequence "nsp event", and absolute times.
const isEvent = (m) => m.dir === "client->server" && (m.type === "EVENT" || m.type === "BINARY_EVENT");
const recorded = sessions.map((s) => s.messages.filter(isEvent).map((m) => `${m.nsp} ${m.event}`).join("|"));
const recTimes = [];
for (const s of sessions)
  for (const m of s.messages.filter(isEvent)) recTimes.push(s.started_us / 1e3 + m.t_us / 1e3);
const total = recTimes.length;

check(seen.length === COPIES * total, `servers received ${COPIES} x ${total} = ${COPIES * total} events (got ${seen.length})`);

// Per Engine.IO session on the server, in arrival order (each session stays on one replica).
const bySid = new Map();
for (const e of [...seen].sort((a, b) => a.t - b.t)) {
  if (!bySid.has(e.eio)) bySid.set(e.eio, []);
  bySid.get(e.eio).push(`${e.nsp} ${e.event}`);
}
const want = new Map();
for (const seq of recorded) if (seq) want.set(seq, (want.get(seq) || 0) + COPIES);
const got = new Map();
for (const seq of bySid.values()) got.set(seq.join("|"), (got.get(seq.join("|")) || 0) + 1);
let sameSeqs = want.size === got.size;
for (const [seq, n] of want) if (got.get(seq) !== n) sameSeqs = false;
check(sameSeqs, `every server session received one recorded session's events in recorded order, ` +
  `each recorded session ${COPIES} times (${bySid.size} sessions with events)`);

// Times: the k-th event the servers saw against the k-th recorded event (x3) at half speed.
const t0s = Math.min(...seen.map((e) => e.t));
const t0r = Math.min(...recTimes);
const serverT = seen.map((e) => e.t - t0s).sort((a, b) => a - b);
const recT = recTimes.flatMap((t) => Array(COPIES).fill((t - t0r) / SPEED)).sort((a, b) => a - b);
let maxDev = 0;
for (let k = 0; k < Math.min(serverT.length, recT.length); k++)
  maxDev = Math.max(maxDev, Math.abs(serverT[k] - recT[k]));
const TOL_MS = 250;
check(serverT.length === recT.length && maxDev <= TOL_MS,
  `event times follow the recording at --speed ${SPEED}: max deviation ${maxDev.toFixed(1)} ms (<= ${TOL_MS})`);

const x = report["x-sioreplay-recorded"] || {};
const span = x.recordedSpanSeconds, elapsed = x.elapsedSeconds;
check(span > 5 && Math.abs(elapsed - span / SPEED) <= 0.25 * span / SPEED,
  `the run took about half the recorded span: ${elapsed && elapsed.toFixed(2)} s for ${span && span.toFixed(2)} s`);
const c = report.aggregate.counters;
check(c["vusers.created"] === 20 * COPIES && c["vusers.completed"] === 20 * COPIES && (c["vusers.failed"] || 0) === 0,
  `${20 * COPIES} users created and completed, 0 failed (got ${c["vusers.created"]} / ${c["vusers.completed"]} / ${c["vusers.failed"]})`);
check(c["socketio.emit"] === COPIES * total, `emitted ${COPIES * total} (got ${c["socketio.emit"]})`);

// Pushes: the report's comparison is consistent with the counters and the recording.
const p = x.pushes || {};
const recPushes = sessions.reduce((n, s) => n + s.messages.filter(
  (m) => m.dir === "server->client" && (m.type === "EVENT" || m.type === "BINARY_EVENT")).length, 0);
check(p.expected === COPIES * recPushes && p.received === c["socketio.push"] &&
      p.received - p.expected === p.extra - p.missing && x.bySession.length === 20 &&
      x.bySession.every((s) => s.copies === COPIES),
  `pushes compared with the recording: expected ${p.expected} (= ${COPIES} x ${recPushes}), ` +
  `received ${p.received}, missing ${p.missing}, extra ${p.extra}`);
// b8's app also greeted on "/chat", the sample app does not: each copy misses "/chat welcome".
check(x.bySession.every((s) => s.missing["/chat welcome"] === COPIES && !s.missing["welcome"]),
  `per session: "/chat welcome" missing ${COPIES} times, "welcome" not (the sample app is not b8's)`);
check(/20 session\(s\) x 3 replayed with their recorded timing/.test(err) &&
      /Server events against the recording: expected/.test(err), "stderr names the mode and the comparison");
if (bad) { console.log(err); process.exit(1); }
console.log("replay_recorded: all checks passed");
JS

# --source-addresses: straight to one replica (it sees the client addresses), fast, bound in
# turn to 127.0.0.2-127.0.0.4.
for r in s1 s2 s3; do : >"$work/cluster/$r-events.jsonl"; done
timeout 60 "$sioreplay" replay "$work/rec.jsonl" --speed 20 --target "http://127.0.0.1:$((base + 1))" \
  --source-addresses 127.0.0.2-127.0.0.4 -q -o "$work/sources.json" 2>"$work/sources.err"
node - "$work/sources.json" "$work/cluster/s1-events.jsonl" <<'JS'
const fs = require("fs");
const c = JSON.parse(fs.readFileSync(process.argv[2])).aggregate.counters;
const from = new Map();
for (const line of fs.readFileSync(process.argv[3], "utf8").split("\n").filter(Boolean)) {
  const a = JSON.parse(line).from.replace(/^::ffff:/, "");
  from.set(a, (from.get(a) || 0) + 1);
}
const used = [...from.keys()].sort();
const ok = c["vusers.completed"] === 20 && !c["vusers.failed"] &&
  JSON.stringify(used) === JSON.stringify(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
console.log(`  ${ok ? "ok  " : "FAIL"}  --source-addresses 127.0.0.2-127.0.0.4: 20/20 users, ` +
  `events from ${[...from].map(([a, n]) => `${a} x${n}`).join(", ")}`);
process.exit(ok ? 0 : 1);
JS
