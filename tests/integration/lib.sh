# shellcheck shell=bash
# What the integration tests share; sourced after `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#   sio_init NAME SIOREPLAY_BINARY
#       sets sioreplay (absolute), root (the source tree), cluster (samples/app/cluster.sh) and
#       work (a fresh /tmp/sio_NAME_XXXXXX); on exit: runs sio_on_exit if the script defines it,
#       ends the processes given to sio_track, stops the cluster started by sio_cluster_start,
#       and removes $work (unless KEEP_WORK is set)
#   sio_cluster_start FROM TO [cluster.sh start options...]
#       base=a free base port in FROM..TO (step 10); starts the sample cluster (3 replicas behind
#       HAProxy) in $work/cluster and waits until every port answers
#   sio_track PID...       processes this test started, ended (by PID) on exit
#   sio_wait_port PORT [SECONDS]
#       waits until something accepts TCP connections on 127.0.0.1:PORT (default 10 s); fails
#       the test otherwise
#   sio_free_port FROM TO  a base port in FROM..TO whose 4 ports are free
#
# Everything listens on 127.0.0.1 only.

sio_init() {
  sio_name=$1
  sioreplay=$(realpath "$2")
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cluster="$root/samples/app/cluster.sh"
  work=$(mktemp -d "/tmp/sio_${sio_name}_XXXXXX")
  sio_pids=()
  sio_cluster_dir=""
  trap sio_cleanup EXIT
}

sio_cleanup() {
  if declare -F sio_on_exit >/dev/null; then sio_on_exit || true; fi
  local p
  for p in ${sio_pids[@]+"${sio_pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${sio_pids[@]+"${sio_pids[@]}"}; do wait "$p" 2>/dev/null || true; done
  if [ -n "$sio_cluster_dir" ]; then "$cluster" stop "$sio_cluster_dir" >/dev/null 2>&1 || true; fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}

sio_track() { sio_pids+=("$@"); }

sio_free_port() { "$cluster" free-base "$1" "$2"; }

sio_cluster_start() {
  local from=$1 to=$2
  shift 2
  base=$(sio_free_port "$from" "$to")
  sio_cluster_dir="$work/cluster"
  "$cluster" start "$sio_cluster_dir" "$base" "$@"
}

sio_wait_port() {
  local port=$1 seconds=${2:-10} i
  for ((i = 0; i < seconds * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$sio_name: nothing answers on 127.0.0.1:$port after ${seconds}s" >&2
  return 1
}
