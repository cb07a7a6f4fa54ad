// The client side of the control socket (`capsule sockets`): finds running
// layers in the private runtime directory, clears the sockets of layers that
// died without removing them (SIGKILL), and reads one layer's table. A layer
// is another process, so its answer is waited for, sized and checked before
// use; only sockets of this user's are ever connected to.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CONTROL_TIMEOUT_MS, type LayerSnapshot } from './control.js';
import { writeProof } from './control-proof.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { processAlive } from '../core/process-alive.js';
import { ownSocket, privateRuntimeDir, SOCKET_NAME } from './runtime-dir.js';

/** The largest answer read from a layer (a table of some hundred thousand sockets). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** Removes a stale socket; `file` is this user's socket inside the checked directory. */
function removeStale(file: string): void {
  fs.rmSync(file, { force: true });
}

/** Connects to `file`; resolves with the connection, or the error code that ended the try. */
function connect(file: string): Promise<net.Socket | string> {
  return new Promise((resolve) => {
    const conn = net.connect(file);
    const timer = setTimeout(() => { conn.destroy(); resolve('ETIMEDOUT'); }, CONTROL_TIMEOUT_MS);
    conn.once('connect', () => { clearTimeout(timer); resolve(conn); });
    conn.once('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(err.code ?? 'EIO'); });
  });
}

/**
 * PIDs of this user's running layers. Sockets not of this user's are
 * ignored (left alone); those whose process is gone, or that refuse a
 * connection (the pid was reused), are removed.
 */
export async function runningLayers(): Promise<number[]> {
  const dir = privateRuntimeDir(false);
  if (dir === undefined) return [];
  const found: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(SOCKET_NAME.exec(name)?.[1] ?? NaN);
    const file = path.join(dir, name);
    if (!Number.isSafeInteger(pid) || !ownSocket(file)) continue;
    if (!processAlive(pid)) {
      removeStale(file);
      continue;
    }
    const probe = await connect(file);
    if (typeof probe !== 'string') probe.destroy();
    if (probe === 'ECONNREFUSED') removeStale(file);
    // A layer that is slow to accept is still running (reading its table will say it does not answer).
    else if (probe !== 'ENOENT') found.push(pid);
  }
  return found.sort((a, b) => a - b);
}

/**
 * The layer a command addresses: `pid` as given (a --pid flag's text), else
 * the only running one; a one-line error when there is none or several.
 */
export async function pickLayer(pid: string | undefined): Promise<number> {
  if (pid !== undefined) {
    if (!/^\d{1,10}$/.test(pid)) throw new CapsuleError(ExitCode.USAGE, `--pid '${pid}' is not a process id`);
    return Number(pid);
  }
  const running = await runningLayers();
  if (running.length === 0) throw new CapsuleError(ExitCode.NO_INPUT, 'no running capsule layer found');
  if (running.length > 1) throw new CapsuleError(ExitCode.USAGE, `several layers are running (pids ${running.join(', ')}): choose one with --pid`);
  return running[0]!;
}

