// Suspending and resuming a guest, the enclave's side (--suspendable). The
// module was prepared with Asyncify (module/suspendable.ts): when the host
// asks, the guest's next import call (or the one it sleeps in) unwinds its
// stack into guest memory instead of running; _start returns; the enclave
// seals memory, globals and its own state into the snapshot itself, on
// this thread, so no copy of guest memory ever crosses to the host. On
// resume the same memory and globals are put back and the stack is wound
// up to that call again, which is then made for real.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { GuestStop } from '../abi/errors.js';
import { Control } from './protocol.js';
import { GLOBAL_EXPORT_PREFIX } from './suspend-names.js';
import type { SealedGuestState } from '../snapshot/payload.js';

/** Thrown inside a call that sleeps when the host asks for a suspension: the call unwinds and is made again on resume. */
export class SuspendNow extends GuestStop {
  /** What layer/ring-wait.ts's isSuspension() looks for. */
  readonly suspension = true;
  constructor() {
    super('suspend', 'suspended');
  }
}

/** Pages grown at the first suspension to hold the unwound stack. */
const STACK_DATA_PAGES = 4;

/**
 * What the host sends, through the suspend port, before it raises the flag:
 * a file to seal the guest into, or (a guest of a system) to stop and wait:
 * the host then says seal your part here (`part`) or go on (`goOn`).
 */
export type SuspendRequest = { file: string } | { system: true };

/**
 * The host's word to a guest stopped by a { system: true } request. A lone
 * guest holding sockets is stopped that way too, and sealed by the host's
 * writer into `alone.file` with its network record (the host takes it while
 * the guest is stopped).
 */
export type SystemDecision = {
  part: import('../snapshot/seal.js').WriterHandoff;
  alone?: { file: string; network: import('../layer/net/sealed.js').SealedNetwork };
} | { goOn: true };


