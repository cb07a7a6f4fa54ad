#!/usr/bin/env bash
# Builds the wasix-libc sysroot (the WASIX toolchain's C library) from its
# source with Debian's clang, into .wasix/sysroot (not tracked). The source is
# not part of this repository: get it with
#   git clone https://github.com/wasix-org/wasix-libc
# and pass its directory as the first argument or as WASIX_LIBC_SRC.
# CLANG_VERSION picks clang-N, llvm-ar-N and llvm-nm-N (default 14; 19 works too).
# The build takes about 80 s; the source tree gets a build/ folder of its own.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

src="${1:-${WASIX_LIBC_SRC:-}}"
[[ -n "$src" ]] || { echo "build-wasix-sysroot: give the wasix-libc source directory (argument or WASIX_LIBC_SRC)" >&2; exit 2; }
[[ -f "$src/Makefile" && -d "$src/libc-top-half" ]] || { echo "build-wasix-sysroot: '$src' is not a wasix-libc source tree" >&2; exit 2; }

v="${CLANG_VERSION:-14}"
for tool in "clang-$v" "llvm-ar-$v" "llvm-nm-$v"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-wasix-sysroot: '$tool' not found; install clang-$v and llvm-$v" >&2; exit 1; }
done

sysroot="$repo/.wasix/sysroot"
rm -rf "$sysroot"
mkdir -p "$repo/.wasix"
jobs="$(nproc 2>/dev/null || echo 2)"
make -C "$src" -j"$jobs" TARGET_ARCH=wasm32 TARGET_OS=wasix CC="clang-$v" AR="llvm-ar-$v" NM="llvm-nm-$v" \
  CHECK_SYMBOLS=no PIC=no SYSROOT="$sysroot"
echo "wasix sysroot in $sysroot"
