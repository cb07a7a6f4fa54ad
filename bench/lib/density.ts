// Density: what idle guests cost the host, and what suspended ones do.
//
// Idle: `capsule up` of N guests that each say "idle" and sleep (bench/guests
// idle.wasm), for N = 1 (the baseline) and larger N: the time from the
// command to the last guest's "idle", then the whole process's resident
// memory, threads and CPU time (from /proc); per guest is the difference to
// one guest, divided by the guests added.
//
// Suspended: N such guests started through the API in one process (this
// file, run as a child), each suspended into a snapshot of its own: the
// process's memory and threads with the guests running and once all are
// sealed, and the snapshot bytes per guest. A suspended guest is a file: it
// holds no thread and no memory in the process.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Layer, run, start } from '../../src/api/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CAPSULE = path.join(ROOT, 'bin/capsule.js');
const IDLE = path.join(ROOT, 'bench/guests/idle.wasm');
/** How long the process is left alone before it is measured, once its guests are idle. */
const SETTLE_MS = 1000;
const TICK_MS = 1000 / 100; // /proc's clock ticks (USER_HZ)
/** A system not idle by then is reported as failed rather than waited for. */
const START_TIMEOUT_MS = 180_000;

export interface ProcessFigures { rssMiB: number; threads: number; cpuMs: number }
export interface IdleResult { guests: number; startMs?: number; figures?: ProcessFigures; error?: string }
export interface SuspendedResult {
  guests: number;
  /** The process before any guest, with the guests idle, and once every one is sealed. */
  empty?: ProcessFigures;
  running?: ProcessFigures;
  suspended?: ProcessFigures;
  /** Median ms to suspend and seal one guest, all asked at once. */
  suspendMs?: number;
  snapshotBytesPerGuest?: number;
  error?: string;
}
export interface DensityResult {
  idle: IdleResult[];
  /** From the largest idle N against one guest. */
  perGuest?: { rssMiB: number; cpuMs: number; threads: number };
  suspended: SuspendedResult;
}

function procFigures(pid: number): ProcessFigures {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  // utime and stime are fields 14 and 15, counted after the command name's closing parenthesis.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { rssMiB: field('VmRSS') / 1024, threads: field('Threads'), cpuMs: ticks * TICK_MS };
}

