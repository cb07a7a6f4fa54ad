// epoll_create, epoll_ctl and epoll_wait, over the readiness poll_oneoff
// uses: a wait checks every entry, and if none is due sleeps until the host
// delivers something (or the timeout), costing no CPU while it waits.

import { Errno, SysError } from '../../core/errno.js';
import { DirectoryDescriptor } from '../../layer/fs/directory.js';
import { FileDescriptor } from '../../layer/fs/file.js';
import { EpollDescriptor, EpollType } from '../../layer/epoll.js';
import type { WasixContext } from './context.js';

/**
 * Operations as wasix-libc passes them: Linux's numbers (ADD 1, DEL 2, MOD 3),
 * not the witx ones; 0 (the witx ADD) is taken as ADD too.
 */
const Ctl = { ADD: 1, DEL: 2, MOD: 3, WITX_ADD: 0 } as const;
/** epoll_event_t: events u32 at 0, epoll_data_t (24 bytes) at 8. */
const EVENT_SIZE = 32;
const DATA_OFFSET = 8;
const DATA_SIZE = 24;
/** Events reported per wait at most (wasix-libc asks for at most 64). */
const MAX_EVENTS = 1024;
const NO_TIMEOUT = 0xffffffffffffffffn;

export function wasixEpollFunctions(ctx: WasixContext) {
  const { memory: m, fds } = ctx;

  const epollAt = (fd: number): EpollDescriptor => {
    const d = fds.get(fd);
    if (!(d instanceof EpollDescriptor)) throw new SysError(Errno.INVAL);
    return d;
  };

  return {
    epoll_create(ptr: number): number {
      m.check(ptr, 4);
      m.setU32(ptr, fds.add(new EpollDescriptor()));
      return 0;
    },

    epoll_ctl(epfd: number, op: number, fd: number, eventPtr: number): number {
      const ep = epollAt(epfd);
      const target = fds.get(fd);
      if (fd === epfd) throw new SysError(Errno.INVAL);
      // As Linux: regular files and directories are always ready, so they cannot be watched.
      if (target instanceof FileDescriptor || target instanceof DirectoryDescriptor) throw new SysError(Errno.PERM);
      if (op === Ctl.DEL) {
        ep.remove(fd);
        return 0;
      }
      if (op !== Ctl.ADD && op !== Ctl.MOD && op !== Ctl.WITX_ADD) throw new SysError(Errno.INVAL);
      m.check(eventPtr, EVENT_SIZE);
      const events = m.u32(eventPtr);
      const data = m.slice(eventPtr + DATA_OFFSET, DATA_SIZE).slice();
      if (op === Ctl.ADD || op === Ctl.WITX_ADD) ep.add(fd, target, events, data);
      else ep.modify(fd, events, data);
      return 0;
    },

    epoll_wait(epfd: number, eventsPtr: number, maxEvents: number, timeoutNs: bigint, countPtr: number): number {
      const ep = epollAt(epfd);
      maxEvents >>>= 0;
      if (maxEvents === 0 || maxEvents > 0x7fffffff) throw new SysError(Errno.INVAL);
      const max = Math.min(maxEvents, MAX_EVENTS);
      m.check(eventsPtr, max * EVENT_SIZE);
      m.check(countPtr, 4);
      const t = BigInt.asUintN(64, timeoutNs);
      const deadline = t === NO_TIMEOUT ? Infinity : performance.now() + Number(t) / 1e6;
      let n = 0;
      for (;;) {
        const epoch = ctx.eventEpoch();
        for (const [fd, i] of ep.interests) {
          if (n === max) break;
          // An entry whose number was closed (or now names another descriptor) is gone, as in Linux.
          if (fds.peek(fd) !== i.descriptor) { ep.interests.delete(fd); continue; }
          let ready = 0;
          let nbytes = 0n;
          try {
            const r = i.descriptor.pollRead();
            const w = i.descriptor.pollWrite();
            if (r.ready) ready |= EpollType.IN;
            if (w.ready) ready |= EpollType.OUT;
            if (r.hangup || w.hangup) ready |= EpollType.HUP | (r.hangup ? EpollType.RDHUP : 0);
            nbytes = r.nbytes;
          } catch {
            ready |= EpollType.ERR;
          }
          const due = EpollDescriptor.due(i, ready, nbytes);
          if (due === 0) continue;
          const p = eventsPtr + n * EVENT_SIZE;
          m.setU32(p, due);
          m.setU32(p + 4, 0);
          m.write(p + DATA_OFFSET, i.data);
          n++;
        }
        const left = deadline - performance.now();
        if (n > 0 || left <= 0) break;
        ctx.waitForEvents(epoch, left);
      }
      m.setU32(countPtr, n);
      return 0;
    },
  };
}
