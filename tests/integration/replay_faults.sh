#!/usr/bin/env bash
# Integration: faults during a replay, against tests/integration/fault_server.js (a small
# Engine.IO 4 / Socket.IO 5 websocket server that misbehaves on request) on 127.0.0.1 only.
#   - a misbehaving server (TCP reset after 2 events, no pings, no CONNECT answer, no acks,
#     malformed Engine.IO and Socket.IO packets, a frame past the 64 MiB limit) and a server that
#     accepts TCP but never answers the handshake (polling and websocket): each run of 3 users
#     ends in bounded time with exit 0, the 3 users failed with the mode's own cause in errors
#     (and its first message), created = completed + failed, errors.* summing to failed;
#   - SIGINT and SIGTERM during a run (one process, and --processes 2): exit 1 within the 5 s
#     closing deadline, the report and the stderr summary written and marked interrupted, with
#     created = completed + failed + interrupted overall and per scenario, and the server sees
#     every connection closed; a second SIGINT exits at once (code 130, measured < 1 s), its
#     --processes children gone with it, no temporary output left;
#   - disk full (/dev/full, a 64 KiB tmpfs filled up when mount is allowed, RLIMIT_FSIZE) and an
#     unwritable output (a directory path; a directory put at the path during the run): a clear
#     error naming the path, exit 1, the summary still on stderr, no partial file left.
#
#   tests/integration/replay_faults.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init faults "$1"
mnt=""
sio_on_exit() { if [ -n "$mnt" ]; then umount "$mnt" 2>/dev/null || true; fi; }

port=$(sio_free_port 6600 6890)
silent=$((port + 1))
node "$root/tests/integration/fault_server.js" --port "$port" --silent-port "$silent" \
  >"$work/server.log" 2>&1 &
sio_track $!
sio_wait_port "$port"
sio_wait_port "$silent"

# scenario NAME MODE [PORT] [TRANSPORT] [FLOW]: 3 users over 1 s, each emitting with an ack 4
# times 300 ms apart, then quiet for 3 s (past pingInterval + pingTimeout + the 2 s margin).
scenario() {
  local flow=${5:-"      - loop:
          - emit: [\"echo\", \"n {{ \$loopCount }}\"]
            acknowledge: {}
          - think: \"300ms\"
        count: 4
      - think: 3"}
  cat >"$work/$1.yml" <<YAML
config:
  target: "http://127.0.0.1:${3:-$port}"
  timeout: 1
  phases:
    - duration: 1
      arrivalCount: 3
  socketio:
    transports: ["${4:-websocket}"]
    query: { mode: "$2" }
scenarios:
  - name: "$1"
    engine: socketio
    flow:
$flow
YAML
}

# run NAME ARGS...: replay in the background; NAME.json, .err, .rc, .secs
run() {
  local name=$1
  shift
  (
    t0=$(date +%s%N)
    rc=0
    timeout 60 "$sioreplay" replay "$work/$name.yml" -q --connect-timeout 1.5 \
      -o "$work/$name.json" "$@" 2>"$work/$name.err" || rc=$?
    echo "$rc" >"$work/$name.rc"
    echo "$((($(date +%s%N) - t0) / 1000000))" >"$work/$name.ms"
  ) &
}

echo "== a misbehaving server, and one that never answers the handshake"
modes=(reset noping noconnect noack bad_eio bad_sio_json bad_sio_type bad_sio_attach oversized)
for m in "${modes[@]}"; do scenario "$m" "$m"; done
scenario silent_ws ok "$silent" websocket
scenario silent_polling ok "$silent" polling
pids=()
for m in "${modes[@]}" silent_ws silent_polling; do
  run "$m"
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

echo "== signals"
stay_flow='      - emit: ["echo", "hello"]
        acknowledge: {}
      - think: 60'
scenario stay ok "$port" websocket "$stay_flow"
# A second scenario, so that the per-scenario counters are checked with two names.
cat >>"$work/stay.yml" <<'YAML'
  - name: "stay2"
    engine: socketio
    flow:
      - emit: ["echo", "hello"]
        acknowledge: {}
      - think: 60
YAML
# signal_run NAME PROCS SIGNALS...: starts `stay`, sends the signals 0.5 s apart from 2 s on;
# NAME.rc, NAME.after_ms (from the last signal to the exit), NAME.children (how many child
# processes, how many left alive 0.5 s after the exit), NAME.stats (the server's counts).
signal_run() {
  local name=$1 procs=$2
  shift 2
  "$sioreplay" replay "$work/stay.yml" -q --processes "$procs" -o "$work/$name.json" \
    2>"$work/$name.err" &
  local rp=$! t0 rc=0 kids=""
  sleep 2
  [ "$procs" = 1 ] || kids=$(pgrep -P "$rp" | tr '\n' ' ')
  local first=1
  for s in "$@"; do
    [ "$first" = 1 ] || sleep 0.5
    first=0
    t0=$(date +%s%N)
    kill -"$s" "$rp"
  done
  wait "$rp" || rc=$?
  local ms=$((($(date +%s%N) - t0) / 1000000)) # from the last signal to the exit
  echo "$rc" >"$work/$name.rc"
  echo "$ms" >"$work/$name.after_ms"
  sleep 0.5
  local left=0 k
  for k in $kids; do if running "$k"; then left=$((left + 1)); fi; done
  echo "$(echo "$kids" | wc -w) $left" >"$work/$name.children"
}
# running PID: the process exists and is not a zombie waiting for whoever adopted it
running() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]; }
pids=()
for args in "int1 1 INT" "term1 1 TERM" "term2 2 TERM" "int_int1 1 INT INT" "int_int2 2 INT INT"; do
  # shellcheck disable=SC2086 # the words of $args are the arguments
  signal_run $args &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
