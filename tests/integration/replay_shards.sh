#!/usr/bin/env bash
# Integration: one run split into shards, against the sample app (3 real Node socket.io 4
# replicas) behind HAProxy with cookie stickiness, on 127.0.0.1 only. From the servers' event
# logs and the reports:
#   - `replay --processes 3`: 60 users whose payload rows (ids 1..60, sequential) each reach the
#     servers exactly once, 0 failed, one merged report with 60 created and completed, and one
#     merged live line at 10 s (not one per process); its `--metrics-port` endpoint, scraped
#     with a plain HTTP GET, parses as Prometheus text with the merged numbers of that period;
#   - `replay --shard I/3` for I = 0, 1, 2 run side by side (straight to one replica, shard I from
#     source address 127.0.0.(I+2)): shard I sends exactly the rows 3j+I+1 (arrival k takes row
#     k+1 and goes to shard k mod 3), 20 users each, and
#     `report --merge` sums their counters and histogram counts, with the merged percentiles
#     inside the shards' range;
#   - `--processes 2` stopped by SIGINT at 3 s: ends within a few seconds, exit 1, one report
#     marked interrupted with created = completed + failed + interrupted;
#   - report usage and errors: several reports without --merge (exit 2), a JSON file that is not
#     a sioreplay report (exit 1, named), no output file left behind.
#
#   tests/integration/replay_shards.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init shards "$1"
sio_cluster_start 5300 5490 --event-log
logs() { cat "$work"/cluster/s{1,2,3}-events.jsonl; }
clear_logs() { for r in s1 s2 s3; do : >"$work/cluster/$r-events.jsonl"; done; }

{
  echo "id"
  for i in $(seq 1 60); do echo "$i"; done
} >"$work/ids.csv"
# scenario NAME STAY_S: 60 users over 3 s, each takes the next id row, emits "row-<id>" with an
# ack, then stays STAY_S seconds.
scenario() {
  cat >"$work/$1.yml" <<YAML
config:
  target: "http://127.0.0.1:$base"
  phases:
    - duration: 3
      arrivalCount: 60
  payload:
    path: "ids.csv"
    fields: ["id"]
    order: sequence
    skipHeader: true
scenarios:
  - engine: socketio
    flow:
      - emit:
          channel: "row-{{ id }}"
          data: "hello"
        acknowledge: {}
      - think: $2
YAML
}
scenario long 12
scenario short 1
scenario stay 60

echo "== --processes 3, scraped by Prometheus' way (GET /metrics) at the first period"
clear_logs
timeout 120 "$sioreplay" replay "$work/long.yml" --processes 3 -o "$work/procs.json" \
  --metrics-port 0 2>"$work/procs.err" &
