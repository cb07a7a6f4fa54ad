#!/usr/bin/env bash
# Rebuilds the WebAssembly guest programs (test guests, benchmark guests, wordcount example)
# from their C / WAT sources. Needs clang with a wasm32-wasi target + wasi-libc, and wabt's wat2wasm.
# Environment: CLANG, WAT2WASM override the tools; WASI_SYSROOT sets --sysroot (e.g. /usr on
# Debian/Ubuntu with the wasi-libc package, or the sysroot of a wasi-sdk install) if clang needs it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLANG="${CLANG:-clang}"
WAT2WASM="${WAT2WASM:-wat2wasm}"

die() { echo "build-guests: $*" >&2; exit 1; }

command -v "$CLANG" >/dev/null 2>&1 || die "'$CLANG' not found; install clang with the wasm32-wasi target (e.g. apt install clang lld wasi-libc) or set CLANG"
command -v "$WAT2WASM" >/dev/null 2>&1 || die "'$WAT2WASM' not found; install wabt (e.g. apt install wabt) or set WAT2WASM"

# --stack-first puts the C stack below static data, so a C-stack overflow traps (out of bounds)
# instead of silently overwriting globals.
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Wl,--stack-first -Wl,--strip-all)
if [[ -n "${WASI_SYSROOT:-}" ]]; then
  CFLAGS+=("--sysroot=$WASI_SYSROOT")
fi

# Fail early and clearly if clang cannot link a wasm32-wasi program (missing wasi-libc/lld).
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf 'int main(void) { return 0; }\n' > "$probe_dir/probe.c"
if ! "$CLANG" "${CFLAGS[@]}" "$probe_dir/probe.c" -o "$probe_dir/probe.wasm" 2>"$probe_dir/err"; then
  cat "$probe_dir/err" >&2
  die "'$CLANG' cannot build wasm32-wasi programs; install wasi-libc and lld, or set WASI_SYSROOT"
fi

report() { printf 'built %-40s %8d bytes\n' "$1" "$(wc -c < "$1")"; }

build_c() { # build_c SOURCE OUTPUT
  "$CLANG" "${CFLAGS[@]}" "$1" -o "$2"
  report "$2"
}

build_wat() { # build_wat SOURCE OUTPUT
  "$WAT2WASM" --enable-threads "$1" -o "$2"
  report "$2"
}

shopt -s nullglob

for src in test/guests/src/*.c; do
  build_c "$src" "test/guests/$(basename "$src" .c).wasm"
done
for src in test/guests/src/*.wat; do
  build_wat "$src" "test/guests/$(basename "$src" .wat).wasm"
done
for src in bench/guests/src/*.c; do
  build_c "$src" "bench/guests/$(basename "$src" .c).wasm"
done
build_c examples/wordcount/wordcount.c examples/wordcount/wordcount.wasm
