// The suspend part of `npm run bench`: what --suspendable costs a guest's
// compute (against the same module unprepared, in the same run), how long
// suspending and sealing a guest with 256 MiB of memory takes, how long
// resuming it takes against starting it fresh, how large its snapshot is
// against the memory it used, and how soon a program with a slow start
// answers when resumed from a snapshot taken after its start, against
// starting it. Reported, never asserted.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { resume, run, start } from '../../src/api/index.js';
import { System } from '../../src/api/system.js';
import { loadSystemSnapshot } from '../../src/api/system-suspend.js';
import { alternate, median } from './measure.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const COMPUTE = path.join(ROOT, 'bench', 'guests', 'compute.wasm');
const CHECKSUM = path.join(ROOT, 'test', 'guests', 'checksum.wasm');
const WARM_START = path.join(ROOT, 'bench', 'guests', 'warm_start.wasm');
const FILL_MIB = 256;
/** n-body steps of the compute case: about a second, so that start-up and scheduling noise are small beside it. */
const COMPUTE_STEPS = '20000000';
/** Rounds of the compute case at least: its goal is a ratio near 1, which few rounds cannot tell from noise. */
const COMPUTE_MIN_ROUNDS = 7;
/** The slow start of the warm-start guest, ms. */
const WARM_INIT_MS = 300;
const STREAM_SUM = path.join(ROOT, 'test', 'guests', 'stream_sum.wasm');
/** Guests of the system sealed whole: each a server blocked in accept, holding a listening socket. */
const SYSTEM_GUESTS = 50;

export interface SuspendResult {
  /**
   * Median wall ms of the compute guest, unprepared (the baseline) and --suspendable, in alternating
   * rounds; `ratio` is the median of the rounds' paired ratios, `ratioRange` their lowest and highest.
   */
  computeMs: {
    unprepared: number; suspendable: number; ratio: number; goal: number; rounds?: number; ratioRange?: [number, number];
    /**
     * The same by the guest thread's own CPU time (from the kernel), which other load on the machine moves
     * far less than wall time: medians, and the median of the paired ratios.
     */
    cpu?: { unprepared: number; suspendable: number; ratio: number; ratioRange: [number, number] };
  };
  /** Median ms to suspend and seal the 256 MiB guest (goal: under 300). */
  sealMs: number;
  /** Median ms from resume() to the guest running again, against a fresh start (from start()) to the same state (goal: under fresh + 50). */
  resumeMs: number;
  freshStartMs: number;
  /** Snapshot bytes against the guest's memory (goal: at most used + 1%). */
  snapshotBytes: number;
  memoryBytes: number;
  /**
   * A guest that initialises for 300 ms, then answers a line of input: median ms from the call to its
   * first output, started fresh (unprepared: the baseline) and resumed from a snapshot taken once it
   * was ready (goal: at most 1/5 of fresh).
   */
  warmStart?: { initMs: number; freshMs: number; resumedMs: number; ratio: number; goal: number; snapshotBytes: number };
  /** A system of idle guests sealed whole (`capsule suspend --all`) and resumed. */
  system?: SystemDensity;
}

export interface SystemDensity {
  guests: number;
  /** Growth of this process's resident memory with the system running (what sealing it gives back: a sealed system is a file). */
  runningRssBytes: number;
  /** The guests' linear memory, summed, and the snapshot's size against it. */
  memoryBytes: number;
  snapshotBytes: number;
  /** ms to stop and seal every guest and the network. */
  sealMs: number;
  /** ms from loading the snapshot to every guest running again, against a fresh start to the same state (every guest listening). */
  resumeMs: number;
  freshStartMs: number;
}

