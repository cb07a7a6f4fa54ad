// run(): the TypeScript API. Runs one WASI command module in an enclave under
// a policy and returns how it ended, its exit code, captured output, usage
// and what the audit log recorded.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { AuditRecord } from '../audit/record.js';
import { launch, type EnclaveHandle } from '../enclave/launch.js';
import { keepSpares } from '../enclave/pool.js';
import { AUDIT_FD, type EnclaveLimits, type ExecutionMode, type MountSpec, type Outcome, type Usage } from '../enclave/protocol.js';
import { loadModule, type LoadedModule, type ModuleSource } from '../module/load.js';
import { buildPolicy, parsePolicyDocument, type PolicyDocument } from '../policy/document.js';
import type { DirMount, Limits, MountGrant, Policy } from '../policy/policy.js';
import { CapsuleError } from '../core/errors.js';
import { capsuleVersion } from './version.js';
import { parseWasmArg, type FunctionType, type NumType, type WasmValue } from '../module/invoke.js';
import { limitNumbers, optionsAreValid, tmpfsBytes } from './option-values.js';
import { ExitCode } from '../core/exit-codes.js';
import { Layer } from './layer.js';
import { OutputLimiter } from './output-limit.js';
import { Lifecycle, type LifecycleEvent } from '../lifecycle/state.js';
import type { SealedGuestState } from '../snapshot/payload.js';
import type { UnsealedChunks } from '../enclave/unseal-thread.js';

export type { ExecutionMode, Outcome, Usage, ModuleSource, PolicyDocument, Limits };

/** Limits as the API takes them: each a number (bytes, ms, a count) or text such as "64MiB" or "10s". */
export type LimitValues = { [K in keyof Limits]?: number | string };

export type { DirMount };

/** Where a guest output stream goes. */
export type OutputTarget = Writable | 'inherit' | 'capture' | 'ignore';

export interface NetworkOptions {
  /** `HOST:PORT` grants: HOST a name, IP or CIDR; PORT a number, range or `*`. */
  allowConnect?: string[];
  /** `HOST:PORT` refusals; they beat any grant. */
  denyConnect?: string[];
  /** Resolve any host name. */
  allowDns?: boolean;
  /** `[HOST_ADDRESS:]HOST_PORT:GUEST_PORT`: a guest port reachable from the host. */
  publish?: string[];
}

export interface RunOptions {
  /** Guest arguments after argv[0]. */
  args?: string[];
  /** argv[0] as the guest sees it; defaults to the module's file name. */
  argv0?: string;
  /** "secure" (default): an isolated enclave under policy. "normal": calls go to the host directly. */
  mode?: ExecutionMode;
  /** A policy document (the JSON of --policy); relative host paths resolve against `policyBase`. */
  policy?: PolicyDocument;
  policyBase?: string;
  /** Added to the policy: the guest's environment (nothing is inherited). */
  env?: Record<string, string>;
  /** Added to the policy: host directories to mount. */
  dirs?: DirMount[];
  /** Added to the policy: in-memory mounts, guest path to size (bytes, or text such as "64MiB"). */
  tmpfs?: Record<string, number | string>;
  /** Added to the policy: network grants (secure mode). */
  network?: NetworkOptions;
  /** Override policy limits: numbers (bytes, ms, counts) or text as policy files write them ("64MiB", "10s"). */
  limits?: LimitValues;
  /** Shorthand for limits.timeoutMs. */
  timeoutMs?: number | string;
  /** Guest stdin: a stream, bytes or text, or "inherit" for this process's stdin. Default: empty. */
  stdin?: Readable | string | Uint8Array | 'inherit';
  /** Default "inherit". */
  stdout?: OutputTarget;
  /** Default "inherit". */
  stderr?: OutputTarget;
  /** Let imports Capsule does not provide trap when called instead of refusing the module. */
  trapUnknownImports?: boolean;
  /** false: write every small file write through at once (no coalescing; see README, "Small file writes"). */
  writeCache?: boolean;
  /** Stops the guest when aborted. */
  signal?: AbortSignal;
  /** The guest's name on the network (default: the module's file name without .wasm). */
  name?: string;
  /** Receives every audit record of this run. */
  onAudit?: (record: AuditRecord) => void;
  /** Receives one line per socket status change. */
  traceSockets?: (line: string) => void;
  /** Receives a copy of the guest's output as it is delivered (fd 1 or 2; the bytes are lent for the call only). */
  onOutput?: (fd: 1 | 2, bytes: Uint8Array) => void;
  /** Run on this layer (shared with other guests) instead of a new one. */
  layer?: Layer;
  /**
   * Call this exported function instead of `_start` (wasmtime's --invoke),
   * with these arguments: numbers (bigints for i64) or text, read per the
   * function's parameter types (i32, i64, f32, f64). `_initialize` runs first
   * if exported. The result's `results` holds what it returned.
   */
  invoke?: { name: string; args?: (string | number | bigint)[] };
  /** Receives every lifecycle transition of the guest (starting, running, ..., exited or killed). */
  onState?: (event: LifecycleEvent) => void;
  /** Prepare the module so that the guest can be suspended into a sealed snapshot (needs a seal key). */
  suspendable?: boolean;
  /** The 32-byte key snapshots are sealed with (default: CAPSULE_SEAL_KEY). */
  sealKey?: Uint8Array;
  /** Where prepared modules are cached (default: the user's cache directory, see README). */
  cacheDir?: string;
  /**
   * true: run on an enclave thread of its own, started for this guest and
   * gone with it. Default: a thread whose previous guest ended cleanly may be
   * reused (everything of that guest is gone from it; see README, "Enclave threads reused").
   */
  freshThread?: boolean;
}

