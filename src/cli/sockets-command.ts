// `capsule sockets`: the live socket table of a running layer, like `ss`:
// once, or (--watch) again each time it changes, until the layer ends;
// filtered by guest, status and port as `ss` filters by state and port.

import { pickLayer, readSnapshot } from '../api/control-client.js';
import type { LayerSnapshot } from '../api/control.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { escapeJson } from '../audit/escape.js';
import { STATUS_NAMES } from '../layer/net/status.js';
import type { TableRow } from '../layer/net/table.js';
import { formatTable, say } from './report.js';

export interface SocketsFlags {
  pid?: string;
  json?: boolean;
  watch?: boolean;
  guest: string[];
  status: string[];
  port: string[];
}

/** How often --watch reads the table. */
const WATCH_INTERVAL_MS = 500;

/** The port of a LOCAL or REMOTE cell (`10.89.0.2:7000`, `[::1]:80`, `1.2.3.4:5 (host)`), if it has one. */
function portOf(cell: string): number | undefined {
  const m = /:(\d+)(?: \(host\))?$/.exec(cell);
  return m ? Number(m[1]) : undefined;
}

/** The filter the flags describe: a row passes if it matches one value of every filter given. */
function rowFilter(flags: SocketsFlags): (r: TableRow) => boolean {
  const guests = flags.guest.map((g) => g.toLowerCase());
  const statuses = flags.status.map((s) => {
    const up = s.toUpperCase();
    if (!STATUS_NAMES.includes(up)) throw new CapsuleError(ExitCode.USAGE, `--status '${s}' is not a socket status (one of ${STATUS_NAMES.join(', ')})`);
    return up;
  });
  const ports = flags.port.map((p) => {
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new CapsuleError(ExitCode.USAGE, `--port '${p}' is not a port number`);
    return Number(p);
  });
  return (r) => (guests.length === 0 || guests.includes(r.owner.slice(0, r.owner.lastIndexOf(':')).toLowerCase()))
    && (statuses.length === 0 || statuses.includes(r.status))
    && (ports.length === 0 || ports.includes(portOf(r.local) ?? -1) || ports.includes(portOf(r.remote) ?? -1));
}

function render(s: LayerSnapshot, json: boolean): string {
  // One JSON document per line when watching, so a reader can take them one by one.
  return json ? escapeJson(JSON.stringify(s, null, 2)) + '\n' : formatTable(s);
}

export async function socketsCommand(flags: SocketsFlags): Promise<void> {
  const keep = rowFilter(flags);
  const pid = await pickLayer(flags.pid);
  const read = async (): Promise<LayerSnapshot> => {
    const s = await readSnapshot(pid);
    return { ...s, sockets: s.sockets.filter(keep) };
  };
  if (!flags.watch) {
    process.stdout.write(render(await read(), flags.json ?? false));
    return;
  }
  const tty = process.stdout.isTTY === true && !flags.json;
  let last = '';
  for (;;) {
    let s: LayerSnapshot;
    try {
      s = await read();
    } catch (err) {
      // The layer ended: the watch is over (anything else is an error as without --watch).
      if (last !== '' && err instanceof CapsuleError && err.exitCode === ExitCode.NO_INPUT) {
        say(`layer ${pid} has ended`);
        return;
      }
      throw err;
    }
    const text = flags.json ? JSON.stringify(s) : formatTable(s);
    if (text !== last) {
      last = text;
      // A terminal is redrawn in place; a pipe gets each new table after the last.
      process.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : flags.json ? escapeJson(text) + '\n' : `${text}\n`);
    }
    await new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS));
  }
}
