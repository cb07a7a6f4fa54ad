// How a resume's authenticated chunks travel from the unsealing thread to
// the enclave (enclave/unseal-thread.ts): each chunk's plaintext pieces, the
// buffers the decipher returned, are transferred through a MessagePort (no
// copy, and no plaintext left behind in the sending thread), and a small
// shared control block says how many are in flight, wakes the side that
// waits, and carries a failure or the enclave's "stop". The unsealing thread
// reads and decrypts the next chunks while the enclave copies the ones
// before into guest memory, so the two halves of the work run on two cores.
// A chunk is sent only once its tag has been checked: nothing
// unauthenticated ever reaches the enclave. Each piece the enclave has
// copied goes back to the unsealing thread, which zeroes and frees it (the
// enclave's thread is the busier one); the enclave zeroes those it cannot
// give back, and whatever it did not take when it stops.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { releaseBuffer } from '../core/release-buffer.js';
import {
  DONE, EPOCH, FAILED, REFUSING, RETURNING, RUNNING, SENT, SILENT, STATUS, STOPPED, TAKEN, bump, claimOwnChunk, drainChunks, end, failureOf, silent, words, zeroPieces,
  type ChunkMessage, type ReturnMessage,
} from './chunk-control.js';

/** The enclave's own reader of the snapshot (a SnapshotReader): the first chunks, while the unsealing thread starts. */
export interface OwnChunks {
  readonly header: { salt: string };
  nextPieces(): Promise<Buffer[] | undefined>;
  close(): Promise<void>;
}

/** Chunks sent and not yet taken, at most (1 MiB each by default). */
const MAX_IN_FLIGHT = 8;
/** How long a stopping enclave waits for the unsealing thread to say it sends no more (it is between two chunks). */
const STOP_WAIT_MS = 2000;

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
      // The pieces the enclave has copied come back to be zeroed here, off its thread.
      drainChunks(this.port);
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
      releaseBuffer(p);
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

  /**
   * Nothing more is sent from here on (said as soon as that is so, whatever
   * happened; again is harmless). No piece is taken back after this either:
   * one given back meanwhile is waited for (a post takes microseconds) and
   * zeroed, and the enclave zeroes the rest itself.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.w, REFUSING, 1);
    const deadline = performance.now() + STOP_WAIT_MS;
    for (let n = Atomics.load(this.w, RETURNING); n !== 0 && performance.now() < deadline; n = Atomics.load(this.w, RETURNING)) {
      Atomics.wait(this.w, RETURNING, n, 10);
    }
    drainChunks(this.port);
    silent(this.w);
    this.port.close();
  }
}

/**
 * The enclave's side: the snapshot's chunks, authenticated, as the
 * unsealing thread sends them (a ChunkSource of payload.ts). Given a reader
 * of its own, the enclave decrypts the first chunks itself until the thread
 * is ready (starting a thread takes tens of ms, which the enclave would
 * spend waiting), and the thread goes on from the chunk after its last.
 */
export class ChunkReceiver {
  private readonly w: Int32Array;
  private taken = 0;
  private holding = false;
  private held: ArrayBuffer[] = [];
  private ended = false;
  private own: OwnChunks | undefined;
  private ownClaimed = 0;
  private ownGiven = 0;
  private ownClosed: Promise<void> = Promise.resolve();
  /** The enclave read the final chunk itself: the unsealing thread has nothing after it to send. */
  private endedAlone = false;

  constructor(readonly file: string, private readonly port: MessagePort, private readonly sab: SharedArrayBuffer) {
    this.w = words(sab);
  }

  /** Chunks decrypted on this thread, before the unsealing thread took over. */
  get decryptedHere(): number {
    return this.ownGiven;
  }

  /**
   * Decrypts chunks with `reader` until the unsealing thread takes over, if
   * it opened the snapshot the host checked (its header's `salt`); if not
   * (the file was replaced since), it is closed and false returned: the
   * unsealing thread, which checks the same, refuses the file.
   */
  async decryptFirst(reader: OwnChunks, salt: string): Promise<boolean> {
    if (reader.header.salt !== salt) {
      await reader.close();
      return false;
    }
    this.own = reader;
    return true;
  }

