// Node's fs API sets timestamps as floating-point seconds, which cannot hold
// every nanosecond value a guest may ask for (at today's epoch a double's
// step is about 240 ns). The layer owns the guest's view of time, so it
// remembers the exact value it was asked to set and reports it for as long as
// the host still holds the (rounded) value that was written; any later host
// change wins.

import type { NodeStat } from '../layer/fs/backend.js';

interface Pinned {
  guest: bigint;
  host: bigint;
}

interface Entry {
  atim?: Pinned;
  mtim?: Pinned;
}

/** Bound on remembered files: old entries are dropped first (Map keeps insertion order). */
const MAX_ENTRIES = 4096;

export class ExactTimes {
  private readonly entries = new Map<string, Entry>();

  private key(s: NodeStat): string {
    return `${s.dev}:${s.ino}`;
  }

  /** Rewrites a fresh host stat with the exact values the guest set, where still valid. */
  apply(s: NodeStat): NodeStat {
    const e = this.entries.get(this.key(s));
    if (!e) return s;
    if (e.atim) {
      if (e.atim.host === s.atim) s.atim = e.atim.guest;
      else delete e.atim;
    }
    if (e.mtim) {
      if (e.mtim.host === s.mtim) s.mtim = e.mtim.guest;
      else delete e.mtim;
    }
    if (!e.atim && !e.mtim) this.entries.delete(this.key(s));
    return s;
  }

  /** Records what the guest asked for next to what the host actually stored. */
  remember(after: NodeStat, atim: bigint, mtim: bigint): void {
    const k = this.key(after);
    this.entries.delete(k);
    this.entries.set(k, { atim: { guest: atim, host: after.atim }, mtim: { guest: mtim, host: after.mtim } });
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
