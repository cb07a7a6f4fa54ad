// The enclave's side of the lifecycle: what the guest is doing, published in
// its control words for the host to sample (`capsule ps`) without a message
// and without the guest waiting: the call it is in, whether it sleeps there,
// its memory and descriptors. Plain stores into shared memory, a few per call.

import fs from 'node:fs';
import { Control } from './protocol.js';
import { callNumber } from '../abi/call-names.js';

type Loose = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown, g?: unknown, h?: unknown,
  i?: unknown, j?: unknown) => unknown;
type Namespace = Record<string, unknown>;

/** This thread's kernel id (Linux), so the host can read its CPU time; 0 elsewhere. */
export function threadId(): number {
  try {
    return Number(fs.readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}

export class Activity {
  constructor(private readonly words: Int32Array, private readonly measure: () => { pages: number; descriptors: number }) {
    words[Control.THREAD_ID] = threadId();
  }

  /** Marks the enclave asleep inside its current call for the duration of `sleep`. */
  asleep<T>(sleep: () => T): T {
    this.publish();
    this.words[Control.WAITING] = 1;
    try {
      return sleep();
    } finally {
      this.words[Control.WAITING] = 0;
    }
  }

  /** The measures as of now (also after the guest's own code grew its memory). */
  publish(): void {
    const m = this.measure();
    this.words[Control.MEMORY_PAGES] = m.pages;
    this.words[Control.DESCRIPTORS] = m.descriptors;
  }

  /** `imports` with every function recording, while it runs, that the guest is in it. */
  wrap(imports: Record<string, Namespace>): Record<string, Namespace> {
    const words = this.words;
    const out: Record<string, Namespace> = {};
    for (const [module, ns] of Object.entries(imports)) {
      const wrapped: Namespace = {};
      for (const [name, fn] of Object.entries(ns)) {
        if (typeof fn !== 'function') { wrapped[name] = fn; continue; }
        const n = callNumber(name);
        const call = fn as Loose;
        // Fixed parameters (no rest array per call), as syscall() has: this runs around every call, fd_write among them.
        wrapped[name] = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown, g?: unknown, h?: unknown,
          i?: unknown, j?: unknown): unknown => {
          words[Control.CALL] = n;
          try {
            return call(a, b, c, d, e, f, g, h, i, j);
          } finally {
            words[Control.CALL] = 0;
            this.publish();
          }
        };
      }
      out[module] = wrapped;
    }
    return out;
  }
}
