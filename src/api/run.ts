// run(): the TypeScript API. Runs one WASI command module in an enclave and
// returns how it ended, its exit code, captured output and resource usage.

import fs from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { launch, type EnclaveHandle } from '../enclave/launch.js';
import { keepSpares } from '../enclave/pool.js';
import type { ExecutionMode, MountSpec, Outcome, Usage } from '../enclave/protocol.js';
import { loadModule, type ModuleSource } from '../module/load.js';
import { CapsuleError } from './errors.js';
import { Layer } from './layer.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish, PolicyError, type NetworkPolicy } from '../policy/network.js';
import { ExitCode } from './exit-codes.js';

export type { ExecutionMode, Outcome, Usage, ModuleSource };

export interface DirMount {
  /** Host directory to expose. */
  host: string;
  /** Name the guest sees it under, e.g. "/data" or ".". */
  guest: string;
  /** The guest may read but change nothing below it. */
  readOnly?: boolean;
}

/** Where a guest output stream goes. */
export type OutputTarget = Writable | 'inherit' | 'capture' | 'ignore';

export interface RunOptions {
  /** Guest arguments after argv[0]. */
  args?: string[];
  /** argv[0] as the guest sees it; defaults to the module's file name. */
  argv0?: string;
  /** The guest's entire environment (nothing is inherited). */
  env?: Record<string, string>;
  /** Host directories to mount (preopen). */
  dirs?: DirMount[];
  /** "secure" (default): an isolated enclave under policy. "normal": calls go to the host directly. */
  mode?: ExecutionMode;
  /** Guest stdin: a stream, bytes or text, or "inherit" for this process's stdin. Default: empty. */
  stdin?: Readable | string | Uint8Array | 'inherit';
  /** Default "inherit". */
  stdout?: OutputTarget;
  /** Default "inherit". */
  stderr?: OutputTarget;
  /** Let imports Capsule does not provide trap when called instead of refusing the module. */
  trapUnknownImports?: boolean;
  /** Stop the guest after this many milliseconds. */
  timeoutMs?: number;
  /** Stops the guest when aborted. */
  signal?: AbortSignal;
  /** The guest's name on the network (default: the module's file name without .wasm). */
  name?: string;
  /** Network grants (secure mode). Default: nothing outside the guest is reachable. */
  network?: NetworkOptions;
  /** Receives one line per socket status change. */
  traceSockets?: (line: string) => void;
  /** Run on this layer (shared with other guests) instead of a new one. */
  layer?: Layer;
}

export interface NetworkOptions {
  /** `HOST:PORT` grants: HOST a name, IP or CIDR; PORT a number, range or `*`. */
  allowConnect?: string[];
  denyConnect?: string[];
  /** Resolve any host name. */
  allowDns?: boolean;
  /** `[HOST_ADDRESS:]HOST_PORT:GUEST_PORT`: a guest port reachable from the host. */
  publish?: string[];
}

/** Builds the network policy from its textual grants; a bad grant is a usage error. */
export function networkPolicy(o: NetworkOptions | undefined, guest?: string): NetworkPolicy {
  const p = emptyNetworkPolicy();
  if (!o) return p;
  try {
    p.allowConnect = (o.allowConnect ?? []).map(parseConnectGrant);
    p.denyConnect = (o.denyConnect ?? []).map(parseConnectGrant);
    p.allowDns = o.allowDns ?? false;
    p.publish = (o.publish ?? []).map((t) => parsePublish(t, guest));
  } catch (err) {
    if (err instanceof PolicyError) throw new CapsuleError(ExitCode.USAGE, err.message);
    throw err;
  }
  return p;
}

export interface RunResult {
  /** What the process exit code should be (see ExitCode and the guest's own status). */
  exitCode: number;
  outcome: Outcome;
  /** Present when the stream was "capture". */
  stdout?: Buffer;
  stderr?: Buffer;
  usage: Usage & { wallMs: number };
}

