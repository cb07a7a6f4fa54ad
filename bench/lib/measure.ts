// Spawning and timing: every sample is one whole child process (or one
// in-process call) timed with performance.now(); samples are summarised by
// median and min.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const devNull = fs.openSync(os.devNull, 'w');

export interface ProcResult {
  ms: number;
  /** Why the process failed, or undefined if it exited with 0. */
  failure?: string;
  stdout: string;
}

/** Runs argv to completion. stdout goes to /dev/null unless captured; stderr is kept for failures. */
export function runProcess(argv: string[], capture = false, env?: NodeJS.ProcessEnv): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let ms = 0;
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', capture ? 'pipe' : devNull, 'pipe'], ...(env ? { env } : {}) });
    child.on('exit', () => { ms = performance.now() - t0; });
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString().trim().slice(-600);
      const failure = code === 0 ? undefined
        : `${code === null ? `killed by ${signal}` : `exit code ${code}`}${stderr ? `; stderr: ${stderr}` : ''}`;
      resolve({ ms, stdout: Buffer.concat(out).toString(), ...(failure ? { failure } : {}) });
    });
  });
}

export interface Series {
  samples: number[];
  error?: string;
}

/**
 * Runs rounds of A B C A B C ... so machine noise hits every contender alike.
 * A contender whose run throws is reported with the error and left out of later rounds.
 */
export async function alternate<T>(contenders: T[], rounds: number, once: (c: T) => Promise<number>,
  progress?: (round: number) => void): Promise<Series[]> {
  const series: Series[] = contenders.map(() => ({ samples: [] }));
  for (let r = 0; r < rounds; r++) {
    progress?.(r);
    for (const [i, c] of contenders.entries()) {
      const s = series[i]!;
      if (s.error !== undefined) continue;
      try {
        s.samples.push(await once(c));
      } catch (e) {
        s.error = e instanceof Error ? e.message : String(e);
      }
    }
  }
  return series;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const min = (xs: number[]): number => Math.min(...xs);

const TIME = '/usr/bin/time';
export const canMeasureRss = fs.existsSync(TIME);

/**
 * Peak resident set size of one run of argv in KiB (GNU time's %M), or the
 * failure; with `anyExit`, a run that ends with any status still counts.
 */
export async function peakRssKb(argv: string[], anyExit = false): Promise<number | string> {
  const file = path.join(os.tmpdir(), `capsule-bench-rss-${process.pid}.txt`);
  try {
    const r = await runProcess([TIME, '-f', '%M', '-o', file, ...argv]);
    if (r.failure && !anyExit) return r.failure;
    const kb = parseInt(fs.readFileSync(file, 'utf8').trim().split('\n').pop() ?? '', 10);
    return Number.isFinite(kb) ? kb : r.failure ?? 'no figure';
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export { devNull };
