// The path calls of WASIX: the working directory, and path_open2 (path_open
// with the descriptor's own flags, close-on-exec).

import { Errno, SysError } from '../../core/errno.js';
import { encodeUtf8 } from '../../core/utf8.js';
import { pathFunctions } from '../preview1/path.js';
import type { WasixContext } from './context.js';

const FDFLAGSEXT_CLOEXEC = 1;

export function wasixPathFunctions(ctx: WasixContext) {
  const { memory: m, fds, cwd } = ctx;
  const { path_open } = pathFunctions(ctx);
  return {
    /** Writes the directory and a NUL; ERANGE (with the size needed in *lenPtr) if it does not fit. */
    getcwd(buf: number, lenPtr: number): number {
      const have = m.u32(lenPtr);
      const path = encodeUtf8(cwd.path);
      if (have < path.byteLength + 1) {
        m.setU32(lenPtr, path.byteLength + 1);
        throw new SysError(Errno.RANGE);
      }
      m.write(buf, path);
      m.setU8(buf + path.byteLength, 0);
      m.setU32(lenPtr, path.byteLength);
      return 0;
    },

    chdir(pathPtr: number, pathLen: number): number {
      cwd.change(m.string(pathPtr, pathLen));
      return 0;
    },

    path_open2(fd: number, dirflags: number, pathPtr: number, pathLen: number, oflags: number, rightsBase: bigint,
      rightsInheriting: bigint, fdflags: number, fdflagsext: number, fdPtr: number): number {
      if ((fdflagsext & 0xffff) & ~FDFLAGSEXT_CLOEXEC) throw new SysError(Errno.INVAL);
      const r = path_open(fd, dirflags, pathPtr, pathLen, oflags, rightsBase, rightsInheriting, fdflags & 0xffff, fdPtr);
      if (r === 0 && fdflagsext & FDFLAGSEXT_CLOEXEC) fds.setFlagsExt(m.u32(fdPtr), FDFLAGSEXT_CLOEXEC);
      return r;
    },
  };
}
