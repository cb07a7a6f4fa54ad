// The results: the side-by-side table and the JSON file.

import fs from 'node:fs';
import os from 'node:os';
import { CONTENDERS, type ContenderId, type Goal } from './cases.js';
import type { ContainmentResults } from './containment.js';
import type { FairnessResult } from './fairness.js';
import type { ThreadResult } from './threads.js';
import type { FleetResult } from './fleet.js';
import type { SuspendResult } from './suspend.js';
import type { DensityResult } from './density.js';
import type { HttpResult } from './http.js';
import type { LayerMemoryResult } from './layer-memory.js';
import { median, min, type Series } from './measure.js';

export interface CaseResult {
  id: string;
  title: string;
  goal: Goal;
  series: Record<ContenderId, Series>;
  /** Peak RSS in KiB (or why it is missing), when measured. */
  rssKb?: Record<ContenderId, number | string>;
}

export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown', cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    node: process.version, os: `${os.platform()} ${os.release()}`,
  };
}

const med = (s: Series): number | undefined => (s.error === undefined && s.samples.length ? median(s.samples) : undefined);

/** capsule median / node:wasi median, and capsule median - node:wasi median (ms). */
export function compare(r: CaseResult, who: ContenderId): { ratio: number; diffMs: number } | undefined {
  const base = med(r.series.nodewasi);
  const m = med(r.series[who]);
  return base === undefined || m === undefined ? undefined : { ratio: m / base, diffMs: m - base };
}

export function met(r: CaseResult): boolean | undefined {
  const c = compare(r, 'secure');
  if (!c) return undefined;
  return r.goal.kind === 'ratio' ? c.ratio <= r.goal.max : c.diffMs <= r.goal.maxMs;
}

function timeCell(s: Series): string {
  if (s.error !== undefined) return 'FAILED';
  return `${median(s.samples).toFixed(1)} / ${min(s.samples).toFixed(1)}`;
}

function ratioCell(r: CaseResult, who: ContenderId): string {
  const c = compare(r, who);
  if (!c) return '-';
  const ratio = `${c.ratio.toFixed(2)}x`;
  return r.goal.kind === 'diff' ? `${ratio} (${c.diffMs >= 0 ? '+' : ''}${c.diffMs.toFixed(1)} ms)` : ratio;
}

const goalCell = (g: Goal): string => (g.kind === 'ratio' ? `<= ${g.max.toFixed(2)}x` : `<= +${g.maxMs} ms`);

export function summaryLine(r: CaseResult): string {
  return CONTENDERS.map(({ id, label }) =>
    `${label} ${timeCell(r.series[id])}${id === 'nodewasi' ? '' : ` [${ratioCell(r, id)}]`}`).join(' | ');
}

