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
// This is the enclave's side (it may wait for a lock: enclave threads only);
// the board itself is write-board.ts.

import { SysError } from '../../core/errno.js';
import { DIRTY, SLOT_DATA_BYTES, type WriteBoard } from './write-board.js';

/** Spins this many times on a taken lock before sleeping a millisecond at a time. */
const SPINS = 100;

/** Takes a slot's lock, spinning, then sleeping a millisecond at a time (the holder only copies or writes once). */
function lock(i32: Int32Array, at: number): void {
  for (let spins = 0; Atomics.compareExchange(i32, at, 0, 1) !== 0; spins++) {
    if (spins > SPINS) Atomics.wait(i32, at, 1, 1);
  }
}

/** Writes out every dirty slot of `board`, waiting for each lock: what an enclave does before a call. */
export function flushBoard(board: WriteBoard): void {
  if (!board.dirty()) return;
  for (let s = 0; s < board.slots; s++) {
    const v = board.slotViews(s);
    if (Atomics.load(v.i32, v.lenAt) === 0) continue;
    lock(v.i32, v.lockAt);
    try { board.writeOut(s); } finally { board.unlock(s); }
  }
}

/** One enclave's slot: where its file descriptors put small sequential writes. */
export class WriteCache {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  private readonly lenAt: number;
  private readonly fdAt: number;
  private readonly errAt: number;
  private readonly errFdAt: number;
  private readonly posAt: number;
  private readonly dataAt: number;
  private readonly lockAt: number;

  constructor(readonly board: WriteBoard, private readonly slot: number) {
    const v = board.slotViews(slot);
    this.i32 = v.i32; this.f64 = v.f64; this.u8 = v.u8;
    this.lenAt = v.lenAt; this.fdAt = v.fdAt; this.errAt = v.errAt; this.errFdAt = v.errFdAt;
    this.posAt = v.posAt; this.dataAt = v.dataAt; this.lockAt = v.lockAt;
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
    lock(this.i32, this.lockAt);
    try {
      let held = this.i32[this.lenAt]!;
      if (held !== 0 && (this.i32[this.fdAt] !== fd || this.f64[this.posAt]! + held !== position || held + len > SLOT_DATA_BYTES)) {
        board.writeOut(this.slot);
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
      board.unlock(this.slot);
    }
  }

  /** Writes out every dirty slot of the board (this enclave's and the other guests'). */
  flushAll(): void {
    flushBoard(this.board);
  }

  /** Writes out this slot's run if it is for `fd` (before the descriptor goes), then reports a failure. */
  flushFd(fd: number): void {
    if (this.i32[this.lenAt] !== 0 && this.i32[this.fdAt] === fd) {
      lock(this.i32, this.lockAt);
      try { this.board.writeOut(this.slot); } finally { this.board.unlock(this.slot); }
    }
    this.throwFailure(fd);
  }

  private throwFailure(fd: number): void {
    const errno = this.i32[this.errAt]!;
    if (errno !== 0 && this.i32[this.errFdAt] === fd) {
      this.i32[this.errAt] = 0;
      throw new SysError(errno, 'an earlier coalesced write to this file failed');
    }
  }

  private flushOthers(): void {
    const own = this.i32[this.lenAt] !== 0 ? 1 : 0;
    if (Atomics.load(this.i32, DIRTY) > own) flushBoard(this.board);
  }
}
