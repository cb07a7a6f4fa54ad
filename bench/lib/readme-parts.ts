// The README's generated sections for the parts beyond the main table (see
// readme.ts): time to stop and host memory under hostile guests
// (containment), fairness, a layer's host memory, the HTTP server, suspend
// and resume, density. Each is made from its part in bench/results.json; a
// part not measured yet (or measured before it recorded a figure a table
// shows) says so instead of a figure.

import type { ContainmentResults, StopResult } from './containment.js';
import type { DensityResult, ProcessFigures } from './density.js';
import type { FairnessResult, Latency } from './fairness.js';
import type { FleetResult } from './fleet.js';
import type { HttpResult } from './http.js';
import type { LayerMemoryResult } from './layer-memory.js';
import type { SuspendResult } from './suspend.js';

export interface PartInfo { date: string; machine: { cpu: string; cpus: number; memoryGiB: number; node: string; os: string }; config: Record<string, unknown> }
export type PartOf<T> = PartInfo & { results?: T };

export interface MorePartResults {
  containment?: PartOf<ContainmentResults>;
  fairness?: PartOf<FairnessResult[]>;
  layer?: PartOf<LayerMemoryResult[]>;
  http?: PartOf<(HttpResult & { medians?: Record<string, number | null> })[]>;
  suspend?: PartOf<SuspendResult>;
  density?: PartOf<DensityResult>;
  fleet?: PartOf<FleetResult>;
}

/** The goals the tables are judged by (the benchmark parts state the same). */
const STOP_GOAL_MS = 100;
const MEMORY_EXCESS_GOAL_MIB = 64;
const P99_GOAL = 2;
const STALL_GOAL_MS = 10;
const LAYER_EXCESS_GOAL_MIB = 64;
const SEAL_GOAL_MS = 300;
const RESUME_GOAL_EXTRA_MS = 50;
const SNAPSHOT_GOAL = 1.01;
const FLEET_RATIO_GOAL = 10;
const FLEET_P99_GOAL_MS = 20;

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const yes = (ok: boolean): string => (ok ? 'yes' : 'no');
const mib = (x: number): string => `${x.toFixed(0)} MiB`;

/** Where and when a part was measured, with the machine's load if recorded. */
export function measuredOn(p: PartInfo): string {
  const m = p.machine;
  const load = p.config['loadAverageAtStart'];
  const busy = Array.isArray(load) ? `, load average ${load.map((x: number) => x.toFixed(1)).join(' ')} at the start` : '';
  return `${m.cpus}-vCPU ${m.cpu}, ${m.memoryGiB} GiB, Node.js ${m.node.replace(/^v/, '')}, ${m.os}, ${p.date.slice(0, 10)}${busy}`;
}

const notMeasured = (what: string, part: string): string =>
  `${what}: not measured in \`bench/results.json\` yet (\`npm run bench -- --only ${part}\`, then \`npm run bench:readme\`).`;

const rounds = (p: PartInfo, key: string): string => {
  const n = p.config[key];
  return typeof n === 'number' ? `${n} round${n === 1 ? '' : 's'}` : 'rounds (count not recorded)';
};

// --- containment: time to stop --------------------------------------------

const STOP_COLUMNS: [StopResult['stop'], string][] = [['timeout', 'time limit'], ['abort', '`AbortSignal`'], ['SIGINT', 'SIGINT (whole process)'], ['SIGTERM', 'SIGTERM (whole process)']];

