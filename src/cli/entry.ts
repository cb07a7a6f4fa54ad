// What bin/capsule.js loads: the enclave pool (so `run` can start booting a
// guest thread first) and the CLI itself.

export { prewarm } from '../enclave/pool.js';
export { main } from './main.js';
