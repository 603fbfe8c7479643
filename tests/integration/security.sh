#!/usr/bin/env bash
# Integration: secrets, TLS, hosts and files (issue 7, "Security"), against real peers started
# here on 127.0.0.1/127.0.0.2 only.
#   1. The sample pipeline on the bundled samples (HARs a1-a3, captures b1-b10, b9 with its TLS
#      key log): record (with and without --redact, with --html), convert (default), replay
#      (report JSON and --html) against the sample app; every output file and every message is
#      searched for the samples' known secrets (the auth tokens "secret-abc" and "wrong-token",
#      each app_session cookie value, every secret of b9/keys.log):
#        - keys from the key log appear nowhere, in any mode, errors and diagnostics included;
#        - with --redact nothing appears (recording, timeline, summary, converted YAML + CSV,
#          replay reports); the default convert keeps secrets out of the YAML (in the CSV only);
#        - a redacted recording still converts and replays: its /chat auth is refused until the
#          payload CSV is refilled with the real token, then 0 users fail.
#   2. TLS: a self-signed certificate fails every user with errors.tls (default), --insecure
#      warns and works, a CA-signed certificate needs --ca-file, a certificate whose only name is
#      wrong.example fails the host name check for 127.0.0.1.
#   3. Hosts: an HTTP step to 127.0.0.2 fails with errors.host_not_allowed naming the host and
#      --allow-host, which lets it through (host, or host:port); a redirect from the target to
#      127.0.0.2 is not followed.
#   4. Files: outputs get the umask's permissions (027 -> 0640, 022 -> 0644); the recorder opens
#      its inputs read-only (strace) and leaves them unchanged.
#
#   tests/integration/security.sh SIOREPLAY_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sio_init security "$1"
failures=0
check() { # check WHAT COMMAND...: ok when the command succeeds
  local what=$1
  shift
  if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what"; failures=$((failures + 1)); fi
}
counter() { # counter REPORT NAME: an aggregate counter (0 when absent)
  node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1])).aggregate.counters;
    console.log(c[process.argv[2]] || 0)' "$1" "$2"
}
free_port() { # free_port ADDRESS: a port nothing listens on
  node -e 'const s = require("net").createServer().listen(0, process.argv[1], () => {
    console.log(s.address().port); s.close(); })' "$1"
}
wait_http() { # wait_http URL [curl args...]
  local url=$1
  shift
  for _ in $(seq 100); do curl -s -o /dev/null "$@" "$url" && return 0; sleep 0.1; done
  echo "server at $url did not start" >&2
  return 1
}

