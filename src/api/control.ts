// The control endpoint of a running layer: a Unix socket in the user's
// private runtime directory, through which `capsule sockets` reads the live
// socket table of a `capsule up` or `capsule run` in another process.
//
// Protocol: the client sends one JSON line, {"op":"snapshot","proof":NAME,
// "token":TOKEN} (see control-proof.ts); the server answers with one JSON
// document — the snapshot, or {"error":"..."} — and closes the connection.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkProof } from './control-proof.js';
import { privateRuntimeDir } from './runtime-dir.js';
import type { Layer } from './layer.js';
import type { TableRow } from '../layer/net/table.js';
import { guestsAnswer } from './control-ps.js';

export interface LayerSnapshot {
  pid: number;
  label: string;
  started: string;
  sockets: TableRow[];
}

/** How long either side waits for the other's whole message. */
export const CONTROL_TIMEOUT_MS = 2000;
/** The longest request line the server reads. */
const MAX_REQUEST_BYTES = 4096;
/** Connections served at once: a flood of idle clients holds no more than this. */
const MAX_CONNECTIONS = 16;

export interface ControlEndpoint {
  close(): void;
}

/**
 * Serves `layer`'s table on <runtime dir>/<pid>.sock. If the runtime
 * directory is unsafe or the socket cannot be made, the guests run anyway:
 * `warn` gets one line saying why, and there is no table to read.
 */
export async function serveControl(layer: Layer, label: string, warn: (line: string) => void): Promise<ControlEndpoint> {
  const none: ControlEndpoint = { close() {} };
  let dir: string;
  try {
    dir = privateRuntimeDir(true)!;
  } catch (err) {
    warn(`not serving the socket table: ${(err as Error).message}`);
    return none;
  }
  const file = path.join(dir, `${process.pid}.sock`);
  const started = new Date().toISOString();
  // A socket left by an earlier process with this pid (it cannot be running: this one is).
  fs.rmSync(file, { force: true });

  const server = net.createServer((conn) => answer(conn, dir, (op, req) => {
    if (op === 'ps') return guestsAnswer(layer, label, started);
    // Loaded on use, with the snapshot code it needs.
    if (op === 'suspend') return import('./control-suspend.js').then((m) => m.suspendAnswer(layer, req));
    if (op !== 'snapshot') return { error: 'unknown request' };
    const snapshot: LayerSnapshot = { pid: process.pid, label, started, sockets: layer.sockets() };
    return snapshot;
  }));
  server.maxConnections = MAX_CONNECTIONS;
  server.unref();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', (err) => {
      warn(`not serving the socket table: ${file}: ${err.message}`);
      resolve(false);
    });
    server.listen(file, () => resolve(true));
  });
  if (!listening) return none;
  // Also on process.exit (a second Ctrl-C) and an uncaught error; only SIGKILL leaves it (`capsule sockets` cleans those).
  const remove = (): void => {
    try { fs.rmSync(file, { force: true }); } catch { /* already gone */ }
  };
  process.on('exit', remove);
  return {
    close() {
      server.close();
      process.off('exit', remove);
      remove();
    },
  };
}

/** Reads one request line from `conn`, checks its proof, and writes `handle`'s answer; refusals close too. */
function answer(conn: net.Socket, dir: string, handle: (op: unknown, req: Record<string, unknown>) => object | Promise<object>): void {
  let text = '';
  const reply = (value: object): void => {
    conn.removeAllListeners('data');
    conn.end(JSON.stringify(value));
  };
  conn.setTimeout(CONTROL_TIMEOUT_MS, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  conn.setEncoding('utf8');
  conn.on('data', (chunk: string) => {
    text += chunk;
    const end = text.indexOf('\n');
    if (end < 0) {
      if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) reply({ error: 'request too long' });
      return;
    }
    try {
      const req = JSON.parse(text.slice(0, end)) as { op?: unknown; proof?: unknown; token?: unknown } | null;
      if (typeof req !== 'object' || req === null) throw new Error('not an object');
      const refused = checkProof(dir, req.proof, req.token);
      if (refused !== undefined) return reply({ error: refused });
      const answered = handle(req.op, req as Record<string, unknown>);
      if (!(answered instanceof Promise)) return reply(answered);
      // A request that takes its time (a suspension): the client waits for it, not the idle timer.
      conn.removeAllListeners('data');
      conn.setTimeout(0);
      answered.then(reply, (err: unknown) => reply({ error: (err as Error)?.message ?? 'failed' }));
    } catch {
      // A malformed line, or a proof file that changed under us: refused either way; the layer runs on.
      reply({ error: 'unreadable request' });
    }
  });
}
