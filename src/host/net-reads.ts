// The host's side of a bridged stream's reads (the READER word of the
// descriptor lease, src/layer/net/host-fd.ts): Node reads the socket until
// the owning enclave has asked to read it itself; then, right after Node's
// next bytes are in the receive queue (the host is awake for them anyway,
// and the enclave about to wake for them), Node's reads are stopped and,
// once everything Node read is in the queue, granted. When the enclave gives
// them back (before it sleeps), or the host takes them back (the stream
// released, its owner gone), Node reads again, after any read of the
// enclave still in progress.
//
// Node starts and stops a socket's reads through its handle's readStart and
// readStop, as its stream wants data or has too much buffered; the gate
// keeps what Node wants and lets it through only while the enclave does not
// hold the reads, so Node can never read behind the enclave's back.

import type net from 'node:net';
import util from 'node:util';
import { HostFdLease, Reader } from '../layer/net/host-fd.js';

interface StreamHandle {
  readStart(): number;
  readStop(): number;
}

export class HostReads {
  /** Whether Node's stream wants its handle reading. */
  private nodeWants = false;
  /** Node's reads are stopped for the enclave (granted, or about to be). */
  private held = false;
  /** Stopped, not granted yet: Node read more before it stopped, and the pump is delivering it. */
  private granting = false;
  private closed = false;
  private failed = false;
  private handle: StreamHandle | undefined;
  private start: (() => number) | undefined;
  private stop: (() => number) | undefined;

  /**
   * `drained()` says whether everything Node has read is in the receive
   * queue; `granted()` wakes the enclave's waits on that queue (the reads
   * are its: it reads the socket instead).
   */
  constructor(private readonly socket: net.Socket, private readonly lease: HostFdLease, private readonly drained: () => boolean,
    private readonly granted: () => void) {}

  /** Puts the gate on the connected socket's handle and starts answering the enclave. */
  attach(): void {
    const handle = (this.socket as unknown as { _handle?: StreamHandle & { reading?: boolean } })._handle;
    if (!handle || this.handle) return;
    this.handle = handle;
    const start = handle.readStart, stop = handle.readStop;
    this.start = () => start.call(handle);
    this.stop = () => stop.call(handle);
    this.nodeWants = handle.reading === true;
    handle.readStart = () => {
      this.nodeWants = true;
      return this.held ? 0 : this.start!();
    };
    handle.readStop = () => {
      this.nodeWants = false;
      return this.stop!();
    };
    void this.watch();
  }

  /**
   * The pump has put what Node read into the receive queue: if the enclave
   * has asked for the reads, Node's stop, and they are granted once the
   * queue holds everything Node read (the pump calls this again until then).
   */
  delivered(): void {
    if (this.closed || !this.handle) return;
    if (this.lease.reader !== Reader.WANTED || !this.lease.lent) {
      // Asked, then withdrawn while Node's reads were stopped for it: Node reads again.
      if (this.granting) {
        this.granting = false;
        void this.resume();
      }
      return;
    }
    if (!this.held) {
      this.held = true;
      if (this.nodeWants) this.stop!();
    }
    this.granting = true;
    if (!this.drained()) return;
    this.granting = false;
    if (this.lease.grantReads()) this.granted();
    else void this.resume();
  }

  /** The stream is released or its owner gone: Node reads again (once no read of the enclave is in progress). */
  takeBack(): void {
    if (this.lease.reader !== Reader.HOST) this.lease.takeBackReads();
  }

  /** The socket is closing: no more grants, and the watch ends. */
  close(): void {
    this.closed = true;
    this.lease.takeBackReads();
  }

  private async watch(): Promise<void> {
    while (!this.closed) {
      const seen = this.lease.reader;
      if (seen !== Reader.ENCLAVE && !this.granting) await this.resume();
      if (this.lease.reader === seen && !this.closed) await this.lease.readerChange(seen);
    }
  }

  /** The reads are not the enclave's (any more): a read of the enclave that failed ends the connection; else Node reads. */
  private async resume(): Promise<void> {
    if (!this.held) return;
    await this.lease.notInUse();
    if (!this.held || this.granting || this.lease.reader === Reader.ENCLAVE) return;
    const errno = this.lease.failure;
    if (errno !== 0 && !this.failed) {
      this.failed = true;
      this.socket.destroy(readError(errno));
      return;
    }
    this.held = false;
    if (this.nodeWants && !this.closed) this.start!();
  }
}

/** The error Node's own read would have reported for `errno` (a negative libuv errno). */
function readError(errno: number): NodeJS.ErrnoException {
  let code = 'ECONNRESET';
  try {
    code = util.getSystemErrorName(errno);
  } catch {
    // Not an errno this system knows: a reset is what a broken read means.
  }
  return Object.assign(new Error(`read ${code}`), { code, errno, syscall: 'read' });
}
