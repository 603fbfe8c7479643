#!/usr/bin/env bash
# The man page `sioreplay man` prints: groff renders it without warnings, and the rendered page
# names every subcommand and every option that `sioreplay --help` and each `sioreplay CMD
# --help` list.
# Usage: man_page.sh path/to/sioreplay
set -euo pipefail
cli=$(realpath "$1")
# shellcheck source=tests/package/common.sh
source "$(dirname "$0")/common.sh"

"$cli" man -o "$work/sioreplay.1"
cmp -s <("$cli" man) "$work/sioreplay.1" || fail "stdout and -o differ"
head -3 "$work/sioreplay.1" | grep -q '^\.TH SIOREPLAY 1 ' || fail "no .TH SIOREPLAY 1 header"

# Plain text (no bold or underline overstrikes), 100 columns, every groff warning on.
MANWIDTH=100 groff -man -Tutf8 -ww -rLL=100n -P-cbou "$work/sioreplay.1" \
  >"$work/page.txt" 2>"$work/warnings.txt"
[ ! -s "$work/warnings.txt" ] || { cat "$work/warnings.txt" >&2; fail "groff warnings"; }
grep -q '^NAME' "$work/page.txt" || fail "no NAME section"
grep -q 'sioreplay - record' "$work/page.txt" || fail "NAME is not 'sioreplay - ...'"
for section in SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS"; do
  grep -q "^$section" "$work/page.txt" || fail "no $section section"
done
# Options are typed with ASCII hyphen-minus: what the page shows can be copied.
grep -q -- '--shard' "$work/page.txt" || fail "--shard is not rendered with ASCII hyphens"

subs=$(help_subcommands "$cli")
[ -n "$subs" ] || fail "no subcommands in sioreplay --help"
for o in $(help_options "$cli"); do
  grep -q -- "$o" "$work/page.txt" || fail "the page does not name $o"
done
for sub in $subs; do
  grep -q "^   sioreplay $sub\$" "$work/page.txt" || fail "no section for sioreplay $sub"
  # The options of this command: the text between its heading and the next command's.
  awk -v h="   sioreplay $sub" '$0 == h { on = 1; next } /^   sioreplay [a-z]+$/ { on = 0 } on' \
    "$work/page.txt" >"$work/section.txt"
  n=0
  for o in $(help_options "$cli" "$sub"); do
    grep -qE -- "(^|[ ,])$o([ ,]|\$)" "$work/section.txt" || fail "sioreplay $sub: $o is not described"
    n=$((n + 1))
  done
  echo "ok: sioreplay $sub: $n options described"
done
echo "man_page: ok"