interface AsyncifyExports {
  asyncify_start_unwind(addr: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(addr: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

type Fn = (...args: never[]) => unknown;
type Namespace = Record<string, unknown>;

export class Suspender {
  private exports: AsyncifyExports | undefined;
  private memory: WebAssembly.Memory | undefined;
  private globals: { index: number; global: WebAssembly.Global }[] = [];
  /** Address of the unwound stack's data structure; 0 until the first suspension. */
  stackData = 0;
  private rewinding = false;
  /** Set once the guest's stack has been unwound: _start's return means "suspended", not "done". */
  unwound = false;
  request: SuspendRequest | undefined;

  /** `refusal` says why the guest cannot be sealed as it is now (what it holds open, for this request), or undefined. */
  constructor(private readonly words: Int32Array, private readonly port: MessagePort, private readonly refusal: (request: SuspendRequest | undefined) => string | undefined) {}

  /** True if the guest may unwind now; otherwise the host hears why, and the guest goes on. */
  private mayUnwind(): boolean {
    // The newest request counts (a system's stop the host gave up on leaves its request and word behind).
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      const msg = m.message as object;
      if ('file' in msg || 'system' in msg) this.request = msg as SuspendRequest;
    }
    const why = this.refusal(this.request);
    if (why === undefined) return true;
    this.request = undefined;
    Atomics.store(this.words, Control.SUSPEND, 0);
    this.answer({ error: why });
    return false;
  }

  /** A guest of a system, stopped: waits for the host's word (seal or go on). */
  awaitDecision(): SystemDecision {
    for (;;) {
      Atomics.wait(this.words, Control.SUSPEND, 1);
      if (Atomics.load(this.words, Control.SUSPEND) !== 1) break;
    }
    let decision: SystemDecision = { goOn: true };
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      const msg = m.message as object;
      if ('part' in msg || 'goOn' in msg) { decision = msg as SystemDecision; break; }
    }
    // Taken: the host may ask again (it waits for this before it does).
    Atomics.store(this.words, Control.SUSPEND, 0);
    Atomics.notify(this.words, Control.SUSPEND);
    return decision;
  }

  /** Told to go on after stopping: the stack is wound up to its call again, in place; the caller calls _start. */
  goOn(): void {
    this.unwound = false;
    this.request = undefined;
    this.rewinding = true;
    this.exports!.asyncify_start_rewind(this.stackData);
  }

  /** The host has asked (and not been answered yet). */
  asked(): boolean {
    return Atomics.load(this.words, Control.SUSPEND) === 1;
  }

  /** Throws SuspendNow if the host asked: for the places a call sleeps. */
  checkpoint(): void {
    if (this.asked() && this.exports !== undefined) throw new SuspendNow();
  }

  attach(instance: WebAssembly.Instance, memory: WebAssembly.Memory): void {
    this.exports = instance.exports as unknown as AsyncifyExports;
    this.memory = memory;
    for (const [name, value] of Object.entries(instance.exports)) {
      if (name.startsWith(GLOBAL_EXPORT_PREFIX) && value instanceof WebAssembly.Global) {
        this.globals.push({ index: Number(name.slice(GLOBAL_EXPORT_PREFIX.length)), global: value });
      }
    }
  }

  private startUnwind(): number {
    const mem = this.memory!;
    if (this.stackData === 0) this.stackData = mem.grow(STACK_DATA_PAGES) * 65536;
    const view = new Int32Array(mem.buffer);
    view[this.stackData / 4] = this.stackData + 8;
    view[this.stackData / 4 + 1] = this.stackData + STACK_DATA_PAGES * 65536;
    this.unwound = true;
    this.exports!.asyncify_start_unwind(this.stackData);
    return 0;
  }

  /** `imports` where each function can unwind the guest instead of running (and runs for real when wound back to it). */
  wrap(imports: Record<string, Namespace>): Record<string, Namespace> {
    const out: Record<string, Namespace> = {};
    for (const [module, ns] of Object.entries(imports)) {
      const wrapped: Namespace = {};
      for (const [name, fn] of Object.entries(ns)) {
        if (typeof fn !== 'function') { wrapped[name] = fn; continue; }
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const self = this;
        wrapped[name] = function (this: unknown, ...args: never[]): unknown {
          if (self.rewinding) {
            self.exports!.asyncify_stop_rewind();
            self.rewinding = false;
          } else if (self.asked() && self.mayUnwind()) {
            return self.startUnwind();
          }
          for (;;) {
            try {
              return (fn as Fn).apply(this, args);
            } catch (err) {
              if (!(err instanceof SuspendNow)) throw err;
              // Woken in its sleep: unwind, or, if the guest cannot be sealed now, make the call again.
              if (self.mayUnwind()) return self.startUnwind();
            }
          }
        };
      }
      out[module] = wrapped;
    }
    return out;
  }

  /** After _start returned with the stack unwound: the stack is complete in memory. */
  stopUnwind(): void {
    this.exports!.asyncify_stop_unwind();
  }

  sealedGlobals(): SealedGuestState['globals'] {
    return this.globals.map(({ index, global }) => {
      const v = global.value as unknown;
      return typeof v === 'bigint' ? { index, type: 'i64', value: v.toString() } : { index, type: 'number', value: v as number };
    });
  }

  /** Puts the sealed globals back and winds the stack up to its call; the caller then calls _start. */
  rewind(state: SealedGuestState): void {
    const byIndex = new Map(this.globals.map((g) => [g.index, g.global]));
    for (const g of state.globals) {
      const global = byIndex.get(g.index);
      if (global === undefined) throw new Error(`the prepared module has no global ${g.index}`);
      global.value = g.type === 'i64' ? BigInt(g.value) : Number(g.value);
    }
    this.stackData = state.stackData;
    this.rewinding = true;
    this.exports!.asyncify_start_rewind(this.stackData);
  }

  /** Tells the host how the suspension went. */
  answer(result: { bytes: number; index?: number; written?: number } | { error: string } | { resumed: true } | { stopped: true }): void {
    this.port.postMessage(result);
  }
}
