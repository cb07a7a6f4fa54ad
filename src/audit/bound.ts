// Every audit event is bounded before it is counted, kept or written: a
// guest chooses paths, names and addresses of any length and content, and
// neither the log nor the host's memory may grow with them. Each string is
// escaped and cut to MAX_TEXT_BYTES (escape.ts), so a record stays under a
// few KiB whatever the guest did.

import { boundText } from './escape.js';
import type { AuditEvent } from './record.js';

/** Nesting kept in `detail` (exit usage is three levels deep); deeper values are dropped. */
const MAX_DEPTH = 6;
/** Entries kept per object or array in `detail`. */
const MAX_ENTRIES = 64;

function boundValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return boundText(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(v)) {
    const kept = v.slice(0, MAX_ENTRIES).map((x) => boundValue(x, depth + 1));
    return v.length > MAX_ENTRIES ? [...kept, `…[+${v.length - MAX_ENTRIES} entries]`] : kept;
  }
  const entries = Object.entries(v);
  const kept = entries.slice(0, MAX_ENTRIES).map(([k, x]) => [boundText(k), boundValue(x, depth + 1)]);
  if (entries.length > MAX_ENTRIES) kept.push(['…', `[+${entries.length - MAX_ENTRIES} entries]`]);
  return Object.fromEntries(kept);
}

/** `e` with every string escaped and bounded, and `detail` bounded in depth and breadth. */
export function boundEvent(e: AuditEvent): AuditEvent {
  const out: AuditEvent = { ...e, enclave: boundText(e.enclave), op: boundText(e.op), target: boundText(e.target), reason: boundText(e.reason) };
  if (e.errno !== undefined) out.errno = boundText(e.errno);
  if (e.detail !== undefined) out.detail = boundValue(e.detail, 0) as Record<string, unknown>;
  return out;
}
