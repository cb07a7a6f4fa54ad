// fd_* calls of wasi_snapshot_preview1.

import { Errno, SysError } from '../../core/errno.js';
import { encodeUtf8 } from '../../core/utf8.js';
import { FdFlags, FstFlags, Layout, PREOPENTYPE_DIR, Rights } from '../../core/witx.js';
import { DirectoryDescriptor } from '../../layer/fs/directory.js';
import { FileDescriptor } from '../../layer/fs/file.js';
import { refuseReadOnly, refuseRights } from '../../layer/descriptor.js';
import { OutputStream } from '../../layer/stdio.js';
import type { NodeStat, TimeSpec } from '../../layer/fs/backend.js';
import type { GuestMemory } from '../memory.js';
import type { Preview1Context } from './context.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A u64 offset/length from the guest as a safe JS number, or EINVAL/EOVERFLOW. */
export function toOffset(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  if (u > MAX_SAFE) throw new SysError(BigInt.asIntN(64, v) < 0n ? Errno.INVAL : Errno.OVERFLOW);
  return Number(u);
}

export function writeFilestat(m: GuestMemory, ptr: number, s: NodeStat): void {
  const L = Layout.filestat;
  m.check(ptr, L.size);
  m.setU64(ptr + L.dev, s.dev);
  m.setU64(ptr + L.ino, s.ino);
  m.setU8(ptr + L.filetype, s.filetype);
  for (let i = L.filetype + 1; i < L.nlink; i++) m.setU8(ptr + i, 0);
  m.setU64(ptr + L.nlink, s.nlink);
  m.setU64(ptr + L.fileSize, s.size);
  m.setU64(ptr + L.atim, s.atim);
  m.setU64(ptr + L.mtim, s.mtim);
  m.setU64(ptr + L.ctim, s.ctim);
}

/** Decodes fstflags into what to set; EINVAL for contradictory or unknown flags. */
export function timeSpecs(atim: bigint, mtim: bigint, flags: number): [TimeSpec, TimeSpec] {
  if (flags & ~0xf) throw new SysError(Errno.INVAL);
  if ((flags & FstFlags.ATIM && flags & FstFlags.ATIM_NOW) || (flags & FstFlags.MTIM && flags & FstFlags.MTIM_NOW)) {
    throw new SysError(Errno.INVAL);
  }
  const a: TimeSpec = flags & FstFlags.ATIM_NOW ? 'now' : flags & FstFlags.ATIM ? BigInt.asUintN(64, atim) : null;
  const m: TimeSpec = flags & FstFlags.MTIM_NOW ? 'now' : flags & FstFlags.MTIM ? BigInt.asUintN(64, mtim) : null;
  return [a, m];
}

