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
import { CapsuleError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { ownSocket, privateRuntimeDir } from './runtime-dir.js';

/** The largest answer read from a layer (a table of some hundred thousand sockets). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const SOCKET_NAME = /^(\d{1,10})\.sock$/;

/** False only when no process has this pid (EPERM: one of another user's is running). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

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
    if (!alive(pid)) {
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

/** Reads the live table of the layer in process `pid`. */
export async function readSnapshot(pid: number): Promise<LayerSnapshot> {
  return parseAnswer(await askLayer(pid, 'snapshot'), pid);
}

/** Sends request `op` (with `fields`) to the layer in process `pid` and returns its whole answer, unparsed. */
export async function askLayer(pid: number, op: string, fields: Record<string, unknown> = {}, timeoutMs = CONTROL_TIMEOUT_MS): Promise<string> {
  const gone = new CapsuleError(ExitCode.NO_INPUT, `no running layer with pid ${pid}`);
  const dir = privateRuntimeDir(false);
  if (dir === undefined) throw gone;
  const file = path.join(dir, `${pid}.sock`);
  if (!ownSocket(file)) {
    if (fs.existsSync(file)) throw new CapsuleError(ExitCode.NO_INPUT, `no running layer with pid ${pid}: ${file} is not a socket of this user's (ignored)`);
    throw gone;
  }
  if (!alive(pid)) {
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
    return await request(conn, pid, `${JSON.stringify({ ...fields, op, proof: proof.name, token: proof.token })}\n`, timeoutMs);
  } finally {
    proof.remove();
  }
}

/** Sends `line` and reads the whole answer, within the time and size limits. */
function request(conn: net.Socket, pid: number, line: string, timeoutMs: number): Promise<string> {
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
    conn.write(line);
  });
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const ROW_STRINGS = ['owner', 'family', 'type', 'protocol', 'local', 'remote', 'status'] as const;
const ROW_COUNTS = ['id', 'sendQueue', 'receiveQueue', 'connectionQueue'] as const;

/** The snapshot in `text`, checked field by field; a refusal or anything else is a one-line error. */
function parseAnswer(text: string, pid: number): LayerSnapshot {
  const unreadable = new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw unreadable;
  }
  if (typeof v !== 'object' || v === null) throw unreadable;
  if (isString(v['error'])) throw new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} refused the request: ${v['error']}`);
  const rowOk = (r: unknown): boolean => typeof r === 'object' && r !== null
    && ROW_STRINGS.every((k) => isString((r as Record<string, unknown>)[k]))
    && ROW_COUNTS.every((k) => isCount((r as Record<string, unknown>)[k]));
  if (!isCount(v['pid']) || !isString(v['label']) || !isString(v['started'])
    || !Array.isArray(v['sockets']) || !v['sockets'].every(rowOk)) throw unreadable;
  return v as unknown as LayerSnapshot;
}
