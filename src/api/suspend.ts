// Suspend and resume through the API: start() runs a guest and gives a
// handle to suspend it with; resume() continues a sealed snapshot as a new,
// independent enclave (the same snapshot can be resumed any number of times).

import fs from 'node:fs';
import path from 'node:path';
import type { AuditRecord } from '../audit/record.js';
import { loadModule, type ModuleSource } from '../module/load.js';
import { preparationId } from '../module/suspendable.js';
import type { Lifecycle, GuestState } from '../lifecycle/state.js';
import { checkSealKey, sealKeyFromEnv } from '../snapshot/key.js';
import { PayloadStream, type SealedGuestState } from '../snapshot/payload.js';
import { sealedPolicy, widening, type SealedPolicy } from '../snapshot/policy-check.js';
import { SnapshotReader } from '../snapshot/unseal.js';
import { UnsealThread } from '../enclave/unseal-thread.js';
import { preloadSnapshotCode } from '../enclave/pool.js';
import type { SnapshotHeader } from '../snapshot/format.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { policyRefusal } from '../snapshot/file-grants.js';
import { layerFor, policyFor, runGuest, type RunOptions, type RunResult } from './run.js';
import type { Policy } from '../policy/policy.js';
import type { Layer } from './layer.js';

export interface GuestHandle {
  /** How the run ends (with outcome "suspended" after a suspension). */
  readonly result: Promise<RunResult>;
  /** The guest's lifecycle state now. */
  state(): GuestState | undefined;
  /**
   * Seals the guest into `file` (at its next call, or at once if it sleeps in one) and
   * ends the run; resolves with the snapshot's size. A guest that cannot be sealed now
   * (it holds a file or socket open) goes on, and this rejects with a CapsuleError.
   */
  suspend(file: string): Promise<{ file: string; bytes: number }>;
}

/** run(), with a handle to the running guest. Suspension needs `suspendable: true` and a seal key. */
export function start(source: ModuleSource, options: RunOptions = {}): GuestHandle {
  let lifecycle: Lifecycle | undefined;
  let ended = false;
  const result = runGuest(source, options, undefined, { onLifecycle: (l) => { lifecycle = l; } });
  void result.then(() => { ended = true; }, () => { ended = true; });
  return {
    result,
    state: () => lifecycle?.state,
    async suspend(file) {
      // A guest still being prepared or started is waited for.
      while (!ended && lifecycle?.suspender === undefined && (lifecycle?.state ?? 'starting') === 'starting') {
        await new Promise((r) => setTimeout(r, 10));
      }
      return suspendGuest(lifecycle, file);
    },
  };
}

/** Asks a guest's run to seal it into `file`; one CapsuleError line if it cannot. */
export async function suspendGuest(lifecycle: Lifecycle | undefined, file: string): Promise<{ file: string; bytes: number }> {
  const target = path.resolve(file);
  if (lifecycle?.suspender === undefined) {
    throw new CapsuleError(ExitCode.UNAVAILABLE, `${lifecycle ? `guest ${lifecycle.name}` : 'the guest'} is not running`);
  }
  const answer = await lifecycle.suspender(target);
  if ('error' in answer) throw new CapsuleError(ExitCode.UNAVAILABLE, `cannot suspend ${lifecycle.name}: ${answer.error}`);
  return { file: target, bytes: answer.bytes };
}

export interface ResumeOptions extends RunOptions {
  /** The module to continue (default: the path it was loaded from when sealed); its SHA-256 must be the sealed one. */
  module?: string;
  /** Let the resume's policy grant more than the sealed one (audited). */
  allowPolicyChange?: boolean;
  /** Called with the layer the guest will run on, once it is made and before the guest runs; returns what undoes it. */
  withLayer?: (layer: Layer) => Promise<() => void>;
}

const mismatch = (message: string): CapsuleError => new CapsuleError(ExitCode.SNAPSHOT_MISMATCH, message);

