// The board of coalesced small file writes: shared memory one layer gives
// all its enclaves, one slot each (see write-cache.ts for the enclave's side,
// and README, "Small file writes"). This file is what the host thread uses:
// it never waits for a slot's lock (the host thread must never block); it
// writes out the slots it can take at once and comes back for the others.
// Every slot names a host descriptor by number, valid in every thread of the
// process: whichever thread needs a run out writes it, under the slot's lock.

import fs from 'node:fs';
import { errnoOf } from '../../core/host-errno.js';

/** Writes up to this many bytes are coalesced; larger ones go straight to the host. */
export const SMALL_WRITE_BYTES = 4096;
/** Bytes one slot holds before it is written out. */
export const SLOT_DATA_BYTES = 32768;
const SLOT_HEADER_BYTES = 32;
const SLOT_BYTES = SLOT_HEADER_BYTES + SLOT_DATA_BYTES;
const BOARD_HEADER_BYTES = 16;

// Board words (Int32 indexes).
/** 1 while the host's flush timer is (to be) armed; -1 when the board is retired. */
const ARMED = 0;
/** Number of slots holding unwritten bytes. */
export const DIRTY = 1;

// Slot words, relative to the slot's first Int32.
const LOCK = 0;
const FD = 1;
const LEN = 2;
/** errno of a write-out that failed, kept for the owner's next call on that descriptor. */
const ERR = 3;
const ERR_FD = 4;
/** The file position of the run's first byte, as a Float64 at this byte offset of the slot. */
const POS_BYTE = 24;

export class WriteBoard {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.f64 = new Float64Array(sab);
    this.u8 = new Uint8Array(sab);
  }

  /** A board of `slots` slots; pages not written to cost no memory. */
  static create(slots: number): WriteBoard {
    return new WriteBoard(new SharedArrayBuffer(BOARD_HEADER_BYTES + slots * SLOT_BYTES));
  }

  get slots(): number {
    return (this.sab.byteLength - BOARD_HEADER_BYTES) / SLOT_BYTES;
  }

  /** True when some slot holds unwritten bytes: one load, cheap enough for every call. */
  dirty(): boolean {
    return Atomics.load(this.i32, DIRTY) !== 0;
  }

  private base(slot: number): number {
    return (BOARD_HEADER_BYTES + slot * SLOT_BYTES) >> 2;
  }

  tryLock(slot: number): boolean {
    return Atomics.compareExchange(this.i32, this.base(slot) + LOCK, 0, 1) === 0;
  }

  unlock(slot: number): void {
    const at = this.base(slot) + LOCK;
    Atomics.store(this.i32, at, 0);
    Atomics.notify(this.i32, at);
  }

  /** Writes a slot's run out (lock held). A failure is kept for the owner; the run is dropped either way. */
  writeOut(slot: number): void {
    const b = this.base(slot);
    const len = Atomics.load(this.i32, b + LEN);
    if (len === 0) return;
    const fd = this.i32[b + FD]!;
    const pos = this.f64[(b * 4 + POS_BYTE) >> 3]!;
    const start = (b << 2) + SLOT_HEADER_BYTES;
    try {
      let done = 0;
      while (done < len) done += fs.writeSync(fd, this.u8, start + done, len - done, pos + done);
    } catch (err) {
      this.i32[b + ERR] = errnoOf(err);
      this.i32[b + ERR_FD] = fd;
    }
    // Only one party clears a run and counts it gone, even if two wrote it out
    // (the host and another enclave, after its owner died holding the lock).
    if (Atomics.compareExchange(this.i32, b + LEN, len, 0) === len) Atomics.sub(this.i32, DIRTY, 1);
  }

  /**
   * Writes out every dirty slot whose lock is free (the host thread, which
   * cannot wait); true when none was left behind.
   */
  tryFlushAll(): boolean {
    let all = true;
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.load(this.i32, this.base(s) + LEN) === 0) continue;
      if (!this.tryLock(s)) { all = false; continue; }
      try { this.writeOut(s); } finally { this.unlock(s); }
    }
    return all;
  }

  /**
   * Writes out a slot whose enclave is gone (killed, perhaps holding the
   * lock): nobody else touches the slot any more. Writing a run twice is
   * harmless: it goes to the same place.
   */
  releaseSlot(slot: number): void {
    const b = this.base(slot);
    Atomics.store(this.i32, b + LOCK, 1);
    try { this.writeOut(slot); } finally {
      this.i32[b + ERR] = 0;
      this.unlock(slot);
    }
  }

  /** Stops the host's timer loop (see FlushTimer). */
  retire(): void {
    Atomics.store(this.i32, ARMED, -1);
    Atomics.notify(this.i32, ARMED);
  }

  /** The views and word offsets of one slot, for the enclave's side (write-cache.ts). */
  slotViews(slot: number): { i32: Int32Array; f64: Float64Array; u8: Uint8Array; lenAt: number; fdAt: number; errAt: number; errFdAt: number; posAt: number; dataAt: number; lockAt: number } {
    const b = this.base(slot);
    return {
      i32: this.i32, f64: this.f64, u8: this.u8, lenAt: b + LEN, fdAt: b + FD, errAt: b + ERR, errFdAt: b + ERR_FD,
      posAt: (b * 4 + POS_BYTE) >> 3, dataAt: b * 4 + SLOT_HEADER_BYTES, lockAt: b + LOCK,
    };
  }

  /** Waits (asynchronously) until a slot became dirty; false once the board is retired. */
  async armed(): Promise<boolean> {
    for (;;) {
      const v = Atomics.load(this.i32, ARMED);
      if (v !== 0) return v > 0;
      const r = Atomics.waitAsync(this.i32, ARMED, 0);
      if (r.async) await r.value;
    }
  }

  /** Clears the armed word; true if a slot is still dirty (the caller re-arms). */
  disarm(): boolean {
    if (Atomics.compareExchange(this.i32, ARMED, 1, 0) !== 1) return false;
    if (!this.dirty()) return false;
    Atomics.store(this.i32, ARMED, 1);
    return true;
  }

  /** Called by an enclave when its slot turns dirty: wakes the host's timer. */
  arm(): void {
    if (Atomics.compareExchange(this.i32, ARMED, 0, 1) === 0) Atomics.notify(this.i32, ARMED);
  }
}

/**
 * The host thread's side: after a slot turns dirty, waits FLUSH_DELAY_MS and
 * writes out whatever is still held, so data reaches the host within a few
 * milliseconds even when no guest makes another call.
 */
export const FLUSH_DELAY_MS = 2;

export function startFlushTimer(board: WriteBoard): void {
  const tick = (): void => {
    if (!board.tryFlushAll()) { setTimeout(tick, 1).unref(); return; }
    if (board.disarm()) setTimeout(tick, FLUSH_DELAY_MS).unref();
    else void wait();
  };
  const wait = async (): Promise<void> => {
    if (await board.armed()) setTimeout(tick, FLUSH_DELAY_MS).unref();
  };
  void wait();
}
