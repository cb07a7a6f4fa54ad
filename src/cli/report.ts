// How the CLI tells the user why a guest stopped (one line on stderr), and
// how it prints the socket table.

import type { RunResult } from '../api/run.js';
import type { LayerSnapshot } from '../api/control.js';

export function reportOutcome(result: RunResult, label: string): void {
  const o = result.outcome;
  switch (o.kind) {
    case 'exit': return;
    case 'signal': process.stderr.write(`capsule: ${label} ended by ${o.signal}\n`); return;
    case 'trap': process.stderr.write(`capsule: ${label} trapped: ${o.message}\n`); return;
    case 'limit': process.stderr.write(`capsule: ${label} stopped: ${o.message}\n`); return;
    case 'killed': process.stderr.write(`capsule: ${label} stopped: ${o.message}\n`); return;
    case 'failed': process.stderr.write(`capsule: ${label}: ${o.message}\n`); return;
  }
}

/** The table as `ss` prints it: one row per entry, aligned columns. */
export function formatTable(s: LayerSnapshot): string {
  const head = ['ID', 'OWNER', 'FAMILY', 'PROTO', 'LOCAL', 'REMOTE', 'STATUS', 'SEND-Q', 'RECV-Q', 'ACCEPT-Q'];
  const rows = s.sockets.map((r) => [String(r.id), r.owner, r.family, r.protocol, r.local, r.remote, r.status,
    String(r.sendQueue), String(r.receiveQueue), String(r.connectionQueue)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [`layer ${s.pid} (${s.label}), ${s.sockets.length} socket${s.sockets.length === 1 ? '' : 's'}`, line(head), ...rows.map(line)].join('\n') + '\n';
}
