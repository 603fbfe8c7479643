# shellcheck shell=bash
# Sourced by the package tests (after `set -euo pipefail`): a scratch folder $work removed on
# exit, fail(), and what `sioreplay --help` and `sioreplay CMD --help` list (CLI11's own help
# formatter), to check the generated completion and man page against.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# help_subcommands CLI: the subcommand names of the root --help.
help_subcommands() {
  "$1" --help | awk '/^Subcommands:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}

# help_options CLI [CMD]: every option name (-o, --output, ...) the --help lists.
help_options() {
  local cli=$1
  shift
  "$cli" "$@" --help |
    awk '/^Options:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  -/ { print $1 }' |
    tr ',' '\n' | grep -E '^--?[A-Za-z]' || true
}
