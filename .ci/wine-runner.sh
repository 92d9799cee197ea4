#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu: runs a Windows test binary under
# Wine. Set up by .ci/wine-env.sh (which exports WINEPREFIX etc.).
#
# Wine's output goes to a file, not a pipe: the Wine helpers started with
# the program (wineserver, services.exe, explorer.exe...) inherit its stdout
# and outlive it, so a pipe's reader waits for them (3 s per run at best;
# here once for 9 minutes). The file is printed once the program has ended.
# A limit (WINE_RUNNER_TIMEOUT seconds, default 1800) keeps a hung Windows
# program from eating the whole CI budget.
set -uo pipefail

out=$(mktemp "${TMPDIR:-/tmp}/wine-runner.XXXXXX")
trap 'rm -f "$out"' EXIT

# Headless: no X display, and no debug chatter mixed into test output.
timeout --kill-after=10 "${WINE_RUNNER_TIMEOUT:-1800}" \
  env -u DISPLAY WINEDEBUG="${WINEDEBUG:--all}" wine "$@" >"$out" 2>&1 </dev/null
status=$?

cat "$out"
if [ "$status" -eq 124 ]; then
  echo "wine-runner: timed out after ${WINE_RUNNER_TIMEOUT:-1800}s: $*" >&2
fi
# wine exits with the Windows program's exit code (mod 256): pass it on.
exit "$status"
