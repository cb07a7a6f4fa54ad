// What the thread and futex glue needs from the enclave thread it runs on.
// Each guest thread has its own; how a thread is started, joined and woken
// is the enclave's business (src/enclave/guest-threads.ts).

import type { GuestMemory } from '../memory.js';

export interface ThreadContext {
  readonly memory: GuestMemory;
  /** The calling thread's id: 1 for the main thread, as in wasi-threads. */
  readonly tid: number;
  /** Starts a thread running the guest's `wasi_thread_start(tid, arg)`; its id. EAGAIN past --max-threads. */
  spawn(arg: number): number;
  /** Waits (no CPU) until thread `tid` has ended; at once if it is not running. */
  join(tid: number): void;
  /** Ends the calling thread (throws ThreadExit). */
  exit(code: number): never;
  /** Sleeps `ms` milliseconds without using CPU. */
  sleep(ms: number): void;
  /** Sleeps while the 32-bit word at `addr` holds `expected`, up to `timeoutMs`; false if the time ran out. */
  futexWait(addr: number, expected: number, timeoutMs: number): boolean;
  /** Wakes up to `count` threads waiting on `addr`; how many it woke. */
  futexWake(addr: number, count: number): number;
  /** How many threads may usefully run at once. */
  parallelism(): number;
}

/** The id of the main thread (wasi-threads gives spawned threads 2 and up). */
export const MAIN_THREAD_ID = 1;
/**
 * Ids that name the main thread: its own, and the placeholder wasix-libc
 * gives it before asking (0x3fffffff, outside the host's range).
 */
export const MAIN_THREAD_IDS: ReadonlySet<number> = new Set([MAIN_THREAD_ID, 0x3fffffff]);
