// A system of guests on one layer, sharing its virtual network: the owner
// of the whole system's lifecycle (what `capsule up` runs).
//
// System.load() checks everything before any guest starts: every module
// (read, capped and compiled once; the run gets the result), every mount and
// every published port's spelling; start() binds the ports. run() starts every
// guest, streams their output as prefixed lines with backpressure (a guest
// whose output is not being read waits; its neighbours do not), and on the
// first failure stops every other guest unless `onFailure` is "continue".

import type { Writable } from 'node:stream';
import type { AuditLog } from '../audit/log.js';
import { StopRequest } from '../enclave/launch.js';
import { loadModule } from '../module/load.js';
import { buildPolicy } from '../policy/document.js';
import type { Limits } from '../policy/policy.js';
import { CapsuleError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { Layer } from './layer.js';
import { prefixedLines } from './prefix.js';
import { checkMounts, policyFor, runGuest, type DirMount, type ExecutionMode, type PreparedGuest, type RunOptions, type RunResult } from './run.js';

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
}

export interface SystemOptions {
  guests: SystemGuest[];
  mode?: ExecutionMode;
  /** Grants for the whole system. */
  network?: { allowConnect?: string[]; denyConnect?: string[]; allowDns?: boolean };
  /** Limits for each guest. */
  limits?: Partial<Limits>;
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

  private constructor(readonly layer: Layer, private readonly members: Member[], private readonly o: SystemOptions) {}

  /** Checks every guest's module, mounts and published ports; throws CapsuleError (nothing runs) if one is wrong. */
  static async load(o: SystemOptions): Promise<System> {
    const mode = o.mode ?? 'secure';
    if (o.writeCache !== undefined && typeof o.writeCache !== 'boolean') {
      throw new CapsuleError(ExitCode.USAGE, `writeCache: expected true or false, got ${typeof o.writeCache}`);
    }
    const base = o.base ?? process.cwd();
    const network = { allowConnect: o.network?.allowConnect ?? [], denyConnect: o.network?.denyConnect ?? [], allowDns: o.network?.allowDns ?? false };
    const policy = buildPolicy({ mounts: [], env: {}, limits: o.limits ?? {}, network: { ...network, publish: [] }, writeCache: o.writeCache ?? true }, base, {}, undefined);
    policy.network.publish = o.guests.flatMap((g, i) => {
      try {
        return buildPolicy(undefined, base, { publish: g.publish ?? [] }, g.name).network.publish;
      } catch (err) {
        if (err instanceof CapsuleError) throw new CapsuleError(ExitCode.CONFIG, `guests[${i}].publish: ${err.message.replace(/^flags: /, '')}`);
        throw err;
      }
    });
    const members: Member[] = [];
    for (const g of o.guests) {
      const options: RunOptions = {
        name: g.name, argv0: g.name, args: g.args ?? [], env: g.env ?? {}, dirs: g.dirs ?? [], limits: policy.limits,
        trapUnknownImports: o.trapUnknownImports ?? false,
      };
      const guestPolicy = await policyFor(options, g.name.toLowerCase());
      checkMounts(guestPolicy.mounts);
      // Loaded once, capped as run() would: the run takes this result rather than compiling again.
      const loaded = await loadModule(g.module, o.trapUnknownImports ?? false, mode === 'secure' ? guestPolicy.limits.memoryBytes : undefined);
      members.push({ guest: g, prepared: { policy: guestPolicy, loaded }, options });
    }
    const peers = new Map(o.guests.filter((g) => g.peers).map((g) => [g.name.toLowerCase(), new Set(g.peers!.map((p) => p.toLowerCase()))]));
    const layer = new Layer({
      mode,
      network: policy.network,
      queueBytes: policy.limits.queueBytes,
      maxSockets: policy.limits.maxSockets,
      writeCache: policy.writeCache,
      canReach: (from, to) => from === to || (peers.get(from)?.has(to) ?? true),
      ...(o.audit ? { audit: o.audit } : {}),
      ...(o.traceSockets ? { traceSockets: o.traceSockets } : {}),
    });
    for (const m of members) layer.addGuest(m.guest.name.toLowerCase());
    return new System(layer, members, o);
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
    const o = this.o;
    const signal = options.signal;
    const stopAll = new AbortController();
    const forward = (): void => stopAll.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    if (signal?.aborted) forward();
    const width = Math.max(...this.members.map((m) => m.guest.name.length));
    const guests = new Map<string, RunResult>();
    const failures: { name: string; code: number }[] = [];
    const fail = (name: string, code: number): void => {
      failures.push({ name, code });
      if (failures.length === 1 && (o.onFailure ?? 'stop') === 'stop') {
        stopAll.abort(new StopRequest(`'${name}' failed, so the system stops (onFailure: stop)`));
      }
    };
    try {
      const ends = await Promise.allSettled(this.members.map(async (m) => {
        const prefix = `${m.guest.name.padEnd(width)} | `;
        const out = prefixedLines(prefix, o.stdout ?? process.stdout);
        const err = prefixedLines(prefix, o.stderr ?? process.stderr);
        let result: RunResult;
        try {
          result = await runGuest(m.guest.module, { ...m.options, layer: this.layer, stdout: out, stderr: err, signal: stopAll.signal }, m.prepared);
        } catch (e) {
          // Checked before any guest started, but a directory may vanish since: that guest fails, like any other.
          fail(m.guest.name, e instanceof CapsuleError ? e.exitCode : ExitCode.INTERNAL);
          throw e;
        } finally {
          out.end();
          err.end();
        }
        guests.set(m.guest.name, result);
        if (result.exitCode !== 0) fail(m.guest.name, result.exitCode);
        o.onExit?.(m.guest.name, result);
      }));
      const thrown = ends.find((e) => e.status === 'rejected');
      if (thrown) throw thrown.reason;
    } finally {
      signal?.removeEventListener('abort', forward);
      this.close();
    }
    const first = failures[0];
    return { exitCode: first?.code ?? 0, ...(first ? { failed: first.name } : {}), guests };
  }

  /** Closes the layer (its published ports and audit log); run() does this when it ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.close();
  }
}
