// The guest's standard streams. Bytes do not go to the host here: they go
// to a StreamSink / come from a StreamSource that the enclave wires to the
// host thread (see src/enclave/stdio.ts), so output is streamed, counted and
// capped in one place.

import { Errno, SysError } from '../core/errno.js';
import { Filetype, Rights } from '../core/witx.js';
import { Descriptor, type Readiness } from './descriptor.js';

export interface StreamSink {
  /** Writes every byte of `bufs` (blocking while the host catches up); returns the count. */
  write(fd: number, bufs: Uint8Array[]): number;
  /** Writes `len` bytes of `src` from `start`, as write() does. */
  writeFrom(fd: number, src: Uint8Array, start: number, len: number): number;
  /** True if a write would not block now. */
  writable(): boolean;
  /** Returns once everything written so far has left the enclave. */
  flush(): void;
}

export interface StreamSource {
  /** Reads into buf, blocking until at least one byte or end of input; 0 means end, -1 means nothing yet (nonblocking). */
  read(buf: Uint8Array, nonblocking: boolean): number;
  readiness(): Readiness;
}

export const STDIN_RIGHTS = Rights.FD_READ | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET;
export const STDOUT_RIGHTS = Rights.FD_WRITE | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET;

/** isatty() in wasi-libc means: a character device without seek rights. */
function filetypeFor(isTerminal: boolean): number {
  return isTerminal ? Filetype.CHARACTER_DEVICE : Filetype.UNKNOWN;
}

export class InputStream extends Descriptor {
  readonly filetype: number;

  constructor(private readonly source: StreamSource, isTerminal: boolean) {
    super(STDIN_RIGHTS, 0);
    this.filetype = filetypeFor(isTerminal);
  }

  override read(bufs: Uint8Array[]): number {
    let total = 0;
    for (const buf of bufs) {
      if (buf.byteLength === 0) continue;
      // Block only for the first byte; then take what is already there.
      const n = this.source.read(buf, total > 0 || (this.fdflags & 4) !== 0);
      if (n < 0) {
        if (total === 0) throw new SysError(Errno.AGAIN);
        break;
      }
      total += n;
      if (n < buf.byteLength) break;
    }
    return total;
  }

  override pollRead(): Readiness {
    return this.source.readiness();
  }

  override sync(): void {}
  override datasync(): void {}
}

export class OutputStream extends Descriptor {
  readonly filetype: number;

  constructor(private readonly sink: StreamSink, private readonly fd: number, isTerminal: boolean) {
    super(STDOUT_RIGHTS, 0);
    this.filetype = filetypeFor(isTerminal);
  }

  override write(bufs: Uint8Array[]): number {
    return this.sink.write(this.fd, bufs);
  }

  /** One buffer of guest memory, handed over as (memory, offset, length): no view is made per call. */
  override writeMemory(memory: Uint8Array, ptr: number, len: number): number {
    return this.sink.writeFrom(this.fd, memory, ptr, len);
  }

  override pollWrite(): Readiness {
    return { ready: this.sink.writable(), nbytes: 0n, hangup: false };
  }

  override sync(): void {
    this.sink.flush();
  }

  override datasync(): void {
    this.sink.flush();
  }
}
