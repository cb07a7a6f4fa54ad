// The results: the side-by-side table and the JSON file.

import fs from 'node:fs';
import os from 'node:os';
import { CONTENDERS, type ContenderId, type Goal } from './cases.js';
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

export function writeJson(file: string, results: CaseResult[], config: Record<string, unknown>): void {
  const cases = results.map((r) => ({
    ...r,
    summary: Object.fromEntries(CONTENDERS.map(({ id }) => {
      const s = r.series[id];
      const stats = s.error === undefined && s.samples.length ? { medianMs: median(s.samples), minMs: min(s.samples) } : {};
      return [id, { ...stats, ...(id === 'nodewasi' ? {} : compare(r, id)) }];
    })),
    goalMet: met(r) ?? null,
  }));
  const json = { date: new Date().toISOString(), machine: machine(), config, cases };
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
}
