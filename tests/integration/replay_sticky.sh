#!/usr/bin/env bash
# Integration: `sioreplay replay` against the sample app (3 real Node socket.io 4 replicas) behind
# HAProxy with cookie stickiness, on 127.0.0.1 only. Checks, from the report and from the
# servers' own counters:
#   - polling + upgrade, polling only, websocket only: 0 failed users, completed = created,
#     servers received exactly the emits the replayer counted, acks measured;
#   - polling only through the sticky balancer WITHOUT the cookie jar (--no-cookie-jar): users
#     fail with session_id_unknown, and the servers answered "Session ID unknown";
#   - --scale 3 creates exactly 3x the users of --scale 1;
#   - the converted bundled HAR replays with 0 failures;
#   - one replica directly (no balancer): polling + upgrade.
# With --v2 the replicas are Socket.IO 2.x (Engine.IO 3: the replayer pings, v4 packets);
# with --tls everything is https/wss (test CA passed with --ca-file), plus: no CA -> errors.tls,
# --insecure -> ok, a certificate for another name -> errors.tls naming the mismatch.
#
#   tests/integration/replay_sticky.sh SIOREPLAY_BINARY [--v2] [--tls]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
v2=0 tls=0
for a in "${@:2}"; do
  case $a in --v2) v2=1 ;; --tls) tls=1 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done
sio_init replay "$1"
failures=0

start_args=()
scheme=http
tls_args=()
if [ "$v2" = 1 ]; then start_args+=(--v2); fi
if [ "$tls" = 1 ]; then
  "$root/samples/app/make-cert.sh" "$work/certs"
  start_args+=(--tls "$work/certs")
  scheme=https
  tls_args=(--ca-file "$work/certs/ca.pem")
fi
sio_cluster_start 5000 5290 ${start_args[@]+"${start_args[@]}"}
# The certificate names localhost and 127.0.0.1; localhost checks the DNS name path.
host=127.0.0.1
if [ "$tls" = 1 ]; then host=localhost; fi

# scenario NAME TRANSPORTS_YAML USERS: a scenario with emits, acks and a namespace with auth.
scenario() {
  cat >"$work/$1.yml" <<YAML
config:
  target: "$scheme://$host:${4:-$base}"
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
  timeout 120 "$sioreplay" replay "$work/$name.yml" -q -o "$work/$name.report.json" ${tls_args[@]+"${tls_args[@]}"} "$@" \
    >"$work/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
  "$cluster" stats "$work/cluster" >"$work/$name.stats.json"
}

# verify NAME MODE: MODE ok (no failures, counts match), upgrade (ok + every user upgraded),
# nojar (session_id_unknown failures expected) or tls (every user failed with errors.tls).
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
if (mode === "tls") {
  line(rc === "0", "exit code 0 (the run completed)", rc);
  line(c["vusers.failed"] === c["vusers.created"] && c["vusers.created"] > 0, "every user failed", `${c["vusers.failed"]} / ${c["vusers.created"]}`);
  line(c["errors.tls"] === c["vusers.created"], "errors.tls counted", c["errors.tls"] || 0);
  line(received === 0 && stats.engine.connections === 0, "no Engine.IO session reached the servers", stats.engine.connections);
} else if (mode === "nojar") {
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

# Websocket only cannot tell a Socket.IO 2 server from its handshake: the script says so.
ws_only='    transports: ["websocket"]'
if [ "$v2" = 1 ]; then ws_only+=$'\n    eio: 3'; fi
scenario websocket "$ws_only" 10
run websocket
verify websocket ok

# --scale 3 creates exactly 3x the users of --scale 1.
scenario scaled "$ws_only" 7
run scaled --scale 3
echo "== --scale 3 on 7 users"
node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1])).aggregate.counters;
  const ok = c["vusers.created"] === 21; console.log(`  ${ok ? "ok  " : "FAIL"}  vusers.created = 21: ${c["vusers.created"]}`); process.exit(ok ? 0 : 1)' \
  "$work/scaled.report.json" || failures=$((failures + 1))

# One replica directly, no balancer.
scenario direct "" 5 $((base + 1))
run direct
verify direct upgrade

# The bundled HAR (a Socket.IO 4 app), recorded through HAProxy, converted, replayed at 4x.
if [ "$v2" = 0 ]; then
  "$sioreplay" convert "$root/samples/har/a2/devtools.har" -o "$work/a2.yml" --target "$scheme://$host:$base" \
    --think max=50ms --scale 4 2>/dev/null
  run a2
  verify a2 ok
fi

if [ "$tls" = 1 ]; then
  # Without the test CA the chain is refused; --insecure skips the check.
  cp "$work/websocket.yml" "$work/noca.yml"
  tls_args=()
  run noca
  verify noca tls
  grep -q "errors.tls: TLS handshake with localhost: unable to get local issuer certificate" "$work/noca.log" ||
    { echo "  FAIL  the summary says why TLS failed"; failures=$((failures + 1)); }
  cp "$work/websocket.yml" "$work/insecure.yml"
  run insecure --insecure
  verify insecure ok
  grep -q "warning: TLS certificates are not verified" "$work/insecure.log" ||
    { echo "  FAIL  --insecure prints a warning"; failures=$((failures + 1)); }
  # A certificate from the test CA for another name: the host name check refuses it.
  wport=$("$cluster" free-base 5300 5390)
  node "$root/samples/app/server.js" --port "$wport" --replica wrong \
    --tls-cert "$work/certs/wrongname.pem" --tls-key "$work/certs/wrongname.key" >/dev/null 2>&1 &
  sio_track $!
  sio_wait_port "$wport" 5
  scenario wrongname '    transports: ["websocket"]' 2 "$wport"
  tls_args=(--ca-file "$work/certs/ca.pem")
  "$cluster" reset "$work/cluster" >/dev/null
  timeout 60 "$sioreplay" replay "$work/wrongname.yml" -q -o "$work/wrongname.report.json" "${tls_args[@]}" \
    >"$work/wrongname.log" 2>&1 || true
  echo "== certificate for another name"
  node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1])).aggregate.counters;
    const ok = c["errors.tls"] === 2 && c["vusers.failed"] === 2;
    console.log(`  ${ok ? "ok  " : "FAIL"}  2/2 users failed with errors.tls: ${JSON.stringify(c)}`); process.exit(ok ? 0 : 1)' \
    "$work/wrongname.report.json" || failures=$((failures + 1))
  grep -q "errors.tls: .*hostname mismatch" "$work/wrongname.log" ||
    { echo "  FAIL  the summary names the host name mismatch"; failures=$((failures + 1)); }
fi

if [ "$failures" -ne 0 ]; then
  echo "replay_sticky: $failures case(s) failed; logs:"
  for f in "$work"/*.log; do echo "--- $f"; tail -30 "$f"; done
  exit 1
fi
echo "replay_sticky: all checks passed"