sleep 0.5
curl -s "http://127.0.0.1:$port/stats" >"$work/signals.stats"
ls -A "$work" >"$work/listing.txt"

echo "== disk full and unwritable outputs"
short_flow='      - emit: ["echo", "hello"]
        acknowledge: {}'
scenario short ok "$port" websocket "$short_flow"
# disk NAME OUTPUT [WRAPPER...]: NAME.rc, NAME.err (stderr through a pipe: a file-size limit
# on the replayer must not cut its own summary short)
disk() {
  local name=$1 out=$2
  shift 2
  set +e
  "$@" "$sioreplay" replay "$work/short.yml" -q -o "$out" 2>&1 >/dev/null | cat >"$work/$name.err"
  echo "${PIPESTATUS[0]}" >"$work/$name.rc"
  set -e
}
disk devfull /dev/full
if mkdir -p "$work/mnt" && mount -t tmpfs -o size=64k tmpfs "$work/mnt" 2>/dev/null; then
  mnt="$work/mnt"
  dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true # until it is full
  disk tmpfs "$mnt/report.json"
  ls -A "$mnt" >"$work/tmpfs.listing"
else
  echo "  (mount -t tmpfs is not permitted here: the tiny-tmpfs case is left out)"
fi
# RLIMIT_FSIZE of 1 KiB on the replayer alone, SIGXFSZ ignored: its writes fail with EFBIG.
mkdir -p "$work/fsize"
disk fsize "$work/fsize/report.json" bash -c 'ulimit -f 1 && trap "" XFSZ && exec "$0" "$@"'
ls -A "$work/fsize" >"$work/fsize.listing"
mkdir -p "$work/isdir"
disk isdir "$work/isdir"
# A directory appears at the output path during the run: the rename at the end fails.
mkdir -p "$work/late"
(
  # once the run has opened its temporary (a sanitizer build starts slowly): at most 20 s
  for _ in $(seq 200); do
    compgen -G "$work/late/.report.json.tmp*" >/dev/null && break
    sleep 0.1
  done
  mkdir "$work/late/report.json"
) &
disk late "$work/late/report.json"
ls -A "$work/late" >"$work/late.listing"

node - "$work" "$port" <<'JS'
const fs = require("fs");
const [dir, port] = [process.argv[2], process.argv[3]];
const read = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
const exists = (f) => fs.existsSync(`${dir}/${f}`);
let bad = 0;
const check = (ok, what) => { console.log(`  ${ok ? "ok  " : "FAIL"}  ${what}`); if (!ok) bad++; };
const sum = (c, prefix) => Object.entries(c).filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
// Every vusers.* and errors.* counter of the JSON appears with the same number in the stderr table.
const tableAgrees = (counters, err) => Object.entries(counters)
  .filter(([k]) => /^(vusers\.|errors\.)/.test(k))
  .every(([k, v]) => new RegExp(`^  ${k.replace(/\./g, "\\.")} +${v.toLocaleString("en-US")}$`, "m").test(err));
// created = completed + failed (+ interrupted), overall and per scenario
const consistent = (c) => {
  const n = (k) => c[k] || 0;
  if (n("vusers.created") !== n("vusers.completed") + n("vusers.failed") + n("vusers.interrupted")) return false;
  return Object.keys(c).filter((k) => k.startsWith("vusers.created_by_name.")).every((k) => {
    const s = k.slice("vusers.created_by_name.".length);
    return n(k) === n(`vusers.completed_by_name.${s}`) + n(`vusers.failed_by_name.${s}`) + n(`vusers.interrupted_by_name.${s}`);
  });
};

