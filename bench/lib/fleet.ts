// The fleet part of `npm run bench`: hello-world jobs through redis-server
// and `capsule worker` processes (one worker, then two, then one with
// --fresh-thread-per-job) against `capsule run` once per job in a shell
// loop, in the same run; Redis commands and the workers' CPU per job, against
// the CPU of starting one enclave thread (what a job costs when it does not
// reuse one); and submit-to-result latency at half the measured maximum throughput.

import { spawn, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Fleet, redisConnection } from '../../src/fleet/index.js';
import { startRedis, type TestRedis } from '../../test/helpers/redis.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin', 'capsule.js');
const HELLO = path.join(ROOT, 'test', 'guests', 'hello.wasm');

export interface FleetResult {
  jobs: number;
  baselineRuns: number;
  baselinePerSecond: number;
  oneWorkerPerSecond: number;
  twoWorkersPerSecond: number;
  /** One worker started with --fresh-thread-per-job: every job starts an enclave thread of its own (absent in older results). */
  freshThreadPerSecond?: number;
  /** Fleet throughput (the better of one and two workers) over `capsule run` in a loop. */
  ratio: number;
  redisCommandsPerJob: number;
  /**
   * CPU time the worker processes spent per job (their Node thread and the
   * jobs' enclave threads), read from /proc: unlike jobs per second, it
   * holds on a machine others are using too.
   */
  workerCpuMsPerJob: { one: number; two: number; fresh?: number };
  /** CPU to start one enclave thread and load its code, no guest run: what each job costs at least when it has a fresh thread. */
  threadStartCpuMs: number;
  latency: {
    ratePerSecond: number; p50: number; p99: number; p50AboveRun: number; p99AboveRun: number; jobs: number;
    /**
     * Where the time above the run goes, p50 and p99 of each (ms, from the
     * job's timestamps on this one host): the submit call; queued, from its
     * return until a worker took the job; the worker's own work around the
     * run; and the completion event reaching the client.
     */
    parts: Record<'submit' | 'queued' | 'worker' | 'event', { p50: number; p99: number }>;
  };
  concurrency: number;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface StartedWorker { pid: number; stop: () => Promise<void> }

function startWorkers(url: string, count: number, concurrency: number, extra: string[] = []): Promise<StartedWorker[]> {
  return Promise.all(Array.from({ length: count }, () => new Promise<StartedWorker>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--concurrency', String(concurrency), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.on('data', (d: Buffer) => {
      text += d.toString();
      if (/ready/.test(text)) resolve({ pid: child.pid!, stop: () => new Promise((done) => { child.once('exit', () => done()); child.kill('SIGTERM'); }) });
    });
    child.once('exit', () => reject(new Error(`worker exited: ${text}`)));
  })));
}

/** CPU milliseconds (user + system, every thread) process `pid` has used so far. */
function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function commandsProcessed(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))![1]);
}

/** Jobs per second for `jobs` submitted at once; Redis commands and the workers' CPU per job. */
async function throughput(fleet: Fleet, redis: Redis, module: string, jobs: number, workers: StartedWorker[]): Promise<{ perSecond: number; commandsPerJob: number; cpuMsPerJob: number }> {
  const done = new Set<string>();
  let all!: () => void;
  const finished = new Promise<void>((r) => { all = r; });
  const ids = new Set<string>();
  const onDone = (id: string): void => { if (ids.has(id) && !done.has(id)) { done.add(id); if (done.size === jobs) all(); } };
  fleet.on('completed', onDone);
  const before = await commandsProcessed(redis);
  const cpu = (): number => workers.reduce((n, w) => n + cpuMsOf(w.pid), 0);
  const cpuBefore = cpu();
  const started = performance.now();
  for (let i = 0; i < jobs; i++) ids.add((await fleet.submit({ module })).id);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerJob = (cpu() - cpuBefore) / jobs;
  fleet.off('completed', onDone);
  const commands = (await commandsProcessed(redis)) - before;
  return { perSecond: jobs / seconds, commandsPerJob: commands / jobs, cpuMsPerJob };
}