  /** The enclave's next chunk from its own reader, or undefined once the unsealing thread has taken over. */
  private async ownPieces(): Promise<Buffer[] | undefined> {
    const own = this.own!;
    if (Atomics.load(this.w, STATUS) === STOPPED) throw new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `the resume of '${this.file}' was given up`);
    if (claimOwnChunk(this.sab, this.ownClaimed)) {
      this.ownClaimed++;
      const pieces = await own.nextPieces();
      if (pieces === undefined) this.ended = this.endedAlone = true;
      else this.ownGiven++;
      return pieces;
    }
    this.own = undefined;
    this.ownClosed = own.close().catch(() => undefined);
    return undefined;
  }

  /**
   * The next chunk's plaintext pieces, or undefined after the final one;
   * the ones before are zeroed once this is called (here, or by the
   * unsealing thread they go back to). While it waits, `idle` is called for work that
   * needs no chunk (it returns false when it has none left).
   */
  async nextPieces(idle?: () => boolean): Promise<Buffer[] | undefined> {
    if (this.own !== undefined && !this.ended) {
      const pieces = await this.ownPieces();
      if (pieces !== undefined || this.ended) return pieces;
    }
    return this.channelPieces(idle);
  }

  private channelPieces(idle?: () => boolean): Promise<Buffer[] | undefined> {
    if (this.holding) {
      this.holding = false;
      this.giveBack(this.held);
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

  /**
   * The pieces of a chunk the enclave is done with go back to the unsealing
   * thread, which zeroes and frees them while the enclave copies the next
   * (and its next pieces reuse their memory); zeroed here once that thread
   * takes none back (it is closing, or gone).
   */
  private giveBack(pieces: ArrayBuffer[]): void {
    Atomics.add(this.w, RETURNING, 1);
    try {
      // Said before REFUSING is looked at: a sender that set it waits until this post is done, then drains it.
      if (Atomics.load(this.w, REFUSING) === 0) {
        const m: ReturnMessage = { back: pieces };
        this.port.postMessage(m, pieces);
        return;
      }
    } catch {
      // Not posted: zeroed below.
    } finally {
      Atomics.sub(this.w, RETURNING, 1);
      Atomics.notify(this.w, RETURNING);
    }
    zeroPieces(pieces);
  }

  /** Read to the end, or given up: see closeReceiving(); the enclave's own reader is closed too. */
  async close(): Promise<void> {
    if (this.holding) {
      this.holding = false;
      zeroPieces(this.held);
      this.held = [];
    }
    closeReceiving(this.port, this.sab, this.endedAlone);
    if (this.own !== undefined) {
      const own = this.own;
      this.own = undefined;
      this.ownClosed = own.close().catch(() => undefined);
    }
    await this.ownClosed;
  }
}

/**
 * The enclave is done with its end of the channel (read to the end, given
 * up, or never begun): the unsealing thread is told to stop, and once it
 * sends no more, every piece still queued is zeroed. `nothingToCome`: the
 * enclave read the final chunk itself, so the thread sends nothing at all.
 */
export function closeReceiving(port: MessagePort, sab: SharedArrayBuffer, nothingToCome = false): void {
  const w = words(sab);
  // Done or failed, the unsealing thread has sent its last chunk already; only a stop may find it between two.
  const settled = nothingToCome || Atomics.load(w, STATUS) === DONE || Atomics.load(w, STATUS) === FAILED;
  end(sab, STOPPED);
  const deadline = performance.now() + STOP_WAIT_MS;
  for (let left = STOP_WAIT_MS; !settled && Atomics.load(w, SILENT) === 0 && left > 0; left = deadline - performance.now()) {
    Atomics.wait(w, SILENT, 0, left);
  }
  drainChunks(port);
  port.close();
}
