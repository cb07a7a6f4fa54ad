// How the CLI tells the user why a guest stopped (one line on stderr), and
// how it prints the socket table.

import type { RunResult } from '../api/run.js';
import type { LayerSnapshot } from '../api/control.js';
import { escapeText } from '../audit/escape.js';

/** One `capsule:` line on stderr; whatever it quotes is escaped, so it stays one line of Capsule's own. */
export function say(text: string): void {
  process.stderr.write(`capsule: ${escapeText(text)}\n`);
}

export function reportOutcome(result: RunResult, label: string): void {
  const o = result.outcome;
  switch (o.kind) {
    case 'exit': return;
    case 'signal': say(`${label} ended by ${o.signal}`); return;
    case 'trap': say(`${label} trapped: ${o.message}`); return;
    case 'limit': say(`${label} stopped: ${o.message}`); return;
    case 'killed': say(`${label} stopped: ${o.message}`); return;
    case 'failed': say(`${label}: ${o.message}`); return;
    case 'suspended': say(o.withSystem ? `${label} suspended with its system` : `${label} suspended into ${o.file}`); return;
  }
}

/** The table as `ss` prints it: one row per entry, aligned columns, every cell escaped (it came from another process). */
export function formatTable(s: LayerSnapshot): string {
  const head = ['ID', 'OWNER', 'FAMILY', 'PROTO', 'LOCAL', 'REMOTE', 'STATUS', 'SEND-Q', 'RECV-Q', 'ACCEPT-Q'];
  const rows = s.sockets.map((r) => [r.id, r.owner, r.family, r.protocol, r.local, r.remote, r.status,
    r.sendQueue, r.receiveQueue, r.connectionQueue].map((c) => escapeText(String(c))));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [`layer ${escapeText(String(s.pid))} (${escapeText(String(s.label))}), ${s.sockets.length} socket${s.sockets.length === 1 ? '' : 's'}`, line(head), ...rows.map(line)].join('\n') + '\n';
}
