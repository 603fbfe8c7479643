#!/usr/bin/env bash
# Integration: the converter's YAML runs unmodified in real Artillery against the project's
# sample app (3 Socket.IO replicas behind HAProxy with cookie stickiness), and the servers see
# exactly the recorded client events. Also shows that the same scenario without the sticky-cookie
# parameterization fails behind the balancer ("Session ID unknown" / xhr errors).
#
#   tests/integration/convert_artillery.sh SIOREPLAY_BINARY
#
# Needs scripts/install-node-deps.sh to have run (sample app, pinned Artillery, haproxy).
# Everything listens on 127.0.0.1; the cluster is stopped on exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init conv_art "$1"
artillery="$root/tests/peers/artillery/artillery"
failures=0

sio_cluster_start 4700 4990

check() { # check NAME CONDITION-TEXT VALUE: prints and counts failures
  if [ "$3" = ok ]; then printf '  ok    %s: %s\n' "$1" "$2"; else
    printf '  FAIL  %s: %s (%s)\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}

# run_case NAME HAR TARGET SED [convert options...]: records, converts (then applies the sed
# script SED to the YAML when not empty), runs Artillery, saves report and server counts.
run_case() {
  local name=$1 har=$2 target=$3 edit=$4
  shift 4
  echo "== $name: $(basename "$(dirname "$har")")/$(basename "$har") -> $target $* ${edit:+(YAML edited: $edit)}"
  "$sioreplay" record -q "$har" -o "$work/$name.jsonl"
  "$sioreplay" convert "$work/$name.jsonl" -o "$work/$name.yml" --target "$target" \
    --think max=100ms "$@" 2>"$work/$name.convert.log"
  [ -z "$edit" ] || sed -i "$edit" "$work/$name.yml"
  "$cluster" reset "$work/cluster" >/dev/null
  local rc=0
  (cd "$work" && timeout 180 "$artillery" run -o "$work/$name.report.json" "$work/$name.yml" \
    >"$work/$name.artillery.log" 2>&1) || rc=$?
  "$cluster" stats "$work/cluster" >"$work/$name.stats.json"
  echo "$rc" >"$work/$name.rc"
}

# expect_success NAME: exit 0, no failed user, every recorded client event seen by the servers.
expect_success() {
  local name=$1
  node - "$work/$name.jsonl" "$work/$name.report.json" "$work/$name.stats.json" "$(cat "$work/$name.rc")" <<'JS' || failures=$((failures + 1))
const fs = require("fs");
const [recPath, reportPath, statsPath, rc] = process.argv.slice(2);
const lines = fs.readFileSync(recPath, "utf8").trim().split("\n").map(JSON.parse);
const want = {};
for (const s of lines.filter(l => l.kind === "session")) {
  const refused = new Set(s.messages.filter(m => m.dir === "server->client" && m.type === "CONNECT_ERROR").map(m => m.nsp));
  for (const m of s.messages)
    if (m.dir === "client->server" && (m.type === "EVENT" || m.type === "BINARY_EVENT") && !refused.has(m.nsp)) {
      const k = m.nsp + " " + m.event;
      want[k] = (want[k] || 0) + 1;
    }
}
const c = fs.existsSync(reportPath) ? JSON.parse(fs.readFileSync(reportPath)).aggregate.counters : {};
const stats = JSON.parse(fs.readFileSync(statsPath)).total;
const got = {};
for (const [nsp, evs] of Object.entries(stats.events || {}))
  for (const [ev, n] of Object.entries(evs)) got[nsp + " " + ev] = n;
let bad = 0;
const line = (ok, what, detail) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}${detail ? ": " + detail : ""}`); if (!ok) bad++; };
line(rc === "0", "artillery exit code 0", rc);
line((c["vusers.failed"] || 0) === 0, "vusers.failed = 0", String(c["vusers.failed"] || 0));
line(c["vusers.created"] > 0 && c["vusers.completed"] === c["vusers.created"], "vusers.completed = vusers.created",
     `${c["vusers.completed"]} / ${c["vusers.created"]}`);
// Each virtual user replays one recorded session: with one session, created users x its events.
const sessions = lines.filter(l => l.kind === "session").length;
const users = c["vusers.created"] || 0;
if (sessions === 1) for (const k of Object.keys(want)) want[k] *= users;
else line(users === sessions, "one user per recorded session", `${users} / ${sessions}`);
const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
const diff = keys.filter(k => (want[k] || 0) !== (got[k] || 0));
line(diff.length === 0, `servers received the ${Object.values(want).reduce((a, b) => a + b, 0)} client events the recording implies`,
     diff.map(k => `${k}: recorded ${want[k] || 0}, received ${got[k] || 0}`).join("; "));
process.exit(bad ? 1 : 0);
JS
}

# a2 was recorded through HAProxy: its route cookie is parameterized, so it works through it.
run_case a2 "$root/samples/har/a2/devtools.har" "http://127.0.0.1:$base" "" --scale 6
expect_success a2
# a1 and a3 were recorded against one server: replayed against one replica, as recorded.
run_case a1 "$root/samples/har/a1/devtools.har" "http://127.0.0.1:$((base + 1))" ""
expect_success a1
run_case a3 "$root/samples/har/a3/devtools.har" "http://127.0.0.1:$((base + 1))" ""
expect_success a3

# Without the parameterization (the same scenario with its Cookie header line removed, as a
# hand-written Artillery YAML would be), it fails behind the balancer: the polling requests of
# one session are spread over the replicas.
run_case a2-nocookie "$root/samples/har/a2/devtools.har" "http://127.0.0.1:$base" '/Cookie: "route=/d' --scale 3
node - "$work/a2-nocookie.report.json" "$work/a2-nocookie.stats.json" <<'JS' || failures=$((failures + 1))
const fs = require("fs");
const [reportPath, statsPath] = process.argv.slice(2);
const c = fs.existsSync(reportPath) ? JSON.parse(fs.readFileSync(reportPath)).aggregate.counters : {};
const stats = JSON.parse(fs.readFileSync(statsPath)).total;
const xhr = Object.keys(c).filter(k => /^errors\..*xhr (poll|post) error/.test(k));
let bad = 0;
const line = (ok, what, detail) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}${detail ? ": " + detail : ""}`); if (!ok) bad++; };
line((c["vusers.failed"] || 0) > 0, "users fail without the sticky cookie", `vusers.failed = ${c["vusers.failed"] || 0}`);
line(xhr.length > 0, "Artillery reports xhr poll/post errors", xhr.join(", ") || "none");
line((stats.engine || {}).sessionIdUnknown > 0, "servers answered \"Session ID unknown\"", String((stats.engine || {}).sessionIdUnknown));
process.exit(bad ? 1 : 0);
JS

# Every option that changes the YAML's shape still passes Artillery's own script validation.
run_case a1-options "$root/samples/har/a1/devtools.har" "http://127.0.0.1:$((base + 1))" "" \
  --match-acks --responses --http --duration 2 --arrival-rate 1
if grep -q "validation error" "$work/a1-options.artillery.log"; then
  check a1-options "Artillery accepts the YAML" "$(grep -m1 "validation error" "$work/a1-options.artillery.log")"
else
  check a1-options "Artillery accepts the YAML (--match-acks --responses --http ...)" ok
fi

if [ "$failures" -ne 0 ]; then
  echo "convert_artillery: $failures check(s) failed; logs:"
  for f in "$work"/*.artillery.log; do echo "--- $f"; tail -25 "$f"; done
  exit 1
fi
echo "convert_artillery: all checks passed"
