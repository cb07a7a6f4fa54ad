// A datagram socket's receive queue: one ring per writer (the host thread for
// datagrams from the host's network, and each sending enclave), never one
// ring several threads write. A sender killed halfway through a datagram has
// published nothing, and no thread ever waits for another to finish a copy.
// The layer makes a sender's ring on its first datagram to the socket and
// bumps the socket's inbox counter; the owning enclave then fetches the list.

import { Ring, RingFlag } from '../ring.js';
import type { ControlBlock } from './control-block.js';
import { takeDatagram, type Received } from './datagram.js';

/** A ring of an inbox as it crosses to the owning enclave. */
export interface InboxRing {
  id: number;
  sab: SharedArrayBuffer;
}

let nextRingId = 1;

/** The layer's side: the rings of one socket, by writer. */
export class Inbox {
  private readonly rings: { id: number; writer: string | undefined; ring: Ring }[] = [];

  /** `make` creates a ring `writer` (undefined: the host) fills for this socket's owner. */
  constructor(private readonly block: ControlBlock, private readonly make: (writer: string | undefined) => Ring,
    private readonly announce: () => void) {}

  /** The ring `writer` writes (made on its first use). */
  ringFor(writer: string | undefined): Ring {
    const live = this.rings.find((r) => r.writer === writer && !r.ring.flag(RingFlag.WRITER_CLOSED));
    if (live) return live.ring;
    this.prune();
    const ring = this.make(writer);
    this.rings.push({ id: nextRingId++, writer, ring });
    this.block.inbox += 1;
    this.announce();
    return ring;
  }

  /** The writer is gone: its ring ends once what it holds has been read. */
  writerGone(writer: string): void {
    for (const r of this.rings) if (r.writer === writer) r.ring.setFlag(RingFlag.WRITER_CLOSED);
    this.prune();
  }

  /** Every ring with something still to read or a live writer. */
  list(): InboxRing[] {
    this.prune();
    return this.rings.map((r) => ({ id: r.id, sab: r.ring.sab }));
  }

  /** Each ring with its writer (undefined: the host), for a sealed system snapshot. */
  sealedRings(): { writer: string | undefined; ring: Ring }[] {
    this.prune();
    return this.rings.map((r) => ({ writer: r.writer, ring: r.ring }));
  }

  /** Puts back a ring of a sealed system; the owner fetches it as a new one. */
  adopt(writer: string | undefined, ring: Ring): void {
    this.rings.push({ id: nextRingId++, writer, ring });
    this.block.inbox += 1;
  }

  /** Bytes queued over all rings. */
  get used(): number {
    return this.rings.reduce((n, r) => n + r.ring.used, 0);
  }

  /** The socket is closed: writers see READER_CLOSED and forget their routes. */
  close(): void {
    for (const r of this.rings) r.ring.setFlag(RingFlag.READER_CLOSED);
    this.rings.length = 0;
  }

  private prune(): void {
    for (let i = this.rings.length - 1; i >= 0; i--) {
      const r = this.rings[i]!.ring;
      if (r.flag(RingFlag.WRITER_CLOSED) && r.used === 0) this.rings.splice(i, 1);
    }
  }
}

/** The owning enclave's side: reads the rings in turn, so no sender can starve another. */
export class InboxReader {
  private rings: { id: number; ring: Ring }[] = [];
  private seen = 0;
  private next = 0;

  /** `fetch` asks the layer for the current list of rings. */
  constructor(private readonly block: ControlBlock, private readonly fetch: () => InboxRing[]) {}

  /** True if the layer has added a ring since the last refresh. */
  get stale(): boolean {
    return this.block.inbox !== this.seen;
  }

  /** Takes in the rings added since the last look. */
  refresh(): void {
    if (!this.stale) return;
    this.seen = this.block.inbox;
    for (const r of this.fetch()) {
      if (!this.rings.some((k) => k.id === r.id)) this.rings.push({ id: r.id, ring: new Ring(r.sab) });
    }
  }

  get used(): number {
    let n = 0;
    for (const r of this.rings) n += r.ring.used;
    return n;
  }

  /** Something to read now, or rings to fetch. */
  ready(): boolean {
    return this.stale || this.used > 0;
  }

  /** Marks this side as waiting on every ring, so each writer wakes the owner. */
  setWaiting(on: boolean): void {
    for (const r of this.rings) r.ring.setWaiting(true, on);
  }

  /**
   * The next datagram, round robin over the rings; a peek leaves the turn on
   * the ring it looked at, so the next receive takes the same datagram.
   */
  take(bufs: readonly Uint8Array[], peek: boolean): Received | undefined {
    this.refresh();
    for (let tried = 0; tried < this.rings.length; tried++) {
      const i = (this.next + tried) % this.rings.length;
      const r = this.rings[i]!.ring;
      const d = takeDatagram(r, bufs, peek);
      if (d) {
        this.next = peek ? i : (i + 1) % this.rings.length;
        return d;
      }
    }
    this.dropEnded();
    return undefined;
  }

  /** Forgets rings whose writer is gone and which are read to the end. */
  private dropEnded(): void {
    this.rings = this.rings.filter((r) => !(r.ring.flag(RingFlag.WRITER_CLOSED) && r.ring.used === 0));
    this.next = 0;
  }
}
