// Containment under hostile guests: how long a stop takes, and how much host
// memory a guest can make Capsule hold against its --memory limit.
//
// Time to stop: from the deadline (the time limit's expiry, an AbortSignal,
// SIGINT or SIGTERM to the CLI) to the end of the run, for a spinning guest,
// output floods and guests blocked in each blocking call; on a quiet machine
// and with both cores kept busy by other processes. Goal: under 100 ms.
//
// Host memory: peak RSS of a whole `capsule run --memory 16MiB` process under
// each attack, against the limit; the excess over the limit is what Capsule
// documents as its constant (the goal: at most 64 MiB more than a plain run).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/api/index.js';
import { median, peakRssKb } from './measure.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CAPSULE = path.join(ROOT, 'bin/capsule.js');
const hostile = (name: string): string => path.join(ROOT, 'test/guests/hostile', `${name}.wasm`);
const testGuest = (name: string): string => path.join(ROOT, 'test/guests', `${name}.wasm`);

const STOP_GOAL_MS = 100;
const MEMORY_LIMIT_MIB = 16;
/** What the excess over a plain run may be (the documented constant's goal). */
const MEMORY_EXCESS_GOAL_MIB = 64;

interface Scenario { id: string; title: string; module: string; args: string[]; silent?: boolean }

const SCENARIOS: Scenario[] = [
  { id: 'spin', title: 'spinning, no calls', module: hostile('spin'), args: [], silent: true },
  { id: 'interleave', title: 'output flood, stdout/stderr alternating bytes', module: hostile('hostile_output'), args: ['interleave'] },
  { id: 'lines', title: 'output flood, short lines', module: hostile('hostile_output'), args: ['lines'] },
  { id: 'stdin', title: 'blocked reading stdin', module: hostile('hostile_output'), args: ['stdin_block'] },
  { id: 'sleep', title: 'blocked in poll_oneoff on a clock', module: hostile('hostile_output'), args: ['sleep_block'] },
  { id: 'accept', title: 'blocked in accept', module: hostile('hostile_net'), args: ['accept_block', '7100'] },
  { id: 'recv', title: 'blocked in recv', module: hostile('hostile_net'), args: ['recv_block', '7101'] },
  { id: 'poll', title: 'blocked in poll_oneoff on a socket', module: hostile('hostile_net'), args: ['poll_block', '7102'] },
];

type StopKind = 'timeout' | 'abort' | 'SIGINT' | 'SIGTERM';
const STOPS: StopKind[] = ['timeout', 'abort', 'SIGINT', 'SIGTERM'];
/** How long a guest runs before it is stopped: long enough to be in its loop or its call. */
const RUN_MS = 400;

export interface StopResult {
  scenario: string;
  title: string;
  stop: StopKind;
  load: 'quiet' | 'busy';
  /** Milliseconds from the deadline to the end of the run, one per round. */
  samples: number[];
  error?: string;
}

export interface MemoryResult {
  id: string;
  title: string;
  peakMiB?: number;
  error?: string;
}

export interface ContainmentResults {
  stops: StopResult[];
  memory: { limitMiB: number; plainMiB?: number; cases: MemoryResult[] };
}

/** Through the API: the time limit, or an AbortSignal, RUN_MS after the enclave started. */
async function apiStop(s: Scenario, stop: 'timeout' | 'abort'): Promise<number> {
  let started = 0;
  const controller = new AbortController();
  let abortedAt = 0;
  // Output is taken as fast as it comes, as a fast reader would.
  const sink = new Writable({ write(_chunk, _enc, done) { done(); } });
  const r = await run(s.module, {
    args: s.args, stdout: sink, stderr: sink, stdin: new PassThrough(),
    ...(stop === 'timeout' ? { timeoutMs: RUN_MS } : { signal: controller.signal }),
    onAudit: (rec) => {
      // The start record is made just before the enclave (and its time limit) starts.
      if (rec.op !== 'start' || started) return;
      started = performance.now();
      if (stop === 'abort') setTimeout(() => { abortedAt = performance.now(); controller.abort(); }, RUN_MS);
    },
  });
  const ended = performance.now();
  const expected = stop === 'timeout' ? 'limit' : 'killed';
  if (r.outcome.kind !== expected) throw new Error(`outcome ${JSON.stringify(r.outcome)}`);
  return ended - (stop === 'timeout' ? started + RUN_MS : abortedAt);
}

