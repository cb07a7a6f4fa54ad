// The staging ring a resume's plaintext passes through on its way from the
// unsealing thread to the enclave (unseal-thread.ts): a SharedArrayBuffer of
// a few chunk-sized slots. The unsealing thread reads and decrypts the next
// chunks while the enclave copies the ones before into guest memory, so the
// two halves of the work run on two cores. A chunk is placed in a slot only
// once its tag has been checked, so nothing unauthenticated ever reaches the
// enclave; each slot is zeroed by the enclave once copied, and the whole
// ring by whoever is last done with it.

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { PIECE_BYTES } from './format.js';

/** Ring bytes at most (slots of one chunk each); at least MIN_SLOTS slots whatever the chunk size. */
const RING_BYTES = 8 << 20;
const MIN_SLOTS = 2;
/** The longest failure message carried (one line naming the cause). */
const MESSAGE_BYTES = 4096;

// Int32 words at the ring's start.
const EPOCH = 0; // bumped (and notified) by the unsealing thread on every change it makes
const WRITTEN = 1; // chunks placed so far
const READ = 2; // chunks the enclave is done with (bumped and notified by it)
const STATUS = 3;
const CODE = 4; // a failure's exit code
const MESSAGE_LENGTH = 5;
const SLOT_COUNT = 6;
const SLOT_BYTES = 7;
const LENGTHS = 8; // then one word per slot: the length of the chunk in it
const RUNNING = 0;
const DONE = 1;
const FAILED = 2;
/** The resume is given up (the enclave ended, or it was refused): the unsealing thread stops. */
const CANCELLED = 3;

function layout(slots: number): { messageAt: number; dataAt: number } {
  const messageAt = (LENGTHS + slots) * 4;
  const dataAt = Math.ceil((messageAt + MESSAGE_BYTES) / 64) * 64;
  return { messageAt, dataAt };
}

/** A ring for chunks of up to `chunkBytes` plaintext bytes. */
export function createStaging(chunkBytes: number): SharedArrayBuffer {
  const slots = Math.max(MIN_SLOTS, Math.floor(RING_BYTES / chunkBytes));
  const sab = new SharedArrayBuffer(layout(slots).dataAt + slots * chunkBytes);
  const words = new Int32Array(sab);
  words[SLOT_COUNT] = slots;
  words[SLOT_BYTES] = chunkBytes;
  return sab;
}

class Ring {
  readonly words: Int32Array;
  readonly slots: number;
  readonly slotBytes: number;
  private readonly dataAt: number;
  private readonly messageAt: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab, 0, LENGTHS);
    this.slots = this.words[SLOT_COUNT]!;
    this.slotBytes = this.words[SLOT_BYTES]!;
    ({ dataAt: this.dataAt, messageAt: this.messageAt } = layout(this.slots));
    if (!(this.slots >= MIN_SLOTS) || !(this.slotBytes >= 1) || this.dataAt + this.slots * this.slotBytes > sab.byteLength) throw new RangeError('not a staging ring');
  }

  slot(index: number): Buffer {
    return Buffer.from(this.sab, this.dataAt + (index % this.slots) * this.slotBytes, this.slotBytes);
  }

  lengthOf(index: number): number {
    return Atomics.load(new Int32Array(this.sab, (LENGTHS + (index % this.slots)) * 4, 1), 0);
  }

  setLength(index: number, length: number): void {
    Atomics.store(new Int32Array(this.sab, (LENGTHS + (index % this.slots)) * 4, 1), 0, length);
  }

  bump(word: number): void {
    Atomics.add(this.words, word, 1);
    Atomics.notify(this.words, word);
  }

  status(): number {
    return Atomics.load(this.words, STATUS);
  }

  /** Sets the final status (the first one set wins) and wakes both sides. */
  end(status: number, failure?: { code: number; message: string }): boolean {
    if (Atomics.compareExchange(this.words, STATUS, RUNNING, status) !== RUNNING) return false;
    if (failure) {
      const text = Buffer.from(failure.message);
      const n = Math.min(text.length, MESSAGE_BYTES);
      text.copy(Buffer.from(this.sab, this.messageAt, MESSAGE_BYTES), 0, 0, n);
      this.words[CODE] = failure.code;
      this.words[MESSAGE_LENGTH] = n;
    }
    this.bump(EPOCH);
    this.bump(READ);
    return true;
  }

  failure(): CapsuleError {
    const n = this.words[MESSAGE_LENGTH]!;
    return new CapsuleError(this.words[CODE]!, Buffer.from(this.sab, this.messageAt, n).toString('utf8'));
  }
}

