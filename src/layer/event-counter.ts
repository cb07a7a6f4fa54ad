// fd_event (eventfd): a 64-bit counter behind a descriptor. A write of 8
// bytes adds to it, a read of 8 bytes takes it (or 1, as a semaphore).
// The guest is its only user, so a read of zero (or a write past the
// maximum) fails with EAGAIN rather than waiting for ever.

import { Errno, SysError } from '../core/errno.js';
import { Filetype, Rights } from '../core/witx.js';
import { Descriptor, type Readiness } from './descriptor.js';

const MAX = 0xfffffffffffffffen;

function gather(bufs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(8);
  let at = 0;
  for (const b of bufs) {
    const n = Math.min(b.byteLength, 8 - at);
    out.set(b.subarray(0, n), at);
    at += n;
    if (at === 8) return out;
  }
  throw new SysError(Errno.INVAL);
}

function scatter(bufs: Uint8Array[], bytes: Uint8Array): void {
  let at = 0;
  for (const b of bufs) {
    const n = Math.min(b.byteLength, 8 - at);
    b.set(bytes.subarray(at, at + n));
    at += n;
    if (at === 8) return;
  }
  throw new SysError(Errno.INVAL);
}

export class EventCounter extends Descriptor {
  readonly filetype = Filetype.UNKNOWN;

  constructor(private value: bigint, private readonly semaphore: boolean) {
    super(Rights.FD_READ | Rights.FD_WRITE | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET, 0);
  }

  override read(bufs: Uint8Array[]): number {
    if (bufs.reduce((n, b) => n + b.byteLength, 0) < 8) throw new SysError(Errno.INVAL);
    if (this.value === 0n) throw new SysError(Errno.AGAIN);
    const taken = this.semaphore ? 1n : this.value;
    this.value -= taken;
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, taken, true);
    scatter(bufs, bytes);
    return 8;
  }

  override write(bufs: Uint8Array[]): number {
    const add = new DataView(gather(bufs).buffer).getBigUint64(0, true);
    if (add === 0xffffffffffffffffn) throw new SysError(Errno.INVAL);
    if (this.value + add > MAX) throw new SysError(Errno.AGAIN);
    this.value += add;
    return 8;
  }

  override pollRead(): Readiness {
    return { ready: this.value > 0n, nbytes: 8n, hangup: false };
  }

  override pollWrite(): Readiness {
    return { ready: this.value < MAX, nbytes: 8n, hangup: false };
  }
}