/** Through the CLI: the signal RUN_MS after the guest said it started (its first output), to the process's exit. */
function cliStop(s: Scenario, signal: 'SIGINT' | 'SIGTERM'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAPSULE, 'run', s.module, ...s.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let sentAt = 0;
    let armed = false;
    const arm = (): void => {
      if (armed) return;
      armed = true;
      setTimeout(() => { sentAt = performance.now(); child.kill(signal); }, RUN_MS);
    };
    child.stdout.on('data', arm);
    child.stderr.on('data', arm);
    // A guest that says nothing (spin) is armed once the CLI has surely started it and
    // handles signals: before that, a signal ends Node itself, as it would any program.
    if (s.silent) setTimeout(arm, 1500);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      const ended = performance.now();
      const want = signal === 'SIGINT' ? 130 : 143;
      if (code !== want) reject(new Error(`exit ${code ?? sig}, expected ${want}`));
      else resolve(ended - sentAt);
    });
  });
}

/** Two processes that keep both cores busy until stopped. */
function burners(): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

async function stopSeries(rounds: number, status: (t: string) => void): Promise<StopResult[]> {
  const out: StopResult[] = [];
  for (const load of ['quiet', 'busy'] as const) {
    const busy = load === 'busy' ? burners() : [];
    try {
      for (const s of SCENARIOS) {
        for (const stop of STOPS) {
          const r: StopResult = { scenario: s.id, title: s.title, stop, load, samples: [] };
          for (let i = 0; i < rounds && r.error === undefined; i++) {
            status(`time to stop: ${s.title}, ${stop}, ${load} (${i + 1}/${rounds})`);
            try {
              r.samples.push(stop === 'timeout' || stop === 'abort' ? await apiStop(s, stop) : await cliStop(s, stop));
            } catch (err) {
              r.error = (err as Error).message;
            }
          }
          out.push(r);
        }
      }
    } finally {
      for (const b of busy) b.kill('SIGKILL');
    }
  }
  return out;
}

interface MemoryCase { id: string; title: string; argv: (dir: string) => string[] }

const MEMORY_CASES: MemoryCase[] = [
  { id: 'tables', title: 'four tables grown by 9,999,999 elements', argv: () => [hostile('table_grow')] },
  { id: 'grow', title: 'memory grown to the limit', argv: () => [hostile('hostile_exhaust'), 'grow'] },
  { id: 'listings', title: '100 directory listings of 30,000 entries', argv: (d) => ['--dir', `${d}::/data`, hostile('hostile_fs_limits'), 'listings', 'big', '100'] },
  { id: 'audit', title: '2,000 denials of distinct 4,000-byte paths', argv: (d) => ['--dir', `${d}::/data`, hostile('hostile_strings'), 'long', '2000', '4000'] },
  { id: 'longpaths', title: '2,000 opens of 256 KiB paths (ENAMETOOLONG)', argv: (d) => ['--dir', `${d}::/data`, hostile('hostile_strings'), 'long', '2000', String(256 * 1024)] },
  { id: 'interleave', title: 'output flood (alternating bytes) for 2 s', argv: () => ['--timeout', '2s', hostile('hostile_output'), 'interleave'] },
  { id: 'lines', title: 'output flood (short lines) for 2 s', argv: () => ['--timeout', '2s', hostile('hostile_output'), 'lines'] },
  { id: 'big', title: 'output flood (64 KiB writes) for 2 s', argv: () => ['--timeout', '2s', hostile('hostile_output'), 'big'] },
];

