// Enclave threads started ahead of need. A thread takes ~25 ms to boot and
// load its code; starting it while the host thread is still parsing options
// and compiling the module hides most of that. The API keeps spares booted
// so that repeated runs start at once. Idle threads are unref'd, so they
// never keep the process alive.
//
// A thread whose guest ended cleanly (it returned or exited, alone: no trap,
// stop, limit, suspension or guest threads) may be given back and serve the
// next guest: everything the enclave builds is built again per guest, and
// its module state of one guest is let go between two (core/guest-scope.ts).
// Any other end retires the thread, and so do a number of guests or a heap
// grown past a bound, so that leaks and fragmentation cannot accumulate.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

// The bundled enclave code loads fastest, through its boot script (which uses
// a code cache, see core/code-cache.ts); from the module tree (dist/src/enclave)
// the bundles are two levels up, from a bundle beside it.
const WORKER_URL = [new URL('../../bundle/enclave.cjs', import.meta.url), new URL('./enclave.cjs', import.meta.url)]
  .find((u) => fs.existsSync(fileURLToPath(u))) ?? new URL('./worker.js', import.meta.url);

/** A reused thread is retired after this many guests... */
export const MAX_GUESTS_PER_THREAD = 100;
/** ...or once its JavaScript heap in use after a guest is past this. */
export const MAX_REUSED_HEAP_BYTES = 64 * 1024 * 1024;

/**
 * The pool lives on globalThis so that the small bundle bin/capsule.js loads
 * first (to start a thread before anything else) and the CLI bundle loaded
 * after it share one pool.
 */
interface Pool {
  /** Fresh threads, booting or waiting for their first guest. */
  idle: Worker[];
  spares: number;
  /** Threads given back after a guest ended cleanly, the most recent last. */
  reused?: Worker[];
}
const POOL = Symbol.for('capsule.enclave-pool');
const pool: Pool = ((globalThis as Record<symbol, unknown>)[POOL] ??= { idle: [], spares: 0 }) as Pool;
const idle = pool.idle;
const reused = (pool.reused ??= []);

/** Drops `w` from the idle lists when it ends there. */
function dropOnExit(w: Worker): void {
  w.once('exit', () => {
    for (const list of [idle, reused]) {
      const at = list.indexOf(w);
      if (at !== -1) list.splice(at, 1);
    }
  });
}

function boot(): void {
  const w = new Worker(WORKER_URL);
  w.unref();
  // A thread that dies while idle is simply dropped.
  dropOnExit(w);
  idle.push(w);
}

/** Starts `count` enclave threads now, to be taken by launch(). */
export function prewarm(count = 1): void {
  for (let i = 0; i < count; i++) boot();
}

/** Keeps `count` threads booted in advance: each one taken is replaced at once. */
export function keepSpares(count: number): void {
  pool.spares = Math.max(0, count);
  refill();
}

/**
 * An enclave thread waiting for its EnclaveConfig message: a reused one if
 * `reuse` and one is waiting (its spare is not replaced: none was spent),
 * else a fresh one.
 */
export function takeWorker(reuse = false): Worker {
  const again = reuse ? reused.pop() : undefined;
  if (again) {
    again.ref();
    return again;
  }
  const w = idle.shift() ?? spawn();
  w.ref();
  refill();
  return w;
}

/** Work that needs every core now (a resume's unsealing), during which spares are not booted; undefined when none. */
let busy: Promise<void> | undefined;

/** Boots spares up to the count kept, now or once the busy work is done. */
function refill(): void {
  if (busy !== undefined) void busy.then(refill);
  else while (idle.length < pool.spares) boot();
}

/**
 * Booting a thread takes 25-40 ms of CPU: a spare that replaces one taken
 * while `work` runs is booted after it, not beside it (a resume's unsealing
 * keeps both cores of a small machine busy, and one more thread booting
 * slows it by as much).
 */
export function holdSpares(work: Promise<void>): void {
  const settled = work.catch(() => undefined);
  const all: Promise<void> = (busy === undefined ? settled : Promise.all([busy, settled]).then(() => undefined)).finally(() => { if (busy === all) busy = undefined; });
  busy = all;
}

function spawn(): Worker {
  const w = new Worker(WORKER_URL);
  dropOnExit(w);
  return w;
}

/**
 * Gives back a thread whose guest ended cleanly (its report said reusable),
 * or retires it: past its guests or heap bound, or with enough waiting
 * (as many as the spares, at least one).
 */
export function giveBack(w: Worker, guest: number, heapBytes: number): void {
  if (guest >= MAX_GUESTS_PER_THREAD || heapBytes > MAX_REUSED_HEAP_BYTES || reused.length >= Math.max(1, pool.spares)) {
    void w.terminate();
    return;
  }
  w.unref();
  reused.push(w);
}

/** Ends every thread waiting to be reused; resolves once they are gone (for a process that counts its own descriptors). */
export async function retireReused(): Promise<void> {
  await Promise.all(reused.splice(0).map((w) => w.terminate()));
}

/**
 * A second thread beside the guest's (a resume's unsealing thread): one
 * waiting to be reused, or a booted one if more than one is waiting (the
 * first is left for the guest), else one booted now and not counted as a spare.
 */
export function takeSecondWorker(): Worker {
  // A thread waiting to be reused is booted and idle: it takes the unsealing job as well as a guest (and then ends).
  const w = reused.pop() ?? (idle.length >= 2 ? idle.splice(1, 1)[0]! : spawn());
  w.ref();
  return w;
}

/** Asks a waiting thread to load the snapshot code now (a resume is coming). */
export interface PreloadRequest {
  kind: 'preload';
}

/**
 * A resume is coming: the threads the next guest may be given (a booted one,
 * the last given back) load the code that unseals a snapshot (node:crypto
 * among it, 5-10 ms) while the host checks the snapshot, so that the
 * resumed enclave starts on its memory at once. Harmless to a thread that
 * gets another guest.
 */
export function preloadSnapshotCode(): void {
  const request: PreloadRequest = { kind: 'preload' };
  for (const w of new Set([reused.at(-1), idle[0]])) w?.postMessage(request);
}

/** Fresh threads booted or booting, waiting for a guest (for tests and reports). */
export function idleThreads(): number {
  return idle.length;
}

/** Keeps at least `count` threads booted now (a threaded guest's next thread starts sooner). */
export function ensureIdle(count: number): void {
  while (idle.length < count) boot();
}
