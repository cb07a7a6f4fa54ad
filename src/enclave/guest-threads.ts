// The thread context of one guest thread (see abi/wasix/thread-context.ts):
// ids and the --max-threads count from the shared thread table, futexes as
// Atomics.wait/notify on the guest's shared memory (a blocked thread costs no
// CPU, and the host's stop still ends it: terminating a thread wakes its
// wait). A guest that cannot start threads has one thread only: a futex
// wait there can only time out (without a timeout it is EDEADLK).

import os from 'node:os';
import { Denial, Errno, SysError } from '../core/errno.js';
import { ThreadExit } from '../abi/exit.js';
import type { GuestMemory } from '../abi/memory.js';
import type { ThreadContext } from '../abi/wasix/thread-context.js';
import { MAIN_TID, type ThreadTable } from './thread-table.js';

export interface ThreadHost {
  /** The guest's memory, shared between its threads (or not, for a single-threaded guest); once it exists. */
  memory: () => WebAssembly.Memory | undefined;
  guestMemory: GuestMemory;
  tid: number;
  /** Absent when the guest cannot have threads (its memory is not imported and shared). */
  table?: ThreadTable;
  /** Asks the host to start thread `tid` in `slot`. */
  start?(tid: number, slot: number, arg: number): void;
  /** How the thread sleeps (default: Atomics.wait on a word of its own); the enclave's own waits deliver signal timers. */
  sleep?(ms: number): void;
}

/** How long a spawn at --max-threads waits for a thread that is ending. */
const EXIT_GRACE_MS = 100;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms === Infinity ? undefined : ms);
}

export function threadContext(h: ThreadHost): ThreadContext {
  let view: Int32Array | undefined;
  /** A view of the shared memory, renewed when the guest grew it. */
  const words = (): Int32Array | undefined => {
    const buffer = h.memory()?.buffer;
    if (!(buffer instanceof SharedArrayBuffer)) return undefined;
    if (view?.buffer !== buffer) view = new Int32Array(buffer);
    return view;
  };
  const max = h.table?.max ?? 1;
  const nap = h.sleep ?? sleep;

  return {
    memory: h.guestMemory,
    tid: h.tid,

    spawn(arg: number): number {
      if (!h.table || !h.start) {
        throw new Denial(Errno.NOTSUP, 'deny', 'the guest cannot start threads: its memory is not imported and shared', 'threads');
      }
      let claimed = h.table.claim();
      // A joined thread may still be on its way out (libc wakes its joiner just before thread_exit):
      // at the limit, a spawn waits a moment for such a place to come free.
      const until = performance.now() + EXIT_GRACE_MS;
      for (let left = EXIT_GRACE_MS; !claimed && left > 0; left = until - performance.now()) {
        h.table.waitWhileLive(max, left);
        claimed = h.table.claim();
      }
      if (!claimed) {
        throw new Denial(Errno.AGAIN, 'limit', `the guest already runs ${max} threads, its limit (--max-threads)`, 'threads');
      }
      h.start(claimed.tid, claimed.slot, arg);
      return claimed.tid;
    },

    join(tid: number): void {
      if (!h.table) return;
      while (!h.table.waitEnd(tid, Infinity)) { /* woken by a slot change: look again */ }
    },

    exit(code: number): never {
      throw new ThreadExit(code);
    },

    sleep: nap,

    futexWait(addr: number, expected: number, timeoutMs: number): boolean {
      const w = words();
      if (!w || !h.table) {
        // One thread only: nobody can change the word or wake us; waiting for ever would be a deadlock.
        if (h.guestMemory.u32(addr) !== expected >>> 0) return true;
        if (timeoutMs === Infinity) throw new SysError(Errno.DEADLK, 'a futex wait without a timeout in a guest of one thread');
        nap(timeoutMs);
        return false;
      }
      return Atomics.wait(w, addr >>> 2, expected, timeoutMs === Infinity ? undefined : timeoutMs) !== 'timed-out';
    },

    futexWake(addr: number, count: number): number {
      const w = words();
      return w ? Atomics.notify(w, addr >>> 2, count) : 0;
    },

    parallelism(): number {
      return Math.max(1, Math.min(max, os.availableParallelism()));
    },
  };
}

export { MAIN_TID };
