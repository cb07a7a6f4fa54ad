// Flood control for audit records: the first few events of a kind pass as
// they are; after that, identical events (same enclave, op, decision,
// reason) are counted and reported as one record per window. A guest picks
// reasons too (a name it resolved, an address it tried), so the kinds
// tracked are capped: past the cap, new kinds are counted by enclave, op and
// decision alone. Memory and records are bounded whatever the guest does,
// and every event is still counted.

import type { AuditEvent } from './record.js';

/** Events of one kind let through per window before counting starts. */
const BURST = 10;
/** Window length. */
const WINDOW_MS = 1000;
/** Kinds tracked at once (each holds one bounded event); beyond this, kinds are merged by op and decision. */
export const MAX_KINDS = 256;

interface Kind {
  first: AuditEvent;
  /** Merged kinds report "(and other reasons)": their first event's reason is not everyone's. */
  merged: boolean;
  seen: number;
  suppressed: number;
  windowStart: number;
}

export class Aggregator {
  private readonly kinds = new Map<string, Kind>();

  constructor(private readonly emit: (e: AuditEvent) => void, private readonly now: () => number = () => performance.now()) {}

  add(e: AuditEvent): void {
    if (e.decision === 'allow' && e.op !== 'connect' && e.op !== 'accept' && e.op !== 'resolve') {
      this.emit(e);
      return;
    }
    let key = `${e.enclave}\u0000${e.op}\u0000${e.decision}\u0000${e.reason}`;
    let merged = false;
    if (!this.kinds.has(key) && this.kinds.size >= MAX_KINDS) {
      // The merged keys are few: enclaves on a layer times Capsule's own ops times three decisions.
      key = `${e.enclave}\u0000${e.op}\u0000${e.decision}\u0001merged`;
      merged = true;
    }
    const t = this.now();
    let k = this.kinds.get(key);
    if (!k) this.kinds.set(key, (k = { first: e, merged, seen: 0, suppressed: 0, windowStart: t }));
    if (t - k.windowStart >= WINDOW_MS) this.flushKind(k, t);
    k.seen++;
    if (k.seen <= BURST) this.emit(e);
    else k.suppressed++;
  }

  private flushKind(k: Kind, t: number): void {
    if (k.suppressed > 0) {
      this.emit({
        ...k.first, target: `${k.first.target} (and others)`, count: k.suppressed,
        ...(k.merged ? { reason: `${k.first.reason} (and other reasons)` } : {}),
      });
    }
    k.seen = 0;
    k.suppressed = 0;
    k.windowStart = t;
  }

  /** Reports what is still counted. */
  flush(): void {
    const t = this.now();
    for (const k of this.kinds.values()) this.flushKind(k, t);
    this.kinds.clear();
  }
}