export function renderStops(p: PartOf<ContainmentResults> | undefined): string {
  const what = 'Time to stop (`--only containment`)';
  if (!p?.results?.stops?.length) return notMeasured(what, 'containment');
  const stops = p.results.stops;
  const all = stops.flatMap((s) => s.samples);
  const out = [
    `${what}: milliseconds from the deadline (the time limit's expiry, an \`AbortSignal\`, SIGINT or SIGTERM sent to \`capsule run\`) ` +
    `to the end of the run: the median of ${rounds(p, 'containmentRounds')} on a quiet machine / the worst round, quiet or with both ` +
    `cores kept busy by two other processes. Goal: under ${STOP_GOAL_MS} ms in every case. Worst of all: ` +
    `${all.length ? `${Math.max(...all).toFixed(0)} ms (${yes(Math.max(...all) < STOP_GOAL_MS) === 'yes' ? 'met' : 'not met'})` : 'none measured'}. ` +
    `Measured on ${measuredOn(p)}.`,
    '',
    `| guest | ${STOP_COLUMNS.map(([, t]) => t).join(' | ')} |`,
    `|---|${STOP_COLUMNS.map(() => '---').join('|')}|`,
  ];
  const scenarios = [...new Map(stops.map((s) => [s.scenario, s.title])).entries()];
  for (const [id, title] of scenarios) {
    const cells = STOP_COLUMNS.map(([stop]) => {
      const of = stops.filter((s) => s.scenario === id && s.stop === stop);
      const quiet = of.find((s) => s.load === 'quiet');
      const failed = of.find((s) => s.error !== undefined);
      if (failed) return `failed (${failed.load})`;
      if (!quiet?.samples.length) return '-';
      return `${med(quiet.samples).toFixed(0)} / ${Math.max(...of.flatMap((s) => s.samples)).toFixed(0)}`;
    });
    out.push(`| ${title} | ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

// --- containment: host memory ---------------------------------------------

export function renderHostMemory(p: PartOf<ContainmentResults> | undefined): string {
  const what = 'Host memory under hostile guests (`--only containment`)';
  const m = p?.results?.memory;
  if (!p || !m?.cases?.length) return notMeasured(what, 'containment');
  const plain = m.plainMiB;
  const out = [
    `${what}: peak RSS of a whole \`capsule run --memory ${m.limitMiB}MiB\` process; a plain run (hello world) is ` +
    `${plain === undefined ? 'not measured' : mib(plain)}. Goal: at most ${MEMORY_EXCESS_GOAL_MIB} MiB beyond the limit over a plain run. ` +
    `Measured on ${measuredOn(p)}.`,
    '',
    '| attack | peak RSS | over a plain run | met |',
    '|---|---|---|---|',
  ];
  for (const c of m.cases) {
    if (c.peakMiB === undefined) { out.push(`| ${c.title} | failed (${c.error ?? 'no figure'}) | | |`); continue; }
    const over = plain === undefined ? undefined : c.peakMiB - plain;
    out.push(`| ${c.title} | ${mib(c.peakMiB)} | ${over === undefined ? '-' : mib(Math.max(0, over))} | ` +
      `${over === undefined ? '-' : yes(over - m.limitMiB <= MEMORY_EXCESS_GOAL_MIB)} |`);
  }
  return out.join('\n');
}

// --- fairness -------------------------------------------------------------

export function renderFairness(p: PartOf<FairnessResult[]> | undefined): string {
  const what = 'Fairness (`--only fairness`)';
  const rs = p?.results;
  if (!p || !rs?.length) return notMeasured(what, 'fairness');
  const probes = p.config['fairnessProbes'];
  const quiet = rs.find((r) => r.id === 'quiet');
  const us = (ns: number): string => (ns / 1000).toFixed(0);
  const cell = (l: Latency): string => `${us(l.p50)} / ${us(l.p99)} / ${us(l.max)}`;
  const vs = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}x` : '-');
  const out = [
    `${what}: a probe guest makes ${typeof probes === 'number' ? probes.toLocaleString('en-US') : 'many'} one-byte round trips to an echo guest, ` +
    'each followed by a name resolution the host thread serves, beside a neighbour flooding one kind of work; latency in µs, ' +
    `p50 / p99 / worst, medians of ${rounds(p, 'fairnessRounds')}. Goal: p99 at most ${P99_GOAL}x the quiet layer's, no stall over ` +
    `${STALL_GOAL_MS} ms. Measured on ${measuredOn(p)}.`,
    '',
    '| the neighbour floods | round trip | p99 vs quiet | host call | p99 vs quiet | met |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rs) {
    if (!r.rtt || !r.call) { out.push(`| ${r.title} | failed (${r.error ?? 'no figure'}) | | | | |`); continue; }
    const met = r.id === 'quiet' || !quiet?.rtt || !quiet.call ? ''
      : yes(r.rtt.p99 <= P99_GOAL * quiet.rtt.p99 && r.call.p99 <= P99_GOAL * quiet.call.p99 && Math.max(r.rtt.max, r.call.max) < STALL_GOAL_MS * 1e6);
    out.push(`| ${r.title} | ${cell(r.rtt)} | ${vs(r.rtt.p99, quiet?.rtt?.p99)} | ${cell(r.call)} | ${vs(r.call.p99, quiet?.call?.p99)} | ${met} |`);
  }
  return out.join('\n');
}

