// Standard streams across the enclave boundary, the enclave's side: guest
// output into the shared output ring, guest input out of the input ring (see
// stdio.ts for the host's side and the formats).

import { Errno, SysError } from '../core/errno.js';
import type { Readiness } from '../layer/descriptor.js';
import { Ring, RingFlag } from '../layer/ring.js';
import { waitForData, waitForSpace, waitUntil } from '../layer/ring-wait.js';
import type { StreamSink, StreamSource } from '../layer/stdio.js';
import { Control } from './protocol.js';
import { INPUT_WANTED, MAX_PENDING_RUNS, RECORD_HEADER } from './stdio.js';

const MAX_RECORD = 0xffffff;

/** Enclave side of the output ring. */
export class OutputWriter implements StreamSink {
  private readonly maxRecord: number;

  /** Runs started so far (wrapping), counted at each switch of stream; the host publishes how many it took. */
  private runs = 0;
  private lastFd = -1;
  private readonly pending = (): number => (this.runs - Atomics.load(this.control, Control.OUTPUT_RUNS_TAKEN)) | 0;
  private readonly roomForRun = (): boolean => this.pending() < MAX_PENDING_RUNS || this.ring.flag(RingFlag.READER_CLOSED);

  /** `control` holds a bit per fd whose host stream has gone away (EPIPE from then on) and the runs the host took. */
  constructor(private readonly ring: Ring, private readonly control: Int32Array) {
    this.maxRecord = Math.min(MAX_RECORD, ring.capacity - RECORD_HEADER);
  }

  /** Appends `len` bytes of `src` from `start` as one record of `fd`. */
  private record(fd: number, src: Uint8Array, start: number, len: number): void {
    if (fd !== this.lastFd) {
      if (this.pending() >= MAX_PENDING_RUNS) waitUntil(this.ring, false, this.roomForRun, Infinity);
      // Counted before it is published, so the host never takes a run not yet counted.
      this.runs = (this.runs + 1) | 0;
      this.lastFd = fd;
    }
    while (!this.ring.tryWriteRecord(fd, src, start, len)) {
      if (this.ring.flag(RingFlag.READER_CLOSED)) throw new SysError(Errno.PIPE);
      waitForSpace(this.ring, len + RECORD_HEADER);
    }
  }

  private checkOpen(fd: number): void {
    if (Atomics.load(this.control, Control.CLOSED_OUTPUTS) & (1 << fd) || this.ring.flag(RingFlag.READER_CLOSED)) {
      throw new SysError(Errno.PIPE);
    }
  }

  /** Writes `len` bytes of `src` from `start` (guest memory, with no view made per call). */
  writeFrom(fd: number, src: Uint8Array, start: number, len: number): number {
    this.checkOpen(fd);
    // One record per piece: records of one stream are merged again on the host side.
    for (let off = 0; off < len; off += this.maxRecord) this.record(fd, src, start + off, Math.min(this.maxRecord, len - off));
    return len;
  }

  write(fd: number, bufs: Uint8Array[]): number {
    this.checkOpen(fd);
    let total = 0;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      total += b.byteLength;
      for (let off = 0; off < b.byteLength; off += this.maxRecord) this.record(fd, b, off, Math.min(this.maxRecord, b.byteLength - off));
    }
    return total;
  }

  writable(): boolean {
    return this.ring.free > RECORD_HEADER;
  }

  flush(): void {
    while (this.ring.used > 0 && !this.ring.flag(RingFlag.READER_CLOSED)) {
      waitForSpace(this.ring, this.ring.capacity, 50);
    }
  }
}

/** Enclave side of the input ring. */
export class InputReader implements StreamSource {
  constructor(private readonly ring: Ring) {}

  private want(): void {
    if (!this.ring.flag(INPUT_WANTED)) this.ring.setFlag(INPUT_WANTED);
  }

  read(buf: Uint8Array, nonblocking: boolean): number {
    this.want();
    for (;;) {
      const n = this.ring.tryRead(buf);
      if (n > 0) return n;
      if (this.ring.flag(RingFlag.WRITER_CLOSED)) {
        // Bytes may have landed between the read and the flag check.
        return this.ring.tryRead(buf);
      }
      if (nonblocking) return -1;
      waitForData(this.ring);
    }
  }

  readiness(): Readiness {
    this.want();
    const used = this.ring.used;
    const eof = this.ring.flag(RingFlag.WRITER_CLOSED);
    return { ready: used > 0 || eof, nbytes: BigInt(used), hangup: eof && used === 0 };
  }
}