/** What resume() found in a snapshot and checked, for the run that continues it (not part of the public API). */
export interface ResumeInfo {
  file: string;
  state: SealedGuestState;
  /** A guest of a system: where its part of the file starts. */
  part?: { offset: number; index: number };
  /** Where an unsealing thread sends the snapshot's chunks (enclave/unseal-thread.ts), when one reads it. */
  chunks?: UnsealedChunks;
}

/** What start() and resume() hand runGuest besides the options (not part of the public API). */
export interface RunInternals {
  resume?: ResumeInfo;
  onLifecycle?: (l: Lifecycle) => void;
  /** The process exits after this run: do not wait for the enclave thread's teardown (see launch()). */
  exitNext?: boolean;
}

export interface RunResult {
  /** What the process exit code should be (see ExitCode and the guest's own status). */
  exitCode: number;
  /**
   * Who chose `exitCode`: the guest (its own exit status or signal) or Capsule
   * (a trap, a limit, a stop, a failure). A guest may exit with a code Capsule
   * also uses, such as 70; this says which it was.
   */
  exitCodeFrom: 'guest' | 'capsule';
  /** Why the guest stopped. */
  outcome: Outcome;
  /** Present when the stream was "capture". */
  stdout?: Buffer;
  stderr?: Buffer;
  /**
   * What the run used. `cpuMs` counts every thread of this process while the
   * guest ran — its own, the host's, V8's compiler and garbage collector —
   * so it can exceed `wallMs` (and guests run side by side share it);
   * `threadCpuMs` is the guest's own thread alone.
   */
  usage: Usage & { wallMs: number; cpuMs: number };
  /** SHA-256 (hex) of the module's bytes; absent when a precompiled WebAssembly.Module was given. */
  moduleSha256?: string;
  /** The version of Capsule that ran it. */
  capsuleVersion: string;
  /** With `invoke`: the values the function returned, typed (present when it returned). */
  results?: WasmValue[];
  /** Bytes of output cut by the output limit (0 if none). */
  outputCut: number;
  /** Audit records made during the run, by decision. */
  audit: { allow: number; deny: number; limit: number; first?: AuditRecord };
}

/** 128 + the host signal's number, as shells report a process a signal ended; Ctrl-C without a signal name is 130. */
function hostSignalCode(signal: string | undefined): number {
  const n = signal === undefined ? undefined : os.constants.signals[signal as keyof typeof os.constants.signals];
  return n === undefined ? ExitCode.INTERRUPTED : 128 + n;
}

