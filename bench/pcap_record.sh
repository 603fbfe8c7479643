#!/usr/bin/env bash
# Benchmark: `sioreplay record` on a ~1 GB classic pcap of many concurrent Socket.IO sessions,
# tiled by bench/make_pcap from the real sample captures, side by side with tshark extracting the
# websocket payloads of the same kind of file. Prints wall time, MB/s and peak RSS of both, the
# ratios, the recorder's summary line, and the peak RSS of sioreplay on a ~250 MB file beside the
# ~1 GB one (memory should not grow with the file). Targets: >= 300 MB/s on one core, >= 50x
# tshark, flat memory.
#
#   bench/pcap_record.sh [--size-mb 1000] [--small-mb 250] [--tshark-mb 200] [--concurrency 500]
#                        [--core 0]
#   BENCH_DIR=DIR bench/pcap_record.sh ...   (files go to DIR and are kept; default: a temp dir,
#                                              removed at the end)
#   SAMPLES_DIR=DIR: where <case>/<case>.pcap + truth.json are (default samples/pcap)
#   SIOREPLAY=PATH: the binary to measure (default build/release/sioreplay, built here)
#
# tshark reads a smaller file built the same way (--tshark-mb, default 200: it takes minutes on
# 1 GB); its MB/s is a rate and compares with sioreplay's. Exit 1 if a tool fails or cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mb=1000 small_mb=250 tshark_mb=200 concurrency=500 core=0
while [ $# -gt 0 ]; do
  case $1 in
    --size-mb) size_mb=$2; shift 2 ;;
    --small-mb) small_mb=$2; shift 2 ;;
    --tshark-mb) tshark_mb=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --core) core=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "pcap_record.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Samples: classic Ethernet pcaps whose sids are in clear (b3 is left out: permessage-deflate
# hides its sid in the compressed open packet, so its copies could not get their own sids).
cases=(b1 b2 b4 b5 b8)
samples_dir=${SAMPLES_DIR:-samples/pcap}
if [ ! -f "$samples_dir/b1/b1.pcap" ] && [ -f /work/shared/samples/b1/b1.pcap ]; then
  samples_dir=/work/shared/samples
fi
samples=()
for c in "${cases[@]}"; do
  if [ ! -f "$samples_dir/$c/$c.pcap" ] || [ ! -f "$samples_dir/$c/truth.json" ]; then
    echo "pcap_record.sh: missing $samples_dir/$c/$c.pcap or its truth.json" >&2
    exit 1
  fi
  samples+=("$samples_dir/$c/$c.pcap")
done

if [ -n "${BENCH_DIR:-}" ]; then
  dir=$BENCH_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pcap_record.XXXXXX")
  trap 'rm -rf -- "$dir"' EXIT
fi
problems=0

# Dependencies: the build's packages, tshark (Debian's, the peer measured here) and GNU time.
scripts/install-deps.sh
if ! command -v tshark >/dev/null 2>&1; then
  echo "pcap_record.sh: installing tshark (Debian package)" >&2
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends tshark >/dev/null
fi

# Build (incremental). If the whole build fails, make_pcap alone still lets tshark be measured.
sioreplay=${SIOREPLAY:-build/release/sioreplay}
cmake --preset release >/dev/null
if ! cmake --build --preset release >"$dir/build.log" 2>&1; then
  echo "pcap_record.sh: the release build failed (tail of the log below); building make_pcap only" >&2
  tail -n 5 "$dir/build.log" >&2
  cmake --build --preset release --target make_pcap >/dev/null
  [ -n "${SIOREPLAY:-}" ] || sioreplay=""
fi

# Server ports of the samples (the SYNs' destinations): tshark is told they speak HTTP (b8's
# 4001-4003 are registered to other protocols, and websocket is only found after an HTTP upgrade).
decode_as=()
for p in $(for s in "${samples[@]}"; do
  tshark -r "$s" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e tcp.dstport 2>/dev/null
done | sort -un); do
  decode_as+=(-d "tcp.port==$p,http")
done

echo "== generating (bench/make_pcap, samples from $samples_dir: ${cases[*]})"
generate() { # SIZE_MB FILE
  build/release/bench/make_pcap --size-mb "$1" --concurrency "$concurrency" -o "$2" "${samples[@]}" |
    grep -v '^  \|^make_pcap: samples$' | tee "$2.txt"
}
big=$dir/sessions-${size_mb}mb.pcap small=$dir/sessions-${small_mb}mb.pcap
tsh=$dir/sessions-${tshark_mb}mb.pcap
generate "$size_mb" "$big"
[ "$small" = "$big" ] || generate "$small_mb" "$small"
[ "$tsh" = "$big" ] || [ "$tsh" = "$small" ] || generate "$tshark_mb" "$tsh"

# measure OUT ERR CMD...: CMD pinned to one core, stdout to OUT, stderr to ERR; prints
# "wall_s cpu_s peak_kb exit_code". The caller warms the page cache first (cat FILE >/dev/null).
measure() {
  local out=$1 err=$2 rc=0
  shift 2
  /usr/bin/time -o "$dir/time.txt" -f '%e %U %S %M' taskset -c "$core" "$@" >"$out" 2>"$err" || rc=$?
  tail -n 1 "$dir/time.txt" | awk -v rc="$rc" '{printf "%.2f %.2f %d %d\n", $1, $2 + $3, $4, rc}'
}
mb_of() { awk -v b="$(stat -c %s "$1")" 'BEGIN{printf "%.1f", b/1e6}'; }

