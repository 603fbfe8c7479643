#!/usr/bin/env bash
# Integration: `sioreplay replay` against the sample app (3 real Node socket.io 4 replicas) behind
# HAProxy with cookie stickiness, on 127.0.0.1 only. Checks, from the report and from the
# servers' own counters:
#   - polling + upgrade, polling only, websocket only: 0 failed users, completed = created,
#     servers received exactly the emits the replayer counted, acks measured;
#   - polling only through the sticky balancer WITHOUT the cookie jar (--no-cookie-jar): users
#     fail with session_id_unknown, and the servers answered "Session ID unknown";
#   - --scale 3 creates exactly 3x the users of --scale 1;
#   - the converted bundled HAR replays with 0 failures.
#
#   tests/integration/replay_sticky.sh SIOREPLAY_BINARY
set -euo pipefail
sioreplay=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
cluster="$root/samples/app/cluster.sh"
work=$(mktemp -d /tmp/sio_replay_XXXXXX)
failures=0
cleanup() {
  "$cluster" stop "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

base=$("$cluster" free-base 5000 5290)
"$cluster" start "$work/cluster" "$base"

# scenario NAME TRANSPORTS_YAML USERS: a scenario with emits, acks and a namespace with auth.
scenario() {
  cat >"$work/$1.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  phases:
    - duration: 2
      arrivalCount: $3
  socketio:
    path: "/socket.io/"
$2
scenarios:
  - name: "$1"
    engine: socketio
    socketio:
      auth:
        token: "secret-abc"
    flow:
      - emit: ["hello", "world"]
      - emit:
          channel: "echo"
          data: { n: 1, text: "ack me" }
        acknowledge: {}
      - think: "100ms"
      - loop:
          - emit: ["echo", "loop {{ \$loopCount }}"]
            acknowledge: {}
        count: 3
      - emit: ["join", "general"]
        namespace: "/chat"
        acknowledge: {}
      - emit:
          channel: "upload"
          data: { name: "b.bin", data: { _binary_b64: "AAECAw==" } }
YAML
}

# run NAME [replay options...]: runs the replayer, saves report + server counts.
run() {
  local name=$1
  shift
  "$cluster" reset "$work/cluster" >/dev/null
  local rc=0
  timeout 120 "$sioreplay" replay "$work/$name.yml" -q -o "$work/$name.report.json" "$@" \
    >"$work/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
  "$cluster" stats "$work/cluster" >"$work/$name.stats.json"
}

# verify NAME MODE: MODE ok (no failures, counts match) or nojar (failures expected).
verify() {
  echo "== $1 ($2)"
  node - "$work/$1.report.json" "$work/$1.stats.json" "$(cat "$work/$1.rc")" "$2" <<'JS' || failures=$((failures + 1))
const fs = require("fs");
const [reportPath, statsPath, rc, mode] = process.argv.slice(2);
let bad = 0;
const line = (ok, what, detail) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}${detail !== undefined ? ": " + detail : ""}`); if (!ok) bad++; };
if (!fs.existsSync(reportPath)) { line(false, "report written", reportPath); process.exit(1); }
const agg = JSON.parse(fs.readFileSync(reportPath)).aggregate;
const c = agg.counters, s = agg.summaries || {};
const stats = JSON.parse(fs.readFileSync(statsPath)).total;
const received = Object.values(stats.events || {}).reduce((a, e) => a + Object.values(e).reduce((x, y) => x + y, 0), 0);
if (mode === "nojar") {
  line((c["vusers.failed"] || 0) > 0, "users fail without the cookie jar", c["vusers.failed"] || 0);
  line((c["errors.session_id_unknown"] || 0) > 0, "errors.session_id_unknown counted", c["errors.session_id_unknown"] || 0);
  line(stats.engine.sessionIdUnknown > 0, "servers answered \"Session ID unknown\"", stats.engine.sessionIdUnknown);
} else {
  line(rc === "0", "exit code 0", rc);
  line((c["vusers.failed"] || 0) === 0, "vusers.failed = 0",
       `${c["vusers.failed"] || 0} ${Object.keys(c).filter(k => k.startsWith("errors.")).map(k => k + "=" + c[k]).join(" ")}`);
  line(c["vusers.created"] > 0 && c["vusers.completed"] === c["vusers.created"], "vusers.completed = vusers.created",
       `${c["vusers.completed"]} / ${c["vusers.created"]}`);
  line(received === c["socketio.emit"], "servers received every emit", `${received} received, ${c["socketio.emit"]} emitted`);
  line((s["socketio.ack_time"] || {}).count > 0, "acks measured", JSON.stringify(s["socketio.ack_time"] || {}));
  line(stats.engine.sessionIdUnknown === 0, "no \"Session ID unknown\"", stats.engine.sessionIdUnknown);
  if (mode === "upgrade") line(stats.engine.upgrades === c["vusers.created"], "every user upgraded to websocket", `${stats.engine.upgrades}`);
}
process.exit(bad ? 1 : 0);
JS
}

scenario upgrade "" 10
run upgrade
verify upgrade upgrade

scenario polling '    transports: ["polling"]' 10
run polling
verify polling ok
cp "$work/polling.yml" "$work/polling-nojar.yml"
run polling-nojar --no-cookie-jar
verify polling-nojar nojar

scenario websocket '    transports: ["websocket"]' 10
run websocket
verify websocket ok

# --scale 3 creates exactly 3x the users of --scale 1.
scenario scaled '    transports: ["websocket"]' 7
run scaled --scale 3
echo "== --scale 3 on 7 users"
node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1])).aggregate.counters;
  const ok = c["vusers.created"] === 21; console.log(`  ${ok ? "ok  " : "FAIL"}  vusers.created = 21: ${c["vusers.created"]}`); process.exit(ok ? 0 : 1)' \
  "$work/scaled.report.json" || failures=$((failures + 1))

# The bundled HAR, recorded through HAProxy, converted, replayed at 4x.
"$sioreplay" convert "$root/samples/har/a2/devtools.har" -o "$work/a2.yml" --target "http://127.0.0.1:$base" \
  --think max=50ms --scale 4 2>/dev/null
run a2
verify a2 ok

if [ "$failures" -ne 0 ]; then
  echo "replay_sticky: $failures case(s) failed; logs:"
  for f in "$work"/*.log; do echo "--- $f"; tail -30 "$f"; done
  exit 1
fi
echo "replay_sticky: all checks passed"
