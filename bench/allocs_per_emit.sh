#!/usr/bin/env bash
# Benchmark: heap allocations per message once a user is connected (issue 6: none on the hot
# path). heaptrack counts every allocation call of a `sioreplay replay` run; two runs differ
# only in the number of emits (COUNT_LO vs COUNT_HI loop iterations of 100 websocket users
# against one sample-app replica on 127.0.0.1), so
#     allocations per emit = (calls_hi - calls_lo) / (emits_hi - emits_lo)
# where set-up, connection and teardown cancel out. Each kind is measured on its own:
#   plain     emit: ["tick", {"n": 1}]                     (constant arguments, no ack)
#   acked     the same with acknowledge: {}                (the server's ack comes back)
#   templated emit: ["tick", {"n": "{{ $loopCount }}"}]    (arguments rendered per emit)
#   push      plain emits while the server pushes an event every 50 ms to each user
# The binary is built without mimalloc (-DSIO_MIMALLOC=OFF, in build/nomimalloc), because
# heaptrack sees operator new/malloc only.
#
#   bench/allocs_per_emit.sh [--port 7450] [--bin PATH]
# --bin measures that sioreplay binary (one built without mimalloc) instead of building one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
port=7450
bin=""
while (($#)); do
  case $1 in
    --port) port=${2:?}; shift 2 ;;
    --bin) bin=$(realpath "${2:?}"); shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "allocs_per_emit.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
scripts/install-deps.sh
command -v heaptrack >/dev/null || apt-get install -y -q heaptrack >/dev/null
scripts/install-node-deps.sh >/dev/null
if [ -z "$bin" ]; then
  cmake -S . -B build/nomimalloc -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIO_MIMALLOC=OFF \
    -DSIO_BUILD_TESTS=OFF >/dev/null
  cmake --build build/nomimalloc --target sioreplay >/dev/null
  bin=build/nomimalloc/sioreplay
fi

work=$(mktemp -d /tmp/allocs_per_emit.XXXXXX)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_server() { # extra server arguments
  [ -z "$server_pid" ] || { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }
  node samples/app/server.js --port "$port" --replica a1 "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "allocs_per_emit.sh: the sample app did not start" >&2
  exit 1
}

# scenario FILE COUNT EMIT_STEP_YAML
scenario() {
  cat >"$1" <<YAML
config:
  target: "http://127.0.0.1:$port"
  phases:
    - duration: 1
      arrivalCount: 100
  socketio:
    transports: ["websocket"]
scenarios:
  - engine: socketio
    flow:
      - think: 1.5
      - loop:
$3
          - think: 0.05
        count: $2
YAML
}

# calls KIND COUNT STEP: allocation calls and emits of one run
calls() {
  local f="$work/$1-$2.yml"
  scenario "$f" "$2" "$3"
  heaptrack -o "$work/$1-$2" "$bin" replay "$f" -q -o "$work/$1-$2.json" >/dev/null 2>&1
  local n
  n=$(heaptrack_print "$work/$1-$2".zst 2>/dev/null | awk '/^calls to allocation functions:/{print $5}')
  local e
  e=$(node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1])).aggregate.counters;
    console.log(c["socketio.emit"] || 0, c["socketio.push"] || 0, c["vusers.failed"] || 0)' "$work/$1-$2.json")
  echo "$n $e"
}

lo=10 hi=40
printf '%-10s %14s %14s %10s %10s %16s\n' kind "calls (${lo})" "calls (${hi})" emits pushes "allocs/message"
measure() { # KIND STEP [server args]
  local kind=$1 step=$2
  shift 2
  start_server "$@"
  read -r c1 e1 p1 f1 < <(calls "$kind" "$lo" "$step")
  read -r c2 e2 p2 f2 < <(calls "$kind" "$hi" "$step")
  if [ "$f1" != 0 ] || [ "$f2" != 0 ]; then
    echo "allocs_per_emit.sh: $kind: users failed ($f1, $f2)" >&2
    exit 1
  fi
  local msgs=$(((e2 - e1) + (p2 - p1)))
  printf '%-10s %14s %14s %10s %10s %16s\n' "$kind" "$c1" "$c2" "$((e2 - e1))" "$((p2 - p1))" \
    "$(awk -v a="$c1" -v b="$c2" -v m="$msgs" 'BEGIN{printf "%.2f", (b - a) / m}')"
}
measure plain '          - emit: ["tick", {"n": 1}]'
measure acked '          - emit: ["tick", {"n": 1}]
            acknowledge: {}'
measure templated '          - emit: ["tick", {"n": "{{ $loopCount }}"}]'
measure push '          - emit: ["tick", {"n": 1}]' --news-ms 50
echo "messages = emits + pushes received; the difference of the two runs divided by the messages"