/** `capsule up` of `n` idle guests: time to the last one's "idle", then the process's figures. */
async function idleUp(n: number, dir: string): Promise<IdleResult> {
  const system = path.join(dir, `idle-${n}.json`);
  fs.writeFileSync(system, JSON.stringify({
    mode: 'secure', limits: { memory: '16MiB' },
    guests: Array.from({ length: n }, (_, i) => ({ name: `idle${i}`, module: IDLE })),
  }));
  const t0 = performance.now();
  const child = spawn(process.execPath, [CAPSULE, 'up', system], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const startMs = await new Promise<number>((resolve, reject) => {
      let seen = 0;
      let partial = '';
      child.stdout.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop()!;
        seen += lines.filter((l) => l.endsWith('| idle')).length;
        if (seen === n) resolve(performance.now() - t0);
      });
      child.once('exit', (code) => reject(new Error(`capsule up exited ${code} with ${seen} of ${n} guests idle: ${stderr.trim().split('\n').pop() ?? ''}`)));
      setTimeout(() => reject(new Error(`${seen} of ${n} guests idle after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS).unref();
    });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return { guests: n, startMs, figures: procFigures(child.pid!) };
  } catch (err) {
    return { guests: n, error: (err as Error).message };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** In the child: `n` idle guests through the API, then each suspended; prints the figures as JSON. */
async function suspendedChild(n: number, dir: string): Promise<SuspendedResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const settle = async (): Promise<ProcessFigures> => {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    gc?.();
    return procFigures(process.pid);
  };
  const sealKey = crypto.randomBytes(32);
  const cacheDir = path.join(dir, 'cache');
  // The module is prepared once, before anything is measured (the cache is what each guest then uses).
  await run(IDLE, { suspendable: true, sealKey, cacheDir, stdout: 'ignore', timeoutMs: 200 });
  const empty = await settle();
  const layer = new Layer({ mode: 'secure' });
  for (let i = 0; i < n; i++) layer.addGuest(`idle${i}`);
  await layer.start();
  try {
    let idle = 0;
    let allIdle!: () => void;
    const ready = new Promise<void>((r) => { allIdle = r; });
    const out = (): Writable => new Writable({ write(chunk: Buffer, _e, done) { if (chunk.includes('idle') && ++idle === n) allIdle(); done(); } });
    const handles = Array.from({ length: n }, (_, i) => start(IDLE, {
      layer, name: `idle${i}`, stdout: out(), suspendable: true, sealKey, cacheDir, limits: { memoryBytes: 16 << 20 },
    }));
    await Promise.race([ready, ...handles.map((h) => h.result.then((r) => { throw new Error(`a guest ended: ${JSON.stringify(r.outcome)}`); }))]);
    const running = await settle();
    const times: number[] = [];
    const sealed = await Promise.all(handles.map(async (h, i) => {
      const t = performance.now();
      const s = await h.suspend(path.join(dir, `idle${i}.snap`));
      times.push(performance.now() - t);
      await h.result;
      return s.bytes;
    }));
    const suspended = await settle();
    times.sort((a, b) => a - b);
    return {
      guests: n, empty, running, suspended, suspendMs: times[times.length >> 1]!,
      snapshotBytesPerGuest: sealed.reduce((a, b) => a + b, 0) / n,
    };
  } finally {
    layer.close();
  }
}

/** Runs the suspended case in a child process of its own (its figures are its own). */
async function suspendedCase(n: number, dir: string): Promise<SuspendedResult> {
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), 'suspended', String(n), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS * 2);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    if (code !== 0) throw new Error();
    return JSON.parse(last) as SuspendedResult;
  } catch {
    return { guests: n, error: `exit ${code}: ${(stderr.trim().split('\n').pop() ?? last).slice(0, 300)}` };
  }
}

export async function densityBenchmarks(o: { counts: number[]; suspendedGuests: number; status: (t: string) => void }): Promise<DensityResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-density-'));
  try {
    const idle: IdleResult[] = [];
    for (const n of [1, ...o.counts.filter((c) => c > 1)]) {
      o.status(`density: capsule up of ${n} idle guest${n === 1 ? '' : 's'}`);
      idle.push(await idleUp(n, dir));
    }
    const one = idle[0]?.figures;
    const most = idle.at(-1);
    const perGuest = one && most?.figures && most.guests > 1 ? {
      rssMiB: (most.figures.rssMiB - one.rssMiB) / (most.guests - 1),
      cpuMs: (most.figures.cpuMs - one.cpuMs) / (most.guests - 1),
      threads: (most.figures.threads - one.threads) / (most.guests - 1),
    } : undefined;
    o.status(`density: ${o.suspendedGuests} guests suspended`);
    const suspended = await suspendedCase(o.suspendedGuests, dir);
    o.status('');
    return { idle, ...(perGuest ? { perGuest } : {}), suspended };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printDensity(r: DensityResult): void {
  console.log('\nDensity: idle guests in one `capsule up` (whole process, after 1 s idle)');
  console.log('| guests | start to all idle | RSS | threads | CPU |');
  console.log('|---|---|---|---|---|');
  for (const x of r.idle) {
    if (!x.figures) { console.log(`| ${x.guests} | FAILED (${x.error}) | | | |`); continue; }
    console.log(`| ${x.guests} | ${x.startMs!.toFixed(0)} ms | ${x.figures.rssMiB.toFixed(0)} MiB | ${x.figures.threads} | ${x.figures.cpuMs.toFixed(0)} ms |`);
  }
  if (r.perGuest) console.log(`per idle guest: ${r.perGuest.rssMiB.toFixed(1)} MiB, ${r.perGuest.cpuMs.toFixed(1)} ms CPU, ${r.perGuest.threads.toFixed(1)} threads`);
  const s = r.suspended;
  if (s.error !== undefined) { console.log(`suspended guests: FAILED (${s.error})`); return; }
  const f = (x: ProcessFigures | undefined): string => (x ? `${x.rssMiB.toFixed(0)} MiB, ${x.threads} threads` : '?');
  console.log(`${s.guests} guests through the API: before any ${f(s.empty)}; idle ${f(s.running)}; all suspended ${f(s.suspended)}; ` +
    `${((s.snapshotBytesPerGuest ?? 0) / 1024).toFixed(0)} KiB of snapshot per guest, ${s.suspendMs?.toFixed(0)} ms to suspend one (median, all at once)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'suspended') {
  const r = await suspendedChild(Number(process.argv[3]), process.argv[4]!);
  console.log(JSON.stringify(r));
  process.exit(0);
}
