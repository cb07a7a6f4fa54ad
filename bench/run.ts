// `npm run bench`: Capsule (secure and normal mode) side by side with node:wasi
// on the same modules and files, then Capsule's sockets against plain Node over
// kernel TCP (bench/lib/sockets.ts). Speed is reported as ratios, never asserted.
//
//   node dist/bench/run.js                  every part
//   node dist/bench/run.js --only wasi      only the WASI part (Capsule vs node:wasi)
//   node dist/bench/run.js --only sockets   only the socket part (guest-to-guest and bridged)
//   node dist/bench/run.js --only containment  time to stop and host memory under hostile guests
//   node dist/bench/run.js --only fairness  a guest's latency beside a flooding neighbour
//   node dist/bench/run.js --only layer     a layer's host memory under socket churn and floods
//   node dist/bench/run.js --only http      a real HTTP server (darkhttpd) in a guest against it built natively
//   node dist/bench/run.js --only threads   a blocked guest thread's CPU, a thread's start-up
//   node dist/bench/run.js --only fleet     jobs through Redis and capsule worker vs capsule run in a loop
//   node dist/bench/run.js --only suspend   --suspendable's compute cost, sealing and resuming 256 MiB, snapshot size, a warm start
//   node dist/bench/run.js --only density   idle guests in one `capsule up` (50 and 200), and suspended ones
//
// Environment: BENCH_ROUNDS (default 5) rounds of the heavy cases and of each
// socket case, BENCH_STARTUP_ROUNDS (default 20) rounds of start-up,
// BENCH_NET_MIB (default 1024) MiB per socket throughput run,
// BENCH_NET_ROUNDTRIPS (default 20000) timed 1-byte round trips per run (after
// BENCH_NET_WARMUP, default 1000, untimed ones), BENCH_CONTAINMENT_ROUNDS
// (default 3) rounds of each time-to-stop case, BENCH_FAIRNESS_ROUNDS (default 3)
// rounds of BENCH_FAIRNESS_PROBES (default 5000) probes per fairness case,
// BENCH_HTTP_SECONDS (default 3) of load per HTTP round over BENCH_HTTP_CONNECTIONS
// (default 8) connections, BENCH_HTTP_CLIENT_RUNS (default 50) client runs per
// guest-to-guest round,
// BENCH_FLEET_JOBS (default 300) jobs per fleet throughput run against BENCH_FLEET_BASELINE (default 30)
// runs of `capsule run`, BENCH_DENSITY (default 50,200) counts of idle guests, BENCH_DENSITY_SUSPENDED
// (default 50) guests suspended.

import fs from 'node:fs';
import os from 'node:os';
import { run } from '../src/api/index.js';
import path from 'node:path';
import { CONTENDERS, RESULTS_FILE, STARTUP_STEPS, cases, commandFor, guest, makeDataFile, makeTextFiles, type Case, type ContenderId } from './lib/cases.js';
import { alternate, canMeasureRss, devNull, median, peakRssKb, runProcess, type Series } from './lib/measure.js';
import { machine, printSocketTable, printStartupSteps, printTable, summaryLine, writeJson, type CaseResult, type SocketResult, type StartupSteps } from './lib/report.js';
import { socketBenchmarks } from './lib/sockets.js';
import { containmentBenchmarks, printContainment, type ContainmentResults } from './lib/containment.js';
import { fairnessBenchmarks, printFairness, type FairnessResult } from './lib/fairness.js';
import { layerMemoryBenchmarks, printLayerMemory, type LayerMemoryResult } from './lib/layer-memory.js';
import { printThreads, threadBenchmarks, type ThreadResult } from './lib/threads.js';
import { httpBenchmarks, printHttp, type HttpResult } from './lib/http.js';
import { fleetBenchmarks, printFleet, type FleetResult } from './lib/fleet.js';

import { printSuspend, suspendBenchmarks, type SuspendResult } from './lib/suspend.js';
import { densityBenchmarks, printDensity, type DensityResult } from './lib/density.js';

const PARTS = ['wasi', 'sockets', 'containment', 'fairness', 'layer', 'http', 'threads', 'fleet', 'suspend', 'density'] as const;
type Part = (typeof PARTS)[number];
function partsToRun(argv: string[]): Set<Part> {
  let only: string | undefined;
  let bad = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only' && i + 1 < argv.length) only = argv[++i];
    else if (a.startsWith('--only=')) only = a.slice('--only='.length);
    else bad = true;
  }
  if (bad || (only !== undefined && !(PARTS as readonly string[]).includes(only))) {
    console.error(`usage: node dist/bench/run.js [--only ${PARTS.join('|')}]`);
    process.exit(2);
  }
  return new Set(only === undefined ? PARTS : [only as Part]);
}
const parts = partsToRun(process.argv.slice(2));

