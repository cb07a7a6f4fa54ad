// The process calls of WASIX: exit, ids, signals. A guest is one process
// with no parent and no children: it cannot fork, so it has none to join.

import { Errno, SysError } from '../../core/errno.js';
import { errnoFor } from '../errors.js';
import { ProcExit } from '../exit.js';
import type { WasixContext } from './context.js';
import { SIGNAL_COUNT } from './signals.js';
import { MAIN_THREAD_IDS } from './thread-context.js';

/** The guest's process id, as each guest is its own process tree. */
export const GUEST_PID = 1;
const DISPOSITION_DEFAULT = 0;
/** The longest export name callback_signal takes. */
const MAX_CALLBACK_NAME = 256;

export function wasixProcessFunctions(ctx: WasixContext) {
  const { memory: m, signals } = ctx;
  return {
    proc_exit2(code: number): never {
      throw new ProcExit(code >>> 0);
    },

    proc_id(ptr: number): number {
      m.setU32(ptr, GUEST_PID);
      return 0;
    },

    proc_parent(pid: number, ptr: number): number {
      m.check(ptr, 4);
      if (pid >>> 0 !== GUEST_PID) throw new SysError(Errno.SRCH);
      m.setU32(ptr, 0);
      return 0;
    },

    /**
     * The dispositions the guest starts with: every signal at its default
     * (wasix-libc installs its default handlers from this list).
     */
    proc_signals_sizes_get(ptr: number): number {
      m.setU32(ptr, SIGNAL_COUNT - 1);
      return 0;
    },

    /** signal_disposition_t {sig u8, disp u8} per signal; disposition 0 is the default. */
    proc_signals_get(ptr: number): number {
      const out = m.slice(ptr, (SIGNAL_COUNT - 1) * 2);
      for (let sig = 1; sig < SIGNAL_COUNT; sig++) {
        out[(sig - 1) * 2] = sig;
        out[(sig - 1) * 2 + 1] = DISPOSITION_DEFAULT;
      }
      return 0;
    },

    callback_signal(namePtr: number, nameLen: number): void {
      // No result to report an error through: a bad name leaves signals at their default action.
      try {
        if (nameLen >>> 0 > MAX_CALLBACK_NAME) throw new SysError(Errno.NAMETOOLONG);
        signals.setCallback(m.string(namePtr, nameLen));
      } catch (e) {
        errnoFor(e, 'callback_signal');
      }
    },

    thread_signal(tid: number, sig: number): number {
      if (!MAIN_THREAD_IDS.has(tid >>> 0)) throw new SysError(Errno.SRCH);
      signals.raise(sig >>> 0);
      return 0;
    },

    proc_raise_interval(sig: number, intervalNs: bigint, repeat: number): number {
      if (sig >>> 0 >= SIGNAL_COUNT) throw new SysError(Errno.INVAL);
      // A timestamp, in nanoseconds, as wasix-libc's setitimer() passes it.
      signals.setTimer(sig >>> 0, Number(BigInt.asUintN(64, intervalNs)) / 1e6, (repeat & 0xff) !== 0);
      return 0;
    },

    /** A guest cannot fork: one enclave is one process. */
    proc_fork(_copyMemory: number, pidPtr: number): number {
      m.check(pidPtr, 4);
      throw new SysError(Errno.NOTSUP);
    },

    /** No children to wait for. */
    proc_join(pidPtr: number, _flags: number, statusPtr: number): number {
      m.check(pidPtr, 8);
      m.check(statusPtr, 6);
      throw new SysError(Errno.CHILD);
    },
  };
}