/** The unsealing thread's side: places authenticated chunks, in order. */
export class StagingWriter {
  private readonly ring: Ring;
  private written = 0;

  constructor(sab: SharedArrayBuffer) {
    this.ring = new Ring(sab);
  }

  /** False once the resume is given up (nothing more is wanted). */
  get wanted(): boolean {
    return this.ring.status() === RUNNING;
  }

  /**
   * Copies one authenticated chunk's plaintext (its pieces) into the next
   * slot, waiting while every slot is full; the pieces are zeroed. False if
   * the resume was given up meanwhile (the chunk is not placed).
   */
  place(pieces: Buffer[]): boolean {
    const w = this.ring.words;
    try {
      for (;;) {
        if (!this.wanted) return false;
        const read = Atomics.load(w, READ);
        if (this.written - read < this.ring.slots) break;
        Atomics.wait(w, READ, read);
      }
      const slot = this.ring.slot(this.written);
      let at = 0;
      for (const p of pieces) {
        if (at + p.length > slot.length) throw new RangeError('a chunk is larger than its slot');
        p.copy(slot, at);
        at += p.length;
      }
      this.ring.setLength(this.written, at);
      this.written++;
      Atomics.store(w, WRITTEN, this.written);
      this.ring.bump(EPOCH);
      return true;
    } finally {
      for (const p of pieces) p.fill(0);
    }
  }

  /** The final chunk is placed: the enclave reads to the end. */
  finish(): void {
    this.ring.end(DONE);
  }

  /** The snapshot cannot be read on: the enclave throws this line, with this exit code, instead of its next chunk. */
  fail(code: number, message: string): void {
    this.ring.end(FAILED, { code, message });
  }
}

/** Gives up a resume: the unsealing thread stops at its next chunk (the host's side, when the run ends or fails). */
export function cancelStaging(sab: SharedArrayBuffer): void {
  new Ring(sab).end(CANCELLED);
}

/** Records a failure of the unsealing thread itself (it died): the enclave refuses the resume with this line. */
export function failStaging(sab: SharedArrayBuffer, message: string): void {
  new Ring(sab).end(FAILED, { code: ExitCode.SNAPSHOT_REFUSED, message });
}

/** Zeroes the whole ring: whatever plaintext a slot still held is gone. */
export function wipeStaging(sab: SharedArrayBuffer): void {
  const ring = new Ring(sab);
  new Uint8Array(sab, ring.slot(0).byteOffset).fill(0);
}

/**
 * The enclave's side: the snapshot's chunks, authenticated, as the unsealing
 * thread places them (the ChunkSource of payload.ts).
 */
export class StagedChunks {
  private readonly ring: Ring;
  private read = 0;
  private holding = false;
  private ended = false;

  constructor(readonly file: string, sab: SharedArrayBuffer) {
    this.ring = new Ring(sab);
  }

  /**
   * The next chunk's plaintext (views of its slot, valid until the next
   * call; the caller zeroes them), or undefined after the final one. While
   * it waits, `idle` is called for work that needs no chunk (it returns
   * false when it has none left).
   */
  nextPieces(idle?: () => boolean): Promise<Buffer[] | undefined> {
    const w = this.ring.words;
    if (this.holding) {
      this.holding = false;
      this.read++;
      Atomics.store(w, READ, this.read);
      Atomics.notify(w, READ);
    }
    if (this.ended) return Promise.resolve(undefined);
    let idleWork = idle !== undefined;
    for (;;) {
      const epoch = Atomics.load(w, EPOCH);
      const status = this.ring.status();
      if (Atomics.load(w, WRITTEN) > this.read) {
        this.holding = true;
        const slot = this.ring.slot(this.read);
        const length = this.ring.lengthOf(this.read);
        const pieces: Buffer[] = [];
        for (let off = 0; off < length; off += PIECE_BYTES) pieces.push(slot.subarray(off, Math.min(length, off + PIECE_BYTES)));
        return Promise.resolve(pieces);
      }
      if (status === DONE) {
        this.ended = true;
        return Promise.resolve(undefined);
      }
      if (status === FAILED) return Promise.reject(this.ring.failure());
      if (status === CANCELLED) return Promise.reject(new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `the resume of '${this.file}' was given up`));
      if (idleWork) idleWork = idle!();
      else Atomics.wait(w, EPOCH, epoch);
    }
  }
}