async function latency(fleet: Fleet, module: string, rate: number, jobs: number): Promise<FleetResult['latency']> {
  const submitted = new Map<string, { t0: number; wall0: number; submitMs: number }>();
  const total: number[] = [];
  const above: number[] = [];
  const parts = { submit: [] as number[], queued: [] as number[], worker: [] as number[], event: [] as number[] };
  let all!: () => void;
  const finished = new Promise<void>((r) => { all = r; });
  const onDone = (id: string): void => {
    const s = submitted.get(id);
    if (s === undefined) return;
    const ms = performance.now() - s.t0;
    const receivedAt = Date.now();
    submitted.delete(id);
    void fleet.bullQueue.getJob(id).then((job) => {
      const wallMs = (job?.returnvalue as { usage?: { wallMs?: number } } | undefined)?.usage?.wallMs ?? 0;
      total.push(ms);
      above.push(ms - wallMs);
      if (job?.processedOn !== undefined && job.finishedOn !== undefined) {
        parts.submit.push(s.submitMs);
        parts.queued.push(job.processedOn - (s.wall0 + s.submitMs));
        parts.worker.push(job.finishedOn - job.processedOn - wallMs);
        parts.event.push(receivedAt - job.finishedOn);
      }
      if (total.length === jobs) all();
    });
  };
  fleet.on('completed', onDone);
  const interval = 1000 / rate;
  const start = performance.now();
  for (let i = 0; i < jobs; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    const wall0 = Date.now();
    const { id } = await fleet.submit({ module });
    submitted.set(id, { t0, wall0, submitMs: performance.now() - t0 });
  }
  await finished;
  fleet.off('completed', onDone);
  const both = (xs: number[]): { p50: number; p99: number } => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });
  return {
    ratePerSecond: rate, jobs, p50: percentile(total, 50), p99: percentile(total, 99), p50AboveRun: percentile(above, 50), p99AboveRun: percentile(above, 99),
    parts: { submit: both(parts.submit), queued: both(parts.queued), worker: both(parts.worker), event: both(parts.event) },
  };
}

/** CPU per enclave thread started, its code loaded and the thread gone (measured in this process, one at a time). */
async function threadStartCpu(count: number): Promise<number> {
  const code = `require(${JSON.stringify(path.join(ROOT, 'dist', 'bundle', 'worker.cjs'))}); process.exit(0)`;
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const t = new Worker(code, { eval: true });
    await new Promise((r) => t.once('exit', r));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / count;
}

