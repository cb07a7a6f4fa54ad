// A real HTTP server in a guest: darkhttpd built with the WASIX toolchain
// (test/guests/wasix/darkhttpd.wasm) against the same source built natively
// with gcc on the host, both driven by the same client in this process
// (Node's http with keep-alive, several connections at once) for a fixed
// time: requests per second, as a ratio against the native server.
// Guest-to-guest: testminiwget in a guest fetching from darkhttpd in a
// guest, one request per client run, against both built natively.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Layer, run } from '../../src/api/index.js';
import { median } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = path.join(ROOT, 'test/guests/src/wasix');
const WASM = (name: string): string => path.join(ROOT, 'test/guests/wasix', `${name}.wasm`);
const CLI = path.join(ROOT, 'bin/capsule.js');
const PAGE = 'x'.repeat(1024);

export interface HttpResult {
  id: string;
  title: string;
  unit: 'requests/s';
  /** Per round; the baseline is what `baseline` names. */
  samples: Record<string, number[]>;
  baseline: string;
  /** Requests retried after ECONNRESET on a kept-alive connection, per contender. */
  resets?: Record<string, number>;
  error?: string;
}

/** Builds darkhttpd and testminiwget for the host with gcc, from the committed sources. */
function buildNative(dir: string): { server: string; client: string } {
  const server = path.join(dir, 'darkhttpd');
  const client = path.join(dir, 'testminiwget');
  execFileSync('gcc', ['-O2', '-w', path.join(SRC, 'darkhttpd/darkhttpd.c'), '-o', server]);
  const strings = fs.readFileSync(path.join(SRC, 'miniwget/miniupnpcstrings.h.in'), 'utf8')
    .replace('OS/version', 'Linux').replace('"version"', '"2.3"');
  fs.writeFileSync(path.join(dir, 'miniupnpcstrings.h'), strings);
  execFileSync('gcc', ['-O2', '-w', `-I${dir}`, `-I${path.join(SRC, 'miniwget')}`,
    ...['testminiwget.c', 'miniwget.c', 'connecthostport.c', 'receivedata.c'].map((f) => path.join(SRC, 'miniwget', f)), '-o', client]);
  return { server, client };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once GET / answers 200 on the port (the server is up). */
async function whenUp(port: number, child: ChildProcess): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(2000) });
      await r.text();
      if (r.ok) return;
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error('the server did not come up within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The client: `connections` keep-alive loops of GET /index.html for `ms`;
 * requests per second. A request on a kept-alive connection the server has
 * just closed fails with ECONNRESET: it is counted in `resets` and retried.
 */
async function load(port: number, connections: number, ms: number, resets: { count: number }): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const until = performance.now() + ms;
  let done = 0;
  const get = (): Promise<void> => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/index.html', agent }, (res) => {
      let n = 0;
      res.on('data', (b: Buffer) => { n += b.byteLength; });
      res.on('end', () => (res.statusCode === 200 && n === PAGE.length ? resolve() : reject(new Error(`status ${res.statusCode}, ${n} bytes`))));
    }).on('error', reject);
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < until) {
      try {
        await get();
        done++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET' || ++resets.count > 1000) throw err;
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return done / seconds;
}

type Server = { id: string; start(port: number): ChildProcess };

export async function httpBenchmarks(o: { rounds: number; seconds: number; connections: number; clientRuns: number; status: (t: string) => void }): Promise<HttpResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-http-'));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'index.html'), PAGE);
  const results: HttpResult[] = [];
  try {
    let native: { server: string; client: string };
    try {
      native = buildNative(dir);
    } catch (err) {
      const error = `cannot build the native baseline with gcc: ${(err as Error).message.split('\n')[0]}`;
      return [{ id: 'published', title: 'darkhttpd requests/s', unit: 'requests/s', samples: {}, baseline: 'native', error }];
    }
    const servers: Server[] = [
      { id: 'native', start: (p) => spawn(native.server, [www, '--port', String(p), '--addr', '127.0.0.1'], { stdio: 'ignore' }) },
      { id: 'secure', start: (p) => spawn(process.execPath, [CLI, 'run', '--dir', `${www}::/www:ro`, '--publish', `127.0.0.1:${p}:8080`,
        WASM('darkhttpd'), '--', '/www', '--port', '8080'], { stdio: 'ignore' }) },
      { id: 'normal', start: (p) => spawn(process.execPath, [CLI, 'run', '--mode', 'normal', '--dir', `${www}::/www:ro`,
        WASM('darkhttpd'), '--', '/www', '--port', String(p), '--addr', '127.0.0.1'], { stdio: 'ignore' }) },
    ];
    const published: HttpResult = { id: 'published', title: `darkhttpd, ${o.connections} keep-alive connections, 1 KiB page`,
      unit: 'requests/s', samples: Object.fromEntries(servers.map((s) => [s.id, []])), baseline: 'native',
      resets: Object.fromEntries(servers.map((s) => [s.id, 0])) };
    try {
      for (let round = 0; round < o.rounds; round++) {
        for (const s of servers) {
          o.status(`http: ${s.id}, round ${round + 1}/${o.rounds}`);
          const port = await freePort();
          const child = s.start(port);
          try {
            await whenUp(port, child);
            const resets = { count: 0 };
            published.samples[s.id]!.push(await load(port, o.connections, o.seconds * 1000, resets));
            published.resets![s.id]! += resets.count;
          } finally {
            child.kill('SIGTERM');
            await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
          }
        }
      }
    } catch (err) {
      published.error = (err as Error).message;
    }
    results.push(published);
    results.push(await guestToGuest(native, www, o));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    o.status('');
  }
  return results;
}

