#!/usr/bin/env bash
# Fills the fuzzers' work corpora: CORPUS/<target>/ gets the hand-made and extracted seeds of
# fuzz/seeds/<target>/ (see fuzz/seeds/make_seeds.py) plus the samples themselves: the HARs,
# the captures, the scenarios (and /work/shared/samples or $SIO_SHARED_SAMPLES when present).
# Usage: fuzz/make_seeds.sh CORPUS
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:?usage: make_seeds.sh CORPUS}
shared=${SIO_SHARED_SAMPLES:-/work/shared/samples}
mkdir -p "$corpus"
for d in "$src"/fuzz/seeds/fuzz_*/; do
  t=$(basename "$d")
  mkdir -p "$corpus/$t"
  cp -f "$d"* "$corpus/$t/"
done
copy() { # copy TARGET FILE...: under a name that keeps where it came from
  local t=$1
  shift
  mkdir -p "$corpus/$t"
  for f in "$@"; do
    [ -f "$f" ] || continue
    cp -f "$f" "$corpus/$t/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
}
shopt -s nullglob
# The reader alone starts from the same hand-made captures as the whole recorder.
mkdir -p "$corpus/fuzz_pcap_reader"
cp -f "$src"/fuzz/seeds/fuzz_pcap/* "$corpus/fuzz_pcap_reader/"
copy fuzz_har "$src"/samples/har/*/*.har
copy fuzz_pcap "$src"/samples/pcap/*/*.pcap "$src"/samples/pcap/*/*.pcapng
copy fuzz_pcap_reader "$src"/samples/pcap/*/*.pcap "$src"/samples/pcap/*/*.pcapng
copy fuzz_scenario "$src"/samples/expected/*.yml "$src"/tests/peers/artillery/scenarios/*.yml
if [ -d "$shared" ]; then
  copy fuzz_har "$shared"/*/*.har
  copy fuzz_pcap "$shared"/*/*.pcap "$shared"/*/*.pcapng
  copy fuzz_pcap_reader "$shared"/*/*.pcap "$shared"/*/*.pcapng
fi
for d in "$corpus"/fuzz_*/; do
  echo "$(basename "$d"): $(find "$d" -type f | wc -l) seeds"
done
