// The descriptor calls of WASIX: duplicates, close-on-exec, pipes and
// event counters. A duplicate shares the descriptor (its offset, its
// flags) and counts against --max-fds like any other number.

import { Errno, SysError } from '../../core/errno.js';
import { EventCounter } from '../../layer/event-counter.js';
import { makePipe } from '../../layer/pipe.js';
import type { WasixContext } from './context.js';

/** fdflagsext: close-on-exec, the one flag there is. */
const FDFLAGSEXT_CLOEXEC = 1;
/** eventfdflags: semaphore reads. */
const EVENTFDFLAGS_SEMAPHORE = 1;

export function wasixDescriptorFunctions(ctx: WasixContext) {
  const { memory: m, fds } = ctx;
  return {
    fd_dup(fd: number, ptr: number): number {
      m.check(ptr, 4);
      m.setU32(ptr, fds.add(fds.get(fd)));
      return 0;
    },

    /** fcntl(F_DUPFD / F_DUPFD_CLOEXEC): the lowest free number at or above `min`. */
    fd_dup2(fd: number, min: number, cloexec: number, ptr: number): number {
      m.check(ptr, 4);
      const d = fds.get(fd);
      const newFd = fds.addFrom(min >>> 0 > 0x7fffffff ? -1 : min, d);
      if (cloexec & 0xff) fds.setFlagsExt(newFd, FDFLAGSEXT_CLOEXEC);
      m.setU32(ptr, newFd);
      return 0;
    },

    fd_fdflags_get(fd: number, ptr: number): number {
      m.check(ptr, 2);
      m.setU16(ptr, fds.flagsExt(fd));
      return 0;
    },

    fd_fdflags_set(fd: number, flags: number): number {
      if ((flags & 0xffff) & ~FDFLAGSEXT_CLOEXEC) throw new SysError(Errno.INVAL);
      fds.setFlagsExt(fd, flags & FDFLAGSEXT_CLOEXEC);
      return 0;
    },

    fd_pipe(readPtr: number, writePtr: number): number {
      m.check(readPtr, 4);
      m.check(writePtr, 4);
      // Both numbers or neither.
      const [r, w] = makePipe();
      const rfd = fds.add(r);
      let wfd: number;
      try {
        wfd = fds.add(w);
      } catch (e) {
        fds.close(rfd);
        throw e;
      }
      m.setU32(readPtr, rfd);
      m.setU32(writePtr, wfd);
      return 0;
    },

    fd_event(initial: bigint, flags: number, ptr: number): number {
      m.check(ptr, 4);
      if ((flags & 0xffff) & ~EVENTFDFLAGS_SEMAPHORE) throw new SysError(Errno.INVAL);
      const value = BigInt.asUintN(64, initial);
      if (value > 0xffffffffn) throw new SysError(Errno.INVAL);
      m.setU32(ptr, fds.add(new EventCounter(value, (flags & EVENTFDFLAGS_SEMAPHORE) !== 0)));
      return 0;
    },
  };
}
