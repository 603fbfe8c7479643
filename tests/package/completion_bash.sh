#!/usr/bin/env bash
# The bash completion `sioreplay completion bash` prints: it loads in bash, registers itself for
# sioreplay, and completes the subcommands and every option each subcommand's --help lists,
# file names for arguments and option values.
# Usage: completion_bash.sh path/to/sioreplay
set -euo pipefail
cli=$(realpath "$1")
# shellcheck source=tests/package/common.sh
source "$(dirname "$0")/common.sh"

"$cli" completion bash -o "$work/sioreplay.bash"
bash -n "$work/sioreplay.bash" || fail "the script does not parse"
# To standard output too, the same bytes.
cmp -s <("$cli" completion bash) "$work/sioreplay.bash" || fail "stdout and -o differ"
"$cli" completion zsh >/dev/null 2>&1 && fail "an unknown shell was accepted"

# offers WORD...: what bash offers for the last word of `WORD...` (one per line, sorted), run
# in $work as a fresh interactive-less bash that sourced the script.
offers() {
  (cd "$work" && bash --norc --noprofile -c '
    source ./sioreplay.bash
    complete -p sioreplay >/dev/null || exit 3
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    _sioreplay sioreplay "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$@") | sort
}
expect() { # expect "WORDS" "expected offers (space-separated)"
  local got
  read -r -a words <<<"$1"
  [[ $1 == *" " ]] && words+=("")
  got=$(offers "${words[@]}" | tr '\n' ' ' | sed 's/ $//')
  [ "$got" = "$2" ] || fail "completing '$1': got '$got', expected '$2'"
  echo "ok: '$1' -> $2"
}

expect "sioreplay re" "record replay report"
expect "sioreplay replay --sh" "--shard"
expect "sioreplay report --m" "--merge"
expect "sioreplay co" "completion convert"
# Option values and arguments are file names.
touch "$work/scenario.yml" "$work/report-0.json"
expect "sioreplay replay sc" "scenario.yml"
expect "sioreplay replay scenario.yml -o rep" "report-0.json"
expect "sioreplay report --merge rep" "report-0.json"
touch "$work/my scenario.yml"
[ "$(offers sioreplay replay my)" = "my scenario.yml" ] || fail "a file name with a space is split"
echo "ok: 'sioreplay replay my' -> my scenario.yml (one candidate)"

# Every subcommand and every option of every --help is offered.
subs=$(help_subcommands "$cli")
[ -n "$subs" ] || fail "no subcommands in sioreplay --help"
root_offers=$(offers sioreplay "")
for sub in $subs; do
  grep -qx -- "$sub" <<<"$root_offers" || fail "'sioreplay ' does not offer $sub"
  opts=$(help_options "$cli" "$sub")
  [ -n "$opts" ] || fail "no options in sioreplay $sub --help"
  sub_offers=$(offers sioreplay "$sub" -)
  for o in $opts; do
    grep -qx -- "$o" <<<"$sub_offers" || fail "'sioreplay $sub -' does not offer $o"
  done
  echo "ok: sioreplay $sub: $(wc -w <<<"$opts") options offered"
done
for o in $(help_options "$cli"); do
  offers sioreplay - | grep -qx -- "$o" || fail "'sioreplay -' does not offer $o"
done
echo "completion_bash: ok"