# ---- the known secrets ---------------------------------------------------------------------
samples="$root/samples"
keylog="$samples/pcap/b9/keys.log"
awk '!/^#/ && NF == 3 { print $3 }' "$keylog" >"$work/keys.txt"
{
  echo secret-abc
  echo wrong-token
  cat "$samples"/har/*/truth.json "$samples"/pcap/*/truth.json | grep -aoE 'app_session=[0-9a-f]+' |
    cut -d= -f2
  cat "$samples"/har/*/*.har | grep -aoE 'app_session=[0-9a-f]+' | cut -d= -f2
  cat "$work/keys.txt"
} | sort -u >"$work/secrets.txt"
echo "== $(wc -l <"$work/secrets.txt") known secrets ($(wc -l <"$work/keys.txt") from b9/keys.log)"
leaks() { # leaks PATTERN_FILE FILE...: prints "file: secret" for every hit, fails when any
  local hits
  hits=$(grep -aoFH -f "$1" "${@:2}" | sort -u) || true
  [ -z "$hits" ] && return 0
  echo "$hits" | head -20 | sed 's/^/        leak: /'
  return 1
}

# ---- 1. the pipeline ---------------------------------------------------------------------------
# Every sample but the ones that repeat another's traffic (a1's chrome-har.har, b7 = b1 with
# other link layers, b10's other damaged copies of b1).
inputs=(har/a1/devtools.har har/a1/playwright.har har/a2/devtools.har har/a3/devtools.har
  pcap/b1/b1.pcap pcap/b2/b2.pcap pcap/b3/b3.pcap pcap/b4/b4.pcap pcap/b5/b5.pcap
  pcap/b6/b6.pcapng pcap/b8/b8.pcap pcap/b9/b9.pcap pcap/b10/b1-truncated.pcap)
mkdir -p "$work/plain" "$work/redact" "$work/errors"
sha_before=$(cd "$samples" && sha256sum "${inputs[@]}" pcap/b9/keys.log)
for mode in plain redact; do
  flags=()
  [ "$mode" = redact ] && flags=(--redact)
  for input in "${inputs[@]}"; do
    name=$(echo "$input" | tr / _)
    name=${name%.*}
    extra=()
    case $input in pcap/b9/*) extra=(--keylog "$keylog") ;; esac
    "$sioreplay" record "$samples/$input" "${extra[@]}" "${flags[@]}" -o "$work/$mode/$name.jsonl" \
      --html "$work/$mode/$name.html" 2>"$work/$mode/$name.record.err" ||
      echo "  note  record $input ($mode) exited $?"
    [ -s "$work/$mode/$name.jsonl" ] || continue
    "$sioreplay" convert "$work/$mode/$name.jsonl" -o "$work/$mode/$name.yml" \
      2>"$work/$mode/$name.convert.err" || echo "  note  convert $input ($mode) exited $?"
  done
done
# For the replays: a1 converted again with short think times (the default's recorded gaps make
# a run of ~8 s), into the searched folders too.
for mode in plain redact; do
  "$sioreplay" convert "$work/$mode/har_a1_devtools.jsonl" -o "$work/$mode/a1-fast.yml" \
    --think max=20ms 2>"$work/$mode/a1-fast.convert.err"
done
# b9 without its key log, and with a key log whose line 3 is cut short: errors and diagnostics.
"$sioreplay" record "$samples/pcap/b9/b9.pcap" -o "$work/errors/b9-nokeys.jsonl" \
  2>"$work/errors/b9-nokeys.err" || true
head -c 300 "$keylog" >"$work/keys-cut.log"
sed -n '3,$p' "$keylog" | sed '1s/.\{20\}$//' >>"$work/keys-cut.log" # a secret with an odd length
"$sioreplay" record "$samples/pcap/b9/b9.pcap" --keylog "$work/keys-cut.log" \
  -o "$work/errors/b9-badkeys.jsonl" 2>"$work/errors/b9-badkeys.err" && rc=0 || rc=$?
echo "== recorded ${#inputs[@]} inputs twice, converted each recording"
check "a malformed key log is refused (exit $rc) naming the file and line" \
  grep -q "keys-cut.log:[0-9]" "$work/errors/b9-badkeys.err"
check "the plain a1 recording does hold secret-abc (the search finds what is there)" \
  grep -q secret-abc "$work/plain/har_a1_devtools.jsonl"
check "b9 decrypted with its key log (TLS sessions recorded)" \
  grep -q '"kind":"session"' "$work/plain/pcap_b9_b9.jsonl"
check "--redact writes markers" grep -q '\[redacted:[0-9a-f]\{8\}\]' "$work/redact/har_a1_devtools.jsonl"
check "--redact keeps the sticky route cookie (a2 through HAProxy)" \
  grep -q '"name":"route","value":"s[123]"' "$work/redact/har_a2_devtools.jsonl"
check "the default convert keeps secrets out of the YAML (they go to the CSV)" \
  leaks "$work/secrets.txt" "$work"/plain/*.yml "$work"/plain/*.convert.err
check "... and the CSV does hold them (for the replay)" grep -q secret-abc "$work/plain/har_a1_devtools.csv"

# Replay against the sample app (one replica, 127.0.0.1).
app_port=$(free_port 127.0.0.1)
node "$root/samples/app/server.js" --port "$app_port" --replica s1 >"$work/app.log" 2>&1 &
sio_track $!
wait_http "http://127.0.0.1:$app_port/stats"
app="http://127.0.0.1:$app_port"
replay() { # replay NAME INPUT [args...]: report, HTML report and stderr under $work/replay/NAME.*
  local name=$1 input=$2
  shift 2
  mkdir -p "$work/replay"
  timeout 120 "$sioreplay" replay "$input" --target "$app" -q -o "$work/replay/$name.json" \
    --html "$work/replay/$name.html" "$@" 2>"$work/replay/$name.err" || true
}
replay plain-a1 "$work/plain/a1-fast.yml"
replay redact-a1 "$work/redact/a1-fast.yml"
replay redact-a1-recording "$work/redact/har_a1_devtools.jsonl" --speed 4
replay redact-b8-recording "$work/redact/pcap_b8_b8.jsonl" --speed 4
check "the default conversion of a1 replays: 0 failed" \
  test "$(counter "$work/replay/plain-a1.json" vusers.failed)" = 0
check "the redacted a1 scenario runs, its /chat auth refused (the token is a marker)" \
  test "$(counter "$work/replay/redact-a1.json" errors.namespace_refused)" = 1
b8r="$work/replay/redact-b8-recording.json"
check "the redacted b8 recording replays as recorded: 20 users connect, only their /chat auth is refused (its token is a marker)" \
  test "$(counter "$b8r" vusers.created)" = 20 -a "$(counter "$b8r" errors.namespace_refused)" = 20 -a \
  "$(counter "$b8r" vusers.failed)" = 20 -a "$(counter "$b8r" errors.session_id_unknown)" = 0
check "nothing of --redact's pipeline holds a secret (recordings, timelines, summaries, YAML, CSV, reports)" \
  leaks "$work/secrets.txt" "$work"/redact/* "$work"/replay/redact-*
check "no replay output holds a secret" leaks "$work/secrets.txt" "$work"/replay/*
check "no key of the key log anywhere (every mode, errors, diagnostics)" \
  leaks "$work/keys.txt" "$work"/plain/* "$work"/redact/* "$work"/errors/* "$work"/replay/*
# Refilled with the real token (what the CSV is for), the redacted recording's scenario works.
mkdir -p "$work/refill"
cp "$work/redact/a1-fast.yml" "$work/refill/a1.yml"
cp "$work/redact/a1-fast.csv" "$work/refill/scenario.csv"
head -1 "$work/refill/scenario.csv" | grep -q '^auth_token,' &&
  sed -i '2s/^\[redacted:[0-9a-f]\{8\}\]/secret-abc/' "$work/refill/scenario.csv"
sed -i "s#path: \"[^\"]*\.csv\"#path: \"scenario.csv\"#" "$work/refill/a1.yml"
timeout 120 "$sioreplay" replay "$work/refill/a1.yml" --target "$app" -q \
  -o "$work/refill/report.json" 2>"$work/refill/err" || true
check "the redacted a1 scenario with its CSV refilled: 0 failed" \
  test "$(counter "$work/refill/report.json" vusers.failed)" = 0 -a \
  "$(counter "$work/refill/report.json" vusers.completed)" -gt 0

# ---- 2. TLS ------------------------------------------------------------------------------------
"$root/samples/app/make-cert.sh" "$work/certs"
certs="$work/certs"
tls_server() { # tls_server NAME: a replica serving certs/NAME.pem on a free port, in $tls_port
  # (not run in $(...): the server's PID must reach sio_track in this shell, to be ended on exit)
  tls_port=$(free_port 127.0.0.1)
  node "$root/samples/app/server.js" --port "$tls_port" --replica "$1" --tls-cert "$certs/$1.pem" \
    --tls-key "$certs/$1.key" >"$work/tls-$1.log" 2>&1 &
  sio_track $!
  wait_http "https://127.0.0.1:$tls_port/stats" -k
}
tls_scenario() { # tls_scenario PORT: 3 websocket users, an acked emit each
  cat <<YAML
config:
  target: "https://127.0.0.1:$1"
  phases:
    - duration: 1
      arrivalCount: 3
  socketio:
    transports: ["websocket"]
scenarios:
  - engine: socketio
    flow:
      - emit: { channel: "echo", data: "hi" }
        acknowledge: {}
YAML
}
tls_run() { # tls_run NAME PORT [args...]
  local name=$1 port=$2
  shift 2
  tls_scenario "$port" >"$work/tls-$name.yml"
  timeout 60 "$sioreplay" replay "$work/tls-$name.yml" -q -o "$work/tls-$name.json" "$@" \
    >"$work/tls-$name.err" 2>&1 || true
}
tls_server wrong # self-signed, SAN DNS:wrong.example
self=$tls_port
tls_server server # from the test CA, SAN localhost, 127.0.0.1, ::1
good=$tls_port
tls_server wrongname # from the test CA, SAN DNS:wrong.example only
other=$tls_port
echo "== TLS ($SECONDS s so far)"
tls_run self "$self"
check "self-signed: 3/3 users failed with errors.tls" \
  test "$(counter "$work/tls-self.json" errors.tls)" = 3 -a "$(counter "$work/tls-self.json" vusers.failed)" = 3
check "... and the summary says why" grep -q "errors.tls: TLS handshake with 127.0.0.1: self.signed certificate" "$work/tls-self.err"
tls_run insecure "$self" --insecure
check "--insecure: 0 failed" test "$(counter "$work/tls-insecure.json" vusers.failed)" = 0 -a \
  "$(counter "$work/tls-insecure.json" vusers.completed)" = 3
check "--insecure prints a warning" grep -q "warning: TLS certificates are not verified (--insecure)" "$work/tls-insecure.err"
tls_run noca "$good"
check "a CA-signed certificate without --ca-file: errors.tls (unknown issuer)" \
  grep -q "errors.tls: .*unable to get local issuer certificate" "$work/tls-noca.err"
tls_run ca "$good" --ca-file "$certs/ca.pem"
check "--ca-file ca.pem: 0 failed" test "$(counter "$work/tls-ca.json" vusers.failed)" = 0 -a \
  "$(counter "$work/tls-ca.json" vusers.completed)" = 3
tls_run othername "$other" --ca-file "$certs/ca.pem"
check "a certificate for wrong.example only, reached at 127.0.0.1: 3/3 failed, IP address mismatch" \
  grep -q "errors.tls: .*IP address mismatch" "$work/tls-othername.err"
tls_run selfca "$self" --ca-file "$certs/wrong.pem"
check "the self-signed certificate trusted as a CA: the chain passes, the name still fails" \
  grep -q "errors.tls: .*IP address mismatch" "$work/tls-selfca.err"

# ---- 3. hosts ----------------------------------------------------------------------------------
echo "== hosts ($SECONDS s so far)"
if ! node -e 'require("net").createServer().listen(0, "127.0.0.2", function () { this.close(); })' 2>/dev/null; then
  echo "  skip  127.0.0.2 cannot be bound here"
else
  elsewhere=$(free_port 127.0.0.2)
  node -e 'let n = 0; require("http").createServer((q, s) => {
      if (q.url === "/count") return s.end(String(n));
      n++; s.writeHead(200, { "Content-Type": "application/json" }); s.end("{\"ok\":true}");
    }).listen(+process.argv[1], "127.0.0.2")' "$elsewhere" &
  sio_track $!
  wait_http "http://127.0.0.2:$elsewhere/count"
  hits() { curl -s "http://127.0.0.2:$elsewhere/count"; }
  host_run() { # host_run NAME URL [args...]
    local name=$1 url=$2
    shift 2
    cat >"$work/host-$name.yml" <<YAML
config:
  target: "$app"
  phases:
    - duration: 1
      arrivalCount: 2
scenarios:
  - engine: socketio
    flow:
      - emit: ["hello", "world"]
      - get:
          url: "$url"
YAML
    timeout 60 "$sioreplay" replay "$work/host-$name.yml" -q -o "$work/host-$name.json" "$@" \
      >"$work/host-$name.err" 2>&1 || true
  }
  host_run refused "http://127.0.0.2:$elsewhere/api?token=secret-abc"
  check "an HTTP step to 127.0.0.2: 2/2 failed with errors.host_not_allowed" \
    test "$(counter "$work/host-refused.json" errors.host_not_allowed)" = 2
  check "... the error names the host and --allow-host, not the URL's token" \
    grep -q "host 127.0.0.2:$elsewhere is not the target 127.0.0.1:$app_port.*--allow-host 127.0.0.2" "$work/host-refused.err"
  check "... and nothing reached 127.0.0.2" test "$(hits)" = 0
  check "... and the token is not in the report or the summary" \
    leaks "$work/secrets.txt" "$work/host-refused.json" "$work/host-refused.err"
  host_run allowed "http://127.0.0.2:$elsewhere/api" --allow-host 127.0.0.2
  check "--allow-host 127.0.0.2: 0 failed, 2 requests reached it" \
    test "$(counter "$work/host-allowed.json" vusers.failed)" = 0 -a "$(hits)" = 2
  host_run port "http://127.0.0.2:$elsewhere/api" --allow-host "127.0.0.2:$((elsewhere == 65535 ? 1 : elsewhere + 1))"
  check "--allow-host 127.0.0.2:OTHER_PORT does not allow port $elsewhere" \
    test "$(counter "$work/host-port.json" errors.host_not_allowed)" = 2 -a "$(hits)" = 2
  host_run hostport "http://127.0.0.2:$elsewhere/api" --allow-host "127.0.0.2:$elsewhere"
  check "--allow-host 127.0.0.2:$elsewhere allows it" test "$(hits)" = 4
  host_run redirect "$app/redirect?to=http://127.0.0.2:$elsewhere/api"
  check "a redirect from the target to 127.0.0.2 is not followed (302 counted, nothing reached it)" \
    test "$(counter "$work/host-redirect.json" http.codes.302)" = 2 -a "$(hits)" = 4
  rc=0
  "$sioreplay" replay "$work/host-allowed.yml" --allow-host "127.0.0.2:http" -q 2>"$work/host-bad.err" || rc=$?
  check "--allow-host with a bad port is a usage error (exit $rc = 2)" \
    test "$rc" = 2 -a -n "$(grep "allow-host 127.0.0.2:http: the port must be 1-65535" "$work/host-bad.err")"
fi

# ---- 4. files ----------------------------------------------------------------------------------
echo "== files ($SECONDS s so far)"
a1="$samples/har/a1/devtools.har"
for mask in 027 022; do
  d="$work/umask$mask"
  mkdir -p "$d"
  (
    umask $mask
    "$sioreplay" record "$a1" -q -o "$d/rec.jsonl" --html "$d/rec.html"
    "$sioreplay" convert "$d/rec.jsonl" -o "$d/s.yml" --think max=20ms 2>/dev/null
    timeout 120 "$sioreplay" replay "$d/s.yml" --target "$app" -q -o "$d/report.json" \
      --html "$d/report.html" 2>/dev/null || true
    "$sioreplay" report "$d/report.json" --html "$d/report2.html" 2>/dev/null
  ) 2>/dev/null || true
  want=$([ $mask = 027 ] && echo 640 || echo 644)
  modes=$(cd "$d" && stat -c '%n=%a' rec.jsonl rec.html s.yml s.csv report.json report.html report2.html 2>&1 | tr '\n' ' ')
  check "umask $mask: every output is 0$want: $modes" \
    test "$(echo "$modes" | tr ' ' '\n' | grep -c "=$want$")" = 7
done
sha_after=$(cd "$samples" && sha256sum "${inputs[@]}" pcap/b9/keys.log)
check "the inputs are unchanged after all of the above" test "$sha_before" = "$sha_after"
if strace -f -o /dev/null true 2>/dev/null; then
  # LeakSanitizer cannot run under ptrace: an ASan build is traced with its leak check off.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -e trace=open,openat,creat,truncate -o "$work/strace.txt" \
    "$sioreplay" record "$a1" "$samples/pcap/b9/b9.pcap" --keylog "$keylog" -q -o "$work/st.jsonl" 2>/dev/null
  "$sioreplay" record "$samples/pcap/b8/b8.pcap" -q -o "$work/st2.jsonl" 2>/dev/null
  opened=$(grep -E "(devtools\.har|b9\.pcap|keys\.log)\"" "$work/strace.txt" || true)
  check "strace: the HAR, the capture and the key log are each opened" \
    test "$(echo "$opened" | grep -c 'devtools.har"')" -ge 1 -a "$(echo "$opened" | grep -c 'b9.pcap"')" -ge 1 -a \
    "$(echo "$opened" | grep -c 'keys.log"')" -ge 1
  check "strace: ... always O_RDONLY, never for writing" \
    test -z "$(echo "$opened" | grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|creat\(|truncate\(')"
else
  echo "  skip  strace cannot trace here (ptrace not permitted)"
fi

if [ "$failures" -ne 0 ]; then
  echo "security: $failures check(s) failed"
  exit 1
fi
echo "security: all checks passed in $SECONDS s"
