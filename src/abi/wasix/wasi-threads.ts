// The wasi-threads proposal: `wasi.thread-spawn(start_arg) -> tid`, a
// positive thread id, or a negative errno (EAGAIN past --max-threads). The
// new thread runs the guest's exported `wasi_thread_start(tid, start_arg)`.

import { errnoFor } from '../errors.js';
import type { ThreadContext } from './thread-context.js';

export function wasiThreadsFunctions(ctx: ThreadContext) {
  const spawn = (arg: number): number => {
    try {
      return ctx.spawn(arg >>> 0);
    } catch (e) {
      return -errnoFor(e, 'thread-spawn');
    }
  };
  return { 'thread-spawn': spawn, thread_spawn: spawn };
}
