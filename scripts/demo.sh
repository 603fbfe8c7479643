#!/usr/bin/env bash
# The main job, end to end on a bundled sample, on 127.0.0.1 only:
#   1. installs what is missing (Debian packages, the pinned npm peers) and builds sioreplay;
#   2. records the bundled real Chromium HAR (a Socket.IO session through a sticky HAProxy);
#   3. converts the recording to an Artillery v2 scenario (route cookie parameterized);
#   4. starts the sample app: 3 Socket.IO replicas behind HAProxy with cookie stickiness;
#   5. replays the scenario at 5x with sioreplay (per-user cookie jar) and prints the summary;
#   6. runs the same YAML in real Artillery, to show it runs there too;
#   7. stops the cluster it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-node-deps.sh
scripts/build.sh release
out=build/demo
mkdir -p "$out"
har=samples/har/a2/devtools.har

echo
echo "== 1. sioreplay record $har"
build/sioreplay record "$har" -o "$out/a2.jsonl"

# A free base port for HAProxy (+1..+3 for the replicas).
base=$(samples/app/cluster.sh free-base 4500 4590)

echo
echo "== 2. sioreplay convert -> $out/scenario.yml (target: the local sticky HAProxy, 5x the recorded users)"
build/sioreplay convert "$out/a2.jsonl" -o "$out/scenario.yml" --target "http://127.0.0.1:$base" \
  --scale 5 --think max=200ms
sed -n '1,12p' "$out/scenario.yml"
echo "   ..."

echo
echo "== 3. sample app: 3 Socket.IO replicas behind HAProxy (cookie route insert indirect nocache)"
trap 'samples/app/cluster.sh stop "$out/cluster" >/dev/null 2>&1 || true' EXIT
samples/app/cluster.sh start "$out/cluster" "$base"

echo
echo "== 4. sioreplay replay: the scenario at 5x the recorded users"
build/sioreplay replay "$out/scenario.yml" -o "$out/report.json"

echo
echo "== 5. the same YAML in real Artillery"
(cd "$out" && ../../tests/peers/artillery/artillery run -o artillery-report.json scenario.yml >artillery.log 2>&1) || true
grep -A40 "Summary report" "$out/artillery.log" | grep -E "socketio|vusers|errors" || tail -20 "$out/artillery.log"

echo
echo "== 6. what the replicas saw (both runs)"
samples/app/cluster.sh stats "$out/cluster" | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const [name, r] of Object.entries(s.replicas)) {
    const events = Object.values(r.events || {}).reduce((a, e) => a + Object.values(e).reduce((x, y) => x + y, 0), 0);
    console.log(`   ${name}: ${r.engine.connections} Engine.IO sessions, ${events} events, ${r.engine.sessionIdUnknown} "Session ID unknown"`);
  }'
