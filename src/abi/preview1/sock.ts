// Preview 1's socket calls (sock_accept, sock_recv, sock_send,
// sock_shutdown), on any socket descriptor; the same recv/send are what
// WASIX programs import from preview 1.

import { Errno, SysError } from '../../core/errno.js';
import { FdFlags, RiFlags, Rights, RoFlags, SdFlags } from '../../core/witx.js';
import { SocketDescriptor, type Received } from '../../layer/net/socket.js';
import type { GuestMemory } from '../memory.js';
import type { FdTable } from '../../layer/fdtable.js';
import { refuseRights } from '../../layer/descriptor.js';
import type { Preview1Context } from './context.js';

/** WASIX's extra recv flag: do not wait (MSG_DONTWAIT). */
export const RIFLAGS_DONT_WAIT = 8;
/** WASIX's send flag: do not wait (MSG_DONTWAIT). */
export const SIFLAGS_DONT_WAIT = 1;

/** The socket behind `fd`: EBADF if none, ENOTSOCK if it is something else. */
export function socketAt(fds: FdTable, fd: number, rights = 0): SocketDescriptor {
  const d = fds.get(fd);
  if (!(d instanceof SocketDescriptor)) throw new SysError(Errno.NOTSOCK);
  if ((d.rightsBase & rights) !== rights) refuseRights(d, rights);
  return d;
}

/** Lowest free descriptor number, where the next add() will put a descriptor. */
export function acceptInto(fds: FdTable, listener: SocketDescriptor, flags: number): number {
  if (flags & ~FdFlags.NONBLOCK) throw new SysError(Errno.INVAL);
  const fd = fds.nextFree();
  const s = listener.accept(fd, listener.nonblocking);
  s.fdflags = flags & FdFlags.NONBLOCK;
  try {
    fds.add(s);
  } catch (err) {
    s.close();
    throw err;
  }
  return fd;
}

/** sock_recv's work, shared with WASIX's sock_recv_from: receive, then write the count and flags. */
export function receive(m: GuestMemory, s: SocketDescriptor, riData: number, riLen: number, riFlags: number,
  roLen: number, roFlags: number): Received {
  m.check(roLen, 4);
  m.check(roFlags, 2);
  const r = s.recv(m.iovecs(riData, riLen), (riFlags & RiFlags.RECV_PEEK) !== 0,
    (riFlags & RiFlags.RECV_WAITALL) !== 0, (riFlags & RIFLAGS_DONT_WAIT) !== 0);
  m.setU32(roLen, r.bytes);
  m.setU16(roFlags, r.truncated ? RoFlags.RECV_DATA_TRUNCATED : 0);
  return r;
}

export function sockFunctions(ctx: Preview1Context) {
  const { memory: m, fds } = ctx;
  return {
    sock_accept(fd: number, flags: number, fdPtr: number): number {
      const s = socketAt(fds, fd, Rights.SOCK_ACCEPT);
      m.check(fdPtr, 4);
      m.setU32(fdPtr, acceptInto(fds, s, flags));
      return 0;
    },

    sock_recv(fd: number, riData: number, riLen: number, riFlags: number, roLen: number, roFlags: number): number {
      receive(m, socketAt(fds, fd, Rights.FD_READ), riData, riLen, riFlags, roLen, roFlags);
      return 0;
    },

    sock_send(fd: number, siData: number, siLen: number, siFlags: number, soLen: number): number {
      const s = socketAt(fds, fd, Rights.FD_WRITE);
      m.check(soLen, 4);
      m.setU32(soLen, s.send(m.iovecs(siData, siLen), (siFlags & SIFLAGS_DONT_WAIT) !== 0));
      return 0;
    },

    sock_shutdown(fd: number, how: number): number {
      const s = socketAt(fds, fd, Rights.SOCK_SHUTDOWN);
      if (how === 0 || how & ~(SdFlags.RD | SdFlags.WR)) throw new SysError(Errno.INVAL);
      s.shutdown((how & SdFlags.RD) !== 0, (how & SdFlags.WR) !== 0);
      return 0;
    },
  };
}
