// The Fleet client of the TypeScript API: stores modules, submits jobs
// (checked first, so a bad one is refused here with the field named), reads
// their status and result, cancels them, and emits events as jobs progress.

import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue, QueueEvents, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { parsePolicyDocument, type ParsedPolicy } from '../policy/document.js';
import { clampToCeiling, exceedsCeiling } from './ceiling.js';
import { keepHeadAndTail } from './execute.js';
import { parseJobSpec, type JobResult, type JobSpecInput } from './job.js';
import { DEFAULT_QUEUE, fleetKeys, type FleetKeys } from './keys.js';
import { hasModule, putModule } from './module-store.js';

export interface FleetOptions {
  connection: ConnectionOptions;
  queue?: string;
  /** Refuse jobs asking for more than this policy (the server's --max-policy). */
  ceiling?: ParsedPolicy;
}

/** A job to submit: `module` is the bytes, or the SHA-256 of a module already stored. */
export type SubmitInput = Omit<JobSpecInput, 'module'> & { module: Uint8Array | string };

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'prioritized' | 'unknown';

export interface JobStatus {
  id: string;
  state: JobState;
  tenant: string;
  submittedAt: number;
  /** Set once the job ended. */
  result?: JobResult;
}

const FAILED_KEPT_S = 7 * 24 * 3600;
/** Finished jobs are kept a day: the window in which an idempotency key returns the first job. */
const COMPLETED_KEPT_S = 24 * 3600;

/**
 * How long a client trusts that a module it saw stored is still there (they
 * stay a week after their last upload): repeated jobs of one module skip
 * the check, a round trip each. One that expired meanwhile fails at the
 * worker with "not stored".
 */
const STORED_SEEN_MS = 60_000;

/** The result of a job that failed before or without a run (refused by a worker, no attempts left). */
function failedResult(job: Job): JobResult {
  const empty = keepHeadAndTail(undefined);
  return {
    exitCode: ExitCode.INTERNAL, exitCodeFrom: 'capsule',
    outcome: { kind: 'failed', cause: 'internal', message: job.failedReason || 'the job failed' },
    cancelled: false, stdout: empty, stderr: empty, files: [], filesCut: false, audit: { records: [], dropped: 0 }, usage: null,
    worker: '', attempts: job.attemptsStarted,
  };
}

export class Fleet extends EventEmitter {
  readonly keys: FleetKeys;
  private readonly queue: Queue;
  private readonly redis: Redis;
  private events: QueueEvents | undefined;
  private readonly connection: ConnectionOptions;
  private readonly ceiling: ParsedPolicy | undefined;
  /** Modules seen stored, by SHA-256, and when. */
  private readonly stored = new Map<string, number>();

  constructor(options: FleetOptions) {
    super();
    this.connection = options.connection;
    this.keys = fleetKeys(options.queue ?? DEFAULT_QUEUE);
    this.ceiling = options.ceiling;
    this.queue = new Queue(this.keys.bullQueue, { connection: options.connection, prefix: this.keys.bullPrefix });
    this.queue.on('error', (err) => this.fail(err));
    this.redis = new Redis(options.connection as never);
    // Events are read only once someone listens (a QueueEvents holds a connection of its own).
    this.on('newListener', (event: string) => {
      if (['active', 'completed', 'failed', 'progress'].includes(event)) void this.queueEvents();
    });
  }

  /** The BullMQ queue, for tools made for it (the dashboard). */
  get bullQueue(): Queue {
    return this.queue;
  }

  private eventsReady: Promise<QueueEvents> | undefined;
  private queueEvents(): Promise<QueueEvents> {
    this.eventsReady ??= this.openEvents();
    return this.eventsReady;
  }

  private async openEvents(): Promise<QueueEvents> {
    // From now on, by stream id: an event between this call and the first read is not missed.
    const events = new QueueEvents(this.keys.bullQueue, { connection: this.connection, prefix: this.keys.bullPrefix, lastEventId: `${Date.now()}-0` });
    events.on('error', (err) => this.fail(err));
    events.on('active', ({ jobId }) => this.emit('active', jobId));
    events.on('progress', ({ jobId, data }) => this.emit('progress', jobId, data));
    events.on('completed', ({ jobId }) => this.emit('completed', jobId));
    events.on('failed', ({ jobId, failedReason }) => this.emit('failed', jobId, failedReason));
    this.events = events;
    await events.waitUntilReady();
    return events;
  }

  /** Connection trouble (Redis restarting) is retried underneath; it is an 'error' event only for those who listen. */
  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** Resolves once events are being received: an event of a job submitted after this is not missed. */
  async watch(): Promise<void> {
    await this.queueEvents();
  }

  /** Resolves when job `id` starts running on a worker (call watch() before submitting it). */
  started(id: string): Promise<void> {
    return new Promise((resolve) => {
      const on = (jobId: string): void => { if (jobId === id) { this.off('active', on); resolve(); } };
      this.on('active', on);
    });
  }