// --- a layer's host memory ------------------------------------------------

/** Each guest's --memory in the layer part. */
const LAYER_GUEST_MIB = 16;

export function renderLayerMemory(p: PartOf<LayerMemoryResult[]> | undefined): string {
  const what = 'A layer\'s host memory under socket churn and floods (`--only layer`)';
  const rs = p?.results;
  if (!p || !rs?.length) return notMeasured(what, 'layer');
  const plain = rs.find((r) => r.id === 'plain')?.peakMiB;
  const out = [
    `${what}: peak RSS of the whole process, each guest under \`--memory ${LAYER_GUEST_MIB}MiB\`, against the sum of the guests' limits; ` +
    `a plain run of one guest is ${plain === undefined ? 'not measured' : mib(plain)}. Goal: beyond a plain run, at most the guests' limits ` +
    `(their memory, and the queues of their live sockets) plus ${LAYER_EXCESS_GOAL_MIB} MiB (of which at most 32 MiB are idle stream ` +
    `queues kept for reuse), however long the guests churn. Measured on ${measuredOn(p)}.`,
    '',
    '| case | time | peak RSS | over a plain run / sum of limits | met |',
    '|---|---|---|---|---|',
  ];
  for (const r of rs) {
    if (r.id === 'plain') continue;
    const sum = r.guests * LAYER_GUEST_MIB;
    const time = r.ms ? `${r.ms / 1000} s` : '-';
    if (r.peakMiB === undefined) { out.push(`| ${r.title} | ${time} | failed (${r.error ?? 'no figure'}) | | |`); continue; }
    const over = plain === undefined ? undefined : r.peakMiB - plain;
    out.push(`| ${r.title} (${r.guests === 1 ? 'one guest' : `${r.guests} guests`}, ${sum} MiB) | ${time} | ${mib(r.peakMiB)} | ` +
      `${over === undefined ? '-' : `${mib(over)} / ${sum} MiB = ${(over / sum).toFixed(1)}x`} | ${over === undefined ? '-' : yes(over <= sum + LAYER_EXCESS_GOAL_MIB)} |`);
  }
  return out.join('\n');
}

// --- HTTP -----------------------------------------------------------------

