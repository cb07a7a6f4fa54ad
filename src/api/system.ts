// A system of guests on one layer, sharing its virtual network: the owner
// of the whole system's lifecycle (what `capsule up` runs).
//
// System.load() checks everything before any guest starts: every module
// (read, capped and compiled once; the run gets the result), every mount and
// every published port's spelling, and the start order; start() binds the
// ports. run() starts every guest (one that waits for others once they
// listen), streams their output as prefixed lines with backpressure (a guest
// whose output is not being read waits; its neighbours do not), keeps each
// guest's recent output for `capsule logs`, and on the first failure stops
// every other guest unless `onFailure` is "continue". stopGuest() stops one
// guest on request, which is not a failure.

import { capsuleVersion } from './version.js';
import type { Writable } from 'node:stream';
import type { AuditLog } from '../audit/log.js';
import { StopRequest } from '../enclave/launch.js';
import { loadModule } from '../module/load.js';
import { buildPolicy } from '../policy/document.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { Layer } from './layer.js';
import { limitNumbers } from './option-values.js';
import { OutputLog } from './output-log.js';
import { prefixedLines } from './prefix.js';
import { checkMounts, exitCodeOf, policyFor, runGuest, type DirMount, type ExecutionMode, type LimitValues, type Outcome, type PreparedGuest, type RunOptions, type RunResult } from './run.js';
import { checkStartOrder } from './start-order.js';

export interface SystemGuest {
  /** Its host name on the system's network (letters, digits, dashes). */
  name: string;
  /** Path or bytes of the module (not a precompiled Module: secure mode caps memory first). */
  module: string | URL | Uint8Array;
  args?: string[];
  env?: Record<string, string>;
  dirs?: DirMount[];
  /** `[HOST_ADDRESS:]HOST_PORT:GUEST_PORT` */
  publish?: string[];
  /** The guests it may reach; default: every guest of the system. */
  peers?: string[];
  /** Guest name -> TCP port: this guest starts once each of them listens on its port. */
  after?: Record<string, number>;
}

/** How long a guest waits, by default, for the guests it starts after. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** How often the socket table is looked at while a guest waits. */
const READY_POLL_MS = 20;

export interface SystemOptions {
  guests: SystemGuest[];
  mode?: ExecutionMode;
  /** Grants for the whole system. */
  network?: { allowConnect?: string[]; denyConnect?: string[]; allowDns?: boolean };
  /** Limits for each guest: numbers (bytes, ms, counts) or text such as "64MiB" or "10s". */
  limits?: LimitValues;
  /** "stop" (default): the first guest to fail stops every other. "continue": the others run on. */
  onFailure?: 'stop' | 'continue';
  /** Where the guests' prefixed output lines go (default this process's stdout and stderr). */
  stdout?: Writable;
  stderr?: Writable;
  /** Where relative paths of publish grants resolve (default the working directory). */
  base?: string;
  trapUnknownImports?: boolean;
  /** false: no coalescing of small file writes for any guest (see README, "Small file writes"). */
  writeCache?: boolean;
  traceSockets?: (line: string) => void;
  audit?: AuditLog;
  /** Told as each guest ends. */
  onExit?: (name: string, result: RunResult) => void;
  /** Longest a guest waits for those in its "after" to listen (default 30 s; 0: no limit); past it, it fails (69). */
  readyTimeoutMs?: number;
  /**
   * Prepare every guest so that the whole system can be sealed into one
   * snapshot (suspendAll(); needs a seal key, secure mode and modules given by path).
   */
  suspendable?: boolean;
  /** The 32-byte key the system is sealed with (default: CAPSULE_SEAL_KEY). */
  sealKey?: Uint8Array;
  /** Where prepared modules are cached (default under the user's cache directory). */
  cacheDir?: string;
}

/** @internal What resumeSystem() found in a system's snapshot, for the run that continues it. */
export interface SystemResumeInfo {
  file: string;
  /** Each sealed guest: its state and where its part starts (a guest that had ended is not among them). */
  guests: Map<string, { state: import('../snapshot/payload.js').SealedGuestState; part: { offset: number; index: number } }>;
  network: import('../layer/net/sealed.js').SealedNetwork;
}

export interface SystemResult {
  /** 0 if every guest exited 0; otherwise the first failure's code. */
  exitCode: number;
  /** The guest that failed first, if one did. */
  failed?: string;
  /** Each guest's result, by name. */
  guests: Map<string, RunResult>;
}

interface Member {
  guest: SystemGuest;
  prepared: PreparedGuest;
  options: RunOptions;
}

