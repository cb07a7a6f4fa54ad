#!/usr/bin/env bash
# Builds the pthreads test program: the example of C-Thread-Pool
# (https://github.com/Pithikos/C-Thread-Pool, MIT licence, sources unmodified
# in test/guests/src/thpool, commit 2b56942) with the WASIX toolchain's own
# flags and nothing else.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wasix-flags.sh

src=test/guests/src/thpool
out=test/guests/wasix/thpool/example.wasm
mkdir -p "$(dirname "$out")"
wasix_cc "$src/example.c" "$src/thpool.c" -o "$out"
printf 'built %-40s %8d bytes\n' "$out" "$(wc -c < "$out")"
