// An open regular file. The layer keeps the file position itself and does
// every transfer at an explicit offset, so APPEND can be switched on and off
// with fd_fdstat_set_flags and seek never needs the host.

import { Errno, SysError } from '../../core/errno.js';
import { FdFlags, Filetype, Whence } from '../../core/witx.js';
import { Descriptor } from '../descriptor.js';
import type { FileNode, NodeStat, TimeSpec } from './backend.js';

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
    this.node.sync();
  }

  override datasync(): void {
    this.node.datasync();
  }

  override advise(_offset: number, _len: number, _advice: number): void {
    // Advice is a hint; accepted and ignored, as the host may also do.
  }

  override allocate(offset: number, len: number): void {
    this.node.allocate(offset, len);
  }

  override close(): void {
    this.node.close();
  }
}