export function exitCodeOf(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'exit': return outcome.code > 255 ? 255 : outcome.code;
    case 'signal': return outcome.code;
    case 'trap': return ExitCode.TRAP;
    case 'killed': return hostSignalCode(outcome.signal);
    case 'limit':
      return outcome.limit === 'time' ? ExitCode.TIMEOUT
        : outcome.limit === 'memory' ? ExitCode.MEMORY_LIMIT
        : outcome.limit === 'output' ? ExitCode.OUTPUT_LIMIT : ExitCode.INTERNAL;
    case 'failed':
      return outcome.cause === 'link' ? ExitCode.BAD_MODULE
        : outcome.cause === 'mount' ? ExitCode.NO_INPUT
        : outcome.cause === 'dependency' ? ExitCode.UNAVAILABLE
        : outcome.cause === 'memory' ? ExitCode.MEMORY_LIMIT
        : outcome.cause === 'snapshot' ? ExitCode.SNAPSHOT_REFUSED
        : outcome.cause === 'snapshot-mismatch' ? ExitCode.SNAPSHOT_MISMATCH : ExitCode.INTERNAL;
    case 'suspended': return ExitCode.SUSPENDED;
  }
}

/** The mounts of a policy, each host directory checked to exist (CapsuleError 66 if not). */
export function checkMounts(mounts: MountGrant[]): MountSpec[] {
  return mounts.map((m) => {
    if (m.host === undefined) return { guestPath: m.guest, readOnly: false, tmpfsBytes: m.tmpfsBytes ?? 0 };
    let stat: fs.Stats;
    try {
      stat = fs.statSync(m.host);
    } catch {
      throw new CapsuleError(ExitCode.NO_INPUT, `cannot mount '${m.host}': no such directory`);
    }
    if (!stat.isDirectory()) throw new CapsuleError(ExitCode.NO_INPUT, `cannot mount '${m.host}': not a directory`);
    return { hostPath: path.resolve(m.host), guestPath: m.guest, readOnly: m.readOnly, ...(m.quota !== undefined ? { quota: m.quota } : {}) };
  });
}

function inputOf(stdin: RunOptions['stdin']): Readable | undefined {
  if (stdin === undefined) return undefined;
  if (stdin === 'inherit') return process.stdin;
  if (typeof stdin === 'string' || stdin instanceof Uint8Array) return Readable.from([Buffer.from(stdin)]);
  return stdin;
}

function resolveTarget(t: OutputTarget | undefined, inherit: Writable): Writable | 'capture' | 'ignore' {
  return t === undefined || t === 'inherit' ? inherit : t;
}

/** The longest audit line kept from an enclave (its events are bounded to a few KiB). */
const MAX_AUDIT_LINE = 64 * 1024;

/** Enclave threads the API keeps booted in advance (see enclave/pool.ts); 0 turns this off. */
let spareThreads = 1;
export function setSpareEnclaves(count: number): void {
  spareThreads = count;
  keepSpares(count);
}

/** The guest's name when none is given: the module's file name, made a host name. */
export function defaultGuestName(source: ModuleSource): string {
  const base = typeof source === 'string' ? path.basename(source).replace(/\.wasm$/, '') : 'guest';
  return base.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '') || 'guest';
}

/** Whether `options` carry values to check (a plain run loads no schema). */
function hasCheckedOptions(o: RunOptions): boolean {
  return o.name !== undefined || (o.dirs?.length ?? 0) > 0 || Object.keys(o.tmpfs ?? {}).length > 0 || Object.keys(o.env ?? {}).length > 0
    || Object.values(o.limits ?? {}).some((v) => v !== undefined) || o.timeoutMs !== undefined;
}

/** The policy for one run: the document plus what the options add, every value checked (CapsuleError naming the option). */
export async function policyFor(options: RunOptions, name: string): Promise<Policy> {
  // Valid options never load zod; a problem is reported by the schema, in every channel's words.
  if (hasCheckedOptions(options) && !optionsAreValid(options)) (await import('./options.js')).checkRunOptions(options);
  for (const key of ['writeCache', 'freshThread'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new CapsuleError(ExitCode.USAGE, `${key}: expected true or false, got ${typeof options[key]}`);
    }
  }
  const doc = options.policy === undefined ? undefined : await parsePolicyDocument(options.policy, 'policy');
  const tmpfs = Object.entries(options.tmpfs ?? {}).map(([guest, size]) => ({ guest, readOnly: false, tmpfsBytes: tmpfsBytes(size) }));
  return buildPolicy(doc, options.policyBase ?? process.cwd(), {
    mounts: [...(options.dirs ?? []).map((d) => ({ host: d.host, guest: d.guest, readOnly: d.readOnly ?? false, ...(d.quota !== undefined ? { quota: { ...d.quota } } : {}) })), ...tmpfs],
    ...(options.env ? { env: options.env } : {}),
    ...(options.network?.allowConnect ? { allowConnect: options.network.allowConnect } : {}),
    ...(options.network?.denyConnect ? { denyConnect: options.network.denyConnect } : {}),
    ...(options.network?.allowDns ? { allowDns: true } : {}),
    ...(options.network?.publish ? { publish: options.network.publish } : {}),
    limits: limitNumbers({ ...options.limits, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) }),
    ...(options.writeCache === false ? { writeCache: false } : {}),
  }, name);
}

