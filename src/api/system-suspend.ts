// Suspending and resuming a whole system (`capsule suspend --all`, `capsule
// resume` of its file). Every guest is stopped first, at its next call or at
// once if it sleeps in one, so that nothing moves on the network; if one
// cannot be sealed (it holds a file), every guest goes on and nothing is
// written. Then each guest seals its own part into the one file, on its own
// thread (its memory never crosses to the host), and the host seals the
// system's description and its network last:
//
//   header (format.ts, "system": true; guests in part order)
//   per guest: its state record and memory (payload.ts), ending at a chunk boundary
//   record: { system, sealed, network } (SealedSystemRecord)
//   final chunk
//
// A resume authenticates every chunk of the file before any guest runs,
// then puts the network back and lets each guest read its own part.

import path from 'node:path';
import type { Writable } from 'node:stream';
import type { AuditLog } from '../audit/log.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { SealedNetwork } from '../layer/net/sealed.js';
import { preparationId } from '../module/suspendable.js';
import { canonicalJson, sha256Hex } from '../snapshot/format.js';
import { checkSealKey, sealKeyFromEnv } from '../snapshot/key.js';
import { MAX_RECORD_BYTES, PayloadStream, writeRecord, type SealedGuestState } from '../snapshot/payload.js';
import { SnapshotWriter } from '../snapshot/seal.js';
import { SnapshotReader } from '../snapshot/unseal.js';
import { System, type SystemGuest, type SystemOptions, type SystemResult } from './system.js';
import type { RunResult } from './run.js';

/** What rebuilds the system on resume: its description as loaded (modules by absolute path). */
export interface SealedSystemSpec {
  guests: SystemGuest[];
  network?: SystemOptions['network'];
  limits?: Record<string, number | string>;
  onFailure?: 'stop' | 'continue';
  readyTimeoutMs?: number;
  trapUnknownImports?: boolean;
  writeCache?: boolean;
}

export interface SealedSystemRecord {
  system: SealedSystemSpec;
  /** The guests sealed, in part order (a guest that had ended is not among them). */
  sealed: string[];
  network: SealedNetwork;
}

/** Longest the whole system is held stopped waiting for its last guest to reach a system call. */
const STOP_MS = 30_000;

const unavailable = (message: string): CapsuleError => new CapsuleError(ExitCode.UNAVAILABLE, message);
const mismatch = (message: string): CapsuleError => new CapsuleError(ExitCode.SNAPSHOT_MISMATCH, message);

/** The sealed description of `o` (limits that are not numbers or text, such as no limit at all, are left at their default). */
function specOf(o: SystemOptions): SealedSystemSpec {
  const limits = Object.fromEntries(Object.entries(o.limits ?? {}).filter(([, v]) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))));
  return {
    guests: o.guests.map((g) => ({ ...g, module: path.resolve(o.base ?? process.cwd(), g.module as string) })),
    ...(o.network ? { network: o.network } : {}), limits,
    ...(o.onFailure ? { onFailure: o.onFailure } : {}),
    ...(o.readyTimeoutMs !== undefined ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
    ...(o.trapUnknownImports !== undefined ? { trapUnknownImports: o.trapUnknownImports } : {}),
    ...(o.writeCache !== undefined ? { writeCache: o.writeCache } : {}),
  };
}