replay_pid=$!
# A plain HTTP client: waits for the endpoint's address on stderr, then GETs /metrics until
# the first period's numbers are in (the server answers from then on with --processes).
node - "$work/procs.err" "$work/metrics.txt" <<'JS' || echo "metrics scrape failed" >>"$work/metrics.txt"
const fs = require("fs"), http = require("http");
const [errFile, out] = [process.argv[2], process.argv[3]];
const deadline = Date.now() + 20000;
const get = (port) => new Promise((resolve, reject) => {
  const req = http.get({ host: "127.0.0.1", port, path: "/metrics", timeout: 15000 }, (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => resolve(`status ${res.statusCode} ${res.headers["content-type"]}\n${body}`));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", reject);
});
(async () => {
  while (Date.now() < deadline) {
    const m = /metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(fs.readFileSync(errFile, "utf8"));
    if (m) {
      const text = await get(+m[1]).catch((e) => `error ${e.message}`);
      if (/^sioreplay_vusers_created_total [1-9]/m.test(text)) { fs.writeFileSync(out, text); return; }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.exit(1);
})();
JS
wait "$replay_pid" || { cat "$work/procs.err"; exit 1; }
logs >"$work/procs-events.jsonl"

echo "== --shard I/3 side by side"
clear_logs
pids=()
for i in 0 1 2; do
  # Straight to replica s1, shard I from 127.0.0.(I+2): the event log tells the shards apart.
  timeout 120 "$sioreplay" replay "$work/short.yml" --shard "$i/3" -o "$work/shard-$i.json" \
    --target "http://127.0.0.1:$((base + 1))" --source-addresses "127.0.0.$((i + 2))" \
    2>"$work/shard-$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
logs >"$work/shard-events.jsonl"
"$sioreplay" report --merge "$work"/shard-{0,1,2}.json -o "$work/merged.json" 2>"$work/merge.err"

echo "== --processes 2, SIGINT after 3 s"
start=$(date +%s.%N)
"$sioreplay" replay "$work/stay.yml" --processes 2 -q -o "$work/stopped.json" \
  2>"$work/stopped.err" &
rp=$!
sleep 3
kill -INT "$rp"
set +e
wait "$rp"
stopped=$?
set -e
stop_s=$(echo "$(date +%s.%N) - $start" | bc)

echo "== report usage and errors"
set +e
"$sioreplay" report "$work/shard-0.json" "$work/shard-1.json" 2>"$work/nomerge.err"
nomerge=$?
echo '{"aggregate": {}}' >"$work/notreport.json"
"$sioreplay" report --merge "$work/shard-0.json" "$work/notreport.json" -o "$work/bad-out.json" \
  2>"$work/notreport.err"
notreport=$?
set -e

node - "$work" "$nomerge" "$notreport" "$stopped" "$stop_s" <<'JS'
const fs = require("fs");
const [dir, nomerge, notreport, stopped, stopS] =
  [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6]];
const read = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
const events = (f) => read(f).split("\n").filter(Boolean).map((l) => JSON.parse(l));
let bad = 0;
const check = (ok, what) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}`); if (!ok) bad++; };
const rows = (evs) => evs.map((e) => +e.event.replace(/^row-/, "")).sort((a, b) => a - b);
const all60 = JSON.stringify(Array.from({ length: 60 }, (_, i) => i + 1));

// --processes 3
const procs = JSON.parse(read("procs.json")).aggregate.counters;
const procsErr = read("procs.err");
check(JSON.stringify(rows(events("procs-events.jsonl"))) === all60,
  "--processes 3: the servers received rows 1..60, each exactly once");
check(procs["vusers.created"] === 60 && procs["vusers.completed"] === 60 && !procs["vusers.failed"] &&
      procs["socketio.emit"] === 60,
  `--processes 3: merged report 60 created / 60 completed / 0 failed / 60 emits ` +
  `(got ${procs["vusers.created"]} / ${procs["vusers.completed"]} / ${procs["vusers.failed"] || 0} / ${procs["socketio.emit"]})`);
const live = procsErr.split("\n").filter((l) => /^\[\s*\d+ s\] users: created/.test(l));
check(live.length === 1 && /created 60 /.test(live[0]) && /3 processes, each with 1\/3/.test(procsErr),
  `--processes 3: one merged live line (${JSON.stringify(live)})`);
// --metrics-port: the Prometheus text format, parsed: every sample line is NAME{labels} VALUE
// under its own # TYPE; the numbers are the merged ones of the 10 s period (60 users in, each
// staying 12 s after its acked emit).
const scraped = read("metrics.txt");
const [statusLine, ...lines] = scraped.split("\n");
const samples = {}, types = {};
let wellFormed = /^status 200 text\/plain; version=0\.0\.4/.test(statusLine);
for (const l of lines.filter(Boolean)) {
  let m;
  if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary)$/.exec(l))) types[m[1]] = m[2];
  else if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*/.test(l)) continue;
  else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{quantile="[0-9.]+"\})? (-?[0-9.e+-]+)$/.exec(l))) {
    const family = m[1].replace(/_(sum|count)$/, "");
    if (!types[m[1]] && !types[family]) wellFormed = false;
    samples[m[1] + (m[2] || "")] = +m[3];
  } else wellFormed = false;
}
check(wellFormed && samples.sioreplay_vusers_created_total === 60 &&
      samples.sioreplay_vusers_active === 60 && samples.sioreplay_socketio_emit_total === 60 &&
      samples.sioreplay_socketio_ack_time_seconds_count === 60 &&
      samples['sioreplay_socketio_ack_time_seconds{quantile="0.99"}'] > 0 &&
      samples.sioreplay_elapsed_seconds >= 10 && types.sioreplay_socketio_ack_time_seconds === "summary",
  `--metrics-port: /metrics parses as Prometheus text, 60 created / 60 active / 60 emits / 60 acks ` +
  `merged from 3 processes (${JSON.stringify(samples)})`);

// --shard I/3 and report --merge
const shards = [0, 1, 2].map((i) => JSON.parse(read(`shard-${i}.json`)));
const shardEvents = events("shard-events.jsonl");
check(JSON.stringify(rows(shardEvents)) === all60, "--shard I/3: together rows 1..60, each once");
let ownRows = true;
shards.forEach((s, i) => {
  // Arrival k (from 0) takes row k+1 and goes to shard k % 3.
  const mine = rows(shardEvents.filter((e) => e.from.replace(/^::ffff:/, "") === `127.0.0.${i + 2}`));
  const want = Array.from({ length: 20 }, (_, j) => 3 * j + i + 1);
  if (JSON.stringify(mine) !== JSON.stringify(want)) { ownRows = false; console.log(`    shard ${i}: rows ${mine}`); }
  if (s.aggregate.counters["vusers.created"] !== 20) ownRows = false;
  if (!read(`shard-${i}.err`).includes(`shard ${i}/3: every 3rd arrival from the ${["1st", "2nd", "3rd"][i]}`)) ownRows = false;
});
check(ownRows, "--shard I/3: shard I created 20 users, sent exactly rows 3j+I+1 and said which arrivals it takes");
const merged = JSON.parse(read("merged.json")).aggregate;
let sums = true;
const names = new Set(shards.flatMap((s) => Object.keys(s.aggregate.counters)));
for (const n of names) {
  const sum = shards.reduce((a, s) => a + (s.aggregate.counters[n] || 0), 0);
  if (merged.counters[n] !== sum) { sums = false; console.log(`    ${n}: merged ${merged.counters[n]} != ${sum}`); }
}
check(sums && merged.counters["vusers.created"] === 60, `report --merge: every counter is the sum of the shards' (${names.size} counters)`);
const h = "socketio.ack_time";
const hs = shards.map((s) => s.aggregate.summaries[h]);
const m = merged.summaries[h];
check(m && m.count === hs.reduce((a, x) => a + x.count, 0) &&
      m.min === Math.min(...hs.map((x) => x.min)) && m.max === Math.max(...hs.map((x) => x.max)) &&
      m.p50 >= Math.min(...hs.map((x) => x.p50)) && m.p50 <= Math.max(...hs.map((x) => x.p50)),
  `report --merge: ${h} count ${m && m.count}, min/max of all, p50 ${m && m.p50} within the shards' p50s`);
check(/Summary after/.test(read("merge.err")), "report --merge prints the summary table");

// SIGINT: the children stop (their users closed), one report marked interrupted.
const st = JSON.parse(read("stopped.json"));
const sc = st.aggregate.counters;
check(stopped === 1 && st["x-sioreplay-interrupted"] === true && stopS < 12 &&
      sc["vusers.created"] > 0 && sc["vusers.created"] === (sc["vusers.completed"] || 0) + (sc["vusers.failed"] || 0) + (sc["vusers.interrupted"] || 0) &&
      /interrupted: the report covers the run so far/.test(read("stopped.err")),
  `--processes 2 stopped by SIGINT after 3 s: exit ${stopped} in ${stopS.toFixed(1)} s, interrupted report, ` +
  `created ${sc["vusers.created"]} = completed ${sc["vusers.completed"] || 0} + failed ${sc["vusers.failed"] || 0} + ` +
  `interrupted ${sc["vusers.interrupted"] || 0}`);

// Usage and errors
check(nomerge === 2 && /add --merge/.test(read("nomerge.err")), `two reports without --merge: exit ${nomerge}`);
check(notreport === 1 && read("notreport.err").includes("notreport.json") && !fs.existsSync(`${dir}/bad-out.json`),
  `not a sioreplay report: exit ${notreport}, the file named, no output: ${read("notreport.err").trim()}`);
if (bad) process.exit(1);
console.log("replay_shards: all checks passed");
JS
