// Enclave threads started ahead of need. A thread takes ~25 ms to boot and
// load its code; starting it while the host thread is still parsing options
// and compiling the module hides most of that. The API keeps spares booted
// so that repeated runs start at once. Idle threads are unref'd, so they
// never keep the process alive, and each thread serves one guest only.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

// The bundled enclave code loads fastest, through its boot script (which uses
// a code cache, see core/code-cache.ts); from the module tree (dist/src/enclave)
// the bundles are two levels up, from a bundle beside it.
const WORKER_URL = [new URL('../../bundle/enclave.cjs', import.meta.url), new URL('./enclave.cjs', import.meta.url)]
  .find((u) => fs.existsSync(fileURLToPath(u))) ?? new URL('./worker.js', import.meta.url);

/**
 * The pool lives on globalThis so that the small bundle bin/capsule.js loads
 * first (to start a thread before anything else) and the CLI bundle loaded
 * after it share one pool.
 */
interface Pool { idle: Worker[]; spares: number }
const POOL = Symbol.for('capsule.enclave-pool');
const pool: Pool = ((globalThis as Record<symbol, unknown>)[POOL] ??= { idle: [], spares: 0 }) as Pool;
const idle = pool.idle;

function boot(): void {
  const w = new Worker(WORKER_URL);
  w.unref();
  // A thread that dies while idle is simply dropped.
  w.once('exit', () => {
    const at = idle.indexOf(w);
    if (at !== -1) idle.splice(at, 1);
  });
  idle.push(w);
}

/** Starts `count` enclave threads now, to be taken by launch(). */
export function prewarm(count = 1): void {
  for (let i = 0; i < count; i++) boot();
}

/** Keeps `count` threads booted in advance: each one taken is replaced at once. */
export function keepSpares(count: number): void {
  pool.spares = Math.max(0, count);
  while (idle.length < pool.spares) boot();
}

/** A booting or ready enclave thread, waiting for its EnclaveConfig message. */
export function takeWorker(): Worker {
  const w = idle.shift() ?? new Worker(WORKER_URL);
  w.ref();
  while (idle.length < pool.spares) boot();
  return w;
}

/**
 * A second thread beside the guest's (a resume's unsealing thread): a
 * booted one if more than one is waiting (the first is left for the
 * guest), else one booted now and not counted as a spare.
 */
export function takeSecondWorker(): Worker {
  const w = idle.length >= 2 ? idle.splice(1, 1)[0]! : new Worker(WORKER_URL);
  w.ref();
  return w;
}

/** Keeps at least `count` threads booted now (a threaded guest's next thread starts sooner). */
export function ensureIdle(count: number): void {
  while (idle.length < count) boot();
}