const want = {
  reset: ["connection_reset", /reset by peer/i],
  noping: ["ping_timeout", /pingInterval \+ pingTimeout/],
  noconnect: ["timeout.connect", /no CONNECT answer/],
  noack: ["timeout.ack", /no ack within 1000 ms/],
  bad_eio: ["eio_protocol", /.+/],
  bad_sio_json: ["sio_protocol", /json|JSON/],
  bad_sio_type: ["sio_protocol", /type/],
  bad_sio_attach: ["sio_protocol", /attachment/],
  oversized: ["message_too_big", /64 MiB/],
  silent_ws: ["timeout.ws_handshake", /.+/],
  silent_polling: ["timeout.handshake", /.+/],
};
for (const [mode, [cause, message]] of Object.entries(want)) {
  const rc = +read(`${mode}.rc`), ms = +read(`${mode}.ms`), err = read(`${mode}.err`);
  if (!exists(`${mode}.json`)) { check(false, `${mode}: no report (exit ${rc}): ${err.slice(-600)}`); continue; }
  const r = JSON.parse(read(`${mode}.json`));
  const c = r.aggregate.counters, ex = r["x-sioreplay-error-examples"] || {};
  const errors = Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith("errors.")));
  check(rc === 0 && ms < 15000 && c["vusers.created"] === 3 && c["vusers.failed"] === 3 &&
        c[`errors.${cause}`] === 3 && sum(c, "errors.") === 3 && consistent(c) &&
        message.test(ex[cause] || "") && tableAgrees(c, err) && /Summary after/.test(err),
    `${mode}: exit ${rc} in ${(ms / 1000).toFixed(1)} s, created ${c["vusers.created"]} failed ` +
    `${c["vusers.failed"]}, errors ${JSON.stringify(errors)}: ${cause}: ${ex[cause]}`);
}

for (const name of ["int1", "term1", "term2"]) {
  const rc = +read(`${name}.rc`), ms = +read(`${name}.after_ms`), err = read(`${name}.err`);
  const r = exists(`${name}.json`) ? JSON.parse(read(`${name}.json`)) : { aggregate: { counters: {} } };
  const c = r.aggregate.counters;
  check(rc === 1 && ms < 7000 && r["x-sioreplay-interrupted"] === true && c["vusers.created"] >= 1 &&
        c["vusers.interrupted"] === c["vusers.created"] && consistent(c) && tableAgrees(c, err) &&
        /Summary after/.test(err) && /interrupted: the report covers the run so far/.test(err),
    `${name}: exit ${rc}, ended ${(ms / 1000).toFixed(1)} s after the signal, interrupted report: ` +
    `created ${c["vusers.created"]} = completed ${c["vusers.completed"] || 0} + failed ` +
    `${c["vusers.failed"] || 0} + interrupted ${c["vusers.interrupted"] || 0} (per scenario too)`);
}
{
  const st = JSON.parse(read("signals.stats"));
  check(st.open === 0, `after the stopped runs the server has ${st.open} connections open (of ${st.connections})`);
}
const listing = read("listing.txt");
for (const name of ["int_int1", "int_int2"]) {
  const rc = +read(`${name}.rc`), ms = +read(`${name}.after_ms`);
  const [kids, left] = read(`${name}.children`).trim().split(" ").map(Number);
  const temps = listing.split("\n").filter((f) => f.startsWith(`.${name}.json.tmp`));
  check(rc === 130 && ms < 1000 && !exists(`${name}.json`) && temps.length === 0 &&
        (name === "int_int1" || (kids === 2 && left === 0)),
    `${name}: a second SIGINT 0.5 s after the first: exit ${rc} ${ms} ms after it, no report and no ` +
    `temporary left${name === "int_int2" ? `, ${kids} child processes, ${left} left alive` : ""}`);
}

// listingFile: what the output's folder holds after the run; `keep`: what was there before
const diskCase = (name, re, listingFile, keep = []) => {
  const rc = +read(`${name}.rc`), err = read(`${name}.err`);
  const leftover = listingFile ? read(listingFile).split("\n").filter((f) => f && !keep.includes(f)) : [];
  check(rc === 1 && re.test(err) && /Summary after/.test(err) && leftover.length === 0,
    `${name}: exit ${rc}, summary on stderr, ${leftover.length ? `left: ${leftover}` : "no file left"}: ` +
    (err.split("\n").find((l) => /error:/.test(l)) || "(no error line)"));
};
diskCase("devfull", /\/dev\/full: write failed: No space left on device/);
if (exists("tmpfs.rc")) diskCase("tmpfs", /mnt\/report\.json: write failed: No space left on device/, "tmpfs.listing", ["filler"]);
diskCase("fsize", /fsize\/report\.json: write failed: File too large/, "fsize.listing");
diskCase("late", /late\/report\.json: cannot replace the output file: Is a directory/, "late.listing", ["report.json"]);
{
  const rc = +read("isdir.rc"), err = read("isdir.err");
  check(rc === 1 && /isdir: the output path is a directory/.test(err) && !/Summary after/.test(err),
    `an output path that is a directory: exit ${rc} before the run: ${err.trim()}`);
}
if (bad) process.exit(1);
console.log("replay_faults: all checks passed");
JS