export function printTable(results: CaseResult[]): void {
  const head = ['case', 'node:wasi', 'capsule secure', 'ratio', 'capsule normal', 'ratio', 'goal (secure)', 'met?'];
  const rows = results.map((r) => {
    const ok = met(r);
    return [r.title, timeCell(r.series.nodewasi), timeCell(r.series.secure), ratioCell(r, 'secure'),
      timeCell(r.series.normal), ratioCell(r, 'normal'), goalCell(r.goal), ok === undefined ? '-' : ok ? 'yes' : 'NO'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  console.log('\nTimes in ms as median / min; ratio = capsule median / node:wasi median.\n');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const row of rows) console.log(line(row));

  for (const r of results) {
    for (const { id, label } of CONTENDERS) {
      const e = r.series[id].error;
      if (e !== undefined) console.log(`\n${r.title}, ${label} FAILED: ${e}`);
    }
    if (r.rssKb) {
      const cells = CONTENDERS.map(({ id, label }) => {
        const v = r.rssKb![id];
        return `${label} ${typeof v === 'number' ? `${(v / 1024).toFixed(1)} MiB` : `n/a (${v})`}`;
      });
      console.log(`\nPeak RSS, ${r.title}: ${cells.join(' | ')}`);
    }
  }
}

/**
 * A socket case: Capsule against a plain-Node baseline, each sample one run's
 * figure in `unit` (throughput: higher is better; round trip: lower is better).
 */
export interface SocketResult {
  id: string;
  title: string;
  unit: 'GB/s' | 'µs';
  better: 'higher' | 'lower';
  /** What the baseline is, e.g. "node <-> node, TCP loopback". */
  baseline: string;
  /** Goal on capsule median / baseline median. */
  goal: { kind: 'min'; ratio: number; text: string } | { kind: 'max'; ratio: number; text: string };
  series: { baseline: Series; capsule: Series };
  /** Per-run secondary figures (e.g. mean round trip in µs), by contender. */
  extra?: { label: string; baseline: number[]; capsule: number[] };
}

const best = (r: SocketResult, xs: number[]): number => (r.better === 'higher' ? Math.max(...xs) : Math.min(...xs));

export function socketRatio(r: SocketResult): number | undefined {
  const b = med(r.series.baseline);
  const c = med(r.series.capsule);
  return b === undefined || c === undefined || b === 0 ? undefined : c / b;
}

export function socketMet(r: SocketResult): boolean | undefined {
  const x = socketRatio(r);
  if (x === undefined) return undefined;
  return r.goal.kind === 'min' ? x >= r.goal.ratio : x <= r.goal.ratio;
}

function socketCell(r: SocketResult, s: Series): string {
  if (s.error !== undefined) return 'FAILED';
  if (!s.samples.length) return '-';
  const digits = r.unit === 'GB/s' ? 2 : 1;
  return `${median(s.samples).toFixed(digits)} / ${best(r, s.samples).toFixed(digits)}`;
}

export function socketSummaryLine(r: SocketResult): string {
  const x = socketRatio(r);
  return `${r.baseline} ${socketCell(r, r.series.baseline)} | capsule ${socketCell(r, r.series.capsule)}` +
    ` [${x === undefined ? '-' : `${x.toFixed(2)}x`}]`;
}

export function printSocketTable(results: SocketResult[]): void {
  const head = ['case', 'baseline', 'baseline value', 'capsule secure', 'ratio', 'goal (secure)', 'met?'];
  const rows = results.map((r) => {
    const x = socketRatio(r);
    const ok = socketMet(r);
    return [r.title, r.baseline, socketCell(r, r.series.baseline), socketCell(r, r.series.capsule),
      x === undefined ? '-' : `${x.toFixed(2)}x`, r.goal.text, ok === undefined ? '-' : ok ? 'yes' : 'NO'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  console.log('\nSockets: median / best of the rounds, each figure measured inside the client after connect;');
  console.log('GB/s = 10^9 bytes/s; ratio = capsule median / baseline median.\n');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const row of rows) console.log(line(row));
  for (const r of results) {
    for (const who of ['baseline', 'capsule'] as const) {
      const e = r.series[who].error;
      if (e !== undefined) console.log(`\n${r.title}, ${who === 'baseline' ? r.baseline : 'capsule'} FAILED: ${e}`);
    }
    if (r.extra && r.extra.baseline.length && r.extra.capsule.length) {
      console.log(`\n${r.title}, ${r.extra.label} (median of the rounds): ${r.baseline} ${median(r.extra.baseline).toFixed(1)}` +
        ` | capsule ${median(r.extra.capsule).toFixed(1)}`);
    }
  }
}

/** Median whole-process times (ms) of the steps of a start-up, measured side by side. */
export interface StartupSteps {
  rounds: number;
  /**
   * node: `node -e 0`; thread: Node starting an empty worker thread; cli: `capsule --version`;
   * secure: `capsule run hello`, and noCodeCache the same without the code cache; nodewasi: node:wasi's hello.
   */
  medianMs: { node: number; thread?: number; cli: number; nodewasi: number; secure: number; noCodeCache?: number };
}

/** The start-up steps as rows: what each step is and its median ms. */
export function startupStepRows(s: StartupSteps): [string, number][] {
  const m = s.medianMs;
  return [
    ['Node.js itself (`node -e 0`)', m.node],
    ...(m.thread !== undefined ? [['Node.js starting one empty worker thread, the least an enclave costs (less Node itself)', m.thread - m.node] as [string, number]] : []),
    ['loading the CLI (`capsule --version`, less Node itself)', m.cli - m.node],
    ['the enclave thread, the module and the guest (`capsule run hello`, less `capsule --version`)', m.secure - m.cli],
    ['whole `capsule run` of hello, secure mode', m.secure],
    ...(m.noCodeCache !== undefined ? [['the same without the code cache (`CAPSULE_CODE_CACHE=0`)', m.noCodeCache] as [string, number]] : []),
    ['whole node:wasi run of hello, for comparison', m.nodewasi],
  ];
}

export function printStartupSteps(s: StartupSteps): void {
  console.log(`\nWhere a start-up goes (medians of ${s.rounds} rounds, ms):`);
  for (const [what, ms] of startupStepRows(s)) console.log(`  ${ms.toFixed(1).padStart(7)}  ${what}`);
}

/** What one part of the benchmark wrote in the results file. */
export interface PartResults {
  date: string;
  machine: Record<string, string | number>;
  config: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Writes `file`: each part run now replaces its own section, the sections of
 * parts not run are kept from the file as it was, so `--only PART` updates
 * one part of the committed results.
 */
export function writeJson(file: string, parts: string[], results: CaseResult[], steps: StartupSteps | undefined,
  config: Record<string, unknown>, sockets?: SocketResult[],
  containment?: ContainmentResults, fairness?: FairnessResult[], layerMemory?: LayerMemoryResult[], http?: HttpResult[],
  threads?: ThreadResult[], fleet?: FleetResult, suspend?: SuspendResult, density?: DensityResult): void {
  const cases = results.map((r) => ({
    ...r,
    summary: Object.fromEntries(CONTENDERS.map(({ id }) => {
      const s = r.series[id];
      const stats = s.error === undefined && s.samples.length ? { medianMs: median(s.samples), minMs: min(s.samples) } : {};
      return [id, { ...stats, ...(id === 'nodewasi' ? {} : compare(r, id)) }];
    })),
    goalMet: met(r) ?? null,
  }));
  const socketCases = sockets?.map((r) => ({
    ...r,
    summary: Object.fromEntries((['baseline', 'capsule'] as const).map((who) => {
      const s = r.series[who];
      return [who, s.error === undefined && s.samples.length ? { median: median(s.samples), best: best(r, s.samples) } : {}];
    })),
    ratio: socketRatio(r) ?? null,
    goalMet: socketMet(r) ?? null,
  }));
  const now = { date: new Date().toISOString(), machine: machine(), config };
  const sections: Record<string, Record<string, unknown>> = {
    wasi: { cases, ...(steps ? { startupSteps: steps } : {}) },
    sockets: { cases: socketCases },
    containment: { results: containment },
    fairness: { results: fairness },
    layer: { results: layerMemory },
    threads: { results: threads },
    fleet: { results: fleet },
    suspend: { results: suspend },
    density: { results: density },
    http: { results: http?.map((r) => ({ ...r, medians: Object.fromEntries(Object.entries(r.samples).map(([k, v]) => [k, v.length ? median(v) : null])) })) },
  };
  let before: Record<string, unknown> = {};
  try {
    before = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // No results yet (or unreadable): this run's parts only.
  }
  const json: Record<string, unknown> = {};
  for (const part of Object.keys(sections)) {
    if (parts.includes(part)) json[part] = { ...now, ...sections[part] } satisfies PartResults;
    else if (before[part] !== undefined) json[part] = before[part];
  }
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
}