/** testminiwget fetching from darkhttpd, one request per client run: both in guests of one layer, or both native. */
async function guestToGuest(native: { server: string; client: string }, www: string,
  o: { rounds: number; clientRuns: number; status: (t: string) => void }): Promise<HttpResult> {
  const r: HttpResult = { id: 'guest-to-guest', title: `testminiwget -> darkhttpd, ${o.clientRuns} sequential client runs`,
    unit: 'requests/s', samples: { native: [], secure: [] }, baseline: 'native' };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-wget-'));
  try {
    for (let round = 0; round < o.rounds; round++) {
      o.status(`http guest-to-guest: native, round ${round + 1}/${o.rounds}`);
      const port = await freePort();
      const server = spawn(native.server, [www, '--port', String(port), '--addr', '127.0.0.1'], { stdio: 'ignore' });
      try {
        await whenUp(port, server);
        const t0 = performance.now();
        for (let i = 0; i < o.clientRuns; i++) {
          execFileSync(native.client, [`http://127.0.0.1:${port}/index.html`, path.join(out, 'got.html')], { stdio: 'ignore' });
        }
        r.samples['native']!.push(o.clientRuns / ((performance.now() - t0) / 1000));
      } finally {
        server.kill('SIGTERM');
      }

      o.status(`http guest-to-guest: secure, round ${round + 1}/${o.rounds}`);
      const layer = new Layer();
      layer.addGuest('web');
      layer.addGuest('client');
      const stop = new AbortController();
      const served = run(WASM('darkhttpd'), { layer, name: 'web', args: ['/www', '--port', '8080'],
        dirs: [{ host: www, guest: '/www', readOnly: true }], stdout: 'capture', stderr: 'capture', signal: stop.signal });
      try {
        const fetchOnce = () => run(WASM('testminiwget'), { layer, name: 'client', args: ['http://web:8080/index.html', '/out/got.html'],
          dirs: [{ host: out, guest: '/out' }], stdout: 'capture', stderr: 'capture' });
        // Until the server listens.
        for (let i = 0; (await fetchOnce()).exitCode !== 0; i++) {
          if (i > 100) throw new Error('the guest server never answered');
          await new Promise((res) => setTimeout(res, 100));
        }
        const t0 = performance.now();
        for (let i = 0; i < o.clientRuns; i++) {
          const c = await fetchOnce();
          if (c.exitCode !== 0) throw new Error(`testminiwget exited ${c.exitCode}: ${c.stderr?.toString().trim()}`);
        }
        r.samples['secure']!.push(o.clientRuns / ((performance.now() - t0) / 1000));
      } finally {
        stop.abort();
        await served;
        layer.close();
      }
    }
  } catch (err) {
    r.error = (err as Error).message;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  return r;
}

export function printHttp(results: HttpResult[]): void {
  console.log('\nA real HTTP server (darkhttpd) in a guest against the same server built natively (gcc), same client; requests/s, median of rounds:');
  console.log('| case | native | capsule secure | ratio | capsule normal | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.error) { console.log(`| ${r.title} | FAILED (${r.error}) | | | | |`); continue; }
    const base = median(r.samples[r.baseline] ?? []);
    const cell = (id: string): string => {
      const s = r.samples[id];
      if (!s?.length) return '- | -';
      const m = median(s);
      return `${m.toFixed(0)} | ${(m / base).toFixed(2)}x`;
    };
    console.log(`| ${r.title} | ${base.toFixed(0)} | ${cell('secure')} | ${cell('normal')} |`);
    if (r.resets && Object.values(r.resets).some((n) => n > 0)) {
      console.log(`  (requests retried after a reset of a kept-alive connection: ${Object.entries(r.resets).map(([k, n]) => `${k} ${n}`).join(', ')})`);
    }
  }
}
