// path_* calls of wasi_snapshot_preview1: decode, check the directory's
// rights, and hand the path to the directory descriptor (which confines it).

import { Denial, Errno, SysError } from '../../core/errno.js';
import { FdFlags, LookupFlags, Layout, OFlags, OPEN_WRITE_RIGHTS, Rights } from '../../core/witx.js';
import { DirectoryDescriptor } from '../../layer/fs/directory.js';
import { PATH_MAX } from '../../layer/fs/resolve.js';
import { refuseReadOnly, refuseRights } from '../../layer/descriptor.js';
import type { Preview1Context } from './context.js';
import { timeSpecs, writeFilestat } from './fd.js';

/** fdflags that only make sense for writing (POSIX refuses them on a read-only file system). */
const WRITE_FDFLAGS = FdFlags.APPEND | FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC;

/** True when a path_open asks to write, create or truncate, however it is spelled. */
function opensToWrite(oflags: number, rightsBase: bigint, fdflags: number): boolean {
  return (oflags & (OFlags.CREAT | OFlags.TRUNC)) !== 0 || (fdflags & WRITE_FDFLAGS) !== 0 ||
    (BigInt.asUintN(64, rightsBase) & BigInt(OPEN_WRITE_RIGHTS)) !== 0n;
}

export function pathFunctions(ctx: Preview1Context) {
  const { memory: m, fds } = ctx;

  /**
   * The directory behind `fd`, holding `rights`; ENOTDIR if it is not a
   * directory, EROFS if the call `writes` and it lies in a read-only mount
   * (before its missing write rights are looked at). A refusal names the
   * guest path (`pathPtr`/`pathLen`) it was about.
   */
  const dir = (fd: number, rights: number, pathPtr?: number, pathLen?: number, writes = false): DirectoryDescriptor => {
    const d = fds.peek(fd);
    if (!d) throw new SysError(Errno.BADF);
    if (!(d instanceof DirectoryDescriptor)) throw new SysError(Errno.NOTDIR);
    const readOnly = writes && d.readOnlyMount !== undefined;
    if (readOnly || (d.rightsBase & rights) !== rights) {
      try {
        if (readOnly) refuseReadOnly(d);
        refuseRights(d, rights);
      } catch (err) {
        if (err instanceof Denial && pathPtr !== undefined && pathLen !== undefined) {
          let path = '';
          try { path = str(pathPtr, pathLen); } catch { /* unreadable: the directory alone */ }
          err.target = d.guestPath === undefined ? path : `${d.guestPath.replace(/\/+$/, '')}/${path}`;
        }
        throw err;
      }
    }
    return d;
  };
  // Longer paths are ENAMETOOLONG before they are decoded, as on Linux: a guest
  // cannot make the enclave decode and walk megabytes of path per call.
  const str = (ptr: number, len: number): string => {
    if (len >>> 0 > PATH_MAX) {
      m.slice(ptr, len); // a range outside memory is still EFAULT, as the kernel says
      throw new SysError(Errno.NAMETOOLONG);
    }
    return m.string(ptr, len);
  };
  const follows = (flags: number): boolean => (flags & LookupFlags.SYMLINK_FOLLOW) !== 0;

  return {
    path_open(fd: number, dirflags: number, pathPtr: number, pathLen: number, oflags: number,
      rightsBase: bigint, rightsInheriting: bigint, fdflags: number, fdPtr: number): number {
      let needed = Rights.PATH_OPEN;
      if (oflags & OFlags.CREAT) needed |= Rights.PATH_CREATE_FILE;
      if (oflags & OFlags.TRUNC) needed |= Rights.PATH_FILESTAT_SET_SIZE;
      const d = dir(fd, needed, pathPtr, pathLen, opensToWrite(oflags, rightsBase, fdflags));
      m.check(fdPtr, 4);
      const path = str(pathPtr, pathLen);
      if (oflags & ~0xf || fdflags & ~0x1f) throw new SysError(Errno.INVAL);
      const opened = d.open(path, {
        follow: follows(dirflags),
        oflags,
        rightsBase: Number(BigInt.asUintN(64, rightsBase) & 0x3fffffffn),
        rightsInheriting: Number(BigInt.asUintN(64, rightsInheriting) & 0x3fffffffn),
        fdflags,
      });
      let newFd: number;
      try {
        newFd = fds.add(opened);
      } catch (err) {
        opened.close();
        throw err;
      }
      m.setU32(fdPtr, newFd);
      return 0;
    },

    path_create_directory(fd: number, pathPtr: number, pathLen: number): number {
      dir(fd, Rights.PATH_CREATE_DIRECTORY, pathPtr, pathLen, true).createDirectory(str(pathPtr, pathLen));
      return 0;
    },

    path_remove_directory(fd: number, pathPtr: number, pathLen: number): number {
      dir(fd, Rights.PATH_REMOVE_DIRECTORY, pathPtr, pathLen, true).removeDirectory(str(pathPtr, pathLen));
      return 0;
    },

    path_unlink_file(fd: number, pathPtr: number, pathLen: number): number {
      dir(fd, Rights.PATH_UNLINK_FILE, pathPtr, pathLen, true).unlinkFile(str(pathPtr, pathLen));
      return 0;
    },

    path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number {
      const d = dir(fd, Rights.PATH_SYMLINK, newPtr, newLen, true);
      d.symlink(str(oldPtr, oldLen), str(newPtr, newLen));
      return 0;
    },

    path_readlink(fd: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, bufUsed: number): number {
      const d = dir(fd, Rights.PATH_READLINK);
      bufLen >>>= 0;
      m.check(bufUsed, 4);
      const out = m.slice(buf, bufLen);
      const target = new TextEncoder().encode(d.readlink(str(pathPtr, pathLen)));
      const n = Math.min(target.byteLength, bufLen);
      out.set(target.subarray(0, n));
      m.setU32(bufUsed, n);
      return 0;
    },

    path_filestat_get(fd: number, flags: number, pathPtr: number, pathLen: number, ptr: number): number {
      const d = dir(fd, Rights.PATH_FILESTAT_GET);
      m.check(ptr, Layout.filestat.size);
      writeFilestat(m, ptr, d.filestat(str(pathPtr, pathLen), follows(flags)));
      return 0;
    },

    path_filestat_set_times(fd: number, flags: number, pathPtr: number, pathLen: number,
      atim: bigint, mtim: bigint, fstflags: number): number {
      const d = dir(fd, Rights.PATH_FILESTAT_SET_TIMES, pathPtr, pathLen, true);
      const [a, t] = timeSpecs(atim, mtim, fstflags);
      d.setTimesAt(str(pathPtr, pathLen), follows(flags), a, t);
      return 0;
    },

    path_rename(fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
      const src = dir(fd, Rights.PATH_RENAME_SOURCE, oldPtr, oldLen, true);
      const dst = dir(newFd, Rights.PATH_RENAME_TARGET, newPtr, newLen, true);
      src.rename(str(oldPtr, oldLen), dst, str(newPtr, newLen));
      return 0;
    },

    path_link(oldFd: number, oldFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
      const src = dir(oldFd, Rights.PATH_LINK_SOURCE, oldPtr, oldLen, true);
      const dst = dir(newFd, Rights.PATH_LINK_TARGET, newPtr, newLen, true);
      src.link(str(oldPtr, oldLen), follows(oldFlags), dst, str(newPtr, newLen));
      return 0;
    },
  };
}
