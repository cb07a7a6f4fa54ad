// args, environ, clocks, randomness, exit, signals and yield of
// wasi_snapshot_preview1.

import { Errno, SysError } from '../../core/errno.js';
import { ProcExit, ProcSignal } from '../exit.js';
import type { Preview1Context } from './context.js';

/**
 * WASI signal number -> [name, Linux number] for signals whose default action
 * ends the process. A guest raising one ends as a POSIX process would, with
 * exit status 128 + the Linux number.
 */
const TERMINATING: Record<number, [string, number]> = {
  1: ['SIGHUP', 1], 2: ['SIGINT', 2], 3: ['SIGQUIT', 3], 4: ['SIGILL', 4], 5: ['SIGTRAP', 5],
  6: ['SIGABRT', 6], 7: ['SIGBUS', 7], 8: ['SIGFPE', 8], 9: ['SIGKILL', 9], 10: ['SIGUSR1', 10],
  11: ['SIGSEGV', 11], 12: ['SIGUSR2', 12], 13: ['SIGPIPE', 13], 14: ['SIGALRM', 14],
  15: ['SIGTERM', 15], 23: ['SIGXCPU', 24], 24: ['SIGXFSZ', 25], 25: ['SIGVTALRM', 26],
  26: ['SIGPROF', 27], 28: ['SIGPOLL', 29], 29: ['SIGPWR', 30], 30: ['SIGSYS', 31],
};
/** Signals ignored by default (CHLD, CONT, URG, WINCH) and the "none" signal. */
const IGNORED = new Set([0, 16, 17, 22, 27]);

function listFunctions(ctx: Preview1Context, list: () => readonly Uint8Array[]) {
  const m = ctx.memory;
  return {
    sizes(countPtr: number, sizePtr: number): number {
      m.check(countPtr, 4);
      m.check(sizePtr, 4);
      const items = list();
      let size = 0;
      for (const a of items) size += a.byteLength + 1;
      m.setU32(countPtr, items.length);
      m.setU32(sizePtr, size);
      return 0;
    },
    get(ptrs: number, buf: number): number {
      const items = list();
      let size = 0;
      for (const a of items) size += a.byteLength + 1;
      m.check(ptrs, items.length * 4);
      m.check(buf, size);
      let at = buf;
      items.forEach((a, i) => {
        m.setU32(ptrs + i * 4, at);
        m.write(at, a);
        m.setU8(at + a.byteLength, 0);
        at += a.byteLength + 1;
      });
      return 0;
    },
  };
}

export function processFunctions(ctx: Preview1Context) {
  const m = ctx.memory;
  const args = listFunctions(ctx, () => ctx.args);
  const env = listFunctions(ctx, () => ctx.env);

  return {
    args_sizes_get: args.sizes,
    args_get: args.get,
    environ_sizes_get: env.sizes,
    environ_get: env.get,

    clock_res_get(id: number, ptr: number): number {
      m.check(ptr, 8);
      m.setU64(ptr, ctx.clocks.resolution(id));
      return 0;
    },

    clock_time_get(id: number, _precision: bigint, ptr: number): number {
      m.check(ptr, 8);
      m.setU64(ptr, ctx.clocks.now(id));
      return 0;
    },

    random_get(buf: number, len: number): number {
      ctx.randomFill(m.slice(buf, len));
      return 0;
    },

    proc_exit(code: number): never {
      throw new ProcExit(code >>> 0);
    },

    proc_raise(sig: number): number {
      if (IGNORED.has(sig)) return 0;
      const t = TERMINATING[sig];
      if (t) throw new ProcSignal(t[0], 128 + t[1]);
      // Stop/continue job control has no meaning for a guest; other numbers are invalid.
      throw new SysError(sig >= 18 && sig <= 21 ? Errno.NOTSUP : Errno.INVAL);
    },

    sched_yield(): number {
      return 0;
    },
  };
}
