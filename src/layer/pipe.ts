// fd_pipe: a pipe inside one guest, its two ends descriptors over one
// bounded buffer. Both ends live in the guest's own thread, so a read that
// would wait for a write (or a write for a read) could only wait for ever:
// it fails with EAGAIN instead, as if the end were non-blocking.

import { Errno, SysError } from '../core/errno.js';
import { Filetype, Rights } from '../core/witx.js';
import { Descriptor, type Readiness } from './descriptor.js';

/** Bytes a pipe holds, as Linux's default pipe size. */
export const PIPE_CAPACITY = 65536;

const COMMON = Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET;

class PipeBuffer {
  private chunks: Uint8Array[] = [];
  size = 0;
  readerOpen = true;
  writerOpen = true;

  take(bufs: Uint8Array[]): number {
    let total = 0;
    for (const buf of bufs) {
      let at = 0;
      while (at < buf.byteLength && this.chunks.length > 0) {
        const head = this.chunks[0]!;
        const n = Math.min(head.byteLength, buf.byteLength - at);
        buf.set(head.subarray(0, n), at);
        at += n;
        if (n === head.byteLength) this.chunks.shift();
        else this.chunks[0] = head.subarray(n);
      }
      total += at;
      if (this.chunks.length === 0) break;
    }
    this.size -= total;
    return total;
  }

  put(bufs: Uint8Array[]): number {
    let total = 0;
    for (const buf of bufs) {
      const n = Math.min(buf.byteLength, PIPE_CAPACITY - this.size - total);
      if (n <= 0) break;
      this.chunks.push(buf.slice(0, n));
      total += n;
    }
    this.size += total;
    return total;
  }
}

export class PipeReadEnd extends Descriptor {
  readonly filetype = Filetype.UNKNOWN;
  constructor(private readonly buffer: PipeBuffer) {
    super(Rights.FD_READ | COMMON, 0);
  }

  override read(bufs: Uint8Array[]): number {
    if (this.buffer.size === 0) {
      if (!this.buffer.writerOpen) return 0;
      throw new SysError(Errno.AGAIN);
    }
    return this.buffer.take(bufs);
  }

  override pollRead(): Readiness {
    const b = this.buffer;
    return { ready: b.size > 0 || !b.writerOpen, nbytes: BigInt(b.size), hangup: !b.writerOpen };
  }

  override pollWrite(): Readiness {
    return { ready: false, nbytes: 0n, hangup: false };
  }

  override close(): void {
    this.buffer.readerOpen = false;
  }
}

export class PipeWriteEnd extends Descriptor {
  readonly filetype = Filetype.UNKNOWN;
  constructor(private readonly buffer: PipeBuffer) {
    super(Rights.FD_WRITE | COMMON, 0);
  }

  override write(bufs: Uint8Array[]): number {
    if (!this.buffer.readerOpen) throw new SysError(Errno.PIPE);
    const wanted = bufs.reduce((n, b) => n + b.byteLength, 0);
    if (wanted === 0) return 0;
    const n = this.buffer.put(bufs);
    if (n === 0) throw new SysError(Errno.AGAIN);
    return n;
  }

  override pollRead(): Readiness {
    return { ready: false, nbytes: 0n, hangup: false };
  }

  override pollWrite(): Readiness {
    const b = this.buffer;
    return { ready: b.size < PIPE_CAPACITY || !b.readerOpen, nbytes: BigInt(PIPE_CAPACITY - b.size), hangup: !b.readerOpen };
  }

  override close(): void {
    this.buffer.writerOpen = false;
  }
}

/** A new pipe: [read end, write end]. */
export function makePipe(): [PipeReadEnd, PipeWriteEnd] {
  const buffer = new PipeBuffer();
  return [new PipeReadEnd(buffer), new PipeWriteEnd(buffer)];
}
