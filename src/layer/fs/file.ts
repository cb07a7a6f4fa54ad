// An open regular file. The layer keeps the file position itself and does
// every transfer at an explicit offset, so APPEND can be switched on and off
// with fd_fdstat_set_flags and seek never needs the host.

import { Errno, SysError } from '../../core/errno.js';
import { FdFlags, Filetype, Whence } from '../../core/witx.js';
import { Descriptor } from '../descriptor.js';
import type { FileNode, NodeStat, TimeSpec } from './backend.js';
import { SMALL_WRITE_BYTES } from './write-board.js';
import type { WriteCache } from './write-cache.js';

const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export class FileDescriptor extends Descriptor {
  readonly filetype = Filetype.REGULAR_FILE;
  private position = 0;

  constructor(
    private readonly node: FileNode,
    rightsBase: number,
    rightsInheriting: number,
    fdflags: number,
    /** Host bytes moved, for usage reports. */
    private readonly counters: { read: number; written: number },
    /** Where small sequential writes to a host file are coalesced (write-cache.ts); absent when off. */
    private readonly cache?: WriteCache,
  ) {
    super(rightsBase, rightsInheriting);
    this.fdflags = fdflags;
  }

  override read(bufs: Uint8Array[]): number {
    const n = this.pread(bufs, this.position);
    this.position += n;
    return n;
  }

  override pread(bufs: Uint8Array[], offset: number): number {
    let total = 0;
    for (const buf of bufs) {
      if (buf.byteLength === 0) continue;
      const n = this.node.read(buf, offset + total);
      total += n;
      if (n < buf.byteLength) break;
    }
    this.counters.read += total;
    return total;
  }

  override write(bufs: Uint8Array[]): number {
    if (this.fdflags & FdFlags.APPEND) this.position = Number(this.node.stat().size);
    const n = this.pwrite(bufs, this.position);
    this.position += n;
    return n;
  }

  /** fd_read into one buffer, given as guest memory, offset and length: no view is made per call. */
  override readMemory(mem: Uint8Array, offset: number, len: number): number {
    if (this.node.readInto === undefined) return this.read([mem.subarray(offset, offset + len)]);
    const n = len === 0 ? 0 : this.node.readInto(mem, offset, len, this.position);
    this.position += n;
    this.counters.read += n;
    return n;
  }

  /**
   * fd_write of one buffer, given as guest memory, offset and length: no
   * view is made per call, and a small write at the file position is
   * coalesced when the cache is on.
   */
  override writeMemory(mem: Uint8Array, offset: number, len: number): number {
    const fd = this.node.hostFd;
    if (this.cache !== undefined && fd !== undefined && len <= SMALL_WRITE_BYTES && !(this.fdflags & FdFlags.APPEND)) {
      this.cache.write(fd, this.position, mem, offset, len);
    } else {
      this.cache?.flushAll();
      if (fd !== undefined) this.cache?.flushFd(fd);
      if (this.fdflags & FdFlags.APPEND) this.position = Number(this.node.stat().size);
      if (this.node.writeFrom === undefined) return this.write([mem.subarray(offset, offset + len)]);
      let done = 0;
      while (done < len) done += this.node.writeFrom(mem, offset + done, len - done, this.position + done);
    }
    this.position += len;
    this.counters.written += len;
    return len;
  }

  override pwrite(bufs: Uint8Array[], offset: number): number {
    let total = 0;
    for (const buf of bufs) {
      let done = 0;
      while (done < buf.byteLength) {
        done += this.node.write(done === 0 ? buf : buf.subarray(done), offset + total + done);
      }
      total += done;
    }
    this.counters.written += total;
    return total;
  }

  override seek(offset: bigint, whence: number): bigint {
    let base: bigint;
    switch (whence) {
      case Whence.SET: base = 0n; break;
      case Whence.CUR: base = BigInt(this.position); break;
      case Whence.END: base = this.node.stat().size; break;
      default: throw new SysError(Errno.INVAL);
    }
    const next = base + offset;
    if (next < 0n) throw new SysError(Errno.INVAL);
    if (next > MAX_OFFSET) throw new SysError(Errno.OVERFLOW);
    this.position = Number(next);
    return next;
  }

  override tell(): bigint {
    return BigInt(this.position);
  }

  override stat(): NodeStat {
    return this.node.stat();
  }

  override setSize(size: number): void {
    this.node.setSize(size);
  }

  override setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    this.node.setTimes(atim, mtim);
  }

  override sync(): void {
    this.flushCache();
    this.node.sync();
  }

  override datasync(): void {
    this.flushCache();
    this.node.datasync();
  }

  /** Writes out this file's coalesced writes, and reports one that failed. */
  private flushCache(): void {
    const fd = this.node.hostFd;
    if (this.cache !== undefined && fd !== undefined) this.cache.flushFd(fd);
  }

  override advise(_offset: number, _len: number, _advice: number): void {
    // Advice is a hint; accepted and ignored, as the host may also do.
  }

  override allocate(offset: number, len: number): void {
    this.node.allocate(offset, len);
  }

  override close(): void {
    try {
      this.flushCache();
    } finally {
      this.node.close();
    }
  }
}
