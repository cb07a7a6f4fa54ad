// An open regular file. The layer keeps the file position itself and does
// every transfer at an explicit offset, so APPEND can be switched on and off
// with fd_fdstat_set_flags and seek never needs the host.

import { Errno, SysError } from '../../core/errno.js';
import { FdFlags, Filetype, Whence } from '../../core/witx.js';
import { Descriptor } from '../descriptor.js';
import type { FileNode, NodeStat, TimeSpec } from './backend.js';
import { SMALL_WRITE_BYTES } from './write-board.js';
import type { WriteCache } from './write-cache.js';
import type { MountQuota } from './quota.js';

const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export class FileDescriptor extends Descriptor {
  readonly filetype = Filetype.REGULAR_FILE;
  private position = 0;
  /**
   * Where this descriptor last knew the file to end, for a mount with a byte
   * quota (-1 until the first write asks): the file's size when first asked,
   * raised by every write and resize made through it. Never past the largest
   * size the file has had, so charging what goes past it never undercounts.
   */
  private knownEnd = -1;

  constructor(
    private readonly node: FileNode,
    rightsBase: number,
    rightsInheriting: number,
    fdflags: number,
    /** Host bytes moved, for usage reports, and the mount's quota where it has one. */
    private readonly counters: { read: number; written: number; quota?: MountQuota },
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
    if (this.fdflags & FdFlags.APPEND) this.position = this.appendAt();
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
      // Charged before it is cached: the quota sees the write when the guest makes it.
      this.charge(this.position, len);
      this.cache.write(fd, this.position, mem, offset, len);
    } else {
      this.cache?.flushAll();
      if (fd !== undefined) this.cache?.flushFd(fd);
      if (this.fdflags & FdFlags.APPEND) this.position = this.appendAt();
      if (this.node.writeFrom === undefined) return this.write([mem.subarray(offset, offset + len)]);
      this.charge(this.position, len);
      let done = 0;
      while (done < len) done += this.node.writeFrom(mem, offset + done, len - done, this.position + done);
    }
    this.position += len;
    this.counters.written += len;
    return len;
  }

  override pwrite(bufs: Uint8Array[], offset: number): number {
    if (this.counters.quota !== undefined) this.charge(offset, bufs.reduce((n, b) => n + b.byteLength, 0));
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
    this.chargeGrowth(size);
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
    this.chargeGrowth(offset + len);
    this.node.allocate(offset, len);
  }

  /** The file's end, where an APPEND write goes (and what this descriptor now knows of it). */
  private appendAt(): number {
    const size = Number(this.node.stat().size);
    if (this.knownEnd >= 0 && size > this.knownEnd) this.knownEnd = size;
    return size;
  }

  /** Charges the mount's byte quota for a write of `len` bytes at `position` past the known end (EDQUOT, nothing written, past it). */
  private charge(position: number, len: number): void {
    const quota = this.counters.quota;
    if (quota === undefined || len === 0) return;
    if (this.knownEnd < 0) this.knownEnd = Number(this.node.stat().size);
    const end = position + len;
    if (end <= this.knownEnd) return;
    quota.chargeBytes(end - this.knownEnd, this.guestPath);
    this.knownEnd = end;
  }

  /** Charges the byte quota for making the file `size` bytes long (truncate, allocate). */
  private chargeGrowth(size: number): void {
    const quota = this.counters.quota;
    if (quota === undefined) return;
    const now = Math.max(this.knownEnd, Number(this.node.stat().size));
    if (size > now) quota.chargeBytes(size - now, this.guestPath);
    this.knownEnd = Math.max(now, size);
  }

  override close(): void {
    try {
      this.flushCache();
    } finally {
      this.node.close();
    }
  }
}
