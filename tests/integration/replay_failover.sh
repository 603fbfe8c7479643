#!/usr/bin/env bash
# Integration: a replica dies mid-run. The sample cluster (3 Node socket.io 4 replicas behind
# HAProxy with cookie stickiness, 127.0.0.1 only) under 36 users over 6 s in two scenarios
# (polling only; polling upgraded to websocket), each emitting with an ack every 300 ms for
# about 3 s (--connect-timeout 2, config.timeout 2). At 2 s replica s2 is killed (SIGKILL, by
# the PID the cluster script recorded) and 0.5 s later it is started again (Node then takes a
# moment to listen; HAProxy, with no health checks, keeps sending s2's users to it and retries
# the connections it refuses). Checks:
#   - the run completes (exit 0) in bounded time;
#   - users fail, each with a transport, session or deadline cause (connection reset/closed,
#     HTTP 502/503 from HAProxy, "Session ID unknown" from the restarted s2, an ack, handshake
#     or poll deadline passed while HAProxy retried), and the others keep going: at least half
#     of the users complete, and users reach the restarted s2;
#   - the report is consistent: created = completed + failed overall and per scenario, the
#     errors.* counters sum to the failed users, and every vusers.* and errors.* number of the
#     JSON is the one in the summary table on stderr.
#
#   tests/integration/replay_failover.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init failover "$1"
sio_cluster_start 6300 6590

cat >"$work/failover.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  timeout: 2
  phases:
    - duration: 6
      arrivalCount: 36
scenarios:
  - name: "polling"
    engine: socketio
    socketio:
      transports: ["polling"]
    flow: &flow
      - loop:
          - emit: ["echo", "n {{ \$loopCount }}"]
            acknowledge: {}
          - think: "300ms"
        count: 10
  - name: "upgraded"
    engine: socketio
    flow: *flow
YAML

t0=$(date +%s%N)
timeout 60 "$sioreplay" replay "$work/failover.yml" -q --connect-timeout 2 -o "$work/report.json" \
  2>"$work/replay.err" &
rp=$!
sleep 2
"$cluster" kill "$work/cluster" s2
sleep 0.5
"$cluster" restart "$work/cluster" s2
rc=0
wait "$rp" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
"$cluster" stats "$work/cluster" >"$work/stats.json"

node - "$work" "$rc" "$ms" <<'JS'
const fs = require("fs");
const [dir, rc, ms] = [process.argv[2], +process.argv[3], +process.argv[4]];
const read = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
let bad = 0;
const check = (ok, what) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}`); if (!ok) bad++; };
const err = read("replay.err");
if (!fs.existsSync(`${dir}/report.json`)) { console.log(err); process.exit(1); }
const c = JSON.parse(read("report.json")).aggregate.counters;
const n = (k) => c[k] || 0;
const errors = Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith("errors.")));
const errorSum = Object.values(errors).reduce((a, v) => a + v, 0);
check(rc === 0 && ms < 30000, `the run completed: exit ${rc} after ${(ms / 1000).toFixed(1)} s`);
check(n("vusers.failed") > 0 && n("vusers.completed") >= n("vusers.created") / 2,
  `users on s2 failed, the others kept going: created ${n("vusers.created")}, completed ` +
  `${n("vusers.completed")}, failed ${n("vusers.failed")}`);
const allowed = /^errors\.(connection_reset|connection_closed|ws_closed|session_id_unknown|http_50[23]|transport_closed|timeout\.(ack|poll|post|connect|handshake|upgrade)|ping_timeout)$/;
check(Object.keys(errors).length > 0 && Object.keys(errors).every((k) => allowed.test(k)),
  `each failed user has a transport or session cause: ${JSON.stringify(errors)}`);
check(n("vusers.created") === 36 && n("vusers.created") === n("vusers.completed") + n("vusers.failed") &&
      !c["vusers.interrupted"],
  `created ${n("vusers.created")} = completed ${n("vusers.completed")} + failed ${n("vusers.failed")}`);
let perScenario = true;
for (const s of ["polling", "upgraded"]) {
  const [cr, co, fa] = ["created", "completed", "failed"].map((k) => n(`vusers.${k}_by_name.${s}`));
  console.log(`    ${s}: created ${cr} completed ${co} failed ${fa}`);
  if (!(cr > 0 && cr === co + fa)) perScenario = false;
}
check(perScenario, "per scenario: created = completed + failed");
check(errorSum === n("vusers.failed"), `errors.* sum ${errorSum} = failed ${n("vusers.failed")}`);
const table = Object.entries(c).filter(([k]) => /^(vusers\.|errors\.)/.test(k));
const missing = table.filter(([k, v]) =>
  !new RegExp(`^  ${k.replace(/\./g, "\\.")} +${v.toLocaleString("en-US")}$`, "m").test(err));
check(/Summary after/.test(err) && missing.length === 0,
  `the summary table on stderr agrees with the JSON (${table.length} counters${missing.length ? `; differ: ${missing}` : ""})`);
const examples = err.split("\n").filter((l) => /^  errors\./.test(l) && /: /.test(l));
check(examples.length === Object.keys(errors).length,
  `stderr names the first error of each cause:\n${examples.map((l) => "      " + l.trim()).join("\n")}`);
const stats = JSON.parse(read("stats.json"));
const s2 = stats.replicas.s2;
check(s2 && s2.engine && s2.engine.connections > 0,
  `the restarted s2 took new users (${s2 && s2.engine ? s2.engine.connections : "?"} Engine.IO sessions)`);
if (bad) process.exit(1);
console.log("replay_failover: all checks passed");
JS