/** Whether the options carry a policy of their own (else the sealed one applies). */
function givesPolicy(o: RunOptions): boolean {
  const n = o.network;
  return o.policy !== undefined || (o.dirs?.length ?? 0) > 0 || Object.keys(o.tmpfs ?? {}).length > 0
    || (n?.allowConnect?.length ?? 0) + (n?.denyConnect?.length ?? 0) + (n?.publish?.length ?? 0) > 0 || n?.allowDns === true
    || Object.values(o.limits ?? {}).some((v) => v !== undefined) || o.timeoutMs !== undefined;
}

/** Run options that give back the sealed policy. */
function sealedOptions(p: SealedPolicy): RunOptions {
  const limits = Object.fromEntries(Object.entries(p.limits).filter(([, v]) => v !== null)) as RunOptions['limits'];
  return {
    dirs: p.mounts.filter((m) => m.host !== undefined).map((m) => ({ host: m.host!, guest: m.guest, readOnly: m.readOnly, ...(m.quota !== undefined ? { quota: m.quota } : {}) })),
    tmpfs: Object.fromEntries(p.mounts.filter((m) => m.host === undefined).map((m) => [m.guest, m.tmpfsBytes ?? 0])),
    network: { allowConnect: p.allowConnect, denyConnect: p.denyConnect, allowDns: p.allowDns, publish: p.publish },
    ...(limits ? { limits } : {}),
  };
}

/** The resume's mounts in the order the guest knew them (its descriptors 3, 4, ...); one line naming a mount not granted. */
function mountsInSealedOrder(policy: Policy, state: SealedGuestState): Policy {
  const mounts = state.mounts.map((m) => {
    const now = policy.mounts.find((p) => p.guest === m.guest);
    if (now === undefined) throw mismatch(`cannot resume ${state.name}: it had ${m.guest} open (fd ${m.fd}), which the resume's policy does not grant`);
    return now;
  });
  return { ...policy, mounts: [...mounts, ...policy.mounts.filter((p) => !mounts.includes(p))] };
}

/** Reads and checks the header and state of `file` (every byte of memory is checked again, before the guest runs, as it is put back). */
async function readSnapshot(file: string, key: Uint8Array): Promise<{ header: SnapshotHeader; state: SealedGuestState }> {
  const reader = await SnapshotReader.open(file, key);
  const stream = new PayloadStream(reader);
  try {
    if (reader.header.system === true) throw mismatch(`'${file}' holds a whole system: resumeSystem() continues it`);
    if (reader.header.guests.length !== 1) throw mismatch(`'${file}' holds ${reader.header.guests.length} guests; resume() continues one`);
    return { header: reader.header, state: await stream.state() };
  } finally {
    stream.wipe();
    await reader.close();
  }
}

/**
 * Snapshots smaller than this are read by the enclave itself: starting a
 * thread costs about what decrypting this much does (tens of ms), and a
 * small snapshot's resume would wait for it.
 */
const UNSEAL_THREAD_BYTES = 64 << 20;

/** Whether `file` is large enough for a thread of its own to unseal it (a file that cannot be read is refused later). */
function worthAThread(file: string): boolean {
  try {
    return fs.statSync(file).size >= UNSEAL_THREAD_BYTES;
  } catch {
    return false;
  }
}

/**
 * Continues the guest sealed in `file` as a new enclave, under the options'
 * policy (or, if they give none, the sealed one). Refused with one
 * CapsuleError line, before any guest code runs, if the snapshot is not
 * authentic (79) or does not fit (80: another module, another Capsule, a wider policy).
 */
