#!/usr/bin/env bash
# Runs tests/c/host.c against the Windows build of the loopback provider
# under Wine: the same checks as `cargo test --test c_host`, through MinGW's
# <winsock2.h>/<ws2spi.h> and a real x86_64 Windows DLL, plus the one that
# only Windows has (DllMain at FreeLibrary, S11), and the stacks of layered
# providers over it (each layer DLL loading the next with LoadLibraryW).
#
#   source .ci/wine-env.sh && bash tests/c/wine-host.sh
#
# Sources .ci/wine-env.sh itself when WINEPREFIX is unset (and then stops
# Wine at the end). Wine's output goes to a file (it may hang on a pipe),
# which is printed; the exit status is the host's.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

own_env=0
if [ -z "${WINEPREFIX:-}" ]; then
  # shellcheck source=../../.ci/wine-env.sh
  source .ci/wine-env.sh
  own_env=1
fi

CARGO_TARGET_DIR=target/win cargo build --target x86_64-pc-windows-gnu \
  --example loopback_provider --example counting_layer --example passthrough_layer
x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -o target/win/host.exe tests/c/host.c

examples='target\win\x86_64-pc-windows-gnu\debug\examples'
dll="$examples\loopback_provider.dll"
counting="$examples\counting_layer.dll"
passthrough="$examples\passthrough_layer.dll"
log="$repo/target/win/host.log"
status=0
# Every check, then (in a process of its own) the unload check, then the
# stacks of layered providers (spec 11): the counting layer over the
# loopback provider, and a chain of three.
for mode in "" --unload "--layer $counting" "--layer $passthrough --layer $counting"; do
  set +e
  # shellcheck disable=SC2086 # an empty mode is no argument
  timeout --kill-after=10 600 env -u DISPLAY wine target/win/host.exe "$dll" $mode >"$log" 2>&1 </dev/null
  run=$?
  set -e
  cat "$log"
  if [ "$run" -eq 124 ]; then
    echo "wine-host: host.exe $mode timed out after 600 s" >&2
  fi
  if [ "$run" -ne 0 ]; then status=$run; fi
done
if [ "$own_env" -eq 1 ]; then
  wine_done
fi
exit "$status"
