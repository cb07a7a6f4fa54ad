// A single-producer single-consumer byte ring in a SharedArrayBuffer: how
// bytes cross between an enclave's thread and the host thread without a
// message per write. Positions are free-running 32-bit counters; the
// capacity is a power of two so they wrap cleanly.
//
// Exactly one thread writes a ring and one reads it, and each side publishes
// with one atomic store after its copy: a thread killed at any point leaves
// either nothing or a whole unit visible, and there is no lock for it to
// hold. What a side may wait with is split by thread: this class never
// blocks (the host thread awaits with Atomics.waitAsync); the blocking waits
// of enclave threads are in ring-wait.ts, which the host never loads.

const WRITE = 0;
const READ = 1;
const FLAGS = 2;
const READER_WAITING = 3;
const WRITER_WAITING = 4;
/**
 * Bumped by every change a waiter may be waiting for (data published while
 * the reader waits, space freed while the writer waits, any flag). Waiters
 * sleep on this one word, so no change can slip between their last check and
 * their sleep.
 */
export const SEQ = 6;
const HEADER_INTS = 8;

/** FLAGS bits. */
export const RingFlag = {
  /** The writer will write no more (end of stream once drained). */
  WRITER_CLOSED: 1,
  /** The reader will read no more (writes fail with EPIPE). */
  READER_CLOSED: 2,
  /** The stream was torn down abnormally (ECONNRESET for whoever uses it next). */
  RESET: 8,
} as const;

/** Copies up to this many bytes byte-by-byte instead of through set(). */
const SMALL_COPY = 32;

export class Ring {
  readonly header: Int32Array;
  readonly capacity: number;
  private readonly data: Uint8Array;
  private readonly mask: number;
  /** Bytes this side has written or consumed since the ring was made (see touched()). */
  private moved = 0;