export function exitCodeOf(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'exit': return outcome.code > 255 ? 255 : outcome.code;
    case 'signal': return outcome.code;
    case 'trap': return ExitCode.TRAP;
    case 'killed': return ExitCode.INTERRUPTED;
    case 'limit':
      return outcome.limit === 'time' ? ExitCode.TIMEOUT
        : outcome.limit === 'memory' ? ExitCode.MEMORY_LIMIT
        : outcome.limit === 'output' ? ExitCode.OUTPUT_LIMIT : ExitCode.INTERNAL;
    case 'failed':
      return outcome.cause === 'link' ? ExitCode.BAD_MODULE
        : outcome.cause === 'mount' ? ExitCode.NO_INPUT : ExitCode.INTERNAL;
  }
}

function checkMounts(dirs: DirMount[]): MountSpec[] {
  return dirs.map((d) => {
    if (!d.guest) throw new CapsuleError(ExitCode.USAGE, `mount of '${d.host}' has an empty guest path`);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(d.host);
    } catch {
      throw new CapsuleError(ExitCode.NO_INPUT, `cannot mount '${d.host}': no such directory`);
    }
    if (!stat.isDirectory()) throw new CapsuleError(ExitCode.NO_INPUT, `cannot mount '${d.host}': not a directory`);
    return { hostPath: path.resolve(d.host), guestPath: d.guest, readOnly: d.readOnly ?? false };
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

/** Enclave threads the API keeps booted in advance (see enclave/pool.ts); 0 turns this off. */
let spareThreads = 1;
export function setSpareEnclaves(count: number): void {
  spareThreads = count;
  keepSpares(count);
}

export async function run(source: ModuleSource, options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  keepSpares(spareThreads);
  const loaded = await loadModule(source, options.trapUnknownImports ?? false);
  const mounts = checkMounts(options.dirs ?? []);
  const argv0 = options.argv0 ?? (typeof source === 'string' ? path.basename(source) : loaded.label);
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);

  const targets = [
    resolveTarget(options.stdout, process.stdout),
    resolveTarget(options.stderr, process.stderr),
  ];
  const captured: Buffer[][] = [[], []];
  let handle: EnclaveHandle | undefined;
  const cleanups: (() => void)[] = [];
  targets.forEach((t, i) => {
    if (typeof t === 'string') return;
    // A reader that went away (EPIPE) ends that stream for the guest, as a closed pipe would.
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') handle?.closeOutput(i + 1);
    };
    t.on('error', onError);
    cleanups.push(() => t.off('error', onError));
  });

  const onOutput = (fd: number, bytes: Uint8Array): void | Promise<void> => {
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

  const name = options.name ?? (typeof source === 'string' ? path.basename(source).replace(/\.wasm$/, '') : 'guest');
  const ownLayer = options.layer === undefined;
  const layer = options.layer ?? new Layer({
    mode: options.mode ?? 'secure',
    network: networkPolicy(options.network, name),
    ...(options.traceSockets ? { traceSockets: options.traceSockets } : {}),
  });
  layer.addGuest(name);
  if (ownLayer) await layer.start();
  const isTTY = (t: Writable | string): boolean => typeof t !== 'string' && (t as { isTTY?: boolean }).isTTY === true;
  const stdin = inputOf(options.stdin);
  try {
    const report = await launch({
      name,
      join: (control) => layer.join(name, control),
      module: loaded.module,
      args: [argv0, ...(options.args ?? [])],
      env,
      mounts,
      mode: layer.mode,
      trappingImports: loaded.unknownImports,
      stdin,
      onOutput,
      terminals: {
        stdin: options.stdin === 'inherit' && process.stdin.isTTY === true,
        stdout: isTTY(targets[0]!),
        stderr: isTTY(targets[1]!),
      },
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }, (h) => { handle = h; });
    const result: RunResult = {
      exitCode: exitCodeOf(report.outcome),
      outcome: report.outcome,
      usage: { ...report.usage, wallMs: performance.now() - started },
    };
    if (targets[0] === 'capture') result.stdout = Buffer.concat(captured[0]!);
    if (targets[1] === 'capture') result.stderr = Buffer.concat(captured[1]!);
    return result;
  } finally {
    for (const c of cleanups) c();
    if (ownLayer) layer.close();
  }
}