/** Connects to layer `pid` and sends `body` with a fresh proof; `use` reads the answer. */
async function ask<T>(pid: number, body: object, use: (conn: net.Socket) => Promise<T>): Promise<T> {
  const gone = new CapsuleError(ExitCode.NO_INPUT, `no running layer with pid ${pid}`);
  const dir = privateRuntimeDir(false);
  if (dir === undefined) throw gone;
  const file = path.join(dir, `${pid}.sock`);
  if (!ownSocket(file)) {
    if (fs.existsSync(file)) throw new CapsuleError(ExitCode.NO_INPUT, `no running layer with pid ${pid}: ${file} is not a socket of this user's (ignored)`);
    throw gone;
  }
  if (!processAlive(pid)) {
    removeStale(file);
    throw gone;
  }
  const proof = writeProof(dir);
  try {
    const conn = await connect(file);
    if (typeof conn === 'string') {
      if (conn === 'ECONNREFUSED') removeStale(file);
      if (conn === 'ETIMEDOUT') throw new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} did not answer within ${CONTROL_TIMEOUT_MS / 1000} s`);
      throw gone;
    }
    conn.write(`${JSON.stringify({ ...body, proof: proof.name, token: proof.token })}\n`);
    return await use(conn);
  } finally {
    proof.remove();
  }
}

/** Reads the live table of the layer in process `pid`. */
export async function readSnapshot(pid: number): Promise<LayerSnapshot> {
  return parseAnswer(await askLayer(pid, 'snapshot'), pid);
}

/** Sends request `op` (with `fields`) to the layer in process `pid` and returns its whole answer, unparsed. */
export async function askLayer(pid: number, op: string, fields: Record<string, unknown> = {}, timeoutMs = CONTROL_TIMEOUT_MS): Promise<string> {
  return ask(pid, { ...fields, op }, (conn) => request(conn, pid, timeoutMs));
}

/** Asks layer `pid` to stop guest `guest` (every guest if undefined); the names it is stopping. */
export async function stopGuests(pid: number, guest: string | undefined): Promise<string[]> {
  const text = await ask(pid, { op: 'stop', ...(guest !== undefined ? { guest } : {}) }, (conn) => request(conn, pid));
  let refusal: unknown;
  try {
    refusal = (JSON.parse(text) as { error?: unknown } | null)?.error;
  } catch { /* parseObject says it is unreadable */ }
  if (isString(refusal)) throw new CapsuleError(ExitCode.NO_INPUT, `layer ${pid}: ${refusal}`);
  const v = parseObject(text, pid);
  if (!Array.isArray(v['stopping']) || !v['stopping'].every(isString)) throw new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  return v['stopping'];
}

/** Resolves true once layer `pid` has ended (its socket gone, or its process), false if it still runs after `timeoutMs`. */
export async function layerEnded(pid: number, timeoutMs: number): Promise<boolean> {
  const dir = privateRuntimeDir(false);
  const file = dir === undefined ? undefined : path.join(dir, `${pid}.sock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!processAlive(pid) || file === undefined || !ownSocket(file)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The longest line of a log stream (a chunk of output, base64). */
const MAX_LOG_LINE = 1024 * 1024;

/**
 * Writes the kept output of guest `guest` of layer `pid` through `write`
 * (and, with `follow`, what it writes next, until it ends). Resolves with
 * the layer's reason for ending the stream.
 */
export async function readLogs(pid: number, guest: string, follow: boolean, write: (fd: 1 | 2, bytes: Buffer) => void): Promise<string> {
  return ask(pid, { op: 'logs', guest, follow }, (conn) => new Promise<string>((resolve, reject) => {
    const unreadable = (): void => { conn.destroy(); reject(new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`)); };
    let text = '';
    let first = true;
    let ended: string | undefined;
    // Only the answer's first line has a deadline; the output comes when the guest writes it.
    const timer = setTimeout(() => { conn.destroy(); reject(new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} did not answer within ${CONTROL_TIMEOUT_MS / 1000} s`)); }, CONTROL_TIMEOUT_MS);
    const take = (line: string): boolean => {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(line) as Record<string, unknown>;
      } catch {
        unreadable();
        return false;
      }
      if (typeof v !== 'object' || v === null) { unreadable(); return false; }
      if (first) {
        first = false;
        clearTimeout(timer);
        if (isString(v['error'])) {
          conn.destroy();
          reject(new CapsuleError(ExitCode.NO_INPUT, `layer ${pid}: ${v['error']}`));
          return false;
        }
        if (v['ok'] !== true) { unreadable(); return false; }
        return true;
      }
      if (isString(v['end'])) { ended = v['end']; return true; }
      if ((v['fd'] !== 1 && v['fd'] !== 2) || !isString(v['data'])) { unreadable(); return false; }
      write(v['fd'], Buffer.from(v['data'], 'base64'));
      return true;
    };
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      text += chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (!take(line)) return;
      }
      if (text.length > MAX_LOG_LINE) unreadable();
    });
    conn.on('error', () => { clearTimeout(timer); reject(new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} closed the connection`)); });
    conn.on('end', () => {
      clearTimeout(timer);
      // A one-document refusal ends without a newline.
      if (text !== '' && !take(text)) return;
      if (first) { unreadable(); return; }
      resolve(ended ?? 'the layer has ended');
    });
  }));
}

/** Reads the whole answer, within the time and size limits. */
function request(conn: net.Socket, pid: number, timeoutMs = CONTROL_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (message: string): void => {
      conn.destroy();
      reject(new CapsuleError(ExitCode.UNAVAILABLE, message));
    };
    const timer = setTimeout(() => fail(`layer ${pid} did not answer within ${timeoutMs / 1000} s`), timeoutMs);
    conn.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_ANSWER_BYTES) {
        clearTimeout(timer);
        fail(`layer ${pid} sent an answer larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`);
        return;
      }
      chunks.push(b);
    });
    conn.on('error', () => { clearTimeout(timer); fail(`layer ${pid} closed the connection`); });
    conn.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const ROW_STRINGS = ['owner', 'family', 'type', 'protocol', 'local', 'remote', 'status'] as const;
const ROW_COUNTS = ['id', 'sendQueue', 'receiveQueue', 'connectionQueue'] as const;

/** The JSON object in `text`; a refusal ({"error"}) or anything else is a one-line error. */
function parseObject(text: string, pid: number): Record<string, unknown> {
  const unreadable = new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw unreadable;
  }
  if (typeof v !== 'object' || v === null) throw unreadable;
  if (isString(v['error'])) throw new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} refused the request: ${v['error']}`);
  return v;
}

/** The snapshot in `text`, checked field by field; a refusal or anything else is a one-line error. */
function parseAnswer(text: string, pid: number): LayerSnapshot {
  const unreadable = new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  const v = parseObject(text, pid);
  const rowOk = (r: unknown): boolean => typeof r === 'object' && r !== null
    && ROW_STRINGS.every((k) => isString((r as Record<string, unknown>)[k]))
    && ROW_COUNTS.every((k) => isCount((r as Record<string, unknown>)[k]));
  if (!isCount(v['pid']) || !isString(v['label']) || !isString(v['started'])
    || !Array.isArray(v['sockets']) || !v['sockets'].every(rowOk)) throw unreadable;
  return v as unknown as LayerSnapshot;
}