// node:wasi is used in this process too (in-process start-up): drop its ExperimentalWarning only.
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'ExperimentalWarning') console.error(w); });
const { runNodeWasi } = await import('./lib/baseline.js'); // loaded after the filter: node:wasi warns on load

const envInt = (name: string, dflt: number): number => {
  const v = parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const STARTUP_ROUNDS = envInt('BENCH_STARTUP_ROUNDS', 20);
const IN_PROCESS_RUNS = 20;
const IN_PROCESS_WARMUPS = 3;
const FILE_MB = 200;
const NET_MIB = envInt('BENCH_NET_MIB', 1024);
const NET_ROUNDTRIPS = envInt('BENCH_NET_ROUNDTRIPS', 20000);
const NET_WARMUP = envInt('BENCH_NET_WARMUP', 1000);
const CONTAINMENT_ROUNDS = envInt('BENCH_CONTAINMENT_ROUNDS', 3);
const FAIRNESS_ROUNDS = envInt('BENCH_FAIRNESS_ROUNDS', 3);
const FAIRNESS_PROBES = envInt('BENCH_FAIRNESS_PROBES', 5000);
const HTTP_SECONDS = envInt('BENCH_HTTP_SECONDS', 3);
const HTTP_CONNECTIONS = envInt('BENCH_HTTP_CONNECTIONS', 8);
const HTTP_CLIENT_RUNS = envInt('BENCH_HTTP_CLIENT_RUNS', 50);

const status = (text: string): void => {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[K${text}`);
};

const bySeries = (series: Series[]): Record<ContenderId, Series> =>
  Object.fromEntries(CONTENDERS.map(({ id }, i) => [id, series[i]!])) as Record<ContenderId, Series>;

/** Checks each contender's output once on a small run, then times the live ones in alternating rounds. */
async function measureCase(c: Case): Promise<CaseResult> {
  status(`${c.title}: checking output`);
  const outputs = new Map<ContenderId, string>();
  const problems = new Map<ContenderId, string>();
  for (const { id } of CONTENDERS) {
    const r = await runProcess(commandFor(id, c.module, c.check.args, c.dirs, c.capsuleFlags), true);
    if (r.failure) problems.set(id, `check run (args ${JSON.stringify(c.check.args)}) failed: ${r.failure}`);
    else outputs.set(id, r.stdout);
  }
  const expect = c.check.expect ?? outputs.get('nodewasi');
  for (const [id, out] of outputs) {
    if (expect !== undefined && out !== expect) {
      const show = (s: string): string => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...(${s.length} bytes)` : s);
      problems.set(id, `wrong output for args ${JSON.stringify(c.check.args)}: got ${show(out)}, expected ${show(expect)}`);
    }
  }

  const series = await alternate(CONTENDERS.map((x) => x.id), c.rounds, async (id) => {
    const problem = problems.get(id);
    if (problem) throw new Error(problem);
    const r = await runProcess(commandFor(id, c.module, c.args, c.dirs, c.capsuleFlags));
    if (r.failure) throw new Error(`timed run failed: ${r.failure}`);
    return r.ms;
  }, (round) => status(`${c.title}: round ${round + 1}/${c.rounds}`));
  const result: CaseResult = { id: c.id, title: c.title, goal: c.goal, series: bySeries(series) };

  if (c.rss && canMeasureRss) {
    status(`${c.title}: peak RSS`);
    const rss: Partial<Record<ContenderId, number | string>> = {};
    for (const { id } of CONTENDERS) {
      rss[id] = result.series[id].error !== undefined ? 'failed' : await peakRssKb(commandFor(id, c.module, c.args, c.dirs, c.capsuleFlags));
    }
    result.rssKb = rss as Record<ContenderId, number | string>;
  } else if (c.rss) {
    console.log(`(peak RSS of ${c.title} skipped: /usr/bin/time not found)`);
  }
  status('');
  console.log(`${c.title}: ${summaryLine(result)}`);
  return result;
}

