// A bridged stream's host socket descriptor, lent to the enclave that owns
// the stream so it can write to the host socket itself (fs.writevSync on the
// non-blocking descriptor) instead of handing every send to the host thread's
// pump, and read from it itself while the host has handed it its reads: a
// send or a receive then costs one system call and no wake-up of another
// thread.
//
// The descriptor number is only safe to use while the host socket is open: a
// closed number is soon another file's. So the lease is a shared word the
// enclave takes (FREE -> IN_USE) for the one non-blocking system call of a
// write or a read and gives back at once, and the host revokes it (FREE ->
// REVOKED) before Node may close the descriptor, waiting (asynchronously) for
// a call in progress to end. An enclave whose thread is gone can hold it no
// longer: the host then revokes it outright.
//
// The enclave writes only while its send queue is empty (the host's pump has
// handed everything before to the socket), so the byte order is the guest's.
//
// Reads have one reader at a time, named by the READER word, so the order is
// the peer's: the host (Node reads the socket and its pump fills the receive
// queue), or the enclave. The enclave gives its reads back before it sleeps
// (only Node can learn that a socket has become readable), asking for them
// again (WANTED) when its peer answers quickly; the host then, right after
// it has put its next bytes in the receive queue, stops Node's reads and,
// once everything Node read is in the queue, grants them (WANTED ->
// ENCLAVE). The enclave empties the queue before it reads the socket. The
// host takes the reads back itself when the stream is released or its owner
// is gone, after any read in progress (the IN_USE hold). A read that fails
// (a reset) is handed to the host with its errno in FAILED, so the end of
// the connection takes the host's one path. End of stream is no error: a
// socket keeps reading it, so the host's next read sees it too.

import fs from 'node:fs';

const FD = 0;
const STATE = 1;
const READER = 2;
const FAILED = 3;
const WORDS = 4;

const FREE = 0;
const IN_USE = 1;
const REVOKED = 2;

/** The most buffers one readv takes (Linux's IOV_MAX). */
const IOV_MAX = 1024;
/** What a failed read of a connected socket says when the connection is broken. */
const BROKEN = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ENOTCONN']);

/** Who reads the host socket (the READER word). */
export const Reader = {
  HOST: 0,
  /** The host reads, and hands the reads to the enclave once it has delivered what it read. */
  WANTED: 1,
  ENCLAVE: 2,
} as const;

/** What a direct write or read did. */
export const DIRECT_UNAVAILABLE = -1;
/** A direct read found nothing to read (EAGAIN). */
export const DIRECT_AGAIN = -2;
/** A direct read failed (the connection broke); the errno is the host's to report. */
export const DIRECT_FAILED = -3;

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

  get lent(): boolean {
    return Atomics.load(this.words, FD) >= 0 && !this.revoked;
  }

  get revoked(): boolean {
    return Atomics.load(this.words, STATE) === REVOKED;
  }

  /** Host: resolves once the enclave can no longer use the descriptor (after a call in progress). */
  async revoke(): Promise<void> {
    for (;;) {
      const was = Atomics.compareExchange(this.words, STATE, FREE, REVOKED);
      if (was !== IN_USE) return;
      await this.notInUse();
    }
  }

  /** Host: resolves once no system call of the enclave is in progress. */
  async notInUse(): Promise<void> {
    while (Atomics.load(this.words, STATE) === IN_USE) {
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
      this.release();
    }
  }

  /** Who reads the socket now. */
  get reader(): number {
    return Atomics.load(this.words, READER);
  }

  /**
   * Enclave: the host reads the socket again (the enclave must let it before
   * it sleeps: only Node learns when a socket becomes readable). With
   * `again`, the host hands the reads back right after it has delivered its
   * next bytes to the receive queue.
   */
  giveBackReads(again = false): void {
    // Only reads the enclave held need the host to start its own again.
    if (Atomics.exchange(this.words, READER, again ? Reader.WANTED : Reader.HOST) === Reader.ENCLAVE) {
      Atomics.notify(this.words, READER);
    }
  }

  /**
   * Enclave: reads into `bufs` from the host socket while the reads are its.
   * Returns the bytes read, 0 at end of stream, DIRECT_AGAIN when nothing is
   * there yet, DIRECT_UNAVAILABLE when the reads are the host's (or the
   * descriptor is revoked), DIRECT_FAILED when the connection broke: its
   * errno is then the host's (failure()), and the reads are given back.
   */
  read(bufs: Uint8Array[]): number {
    if (Atomics.compareExchange(this.words, STATE, FREE, IN_USE) !== FREE) return DIRECT_UNAVAILABLE;
    let failed = 0;
    // A failed read is an exception; without stack traces it costs half as much (spinning readers make many).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      const fd = Atomics.load(this.words, FD);
      if (fd < 0 || Atomics.load(this.words, READER) !== Reader.ENCLAVE) return DIRECT_UNAVAILABLE;
      // More buffers than one system call takes: a short read, as a native recv would be for these sizes.
      return bufs.length === 1 ? fs.readSync(fd, bufs[0]!) : fs.readvSync(fd, bufs.length > IOV_MAX ? bufs.slice(0, IOV_MAX) : bufs);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EAGAIN' || e.code === 'EINTR') return DIRECT_AGAIN;
      // Only a broken connection ends the stream; anything else leaves the reading to the host.
      if (!BROKEN.has(e.code ?? '') || typeof e.errno !== 'number') return DIRECT_UNAVAILABLE;
      failed = e.errno;
      return DIRECT_FAILED;
    } finally {
      Error.stackTraceLimit = limit;
      this.release();
      if (failed !== 0) {
        Atomics.store(this.words, FAILED, failed);
        this.giveBackReads();
      }
    }
  }

  /** Host: the (negative, libuv) errno of a direct read that failed, or 0. */
  get failure(): number {
    return Atomics.load(this.words, FAILED);
  }

  /** Host: grants the reads the enclave asked for; false if it asks no longer. */
  grantReads(): boolean {
    const ok = Atomics.compareExchange(this.words, READER, Reader.WANTED, Reader.ENCLAVE) === Reader.WANTED;
    if (ok) Atomics.notify(this.words, READER);
    return ok;
  }

  /** Host: takes the reads back (the enclave may still be in a read: wait with notInUse()). */
  takeBackReads(): void {
    Atomics.store(this.words, READER, Reader.HOST);
    Atomics.notify(this.words, READER);
  }

  /** Host: resolves when the READER word is no longer `seen`. */
  async readerChange(seen: number): Promise<void> {
    const r = Atomics.waitAsync(this.words, READER, seen);
    if (r.async) await r.value;
  }

  private release(): void {
    Atomics.store(this.words, STATE, FREE);
    Atomics.notify(this.words, STATE);
  }
}
