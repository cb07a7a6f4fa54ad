// Calls of a threaded guest, carried from its threads to the enclave's
// service thread, which alone holds the guest's system view (descriptor
// table, mounts, sockets, stdio). A guest thread writes the call (which import,
// its arguments) into its slot of a shared mailbox, rings the service and
// sleeps on the slot until the answer is there. Pointers need no copying: the
// service runs the very import function on the same shared guest memory.

import { Control } from './protocol.js';

/** Most arguments an import takes (proc_spawn, the longest WASIX call, takes 13). */
const MAX_ARGS = 16;
/** Per slot: 4 Int32 header words, then MAX_ARGS 8-byte arguments, then the 8-byte result. */
const SLOT_BYTES = 16 + MAX_ARGS * 8 + 8;
const SLOT_WORDS = SLOT_BYTES / 4;
const SLOT_QWORDS = SLOT_BYTES / 8;

const STATE = 0;
const FN = 1;
/** Arguments in a request; 1 if the answer has a result, 0 if none. */
const COUNT = 2;
/** Bit per argument that is an i64 (a BigInt). */
const BIGINTS = 3;

/** RUNNING: the service took the call (it may serve others, nested, while this one waits). */
const State = { IDLE: 0, REQUEST: 1, RUNNING: 2, DONE: 3, ENDED: 4 } as const;

type Value = number | bigint;
export type ImportFunction = (...args: Value[]) => Value | undefined;

export class CallMailbox {
  private readonly words: Int32Array;
  private readonly numbers: Float64Array;
  private readonly bigints: BigInt64Array;

  constructor(readonly sab: SharedArrayBuffer, private readonly control: Int32Array) {
    this.words = new Int32Array(sab);
    this.numbers = new Float64Array(sab);
    this.bigints = new BigInt64Array(sab);
  }

  static create(slots: number, control: Int32Array): CallMailbox {
    return new CallMailbox(new SharedArrayBuffer(slots * SLOT_BYTES), control);
  }

  private get slots(): number {
    return this.words.length / SLOT_WORDS;
  }

  /**
   * A guest thread's side: the function that forwards calls of import number
   * `fn` from the thread in `slot`. `ring` wakes the service wherever it waits.
   */
  forwarder(slot: number, fn: number, ring: () => void): ImportFunction {
    const base = slot * SLOT_WORDS;
    const args = slot * SLOT_QWORDS + 2;
    return (...values: Value[]) => {
      let bigs = 0;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (typeof v === 'bigint') { this.bigints[args + i] = v; bigs |= 1 << i; } else this.numbers[args + i] = v;
      }
      this.words[base + FN] = fn;
      this.words[base + COUNT] = values.length;
      this.words[base + BIGINTS] = bigs;
      Atomics.store(this.words, base + STATE, State.REQUEST);
      ring();
      let state: number;
      while ((state = Atomics.load(this.words, base + STATE)) === State.REQUEST || state === State.RUNNING) {
        Atomics.wait(this.words, base + STATE, state);
      }
      if (state === State.ENDED) {
        // The call ended the guest (exit, a signal, a trap): this thread is stopped with it.
        for (;;) Atomics.wait(this.words, base + STATE, State.ENDED);
      }
      const hasResult = this.words[base + COUNT] === 1;
      const result = this.numbers[args + MAX_ARGS];
      Atomics.store(this.words, base + STATE, State.IDLE);
      return hasResult ? result : undefined;
    };
  }

  /** Whether a call may be waiting (the doorbell moved since `seen`). */
  rung(seen: number): boolean {
    return Atomics.load(this.control, Control.CALLS) !== seen;
  }

  /**
   * The service's side: runs every waiting call with `fns` (by import number)
   * and answers it. A call that throws (the guest exits, traps, is stopped)
   * ends the guest: the caller is left waiting, the error goes on.
   */
  serve(fns: readonly ImportFunction[]): void {
    for (let slot = 0; slot < this.slots; slot++) {
      const base = slot * SLOT_WORDS;
      if (Atomics.compareExchange(this.words, base + STATE, State.REQUEST, State.RUNNING) !== State.REQUEST) continue;
      const args = slot * SLOT_QWORDS + 2;
      const count = this.words[base + COUNT]!;
      const bigs = this.words[base + BIGINTS]!;
      const values: Value[] = new Array<Value>(count);
      for (let i = 0; i < count; i++) values[i] = bigs & (1 << i) ? this.bigints[args + i]! : this.numbers[args + i]!;
      const fn = fns[this.words[base + FN]!];
      let result: Value | undefined;
      try {
        if (!fn) throw new WebAssembly.RuntimeError('a guest thread called an import that does not exist');
        result = fn(...values);
      } catch (err) {
        Atomics.store(this.words, base + STATE, State.ENDED);
        Atomics.notify(this.words, base + STATE);
        throw err;
      }
      this.words[base + COUNT] = result === undefined ? 0 : 1;
      this.numbers[args + MAX_ARGS] = typeof result === 'bigint' ? Number(result) : result ?? 0;
      Atomics.store(this.words, base + STATE, State.DONE);
      Atomics.notify(this.words, base + STATE);
    }
  }
}

export { MAX_ARGS as MAX_FORWARDED_ARGS };
