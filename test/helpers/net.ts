// Helpers for the socket tests: system files for `capsule up`, long-running
// CLI processes, host TCP and UDP servers on 127.0.0.1, free ports, and guests run
// through the API on a shared Layer.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { run, type RunResult } from '../../src/api/run.js';
import type { Layer } from '../../src/api/layer.js';
import type { Limits } from '../../src/policy/policy.js';
import { CLI, ROOT, guest } from './cli.js';

/** Writes `spec` as JSON to DIR/NAME (default system.json) and returns the path. */
export function writeSystem(dir: string, spec: unknown, name = 'system.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  return file;
}

/** A guest entry of a system file, with the module given by its test-guest name. */
export function systemGuest(name: string, module: string, args: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, module: guest(module), args, ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `capsule` process left running: watch its output, then stop it. */
export interface LongRun {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once `text` has appeared on the stream; rejects if the process ends first or after timeoutMs. */
  waitFor(text: string | RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  exited: Promise<Exit>;
  /** Sends `signal` and waits for the exit (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  /** Kills it if still running (for finally blocks). */
  dispose(): void;
}

export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; keepStdin?: boolean } = {}): LongRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: 'pipe' });
  if (opts.keepStdin !== true) child.stdin.end();
  const text = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  let ended = false;
  const notify = (): void => { for (const l of [...listeners]) l(); };
  child.stdout.setEncoding('utf8').on('data', (s: string) => { text.stdout += s; notify(); });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { text.stderr += s; notify(); });
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => { ended = true; notify(); resolve({ code, signal }); }));
  const has = (t: string | RegExp, s: 'stdout' | 'stderr'): boolean => (typeof t === 'string' ? text[s].includes(t) : t.test(text[s]));
  return {
    child,
    pid: child.pid!,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor(t, stream = 'stdout', timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (has(t, stream)) { done(); resolve(); } else if (ended) {
            done();
            reject(new Error(`capsule ended before printing ${String(t)}; stdout: ${JSON.stringify(text.stdout)}, stderr: ${JSON.stringify(text.stderr)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${String(t)} on ${stream} within ${timeoutMs} ms; stdout: ${JSON.stringify(text.stdout)}, stderr: ${JSON.stringify(text.stderr)}`));
        }, timeoutMs);
        const done = (): void => { clearTimeout(timer); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    exited,
    async stop(signal = 'SIGINT', timeoutMs = 15_000) {
      if (!ended) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    dispose() {
      if (!ended) child.kill('SIGKILL');
    },
  };
}

/** A TCP server of the test's own on 127.0.0.1: echoes (or just counts) what it gets. */
export interface HostServer {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes received so far, over all connections. */
  received(): Buffer;
  close(): Promise<void>;
}

export async function hostServer(mode: 'echo' | 'sink' = 'echo'): Promise<HostServer> {
  let connections = 0;
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (mode === 'echo') s.write(d);
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    received: () => Buffer.concat(chunks),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A UDP echo server of the test's own on 127.0.0.1: answers each datagram, remembering who sent what. */
export interface HostUdpServer {
  port: number;
  received(): { from: string; data: string }[];
  close(): Promise<void>;
}

export async function hostUdpServer(): Promise<HostUdpServer> {
  const got: { from: string; data: string }[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    got.push({ from: rinfo.address, data: msg.toString() });
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    port: socket.address().port,
    received: () => [...got],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A TCP port on 127.0.0.1 (or `host`) that was free a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Connects to 127.0.0.1:port and sends `data`. With halfClose it then shuts its
 * side down at once and reads until the server ends; without, it reads until
 * as many bytes came back as it sent, then closes. Resolves to what came back.
 */
export function hostRoundTrip(port: number, data: string | Buffer, o: { halfClose?: boolean; timeoutMs?: number; host?: string } = {}): Promise<Buffer> {
  const bytes = Buffer.from(data);
  const timeoutMs = o.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const host = o.host ?? '127.0.0.1';
    const s = net.connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)); }, timeoutMs);
    const finish = (): void => { clearTimeout(timer); s.destroy(); resolve(Buffer.concat(chunks)); };
    s.on('connect', () => { if (o.halfClose) s.end(bytes); else s.write(bytes); });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.byteLength;
      if (!o.halfClose && got >= bytes.byteLength) finish();
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('end', finish);
  });
}

/** Guest output, captured as text, with a way to wait for a line. */
export interface Watched {
  stream: Writable;
  text(): string;
  waitFor(t: string, timeoutMs?: number): Promise<void>;
}

export function watchedOutput(): Watched {
  let text = '';
  const waiters = new Set<() => void>();
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      for (const w of [...waiters]) w();
      done();
    },
  });
  return {
    stream,
    text: () => text,
    waitFor(t, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => { if (text.includes(t)) { clearTimeout(timer); waiters.delete(check); resolve(); } };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`guest never printed ${JSON.stringify(t)}; output: ${JSON.stringify(text)}`)); }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

export interface GuestSpec {
  name: string;
  /** Test-guest name (test/guests/NAME.wasm). */
  module: string;
  args?: string[];
  timeoutMs?: number;
  /** Policy limits to override (e.g. maxFds for guests with many sockets). */
  limits?: Partial<Limits>;
}

export interface GuestRun {
  result: RunResult;
  /** stdout as text. */
  out: string;
}

/** Runs one guest through the API on `layer`, capturing stdout (default time limit 60 s). */
export async function runGuest(layer: Layer, g: GuestSpec): Promise<GuestRun> {
  const result = await run(guest(g.module), {
    layer, name: g.name, args: g.args ?? [], stdout: 'capture', stderr: 'capture', timeoutMs: g.timeoutMs ?? 60_000,
    ...(g.limits ? { limits: g.limits } : {}),
  });
  return { result, out: result.stdout?.toString('utf8') ?? '' };
}

/** Runs guests at once on `layer`; their names are added in order first, so addresses are 10.89.0.2, .3, ... */
export function runGuests(layer: Layer, guests: GuestSpec[]): Promise<GuestRun[]> {
  for (const g of guests) layer.addGuest(g.name);
  return Promise.all(guests.map((g) => runGuest(layer, g)));
}