rows=()
row() { # FILE TOOL WALL CPU KB
  local mb
  mb=$(mb_of "$1")
  rows+=("$(awk -v f="$(basename "$1")" -v t="$2" -v m="$mb" -v w="$3" -v c="$4" -v k="$5" 'BEGIN{
    printf "%-24s %-22s %8.1f %8.2f %8.2f %9.1f %12.1f", f, t, m, w, c, m/(w < 0.01 ? 0.01 : w), k/1024}')")
}

# sioreplay record: only if this build reads captures.
sio_ok=0 why=""
if [ -z "$sioreplay" ]; then
  why="the release build failed"
elif ! "$sioreplay" record "${samples[0]}" -o "$dir/probe.jsonl" -q 2>"$dir/probe.err"; then
  why=$(head -n 1 "$dir/probe.err")
else
  sio_ok=1
fi

declare -A wall kb
if [ "$sio_ok" = 1 ]; then
  echo "== sioreplay record (pinned to core $core)"
  for f in "$big" "$small" "$tsh"; do
    [ -z "${wall[$f]:-}" ] || continue
    cat "$f" >/dev/null
    read -r w c k rc < <(measure "$dir/sioreplay.out" "$dir/sioreplay.err" \
      "$sioreplay" record "$f" -o "$dir/out.jsonl" -q)
    if [ "$rc" != 0 ]; then
      echo "sioreplay record $(basename "$f"): exit $rc: $(head -n 3 "$dir/sioreplay.err")" >&2
      problems=1
    fi
    wall[$f]=$w kb[$f]=$k
    row "$f" "sioreplay record" "$w" "$c" "$k"
    [ "$f" != "$big" ] || jsonl_big=$(mb_of "$dir/out.jsonl")
  done
  # The summary: one more (unmeasured) run of the big file without -q.
  "$sioreplay" record "$big" -o "$dir/out.jsonl" 2>"$dir/summary.txt" || problems=1
  summary=$(grep -m 2 -e '^sioreplay record:' -e '^  input ' "$dir/summary.txt" || true)
else
  echo "== sioreplay record: NOT MEASURED: $why" >&2
  problems=1
fi

echo "== tshark $(tshark -v 2>/dev/null | head -n 1 | awk '{print $2, $3}') -Y websocket on $(basename "$tsh") (pinned to core $core)"
cat "$tsh" >/dev/null
read -r tw tc tk trc < <(measure "$dir/tshark.tsv" "$dir/tshark.err" tshark -r "$tsh" \
  "${decode_as[@]}" -Y websocket -T fields -e websocket.payload.text -e data.data)
if [ "$trc" != 0 ]; then
  echo "tshark: exit $trc: $(grep -v 'Running as user' "$dir/tshark.err" | head -n 3)" >&2
  problems=1
fi
row "$tsh" "tshark -Y websocket" "$tw" "$tc" "$tk"
frames=$(wc -l <"$dir/tshark.tsv")

echo
printf '%-24s %-22s %8s %8s %8s %9s %12s\n' file tool "size MB" "wall s" "CPU s" "MB/s" "peak RSS MB"
printf '%s\n' "${rows[@]}"
echo "(tshark printed $frames websocket frames; its MB/s is from the ${tshark_mb} MB file: a rate, comparable)"
if [ "$sio_ok" = 1 ]; then
  echo
  echo "recorder summary ($(basename "$big"), output $jsonl_big MB):"
  echo "$summary"
  echo "  (make_pcap put in$(grep -o ' [0-9]* Engine.IO sessions, [0-9]* Socket.IO messages' "$big.txt"), per truth.json)"
  echo
  awk -v mb="$(mb_of "$big")" -v w="${wall[$big]}" -v k="${kb[$big]}" \
    -v smb="$(mb_of "$small")" -v sk="${kb[$small]}" \
    -v tmb="$(mb_of "$tsh")" -v tw="$tw" -v tk="$tk" -v sw2="${wall[$tsh]}" -v sk2="${kb[$tsh]}" 'BEGIN{
    if (w < 0.01) w = 0.01; if (tw < 0.01) tw = 0.01; if (sw2 < 0.01) sw2 = 0.01
    s = mb/w; t = tmb/tw
    printf "ratio: sioreplay %.0fx faster than tshark (%.0f vs %.1f MB/s; same %s MB file: %.0fx)\n", s/t, s, t, tmb, tw/sw2
    printf "ratio: tshark on %s MB uses %.1fx the memory of sioreplay on %s MB (same file: %.1fx)\n", tmb, tk/k, mb, tk/sk2
    printf "memory: sioreplay peak RSS %.1f MB on %s MB, %.1f MB on %s MB (%.2fx for %.1fx the input)\n", k/1024, mb, sk/1024, smb, k/sk, mb/smb
    printf "target >= 300 MB/s on one core: %s (%.0f)\n", (s >= 300 ? "MET" : "MISSED"), s
    printf "target >= 50x tshark:           %s (%.0fx)\n", (s/t >= 50 ? "MET" : "MISSED"), s/t
    printf "target flat memory (<= 1.25x):  %s (%.2fx)\n", (k/sk <= 1.25 ? "MET" : "MISSED"), k/sk
  }'
else
  echo
  awk -v tmb="$(mb_of "$tsh")" -v tw="$tw" 'BEGIN{
    printf "tshark: %.1f MB/s; sioreplay >= 50x would be >= %.0f MB/s\n", tmb/tw, 50*tmb/tw}'
  echo "sioreplay record: not measured: $why"
fi
[ -z "${BENCH_DIR:-}" ] || echo "files kept in $dir"
exit "$problems"
