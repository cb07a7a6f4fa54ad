// One job run once: its files laid out in a private directory, its module
// run through run() under its policy with output captured, and the result
// the fleet stores (output kept head and tail, audit records bounded).

import path from 'node:path';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { policyFor, run, runGuest, type DirMount, type RunOptions, type RunResult } from '../api/run.js';
import { CompiledModules } from './compiled-modules.js';
import type { AuditRecord } from '../audit/record.js';
import type { FailureCause } from '../enclave/protocol.js';
import { parsePolicyDocument, type PolicyDocument } from '../policy/document.js';
import { jobLimits } from './ceiling.js';
import { jobDirectory, readOutputTree, writeInputTree } from './job-files.js';
import { JOB_LIMITS, type JobResult, type JobSpec, type KeptStream } from './job.js';

/** `bytes` kept whole up to `max`, else its first and last max/2 bytes. */
export function keepHeadAndTail(bytes: Buffer | undefined, max = JOB_LIMITS.streamBytes): KeptStream {
  const b = bytes ?? Buffer.alloc(0);
  if (b.byteLength <= max) return { base64: b.toString('base64'), bytes: b.byteLength, cut: 0 };
  const half = Math.floor(max / 2);
  const kept = Buffer.concat([b.subarray(0, half), b.subarray(b.byteLength - half)]);
  return { base64: kept.toString('base64'), bytes: b.byteLength, cut: b.byteLength - kept.byteLength };
}

/** What a job may write to a mount on the worker's disk: bounded while it runs, not only when its output is read back. */
const MOUNT_QUOTA = { bytes: JOB_LIMITS.mountBytes, entries: JOB_LIMITS.mountEntries } as const;

const causeOf = (code: number): FailureCause =>
  code === ExitCode.BAD_MODULE ? 'link' : code === ExitCode.NO_INPUT ? 'mount' : code === ExitCode.MEMORY_LIMIT ? 'memory'
    : code === ExitCode.SNAPSHOT_REFUSED || code === ExitCode.SNAPSHOT_MISMATCH ? 'snapshot' : 'internal';

export type RunOutcome = Omit<JobResult, 'worker' | 'attempts'>;

/** Seals the running guest into a file; rejects (and the guest runs on) if it cannot be now. */
export type Suspend = (file: string) => Promise<{ file: string; bytes: number }>;

/** How a suspendable job runs: prepared for suspension, or continued from a snapshot. */
export interface Suspendable {
  sealKey: Uint8Array;
  /** Receives the means to suspend the guest once it is starting. */
  onSuspend: (suspend: Suspend) => void;
  /** Continue the guest sealed in `file` (its module's bytes at `modulePath`) instead of starting it. */
  resume?: { file: string; modulePath: string };
}

const compiled = new CompiledModules();

/** A plain run of a module compiled before (see compiled-modules.ts); one that does not compile runs as run() would, to be refused in its words. */
async function runCompiled(module: Uint8Array, sha: string, options: RunOptions): Promise<RunResult> {
  const policy = await policyFor(options, options.name!);
  const loaded = await compiled.get(sha, module, policy.limits.memoryBytes).catch(() => undefined);
  return loaded ? runGuest(module, options, { policy, loaded }) : run(module, options);
}

/** The run itself: plain, suspendable, or resumed from a snapshot (the suspension code loaded only then). */
async function runJob(module: Uint8Array, sha: string, options: RunOptions, s: Suspendable | undefined): Promise<RunResult> {
  if (s === undefined) return runCompiled(module, sha, options);
  const api = await import('../api/suspend.js');
  const sealed = { ...options, suspendable: true, sealKey: s.sealKey };
  if (s.resume === undefined) {
    const handle = api.start(module, sealed);
    s.onSuspend((file) => handle.suspend(file));
    return handle.result;
  }
  const name = options.name!;
  let ended = false;
  const result = api.resume(s.resume.file, {
    ...sealed, module: s.resume.modulePath,
    withLayer: (layer) => {
      s.onSuspend(async (file) => {
        // A guest still being put back is waited for, as start()'s handle waits for one starting.
        while (!ended && layer.guests.get(name)?.suspender === undefined) await new Promise((r) => setTimeout(r, 10));
        return api.suspendGuest(layer.guests.get(name), file);
      });
      return Promise.resolve(() => {});
    },
  });
  void result.then(() => { ended = true; }, () => { ended = true; });
  return result;
}

/**
 * Runs `spec` with `module`. A job Capsule refuses (bad policy, module,
 * mount, snapshot) gives a result with outcome "failed"; only a fault of the host throws.
 */
export async function executeJob(spec: JobSpec, module: Uint8Array, signal: AbortSignal, suspendable?: Suspendable, freshThread = false): Promise<RunOutcome> {
  const records: AuditRecord[] = [];
  let dropped = 0;
  const onAudit = (r: AuditRecord): void => {
    if (records.length < JOB_LIMITS.auditRecords) records.push(r);
    else dropped++;
  };
  // A private directory only for a job with files: a plain job touches no disk.
  const work = spec.input || spec.output ? await jobDirectory() : undefined;
  try {
    const dirs: DirMount[] = [];
    if (spec.input) {
      const root = path.join(work!.dir, 'input');
      await writeInputTree(root, spec.input.files);
      dirs.push(spec.input.mode === 'ro' ? { host: root, guest: spec.input.mount, readOnly: true }
        : { host: root, guest: spec.input.mount, readOnly: false, quota: MOUNT_QUOTA });
    }
    const outputRoot = work ? path.join(work.dir, 'output') : '';
    if (spec.output) {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(outputRoot, { mode: 0o700 });
      dirs.push({ host: outputRoot, guest: spec.output.mount, readOnly: false, quota: MOUNT_QUOTA });
    }
    const asked = spec.policy === undefined ? undefined : await parsePolicyDocument(spec.policy, 'policy');
    const limits = jobLimits(asked?.limits ?? {});
    const result = await runJob(module, spec.module, {
      args: spec.args,
      ...(spec.argv0 !== undefined ? { argv0: spec.argv0 } : { argv0: 'job.wasm' }),
      name: 'job',
      ...(spec.policy !== undefined ? { policy: spec.policy as PolicyDocument, policyBase: '/' } : {}),
      dirs,
      ...(spec.env ? { env: spec.env } : {}),
      limits,
      stdin: Buffer.from(spec.stdin, 'base64'),
      stdout: 'capture',
      stderr: 'capture',
      signal,
      onAudit,
      ...(freshThread ? { freshThread } : {}),
    }, suspendable);
    const files = spec.output ? await readOutputTree(outputRoot) : { files: [], filesCut: false };
    return {
      exitCode: result.exitCode,
      exitCodeFrom: result.exitCodeFrom,
      outcome: result.outcome,
      cancelled: signal.aborted,
      stdout: keepHeadAndTail(result.stdout),
      stderr: keepHeadAndTail(result.stderr),
      ...files,
      audit: { records, dropped },
      usage: result.usage,
    };
  } catch (err) {
    if (!(err instanceof CapsuleError)) throw err;
    const empty = keepHeadAndTail(undefined);
    return {
      exitCode: err.exitCode, exitCodeFrom: 'capsule', outcome: { kind: 'failed', cause: causeOf(err.exitCode), message: err.message },
      cancelled: signal.aborted, stdout: empty, stderr: empty, files: [], filesCut: false, audit: { records, dropped }, usage: null,
    };
  } finally {
    await work?.dispose();
  }
}
