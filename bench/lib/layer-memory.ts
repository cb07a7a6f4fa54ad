// The layer's host memory under socket churn and floods: peak RSS of a whole
// process running a layer of hostile guests (each under --memory 16MiB),
// against the sum of its guests' limits. The goal: what a layer holds beyond
// a plain run stays under that sum plus a constant, however long the guests
// churn (compare the 3 s and 10 s rows).
//
// Each case runs in a child process of its own (this file, with the case's
// id), so that its peak RSS is its own: `node layer-memory.js ID MS`.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Layer, run } from '../../src/api/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const QUOTA = path.join(ROOT, 'test/guests/hostile/hostile_quota.wasm');
const NET = path.join(ROOT, 'test/guests/hostile/hostile_net.wasm');
const HELLO = path.join(ROOT, 'test/guests/hello.wasm');
const GUEST_MIB = 16;
/** What a layer may hold beyond a plain run and its guests' limits (the documented constant's goal). */
export const LAYER_EXCESS_GOAL_MIB = 64;

interface Guest { name: string; module: string; args: (ms: number) => string[]; held?: boolean; startAfterMs?: number }
interface LayerCase { id: string; title: string; guests: Guest[]; durations: number[] }

const CASES: LayerCase[] = [
  { id: 'plain', title: 'a plain run (hello)', guests: [{ name: 'hello', module: HELLO, args: () => [] }], durations: [0] },
  {
    id: 'churn', title: 'sock_open + close in a loop', durations: [3000, 10_000],
    guests: [{ name: 'churner', module: QUOTA, args: (ms) => ['churn', String(ms)] }],
  },
  {
    id: 'connect', title: 'connect + close in a loop, between two guests', durations: [3000, 10_000],
    guests: [
      { name: 'server', module: QUOTA, args: (ms) => ['acceptor', '7000', String(ms + 1000)] },
      { name: 'client', module: QUOTA, args: (ms) => ['connect_churn', 'server', '7000', String(ms)], startAfterMs: 300 },
    ],
  },
  {
    id: 'spray', title: 'UDP spray: new sockets sending to 32 sockets of a neighbour', durations: [3000],
    guests: [
      { name: 'sink', module: QUOTA, args: () => ['udp_sinks', '9000', '32'], held: true },
      { name: 'sprayer', module: QUOTA, args: (ms) => ['udp_spray', 'sink', '9000', '32', String(ms)], startAfterMs: 300 },
    ],
  },
  {
    id: 'backlog', title: 'backlog flood: connections with full queues left waiting', durations: [0],
    guests: [{ name: 'flooder', module: NET, args: () => ['backlog_flood', '7300', '300'], held: true }],
  },
];

export interface LayerMemoryResult {
  id: string;
  title: string;
  ms: number;
  guests: number;
  peakMiB?: number;
  error?: string;
}

/** In the child: runs one case on one layer; held guests are told to go on once the others end. */
async function runCase(c: LayerCase, ms: number): Promise<void> {
  const layer = new Layer({ mode: 'secure' });
  for (const g of c.guests) layer.addGuest(g.name);
  const stdin = new PassThrough();
  const go = (g: Guest): Promise<unknown> => run(g.module, {
    layer, name: g.name, args: g.args(ms), limits: { memoryBytes: GUEST_MIB * 1024 * 1024 }, timeoutMs: ms + 30_000,
    stdout: 'ignore', stderr: 'ignore', stdin: g.held ? stdin : 'some input',
  });
  const held = c.guests.filter((g) => g.held).map(go);
  const others = c.guests.filter((g) => !g.held).map(async (g) => {
    await new Promise((r) => setTimeout(r, g.startAfterMs ?? 0));
    return go(g);
  });
  await Promise.all(others);
  // A held guest goes on (and ends) once it has read this, after its attack.
  stdin.end('\n');
  await Promise.all(held);
  layer.close();
}

/** Peak RSS in KiB of the child running case `id` for `ms`. */
async function peakOf(id: string, ms: number): Promise<number | string> {
  const file = path.join(os.tmpdir(), `capsule-bench-layer-${process.pid}.txt`);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%M', '-o', file, process.execPath, fileURLToPath(import.meta.url), id, String(ms)],
        { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('close', resolve);
    });
    const last = fs.readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
    const kb = parseInt(last, 10);
    if (code !== 0) return `exit ${code}`;
    return Number.isFinite(kb) ? kb : `no figure (${last})`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export async function layerMemoryBenchmarks(o: { status: (t: string) => void }): Promise<LayerMemoryResult[]> {
  const out: LayerMemoryResult[] = [];
  for (const c of CASES) {
    for (const ms of c.durations) {
      o.status(`layer memory: ${c.title}${ms ? ` for ${ms / 1000} s` : ''}`);
      const kb = await peakOf(c.id, ms);
      out.push({ id: c.id, title: c.title, ms, guests: c.guests.length, ...(typeof kb === 'number' ? { peakMiB: kb / 1024 } : { error: kb }) });
    }
  }
  o.status('');
  return out;
}

export function printLayerMemory(r: LayerMemoryResult[]): void {
  const plain = r.find((x) => x.id === 'plain')?.peakMiB;
  console.log(`\nLayer host memory under socket churn and floods (whole process; each guest --memory ${GUEST_MIB}MiB; a plain run: ${plain?.toFixed(0) ?? '?'} MiB):`);
  console.log(`| case | time | peak RSS | sum of limits | peak / sum | over a plain run / sum | goal: over a plain run ≤ sum + ${LAYER_EXCESS_GOAL_MIB} MiB |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const x of r) {
    if (x.id === 'plain') continue;
    const sum = x.guests * GUEST_MIB;
    const time = x.ms ? `${x.ms / 1000} s` : '-';
    if (x.peakMiB === undefined) { console.log(`| ${x.title} | ${time} | FAILED (${x.error}) | ${sum} MiB | | | |`); continue; }
    const over = plain === undefined ? '?' : `${((x.peakMiB - plain) / sum).toFixed(2)}x`;
    const met = plain === undefined ? '?' : x.peakMiB - plain <= sum + LAYER_EXCESS_GOAL_MIB ? 'yes' : 'no';
    console.log(`| ${x.title} | ${time} | ${x.peakMiB.toFixed(0)} MiB | ${sum} MiB | ${(x.peakMiB / sum).toFixed(2)}x | ${over} | ${met} |`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  const c = CASES.find((x) => x.id === process.argv[2]);
  if (!c) throw new Error(`no case ${process.argv[2]}`);
  await runCase(c, Number(process.argv[3] ?? 0));
}
