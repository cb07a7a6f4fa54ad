// The guest's threads, in shared memory every enclave thread of the guest
// sees: how many run, which thread id each slot holds, the next id to give.
// Spawning claims a slot (bounded by --max-threads), a thread that ends frees
// it and wakes whoever joins it. Thread ids follow wasi-threads: the main
// thread is 1, spawned threads count up from 2 and are never reused.

const NEXT_TID = 0;
const LIVE = 1;
const SLOTS = 2;
/** wasi-threads allows ids up to 2^29 - 1. */
const MAX_TID = 0x1fffffff;

export const MAIN_TID = 1;

export class ThreadTable {
  private readonly words: Int32Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }

  /** A table for at most `max` threads at once, the main thread (slot 0) already in it. */
  static create(max: number): ThreadTable {
    const t = new ThreadTable(new SharedArrayBuffer((SLOTS + max) * 4));
    t.words[NEXT_TID] = MAIN_TID + 1;
    t.words[LIVE] = 1;
    t.words[SLOTS] = MAIN_TID;
    return t;
  }

  get max(): number {
    return this.words.length - SLOTS;
  }

  get live(): number {
    return Atomics.load(this.words, LIVE);
  }

  /** A slot and a new id for one more thread, or undefined when --max-threads are running (or ids ran out). */
  claim(): { tid: number; slot: number } | undefined {
    for (;;) {
      const live = Atomics.load(this.words, LIVE);
      if (live >= this.max) return undefined;
      if (Atomics.compareExchange(this.words, LIVE, live, live + 1) === live) break;
    }
    const tid = Atomics.add(this.words, NEXT_TID, 1);
    if (tid > MAX_TID) {
      Atomics.sub(this.words, LIVE, 1);
      return undefined;
    }
    // A free slot exists: LIVE counted us in below max, and each live thread holds one slot.
    for (;;) {
      for (let slot = 1; slot < this.max; slot++) {
        if (Atomics.compareExchange(this.words, SLOTS + slot, 0, tid) === 0) return { tid, slot };
      }
    }
  }

  /** The thread in `slot` ended: its slot is free again and its joiners wake. */
  release(slot: number): void {
    Atomics.store(this.words, SLOTS + slot, 0);
    Atomics.sub(this.words, LIVE, 1);
    Atomics.notify(this.words, SLOTS + slot);
    Atomics.notify(this.words, LIVE);
  }

  /** The slot thread `tid` runs in, or undefined if it is not running. */
  slotOf(tid: number): number | undefined {
    if (tid <= 0) return undefined;
    for (let slot = 0; slot < this.max; slot++) if (Atomics.load(this.words, SLOTS + slot) === tid) return slot;
    return undefined;
  }

  /** Waits (no CPU) up to `timeoutMs` for thread `tid` to end; true once it has. */
  waitEnd(tid: number, timeoutMs: number): boolean {
    const slot = this.slotOf(tid);
    if (slot === undefined) return true;
    Atomics.wait(this.words, SLOTS + slot, tid, timeoutMs === Infinity ? undefined : timeoutMs);
    return Atomics.load(this.words, SLOTS + slot) !== tid;
  }

  /** Waits (no CPU) up to `timeoutMs` for the count of running threads to change, if it is `count` or more. */
  waitWhileLive(count: number, timeoutMs: number): void {
    const live = Atomics.load(this.words, LIVE);
    if (live >= count) Atomics.wait(this.words, LIVE, live, timeoutMs);
  }
}
