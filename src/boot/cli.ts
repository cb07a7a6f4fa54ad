// What bin/capsule.js loads first: the enclave pool (so that `run` starts
// booting a guest thread before anything else) and the loader that runs the
// CLI's bundle with a code cache, and the compiler flags every thread's code is cached under.

export { prewarm } from '../enclave/pool.js';
export { loadBundle } from '../core/code-cache.js';
export { presetCompilerFlags } from '../module/compiler-flags.js';
