#!/usr/bin/env bash
# Every test: installs what is missing (Debian packages, the pinned npm peers), builds with
# warnings as errors, runs the whole suite (unit tests, the sample captures against their truth,
# the CLI end to end, integration tests against the sample app behind HAProxy and real
# Artillery), then the same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Set SIO_SKIP_SANITIZERS=1 to skip the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-node-deps.sh   # the real peers: sample Socket.IO app, HAProxy, Artillery (pinned)
jobs=$(nproc)

echo "== build (dev preset: -Werror) and test"
scripts/build.sh dev
ctest --preset dev -j"$jobs"

if [ "${SIO_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build (asan-ubsan preset) and test"
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan -- -j"$jobs"
  # The peers-only proof (no sioreplay code in it) and the Debian package (it would package the
  # sanitizer build) run once, in the dev pass.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --preset asan-ubsan -j"$jobs" --label-exclude 'peers|deb'
fi
