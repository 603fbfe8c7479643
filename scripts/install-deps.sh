#!/usr/bin/env bash
# Installs every Debian package sioreplay needs to build, test and run. Idempotent: only missing
# packages are installed. Works as root, or through sudo for another user.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git   # toolchain
  libboost-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev  # header libraries
  libpcap-dev libssl-dev zlib1g-dev                  # capture, TLS, compression
  libmimalloc-dev                                    # allocator of the sioreplay binary
  libgtest-dev googletest                            # tests
  clang libclang-rt-14-dev llvm                      # fuzz preset: clang, libFuzzer, llvm-symbolizer
  time openssl                                       # /usr/bin/time for the benchmarks; test certificates
  dpkg-dev groff-base                                # cpack's Debian package (dpkg-shlibdeps); man page test
  chromium                                           # renders the HTML report in a test (headless)
  strace                                             # the security test: the recorder opens its inputs read-only
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
