// Coalesced small file writes. A guest that writes a file a few bytes at a
// time would pay one host system call per write; instead each enclave keeps
// one run of sequential small writes to one host file in a slot of a board
// its layer shares, and writes the run out in one call:
//
// - before any other call of any guest of the layer (the ABI glue flushes
//   every dirty slot of the board first), so no reader inside Capsule can
//   ever see the difference;
// - when the run breaks (another descriptor, a seek, a write too big), on
//   close, exit and trap (the enclave), and on a kill (the host flushes the
//   slot of an enclave whose thread is gone);
// - within a few milliseconds in any case (the host's timer), so a reader
//   outside Capsule sees the data soon.
//
// Only a SIGKILL of the Capsule process itself loses what is still in a slot.
// The board is shared memory and every slot names a host descriptor by
// number, valid in every thread of the process: whichever thread needs the
// data out writes it, under the slot's lock.

import fs from 'node:fs';
import { SysError } from '../../abi/errno.js';
import { errnoOf } from '../../host/errors.js';

/** Writes up to this many bytes are coalesced; larger ones go straight to the host. */
export const SMALL_WRITE_BYTES = 4096;
/** Bytes one slot holds before it is written out. */
const SLOT_DATA_BYTES = 32768;
const SLOT_HEADER_BYTES = 32;
const SLOT_BYTES = SLOT_HEADER_BYTES + SLOT_DATA_BYTES;
const BOARD_HEADER_BYTES = 16;

// Board words (Int32 indexes).
/** 1 while the host's flush timer is (to be) armed; -1 when the board is retired. */
const ARMED = 0;
/** Number of slots holding unwritten bytes. */
const DIRTY = 1;

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

  private tryLock(slot: number): boolean {
    return Atomics.compareExchange(this.i32, this.base(slot) + LOCK, 0, 1) === 0;
  }

  /** Takes a slot's lock, waiting if needed (enclave threads only: the host thread cannot block). */
  lock(slot: number): void {
    const at = this.base(slot) + LOCK;
    for (let spins = 0; Atomics.compareExchange(this.i32, at, 0, 1) !== 0; spins++) {
      if (spins > 100) Atomics.wait(this.i32, at, 1, 1);
    }
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

  /** Writes out every dirty slot, waiting for locks (enclave threads). */
  flushAll(): void {
    if (!this.dirty()) return;
    for (let s = 0; s < this.slots; s++) {
      if (this.i32[this.base(s) + LEN] === 0) continue;
      this.lock(s);
      try { this.writeOut(s); } finally { this.unlock(s); }
    }
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

  /** The enclave's side of one slot. */
  cache(slot: number): WriteCache {
    return new WriteCache(this, slot, this.i32, this.f64, this.u8, this.base(slot));
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

/** One enclave's slot: where its file descriptors put small sequential writes. */
export class WriteCache {
  private readonly lenAt: number;
  private readonly fdAt: number;
  private readonly posAt: number;
  private readonly dataAt: number;

  constructor(readonly board: WriteBoard, private readonly slot: number, private readonly i32: Int32Array,
    private readonly f64: Float64Array, private readonly u8: Uint8Array, base: number) {
    this.lenAt = base + LEN;
    this.fdAt = base + FD;
    this.posAt = (base * 4 + POS_BYTE) >> 3;
    this.dataAt = base * 4 + SLOT_HEADER_BYTES;
  }

  /**
   * Takes `len` (at most SMALL_WRITE_BYTES) bytes of `src` from `offset`, to
   * be written to host descriptor `fd` at `position`. Throws the errno of an
   * earlier write-out to `fd` that failed.
   */
  write(fd: number, position: number, src: Uint8Array, offset: number, len: number): void {
    this.throwFailure(fd);
    const board = this.board;
    if (board.dirty()) this.flushOthers();
    this.lockOwn();
    try {
      let held = this.i32[this.lenAt]!;
      if (held !== 0 && (this.i32[this.fdAt] !== fd || this.f64[this.posAt]! + held !== position || held + len > SLOT_DATA_BYTES)) {
        this.writeOutOwn();
        held = 0;
      }
      const at = this.dataAt + held;
      if (len <= 16) {
        for (let i = 0; i < len; i++) this.u8[at + i] = src[offset + i]!;
      } else {
        this.u8.set(src.subarray(offset, offset + len), at);
      }
      if (held === 0) {
        this.i32[this.fdAt] = fd;
        this.f64[this.posAt] = position;
      }
      Atomics.store(this.i32, this.lenAt, held + len);
      // Counted dirty once the run is there: a dirty count with no run behind it would never clear.
      if (held === 0) {
        Atomics.add(this.i32, DIRTY, 1);
        board.arm();
      }
    } finally {
      this.unlockOwn();
    }
  }

  /** Writes out this slot's run if it is for `fd` (before the descriptor goes), then reports a failure. */
  flushFd(fd: number): void {
    if (this.i32[this.lenAt] !== 0 && this.i32[this.fdAt] === fd) {
      this.lockOwn();
      try { this.writeOutOwn(); } finally { this.unlockOwn(); }
    }
    this.throwFailure(fd);
  }

  private throwFailure(fd: number): void {
    const base = this.lenAt - LEN;
    const errno = this.i32[base + ERR]!;
    if (errno !== 0 && this.i32[base + ERR_FD] === fd) {
      this.i32[base + ERR] = 0;
      throw new SysError(errno, 'an earlier coalesced write to this file failed');
    }
  }

  private flushOthers(): void {
    const own = this.i32[this.lenAt] !== 0 ? 1 : 0;
    if (Atomics.load(this.i32, DIRTY) > own) this.board.flushAll();
  }

  private lockOwn(): void {
    this.board.lock(this.slot);
  }

  private unlockOwn(): void {
    this.board.unlock(this.slot);
  }

  private writeOutOwn(): void {
    this.board.writeOut(this.slot);
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
