// A fleet worker: takes jobs from the BullMQ queue and runs each in an
// enclave under its policy, `concurrency` at a time, with as many enclave
// threads kept booted. Whoever wrote the job is not trusted: it is checked
// again here (schema, policy, ceiling, module hash). close() drains: no new
// jobs; running ones finish, or, if suspendable, are sealed into snapshots
// and requeued for another worker to resume where they stopped.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { setSpareEnclaves } from '../api/run.js';
import { CapsuleError } from '../core/errors.js';
import { parsePolicyDocument, type ParsedPolicy } from '../policy/document.js';
import { clampToCeiling, DEFAULT_CEILING, exceedsCeiling } from './ceiling.js';
import { checkSealKey, sealKeyFromEnv } from '../snapshot/key.js';
import { executeJob, type RunOutcome, type Suspendable } from './execute.js';
import { JOB_LIMITS, parseJobSpec, type JobResult, type JobSpec } from './job.js';
import { DEFAULT_QUEUE, fleetKeys } from './keys.js';
import { ModuleCache } from './module-store.js';
import { appendKept, SuspendedJobs, type Continuation } from './suspended-jobs.js';
import { TenantSlots } from './tenants.js';
import { prepareOffThread } from './prepare-thread.js';

export interface FleetWorkerOptions {
  connection: ConnectionOptions;
  queue?: string;
  /** Jobs run at once (default: the machine's cores, os.availableParallelism()). */
  concurrency?: number;
  /** A job whose worker stops renewing its lock this long is given to another worker (default 30 s). */
  lockMs?: number;
  /** Running jobs per tenant across the fleet; 0 = no cap (default). */
  tenantCap?: number;
  /** The most any job may ask for (default: DEFAULT_CEILING). */
  ceiling?: ParsedPolicy;
  /** Called with one line per job and per problem. */
  log?: (line: string) => void;
  /**
   * The fleet's 32-byte seal key (default: CAPSULE_SEAL_KEY). Every worker
   * that may suspend or resume a job needs the same one; without it
   * suspendable jobs run as plain ones and finish when the worker drains.
   */
  sealKey?: Uint8Array;
  /**
   * true: every job's enclave thread is started for it and ends with it.
   * Default: a thread whose job ended cleanly (returned or exited, alone)
   * runs the next job, everything of the previous one gone from it (see README).
   */
  freshThreadPerJob?: boolean;
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
  private readonly suspended: SuspendedJobs;
  private readonly sealKey: Buffer | undefined;
  private readonly freshThread: boolean;
  /** How to suspend each running suspendable job, by job id. */
  private readonly running = new Map<string, () => Promise<unknown>>();
  private draining = false;
  /** This worker's private directory: snapshots and resumed modules, removed on close. */
  private scratch: Promise<string> | undefined;
  private readonly moduleFiles = new Map<string, Promise<string>>();

