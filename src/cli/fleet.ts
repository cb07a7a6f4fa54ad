// What `capsule worker`, `capsule submit` and `capsule serve` do (see
// fleet-commands.ts for their flags).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { escapeText } from '../audit/escape.js';
import { readPolicyFile, type PolicyDocument } from '../policy/document.js';
import { parseDuration } from '../core/units.js';
import { readCeiling } from '../fleet/ceiling.js';
import { Fleet } from '../fleet/client.js';
import { readInputDir } from '../fleet/job-files.js';
import { JOB_LIMITS, type JobResult, type JobSpecInput } from '../fleet/job.js';
import { checkQueueName } from '../fleet/keys.js';
import { redisConnection } from '../fleet/redis-url.js';
import { FleetWorker } from '../fleet/worker.js';
import { parseEnv, parseLimits, parseTmpfs } from './parse.js';
import { say } from './report.js';

function wholeNumber(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new CapsuleError(ExitCode.USAGE, `${flag} '${escapeText(value)}': expected a whole number from ${min} to ${max}`);
  return n;
}

function queueName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = checkQueueName(value);
  if (problem) throw new CapsuleError(ExitCode.USAGE, `--queue: ${escapeText(problem)}`);
  return value;
}

/** Resolves when one of the stop signals arrives; the second one exits at once. */
function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    let seen = 0;
    for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(name, () => {
        if (++seen > 1) process.exit(ExitCode.INTERRUPTED);
        resolve(name);
      });
    }
  });
}

interface WorkerFlags { redis: string; concurrency?: string; queue?: string; lock?: string; tenantCap?: string; maxPolicy?: string; sealKey?: string; freshThreadPerJob?: boolean }

/**
 * A worker's log: its lines written together once per turn of the event
 * loop (stderr is a synchronous write per call, two lines per job), and
 * flushed when the worker stops.
 */
function batchedLog(): { log: (line: string) => void; flush: () => void } {
  let lines: string[] = [];
  const flush = (): void => {
    if (lines.length === 0) return;
    process.stderr.write(lines.join(''));
    lines = [];
  };
  return {
    log: (line) => {
      if (lines.length === 0) setImmediate(flush);
      lines.push(`capsule: ${escapeText(line)}\n`);
    },
    flush,
  };
}

export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const connection = redisConnection(flags.redis);
  const lockMs = flags.lock === undefined ? undefined : parseDuration(flags.lock);
  if (lockMs !== undefined && !(lockMs >= 200 && lockMs <= 3_600_000)) {
    throw new CapsuleError(ExitCode.USAGE, `--lock '${escapeText(flags.lock!)}': expected a duration from 200ms to 1h`);
  }
  const ceiling = flags.maxPolicy === undefined ? undefined : await readCeiling(flags.maxPolicy);
  const logger = batchedLog();
  const sealKey = flags.sealKey === undefined ? undefined : (await import('../snapshot/key.js')).readSealKeyFile(flags.sealKey);
  const worker = new FleetWorker({
    connection,
    ...(flags.queue !== undefined ? { queue: queueName(flags.queue)! } : {}),
    concurrency: wholeNumber('--concurrency', flags.concurrency, 1, 1024) ?? os.availableParallelism(),
    ...(lockMs !== undefined ? { lockMs } : {}),
    tenantCap: wholeNumber('--tenant-cap', flags.tenantCap, 0, 1_000_000) ?? 0,
    ...(ceiling ? { ceiling } : {}),
    ...(sealKey ? { sealKey } : {}),
    ...(flags.freshThreadPerJob ? { freshThreadPerJob: true } : {}),
    log: logger.log,
  });
  sealKey?.fill(0);
  const stop = stopRequested();
  await worker.ready();
  logger.log(`worker ${worker.id} ready`);
  logger.flush();
  const signal = await stop;
  logger.log(`${signal}: draining (no new jobs start; running ones finish, suspendable ones are suspended and requeued)`);
  logger.flush();
  await worker.close();
  logger.flush();
  return 0;
}

interface SubmitFlags {
  redis: string; wait?: boolean; queue?: string; tenant?: string; priority?: string; attempts?: string; idempotencyKey?: string;
  input?: string; output?: string; policy?: string; env: string[]; tmpfs: string[]; allowConnect: string[]; allowDns?: boolean;
  memory?: string; timeout?: string; maxOutput?: string; suspendable?: boolean;
}

