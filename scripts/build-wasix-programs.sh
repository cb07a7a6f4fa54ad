#!/usr/bin/env bash
# Builds the real programs the WASIX tests run, unmodified, with the WASIX
# toolchain's flags (scripts/wasix-flags.sh) plus build flags only:
#   darkhttpd (ISC licence, github.com/emikulic/darkhttpd at beac1fc7)
#     -> test/guests/wasix/darkhttpd.wasm
#   miniupnpc's miniwget HTTP client, testminiwget (BSD-3-Clause,
#     github.com/miniupnp/miniupnp at b91c0254) -> test/guests/wasix/testminiwget.wasm
# Their sources and licences are in test/guests/src/wasix/<name>/. Functions
# wasix-libc lacks come from compat/wasix-compat.h (force-included).
# NATIVE=1 also builds darkhttpd for the host with gcc into .wasix/darkhttpd-native
# (the benchmark's baseline).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wasix-flags.sh

src=test/guests/src/wasix
out=test/guests/wasix
compat=(-D_GNU_SOURCE -include "$src/compat/wasix-compat.h")
# wasm-ld's default stack is 64 KiB, below data: darkhttpd's select() and file buffer need more, and
# an overflow would silently overwrite static data. 1 MiB, below the data (--stack-first): an overflow traps.
compat+=(-Wl,-z,stack-size=1048576 -Wl,--stack-first)
report() { printf 'built %-40s %8d bytes\n' "$1" "$(wc -c < "$1")"; }

wasix_cc "${compat[@]}" -w "$src/darkhttpd/darkhttpd.c" -o "$out/darkhttpd.wasm"
report "$out/darkhttpd.wasm"

# The configure step of miniupnpc makes miniupnpcstrings.h from its template.
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
sed -e 's|OS/version|WASIX|' -e 's|"version"|"2.3"|' "$src/miniwget/miniupnpcstrings.h.in" > "$gen/miniupnpcstrings.h"
wasix_cc "${compat[@]}" -w -I"$gen" -I"$src/miniwget" \
  "$src/miniwget/testminiwget.c" "$src/miniwget/miniwget.c" "$src/miniwget/connecthostport.c" "$src/miniwget/receivedata.c" \
  -o "$out/testminiwget.wasm"
report "$out/testminiwget.wasm"

if [[ "${NATIVE:-0}" == 1 ]]; then
  mkdir -p .wasix
  gcc -O2 -w "$src/darkhttpd/darkhttpd.c" -o .wasix/darkhttpd-native
  echo "built .wasix/darkhttpd-native"
fi