/**
 * The policy a guest runs under: on a layer given to run() (as `capsule run`
 * does), the layer's network governs it, not the options' (which run()
 * refuses beside a layer); a system's guests have theirs in their prepared policy.
 */
function governing(policy: Policy, layer: Layer | undefined, prepared: PreparedGuest | undefined): Policy {
  return layer && !prepared ? { ...policy, network: layer.net.policy } : policy;
}

/** A layer for one guest under `policy`. */
export function layerFor(policy: Policy, mode: ExecutionMode, traceSockets?: (line: string) => void): Layer {
  return new Layer({
    mode, networkPolicy: policy.network, queueBytes: policy.limits.queueBytes, maxSockets: policy.limits.maxSockets,
    writeCache: policy.writeCache,
    ...(traceSockets ? { traceSockets } : {}),
  });
}

export function run(source: ModuleSource, options: RunOptions = {}): Promise<RunResult> {
  return runGuest(source, options);
}

/**
 * What a System checked for one guest before any guest started: its policy,
 * and its module loaded (and capped to that policy's memory) once.
 */
export interface PreparedGuest {
  policy: Policy;
  loaded: LoadedModule;
}

/** run(), for a guest whose policy and module may already be prepared (not part of the public API). */
export async function runGuest(source: ModuleSource, options: RunOptions, prepared?: PreparedGuest, internals: RunInternals = {}): Promise<RunResult> {
  if (options.layer && !prepared) refuseLayerConflicts(options, options.layer);
  const resume = internals.resume;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  keepSpares(spareThreads);
  // Names are host names on the virtual network: case does not matter, so they are kept lower-case.
  const name = options.name?.toLowerCase() ?? defaultGuestName(source);
  const policy = prepared?.policy ?? await policyFor(options, name);
  // Loaded on use: a plain run needs none of the sealing code.
  const sealing = options.suspendable ? await import('./suspendable-run.js') : undefined;
  const sealKey = sealing?.suspendKey(options.sealKey);
  const ownLayer = options.layer === undefined;
  const layer = options.layer ?? layerFor(policy, options.mode ?? 'secure', options.traceSockets);
  const secure = layer.mode === 'secure';
  const audit = layer.audit;
  const counts = { ...audit.counts };
  let first: AuditRecord | undefined;
  const mine = (r: AuditRecord): void => {
    if (r.enclave !== name) return;
    if (r.decision === 'deny' && !first) first = r;
    options.onAudit?.(r);
  };
  audit.addSink(mine);
  const auditCounts = (): RunResult['audit'] => ({
    allow: audit.counts.allow - counts.allow, deny: audit.counts.deny - counts.deny, limit: audit.counts.limit - counts.limit,
    ...(first ? { first } : {}),
  });

  const label = typeof source === 'string' ? source : name;
  let loaded;
  try {
    loaded = prepared?.loaded ?? await loadModule(source, options.trapUnknownImports ?? false, secure ? policy.limits.memoryBytes : undefined,
      options.invoke?.name, options.suspendable ? { ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}) } : undefined);
  } catch (err) {
    if (err instanceof CapsuleError && err.exitCode === ExitCode.MEMORY_LIMIT) {
      audit.record({ enclave: name, op: 'start', target: label, decision: 'limit', reason: err.message });
    }
    if (ownLayer) layer.close();
    throw err;
  }
  let mounts: MountSpec[];
  try {
    mounts = checkMounts(policy.mounts);
  } catch (err) {
    if (ownLayer) layer.close();
    throw err;
  }
  let invoke: LaunchInvoke | undefined;
  try {
    invoke = options.invoke && loaded.invokeType ? invokeArgs(options.invoke.name, loaded.invokeType, options.invoke.args ?? []) : undefined;
  } catch (err) {
    if (ownLayer) layer.close();
    throw err;
  }
  const argv0 = options.argv0 ?? (typeof source === 'string' ? path.basename(source) : loaded.label);
  // A resumed guest has the arguments and environment it was sealed with (they are in its memory already).
  const args = resume?.state.args ?? [argv0, ...(options.args ?? [])];
  const env = resume?.state.env ?? Object.entries(policy.env).map(([k, v]) => `${k}=${v}`);
  const suspendable = sealing && sealKey !== undefined && loaded.sha256 !== undefined
    ? sealing.suspendableConfig({ sealKey, name, moduleSha256: loaded.sha256, policy: governing(policy, options.layer, prepared), source, ...(resume ? { resumeFrom: resume.file } : {}), ...(resume?.part ? { resumePart: resume.part } : {}), ...(resume?.chunks ? { resumeChunks: resume.chunks } : {}) })
    : undefined;
  const limits: EnclaveLimits = secure
    ? { maxFds: policy.limits.maxFds, memoryBytes: policy.limits.memoryBytes, callBytes: policy.limits.callBytes, maxThreads: policy.limits.maxThreads }
    : { maxFds: 65536, memoryBytes: Infinity, callBytes: Infinity, maxThreads: policy.limits.maxThreads };

  const targets = [resolveTarget(options.stdout, process.stdout), resolveTarget(options.stderr, process.stderr)];
  const captured: Buffer[][] = [[], []];
  let handle: EnclaveHandle | undefined;
  const cleanups: (() => void)[] = [() => { audit.removeSink(mine); }];
  targets.forEach((t, i) => {
    if (typeof t === 'string') return;
    // A reader that went away (EPIPE) ends that stream for the guest, as a closed pipe would.
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') handle?.closeOutput(i + 1);
    };
    t.on('error', onError);
    cleanups.push(() => t.off('error', onError));
  });

  const deliver = (fd: number, bytes: Uint8Array): void | Promise<void> => {
    if (fd === 1 || fd === 2) options.onOutput?.(fd, bytes);
    const t = targets[fd - 1];
    if (t === undefined || t === 'ignore') return;
    if (t === 'capture') {
      captured[fd - 1]!.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    if (t.destroyed || t.writableEnded) return;
    if (!t.write(bytes)) {
      return new Promise((resolve) => {
        const done = (): void => { t.off('drain', done); t.off('close', done); t.off('error', done); resolve(); };
        t.on('drain', done); t.on('close', done); t.on('error', done);
      });
    }
  };
  const outputLimit = secure ? policy.limits.outputBytes : 0;
  const limiter = new OutputLimiter(outputLimit, deliver, () => {
    const message = `output limit reached: more than twice the ${outputLimit} bytes allowed were written`;
    audit.record({ enclave: name, op: 'fd_write', target: 'output', decision: 'limit', reason: `${message} (--max-output)` });
    handle?.stop({ kind: 'limit', limit: 'output', message });
  });
  // Denials from inside the enclave: one JSON event per line, each already
  // bounded there; a line longer than any the enclave writes is dropped.
  const auditDecoder = new TextDecoder();
  let auditText = '';
  let overlong = false;
  const onOutput = (fd: number, bytes: Uint8Array): void | Promise<void> => {
    if (fd !== AUDIT_FD) return limiter.write(fd, bytes);
    const lines = (auditText + auditDecoder.decode(bytes, { stream: true })).split('\n');
    auditText = lines.pop()!;
    for (const line of lines) {
      if (overlong) { overlong = false; continue; }
      try {
        audit.record({ ...JSON.parse(line), enclave: name });
      } catch { /* a malformed line cannot come from the enclave's own code */ }
    }
    if (auditText.length > MAX_AUDIT_LINE) { auditText = ''; overlong = true; }
  };

  const isTTY = (t: Writable | string): boolean => typeof t !== 'string' && (t as { isTTY?: boolean }).isTTY === true;
  layer.addGuest(name);
  const lifecycle = new Lifecycle(name, limits.memoryBytes, (e) => {
    audit.record({ enclave: name, op: 'state', target: label, decision: 'allow',
      reason: `${e.from ?? 'new'} -> ${e.to}${e.reason !== undefined ? `: ${e.reason}` : ''}` });
    options.onState?.(e);
  });
  layer.guests.set(name, lifecycle);
  internals.onLifecycle?.(lifecycle);
  lifecycle.to('starting');
  try {
    // A layer starts itself with its first guest (publishing its ports); later calls return at once.
    await layer.start();
    audit.record({ enclave: name, op: 'start', target: label, decision: 'allow',
      reason: secure ? 'secure mode: the policy grants what the enclave may use' : 'normal mode: calls go to the host directly',
      detail: { mode: layer.mode, mounts: mounts.map((m) => `${m.hostPath ?? 'tmpfs'}::${m.guestPath}${m.readOnly ? ':ro' : ''}`) } });
    const report = await launch({
      name,
      join: (control) => {
        lifecycle.attach(new Int32Array(control));
        return layer.join(name, control);
      },
      module: loaded.module,
      args,
      env,
      ...(suspendable ? { suspendable } : {}),
      // Running again once its memory, globals and stack are back (every byte of the snapshot checked).
      ...(resume ? { onResumed: () => lifecycle.to('running') } : {}),
      mounts,
      mode: layer.mode,
      limits,
      trappingImports: loaded.unknownImports,
      ...(loaded.importedMemory ? { importedMemory: loaded.importedMemory } : {}),
      stdin: inputOf(options.stdin),
      onOutput,
      terminals: {
        stdin: options.stdin === 'inherit' && process.stdin.isTTY === true,
        stdout: isTTY(targets[0]!),
        stderr: isTTY(targets[1]!),
      },
      ...(policy.limits.timeoutMs > 0 ? { timeoutMs: policy.limits.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(invoke ? { invoke } : {}),
      ...(internals.exitNext ? { resolveOnReport: true } : {}),
      ...(options.freshThread !== true && !internals.exitNext ? { reuseThread: true } : {}),
    }, (h) => {
      handle = h;
      lifecycle.to(resume ? 'resuming' : 'running');
      // Hashed while the enclave boots (node:crypto loads then), and the module's bytes let go.
      void loaded.sha256;
      lifecycle.suspender = async (file) => {
        lifecycle.to('suspending', file);
        // A guest holding sockets is sealed with its network (secure mode: the layer owns them).
        const answer = secure && suspendable && layer.net.holdsSockets(name)
          ? await (await import('./suspend-alone.js')).suspendWithNetwork({
            name, net: layer.net, handle: h, file, sealKey: suspendable.sealKey,
            header: { guests: suspendable.guests, policySha256: suspendable.policySha256 },
          })
          : await h.suspend(file);
        // Refused (the guest holds what cannot travel), or it ended first: it runs on, or has ended.
        if ('error' in answer) lifecycle.to('running', answer.error);
        return answer;
      };
      lifecycle.systemSuspender = {
        stop: async () => {
          // Its sockets are sealed with the system: its end must not close them.
          layer.net.keep(name, true);
          lifecycle.to('suspending', 'with its system');
          const answer = await h.stopForSystem(() => layer.net.wakeQueues(name));
          if ('error' in answer) {
            layer.net.keep(name, false);
            lifecycle.to('running', answer.error);
          }
          return answer;
        },
        seal: (part) => h.sealPart(part),
        goOn: () => {
          layer.net.keep(name, false);
          h.goOn();
          lifecycle.to('running', 'its system was not sealed');
        },
      };
    });
    await limiter.finish();
    const outputMessage = `output limit reached: more than twice the ${outputLimit} bytes allowed were written`;
    // Past twice the limit the result is the output limit, even if the guest ended before it could be stopped.
    const outcome: Outcome = limiter.exceeded && report.outcome.kind !== 'limit'
      ? { kind: 'limit', limit: 'output', message: outputMessage } : report.outcome;
    const exitCode = exitCodeOf(outcome);
    const exitCodeFrom = outcome.kind === 'exit' || outcome.kind === 'signal' ? 'guest' : 'capsule';
    if (outcome.kind === 'limit') {
      if (outcome.limit !== 'output') {
        audit.record({ enclave: name, op: outcome.limit, target: label, decision: 'limit', reason: outcome.message });
      }
    }
    if (limiter.cut > 0 && outcome.kind !== 'limit') {
      audit.record({ enclave: name, op: 'fd_write', target: 'output', decision: 'limit', reason: `output limit of ${outputLimit} bytes: ${limiter.cut} bytes cut (--max-output)` });
    }
    const cpu = process.cpuUsage(cpuStarted);
    const usage = { ...report.usage, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - started };
    lifecycle.final(usage.threadCpuMs, usage.peakMemory);
    lifecycle.to(outcome.kind === 'suspended' ? 'suspended' : outcome.kind === 'killed' || outcome.kind === 'limit' ? 'killed' : 'exited', describe(outcome));
    // Counted floods are reported before the exit record, and count in the result.
    audit.flush();
    audit.record({ enclave: name, op: 'exit', target: label, decision: 'allow', reason: describe(outcome),
      detail: { exitCode, exitCodeFrom, outcome, usage } });
    audit.flush();
    const result: RunResult = {
      exitCode, exitCodeFrom, outcome, usage, outputCut: limiter.cut, audit: auditCounts(),
      ...(loaded.sha256 !== undefined ? { moduleSha256: loaded.sha256 } : {}), capsuleVersion: capsuleVersion(),
      ...(invoke && report.results && outcome.kind === 'exit' ? { results: report.results.map((value, i) => ({ type: invoke.results[i] as NumType, value })) } : {}),
    };
    if (targets[0] === 'capture') result.stdout = Buffer.concat(captured[0]!);
    if (targets[1] === 'capture') result.stderr = Buffer.concat(captured[1]!);
    return result;
  } finally {
    // A guest whose launch failed before it ended on its own.
    if (lifecycle.state !== 'exited' && lifecycle.state !== 'suspended') lifecycle.to('killed', 'ended before it ran');
    lifecycle.suspender = undefined;
    lifecycle.systemSuspender = undefined;
    sealKey?.fill(0);
    for (const c of cleanups) c();
    if (ownLayer) layer.close();
  }
}

/**
 * A guest on a given layer is governed by the layer's network and mode: the
 * same options given to run() too would be ignored, so they are refused.
 */
function refuseLayerConflicts(options: RunOptions, layer: Layer): void {
  const given = [
    options.network !== undefined ? 'network' : undefined,
    options.policy?.network !== undefined ? 'policy.network' : undefined,
    options.mode !== undefined && options.mode !== layer.mode ? `mode '${options.mode}' (the layer's is '${layer.mode}')` : undefined,
    options.traceSockets !== undefined ? 'traceSockets' : undefined,
  ].filter((g) => g !== undefined);
  if (given.length > 0) {
    throw new CapsuleError(ExitCode.USAGE, `run(): ${given.join(', ')} cannot be given with 'layer': the layer's own governs every guest on it (give it to new Layer({ ... }))`);
  }
}

type LaunchInvoke = { name: string; args: (number | bigint)[]; results: string[] };

/** The invoked function's arguments, each read per its parameter type; a wrong count or value is a one-line usage error. */
function invokeArgs(name: string, type: FunctionType, given: (string | number | bigint)[]): LaunchInvoke {
  if (given.length !== type.params.length) {
    throw new CapsuleError(ExitCode.USAGE, `--invoke ${name}: takes ${type.params.length} argument${type.params.length === 1 ? '' : 's'} (${type.params.join(', ')}), ${given.length} given`);
  }
  const args = given.map((v, i) => {
    const t = type.params[i] as NumType;
    const r = parseWasmArg(t, String(v));
    if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `--invoke ${name}: argument ${i + 1}: ${r.message}`);
    return r.value;
  });
  return { name, args, results: type.results };
}

function describe(o: Outcome): string {
  switch (o.kind) {
    case 'exit': return `exited with ${o.code}`;
    case 'signal': return `ended by ${o.signal}`;
    case 'trap': return `trapped: ${o.message}`;
    case 'limit': return `stopped: ${o.message}`;
    case 'killed': return `stopped: ${o.message}`;
    case 'failed': return `failed: ${o.message}`;
    case 'suspended': return o.withSystem ? `suspended with its system (${o.bytes} bytes of its snapshot)` : `suspended into ${o.file} (${o.bytes} bytes)`;
  }
}