/** Start-up inside one process: run() of Capsule's API versus node:wasi's compile + instantiate + start. */
async function inProcessStartup(): Promise<CaseResult> {
  const hello = guest('hello');
  const once = async (id: ContenderId): Promise<number> => {
    const t0 = performance.now();
    if (id === 'nodewasi') {
      // Reads the file too, as run() does when given a path.
      const code = await runNodeWasi(hello, [], {}, devNull);
      if (code !== 0) throw new Error(`exit code ${code}`);
      return performance.now() - t0;
    }
    const r = await run(hello, { mode: id, stdout: 'capture', stderr: 'capture' });
    const ms = performance.now() - t0;
    const out = r.stdout?.toString();
    if (r.exitCode !== 0 || out !== 'hello\n') {
      throw new Error(`outcome ${JSON.stringify(r.outcome)}, stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(r.stderr?.toString())}`);
    }
    return ms;
  };
  const ids = CONTENDERS.map((x) => x.id);
  const warm = await alternate(ids, IN_PROCESS_WARMUPS, once, () => status('start-up in-process: warm-up'));
  const series = await alternate(ids, IN_PROCESS_RUNS, async (id) => {
    const e = warm[ids.indexOf(id)]!.error;
    if (e !== undefined) throw new Error(`warm-up failed: ${e}`);
    return once(id);
  }, (round) => status(`start-up in-process: run ${round + 1}/${IN_PROCESS_RUNS}`));
  const result: CaseResult = {
    id: 'startup_in_process', title: 'start-up, hello (in-process API)', goal: { kind: 'diff', maxMs: 30 },
    series: bySeries(series),
  };
  status('');
  console.log(`${result.title}: ${summaryLine(result)}`);
  return result;
}

/**
 * Where a whole-process start-up goes: bare Node, Node starting an empty
 * thread, Node loading the CLI (`capsule --version`), node:wasi's hello and
 * Capsule's (with and without the code cache), in alternating rounds.
 */
async function startupSteps(): Promise<StartupSteps> {
  const hello = guest('hello');
  const commands: Record<keyof StartupSteps['medianMs'], string[]> = {
    node: [...STARTUP_STEPS.node],
    thread: [...STARTUP_STEPS.thread],
    cli: [...STARTUP_STEPS.cliOnly],
    nodewasi: commandFor('nodewasi', hello, [], []),
    secure: commandFor('secure', hello, [], []),
    noCodeCache: commandFor('secure', hello, [], []),
  };
  const env: Partial<Record<keyof typeof commands, NodeJS.ProcessEnv>> = { noCodeCache: { ...process.env, CAPSULE_CODE_CACHE: '0' } };
  const ids = Object.keys(commands) as (keyof typeof commands)[];
  const series = await alternate(ids, STARTUP_ROUNDS, async (id) => {
    const r = await runProcess(commands[id], false, env[id]);
    if (r.failure) throw new Error(`${commands[id].join(' ')}: ${r.failure}`);
    return r.ms;
  }, (round) => status(`start-up steps: round ${round + 1}/${STARTUP_ROUNDS}`));
  status('');
  const failed = series.find((s) => s.error !== undefined);
  if (failed) throw new Error(`start-up steps failed: ${failed.error}`);
  return { rounds: STARTUP_ROUNDS, medianMs: Object.fromEntries(ids.map((id, i) => [id, median(series[i]!.samples)])) as StartupSteps['medianMs'] };
}

const info = machine();
const loadAtStart = os.loadavg();
console.log(`Capsule benchmarks on ${info.cpu} x${info.cpus}, ${info.memoryGiB} GiB, Node ${info.node}, ${info.os}`);
if (parts.has('wasi')) {
  console.log(`Rounds: ${ROUNDS} (heavy cases), ${STARTUP_ROUNDS} (start-up), ${IN_PROCESS_RUNS} + ${IN_PROCESS_WARMUPS} warm-ups (in-process)`);
}
if (parts.has('sockets')) {
  // Socket figures swing with other load on the machine (spinning threads losing their core): show it.
  console.log(`Sockets: ${ROUNDS} rounds, ${NET_MIB} MiB per throughput run, ${NET_ROUNDTRIPS} round trips (+ ${NET_WARMUP} warm-up) per RTT run;` +
    ` load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`);
}

const results: CaseResult[] = [];
let steps: StartupSteps | undefined;
if (parts.has('wasi')) {
  status(`writing the ${FILE_MB} MB data file`);
  const data = makeDataFile(FILE_MB);
  const scratch = fs.mkdtempSync(path.join(data.dir, 'out-'));
  const text = fs.mkdtempSync(path.join(data.dir, 'text-'));
  makeTextFiles(text, 4, 256);
  const cleanup = (): void => data.remove();
  const onSigint = (): void => { cleanup(); process.exit(130); };
  process.once('SIGINT', onSigint);
  try {
    for (const c of cases(data, scratch, text, ROUNDS, STARTUP_ROUNDS)) {
      results.push(await measureCase(c));
      if (c.id === 'startup') {
        results.push(await inProcessStartup());
        steps = await startupSteps();
      }
    }
  } finally {
    cleanup();
    process.off('SIGINT', onSigint);
  }
}