async function memorySeries(status: (t: string) => void): Promise<ContainmentResults['memory']> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-containment-'));
  try {
    fs.mkdirSync(path.join(dir, 'big'));
    for (let i = 0; i < 30_000; i++) fs.writeFileSync(path.join(dir, 'big', `entry-${i}`), '');
    status('host memory: a plain run');
    const plain = await peakRssKb([process.execPath, CAPSULE, 'run', '--memory', `${MEMORY_LIMIT_MIB}MiB`, testGuest('hello')]);
    const cases: MemoryResult[] = [];
    for (const c of MEMORY_CASES) {
      status(`host memory: ${c.title}`);
      // A stop by a limit is how these attacks end: any exit status will do.
      const kb = await peakRssKb([process.execPath, CAPSULE, 'run', '--memory', `${MEMORY_LIMIT_MIB}MiB`, ...c.argv(dir)], true);
      cases.push(typeof kb === 'number' ? { id: c.id, title: c.title, peakMiB: kb / 1024 } : { id: c.id, title: c.title, error: kb });
    }
    return { limitMiB: MEMORY_LIMIT_MIB, ...(typeof plain === 'number' ? { plainMiB: plain / 1024 } : {}), cases };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function containmentBenchmarks(o: { rounds: number; status: (t: string) => void }): Promise<ContainmentResults> {
  const stops = await stopSeries(o.rounds, o.status);
  const memory = await memorySeries(o.status);
  o.status('');
  return { stops, memory };
}

export function printContainment(r: ContainmentResults): void {
  console.log(`\nTime to stop (ms from the deadline to the end of the run; goal < ${STOP_GOAL_MS} ms), median / max:`);
  const loads = ['quiet', 'busy'] as const;
  console.log(`| guest | ${STOPS.flatMap((s) => loads.map((l) => `${s} (${l})`)).join(' | ')} |`);
  console.log(`|---|${STOPS.flatMap(() => loads.map(() => '---')).join('|')}|`);
  for (const s of SCENARIOS) {
    const cells = STOPS.flatMap((stop) => loads.map((load) => {
      const x = r.stops.find((y) => y.scenario === s.id && y.stop === stop && y.load === load);
      if (!x || x.error !== undefined || x.samples.length === 0) return `FAILED${x?.error ? ` (${x.error})` : ''}`;
      return `${median(x.samples).toFixed(0)} / ${Math.max(...x.samples).toFixed(0)}`;
    }));
    console.log(`| ${s.title} | ${cells.join(' | ')} |`);
  }
  const all = r.stops.flatMap((x) => x.samples);
  if (all.length) console.log(`worst of all: ${Math.max(...all).toFixed(0)} ms; goal met: ${Math.max(...all) < STOP_GOAL_MS ? 'yes' : 'no'}`);

  const m = r.memory;
  console.log(`\nHost memory under hostile guests (whole process, --memory ${m.limitMiB}MiB; a plain run: ${m.plainMiB?.toFixed(0) ?? '?'} MiB):`);
  console.log(`| attack | peak RSS | ratio to the limit | over a plain run | goal: at most ${MEMORY_EXCESS_GOAL_MIB} MiB beyond the limit |`);
  console.log('|---|---|---|---|---|');
  for (const c of m.cases) {
    if (c.peakMiB === undefined) { console.log(`| ${c.title} | FAILED (${c.error}) | | | |`); continue; }
    const excess = m.plainMiB === undefined ? undefined : c.peakMiB - m.plainMiB;
    const over = excess === undefined ? '?' : `${excess.toFixed(0)} MiB`;
    const met = excess === undefined ? '-' : excess - m.limitMiB <= MEMORY_EXCESS_GOAL_MIB ? 'yes' : 'no';
    console.log(`| ${c.title} | ${c.peakMiB.toFixed(0)} MiB | ${(c.peakMiB / m.limitMiB).toFixed(1)}x | ${over} | ${met} |`);
  }
}
