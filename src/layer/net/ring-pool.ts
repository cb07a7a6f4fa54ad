// Queues of guest-to-guest streams whose two ends are both closed, kept for
// the next connection. A closed ring is only garbage once every thread that
// saw it has collected it, and enclaves busy in wasm collect rarely: a guest
// that connects and closes in a loop left gigabytes of dead rings behind.
// Reusing them makes the layer's queue memory that of its live connections
// plus this pool, however long a guest churns.

import { Ring } from '../ring.js';

/** Bytes of idle rings the pool keeps at most; beyond it closed rings are left to the collector. */
export const RING_POOL_BYTES = 32 * 1024 * 1024;

export class RingPool {
  private readonly idle = new Map<number, Ring[]>();
  private bytes = 0;
  private closed = false;

  /** An empty ring of `capacity` bytes, reused if one is idle. */
  take(capacity: number): Ring {
    const ring = this.idle.get(capacity)?.pop();
    if (!ring) return Ring.create(capacity);
    this.bytes -= capacity;
    return ring;
  }

  /** `ring` is no thread's any more (both ends closed, or their threads gone). */
  give(ring: Ring): void {
    if (this.closed || this.bytes + ring.capacity > RING_POOL_BYTES) return;
    ring.reset();
    let list = this.idle.get(ring.capacity);
    if (!list) this.idle.set(ring.capacity, (list = []));
    list.push(ring);
    this.bytes += ring.capacity;
  }

  /**
   * The layer stops: it closes sockets whose guests may still be running
   * (and writing), so nothing closed from now on is ever handed out again.
   */
  close(): void {
    this.closed = true;
    this.idle.clear();
    this.bytes = 0;
  }
}