let socketResults: SocketResult[] | undefined;
if (parts.has('sockets')) {
  socketResults = await socketBenchmarks({ rounds: ROUNDS, mib: NET_MIB, roundTrips: NET_ROUNDTRIPS, warmup: NET_WARMUP, status });
}

let containment: ContainmentResults | undefined;
if (parts.has('containment')) {
  containment = await containmentBenchmarks({ rounds: CONTAINMENT_ROUNDS, status });
}

let fairness: FairnessResult[] | undefined;
if (parts.has('fairness')) {
  fairness = await fairnessBenchmarks({ rounds: FAIRNESS_ROUNDS, probeRounds: FAIRNESS_PROBES, status });
}
let layerMemory: LayerMemoryResult[] | undefined;
if (parts.has('layer')) layerMemory = await layerMemoryBenchmarks({ status });
let httpResults: HttpResult[] | undefined;
if (parts.has('http')) {
  httpResults = await httpBenchmarks({ rounds: ROUNDS, seconds: HTTP_SECONDS, connections: HTTP_CONNECTIONS, clientRuns: HTTP_CLIENT_RUNS, status });
}
let threads: ThreadResult[] | undefined;
if (parts.has('threads')) threads = await threadBenchmarks({ rounds: CONTAINMENT_ROUNDS, status });
let fleet: FleetResult | undefined;
if (parts.has('fleet')) {
  fleet = await fleetBenchmarks({ jobs: envInt('BENCH_FLEET_JOBS', 300), baselineRuns: envInt('BENCH_FLEET_BASELINE', 30), concurrency: 2, status });
}
let suspend: SuspendResult | undefined;
if (parts.has('suspend')) suspend = await suspendBenchmarks({ rounds: ROUNDS, status });
let density: DensityResult | undefined;
const DENSITY_COUNTS = (process.env['BENCH_DENSITY'] ?? '50,200').split(',').map((x) => parseInt(x, 10)).filter((x) => x > 0);
const DENSITY_SUSPENDED = envInt('BENCH_DENSITY_SUSPENDED', 50);
if (parts.has('density')) density = await densityBenchmarks({ counts: DENSITY_COUNTS, suspendedGuests: DENSITY_SUSPENDED, status });

if (parts.has('wasi')) printTable(results);
if (steps) printStartupSteps(steps);
if (socketResults) printSocketTable(socketResults);
if (containment) printContainment(containment);
if (fairness) printFairness(fairness);
if (layerMemory) printLayerMemory(layerMemory);
if (httpResults) printHttp(httpResults);
if (threads) printThreads(threads);
if (fleet) printFleet(fleet);
if (suspend) printSuspend(suspend);
if (density) printDensity(density);
const out = RESULTS_FILE;
writeJson(out, [...parts], results, steps, {
  parts: [...parts],
  // Other load on the machine moves every figure: the README says how much there was.
  loadAverageAtStart: loadAtStart,
  ...(parts.has('wasi') ? { rounds: ROUNDS, startupRounds: STARTUP_ROUNDS, inProcessRuns: IN_PROCESS_RUNS,
    inProcessWarmups: IN_PROCESS_WARMUPS, fileMB: FILE_MB } : {}),
  ...(parts.has('sockets') ? { socketRounds: ROUNDS, netMiB: NET_MIB, netRoundTrips: NET_ROUNDTRIPS, netWarmup: NET_WARMUP } : {}),
  ...(parts.has('http') ? { httpRounds: ROUNDS, httpSeconds: HTTP_SECONDS, httpConnections: HTTP_CONNECTIONS, httpClientRuns: HTTP_CLIENT_RUNS } : {}),
  ...(parts.has('containment') ? { containmentRounds: CONTAINMENT_ROUNDS } : {}),
  ...(parts.has('fairness') ? { fairnessRounds: FAIRNESS_ROUNDS, fairnessProbes: FAIRNESS_PROBES } : {}),
  ...(parts.has('suspend') ? { suspendRounds: ROUNDS } : {}),
  ...(parts.has('density') ? { densityCounts: DENSITY_COUNTS, densitySuspended: DENSITY_SUSPENDED } : {}),
}, socketResults, containment, fairness, layerMemory, httpResults, threads, fleet, suspend, density);
console.log(`\nResults written to ${out}`);
