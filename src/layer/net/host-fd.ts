// A bridged stream's host socket descriptor, lent to the enclave that owns
// the stream so it can write to the host socket itself (fs.writevSync on the
// non-blocking descriptor) instead of handing every send to the host thread's
// pump: a send then costs one system call and no wake-up of another thread.
//
// The descriptor number is only safe to use while the host socket is open: a
// closed number is soon another file's. So the lease is a shared word the
// enclave takes (FREE -> IN_USE) for the one non-blocking system call of a
// write and gives back at once, and the host revokes it (FREE -> REVOKED)
// before Node may close the descriptor, waiting (asynchronously) for a write
// in progress to end. An enclave whose thread is gone can hold it no longer:
// the host then revokes it outright.
//
// The enclave writes only while its send queue is empty (the host's pump has
// handed everything before to the socket), so the byte order is the guest's.

import fs from 'node:fs';

const FD = 0;
const STATE = 1;
const WORDS = 2;

const FREE = 0;
const IN_USE = 1;
const REVOKED = 2;

/** What a direct write did. */
export const DIRECT_UNAVAILABLE = -1;

export class HostFdLease {
  private readonly words: Int32Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }

  static create(): HostFdLease {
    const lease = new HostFdLease(new SharedArrayBuffer(WORDS * 4));
    Atomics.store(lease.words, FD, -1);
    return lease;
  }

  /** Host: the socket is connected and its descriptor is `fd`. */
  lend(fd: number): void {
    if (fd >= 0 && Atomics.load(this.words, STATE) !== REVOKED) Atomics.store(this.words, FD, fd);
  }

  get revoked(): boolean {
    return Atomics.load(this.words, STATE) === REVOKED;
  }

  /** Host: resolves once the enclave can no longer use the descriptor (after a write in progress). */
  async revoke(): Promise<void> {
    for (;;) {
      const was = Atomics.compareExchange(this.words, STATE, FREE, REVOKED);
      if (was !== IN_USE) return;
      const r = Atomics.waitAsync(this.words, STATE, IN_USE);
      if (r.async) await r.value;
    }
  }

  /** Host: the owner's thread is gone, so nothing can be using the descriptor. */
  revokeNow(): void {
    Atomics.store(this.words, STATE, REVOKED);
    Atomics.notify(this.words, STATE);
  }

  /**
   * Enclave: writes `bufs` (at most `total` bytes) to the host socket.
   * Returns the bytes the kernel took (0 when its buffer is full), or
   * DIRECT_UNAVAILABLE when there is no descriptor to use (not connected yet,
   * revoked) or the write failed: the caller then queues the bytes for the
   * host, whose own write reports the failure as it always has.
   */
  write(bufs: Uint8Array[]): number {
    if (Atomics.compareExchange(this.words, STATE, FREE, IN_USE) !== FREE) return DIRECT_UNAVAILABLE;
    try {
      const fd = Atomics.load(this.words, FD);
      if (fd < 0) return DIRECT_UNAVAILABLE;
      return bufs.length === 1 ? fs.writeSync(fd, bufs[0]!) : fs.writevSync(fd, bufs);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? 0 : DIRECT_UNAVAILABLE;
    } finally {
      Atomics.store(this.words, STATE, FREE);
      Atomics.notify(this.words, STATE);
    }
  }
}