  constructor(readonly sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, HEADER_INTS);
    this.data = new Uint8Array(sab, HEADER_INTS * 4);
    this.capacity = this.data.byteLength;
    this.mask = this.capacity - 1;
  }

  static create(capacity: number): Ring {
    if (capacity & (capacity - 1)) throw new RangeError('ring capacity must be a power of two');
    return new Ring(new SharedArrayBuffer(HEADER_INTS * 4 + capacity));
  }

  /** Empty, no flags, nobody waiting: as made (for a ring no thread uses any more, see ring-pool.ts). */
  reset(): void {
    this.header.fill(0);
    this.moved = 0;
    this.onReaderWaiting = undefined;
    this.onWriterWaiting = undefined;
  }

  /**
   * The part of the ring that may hold bytes that went through it: the
   * header and the bytes this side moved (from position 0, where a new ring
   * starts), or all of it once they wrapped. Valid for a ring whose other
   * side has finished: everything it wrote, this side read, or it read what
   * this side wrote. `whole`: the other side may have stopped mid-write
   * (bytes copied but not published), so all of it.
   */
  touched(whole: boolean): Uint8Array {
    const extent = whole || this.moved >= this.capacity ? this.sab.byteLength : HEADER_INTS * 4 + this.moved;
    return new Uint8Array(this.sab, 0, extent);
  }

  /** Bytes written and not yet read. */
  get used(): number {
    return (Atomics.load(this.header, WRITE) - Atomics.load(this.header, READ)) >>> 0;
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** The change counter waiters sleep on. */
  get seq(): number {
    return Atomics.load(this.header, SEQ);
  }

  /** True while the reader has said it is waiting for data. */
  get readerWaiting(): boolean {
    return Atomics.load(this.header, READER_WAITING) !== 0;
  }

  flag(bit: number): boolean {
    return (Atomics.load(this.header, FLAGS) & bit) !== 0;
  }

  setFlag(bit: number): void {
    Atomics.or(this.header, FLAGS, bit);
    // Wake both sides: whoever sleeps must see the change.
    this.bump();
    this.onReaderWaiting?.();
    this.onWriterWaiting?.();
  }

  /** Wakes whoever sleeps on this ring, with nothing changed: it re-checks why it waits (a suspension request, say). */
  wakeAll(): void {
    this.bump();
  }

  private bump(): void {
    Atomics.add(this.header, SEQ, 1);
    Atomics.notify(this.header, SEQ);
  }

  /** Host side: resolves once one of `bits` is set in the flags. */
  async flagSet(bits: number): Promise<void> {
    for (;;) {
      const seen = Atomics.load(this.header, SEQ);
      if (this.flag(bits)) return;
      const r = Atomics.waitAsync(this.header, SEQ, seen);
      if (r.async) await r.value;
    }
  }

  /** Copies `src` in at `pos`. Does not publish. */
  private put(pos: number, src: Uint8Array, start = 0, len = src.byteLength): void {
    if (len <= SMALL_COPY) {
      // A byte loop beats typed-array set() for the tiny writes chatty guests make.
      const data = this.data, mask = this.mask;
      for (let i = 0; i < len; i++) data[(pos + i) & mask] = src[start + i]!;
      return;
    }
    const part = start === 0 && len === src.byteLength ? src : src.subarray(start, start + len);
    const at = pos & this.mask;
    const first = Math.min(len, this.capacity - at);
    this.data.set(first === len ? part : part.subarray(0, first), at);
    if (first < len) this.data.set(part.subarray(first), 0);
  }

  private take(pos: number, dst: Uint8Array): void {
    const len = dst.byteLength;
    if (len <= SMALL_COPY) {
      const data = this.data, mask = this.mask;
      for (let i = 0; i < len; i++) dst[i] = data[(pos + i) & mask]!;
      return;
    }
    const at = pos & this.mask;
    const first = Math.min(dst.byteLength, this.capacity - at);
    dst.set(this.data.subarray(at, at + first));
    if (first < dst.byteLength) dst.set(this.data.subarray(0, dst.byteLength - first), first);
  }

  /** Producer: appends up to `src.byteLength` bytes without blocking; returns bytes written. */
  tryWrite(src: Uint8Array): number {
    const n = Math.min(src.byteLength, this.free);
    if (n === 0) return 0;
    const w = Atomics.load(this.header, WRITE);
    this.put(w, n === src.byteLength ? src : src.subarray(0, n));
    Atomics.store(this.header, WRITE, (w + n) | 0);
    this.moved += n;
    this.wakeReader();
    return n;
  }

  /**
   * Producer: appends a record [tag:u8][len:u24][bytes] if it fits; false if
   * not (the bytes: `len` of `src` from `start`). The reader never sees half
   * a record; it waits with dataAvailable().
   */
  tryWriteRecord(tag: number, src: Uint8Array, start = 0, len = src.byteLength): boolean {
    if (len + 4 > this.free) return false;
    const w = Atomics.load(this.header, WRITE);
    const data = this.data, mask = this.mask;
    data[w & mask] = tag;
    data[(w + 1) & mask] = len & 0xff;
    data[(w + 2) & mask] = (len >>> 8) & 0xff;
    data[(w + 3) & mask] = (len >>> 16) & 0xff;
    this.put(w + 4, src, start, len);
    Atomics.store(this.header, WRITE, (w + 4 + len) | 0);
    this.moved += 4 + len;
    this.wakeReaderOnce();
    return true;
  }

  /** Consumer: the byte `skip` bytes past the read position. */
  byteAt(skip: number): number {
    return this.data[(Atomics.load(this.header, READ) + skip) & this.mask]!;
  }

  /** Producer: appends several pieces as one unit once all fit (no reader sees half). */
  tryWriteUnit(pieces: readonly Uint8Array[], total: number): boolean {
    if (total > this.free) return false;
    let w = Atomics.load(this.header, WRITE);
    for (const p of pieces) {
      this.put(w, p);
      w = (w + p.byteLength) | 0;
    }
    Atomics.store(this.header, WRITE, w);
    this.moved += total;
    this.wakeReader();
    return true;
  }

  /**
   * Called after new data is published while the reader is waiting, and
   * after space is freed while the writer is waiting: how a ring shared
   * between two enclaves wakes the other side's poll_oneoff too.
   */
  onReaderWaiting: (() => void) | undefined;
  onWriterWaiting: (() => void) | undefined;

  private wakeReader(): void {
    if (Atomics.load(this.header, READER_WAITING)) {
      this.bump();
      this.onReaderWaiting?.();
    }
  }

  /**
   * wakeReader() for a reader that sets its waiting mark again before every
   * wait (dataAvailable(), the host's side of a record ring): the writer
   * clears the mark as it wakes it, so the writes made before the woken
   * reader runs do not each wake it again (each wake of a host thread waiting
   * in Atomics.waitAsync costs about as much as a small write).
   */
  private wakeReaderOnce(): void {
    if (Atomics.load(this.header, READER_WAITING) && Atomics.exchange(this.header, READER_WAITING, 0)) {
      this.bump();
      this.onReaderWaiting?.();
    }
  }

  /** Marks this side as waiting (for a poll that sleeps elsewhere); cleared by the waiter. */
  setWaiting(reader: boolean, on: boolean): void {
    Atomics.store(this.header, reader ? READER_WAITING : WRITER_WAITING, on ? 1 : 0);
  }

  /** Consumer: reads up to `dst.byteLength` bytes without blocking. */
  tryRead(dst: Uint8Array): number {
    const n = Math.min(dst.byteLength, this.used);
    if (n === 0) return 0;
    const r = Atomics.load(this.header, READ);
    this.take(r, n === dst.byteLength ? dst : dst.subarray(0, n));
    this.consume(n);
    return n;
  }

  /** Consumer: looks at `dst.byteLength` bytes at `skip` without consuming. */
  peek(dst: Uint8Array, skip = 0): void {
    this.take((Atomics.load(this.header, READ) + skip) | 0, dst);
  }

  /**
   * Consumer: the next `n` readable bytes as one or two views into the ring
   * itself (two when they wrap), for handing to a writer without a copy.
   * They stay valid until consume().
   */
  views(n: number): Uint8Array[] {
    const at = Atomics.load(this.header, READ) & this.mask;
    const first = Math.min(n, this.capacity - at);
    const out = [this.data.subarray(at, at + first)];
    if (first < n) out.push(this.data.subarray(0, n - first));
    return out;
  }

  /** Consumer: drops `n` bytes already looked at. */
  consume(n: number): void {
    Atomics.store(this.header, READ, (Atomics.load(this.header, READ) + n) | 0);
    this.moved += n;
    if (Atomics.load(this.header, WRITER_WAITING)) {
      this.bump();
      this.onWriterWaiting?.();
    }
  }

  /**
   * Host side: resolves once data is available or any flag ends the stream
   * (so a pump never outlives its ring). Uses Atomics.waitAsync so the host
   * thread's event loop keeps running.
   */
  async dataAvailable(): Promise<void> {
    for (;;) {
      Atomics.store(this.header, READER_WAITING, 1);
      const seen = Atomics.load(this.header, SEQ);
      if (this.used > 0 || this.flag(RingFlag.WRITER_CLOSED | RingFlag.READER_CLOSED | RingFlag.RESET)) break;
      const r = Atomics.waitAsync(this.header, SEQ, seen);
      if (r.async) await r.value;
    }
    Atomics.store(this.header, READER_WAITING, 0);
  }

  /** Host side: resolves once `n` bytes are free or the reader closed. */
  async spaceAvailable(n: number): Promise<void> {
    for (;;) {
      Atomics.store(this.header, WRITER_WAITING, 1);
      const seen = Atomics.load(this.header, SEQ);
      if (this.free >= n || this.flag(RingFlag.READER_CLOSED)) break;
      const r = Atomics.waitAsync(this.header, SEQ, seen);
      if (r.async) await r.value;
    }
    Atomics.store(this.header, WRITER_WAITING, 0);
  }
}
