#!/usr/bin/env bash
# Every test: installs what is missing (Debian packages, the pinned npm peers), builds with
# warnings as errors, runs the whole suite (unit tests, the sample captures against their truth,
# the CLI end to end, integration tests against the sample app behind HAProxy and real
# Artillery), then every libFuzzer target for 10 s on its seeds plus the regression inputs
# (clang, fuzz preset), then the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the multi-worker replayer's tests (unit and integration) under ThreadSanitizer.
# Set SIO_SKIP_FUZZ=1 / SIO_SKIP_SANITIZERS=1 to skip the fuzz / both sanitizer passes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-node-deps.sh   # the real peers: sample Socket.IO app, HAProxy, Artillery (pinned)
jobs=$(nproc)

echo "== build (dev preset: -Werror) and test"
scripts/build.sh dev
ctest --preset dev -j"$jobs"

if [ "${SIO_SKIP_FUZZ:-0}" != 1 ]; then
  # Only the libraries the fuzz targets need and the targets are in this preset (docs/fuzzing.md).
  echo "== build (fuzz preset: clang, libFuzzer + ASan + UBSan), fuzz each parser 10 s, regressions"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -- -j"$jobs"
  ctest --preset fuzz -j"$jobs"
fi

if [ "${SIO_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build (asan-ubsan preset) and test"
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan -- -j"$jobs"
  # The peers-only proof (no sioreplay code in it) and the Debian package (it would package the
  # sanitizer build) run once, in the dev pass.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --preset asan-ubsan -j"$jobs" --label-exclude 'peers|deb'
fi

if [ "${SIO_SKIP_SANITIZERS:-0}" != 1 ]; then
  # The replayer is the multi-threaded part (workers, --processes, the metrics server's thread):
  # its unit tests and the integration tests labelled `replayer` run under TSan. Only those
  # targets are built.
  echo "== build (tsan preset) the replayer and its tests; run them under ThreadSanitizer"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target sioreplay replayer_tests -- -j"$jobs"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --preset tsan -j"$jobs" -L replayer
fi