export async function fleetBenchmarks(o: { jobs: number; baselineRuns: number; concurrency: number; status: (s: string) => void }): Promise<FleetResult> {
  o.status(`fleet: capsule run x${o.baselineRuns} in a shell loop`);
  const loop = `for i in $(seq ${o.baselineRuns}); do "${process.execPath}" "${CLI}" run "${HELLO}" >/dev/null || exit 1; done`;
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', loop], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('capsule run failed in the baseline loop');
  const baselinePerSecond = o.baselineRuns / ((performance.now() - t0) / 1000);
  o.status('fleet: enclave thread start');
  const threadStartCpuMs = await threadStartCpu(30);

  const server: TestRedis = await startRedis();
  const fleet = new Fleet({ connection: redisConnection(server.url) });
  const redis = new Redis(redisConnection(server.url) as never);
  try {
    await fleet.watch();
    const module = await fleet.putModule(fs.readFileSync(HELLO));
    const measure = async (count: number, extra: string[] = []): Promise<{ perSecond: number; commandsPerJob: number; cpuMsPerJob: number }> => {
      const workers = await startWorkers(server.url, count, o.concurrency, extra);
      try {
        o.status(`fleet: ${o.jobs} jobs, ${count} worker(s) ${extra.join(' ')}`);
        await throughput(fleet, redis, module, Math.min(20, o.jobs), workers); // warm-up
        return await throughput(fleet, redis, module, o.jobs, workers);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    };
    const one = await measure(1);
    const two = await measure(2);
    // The same worker starting a thread per job, in the same run: what reusing threads saves.
    const fresh = await measure(1, ['--fresh-thread-per-job']);
    const best = Math.max(one.perSecond, two.perSecond);
    const latencyWorkers = await startWorkers(server.url, best === two.perSecond ? 2 : 1, o.concurrency);
    let lat: FleetResult['latency'];
    try {
      // Warmed up as the throughput runs are: a new worker's first jobs start its threads and compile the module.
      await throughput(fleet, redis, module, Math.min(20, o.jobs), latencyWorkers);
      o.status('fleet: latency at half the maximum throughput');
      lat = await latency(fleet, module, best / 2, Math.min(o.jobs, 200));
    } finally {
      await Promise.all(latencyWorkers.map((w) => w.stop()));
    }
    o.status('');
    return {
      jobs: o.jobs, baselineRuns: o.baselineRuns, baselinePerSecond, oneWorkerPerSecond: one.perSecond, twoWorkersPerSecond: two.perSecond,
      freshThreadPerSecond: fresh.perSecond,
      ratio: best / baselinePerSecond, redisCommandsPerJob: one.commandsPerJob, latency: lat, concurrency: o.concurrency,
      workerCpuMsPerJob: { one: one.cpuMsPerJob, two: two.cpuMsPerJob, fresh: fresh.cpuMsPerJob }, threadStartCpuMs,
    };
  } finally {
    redis.disconnect();
    await fleet.close();
    await server.stop();
  }
}

export function printFleet(f: FleetResult): void {
  const n = (x: number, d = 1): string => x.toFixed(d);
  console.log('\nFleet: hello-world jobs through redis-server and capsule worker (--concurrency ' + f.concurrency + ')');
  console.log(`  capsule run in a shell loop (${f.baselineRuns} runs)   ${n(f.baselinePerSecond)} jobs/s   (baseline)`);
  console.log(`  fleet, 1 worker (${f.jobs} jobs)           ${n(f.oneWorkerPerSecond)} jobs/s   ${n(f.oneWorkerPerSecond / f.baselinePerSecond)}x`);
  console.log(`  fleet, 2 workers (${f.jobs} jobs)          ${n(f.twoWorkersPerSecond)} jobs/s   ${n(f.twoWorkersPerSecond / f.baselinePerSecond)}x`);
  if (f.freshThreadPerSecond !== undefined) {
    console.log(`  fleet, 1 worker, --fresh-thread-per-job      ${n(f.freshThreadPerSecond)} jobs/s   ${n(f.freshThreadPerSecond / f.baselinePerSecond)}x`);
  }
  console.log(`  best fleet / baseline: ${n(f.ratio)}x (goal >= 10x: ${f.ratio >= 10 ? 'met' : 'NOT met'})`);
  console.log(`  Redis commands per job: ${n(f.redisCommandsPerJob)}`);
  console.log(`  worker CPU per job (its Node thread and the job's enclave thread): ${n(f.workerCpuMsPerJob.one)} ms with 1 worker, ${n(f.workerCpuMsPerJob.two)} ms with 2` +
    `${f.workerCpuMsPerJob.fresh !== undefined ? `, ${n(f.workerCpuMsPerJob.fresh)} ms with 1 starting a thread per job` : ''}; starting one enclave thread: ${n(f.threadStartCpuMs)} ms`);
  const l = f.latency;
  console.log(`  submit -> result at ${n(l.ratePerSecond)} jobs/s (${l.jobs} jobs): p50 ${n(l.p50)} ms, p99 ${n(l.p99)} ms;` +
    ` above the job's own run: p50 ${n(l.p50AboveRun)} ms, p99 ${n(l.p99AboveRun)} ms (goal p99 < 20 ms: ${l.p99AboveRun < 20 ? 'met' : 'NOT met'})`);
  console.log(`  above the run, p50 / p99: ${(['submit', 'queued', 'worker', 'event'] as const).map((k) => `${k} ${n(l.parts[k].p50)} / ${n(l.parts[k].p99)} ms`).join(', ')}`);
}