  constructor(options: FleetWorkerOptions) {
    this.keys = fleetKeys(options.queue ?? DEFAULT_QUEUE);
    const concurrency = options.concurrency ?? os.availableParallelism();
    const lockMs = options.lockMs ?? 30_000;
    this.log = options.log ?? (() => {});
    this.ceiling = options.ceiling ?? DEFAULT_CEILING;
    this.redis = new Redis(options.connection as never);
    this.subscriber = new Redis(options.connection as never);
    this.modules = new ModuleCache(this.redis, this.keys);
    this.slots = new TenantSlots(this.redis, this.keys, options.tenantCap ?? 0, lockMs * 2);
    this.suspended = new SuspendedJobs(this.redis, this.keys);
    this.sealKey = options.sealKey !== undefined ? checkSealKey(options.sealKey) : sealKeyFromEnv();
    this.freshThread = options.freshThreadPerJob === true;
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
      await this.freeTake(jobId);
      await job.moveToDelayed(Date.now() + TENANT_RETRY_MS + Math.floor(Math.random() * TENANT_RETRY_MS), token);
      throw new DelayedError();
    }
    // The tenant's slot is a lease, renewed while the job runs (only when tenants are capped: no timer per job otherwise).
    const renew = this.slots.capped ? setInterval(() => { void this.slots.renew(spec.tenant, jobId).catch(() => {}); }, 1000) : undefined;
    try {
      const attempts = await this.runsStarted(job);
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
      if (spec.suspendable && this.sealKey !== undefined) return await this.runSuspendable(job, token, spec, module, abort, attempts);
      if (spec.suspendable && (await this.redis.exists(this.keys.continuation(jobId))) === 1) {
        // Started again from the beginning it would print its first part twice: refused, saying why.
        throw new UnrecoverableError(`job ${jobId} was suspended and can only be resumed by a worker with the fleet's seal key; this one has none (--seal-key or CAPSULE_SEAL_KEY)`);
      }
      const outcome = await executeJob(spec, module, abort, undefined, this.freshThread);
      this.log(`job ${jobId}: ${outcome.outcome.kind} ${outcome.exitCode} (attempt ${attempts})`);
      return { ...outcome, worker: this.id, attempts };
    } finally {
      if (renew) clearInterval(renew);
      if (this.slots.capped) await this.slots.release(spec.tenant, jobId).catch(() => {});
    }
  }

  /**
   * A suspendable job: started, or resumed from its snapshot, with a way to
   * suspend it kept while it runs. Suspended (the worker drains), its
   * snapshot and output so far are stored and it goes back to the queue.
   */
  private async runSuspendable(job: Job, token: string | undefined, spec: JobSpec, module: Buffer, abort: AbortSignal, attempts: number): Promise<JobResult> {
    const jobId = job.id!;
    let before: Continuation | undefined;
    let snapshotFile: string | undefined;
    try {
      before = await this.suspended.continuation(jobId);
      if (before !== undefined) {
        const bytes = await this.suspended.snapshot(before.snapshot);
        snapshotFile = await this.scratchFile(`resume-${jobId}.snap`, bytes);
      }
    } catch (err) {
      if (err instanceof CapsuleError) throw new UnrecoverableError(`job ${jobId}: ${err.message}`);
      throw err;
    }
    if (this.draining) {
      // Taken while this worker stops: back to the queue as it is, for another worker.
      this.log(`job ${jobId}: requeued before it ran (this worker is draining)`);
      await this.requeue(job, token, true);
    }
    await prepareOffThread(module, spec.module);
    const ownFile = await this.scratchFile(`suspend-${jobId}.snap`);
    const suspendable: Suspendable = {
      sealKey: this.sealKey!,
      onSuspend: (suspend) => {
        this.running.set(jobId, () => suspend(ownFile));
        if (this.draining) void this.suspendJob(jobId);
      },
      ...(snapshotFile !== undefined ? { resume: { file: snapshotFile, modulePath: await this.moduleFile(spec.module, module) } } : {}),
    };
    let outcome: RunOutcome;
    try {
      outcome = await executeJob(spec, module, abort, suspendable);
    } finally {
      this.running.delete(jobId);
      if (snapshotFile !== undefined) await fs.rm(snapshotFile, { force: true });
    }
    if (before !== undefined && outcome.outcome.kind === 'failed') {
      // Named as the fleet knows it, not by this worker's scratch file.
      const o = outcome.outcome;
      outcome = { ...outcome, outcome: { ...o, message: `cannot resume it: ${o.message.split(`'${snapshotFile}'`).join(`its snapshot ${before.snapshot.slice(0, 16)}...`)}` } };
    }
    const joined = before === undefined ? outcome : {
      ...outcome,
      stdout: appendKept(before.stdout, Buffer.from(outcome.stdout.base64, 'base64')),
      stderr: appendKept(before.stderr, Buffer.from(outcome.stderr.base64, 'base64')),
      audit: { records: [...before.audit.records, ...outcome.audit.records].slice(0, JOB_LIMITS.auditRecords),
        dropped: before.audit.dropped + outcome.audit.dropped + Math.max(0, before.audit.records.length + outcome.audit.records.length - JOB_LIMITS.auditRecords) },
    };
    const suspensions = before?.suspensions ?? [];
    if (outcome.outcome.kind !== 'suspended') {
      await fs.rm(ownFile, { force: true });
      await this.suspended.forget(jobId, before).catch((err: Error) => this.log(`job ${jobId}: ${err.message}`));
      this.log(`job ${jobId}: ${outcome.outcome.kind} ${outcome.exitCode} (attempt ${attempts}${before ? `, resumed after ${suspensions.length} suspension(s)` : ''})`);
      return { ...joined, worker: this.id, attempts, ...(suspensions.length > 0 ? { suspensions } : {}) };
    }
    const snapshot = await fs.readFile(ownFile);
    await fs.rm(ownFile, { force: true });
    if (snapshot.byteLength > JOB_LIMITS.snapshotBytes) {
      // Too large to move: it starts again from the beginning elsewhere, as after a crash (the attempt counts).
      this.log(`job ${jobId}: its snapshot of ${snapshot.byteLength} bytes is over the limit of ${JOB_LIMITS.snapshotBytes}: requeued to start again`);
      await this.suspended.forget(jobId, before);
      return this.requeue(job, token, false);
    }
    // The job's own output is bounded (its policy's output limit, kept head and tail), so the record is too.
    const sha = await this.suspended.store(jobId, snapshot, {
      stdout: joined.stdout, stderr: joined.stderr, audit: joined.audit,
      suspensions: [...suspensions, { worker: this.id, at: Date.now(), bytes: snapshot.byteLength }],
    }, before?.snapshot);
    this.log(`job ${jobId}: suspended (${snapshot.byteLength} bytes, snapshot ${sha.slice(0, 16)}), requeued`);
    return this.requeue(job, token, false);
  }

  /**
   * Runs of the job started, this one included: BullMQ counts every take
   * (a worker killed mid-job counts one), less the takes that were not runs.
   * A job taken for the first time costs no round trip.
   */
  private async runsStarted(job: Job): Promise<number> {
    const taken = job.attemptsStarted;
    if (taken <= 1) return 1;
    const free = Number(await this.redis.get(this.keys.freeTakes(job.id!))) || 0;
    return Math.max(1, taken - free);
  }

  /** Counts this take of the job as not a run. */
  private async freeTake(jobId: string): Promise<void> {
    const key = this.keys.freeTakes(jobId);
    await this.redis.pipeline().incr(key).expire(key, 7 * 24 * 3600).exec();
  }

  /** Puts a job back in the queue for another worker; `refund`: this take does not count as a run. */
  private async requeue(job: Job, token: string | undefined, refund: boolean): Promise<never> {
    if (refund) await this.freeTake(job.id!);
    await job.moveToWait(token);
    throw new WaitingError();
  }

  /** Suspends one running job (it is requeued by its own run); one that cannot be suspended now runs on. */
  private async suspendJob(jobId: string): Promise<void> {
    const suspend = this.running.get(jobId);
    if (suspend === undefined) return;
    this.running.delete(jobId);
    try {
      await suspend();
    } catch (err) {
      this.log(`job ${jobId}: cannot be suspended (${(err as Error).message}): it runs on here`);
    }
  }

  /** A file in this worker's private directory, written with `bytes` if given. */
  private async scratchFile(name: string, bytes?: Buffer): Promise<string> {
    this.scratch ??= fs.mkdtemp(path.join(os.tmpdir(), 'capsule-worker-'));
    const file = path.join(await this.scratch, name);
    if (bytes !== undefined) await fs.writeFile(file, bytes, { mode: 0o600 });
    return file;
  }

  /** The module of a job to resume, as a file (resume() reads its module from one), written once per hash and whole before use. */
  private moduleFile(sha: string, bytes: Buffer): Promise<string> {
    let file = this.moduleFiles.get(sha);
    if (file === undefined) {
      file = this.scratchFile(`${sha}.wasm`, bytes);
      this.moduleFiles.set(sha, file);
      file.catch(() => this.moduleFiles.delete(sha));
    }
    return file;
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

  /** Stops taking jobs; running ones finish, suspendable ones are suspended and requeued; then disconnects. */
  async close(): Promise<void> {
    this.draining = true;
    const closing = this.worker.close();
    await Promise.all([...this.running.keys()].map((id) => this.suspendJob(id)));
    await closing;
    this.sealKey?.fill(0);
    if (this.scratch) await fs.rm(await this.scratch, { recursive: true, force: true });
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => {});
  }
}
