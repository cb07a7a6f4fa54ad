#!/usr/bin/env bash
# Builds the hostile-guest suite: every test/guests/src/hostile/NAME.c or NAME.wat
# into test/guests/hostile/NAME.wasm. Needs clang with the wasm32-wasi target and
# wasi-libc, and wabt's wat2wasm. CLANG and WAT2WASM override the tools;
# WASI_SYSROOT sets --sysroot if clang needs it. WAT files whose name contains
# "memory64" are built with --enable-memory64 (they test that such modules are refused).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLANG="${CLANG:-clang}"
WAT2WASM="${WAT2WASM:-wat2wasm}"

die() { echo "build-hostile-guests: $*" >&2; exit 1; }

command -v "$CLANG" >/dev/null 2>&1 || die "'$CLANG' not found; install clang, lld and wasi-libc or set CLANG"
command -v "$WAT2WASM" >/dev/null 2>&1 || die "'$WAT2WASM' not found; install wabt or set WAT2WASM"

CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wl,--stack-first -Wl,--strip-all)
if [[ -n "${WASI_SYSROOT:-}" ]]; then
  CFLAGS+=("--sysroot=$WASI_SYSROOT")
fi

src_dir=test/guests/src/hostile
out_dir=test/guests/hostile
mkdir -p "$out_dir"

report() { printf 'built %-44s %8d bytes\n' "$1" "$(wc -c < "$1")"; }

shopt -s nullglob
built=0
for src in "$src_dir"/*.c; do
  out="$out_dir/$(basename "$src" .c).wasm"
  "$CLANG" "${CFLAGS[@]}" "$src" -o "$out"
  report "$out"
  built=$((built + 1))
done
for src in "$src_dir"/*.wat; do
  out="$out_dir/$(basename "$src" .wat).wasm"
  flags=()
  case "$(basename "$src")" in
    *memory64*) flags+=(--enable-memory64) ;;
  esac
  "$WAT2WASM" "${flags[@]}" "$src" -o "$out"
  report "$out"
  built=$((built + 1))
done
[[ $built -gt 0 ]] || die "no sources in $src_dir"
