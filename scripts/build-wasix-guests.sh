#!/usr/bin/env bash
# Builds the WASIX test guests with the WASIX toolchain's own flags (those of
# wasix-libc's cmake toolchain file: shared imported memory, -pthread): every
# test/guests/src/wasix/NAME.c into test/guests/wasix/NAME.wasm. Needs the
# sysroot of scripts/build-wasix-sysroot.sh (or WASIX_SYSROOT) and clang.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wasix-flags.sh

shopt -s nullglob
built=0
for src in test/guests/src/wasix/*.c; do
  out="test/guests/wasix/$(basename "$src" .c).wasm"
  wasix_cc "$src" -o "$out"
  printf 'built %-40s %8d bytes\n' "$out" "$(wc -c < "$out")"
  built=$((built + 1))
done
[[ $built -gt 0 ]] || { echo "build-wasix-guests: no sources in test/guests/src/wasix" >&2; exit 1; }