export function renderHttp(p: PartOf<(HttpResult & { medians?: Record<string, number | null> })[]> | undefined): string {
  const what = 'A real HTTP server in a guest (`--only http`)';
  const rs = p?.results;
  if (!p || !rs?.length) return notMeasured(what, 'http');
  const c = p.config;
  const medianOf = (r: HttpResult & { medians?: Record<string, number | null> }, id: string): number | undefined => {
    const m = r.medians?.[id] ?? (r.samples[id]?.length ? med(r.samples[id]!) : undefined);
    return m ?? undefined;
  };
  const rate = (x: number | undefined): string => (x === undefined ? 'not measured' : Math.round(x).toLocaleString('en-US').replace(/,/g, ' '));
  const ratio = (x: number | undefined, base: number | undefined): string => (x === undefined || !base ? '' : ` (${(x / base).toFixed(2)}x)`);
  const published = rs.find((r) => r.id === 'published');
  const g2g = rs.find((r) => r.id === 'guest-to-guest');
  const out = [
    `${what}: darkhttpd built with the WASIX toolchain against the same source built with gcc on the host, driven by the same client ` +
    `(Node's \`http\`, ${c['httpConnections'] ?? 'several'} keep-alive connections, a 1 KiB page, ${c['httpSeconds'] ?? '?'} s per round), ` +
    'as requests per second and a ratio against the native server; secure mode through `--publish`, normal mode on a host port; and ' +
    'guest-to-guest, `testminiwget` fetching from darkhttpd, one request per client run (so the client\'s start-up counts), against both ' +
    `built natively. The bench builds the native programs itself (it needs gcc). Measured on ${measuredOn(p)}, medians of ` +
    `${rounds(p, 'httpRounds')}:`,
    '',
  ];
  if (published) {
    if (published.error) out.push(`- published server: failed (${published.error})`);
    else {
      const base = medianOf(published, 'native');
      out.push(`- ${published.title}: native ${rate(base)} requests/s, secure ${rate(medianOf(published, 'secure'))}${ratio(medianOf(published, 'secure'), base)}, ` +
        `normal ${rate(medianOf(published, 'normal'))}${ratio(medianOf(published, 'normal'), base)}`);
    }
  }
  if (g2g) {
    if (g2g.error) out.push(`- guest-to-guest: failed (${g2g.error})`);
    else {
      const base = medianOf(g2g, 'native');
      out.push(`- ${g2g.title}: ${rate(medianOf(g2g, 'secure'))} client runs/s against ${rate(base)} native${ratio(medianOf(g2g, 'secure'), base)}`);
    }
  }
  return out.join('\n');
}

// --- suspend and resume ---------------------------------------------------