  /** Stores a module (once) and returns its SHA-256. */
  async putModule(bytes: Uint8Array): Promise<string> {
    const sha = await putModule(this.redis, this.keys, bytes);
    this.sawStored(sha);
    return sha;
  }

  private sawStored(sha: string): void {
    if (this.stored.size >= 1000) this.stored.clear();
    this.stored.set(sha, Date.now());
  }

  /** Whether the module is stored: asked of Redis unless seen stored a moment ago. */
  private async isStored(sha: string): Promise<boolean> {
    const seen = this.stored.get(sha);
    if (seen !== undefined && Date.now() - seen < STORED_SEEN_MS) return true;
    if (!(await hasModule(this.redis, this.keys, sha))) return false;
    this.sawStored(sha);
    return true;
  }

  /**
   * Checks and queues a job. The same idempotency key (per tenant) returns
   * the first job, `duplicate` set. Throws CapsuleError naming the field.
   */
  async submit(input: SubmitInput): Promise<{ id: string; duplicate: boolean }> {
    const module = typeof input.module === 'string' ? input.module : await this.putModule(input.module);
    const checked = parseJobSpec({ ...input, module });
    if (!checked.ok) throw new CapsuleError(ExitCode.USAGE, checked.problem);
    const spec = checked.value;
    if (this.ceiling) spec.policy = await clampToCeiling(spec.policy, this.ceiling);
    if (spec.policy !== undefined) {
      const parsed = await parsePolicyDocument(spec.policy, 'policy');
      const over = this.ceiling ? exceedsCeiling(parsed, this.ceiling) : undefined;
      if (over !== undefined) throw new CapsuleError(ExitCode.CONFIG, `refused by the ceiling policy: ${over}`);
    }
    if (!(await this.isStored(spec.module))) {
      throw new CapsuleError(ExitCode.NO_INPUT, `module: ${spec.module} is not stored (upload it first)`);
    }
    const jobId = spec.idempotencyKey === undefined ? randomUUID()
      : `k-${createHash('sha256').update(`${spec.tenant}\0${spec.idempotencyKey}`).digest('hex').slice(0, 40)}`;
    if (spec.idempotencyKey !== undefined && (await this.queue.getJob(jobId))) return { id: jobId, duplicate: true };
    const added = await this.queue.add('job', spec, {
      jobId,
      attempts: spec.attempts,
      backoff: { type: 'exponential', delay: 500 },
      ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
      removeOnComplete: { age: COMPLETED_KEPT_S },
      removeOnFail: { age: FAILED_KEPT_S },
    });
    // Two submissions racing with one key: BullMQ adds one job; the later one finds its own data is not the job's.
    if (spec.idempotencyKey !== undefined) {
      const stored = await this.queue.getJob(jobId);
      if (stored && stored.timestamp !== added.timestamp) return { id: jobId, duplicate: true };
    }
    return { id: jobId, duplicate: false };
  }

  /** The job's state, and its result once it ended; undefined if there is no such job. */
  async status(id: string): Promise<JobStatus | undefined> {
    // The state first: a job read after it is seen ended carries its result (read the other way
    // round, a job ending in between would look ended without one).
    const state = (await this.queue.getJobState(id)) as JobState;
    const job = await this.queue.getJob(id);
    if (!job) return undefined;
    const status: JobStatus = { id, state, tenant: String((job.data as { tenant?: unknown })?.tenant ?? 'default'), submittedAt: job.timestamp };
    if (state === 'completed') status.result = job.returnvalue as JobResult;
    else if (state === 'failed') status.result = failedResult(job);
    return status;
  }

  /** Waits for the job to end (up to `timeoutMs`, default forever) and returns its result. */
  async result(id: string, timeoutMs?: number): Promise<JobResult> {
    const events = await this.queueEvents();
    const job = await this.queue.getJob(id);
    if (!job) throw new CapsuleError(ExitCode.NO_INPUT, `job ${id}: no such job`);
    try {
      return (await job.waitUntilFinished(events, timeoutMs)) as JobResult;
    } catch (err) {
      const now = await this.status(id);
      if (now?.result) return now.result;
      throw new CapsuleError(ExitCode.UNAVAILABLE, `job ${id}: ${(err as Error).message}`);
    }
  }

  /**
   * Cancels a job: one not yet started is removed, a running one is stopped
   * (its result says cancelled). Returns the state it was in.
   */
  async cancel(id: string): Promise<JobState | undefined> {
    const job = await this.queue.getJob(id);
    if (!job) return undefined;
    const state = (await job.getState()) as JobState;
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      try {
        await job.remove();
        return state;
      } catch {
        // Taken by a worker meanwhile: stop it there.
      }
    }
    if (state !== 'completed' && state !== 'failed') await this.redis.publish(this.keys.cancelChannel, id);
    return state;
  }

  /** Workers connected to the queue (name, address, when seen). */
  async workers(): Promise<{ name: string; addr: string }[]> {
    return (await this.queue.getWorkers()).map((w) => ({ name: w.name ?? '', addr: w.addr ?? '' }));
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
    await this.redis.quit().catch(() => {});
  }
}
