// The thread calls wasix-libc makes even in a program that starts no
// thread, answered for the one thread a guest has here: its id, its exit,
// and futexes that no other thread can wake.

import { Errno, SysError } from '../../core/errno.js';
import { errnoFor } from '../errors.js';
import { ProcExit } from '../exit.js';
import type { WasixContext } from './context.js';

/** The id thread_id gives the main thread. */
export const MAIN_THREAD_ID = 1;
/**
 * Ids that name the main thread: its own, and the placeholder wasix-libc
 * gives it before asking (0x3fffffff, outside the host's range).
 */
export const MAIN_THREAD_IDS: ReadonlySet<number> = new Set([MAIN_THREAD_ID, 0x3fffffff]);

export function singleThreadFunctions(ctx: WasixContext) {
  const m = ctx.memory;
  return {
    thread_id(ptr: number): number {
      try {
        m.setU32(ptr, MAIN_THREAD_ID);
        return 0;
      } catch (e) {
        return errnoFor(e, 'thread_id');
      }
    },

    /** The last thread ending ends the process, with that status. */
    thread_exit(code: number): never {
      throw new ProcExit(code >>> 0);
    },

    /**
     * Waits while *futex == expected, at most `timeout` (an option of ns at
     * timeoutPtr); sets *woken. No other thread can change the word or wake
     * the waiter, so it returns at once if the value differs, else after the
     * timeout (a wait without one would never end: EDEADLK).
     */
    futex_wait(futexPtr: number, expected: number, timeoutPtr: number, wokenPtr: number): number {
      try {
        if (futexPtr & 3) throw new SysError(Errno.INVAL);
        m.check(wokenPtr, 1);
        if (m.u32(futexPtr) !== expected >>> 0) {
          m.setU8(wokenPtr, 1);
          return 0;
        }
        const tag = m.u8(timeoutPtr);
        if (tag === 0) throw new SysError(Errno.DEADLK);
        const ms = Number(m.u64(timeoutPtr + 8)) / 1e6;
        const until = performance.now() + ms;
        for (let left = ms; left > 0; left = until - performance.now()) ctx.waitForEvents(ctx.eventEpoch(), left);
        m.setU8(wokenPtr, 0);
        return 0;
      } catch (e) {
        return errnoFor(e, 'futex_wait');
      }
    },

    futex_wake(futexPtr: number, wokenPtr: number): number {
      try {
        m.check(futexPtr, 4);
        m.setU8(wokenPtr, 0);
        return 0;
      } catch (e) {
        return errnoFor(e, 'futex_wake');
      }
    },

    futex_wake_all(futexPtr: number, wokenPtr: number): number {
      try {
        m.check(futexPtr, 4);
        m.setU8(wokenPtr, 0);
        return 0;
      } catch (e) {
        return errnoFor(e, 'futex_wake_all');
      }
    },
  };
}
