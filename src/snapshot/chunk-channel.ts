// How a resume's authenticated chunks travel from the unsealing thread to
// the enclave (enclave/unseal-thread.ts): each chunk's plaintext pieces, the
// buffers the decipher returned, are transferred through a MessagePort (no
// copy, and no plaintext left behind in the sending thread), and a small
// shared control block says how many are in flight, wakes the side that
// waits, and carries a failure or the enclave's "stop". The unsealing thread
// reads and decrypts the next chunks while the enclave copies the ones
// before into guest memory, so the two halves of the work run on two cores.
// A chunk is sent only once its tag has been checked: nothing
// unauthenticated ever reaches the enclave. The enclave zeroes every piece
// once copied, and whatever it did not take when it stops.

import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import {
  DONE, EPOCH, FAILED, RUNNING, SENT, SILENT, STATUS, STOPPED, TAKEN, bump, drainChunks, end, failureOf, silent, words, type ChunkMessage,
} from './chunk-control.js';

/** Chunks sent and not yet taken, at most (1 MiB each by default). */
const MAX_IN_FLIGHT = 8;
/** How long a stopping enclave waits for the unsealing thread to say it sends no more (it is between two chunks). */
const STOP_WAIT_MS = 2000;

/**
 * A port whose other end is closed: a buffer transferred to it is dropped
 * with its message, its memory freed at once (a buffer sent from another
 * thread goes back to that thread's allocator).
 */
let discardPort: MessagePort | undefined;
function discard(buffers: ArrayBuffer[]): void {
  if (discardPort === undefined) {
    const c = new MessageChannel();
    c.port2.close();
    c.port1.unref();
    discardPort = c.port1;
  }
  discardPort.postMessage(null, buffers);
}

/** The unsealing thread's side: sends authenticated chunks, in order. */
export class ChunkSender {
  private readonly w: Int32Array;
  private sent = 0;
  private closed = false;

  constructor(private readonly port: MessagePort, private readonly sab: SharedArrayBuffer) {
    this.w = words(sab);
  }

  /**
   * Sends one authenticated chunk's plaintext (its pieces, which leave this
   * thread), waiting while too many are in flight. False if the resume was
   * given up (the pieces are then zeroed here, not sent).
   */
  send(pieces: Buffer[]): boolean {
    for (;;) {
      if (Atomics.load(this.w, STATUS) !== RUNNING) {
        for (const p of pieces) p.fill(0);
        return false;
      }
      const taken = Atomics.load(this.w, TAKEN);
      if (this.sent - taken < MAX_IN_FLIGHT) break;
      Atomics.wait(this.w, TAKEN, taken);
    }
    // Each piece is moved, not copied: one that does not own its whole buffer is copied out first.
    const buffers = pieces.map((p) => {
      if (p.byteOffset === 0 && p.buffer.byteLength === p.length && !(p.buffer instanceof SharedArrayBuffer)) return p.buffer as ArrayBuffer;
      const own = new Uint8Array(p).buffer;
      p.fill(0);
      return own;
    });
    const m: ChunkMessage = { pieces: buffers };
    this.port.postMessage(m, buffers);
    this.sent++;
    Atomics.store(this.w, SENT, this.sent);
    bump(this.w, EPOCH);
    return true;
  }

  /** The final chunk is sent: the enclave reads to the end. */
  finish(): void {
    end(this.sab, DONE);
  }

  /** The snapshot cannot be read on: the enclave throws this line, with this exit code, instead of its next chunk. */
  fail(code: number, message: string): void {
    end(this.sab, FAILED, { code, message });
  }

  /** Nothing more is sent from here on (said as soon as that is so, whatever happened; again is harmless). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    silent(this.w);
    this.port.close();
  }
}

/**
 * The enclave's side: the snapshot's chunks, authenticated, as the
 * unsealing thread sends them (a ChunkSource of payload.ts).
 */
export class ChunkReceiver {
  private readonly w: Int32Array;
  private taken = 0;
  private holding = false;
  private held: ArrayBuffer[] = [];
  private ended = false;

  constructor(readonly file: string, private readonly port: MessagePort, private readonly sab: SharedArrayBuffer) {
    this.w = words(sab);
  }

  /**
   * The next chunk's plaintext pieces (the caller zeroes them), or undefined
   * after the final one. While it waits, `idle` is called for work that
   * needs no chunk (it returns false when it has none left).
   */
  nextPieces(idle?: () => boolean): Promise<Buffer[] | undefined> {
    if (this.holding) {
      this.holding = false;
      // The caller zeroed them: they are freed now, not at this thread's next garbage collection, so
      // that the unsealing thread's next pieces reuse their memory instead of faulting in new pages.
      discard(this.held.filter((ab) => ab.byteLength > 0));
      this.held = [];
      this.taken++;
      Atomics.store(this.w, TAKEN, this.taken);
      Atomics.notify(this.w, TAKEN);
    }
    if (this.ended) return Promise.resolve(undefined);
    let idleWork = idle !== undefined;
    for (;;) {
      // Read before looking, so that a chunk sent after the look wakes the wait below.
      const epoch = Atomics.load(this.w, EPOCH);
      const status = Atomics.load(this.w, STATUS);
      const m = receiveMessageOnPort(this.port);
      if (m !== undefined) {
        this.holding = true;
        this.held = (m.message as ChunkMessage).pieces;
        return Promise.resolve(this.held.map((ab) => Buffer.from(ab)));
      }
      // DONE is set after the last chunk was sent, so none can still be on its way.
      if (status === DONE) {
        this.ended = true;
        return Promise.resolve(undefined);
      }
      if (status === FAILED) return Promise.reject(failureOf(this.sab));
      if (status === STOPPED) return Promise.reject(new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `the resume of '${this.file}' was given up`));
      if (idleWork) idleWork = idle!();
      else Atomics.wait(this.w, EPOCH, epoch);
    }
  }

  /** Read to the end, or given up: see closeReceiving(). */
  close(): void {
    closeReceiving(this.port, this.sab);
  }
}

/**
 * The enclave is done with its end of the channel (read to the end, given
 * up, or never begun): the unsealing thread is told to stop, and once it
 * sends no more, every piece still queued is zeroed.
 */
export function closeReceiving(port: MessagePort, sab: SharedArrayBuffer): void {
  const w = words(sab);
  // Done or failed, the unsealing thread has sent its last chunk already; only a stop may find it between two.
  const settled = Atomics.load(w, STATUS) === DONE || Atomics.load(w, STATUS) === FAILED;
  end(sab, STOPPED);
  const deadline = performance.now() + STOP_WAIT_MS;
  for (let left = STOP_WAIT_MS; !settled && Atomics.load(w, SILENT) === 0 && left > 0; left = deadline - performance.now()) {
    Atomics.wait(w, SILENT, 0, left);
  }
  drainChunks(port);
  port.close();
}