/** Seals `system` into `file` (see the top of this file); every sealed guest's run then ends "suspended". */
export async function suspendSystem(system: System, file: string): Promise<{ file: string; bytes: number }> {
  const o = system.options;
  if (o.suspendable !== true || o.sealKey === undefined) throw unavailable('this system was not started suspendable (--suspendable and a seal key)');
  const target = path.resolve(file);
  const lifecycles = system.lifecycles();
  const live: string[] = [];
  for (const name of system.names.map((n) => n.toLowerCase())) {
    const l = lifecycles.get(name);
    const state = l?.state;
    if (state === 'exited' || state === 'killed' || state === 'suspended') continue;
    if (l?.systemSuspender === undefined) throw unavailable(`cannot suspend the system: guest ${name} has not started yet`);
    live.push(name);
  }
  if (live.length === 0) throw unavailable('cannot suspend the system: every guest has ended');
  // Every guest stops first; one that cannot be sealed lets all go on, and nothing is written.
  // A guest that makes no system call for STOP_MS cannot be stopped: the others go on, and it is told to.
  let timer: NodeJS.Timeout | undefined;
  const late: { error: string; ended?: true } = { error: `it did not stop within ${STOP_MS / 1000} s (it makes no system call)` };
  const deadline = new Promise<typeof late>((resolve) => { timer = setTimeout(() => resolve(late), STOP_MS); });
  const stops = await Promise.all(live.map(async (name) => ({ name, answer: await Promise.race([lifecycles.get(name)!.systemSuspender!.stop(), deadline]) })));
  clearTimeout(timer);
  for (const s of stops) if (s.answer === late) lifecycles.get(s.name)!.systemSuspender?.goOn();
  const refused = stops.find((s) => 'error' in s.answer && s.answer.ended !== true);
  const stopped = stops.filter((s) => !('error' in s.answer)).map((s) => s.name);
  if (refused || stopped.length === 0) {
    for (const name of stopped) lifecycles.get(name)!.systemSuspender?.goOn();
    throw unavailable(refused ? `cannot suspend the system: guest ${refused.name}: ${(refused.answer as { error: string }).error}` : 'cannot suspend the system: every guest has ended');
  }
  // A guest that ended on its own meanwhile is left out, as one that had ended before.
  live.splice(0, live.length, ...stopped);
  // Every guest is stopped, so the network between them is still: its record is taken now (written last),
  // and must be one a resume reads.
  const record: SealedSystemRecord = { system: specOf(o), sealed: live, network: system.layer.net.seal() };
  const recordBytes = Buffer.byteLength(JSON.stringify(record));
  if (recordBytes > MAX_RECORD_BYTES) {
    for (const name of live) lifecycles.get(name)!.systemSuspender?.goOn();
    throw unavailable(`cannot suspend the system: its network record (the bytes in its queues) is ${(recordBytes / 1048576).toFixed(1)} MiB, over the ${MAX_RECORD_BYTES / 1048576} MiB a snapshot carries`);
  }
  const spec = record.system;
  const failed = (err: unknown): CapsuleError => (err instanceof CapsuleError ? err
    : unavailable(`cannot seal the system into '${target}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
  let writer: SnapshotWriter;
  try {
    writer = SnapshotWriter.create(target, o.sealKey, {
      guests: live.map((name) => ({ name, moduleSha256: system.moduleSha256(name)! })), policySha256: sha256Hex(canonicalJson(spec)), system: true,
    });
  } catch (err) {
    // Nothing sealed yet: the system goes on as if never asked.
    for (const name of live) lifecycles.get(name)!.systemSuspender?.goOn();
    throw failed(err);
  }
  let sealed = 0;
  try {
    for (const name of live) {
      const answer = await lifecycles.get(name)!.systemSuspender!.seal(await writer.handoff());
      if ('error' in answer || !Number.isSafeInteger(answer.index)) throw unavailable(`cannot seal guest ${name}: ${'error' in answer ? answer.error : 'it ended first'}`);
      writer.takeBack(answer);
      sealed++;
    }
    await writeRecord(writer, record);
    await writer.finish();
  } catch (err) {
    await writer.abort();
    // Guests already sealed have ended: the system cannot go on whole, so every guest stops.
    if (sealed > 0) system.stopAll('its system could not be sealed');
    else for (const name of live) lifecycles.get(name)!.systemSuspender?.goOn();
    throw failed(err);
  }
  return { file: target, bytes: writer.written };
}

export interface SystemResumeOptions {
  /** The key it was sealed with (default: CAPSULE_SEAL_KEY). */
  sealKey?: Uint8Array;
  cacheDir?: string;
  stdout?: Writable;
  stderr?: Writable;
  audit?: AuditLog;
  traceSockets?: (line: string) => void;
  onExit?: (name: string, result: RunResult) => void;
}

/**
 * Reads and authenticates the whole of a system's snapshot (every chunk,
 * memory included; none of it kept), and loads the system it describes, ready
 * to run() on from where it was sealed. Refused with one CapsuleError line,
 * before any guest code runs, if the file is not authentic (79) or does not
 * fit (80: another module, another Capsule).
 */
export async function loadSystemSnapshot(file: string, options: SystemResumeOptions = {}): Promise<System> {
  const key = options.sealKey !== undefined ? checkSealKey(options.sealKey) : sealKeyFromEnv();
  if (key === undefined) throw new CapsuleError(ExitCode.USAGE, 'resuming needs the seal key: --seal-key FILE, CAPSULE_SEAL_KEY or the sealKey option');
  const reader = await SnapshotReader.open(file, key);
  const guests = new Map<string, { state: SealedGuestState; part: { offset: number; index: number } }>();
  let record: SealedSystemRecord;
  try {
    const header = reader.header;
    if (header.system !== true) throw mismatch(`'${file}' holds one guest, not a system: capsule resume continues it as a guest`);
    const stream = new PayloadStream(reader);
    for (const g of header.guests) {
      const part = reader.position;
      const state = await stream.state();
      if (state.name !== g.name) throw mismatch(`'${file}' is not a snapshot Capsule can resume: its parts are out of order`);
      if (state.module.preparation !== preparationId()) {
        throw mismatch(`'${file}' was prepared by ${state.module.preparation}; this Capsule prepares modules with ${preparationId()}`);
      }
      await stream.skipMemory(state.memoryPages);
      guests.set(g.name, { state, part });
    }
    record = await stream.record<SealedSystemRecord>();
    await stream.end();
    if (sha256Hex(canonicalJson(record.system)) !== header.policySha256) throw mismatch(`'${file}' is not a snapshot Capsule can resume: its description does not match its header`);
  } catch (err) {
    key.fill(0);
    throw err;
  } finally {
    await reader.close();
  }
  let system: System;
  try {
    const spec = record.system;
    system = await System.load({
      ...spec, limits: spec.limits ?? {}, suspendable: true, sealKey: key,
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      ...(options.stdout ? { stdout: options.stdout } : {}), ...(options.stderr ? { stderr: options.stderr } : {}),
      ...(options.audit ? { audit: options.audit } : {}), ...(options.traceSockets ? { traceSockets: options.traceSockets } : {}),
      ...(options.onExit ? { onExit: options.onExit } : {}),
    });
  } finally {
    key.fill(0);
  }
  for (const g of reader.header.guests) {
    const sha = system.moduleSha256(g.name);
    if (sha !== g.moduleSha256) {
      system.close();
      const module = record.system.guests.find((x) => x.name.toLowerCase() === g.name)?.module;
      throw mismatch(`'${String(module)}' is not the module guest ${g.name} was sealed with (SHA-256 ${g.moduleSha256.slice(0, 16)}...)`);
    }
  }
  system.resumeInfo = { file: path.resolve(file), guests, network: record.network };
  return system;
}

/** Continues a sealed system to its end (or its next suspension). */
export async function resumeSystem(file: string, options: SystemResumeOptions & { signal?: AbortSignal } = {}): Promise<SystemResult> {
  const system = await loadSystemSnapshot(file, options);
  return system.run(options.signal ? { signal: options.signal } : {});
}
