// A fleet job as it crosses the wire (HTTP, the client, the queue): its
// schema, its limits, and its result. Every payload is checked here, by the
// server at submission and again by the worker before it runs one (whoever
// can write to Redis can write a job too), with one message naming the field.

import { z } from 'zod';
import { check } from '../policy/fields.js';
import { envSchema } from '../policy/schema.js';
import type { AuditRecord } from '../audit/record.js';
import type { Outcome, Usage } from '../enclave/protocol.js';

/** Bounds of one job; each refusal names the field and the bound. */
export const JOB_LIMITS = {
  moduleBytes: 32 * 1024 * 1024,
  args: 1024,
  argBytes: 64 * 1024,
  stdinBytes: 1024 * 1024,
  inputFiles: 1000,
  inputBytes: 4 * 1024 * 1024,
  inputPathBytes: 1024,
  /** Output files collected from the job's output mount, in all. */
  outputFileBytes: 4 * 1024 * 1024,
  outputFiles: 1000,
  /**
   * What a job may add to each of its writable mounts (its output, an input
   * tree of mode "tmpfs") on the worker's disk while it runs: bytes of file
   * growth, as much as the result can carry of its output; and files,
   * directories and symlinks created, the output files with a directory
   * each. Past either the guest's call fails with EDQUOT.
   */
  mountBytes: 4 * 1024 * 1024,
  mountEntries: 2000,
  /** Each of stdout and stderr kept in the result: head and tail, half each. */
  streamBytes: 256 * 1024,
  /** Audit records kept in the result (the first ones; the rest are counted). */
  auditRecords: 1000,
  attempts: 10,
  /** A suspended job's sealed snapshot, stored in Redis until another worker resumes it. */
  snapshotBytes: 64 * 1024 * 1024,
  /** A JSON body to POST /v1/jobs: the stdin and the input tree in base64 plus the rest. */
  requestBytes: 8 * 1024 * 1024,
} as const;

/** When a job's policy names no timeout: jobs, unlike servers, must end. */
export const DEFAULT_JOB_TIMEOUT_MS = 60_000;
/** When a job's policy names no output limit: what the result can carry. */
export const DEFAULT_JOB_OUTPUT_BYTES = 1024 * 1024;

const base64 = (max: number, what: string) => z.string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64')
  .refine((s) => Math.floor((s.length * 3) / 4) <= max + 2, `${what} is larger than ${max} bytes`);

/** A path inside the input tree: relative, '/'-separated, no '.', '..' or empty parts, no NUL or backslash. */
export const treePath = z.string().min(1).max(JOB_LIMITS.inputPathBytes)
  .refine((p) => !p.startsWith('/') && p.split('/').every((part) => part !== '' && part !== '.' && part !== '..'),
    "expected a relative path without '.', '..' or empty parts")
  .refine((p) => !/[\0\\]/.test(p), 'a path may not hold NUL or a backslash');

const absoluteGuestPath = z.string().min(2).max(256)
  .refine((p) => p.startsWith('/') && p.split('/').slice(1).every((s) => s !== '' && s !== '.' && s !== '..') && !p.includes('\0'),
    "expected an absolute guest path such as /input, without '.', '..' or empty parts");

const tenantName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -');

