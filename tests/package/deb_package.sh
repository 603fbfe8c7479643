#!/usr/bin/env bash
# The Debian package: cpack builds it from this build tree; its control file names the
# libraries the binary really links (each NEEDED library's Debian package is in Depends); it
# unpacks with dpkg -x into a scratch root, whose /usr/bin/sioreplay runs and whose man page and
# bash completion are in place.
# Usage: deb_package.sh BUILD_DIR VERSION
set -euo pipefail
build=$(realpath "$1")
version=$2
# shellcheck source=tests/package/common.sh
source "$(dirname "$0")/common.sh"

start=$(date +%s)
(cd "$build" && cpack -G DEB -B "$work/out") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
debs=("$work"/out/sioreplay_"$version"_*.deb)
[ -f "${debs[0]}" ] || { ls -l "$work/out" >&2; fail "no sioreplay_${version}_*.deb"; }
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes) in $(($(date +%s) - start)) s"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = sioreplay ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
[[ "$(field Maintainer)" == *"<"*"@"*">" ]] || fail "Maintainer: $(field Maintainer)"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
echo "Depends: $depends"
# dep_names: the package names of Depends, one per line (versions and alternatives dropped).
dep_names() { tr ',|' '\n' <<<"$depends" | sed -E 's/\(.*\)//; s/^ +//; s/ +$//' | grep -v '^$'; }
for pkg in libpcap0.8 libssl3 zlib1g libc6 libstdc++6; do
  dep_names | grep -qx "$pkg" || fail "Depends does not name $pkg"
done

dpkg -x "$deb" "$work/root"
bin=$work/root/usr/bin/sioreplay
[ -x "$bin" ] || fail "no /usr/bin/sioreplay in the package"
got=$("$bin" --version)
[ "$got" = "sioreplay $version" ] || fail "--version printed '$got'"
echo "ok: $got"
# Every shared library the binary needs comes from a package in Depends.
for soname in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
  owners=$( (dpkg -S "*/$soname" 2>/dev/null || true) | cut -d: -f1 | tr ', ' '\n' | sort -u)
  [ -n "$owners" ] || fail "no installed package holds $soname"
  found=
  for o in $owners; do dep_names | grep -qx "$o" && found=$o; done
  [ -n "$found" ] || fail "$soname (from $(tr '\n' ' ' <<<"$owners")) is not in Depends"
  echo "ok: $soname <- $found"
done

# The files: the binary, the man page, the completion; nothing else.
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sort)
expected=$(printf '%s\n' ./usr/bin/sioreplay ./usr/share/bash-completion/completions/sioreplay \
  ./usr/share/man/man1/sioreplay.1.gz | sort)
[ "$files" = "$expected" ] || fail "package files:"$'\n'"$files"
man=$work/root/usr/share/man/man1/sioreplay.1.gz
gzip -t "$man" || fail "the man page is not gzip"
zcat "$man" | groff -man -Tutf8 -P-cbou 2>/dev/null | grep -q "sioreplay replay" ||
  fail "the packaged man page does not render sioreplay replay"
completion=$work/root/usr/share/bash-completion/completions/sioreplay
bash --norc --noprofile -c "source '$completion' && complete -p sioreplay" >/dev/null ||
  fail "the packaged completion does not register for sioreplay"
# The packaged files are the ones the packaged binary generates.
cmp -s <("$bin" completion bash) "$completion" || fail "the packaged completion is stale"
cmp -s <("$bin" man) <(zcat "$man") || fail "the packaged man page is stale"
echo "deb_package: ok"