export function renderSuspend(p: PartOf<SuspendResult> | undefined): string {
  const what = 'Suspend and resume (`--only suspend`)';
  const r = p?.results;
  if (!p || !r) return notMeasured(what, 'suspend');
  const c = r.computeMs;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const range = c.ratioRange ? ` (rounds ${c.ratioRange[0].toFixed(2)}x-${c.ratioRange[1].toFixed(2)}x)` : '';
  const size = r.snapshotBytes / r.memoryBytes;
  const out = [
    `${what}: measured on ${measuredOn(p)}; medians of ${rounds(p, 'suspendRounds')} (the compute case: ${c.rounds ?? 'as many'} alternating rounds, ` +
    'its ratio the median of the rounds\' own ratios):',
    '',
    '| case | baseline | Capsule | ratio | goal | met |',
    '|---|---|---|---|---|---|',
    `| compute, n-body, \`--suspendable\` | the module unprepared: ${ms(c.unprepared)} | ${ms(c.suspendable)} | ${c.ratio.toFixed(2)}x${range} | ≤ ${c.goal}x | ${yes(c.ratio <= c.goal)} |`,
    ...(c.cpu ? [`| the same, by the guest thread's CPU time | ${ms(c.cpu.unprepared)} | ${ms(c.cpu.suspendable)} | ` +
      `${c.cpu.ratio.toFixed(2)}x (rounds ${c.cpu.ratioRange[0].toFixed(2)}x-${c.cpu.ratioRange[1].toFixed(2)}x) | ≤ ${c.goal}x | ${yes(c.cpu.ratio <= c.goal)} |`] : []),
    `| suspend and seal a guest with 256 MiB of memory (to the file renamed into place) | - | ${ms(r.sealMs)} | - | < ${SEAL_GOAL_MS} ms | ${yes(r.sealMs < SEAL_GOAL_MS)} |`,
    `| resume it, from \`resume()\` to running | a fresh start to the same state, from \`start()\`: ${ms(r.freshStartMs)} | ${ms(r.resumeMs)} | ` +
    `${r.resumeMs - r.freshStartMs >= 0 ? '+' : ''}${ms(r.resumeMs - r.freshStartMs)} | ≤ fresh + ${RESUME_GOAL_EXTRA_MS} ms | ${yes(r.resumeMs < r.freshStartMs + RESUME_GOAL_EXTRA_MS)} |`,
    `| its snapshot's size | its memory: ${(r.memoryBytes / 1048576).toFixed(1)} MiB | ${(r.snapshotBytes / 1048576).toFixed(1)} MiB | ${size.toFixed(3)}x | ≤ used + 1% | ${yes(size <= SNAPSHOT_GOAL)} |`,
  ];
  const w = r.warmStart;
  if (w) {
    out.push(`| first output of a program with a ${w.initMs} ms start, resumed from a snapshot taken after it | started fresh: ${ms(w.freshMs)} | ` +
      `${ms(w.resumedMs)} | ${w.ratio.toFixed(2)}x | ≤ ${w.goal}x | ${yes(w.ratio <= w.goal)} |`);
  } else {
    out.push('| first output of a program with a 300 ms start, resumed from a snapshot taken after it | not measured | | | ≤ 0.2x | - |');
  }
  const y = r.system;
  if (y) {
    const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
    out.push('', `A system of ${y.guests} idle guests (each a server blocked in accept) sealed whole with \`suspend --all\`: while it ran the process ` +
      `grew by ${mib(y.runningRssBytes)} (${mib(y.runningRssBytes / y.guests)} a guest), and once sealed it is a file of ${mib(y.snapshotBytes)} ` +
      `(${(y.snapshotBytes / y.memoryBytes).toFixed(2)}x the guests' ${mib(y.memoryBytes)} of memory) with no thread and no memory in any process; ` +
      `sealing took ${ms(y.sealMs)}, resuming to every guest running ${ms(y.resumeMs)} against ${ms(y.freshStartMs)} for a fresh start to every guest listening.`);
  }
  return out.join('\n');
}

// --- density --------------------------------------------------------------

export function renderDensity(p: PartOf<DensityResult> | undefined): string {
  const what = 'Density (`--only density`)';
  const r = p?.results;
  if (!p || !r) return notMeasured(what, 'density');
  const out = [
    `${what}: \`capsule up\` of guests that say "idle" and sleep, each under \`--memory 16MiB\`: the time from the command to the last ` +
    'guest\'s "idle", then the whole process\'s resident memory, threads and CPU time, one second later. ' +
    `Measured on ${measuredOn(p)}.`,
    '',
    '| idle guests | start to all idle | RSS | threads | CPU |',
    '|---|---|---|---|---|',
  ];
  for (const x of r.idle) {
    if (!x.figures) { out.push(`| ${x.guests} | failed (${x.error ?? 'no figure'}) | | | |`); continue; }
    out.push(`| ${x.guests} | ${x.startMs!.toFixed(0)} ms | ${mib(x.figures.rssMiB)} | ${x.figures.threads} | ${x.figures.cpuMs.toFixed(0)} ms |`);
  }
  const pg = r.perGuest;
  if (pg) out.push('', `Each idle guest beyond the first costs ${pg.rssMiB.toFixed(1)} MiB, ${pg.cpuMs.toFixed(1)} ms of CPU and ${pg.threads.toFixed(1)} thread.`);
  const s = r.suspended;
  const f = (x: ProcessFigures | undefined): string => (x ? `${mib(x.rssMiB)} and ${x.threads} threads` : 'not measured');
  out.push('');
  if (s.error !== undefined || !s.suspended) out.push(`Suspended guests: failed (${s.error ?? 'no figure'}).`);
  else {
    out.push(`Suspended: ${s.guests} such guests started through the API in one process, then each suspended into a snapshot of its own: ` +
      `the process holds ${f(s.empty)} before any guest, ${f(s.running)} with them idle, and ${f(s.suspended)} once all are sealed; ` +
      `a suspended guest is ${((s.snapshotBytesPerGuest ?? 0) / 1024).toFixed(0)} KiB of snapshot on disk ` +
      `(suspending one took ${(s.suspendMs ?? 0).toFixed(0)} ms, median, all asked at once).`);
  }
  return out.join('\n');
}

