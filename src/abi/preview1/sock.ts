// Preview 1's socket calls. They act on socket descriptors only; the socket
// layer provides those, so on anything else they fail as POSIX would.

import { Errno, SysError } from '../errno.js';
import { errnoFor } from '../errors.js';
import { Filetype } from '../witx.js';
import type { Preview1Context } from './context.js';

export function sockFunctions(ctx: Preview1Context) {
  const socketAt = (fd: number): never => {
    const d = ctx.fds.get(fd);
    if (d.filetype !== Filetype.SOCKET_STREAM && d.filetype !== Filetype.SOCKET_DGRAM) {
      throw new SysError(Errno.NOTSOCK);
    }
    throw new SysError(Errno.NOTSUP);
  };
  return {
    sock_accept(fd: number, _flags: number, _fdPtr: number): number {
      try { return socketAt(fd); } catch (e) { return errnoFor(e); }
    },
    sock_recv(fd: number, _riData: number, _riLen: number, _riFlags: number, _roLen: number, _roFlags: number): number {
      try { return socketAt(fd); } catch (e) { return errnoFor(e); }
    },
    sock_send(fd: number, _siData: number, _siLen: number, _siFlags: number, _soLen: number): number {
      try { return socketAt(fd); } catch (e) { return errnoFor(e); }
    },
    sock_shutdown(fd: number, _how: number): number {
      try { return socketAt(fd); } catch (e) { return errnoFor(e); }
    },
  };
}