export async function resume(file: string, options: ResumeOptions = {}): Promise<RunResult> {
  const key = options.sealKey !== undefined ? checkSealKey(options.sealKey) : sealKeyFromEnv();
  if (key === undefined) throw new CapsuleError(ExitCode.USAGE, 'resuming needs the seal key: --seal-key FILE, CAPSULE_SEAL_KEY or the sealKey option');
  // Booted now, so that its start overlaps the checks below and the enclave's own (it unseals the memory).
  const unsealing = worthAThread(file) ? new UnsealThread() : undefined;
  preloadSnapshotCode();
  try {
    const { header, state } = await readSnapshot(file, key);
    const sealed = state.policy as SealedPolicy;
    const modulePath = options.module ?? state.module.path;
    if (modulePath === undefined) throw new CapsuleError(ExitCode.USAGE, `'${file}' does not say where its module is: name it (--module)`);
    if (state.module.preparation !== preparationId()) {
      throw mismatch(`'${file}' was prepared by ${state.module.preparation}; this Capsule prepares modules with ${preparationId()}`);
    }
    const name = state.name;
    let policy = await policyFor(givesPolicy(options) ? options : { ...sealedOptions(sealed), ...(options.env ? { env: options.env } : {}) }, name);
    const wider = widening(sealed, sealedPolicy(policy));
    if (wider !== undefined && options.allowPolicyChange !== true) {
      throw mismatch(`cannot resume ${name} under a wider policy than it was sealed with: ${wider} (--allow-policy-change allows it, audited)`);
    }
    // A file it had open whose mount is gone, or now read-only while it was open for writing, is named before a mount.
    const files = policyRefusal(name, state.files, policy.mounts.map((m) => ({ guest: m.guest, readOnly: m.readOnly })));
    if (files) throw files;
    policy = mountsInSealedOrder(policy, state);
    if (state.memoryPages * 65536 > policy.limits.memoryBytes) {
      throw mismatch(`cannot resume ${name}: it has ${state.memoryPages * 64} KiB of memory, over the resume's limit of ${policy.limits.memoryBytes / 1024} KiB`);
    }
    if (!fs.existsSync(modulePath)) throw new CapsuleError(ExitCode.NO_INPUT, `cannot read module '${modulePath}' to resume ${name}: no such file`);
    const loaded = await loadModule(modulePath, options.trapUnknownImports ?? false, policy.limits.memoryBytes, undefined, { ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}) });
    if (loaded.sha256 !== header.guests[0]!.moduleSha256) {
      throw mismatch(`'${modulePath}' is not the module ${name} was sealed with (SHA-256 ${header.guests[0]!.moduleSha256.slice(0, 16)}...)`);
    }
    if (state.network !== undefined && (options.layer !== undefined || (options.mode ?? 'secure') !== 'secure')) {
      throw mismatch(`cannot resume ${name} ${options.layer !== undefined ? 'on a shared layer' : 'in normal mode'}: it was sealed with its sockets, which come back only on a secure layer of its own`);
    }
    const layer = options.layer ?? layerFor(policy, options.mode ?? 'secure', options.traceSockets);
    let undo = (): void => {};
    try {
      if (options.layer === undefined) await layer.start();
      // Sealed with its sockets: its network is back before it runs (listeners listen, published ports too).
      if (state.network !== undefined) {
        layer.addGuest(name);
        await layer.net.restore(state.network);
      }
      if (options.withLayer) undo = await options.withLayer(layer);
      const record: Omit<AuditRecord, 'v' | 'time'> = wider !== undefined
        ? { enclave: name, op: 'resume', target: file, decision: 'allow', reason: `policy wider than the sealed one: ${wider} (--allow-policy-change)` }
        : { enclave: name, op: 'resume', target: file, decision: 'allow', reason: `sealed ${header.sealedAt}` };
      const sink = (r: AuditRecord): void => { if (r.enclave === name) options.onAudit?.(r); };
      layer.audit.addSink(sink);
      layer.audit.record(record);
      layer.audit.removeSink(sink);
      const resolved = path.resolve(file);
      const chunks = unsealing?.begin(resolved, key, header.salt);
      return await runGuest(modulePath, { ...options, name, layer, suspendable: true, sealKey: key },
        { policy, loaded }, { resume: { file: resolved, state, ...(chunks ? { chunks } : {}) } });
    } finally {
      undo();
      if (options.layer === undefined) layer.close();
    }
  } finally {
    unsealing?.stop();
    key.fill(0);
  }
}
