#!/usr/bin/env bash
# The main job, end to end on a bundled sample: installs what is missing, builds, records the
# bundled real Chromium HAR (a Socket.IO session behind a sticky HAProxy) and prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
mkdir -p build/demo
har=samples/har/a2/devtools.har
echo
echo "== sioreplay record $har -o build/demo/a2.jsonl"
build/sioreplay record "$har" -o build/demo/a2.jsonl
echo
echo "== the recording: one line per session (first 600 characters of session 1)"
sed -n 2p build/demo/a2.jsonl | cut -c1-600
