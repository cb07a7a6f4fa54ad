// What the preview 1 glue needs from the enclave it runs in. The glue only
// decodes arguments, looks descriptors up, calls the layer and encodes
// results; everything stateful lives behind this interface.

import type { GuestMemory } from '../memory.js';
import type { FdTable } from '../../layer/fdtable.js';
import type { Clocks } from '../../layer/clocks.js';

export interface Preview1Context {
  readonly memory: GuestMemory;
  readonly fds: FdTable;
  readonly args: readonly Uint8Array[];
  readonly env: readonly Uint8Array[];
  readonly clocks: Clocks;
  randomFill(buf: Uint8Array): void;
  /** Writes out the layer's coalesced small writes (absent when the write cache is off). */
  flushWrites?(): void;
  /** Counter the host bumps on every delivery; read it before checking readiness. */
  eventEpoch(): number;
  /**
   * Blocks the guest until the epoch moves past `seen` (something the host
   * delivered may have changed readiness) or `timeoutMs` passes.
   */
  waitForEvents(seen: number, timeoutMs: number): void;
}