export class System {
  private closed = false;
  private readonly logs = new Map<string, OutputLog>();
  /** Each guest's stop, by name, until it has ended. */
  private readonly stops = new Map<string, AbortController>();
  private readonly stoppedOnRequest = new Set<string>();
  /** A suspendAll() under way: run() closes the layer only after it (the network is sealed last). */
  private suspension: Promise<unknown> | undefined;
  /** @internal Set by resumeSystem() before run(). */
  resumeInfo: SystemResumeInfo | undefined;

  private constructor(readonly layer: Layer, private readonly members: Member[], private readonly o: SystemOptions) {
    for (const m of members) {
      this.logs.set(m.guest.name.toLowerCase(), new OutputLog());
      this.stops.set(m.guest.name.toLowerCase(), new AbortController());
    }
  }

  /** The guests' names, as given. */
  get names(): string[] {
    return this.members.map((m) => m.guest.name);
  }

  /** The recent output of guest `name` (see output-log.ts), or undefined if it is not a guest of this system. */
  log(name: string): OutputLog | undefined {
    return this.logs.get(name.toLowerCase());
  }

  /** Stops every running guest on request (none of them counts as failed); the names stopping. */
  stopAll(why = 'stopped on request'): string[] {
    return this.names.filter((n) => this.stopGuest(n, why));
  }

  /**
   * Stops guest `name` (its result says it was stopped; the others run on,
   * whatever `onFailure` says). False if there is no such guest or it has ended.
   */
  stopGuest(name: string, why = 'stopped on request'): boolean {
    const key = name.toLowerCase();
    const stop = this.stops.get(key);
    if (stop === undefined || stop.signal.aborted) return false;
    this.stoppedOnRequest.add(key);
    stop.abort(new StopRequest(why, 'SIGTERM'));
    return true;
  }

  /** The options the system was loaded with (what a sealed system carries to rebuild it). */
  get options(): SystemOptions {
    return this.o;
  }

  /** Each guest's lifecycle, by name, once it has started. */
  lifecycles(): Map<string, import('../lifecycle/state.js').Lifecycle> {
    return new Map(this.members.flatMap((m) => {
      const l = this.layer.guests.get(m.guest.name.toLowerCase());
      return l ? [[m.guest.name.toLowerCase(), l] as const] : [];
    }));
  }

  /** The SHA-256 of each guest's module as given. */
  moduleSha256(name: string): string | undefined {
    return this.members.find((m) => m.guest.name.toLowerCase() === name)?.prepared.loaded.sha256;
  }

  /**
   * Seals the whole system into `file` (see system-suspend.ts): every guest
   * stopped, then each guest's state and memory and the virtual network;
   * then every guest's run ends "suspended" and run() resolves with 75.
   */
  async suspendAll(file: string): Promise<{ file: string; bytes: number }> {
    if (this.suspension) throw new CapsuleError(ExitCode.UNAVAILABLE, 'a suspension of this system is already under way');
    const { suspendSystem } = await import('./system-suspend.js');
    const done = suspendSystem(this, file);
    this.suspension = done;
    try {
      return await done;
    } catch (err) {
      this.suspension = undefined;
      throw err;
    }
  }

