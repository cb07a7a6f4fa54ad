// The control endpoint of a running layer: a Unix socket, private to the
// user, through which `capsule sockets` reads the live socket table of a
// `capsule up` or `capsule run` in another process.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CapsuleError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { Layer } from './layer.js';
import type { TableRow } from '../layer/net/table.js';

export interface LayerSnapshot {
  pid: number;
  label: string;
  started: string;
  sockets: TableRow[];
}

/** Where control sockets live: CAPSULE_RUNTIME_DIR, else a per-user folder in the temp dir. */
export function runtimeDir(): string {
  return process.env['CAPSULE_RUNTIME_DIR'] ?? path.join(os.tmpdir(), `capsule-${os.userInfo().uid}`);
}

export interface ControlEndpoint {
  close(): void;
}

/** Serves `layer`'s table on runtimeDir()/<pid>.sock; silently does without if it cannot. */
export async function serveControl(layer: Layer, label: string): Promise<ControlEndpoint> {
  const dir = runtimeDir();
  const file = path.join(dir, `${process.pid}.sock`);
  const started = new Date().toISOString();
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.rmSync(file, { force: true });
  } catch {
    return { close() {} };
  }
  const server = net.createServer((conn) => {
    const snapshot: LayerSnapshot = { pid: process.pid, label, started, sockets: layer.sockets() };
    conn.end(JSON.stringify(snapshot));
  });
  server.unref();
  await new Promise<void>((resolve) => {
    server.once('error', () => resolve());
    server.listen(file, () => resolve());
  });
  return {
    close() {
      server.close();
      try { fs.rmSync(file, { force: true }); } catch { /* already gone */ }
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PIDs of running layers that serve a control socket. */
export function runningLayers(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(runtimeDir());
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+\.sock$/.test(n)).map((n) => Number(n.slice(0, -5))).filter(alive).sort((a, b) => a - b);
}

/** Reads the live table of the layer in process `pid`. */
export function readSnapshot(pid: number): Promise<LayerSnapshot> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(path.join(runtimeDir(), `${pid}.sock`));
    let text = '';
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => { text += d; });
    conn.on('error', () => reject(new CapsuleError(ExitCode.NO_INPUT, `no running layer with pid ${pid}`)));
    conn.on('end', () => {
      try {
        resolve(JSON.parse(text) as LayerSnapshot);
      } catch {
        reject(new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`));
      }
    });
  });
}
