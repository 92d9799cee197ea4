# Source me (bash): `source .ci/wine-env.sh`, then
#   cargo test --target x86_64-pc-windows-gnu
# and call `wine_done` at the end to stop Wine.
#
# Makes Windows builds of this crate testable under Wine on Debian 12.
# Idempotent, and quick once done (only checks), so CI can source it on
# every run; a fresh machine gets everything installed and set up here.
# Safe under `set -euo pipefail` in the sourcing shell; changes none of its
# shell options, and returns (never exits) on failure.

_wsp_wine_setup() {
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

  # Debian packages: Wine 8.0 and MinGW (C shim, linker for windows-gnu).
  local pkg missing=()
  for pkg in wine wine64 gcc-mingw-w64-x86-64 gcc-mingw-w64-i686; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "wine-env: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || return 1
    DEBIAN_FRONTEND=noninteractive apt-get clean || true
  fi

  # Rust std for both Windows targets (32-bit is built, not run: no wine32).
  if command -v rustup >/dev/null 2>&1; then
    local target installed
    installed=$(rustup target list --installed) || return 1
    for target in x86_64-pc-windows-gnu i686-pc-windows-gnu; do
      if ! grep -qx "$target" <<<"$installed"; then
        rustup target add "$target" || return 1
      fi
    done
  fi

  # One prefix per checkout, under target/ so `cargo clean` resets it.
  local wine_dir="$repo/target/wine"
  export WINEPREFIX="$wine_dir/prefix"
  export WINEDEBUG=-all
  # No Mono/Gecko: their install prompts would block a headless wineboot.
  export WINEDLLOVERRIDES="mscoree,mshtml="
  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$repo/.ci/wine-runner.sh"

  # The marker is written last, so a prefix whose init was cut short is
  # rebuilt rather than trusted.
  if [ ! -f "$WINEPREFIX/.wsp-ready" ]; then
    echo "wine-env: creating Wine prefix $WINEPREFIX (log: $wine_dir/wineboot.log)" >&2
    rm -rf "$WINEPREFIX"
    mkdir -p "$wine_dir" || return 1
    # Output to a file, not a pipe (Wine may hang on a pipe); no display.
    if ! env -u DISPLAY wineboot -i >"$wine_dir/wineboot.log" 2>&1 </dev/null; then
      echo "wine-env: wineboot failed, see $wine_dir/wineboot.log" >&2
      wineserver -k >/dev/null 2>&1 || true
      return 1
    fi
    # Wait for wineboot's helpers and the server, so the registry is on disk.
    wineserver -w >/dev/null 2>&1 || true
    touch "$WINEPREFIX/.wsp-ready" || return 1
  fi

  # Wine 8.0 has no bcryptprimitives.dll; Rust's std imports its ProcessPrng.
  local src="$repo/tests/c/processprng.c" dll="$wine_dir/bcryptprimitives.dll"
  if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -o "$dll.tmp" "$src" -lbcrypt || return 1
    mv "$dll.tmp" "$dll" || return 1
  fi
  local sys32="$WINEPREFIX/drive_c/windows/system32"
  if ! cmp -s "$dll" "$sys32/bcryptprimitives.dll"; then
    cp "$dll" "$sys32/bcryptprimitives.dll" || return 1
  fi
}

# Stop every Wine process of this prefix (and its wineserver). CI calls it
# at the end of each Wine use, so nothing is left running.
wine_done() {
  wineserver -k >/dev/null 2>&1 || true
  wineserver -w >/dev/null 2>&1 || true
}

_wsp_wine_setup || { echo "wine-env: setup failed" >&2; return 1; }
