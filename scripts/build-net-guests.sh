#!/usr/bin/env bash
# Builds the socket test guests: every test/guests/src/net/NAME.c into
# test/guests/NAME.wasm. Needs clang with the wasm32-wasi target and wasi-libc
# (CLANG overrides the compiler; WASI_SYSROOT sets --sysroot if clang needs it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLANG="${CLANG:-clang}"
command -v "$CLANG" >/dev/null 2>&1 || { echo "build-net-guests: '$CLANG' not found; install clang, lld and wasi-libc or set CLANG" >&2; exit 1; }

CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wl,--stack-first -Wl,--strip-all)
if [[ -n "${WASI_SYSROOT:-}" ]]; then
  CFLAGS+=("--sysroot=$WASI_SYSROOT")
fi

shopt -s nullglob
built=0
for src in test/guests/src/net/*.c; do
  out="test/guests/$(basename "$src" .c).wasm"
  "$CLANG" "${CFLAGS[@]}" "$src" -o "$out"
  printf 'built %-40s %8d bytes\n' "$out" "$(wc -c < "$out")"
  built=$((built + 1))
done
[[ $built -gt 0 ]] || { echo "build-net-guests: no sources in test/guests/src/net" >&2; exit 1; }
