// Enclave threads started ahead of need. A thread takes ~35 ms to boot and
// load its code; starting it while the host thread is still parsing options
// and compiling the module hides most of that from start-up time. Idle
// threads are unref'd so they never keep the process alive.

import { Worker } from 'node:worker_threads';

const WORKER_URL = new URL('./worker.js', import.meta.url);
const idle: Worker[] = [];

/** Starts `count` enclave threads now, to be taken by launch(). */
export function prewarm(count = 1): void {
  for (let i = 0; i < count; i++) {
    const w = new Worker(WORKER_URL);
    w.unref();
    // A thread that dies while idle is simply dropped.
    w.once('exit', () => {
      const at = idle.indexOf(w);
      if (at !== -1) idle.splice(at, 1);
    });
    idle.push(w);
  }
}

/** A booting or ready enclave thread, waiting for its EnclaveConfig message. */
export function takeWorker(): Worker {
  const w = idle.shift() ?? new Worker(WORKER_URL);
  w.ref();
  return w;
}