/** Resolves once `ready()` holds, looking every 5 ms. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 5));
}

export async function systemDensity(dir: string, sealKey: Buffer, cacheDir: string): Promise<SystemDensity> {
  const guests = Array.from({ length: SYSTEM_GUESTS }, (_, i) => ({ name: `g${i}`, module: STREAM_SUM, args: ['server', '7000', '1'] }));
  let listening = 0;
  const out = new Writable({ write(chunk: Buffer, _e, done) { listening += chunk.toString().split('listening on').length - 1; done(); } });
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const system = await System.load({ guests, suspendable: true, sealKey, cacheDir, stdout: out, stderr: out });
  const running = system.run();
  await until(() => listening === SYSTEM_GUESTS);
  const freshStartMs = performance.now() - t0;
  const runningRssBytes = process.memoryUsage().rss - rssBefore;
  const file = path.join(dir, 'system.snap');
  const t1 = performance.now();
  const sealed = await system.suspendAll(file);
  const sealMs = performance.now() - t1;
  const result = await running;
  const memoryBytes = [...result.guests.values()].reduce((n, g) => n + g.usage.peakMemory, 0);
  const t2 = performance.now();
  const again = await loadSystemSnapshot(file, { sealKey, cacheDir, stdout: out, stderr: out });
  const resumed = again.run();
  await until(() => { const l = [...again.lifecycles().values()]; return l.length === SYSTEM_GUESTS && l.every((g) => g.state === 'running' || g.state === 'blocked'); });
  const resumeMs = performance.now() - t2;
  again.stopAll();
  await resumed;
  return { guests: SYSTEM_GUESTS, runningRssBytes, memoryBytes, snapshotBytes: sealed.bytes, sealMs, resumeMs, freshStartMs };
}

/** Resolves with the time of the first byte `stream` is given. */
function firstOutput(): { stream: Writable; at: Promise<number> } {
  let resolve!: (t: number) => void;
  const at = new Promise<number>((r) => { resolve = r; });
  let seen = false;
  const stream = new Writable({ write(_chunk, _e, done) { if (!seen) { seen = true; resolve(performance.now()); } done(); } });
  return { stream, at };
}

/** Time to first output of the warm-start guest, fresh against resumed from a snapshot taken when it was ready. */
async function warmStart(o: { rounds: number; status: (s: string) => void }, dir: string, sealKey: Buffer, cacheDir: string): Promise<NonNullable<SuspendResult['warmStart']>> {
  const args = [String(WARM_INIT_MS)];
  // The snapshot: taken where the guest waits for its input, its start done.
  const file = path.join(dir, 'warm.snap');
  let ready!: () => void;
  const isReady = new Promise<void>((r) => { ready = r; });
  const stderr = new Writable({ write(chunk: Buffer, _e, done) { if (chunk.includes('ready')) ready(); done(); } });
  const h = start(WARM_START, { args, stdin: new PassThrough(), stdout: 'ignore', stderr, suspendable: true, sealKey, cacheDir });
  await isReady;
  const sealed = await h.suspend(file);
  await h.result;
  const [fresh, resumed] = await alternate(['fresh', 'resumed'], o.rounds, async (which) => {
    const out = firstOutput();
    const t = performance.now();
    const r = which === 'fresh'
      ? await run(WARM_START, { args, stdin: 'go\n', stdout: out.stream, stderr: 'ignore' })
      : await resume(file, { sealKey, cacheDir, stdin: 'go\n', stdout: out.stream, stderr: 'ignore' });
    if (r.exitCode !== 0) throw new Error(`${which} run: ${JSON.stringify(r.outcome)}`);
    return (await out.at) - t;
  }, (round) => o.status(`suspend: warm start round ${round + 1}/${o.rounds}`));
  for (const s of [fresh!, resumed!]) if (s.error !== undefined) throw new Error(`warm start: ${s.error}`);
  const freshMs = median(fresh!.samples);
  const resumedMs = median(resumed!.samples);
  return { initMs: WARM_INIT_MS, freshMs, resumedMs, ratio: resumedMs / freshMs, goal: 0.2, snapshotBytes: sealed.bytes };
}