export function fdFunctions(ctx: Preview1Context) {
  const { memory: m, fds } = ctx;

  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number {
      const d = fds.get(fd, Rights.FD_WRITE);
      m.check(nwritten, 4);
      let n: number;
      if (iovsLen === 1 && (d instanceof FileDescriptor || d instanceof OutputStream)) {
        // One buffer: its memory, offset and length go straight down, to a file (where the write
        // may be coalesced) or into stdout's or stderr's ring (after coalesced file writes are out).
        if (d instanceof OutputStream) ctx.flushWrites?.();
        m.check(iovs, 8);
        const ptr = m.u32(iovs), len = m.u32((iovs >>> 0) + 4);
        m.check(ptr, len);
        n = d.writeMemory(m.bytes, ptr, len);
      } else {
        ctx.flushWrites?.();
        n = d.write(m.iovecs(iovs, iovsLen));
      }
      m.setU32(nwritten, n);
      return 0;
    },

    fd_read(fd: number, iovs: number, iovsLen: number, nread: number): number {
      const d = fds.get(fd, Rights.FD_READ);
      m.check(nread, 4);
      let n: number;
      if (iovsLen === 1 && d instanceof FileDescriptor) {
        // One buffer from a file: its memory, offset and length go straight down.
        m.check(iovs, 8);
        const ptr = m.u32(iovs), len = m.u32((iovs >>> 0) + 4);
        m.check(ptr, len);
        n = d.readMemory(m.bytes, ptr, len);
      } else {
        n = d.read(m.iovecs(iovs, iovsLen));
      }
      m.setU32(nread, n);
      return 0;
    },

    fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nread: number): number {
      const d = fds.get(fd, Rights.FD_READ | Rights.FD_SEEK);
      m.check(nread, 4);
      m.setU32(nread, d.pread(m.iovecs(iovs, iovsLen), toOffset(offset)));
      return 0;
    },

    fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwritten: number): number {
      const d = fds.get(fd, Rights.FD_WRITE | Rights.FD_SEEK);
      m.check(nwritten, 4);
      m.setU32(nwritten, d.pwrite(m.iovecs(iovs, iovsLen), toOffset(offset)));
      return 0;
    },

    fd_seek(fd: number, offset: bigint, whence: number, newOffset: number): number {
      const right = offset === 0n && whence === 1 ? Rights.FD_TELL | Rights.FD_SEEK : Rights.FD_SEEK;
      const d = fds.peek(fd);
      if (!d) throw new SysError(Errno.BADF);
      if ((d.rightsBase & right) === 0) refuseRights(d, right);
      m.check(newOffset, 8);
      if (whence > 2) throw new SysError(Errno.INVAL);
      m.setU64(newOffset, d.seek(BigInt.asIntN(64, offset), whence));
      return 0;
    },

    fd_tell(fd: number, offsetPtr: number): number {
      const d = fds.get(fd, Rights.FD_TELL);
      m.check(offsetPtr, 8);
      m.setU64(offsetPtr, d.tell());
      return 0;
    },

    fd_close(fd: number): number {
      fds.close(fd);
      return 0;
    },

    fd_renumber(from: number, to: number): number {
      fds.renumber(from, to);
      return 0;
    },

    fd_sync(fd: number): number {
      fds.get(fd, Rights.FD_SYNC).sync();
      return 0;
    },

    fd_datasync(fd: number): number {
      fds.get(fd, Rights.FD_DATASYNC).datasync();
      return 0;
    },

    fd_advise(fd: number, offset: bigint, len: bigint, advice: number): number {
      const d = fds.get(fd, Rights.FD_ADVISE);
      if (advice > 5) throw new SysError(Errno.INVAL);
      d.advise(toOffset(offset), toOffset(len), advice);
      return 0;
    },

    fd_allocate(fd: number, offset: bigint, len: bigint): number {
      const d = fds.get(fd, Rights.FD_ALLOCATE);
      const o = toOffset(offset), l = toOffset(len);
      if (o + l > Number.MAX_SAFE_INTEGER) throw new SysError(Errno.FBIG);
      d.allocate(o, l);
      return 0;
    },

    fd_fdstat_get(fd: number, ptr: number): number {
      const d = fds.get(fd);
      const L = Layout.fdstat;
      m.check(ptr, L.size);
      m.setU8(ptr + L.filetype, d.filetype);
      m.setU8(ptr + 1, 0);
      m.setU16(ptr + L.flags, d.fdflags);
      m.setU32(ptr + 4, 0);
      m.setU64(ptr + L.rightsBase, d.rightsBase);
      m.setU64(ptr + L.rightsInheriting, d.rightsInheriting);
      return 0;
    },

    fd_fdstat_set_flags(fd: number, flags: number): number {
      const d = fds.get(fd, Rights.FD_FDSTAT_SET_FLAGS);
      if (flags & ~0x1f) throw new SysError(Errno.INVAL);
      // Synchronous-I/O modes cannot be switched on after open in the host.
      if (flags & (FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC)) throw new SysError(Errno.NOTSUP);
      d.setFlags(flags);
      return 0;
    },

    fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
      const d = fds.get(fd);
      const b = Number(BigInt.asUintN(64, base) & 0x3fffffffn);
      const i = Number(BigInt.asUintN(64, inheriting) & 0x3fffffffn);
      // Rights can only be dropped, never gained.
      if (BigInt.asUintN(64, base) >> 30n || BigInt.asUintN(64, inheriting) >> 30n) throw new SysError(Errno.NOTCAPABLE);
      if (b & ~d.rightsBase) refuseRights(d, b);
      if (i & ~d.rightsInheriting) refuseRights(d, i, d.rightsInheriting);
      d.rightsBase = b;
      d.rightsInheriting = i;
      return 0;
    },

    fd_filestat_get(fd: number, ptr: number): number {
      const d = fds.get(fd, Rights.FD_FILESTAT_GET);
      m.check(ptr, Layout.filestat.size);
      writeFilestat(m, ptr, d.stat());
      return 0;
    },

    fd_filestat_set_size(fd: number, size: bigint): number {
      fds.get(fd, Rights.FD_FILESTAT_SET_SIZE).setSize(toOffset(size));
      return 0;
    },

    fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, flags: number): number {
      // Times are the mount's to keep: below a read-only one, EROFS as futimens(2) gives.
      if (fds.peek(fd)?.readOnlyMount !== undefined) refuseReadOnly(fds.get(fd));
      const d = fds.get(fd, Rights.FD_FILESTAT_SET_TIMES);
      const [a, t] = timeSpecs(atim, mtim, flags);
      d.setTimes(a, t);
      return 0;
    },

    fd_prestat_get(fd: number, ptr: number): number {
      const d = fds.get(fd);
      if (!(d instanceof DirectoryDescriptor) || d.preopenName === undefined) throw new SysError(Errno.BADF);
      m.check(ptr, Layout.prestat.size);
      m.setU32(ptr, PREOPENTYPE_DIR);
      m.setU32(ptr + Layout.prestat.nameLen, encodeUtf8(d.preopenName).byteLength);
      return 0;
    },

    fd_prestat_dir_name(fd: number, ptr: number, len: number): number {
      const d = fds.get(fd);
      if (!(d instanceof DirectoryDescriptor) || d.preopenName === undefined) throw new SysError(Errno.BADF);
      const name = encodeUtf8(d.preopenName);
      if (len >>> 0 < name.byteLength) throw new SysError(Errno.NAMETOOLONG);
      m.write(ptr, name);
      return 0;
    },

    fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufUsed: number): number {
      const d = fds.get(fd, Rights.FD_READDIR);
      if (!(d instanceof DirectoryDescriptor)) throw new SysError(Errno.NOTDIR);
      bufLen >>>= 0;
      m.check(bufUsed, 4);
      const out = m.slice(buf, bufLen);
      const L = Layout.dirent;
      const scratch = new Uint8Array(L.size);
      const view = new DataView(scratch.buffer);
      let used = 0;
      for (let i = BigInt.asUintN(64, cookie); used < bufLen; i++) {
        const e = d.entryAt(i);
        if (e === undefined) break;
        const name = encodeUtf8(e.name);
        view.setBigUint64(L.next, i + 1n, true);
        view.setBigUint64(L.ino, e.ino, true);
        view.setUint32(L.namlen, name.byteLength, true);
        view.setUint32(L.type, e.filetype, true);
        // The last entry may be cut short: the guest sees a full buffer and asks again.
        const head = Math.min(L.size, bufLen - used);
        out.set(scratch.subarray(0, head), used);
        used += head;
        const tail = Math.min(name.byteLength, bufLen - used);
        out.set(name.subarray(0, tail), used);
        used += tail;
      }
      m.setU32(bufUsed, used);
      return 0;
    },
  };
}
