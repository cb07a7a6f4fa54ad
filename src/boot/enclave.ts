// The script an enclave thread starts with: the enclave's bundle, run with a
// code cache (core/code-cache.ts). The thread's code saves the cache itself once
// its guest has run, so that the functions a run needs are in it.

import { fileURLToPath } from 'node:url';
import { loadBundle } from '../core/code-cache.js';

loadBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)));