/** The policy document of a submission: the file (host paths made absolute) plus the flags. */
async function policyOf(flags: SubmitFlags): Promise<PolicyDocument | undefined> {
  const file = flags.policy === undefined ? undefined : await readPolicyFile(flags.policy);
  const limits = parseLimits({ memoryBytes: flags.memory, timeoutMs: flags.timeout, outputBytes: flags.maxOutput });
  const extra = flags.env.length + flags.tmpfs.length + flags.allowConnect.length + Object.keys(limits).length > 0 || flags.allowDns;
  if (!file && !extra) return undefined;
  const doc: PolicyDocument = structuredClone(file?.doc ?? {});
  doc.mounts = (doc.mounts ?? []).map((m) => ('host' in m ? { ...m, host: path.resolve(file!.base, m.host) } : m));
  for (const [guest, bytes] of flags.tmpfs.map(parseTmpfs)) doc.mounts.push({ tmpfs: bytes, guest });
  doc.env = { ...doc.env, ...parseEnv(flags.env, process.env) };
  doc.network = { ...doc.network, allowConnect: [...(doc.network?.allowConnect ?? []), ...flags.allowConnect], ...(flags.allowDns ? { allowDns: true } : {}) };
  const fields = { memoryBytes: 'memory', timeoutMs: 'timeout', outputBytes: 'maxOutput' } as const;
  doc.limits = { ...doc.limits, ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [fields[k as keyof typeof fields], v])) };
  return doc;
}

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    bytes += (chunk as Buffer).byteLength;
    if (bytes > JOB_LIMITS.stdinBytes) throw new CapsuleError(ExitCode.USAGE, `stdin: more than the ${JOB_LIMITS.stdinBytes} bytes a job may carry`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function inputOf(spec: string): Promise<JobSpecInput['input']> {
  const m = /^(.+)::(\/[^:]*)(?::(ro|tmpfs))?$/.exec(spec);
  if (!m) throw new CapsuleError(ExitCode.USAGE, `--input '${escapeText(spec)}': expected DIR::GUEST[:ro|:tmpfs]`);
  try {
    return { mount: m[2]!, mode: (m[3] ?? 'ro') as 'ro' | 'tmpfs', files: await readInputDir(m[1]!) };
  } catch (err) {
    throw new CapsuleError(ExitCode.NO_INPUT, `--input '${escapeText(spec)}': ${escapeText((err as Error).message)}`);
  }
}

/** Writes a result's output files below `dir` (paths were checked by the worker's walk: relative, no `..`). */
function writeOutputFiles(result: JobResult, dir: string): void {
  for (const f of result.files) {
    const target = path.resolve(dir, f.path);
    if (!target.startsWith(path.resolve(dir) + path.sep)) continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, Buffer.from(f.base64, 'base64'));
  }
}

export async function submitCommand(module: string, args: string[], flags: SubmitFlags): Promise<number> {
  const connection = redisConnection(flags.redis);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(module);
  } catch (err) {
    throw new CapsuleError(ExitCode.NO_INPUT, `cannot read module '${escapeText(module)}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const policy = await policyOf(flags);
  const input = flags.input === undefined ? undefined : await inputOf(flags.input);
  // A suspendable job takes no stdin (it could not travel): none is read.
  const stdin = flags.suspendable ? Buffer.alloc(0) : await readStdin();
  const fleet = new Fleet({ connection, ...(flags.queue !== undefined ? { queue: queueName(flags.queue)! } : {}) });
  try {
    const { id, duplicate } = await fleet.submit({
      module: bytes, args, stdin: stdin.toString('base64'), argv0: path.basename(module),
      ...(policy ? { policy } : {}),
      ...(input ? { input } : {}),
      ...(flags.output !== undefined ? { output: { mount: flags.output } } : {}),
      ...(flags.tenant !== undefined ? { tenant: flags.tenant } : {}),
      ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
      ...(flags.priority !== undefined ? { priority: wholeNumber('--priority', flags.priority, 1, 1_000_000)! } : {}),
      ...(flags.attempts !== undefined ? { attempts: wholeNumber('--attempts', flags.attempts, 1, JOB_LIMITS.attempts)! } : {}),
      ...(flags.suspendable ? { suspendable: true } : {}),
    });
    if (duplicate) say(`job ${id} was submitted before with this idempotency key`);
    if (!flags.wait) {
      process.stdout.write(`${id}\n`);
      return 0;
    }
    const result = await fleet.result(id);
    process.stdout.write(Buffer.from(result.stdout.base64, 'base64'));
    process.stderr.write(Buffer.from(result.stderr.base64, 'base64'));
    if (result.outcome.kind !== 'exit') say(`job ${id}: ${result.outcome.kind === 'signal' ? result.outcome.signal : 'message' in result.outcome ? result.outcome.message : result.outcome.kind}`);
    if (result.stdout.cut + result.stderr.cut > 0) say(`job ${id}: ${result.stdout.cut + result.stderr.cut} bytes of output cut from the middle`);
    if (flags.output !== undefined) writeOutputFiles(result, path.resolve('capsule-output'));
    return result.exitCode;
  } finally {
    await fleet.close();
  }
}

interface ServeFlags { redis: string; http: string; tokens: string; host?: string; queue?: string; maxPolicy?: string }

export async function serveCommand(flags: ServeFlags): Promise<number> {
  const connection = redisConnection(flags.redis);
  const port = wholeNumber('--http', flags.http, 0, 65535)!;
  const { readTokens } = await import('../fleet/tokens.js');
  const tokens = await readTokens(flags.tokens);
  const ceiling = flags.maxPolicy === undefined ? undefined : await readCeiling(flags.maxPolicy);
  const { startServer } = await import('../fleet/server.js');
  const stop = stopRequested();
  const server = await startServer({
    connection, port, host: flags.host ?? '127.0.0.1', tokens,
    ...(flags.queue !== undefined ? { queue: queueName(flags.queue)! } : {}),
    ...(ceiling ? { ceiling } : {}),
  });
  say(`serving on http://${server.address}`);
  await stop;
  await server.close();
  return 0;
}
