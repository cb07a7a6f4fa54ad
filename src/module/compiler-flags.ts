// Which of V8's WebAssembly compilers a module gets. The flags are
// process-wide, and V8 takes a code cache (core/code-cache.ts) only under the
// flags it was made with: so the flags a small module needs, the common case,
// are set before any of Capsule's own code loads (bin/capsule.js), and the
// code of every thread is compiled, cached and taken under them whichever
// thread gets there first.

import v8 from 'node:v8';

/**
 * Modules up to this size are compiled by V8's optimizing compiler up front:
 * otherwise a short hot loop runs as baseline (Liftoff) code until V8 tiers
 * it up, and many short runs never get there. Optimizing a module this small
 * takes a few milliseconds; bigger ones start as baseline code and V8 tiers
 * up what runs long (its dynamic tiering), so their start-up stays short.
 */
export const EAGER_OPTIMIZE_BYTES = 1024 * 1024;

/** V8's defaults: --no-liftoff turns dynamic tiering off as well, so it is turned back on with Liftoff. */
const DEFAULT_WASM_COMPILER_FLAGS = '--liftoff --wasm-dynamic-tiering';
const EAGER_FLAGS = '--no-liftoff';

/** Sets the compiler a module of `bytes` bytes needs (left so: V8 reads it as each function compiles, lazily). */
export function compilerFor(bytes: number): void {
  v8.setFlagsFromString(bytes > EAGER_OPTIMIZE_BYTES ? DEFAULT_WASM_COMPILER_FLAGS : EAGER_FLAGS);
}

/** Before anything loads: the flags of the common case (a module up to EAGER_OPTIMIZE_BYTES). */
export function presetCompilerFlags(): void {
  v8.setFlagsFromString(EAGER_FLAGS);
}
