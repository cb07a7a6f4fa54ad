// The thread and futex calls of module wasix_32v1, with WASIX's layouts:
// decode, check every pointer, call the thread context, encode.

import { Errno, SysError } from '../../core/errno.js';
import { errnoFor } from '../errors.js';
import type { ThreadContext } from './thread-context.js';

/** __wasi_thread_start_t on wasm32: sixteen 32-bit words (stack, tls_base, start_funct, start_args, reserved, stack_size, guard_size). */
const THREAD_START_SIZE = 64;
/** __wasi_option_timestamp_t: a u8 tag (0 none, 1 some) and, at offset 8, the u64 value. */
const OPTION_SOME = 1;
const OPTION_VALUE = 8;
const OPTION_SIZE = 16;

/** Nanoseconds (u64) as milliseconds, for Atomics.wait; past 2^53 ns (104 days) is as good as forever. */
function nsToMs(ns: bigint): number {
  return ns >= 1n << 53n ? Infinity : Number(ns) / 1e6;
}

export function threadFunctions(ctx: ThreadContext) {
  const m = ctx.memory;

  const futexAddress = (addr: number): number => {
    if (addr & 3) throw new SysError(Errno.INVAL, 'futex address not aligned to 4 bytes');
    m.check(addr, 4);
    return addr >>> 0;
  };

  const wake = (op: string, addr: number, wokenPtr: number, count: number): number => {
    try {
      const a = futexAddress(addr);
      m.check(wokenPtr, 1);
      m.setU8(wokenPtr, ctx.futexWake(a, count) > 0 ? 1 : 0);
      return 0;
    } catch (e) {
      return errnoFor(e, op);
    }
  };

  return {
    thread_spawn_v2(startPtr: number, tidPtr: number): number {
      // The struct is the guest's business (wasi_thread_start reads it); only its place is checked.
      m.check(startPtr, THREAD_START_SIZE);
      m.check(tidPtr, 4);
      m.setU32(tidPtr, ctx.spawn(startPtr >>> 0));
      return 0;
    },

    thread_id(tidPtr: number): number {
      m.setU32(tidPtr, ctx.tid);
      return 0;
    },

    thread_join(tid: number): number {
      if (tid >>> 0 === ctx.tid) throw new SysError(Errno.DEADLK, 'a thread cannot join itself');
      ctx.join(tid >>> 0);
      return 0;
    },

    thread_parallelism(sizePtr: number): number {
      m.setU32(sizePtr, ctx.parallelism());
      return 0;
    },

    thread_sleep(ns: bigint): number {
      ctx.sleep(nsToMs(BigInt.asUintN(64, ns)));
      return 0;
    },

    thread_exit(code: number): void {
      ctx.exit(code >>> 0);
    },

    futex_wait(addr: number, expected: number, timeoutPtr: number, wokenPtr: number): number {
      const a = futexAddress(addr);
      m.check(wokenPtr, 1);
      let timeoutMs = Infinity;
      if (timeoutPtr !== 0) {
        m.check(timeoutPtr, OPTION_SIZE);
        if (m.u8(timeoutPtr) === OPTION_SOME) timeoutMs = nsToMs(m.u64(timeoutPtr + OPTION_VALUE));
      }
      m.setU8(wokenPtr, ctx.futexWait(a, expected | 0, timeoutMs) ? 1 : 0);
      return 0;
    },

    futex_wake(addr: number, wokenPtr: number): number {
      return wake('futex_wake', addr, wokenPtr, 1);
    },

    futex_wake_all(addr: number, wokenPtr: number): number {
      return wake('futex_wake_all', addr, wokenPtr, Infinity);
    },
  };
}