export async function suspendBenchmarks(o: { rounds: number; status: (s: string) => void }): Promise<SuspendResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-suspend-'));
  const sealKey = crypto.randomBytes(32);
  const cacheDir = path.join(dir, 'cache');
  try {
    const steps = [COMPUTE_STEPS];
    // Prepared once, untimed: the cache is what every later run uses; one untimed run of each warms up the rest.
    for (const suspendable of [true, false]) {
      await run(COMPUTE, { args: ['1000'], stdout: 'ignore', ...(suspendable ? { suspendable, sealKey, cacheDir } : {}) });
    }
    const computeRounds = Math.max(o.rounds, COMPUTE_MIN_ROUNDS);
    const cpu: Record<string, number[]> = { unprepared: [], suspendable: [] };
    const [plain, prepared] = await alternate(['unprepared', 'suspendable'], computeRounds, async (which) => {
      const t = performance.now();
      const r = await run(COMPUTE, { args: steps, stdout: 'ignore', ...(which === 'suspendable' ? { suspendable: true, sealKey, cacheDir } : {}) });
      if (r.exitCode !== 0) throw new Error(`compute exited ${r.exitCode}`);
      cpu[which]!.push(r.usage.threadCpuMs);
      return performance.now() - t;
    }, (round) => o.status(`suspend: compute round ${round + 1}/${computeRounds}`));
    for (const s of [plain!, prepared!]) if (s.error !== undefined) throw new Error(`compute: ${s.error}`);
    const unprepared = median(plain!.samples);
    const suspendable = median(prepared!.samples);
    // Each round ran both, one after the other: their ratio cancels what slows the machine for a while.
    const paired = prepared!.samples.map((x, i) => x / plain!.samples[i]!);
    const cpuPaired = cpu['suspendable']!.map((x, i) => x / cpu['unprepared']![i]!);

    const limits = { memoryBytes: 1024 * 1024 * 1024 };
    const seal: number[] = [];
    const resumes: number[] = [];
    const fresh: number[] = [];
    let snapshotBytes = 0;
    let memoryBytes = 0;
    for (let r = 0; r < o.rounds; r++) {
      o.status(`suspend: 256 MiB guest round ${r + 1}/${o.rounds}`);
      const file = path.join(dir, `big-${r}.snap`);
      // A fresh start reaches the state the snapshot holds when the guest says "filled" (it naps from then on);
      // both it and the resume are timed from their call (the module's load from the cache included in each).
      let filledAt = 0;
      let h!: ReturnType<typeof start>;
      const started = performance.now();
      const filled = new Promise<void>((res) => {
        const out = new Writable({ write(chunk: Buffer, _e, done) { if (filledAt === 0 && chunk.includes('filled')) { filledAt = performance.now(); res(); } done(); } });
        h = start(CHECKSUM, { args: ['fill', String(FILL_MIB)], stdout: out, suspendable: true, sealKey, cacheDir, limits });
      });
      await filled;
      fresh.push(filledAt - started);
      const t = performance.now();
      const sealed = await h.suspend(file);
      seal.push(performance.now() - t);
      const result = await h.result;
      snapshotBytes = sealed.bytes;
      memoryBytes = result.usage.peakMemory;

      const stop = new AbortController();
      let resumedAt = 0;
      const t2 = performance.now();
      const again = resume(file, { sealKey, cacheDir, limits, stdout: 'ignore', signal: stop.signal,
        onState: (e) => { if (e.to === 'running') { resumedAt = performance.now(); stop.abort(); } } });
      await again;
      resumes.push(resumedAt - t2);
      fs.rmSync(file, { force: true });
    }
    const warm = await warmStart(o, dir, sealKey, cacheDir);
    o.status(`suspend: a system of ${SYSTEM_GUESTS} guests`);
    const system = await systemDensity(dir, sealKey, cacheDir);
    return {
      computeMs: {
        unprepared, suspendable, ratio: median(paired), goal: 1.3, rounds: computeRounds, ratioRange: [Math.min(...paired), Math.max(...paired)],
        cpu: { unprepared: median(cpu['unprepared']!), suspendable: median(cpu['suspendable']!), ratio: median(cpuPaired), ratioRange: [Math.min(...cpuPaired), Math.max(...cpuPaired)] },
      },
      sealMs: median(seal), resumeMs: median(resumes), freshStartMs: median(fresh), snapshotBytes, memoryBytes, warmStart: warm, system,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printSuspend(r: SuspendResult): void {
  const c = r.computeMs;
  console.log('\nSuspend and resume (--suspendable), medians');
  console.log(`  compute, unprepared (baseline)   ${c.unprepared.toFixed(0)} ms`);
  const range = c.ratioRange ? `, rounds ${c.ratioRange[0].toFixed(2)}x-${c.ratioRange[1].toFixed(2)}x` : '';
  console.log(`  compute, --suspendable           ${c.suspendable.toFixed(0)} ms  = ${c.ratio.toFixed(2)}x the baseline${range} (goal <= ${c.goal}x: ${c.ratio <= c.goal ? 'met' : 'not met'})`);
  if (c.cpu) {
    console.log(`  the same by the guest thread's CPU: ${c.cpu.unprepared.toFixed(0)} ms unprepared, ${c.cpu.suspendable.toFixed(0)} ms --suspendable = ` +
      `${c.cpu.ratio.toFixed(2)}x, rounds ${c.cpu.ratioRange[0].toFixed(2)}x-${c.cpu.ratioRange[1].toFixed(2)}x`);
  }
  console.log(`  suspend + seal, ${FILL_MIB} MiB guest    ${r.sealMs.toFixed(0)} ms (goal < 300 ms: ${r.sealMs < 300 ? 'met' : 'not met'})`);
  console.log(`  resume to running                ${r.resumeMs.toFixed(0)} ms, a fresh start to the same state ${r.freshStartMs.toFixed(0)} ms (goal < fresh + 50: ${r.resumeMs < r.freshStartMs + 50 ? 'met' : 'not met'})`);
  const over = r.snapshotBytes / r.memoryBytes;
  console.log(`  snapshot size                    ${(r.snapshotBytes / 1048576).toFixed(1)} MiB for ${(r.memoryBytes / 1048576).toFixed(1)} MiB of memory = ${over.toFixed(3)}x`);
  const w = r.warmStart;
  if (w) {
    console.log(`  first output, ${w.initMs} ms start, fresh   ${w.freshMs.toFixed(0)} ms (the baseline)`);
    console.log(`  first output, resumed            ${w.resumedMs.toFixed(0)} ms = ${w.ratio.toFixed(2)}x (goal <= ${w.goal}x: ${w.ratio <= w.goal ? 'met' : 'not met'}), snapshot ${(w.snapshotBytes / 1048576).toFixed(1)} MiB`);
  }
  const y = r.system;
  if (!y) return;
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  console.log(`  a system of ${y.guests} idle guests, sealed whole (suspend --all):`);
  console.log(`    running: this process grew by  ${mib(y.runningRssBytes)} MiB (${mib(y.runningRssBytes / y.guests)} MiB a guest); sealed: a file, no thread, no memory`);
  console.log(`    snapshot                       ${mib(y.snapshotBytes)} MiB for ${mib(y.memoryBytes)} MiB of guest memory = ${(y.snapshotBytes / y.memoryBytes).toFixed(3)}x`);
  console.log(`    suspend + seal                 ${y.sealMs.toFixed(0)} ms`);
  console.log(`    resume to every guest running  ${y.resumeMs.toFixed(0)} ms, a fresh start to every guest listening ${y.freshStartMs.toFixed(0)} ms (${(y.resumeMs / y.freshStartMs).toFixed(2)}x)`);
}