export const jobSpecSchema = z.object({
  /** SHA-256 (hex) of a module already stored (see module-store.ts). */
  module: z.string().regex(/^[0-9a-f]{64}$/, 'expected the SHA-256 of a stored module (64 lower-case hex digits)'),
  args: z.array(z.string().max(JOB_LIMITS.argBytes)).max(JOB_LIMITS.args).default([]),
  argv0: z.string().max(256).optional(),
  /** The guest's environment, added to the policy's (checked as --env values are). */
  env: envSchema.optional(),
  /** The guest's stdin, base64. */
  stdin: base64(JOB_LIMITS.stdinBytes, 'stdin').default(''),
  /** A small tree of files (data in base64), mounted read-only or as a private writable copy ("tmpfs"). */
  input: z.object({
    mount: absoluteGuestPath,
    mode: z.enum(['ro', 'tmpfs']).default('ro'),
    files: z.array(z.object({ path: treePath, data: base64(JOB_LIMITS.inputBytes, 'a file') }).strict())
      .max(JOB_LIMITS.inputFiles)
      .refine((f) => f.reduce((n, e) => n + Math.floor((e.data.length * 3) / 4), 0) <= JOB_LIMITS.inputBytes + 2 * f.length,
        `the files are larger than ${JOB_LIMITS.inputBytes} bytes in all`)
      .superRefine((f, ctx) => {
        // One name, one file: no path twice, none both a file and a directory.
        const files = new Set(f.map((e) => e.path));
        const seen = new Set<string>();
        f.forEach((e, i) => {
          const parent = e.path.split('/').slice(0, -1).map((_, k, parts) => parts.slice(0, k + 1).join('/')).find((d) => files.has(d));
          if (seen.has(e.path)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: 'this path appears twice' });
          else if (parent !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `'${parent}' is a file, not a directory` });
          seen.add(e.path);
        });
      }),
  }).strict().optional(),
  /** A writable mount whose files come back in the result. */
  output: z.object({ mount: absoluteGuestPath }).strict().optional(),
  /** A policy document, exactly as --policy takes it (checked with the same schema). */
  policy: z.unknown().optional(),
  /** 1 runs first; none is after every prioritised job. */
  priority: z.number().int().min(1).max(1_000_000).optional(),
  tenant: tenantName.default('default'),
  idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,200}$/, 'expected 1-200 printable ASCII characters').optional(),
  attempts: z.number().int().min(1).max(JOB_LIMITS.attempts).default(3),
  /**
   * A worker told to stop (SIGTERM) suspends the job into a sealed snapshot
   * and requeues it, and another worker resumes it where it stopped. Its
   * state must travel whole: no stdin, input tree or output mount (they stay
   * behind on the first worker).
   */
  suspendable: z.boolean().default(false),
}).strict()
  .refine((j) => !j.suspendable || j.stdin === '', { message: 'a suspendable job takes no stdin (what it had not read would be lost on another worker)', path: ['suspendable'] })
  .refine((j) => !j.suspendable || (j.input === undefined && j.output === undefined),
    { message: 'a suspendable job has no input tree or output mount (its files would stay behind on the first worker)', path: ['suspendable'] })
  .refine((j) => j.input === undefined || j.output === undefined || j.input.mount !== j.output.mount,
    { message: 'input and output may not share a mount', path: ['output', 'mount'] });

export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type JobSpec = z.output<typeof jobSpecSchema>;

/** The job checked, or its first problem as "field: what was expected". */
export function parseJobSpec(raw: unknown): { ok: true; value: JobSpec } | { ok: false; problem: string } {
  const r = check(jobSpecSchema, raw);
  return r.ok ? r : { ok: false, problem: `${r.field || 'job'}: ${r.message}` };
}

/** One output stream as kept: base64 of head and tail, and how much of the middle was cut. */
export interface KeptStream {
  base64: string;
  bytes: number;
  cut: number;
}

export interface JobResult {
  /** What `capsule run` would have exited with. */
  exitCode: number;
  exitCodeFrom: 'guest' | 'capsule';
  /** Why it ended: exit, signal, trap, limit (which one), killed, failed. */
  outcome: Outcome;
  cancelled: boolean;
  stdout: KeptStream;
  stderr: KeptStream;
  /** Files left in the output mount, path relative to it. */
  files: { path: string; base64: string; bytes: number }[];
  filesCut: boolean;
  audit: { records: AuditRecord[]; dropped: number };
  usage: (Usage & { wallMs: number }) | null;
  /** host:pid of the worker that ran it. */
  worker: string;
  /** Runs started, this one included (a worker that died mid-job counts; a suspended part does not). */
  attempts: number;
  /** A suspendable job moved between workers: each suspension, in order (the output above is all parts' joined). */
  suspensions?: Suspension[];
}

/** One part of a job's run that ended suspended on a draining worker. */
export interface Suspension {
  /** host:pid of the worker it was suspended on. */
  worker: string;
  /** When (ms since the epoch). */
  at: number;
  /** Size of the sealed snapshot. */
  bytes: number;
}