// --- fleet ----------------------------------------------------------------

export function renderFleet(p: PartOf<FleetResult> | undefined): string {
  const what = 'The fleet (`--only fleet`)';
  const r = p?.results;
  if (!p || !r) return notMeasured(what, 'fleet');
  const rate = (x: number): string => x.toFixed(1);
  const out = [
    `${what}: hello-world jobs, \`--concurrency ${r.concurrency}\` per worker, one \`redis-server\` on a Unix socket, measured on ${measuredOn(p)}:`,
    '',
    '| | jobs/s | ratio |',
    '|---|---|---|',
    `| \`capsule run\` once per job in a shell loop (the baseline, ${r.baselineRuns} runs) | ${rate(r.baselinePerSecond)} | 1x |`,
    `| fleet, 1 worker (${r.jobs} jobs) | ${rate(r.oneWorkerPerSecond)} | ${(r.oneWorkerPerSecond / r.baselinePerSecond).toFixed(1)}x |`,
    `| fleet, 2 workers (${r.jobs} jobs) | ${rate(r.twoWorkersPerSecond)} | ${(r.twoWorkersPerSecond / r.baselinePerSecond).toFixed(1)}x |`,
    ...(r.freshThreadPerSecond !== undefined
      ? [`| fleet, 1 worker, \`--fresh-thread-per-job\` (${r.jobs} jobs) | ${rate(r.freshThreadPerSecond)} | ${(r.freshThreadPerSecond / r.baselinePerSecond).toFixed(1)}x |`] : []),
    '',
    `Goal ≥ ${FLEET_RATIO_GOAL}x: ${r.ratio >= FLEET_RATIO_GOAL ? 'met' : 'not met'} (${r.ratio.toFixed(1)}x). ` +
    `Worker CPU per job: ${r.workerCpuMsPerJob.one.toFixed(1)} ms with one worker, ${r.workerCpuMsPerJob.two.toFixed(1)} ms with two, ` +
    (r.workerCpuMsPerJob.fresh !== undefined
      ? `${r.workerCpuMsPerJob.fresh.toFixed(1)} ms with one starting an enclave thread per job (a thread's start alone: ${r.threadStartCpuMs.toFixed(1)} ms). `
      : `of which ${r.threadStartCpuMs.toFixed(1)} ms starts the job's own enclave thread. `) +
    `Redis commands per job: ${r.redisCommandsPerJob.toFixed(1)}.`,
  ];
  const l = r.latency;
  if (l) {
    const pp = (x: { p50: number; p99: number } | undefined): string => (x ? `${Math.max(0, x.p50).toFixed(1)} / ${Math.max(0, x.p99).toFixed(1)} ms` : 'not measured');
    out.push('', `Submit to result at ${l.ratePerSecond.toFixed(1)} jobs/s (half the maximum, ${l.jobs} jobs, the workers warmed up by 20 jobs first as for the throughput runs): p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms; ` +
      `above the job's own run p50 ${l.p50AboveRun.toFixed(1)} ms, p99 ${l.p99AboveRun.toFixed(1)} ms (goal p99 < ${FLEET_P99_GOAL_MS} ms: ` +
      `${l.p99AboveRun < FLEET_P99_GOAL_MS ? 'met' : 'not met'})` +
      (l.parts ? `; of that, p50 / p99: the submit call ${pp(l.parts.submit)}, queued ${pp(l.parts.queued)}, the worker around the run ` +
        `${pp(l.parts.worker)}, the completion event ${pp(l.parts.event)}.` : '.'));
  }
  return out.join('\n');
}