  /** Checks every guest's module, mounts and published ports; throws CapsuleError (nothing runs) if one is wrong. */
  static async load(o: SystemOptions): Promise<System> {
    const mode = o.mode ?? 'secure';
    let sealKey: Buffer | undefined;
    if (o.suspendable === true) {
      if (mode !== 'secure') throw new CapsuleError(ExitCode.USAGE, 'a suspendable system runs in secure mode (in normal mode its sockets are the host\'s, which cannot be sealed)');
      const named = o.guests.find((g) => typeof g.module !== 'string');
      if (named) throw new CapsuleError(ExitCode.USAGE, `guest ${named.name}: a suspendable system's modules are given by path (a resume loads them again)`);
      sealKey = (await import('./suspendable-run.js')).suspendKey(o.sealKey);
    }
    if (o.writeCache !== undefined && typeof o.writeCache !== 'boolean') {
      throw new CapsuleError(ExitCode.USAGE, `writeCache: expected true or false, got ${typeof o.writeCache}`);
    }
    const base = o.base ?? process.cwd();
    const network = { allowConnect: o.network?.allowConnect ?? [], denyConnect: o.network?.denyConnect ?? [], allowDns: o.network?.allowDns ?? false };
    const policy = buildPolicy({ mounts: [], env: {}, limits: limitNumbers(o.limits), network: { ...network, publish: [] }, writeCache: o.writeCache ?? true }, base, {}, undefined);
    policy.network.publish = o.guests.flatMap((g, i) => {
      try {
        return buildPolicy(undefined, base, { publish: g.publish ?? [] }, g.name).network.publish;
      } catch (err) {
        if (err instanceof CapsuleError) throw new CapsuleError(ExitCode.CONFIG, `guests[${i}].publish: ${err.message.replace(/^flags: /, '')}`);
        throw err;
      }
    });
    checkStartOrder(o.guests);
    const members: Member[] = [];
    for (const g of o.guests) {
      const options: RunOptions = {
        name: g.name, argv0: g.name, args: g.args ?? [], env: g.env ?? {}, dirs: g.dirs ?? [], limits: policy.limits,
        trapUnknownImports: o.trapUnknownImports ?? false,
        ...(sealKey ? { suspendable: true, sealKey } : {}),
      };
      const guestPolicy = await policyFor(options, g.name.toLowerCase());
      checkMounts(guestPolicy.mounts);
      // Loaded once, capped as run() would: the run takes this result rather than compiling again.
      const loaded = await loadModule(g.module, o.trapUnknownImports ?? false, mode === 'secure' ? guestPolicy.limits.memoryBytes : undefined,
        undefined, sealKey ? { ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) } : undefined);
      members.push({ guest: g, prepared: { policy: guestPolicy, loaded }, options });
    }
    const peers = new Map(o.guests.filter((g) => g.peers).map((g) => [g.name.toLowerCase(), new Set(g.peers!.map((p) => p.toLowerCase()))]));
    const layer = new Layer({
      mode,
      networkPolicy: policy.network,
      queueBytes: policy.limits.queueBytes,
      maxSockets: policy.limits.maxSockets,
      writeCache: policy.writeCache,
      canReach: (from, to) => from === to || (peers.get(from)?.has(to) ?? true),
      ...(o.audit ? { audit: o.audit } : {}),
      ...(o.traceSockets ? { traceSockets: o.traceSockets } : {}),
    });
    for (const m of members) layer.addGuest(m.guest.name.toLowerCase());
    return new System(layer, members, sealKey ? { ...o, sealKey } : o);
  }

  /** Binds the published ports (CapsuleError 69 if one is taken). run() does this if not done. */
  async start(): Promise<void> {
    try {
      // The layer starts once; later calls return at once.
      await this.layer.start();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Runs every guest to its end (or the system's stop), then closes the
   * layer. `signal` stops every guest when aborted (its reason travels to
   * each, as for run()).
   */
  async run(options: { signal?: AbortSignal } = {}): Promise<SystemResult> {
    if (this.closed) throw new CapsuleError(ExitCode.USAGE, 'this system has run (or was closed): load it again to run it again');
    await this.start();
    // A resumed system: its network is back before any guest runs again.
    if (this.resumeInfo) await this.layer.net.restore(this.resumeInfo.network);
    const o = this.o;
    const signal = options.signal;
    // One stop per guest (not one signal every guest listens on): stopGuest() stops one, stopEvery() all of them.
    const stopEvery = (reason: unknown): void => { for (const c of this.stops.values()) if (!c.signal.aborted) c.abort(reason); };
    const forward = (): void => stopEvery(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    if (signal?.aborted) forward();
    const width = Math.max(...this.members.map((m) => m.guest.name.length));
    const guests = new Map<string, RunResult>();
    const ended = new Set<string>();
    const failures: { name: string; code: number }[] = [];
    const suspended: string[] = [];
    const fail = (name: string, code: number): void => {
      failures.push({ name, code });
      if (failures.length === 1 && (o.onFailure ?? 'stop') === 'stop') {
        stopEvery(new StopRequest(`'${name}' failed, so the system stops (onFailure: stop)`));
      }
    };
    try {
      const ends = await Promise.allSettled(this.members.map(async (m) => {
        const key = m.guest.name.toLowerCase();
        const stop = this.stops.get(key)!.signal;
        const log = this.logs.get(key)!;
        const prefix = `${m.guest.name.padEnd(width)} | `;
        const out = prefixedLines(prefix, o.stdout ?? process.stdout);
        const err = prefixedLines(prefix, o.stderr ?? process.stderr);
        let result: RunResult;
        try {
          const resumed = this.resumeInfo;
          const sealed = resumed?.guests.get(key);
          if (resumed && !sealed) {
            // It had ended before its system was sealed: it does not run again.
            result = notStarted({ kind: 'exit', code: 0 });
            guests.set(m.guest.name, result);
            return;
          }
          const waited = resumed ? undefined : await this.waitForDependencies(m.guest, stop, ended);
          // A guest that never started still has its exit record, saying why.
          if (waited) {
            this.layer.audit.record({ enclave: key, op: 'exit', target: m.guest.name, decision: 'allow', reason: 'message' in waited.outcome ? waited.outcome.message : 'not started',
              detail: { exitCode: waited.exitCode, exitCodeFrom: waited.exitCodeFrom, outcome: waited.outcome } });
          }
          result = waited ?? await runGuest(m.guest.module, {
            ...m.options, layer: this.layer, stdout: out, stderr: err, signal: stop,
            onOutput: (fd, bytes) => log.append(fd, bytes),
          }, m.prepared, sealed ? { resume: { file: resumed!.file, state: sealed.state, part: sealed.part } } : {});
        } catch (e) {
          // Checked before any guest started, but a directory may vanish since: that guest fails, like any other.
          fail(m.guest.name, e instanceof CapsuleError ? e.exitCode : ExitCode.INTERNAL);
          throw e;
        } finally {
          ended.add(key);
          this.stops.delete(key);
          log.end();
          out.end();
          err.end();
        }
        guests.set(m.guest.name, result);
        // A guest stopped on request has not failed: the system goes on.
        const onRequest = this.stoppedOnRequest.has(key) && result.outcome.kind === 'killed';
        // Sealed with its system: not a failure (the system's result says it was suspended).
        if (result.outcome.kind === 'suspended') suspended.push(m.guest.name);
        else if (result.exitCode !== 0 && !onRequest) fail(m.guest.name, result.exitCode);
        o.onExit?.(m.guest.name, result);
      }));
      const thrown = ends.find((e) => e.status === 'rejected');
      if (thrown) throw thrown.reason;
    } finally {
      signal?.removeEventListener('abort', forward);
      // The network is sealed after the last guest: the layer closes once that is written.
      await this.suspension?.catch(() => {});
      this.close();
    }
    const first = failures[0];
    if (first === undefined && suspended.length > 0) return { exitCode: ExitCode.SUSPENDED, guests };
    return { exitCode: first?.code ?? 0, ...(first ? { failed: first.name } : {}), guests };
  }

  /**
   * Waits until every guest `g` starts after listens on its port. Undefined
   * when they all do; otherwise the result of a guest that never started:
   * stopped meanwhile, or failed (69) because one ended first or did not
   * listen in time.
   */
  private async waitForDependencies(g: SystemGuest, stop: AbortSignal, ended: Set<string>): Promise<RunResult | undefined> {
    const waits = Object.entries(g.after ?? {}).map(([name, port]) => [name.toLowerCase(), port] as const);
    if (waits.length === 0) return undefined;
    const limit = this.o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    // 0: no limit, as for a timeout.
    const deadline = limit > 0 ? performance.now() + limit : Infinity;
    for (;;) {
      if (stop.aborted) {
        const reason: unknown = stop.reason;
        return notStarted(reason instanceof StopRequest
          ? { kind: 'killed', message: `${reason.message} (before it started)`, ...(reason.signal ? { signal: reason.signal } : {}) }
          : { kind: 'killed', message: 'interrupted (before it started)', ...(typeof reason === 'string' ? { signal: reason } : {}) });
      }
      const missing = waits.find(([name, port]) => !this.layer.listens(name, port));
      if (missing === undefined) return undefined;
      const [name, port] = missing;
      if (ended.has(name)) {
        return notStarted({ kind: 'failed', cause: 'dependency', message: `not started: '${name}' ended without listening on port ${port}` });
      }
      if (performance.now() >= deadline) {
        return notStarted({ kind: 'failed', cause: 'dependency', message: `not started: '${name}' did not listen on port ${port} within ${limit / 1000} s` });
      }
      await new Promise<void>((resolve) => {
        const done = (): void => { clearTimeout(timer); stop.removeEventListener('abort', done); resolve(); };
        const timer = setTimeout(done, READY_POLL_MS);
        stop.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Closes the layer (its published ports and audit log); run() does this when it ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.close();
    // The system's own copy of the seal key (load() made it; each guest's run wiped its own).
    if (this.o.suspendable === true) this.o.sealKey?.fill(0);
  }
}

/** The result of a guest that never started. */
function notStarted(outcome: Outcome): RunResult {
  const exitCode = exitCodeOf(outcome);
  return {
    exitCode, exitCodeFrom: 'capsule', outcome, outputCut: 0, audit: { allow: 0, deny: 0, limit: 0 }, capsuleVersion: capsuleVersion(),
    usage: { files: {}, network: { peers: {}, socketsOpened: 0 }, peakMemory: 0, cpuMs: 0, threadCpuMs: 0, wallMs: 0 },
  };
}
