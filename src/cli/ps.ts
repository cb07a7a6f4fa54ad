// `capsule ps`: the guests of a running `capsule run` or `capsule up`, with
// their lifecycle state and usage, read over the layer's control socket.

import { askLayer } from '../api/control-client.js';
import { parseGuestTable, type GuestTable } from '../api/control-ps.js';
import { escapeJson, escapeText } from '../audit/escape.js';
import { formatSize } from '../core/units.js';
import { pickLayer } from '../api/control-client.js';

function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The table as `ps` prints it: aligned columns, every cell escaped (it came from another process). */
export function formatGuests(t: GuestTable): string {
  const head = ['NAME', 'STATE', 'UPTIME', 'MEMORY', 'PEAK', 'LIMIT', 'CPU', 'FDS', 'SOCKETS'];
  const rows = t.guests.map((g) => [
    g.name, g.blockedIn !== undefined ? `${g.state} (${g.blockedIn})` : g.state, duration(g.uptimeMs),
    formatSize(g.memory.current), formatSize(g.memory.peak), g.memory.limit === null ? '-' : formatSize(g.memory.limit),
    g.cpuMs === undefined ? '-' : duration(g.cpuMs), g.descriptors, g.sockets,
  ].map((c) => escapeText(String(c))));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const title = `layer ${escapeText(String(t.pid))} (${escapeText(t.label)}), ${t.guests.length} guest${t.guests.length === 1 ? '' : 's'}`;
  return [title, line(head), ...rows.map(line)].join('\n') + '\n';
}

export async function psCommand(flags: { pid?: string; json?: boolean }): Promise<void> {
  const pid = await pickLayer(flags.pid);
  const table = parseGuestTable(await askLayer(pid, 'ps'), pid);
  process.stdout.write(flags.json ? escapeJson(JSON.stringify(table, null, 2)) + '\n' : formatGuests(table));
}
