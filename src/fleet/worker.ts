// A fleet worker: takes jobs from the BullMQ queue and runs each in an
// enclave under its policy, `concurrency` at a time, with as many enclave
// threads kept booted. Whoever wrote the job is not trusted: it is checked
// again here (schema, policy, ceiling, module hash). close() drains: no new
// jobs, running ones finish.

import os from 'node:os';
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { setSpareEnclaves } from '../api/run.js';
import { CapsuleError } from '../core/errors.js';
import { parsePolicyDocument, type ParsedPolicy } from '../policy/document.js';
import { clampToCeiling, DEFAULT_CEILING, exceedsCeiling } from './ceiling.js';
import { executeJob } from './execute.js';
import { parseJobSpec, type JobResult } from './job.js';
import { DEFAULT_QUEUE, fleetKeys } from './keys.js';
import { ModuleCache } from './module-store.js';
import { TenantSlots } from './tenants.js';

export interface FleetWorkerOptions {
  connection: ConnectionOptions;
  queue?: string;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** A job whose worker stops renewing its lock this long is given to another worker (default 30 s). */
  lockMs?: number;
  /** Running jobs per tenant across the fleet; 0 = no cap (default). */
  tenantCap?: number;
  /** The most any job may ask for (default: DEFAULT_CEILING). */
  ceiling?: ParsedPolicy;
  /** Called with one line per job and per problem. */
  log?: (line: string) => void;
}

/** How long a job over its tenant's cap waits before it is looked at again. */
const TENANT_RETRY_MS = 100;

export class FleetWorker {
  readonly id = `${os.hostname()}:${process.pid}`;
  private readonly worker: Worker;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly keys;
  private readonly modules: ModuleCache;
  private readonly slots: TenantSlots;
  private readonly ceiling: ParsedPolicy;
  private readonly log: (line: string) => void;

  constructor(options: FleetWorkerOptions) {
    this.keys = fleetKeys(options.queue ?? DEFAULT_QUEUE);
    const concurrency = options.concurrency ?? 1;
    const lockMs = options.lockMs ?? 30_000;
    this.log = options.log ?? (() => {});
    this.ceiling = options.ceiling ?? DEFAULT_CEILING;
    this.redis = new Redis(options.connection as never);
    this.subscriber = new Redis(options.connection as never);
    this.modules = new ModuleCache(this.redis, this.keys);
    this.slots = new TenantSlots(this.redis, this.keys, options.tenantCap ?? 0, lockMs * 2);
    setSpareEnclaves(concurrency);
    this.worker = new Worker(this.keys.bullQueue, (job, token, signal) => this.process(job, token, signal), {
      connection: options.connection,
      prefix: this.keys.bullPrefix,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
      // A job's own attempts bound how often it is run (see process()); stalls alone never fail it.
      maxStalledCount: 100,
      name: this.id,
    });
    this.worker.on('error', (err) => this.log(`worker: ${err.message}`));
    this.worker.on('failed', (job, err) => this.log(`job ${job?.id ?? '?'} failed: ${err.message}`));
    void this.subscriber.subscribe(this.keys.cancelChannel).catch((err: Error) => this.log(`cancel channel: ${err.message}`));
    this.subscriber.on('message', (_channel: string, jobId: string) => { this.worker.cancelJob(jobId, 'cancelled'); });
  }

  /** Resolves once the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<JobResult> {
    const checked = parseJobSpec(job.data);
    if (!checked.ok) throw new UnrecoverableError(`invalid job: ${checked.problem}`);
    const spec = checked.value;
    spec.policy = await this.checkPolicy(spec.policy);
    const jobId = job.id!;
    if (!(await this.slots.acquire(spec.tenant, jobId))) {
      // Over the tenant's cap: back to the queue a little later, without spending an attempt.
      await job.moveToDelayed(Date.now() + TENANT_RETRY_MS + Math.floor(Math.random() * TENANT_RETRY_MS), token);
      throw new DelayedError();
    }
    const renew = setInterval(() => { void this.slots.renew(spec.tenant, jobId).catch(() => {}); }, 1000);
    try {
      // Runs started, counted in Redis: a worker killed mid-job counts one.
      const runsKey = this.keys.runs(jobId);
      const attempts = await this.redis.multi().incr(runsKey).expire(runsKey, 7 * 24 * 3600).exec()
        .then((r) => Number(r?.[0]?.[1] ?? 1));
      if (attempts > spec.attempts) throw new UnrecoverableError(`no attempts left: the job was started ${attempts - 1} times`);
      this.log(`job ${jobId}: started (attempt ${attempts})`);
      let module: Buffer;
      try {
        module = await this.modules.get(spec.module);
      } catch (err) {
        if (err instanceof CapsuleError) throw new UnrecoverableError(err.message);
        throw err;
      }
      const abort = signal ?? new AbortController().signal;
      const outcome = await executeJob(spec, module, abort);
      this.log(`job ${jobId}: ${outcome.outcome.kind} ${outcome.exitCode} (attempt ${attempts})`);
      return { ...outcome, worker: this.id, attempts };
    } finally {
      clearInterval(renew);
      await this.slots.release(spec.tenant, jobId).catch(() => {});
    }
  }

  /** The job's policy held to this worker's ceiling: limits it leaves to the default clamped, a wider grant refused. */
  private async checkPolicy(policy: unknown): Promise<unknown> {
    let clamped: unknown;
    let parsed: ParsedPolicy;
    try {
      clamped = await clampToCeiling(policy, this.ceiling);
      parsed = await parsePolicyDocument(clamped ?? {}, 'policy');
    } catch (err) {
      throw new UnrecoverableError(`invalid job: ${(err as Error).message}`);
    }
    const over = exceedsCeiling(parsed, this.ceiling);
    if (over !== undefined) throw new UnrecoverableError(`refused by this worker's ceiling: ${over}`);
    return clamped;
  }

  /** Stops taking jobs, lets running ones finish, then disconnects. */
  async close(): Promise<void> {
    await this.worker.close();
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => {});
  }
}
