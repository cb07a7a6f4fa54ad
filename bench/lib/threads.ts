// Guest threads: what a thread blocked in a futex costs (the CPU time of a
// whole run whose one thread waits, against the same run with that thread
// spinning), and what starting a thread costs (per thread of a guest that
// starts and joins 200, against a whole start-up of a one-line guest).
// Ratios, never assertions; measured with GNU time where it is installed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, runProcess } from './measure.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CAPSULE = path.join(ROOT, 'bin/capsule.js');
const THREADS = path.join(ROOT, 'test/guests/wasix/threads.wasm');
const HELLO = path.join(ROOT, 'test/guests/wasix/wasix_hello.wasm');
const TIME = '/usr/bin/time';
const RUN_SECONDS = 2;
const CHURN_THREADS = 200;

export interface ThreadResult {
  title: string;
  value: number;
  baselineTitle: string;
  baseline: number;
  unit: string;
  ratio: number;
}

/** CPU seconds (user + system) of one run of argv, whatever its exit status. */
async function cpuSeconds(argv: string[]): Promise<number> {
  const file = path.join(os.tmpdir(), `capsule-bench-cpu-${process.pid}.txt`);
  try {
    await runProcess([TIME, '-f', '%U %S', '-o', file, ...argv]);
    const [user, sys] = fs.readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return user! + sys!;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export async function threadBenchmarks(o: { rounds: number; status: (s: string) => void }): Promise<ThreadResult[]> {
  const results: ThreadResult[] = [];
  if (fs.existsSync(TIME)) {
    const blocked: number[] = [];
    const spinning: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      o.status(`threads: blocked vs spinning, round ${i + 1}/${o.rounds}`);
      const run = (mode: string): string[] => [process.execPath, CAPSULE, 'run', '--timeout', `${RUN_SECONDS}s`, THREADS, mode];
      blocked.push(await cpuSeconds(run('block')));
      spinning.push(await cpuSeconds(run('spin')));
    }
    const b = median(blocked) * 1000;
    const s = median(spinning) * 1000;
    results.push({ title: `CPU of a ${RUN_SECONDS} s run whose thread is blocked in a futex`, value: b,
      baselineTitle: 'the same run with the thread spinning', baseline: s, unit: 'ms CPU', ratio: b / s });
  }
  const perThread: number[] = [];
  const startUp: number[] = [];
  for (let i = 0; i < o.rounds; i++) {
    o.status(`threads: start-up of a thread, round ${i + 1}/${o.rounds}`);
    const churn = await runProcess([process.execPath, CAPSULE, 'run', '--max-threads', '2', THREADS, 'churn']);
    const hello = await runProcess([process.execPath, CAPSULE, 'run', HELLO]);
    if (churn.failure || hello.failure) throw new Error(`thread bench failed: ${churn.failure ?? hello.failure}`);
    perThread.push((churn.ms - hello.ms) / CHURN_THREADS);
    startUp.push(hello.ms);
  }
  const t = median(perThread);
  const h = median(startUp);
  results.push({ title: 'starting and joining one guest thread (pthread_create + pthread_join)', value: t,
    baselineTitle: 'a whole `capsule run` of a printf-only guest', baseline: h, unit: 'ms', ratio: t / h });
  o.status('');
  return results;
}

export function printThreads(results: ThreadResult[]): void {
  console.log('\nGuest threads');
  for (const r of results) {
    console.log(`  ${r.title}: ${r.value.toFixed(1)} ${r.unit}; ${r.baselineTitle}: ${r.baseline.toFixed(1)} ${r.unit}; ratio ${r.ratio.toFixed(3)}`);
  }
}
