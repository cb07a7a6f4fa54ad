// A suspended job between two workers: its sealed snapshot stored in Redis
// by SHA-256 (size-limited, checked against that hash when read back) and a
// continuation record naming it, with the output of the parts run so far.
// The seal key is the workers' own and is never stored here: whoever can
// write to Redis can swap a snapshot for another, but cannot forge one that
// unseals, and the record is checked again when read (it is not trusted).

import { z } from 'zod';
import type { Redis } from 'ioredis';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { AuditRecord } from '../audit/record.js';
import { check } from '../policy/fields.js';
import { keepHeadAndTail } from './execute.js';
import { JOB_LIMITS, type KeptStream, type Suspension } from './job.js';
import type { FleetKeys } from './keys.js';
import { sha256Hex } from './module-store.js';

/** How long a suspended job waits to be resumed before its snapshot is dropped. */
const SUSPENDED_TTL_S = 7 * 24 * 3600;

export interface Continuation {
  /** SHA-256 of the sealed snapshot to resume. */
  snapshot: string;
  stdout: KeptStream;
  stderr: KeptStream;
  audit: { records: AuditRecord[]; dropped: number };
  suspensions: Suspension[];
}

const kept = z.object({ base64: z.string().max(JOB_LIMITS.streamBytes * 2), bytes: z.number().int().min(0), cut: z.number().int().min(0) }).strict();
const continuationSchema = z.object({
  snapshot: z.string().regex(/^[0-9a-f]{64}$/),
  stdout: kept,
  stderr: kept,
  audit: z.object({ records: z.array(z.record(z.string(), z.unknown())).max(JOB_LIMITS.auditRecords), dropped: z.number().int().min(0) }).strict(),
  suspensions: z.array(z.object({ worker: z.string().max(300), at: z.number(), bytes: z.number().int().min(0) }).strict()).max(10_000),
}).strict();

/** The failure of a job whose continuation cannot be used: one line, the job ends with it. */
const refused = (message: string): CapsuleError => new CapsuleError(ExitCode.SNAPSHOT_REFUSED, message);

/** A stream kept head and tail, with `more` bytes appended: the parts' output read as one. */
export function appendKept(before: KeptStream, more: Buffer | undefined): KeptStream {
  const next = more ?? Buffer.alloc(0);
  const head = Buffer.from(before.base64, 'base64');
  if (before.cut === 0) {
    const whole = keepHeadAndTail(Buffer.concat([head, next]));
    return whole;
  }
  // Already cut: its head stays; the tail is the last half of what was kept plus the new bytes.
  const half = Math.floor(JOB_LIMITS.streamBytes / 2);
  const tail = Buffer.concat([head.subarray(half), next]);
  const keptBytes = Buffer.concat([head.subarray(0, half), tail.subarray(Math.max(0, tail.byteLength - half))]);
  const bytes = before.bytes + next.byteLength;
  return { base64: keptBytes.toString('base64'), bytes, cut: bytes - keptBytes.byteLength };
}

export class SuspendedJobs {
  constructor(private readonly redis: Redis, private readonly keys: FleetKeys) {}

  /** The job's continuation, if it was suspended; a record that is not one is refused. */
  async continuation(jobId: string): Promise<Continuation | undefined> {
    const text = await this.redis.get(this.keys.continuation(jobId));
    if (text === null) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw refused(`job ${jobId}: its continuation record is not JSON (tampered with): cannot resume it`);
    }
    const r = check(continuationSchema, raw);
    if (!r.ok) throw refused(`job ${jobId}: its continuation record is malformed (${r.field || 'record'}: ${r.message}): cannot resume it`);
    return r.value as unknown as Continuation;
  }

  /** The snapshot's bytes, checked against its hash. */
  async snapshot(sha: string): Promise<Buffer> {
    const bytes = await this.redis.getBuffer(this.keys.snapshot(sha));
    if (bytes === null) throw refused(`its snapshot ${sha.slice(0, 16)}... is not stored (expired or removed): cannot resume it`);
    if (bytes.byteLength > JOB_LIMITS.snapshotBytes || sha256Hex(bytes) !== sha) {
      throw refused(`its snapshot ${sha.slice(0, 16)}... does not have this hash (tampered with): cannot resume it`);
    }
    return bytes;
  }

  /**
   * Stores the snapshot and the record in one transaction, and counts the
   * take of the suspended part as free (a move is not a failed attempt).
   * Replaces the job's previous snapshot, if any.
   */
  async store(jobId: string, snapshot: Buffer, record: Omit<Continuation, 'snapshot'>, previous: string | undefined): Promise<string> {
    const sha = sha256Hex(snapshot);
    const tx = this.redis.multi()
      .set(this.keys.snapshot(sha), snapshot, 'EX', SUSPENDED_TTL_S)
      .set(this.keys.continuation(jobId), JSON.stringify({ snapshot: sha, ...record }), 'EX', SUSPENDED_TTL_S)
      .incr(this.keys.freeTakes(jobId))
      .expire(this.keys.freeTakes(jobId), SUSPENDED_TTL_S);
    if (previous !== undefined && previous !== sha) tx.del(this.keys.snapshot(previous));
    const replies = await tx.exec();
    const failed = replies?.find(([err]) => err !== null);
    if (replies === null || failed) throw new Error(`storing the snapshot of job ${jobId}: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    return sha;
  }

  /** Drops what a finished (or restarted) job left. */
  async forget(jobId: string, c: Continuation | undefined): Promise<void> {
    if (c === undefined) return;
    await this.redis.multi().del(this.keys.continuation(jobId)).del(this.keys.snapshot(c.snapshot)).exec();
  }
}
