// The control endpoint of a running layer: a Unix socket in the user's
// private runtime directory, through which `capsule sockets` reads the live
// socket table of a `capsule up` or `capsule run` in another process.
//
// Protocol: the client sends one JSON line, {"op":OP,"proof":NAME,
// "token":TOKEN, ...} (see control-proof.ts). For "snapshot" and "stop"
// (with an optional "guest") the server answers with one JSON document —
// the snapshot, {"stopping":[names]}, or {"error":"..."} — and closes the
// connection. For "logs" ("guest", "follow") it answers with JSON lines: a
// first {"ok":true} or {"error":"..."}, then {"fd":1|2,"data":BASE64} per
// chunk of output, and {"end":"..."} when the guest has ended (or at once
// without "follow").

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkProof } from './control-proof.js';
import type { LogChunk, OutputLog } from './output-log.js';
import { privateRuntimeDir, sweepStale } from './runtime-dir.js';
import type { Layer } from './layer.js';
import type { TableRow } from '../layer/net/table.js';
import { guestsAnswer } from './control-ps.js';
import { answerInFlight } from './answers-in-flight.js';

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

/** Bytes a following reader may fall behind by before it is dropped (it can ask again). */
const MAX_FOLLOW_BACKLOG = 4 * 1024 * 1024;

export interface ControlEndpoint {
  /** Whether the socket is being served (false: the runtime directory or the socket could not be used). */
  served: boolean;
  close(): void;
}

/** What a layer's owner (`capsule up`, `capsule run`) offers besides the table. */
export interface ControlHandlers {
  /** The recent output of guest `name`, or undefined if there is no such guest. */
  logs?(name: string): OutputLog | undefined;
  /** Stops guest `name`, or every guest if undefined; returns the names stopping, or a refusal. */
  stop?(name: string | undefined): { stopping: string[] } | { error: string };
  /** Seals every guest and the network into `file` (absolute); the snapshot's size, or a refusal. */
  suspendAll?(file: string): Promise<{ file: string; bytes: number } | { error: string }>;
}

/**
 * Serves `layer`'s table on <runtime dir>/<pid>.sock. If the runtime
 * directory is unsafe or the socket cannot be made, the guests run anyway:
 * `warn` gets one line saying why, and there is no table to read.
 */
export async function serveControl(layer: Layer, label: string, warn: (line: string) => void, handlers: ControlHandlers = {}): Promise<ControlEndpoint> {
  const none: ControlEndpoint = { served: false, close() {} };
  let dir: string;
  try {
    dir = privateRuntimeDir(true)!;
  } catch (err) {
    warn(`not serving the socket table: ${(err as Error).message}`);
    return none;
  }
  const file = path.join(dir, `${process.pid}.sock`);
  const started = new Date().toISOString();
  // What killed layers and clients left behind; and a socket of an earlier process with this pid (it cannot be running: this one is).
  sweepStale(dir);
  fs.rmSync(file, { force: true });

  const server = net.createServer((conn) => answer(conn, dir, (req) => {
    const guest = typeof req['guest'] === 'string' ? req['guest'].toLowerCase() : undefined;
    switch (req['op']) {
      case 'snapshot': {
        const snapshot: LayerSnapshot = { pid: process.pid, label, started, sockets: layer.sockets() };
        return snapshot;
      }
      case 'ps':
        return guestsAnswer(layer, label, started);
      case 'suspend':
        // Loaded on use, with the snapshot code it needs.
        return import('./control-suspend.js').then((m) => m.suspendAnswer(layer, req, handlers.suspendAll));
      case 'stop':
        return handlers.stop?.(guest) ?? { error: 'this layer cannot be stopped from here' };
      case 'logs': {
        const log = guest === undefined ? undefined : handlers.logs?.(guest);
        if (log === undefined) return { error: guest === undefined ? 'no guest named' : `no guest named '${guest}' here` };
        return (c: net.Socket) => streamLog(c, log, req['follow'] === true);
      }
      default:
        return { error: 'unknown request' };
    }
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
    served: true,
    close() {
      server.close();
      process.off('exit', remove);
      remove();
    },
  };
}

/**
 * Sends the kept output of `log` as JSON lines, then (with `follow`) each new
 * chunk until the guest ends or the reader goes; a reader that falls too far
 * behind is told so and dropped rather than held in memory.
 */
function streamLog(conn: net.Socket, log: OutputLog, follow: boolean): void {
  // Following has no time limit: the reader waits for the guest, not for us.
  conn.setTimeout(0);
  const line = (v: object): void => { conn.write(JSON.stringify(v) + '\n'); };
  let unfollow = (): void => {};
  const chunk = (c: LogChunk): void => {
    if (conn.writableEnded) return;
    if (conn.writableLength > MAX_FOLLOW_BACKLOG) {
      unfollow();
      conn.end(JSON.stringify({ end: 'the reader fell too far behind' }) + '\n');
      return;
    }
    line({ fd: c.fd, data: c.bytes.toString('base64') });
  };
  line({ ok: true });
  for (const c of log.recent()) chunk(c);
  if (!follow || log.ended) {
    conn.end(JSON.stringify({ end: log.ended ? 'the guest has ended' : 'that is all so far' }) + '\n');
    return;
  }
  unfollow = log.follow({ chunk, end: () => conn.end(JSON.stringify({ end: 'the guest has ended' }) + '\n') });
  conn.on('close', unfollow);
}

/** An answer: a document, a stream the handler writes itself, or a document that takes its time (a suspension). */
type Answer = object | ((conn: net.Socket) => void) | Promise<object>;

/** Reads one request line from `conn`, checks its proof, and writes `handle`'s answer; refusals close too. */
function answer(conn: net.Socket, dir: string, handle: (req: Record<string, unknown>) => Answer): void {
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
      if (refused !== undefined) {
        reply({ error: refused });
        return;
      }
      const a = handle(req as Record<string, unknown>);
      if (typeof a === 'function') {
        conn.removeAllListeners('data');
        a(conn);
      } else if (a instanceof Promise) {
        // A request that takes its time (a suspension): the client waits for it, not the idle timer.
        conn.removeAllListeners('data');
        conn.setTimeout(0);
        answerInFlight(new Promise<void>((resolve) => { conn.once('finish', resolve); conn.once('close', resolve); }));
        a.then(reply, (err: unknown) => reply({ error: (err as Error)?.message ?? 'failed' }));
      } else {
        reply(a);
      }
    } catch {
      // A malformed line, or a proof file that changed under us: refused either way; the layer runs on.
      reply({ error: 'unreadable request' });
    }
  });
}
