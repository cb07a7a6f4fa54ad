# Sourced by the WASIX build scripts: the compiler and flags of wasix-libc's
# cmake toolchain file (tools/clang-wasix.cmake_toolchain), as wasix_cc.
WASIX_SYSROOT="${WASIX_SYSROOT:-$PWD/.wasix/sysroot}"
WASIX_CLANG="${WASIX_CLANG:-clang-${CLANG_VERSION:-14}}"
[[ -d "$WASIX_SYSROOT/lib" ]] || { echo "no wasix sysroot in $WASIX_SYSROOT: run scripts/build-wasix-sysroot.sh first (or set WASIX_SYSROOT)" >&2; exit 1; }
command -v "$WASIX_CLANG" >/dev/null 2>&1 || { echo "'$WASIX_CLANG' not found; install clang or set WASIX_CLANG" >&2; exit 1; }

WASIX_CFLAGS=(--target=wasm32-wasi "--sysroot=$WASIX_SYSROOT"
  -O2 -matomics -mbulk-memory -mmutable-globals -pthread -mthread-model posix -ftls-model=local-exec
  -fno-trapping-math -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS
  -fno-exceptions)
WASIX_LDFLAGS=(-lwasi-emulated-mman -lwasi-emulated-process-clocks -lwasi-emulated-getpid
  -Wl,--shared-memory -Wl,--max-memory=4294967296 -Wl,--import-memory -Wl,--export-dynamic
  -Wl,--export=__heap_base -Wl,--export=__stack_pointer -Wl,--export=__data_end -Wl,--export=__wasm_init_tls
  -Wl,--export=__wasm_signal -Wl,--export=__tls_size -Wl,--export=__tls_align -Wl,--export=__tls_base
  -Wl,--strip-debug)

wasix_cc() {
  "$WASIX_CLANG" "${WASIX_CFLAGS[@]}" "$@" "${WASIX_LDFLAGS[@]}"
}
