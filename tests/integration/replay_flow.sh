#!/usr/bin/env bash
# Integration: the flow language beyond emits, against the sample app (3 real Node socket.io 4
# replicas behind the sticky HAProxy, 127.0.0.1 only):
#   - `waitFor` a push that arrived before the step (welcome) and one after (server-bin),
#     `capture` from pushes, acks and HTTP responses, `match` on them with templates;
#   - HTTP steps share the user's cookie jar: GET /stats lands on the replica that holds the
#     user's Socket.IO session (the replica names captured from both sides must match);
#   - a per-step `timeout` cuts a wait short (errors.timeout.wait_for, well before
#     config.timeout), a failed match is errors.match_failed;
#   - `config.ensure`: passing thresholds/conditions exit 0, a violated one exits 1 and says
#     which.
#
#   tests/integration/replay_flow.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init flow "$1"
failures=0
sio_cluster_start 5400 5690

check() { # check NAME NODE_EXPRESSION_ON_c(counters),s(summaries),rc,log
  node - "$work/$1.report.json" "$(cat "$work/$1.rc")" "$work/$1.log" "$2" "$3" <<'JS' || failures=$((failures + 1))
const fs = require("fs");
const [reportPath, rc, logPath, what, expr] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(reportPath));
const c = r.aggregate.counters, s = r.aggregate.summaries || {}, log = fs.readFileSync(logPath, "utf8");
let ok = false;
try { ok = !!eval(expr); } catch (e) { console.log(e.message); }
console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}` + (ok ? "" : `: rc=${rc} ${JSON.stringify(c)}`));
process.exit(ok ? 0 : 1);
JS
}

run() { # run NAME [options]
  local name=$1 rc=0
  shift
  "$cluster" reset "$work/cluster" >/dev/null
  timeout 120 "$sioreplay" replay "$work/$name.yml" -q -o "$work/$name.report.json" "$@" \
    >"$work/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
  "$cluster" stats "$work/cluster" >"$work/$name.stats.json"
  echo "== $name"
}

cat >"$work/flow.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  timeout: 5
  phases:
    - duration: 2
      arrivalCount: 6
  ensure:
    thresholds:
      - "vusers.failed": 1
    conditions:
      - expression: "socketio.ack_time.count == 6 and http.codes.200 == 12 and vusers.completed == 6"
scenarios:
  - name: flow
    engine: socketio
    flow:
      - waitFor:
          channel: "welcome"
          capture:
            json: "\$.0.replica"
            as: "wsReplica"
      - get:
          url: "/stats"
          capture:
            - json: "\$.replica"
              as: "httpReplica"
          match:
            json: "\$.replica"
            value: "{{ wsReplica }}"
      - emit: ["echo", "{{ httpReplica }}"]
        acknowledge:
          match:
            json: "\$.0"
            value: "{{ wsReplica }}"
          capture:
            json: "\$.1.replica"
            as: "ackReplica"
      - emit: ["request-server-events", { count: 2 }]
        response:
          on: "tick"
          data: { n: 2, of: 2 }
      - waitFor:
          on: "server-bin"
        timeout: "3s"
      - get:
          url: "/stats"
          match:
            header: "x-replica"
            value: "{{ ackReplica }}"
YAML
run flow
check flow "exit 0, 6/6 users completed" 'rc === "0" && c["vusers.completed"] === 6 && c["vusers.failed"] === 0'
check flow "HTTP steps counted (12 x 200)" 'c["http.requests"] === 12 && c["http.codes.200"] === 12 && s["http.response_time"].count === 12'
check flow "waitFor measured (welcome + server-bin)" 's["socketio.wait_time"].count === 12'
check flow "response waited for the matching tick" 's["socketio.response_time"].count === 12 && c["socketio.push.tick"] === 12'
check flow "ensure printed as passed" '/ok   socketio.ack_time.count == 6/.test(log) || /ok  .*socketio\.ack_time\.count/.test(log)'
node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1])).total;
  const ok = s.engine.sessionIdUnknown === 0; console.log(`  ${ok ? "ok  " : "FAIL"}  no "Session ID unknown"`); process.exit(ok ? 0 : 1)' \
  "$work/flow.stats.json" || failures=$((failures + 1))

# A per-step timeout ends the wait well before config.timeout (30 s).
cat >"$work/timeout.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  timeout: 30
  phases:
    - duration: 1
      arrivalCount: 3
  socketio:
    transports: ["websocket"]
scenarios:
  - engine: socketio
    flow:
      - waitFor:
          on: "never-sent"
        timeout: "400ms"
YAML
start=$(date +%s%N)
run timeout
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check timeout "3/3 failed with errors.timeout.wait_for" 'c["vusers.failed"] === 3 && c["errors.timeout.wait_for"] === 3'
if [ "$elapsed_ms" -lt 8000 ]; then echo "  ok    done in $elapsed_ms ms (< 8 s)"; else
  echo "  FAIL  took $elapsed_ms ms"; failures=$((failures + 1)); fi

# A failed match fails the user; a violated ensure exits 1 and names the check.
cat >"$work/nomatch.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  phases:
    - duration: 1
      arrivalCount: 2
  socketio:
    transports: ["websocket"]
  ensure:
    maxErrorRate: 0
    thresholds:
      - "socketio.ack_time.p99": 10000
scenarios:
  - engine: socketio
    flow:
      - emit: ["echo", "a"]
        acknowledge:
          match:
            json: "\$.0"
            value: "b"
YAML
run nomatch
check nomatch "2/2 failed with errors.match_failed" 'c["vusers.failed"] === 2 && c["errors.match_failed"] === 2'
check nomatch "exit 1 with the failed ensure check named" 'rc === "1" && /FAIL.*maxErrorRate/.test(log) && /config.ensure failed/.test(log)'

if [ "$failures" -ne 0 ]; then
  echo "replay_flow: $failures check(s) failed; logs:"
  for f in "$work"/*.log; do echo "--- $f"; tail -30 "$f"; done
  exit 1
fi
echo "replay_flow: all checks passed"
