// Shared helpers for the hostile-guest suite (test/hostile): run a hostile
// guest through the API on a layer of the test's own and collect every audit
// record it caused; snapshot host directory trees (content hashes, modes,
// mtimes) to prove nothing outside changed; count this process's open
// descriptors to prove a run leaked none.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { AuditRecord } from '../../src/audit/record.js';
import { Layer } from '../../src/api/layer.js';
import { defaultGuestName, layerFor, policyFor, run, type RunOptions, type RunResult } from '../../src/api/run.js';
import { retireReused } from '../../src/enclave/pool.js';
import { ROOT, guest } from './cli.js';
import type { Watched } from './net.js';

/** Absolute path of the prebuilt hostile guest test/guests/hostile/<name>.wasm. */
export function hostileGuest(name: string): string {
  return path.join(ROOT, 'test', 'guests', 'hostile', `${name}.wasm`);
}

// ---------------------------------------------------------------- host snapshots

export interface SnapshotOptions {
  /** Entries (relative paths) to leave out, with everything below them. */
  skip?: (rel: string) => boolean;
  /** Record directories' mtimes too (default true). */
  dirMtimes?: boolean;
}

/**
 * Every entry below `root` as "relative path -> description": type, mode,
 * size, mtime in ns and a SHA-256 of the content for files; the target for
 * symlinks. Never follows a symlink.
 */
export function snapshotTree(root: string, o: SnapshotOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs, { bigint: true });
    const mode = (Number(st.mode) & 0o7777).toString(8);
    if (st.isSymbolicLink()) {
      out[rel || '.'] = `link ${mode} -> ${fs.readlinkSync(abs)}`;
    } else if (st.isDirectory()) {
      out[rel || '.'] = `dir ${mode}${o.dirMtimes === false ? '' : ` mtime=${st.mtimeNs}`}`;
      for (const name of fs.readdirSync(abs).sort()) {
        const r = rel ? path.join(rel, name) : name;
        if (o.skip?.(r)) continue;
        walk(r);
      }
    } else if (st.isFile()) {
      const hash = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      out[rel] = `file ${mode} size=${st.size} mtime=${st.mtimeNs} sha256=${hash}`;
    } else {
      out[rel] = `other ${mode} mtime=${st.mtimeNs}`;
    }
  };
  walk('');
  return out;
}

// ---------------------------------------------------------------- descriptors

/** Open descriptors of this process (the listing's own descriptor included, every time alike). */
export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What each open descriptor refers to (for messages when counts differ). */
export function fdTargets(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try { out.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`)); } catch { /* the listing's own descriptor, already closed */ }
  }
  return out;
}

/** The descriptors that differ between two fdTargets() listings, as "fd: before -> after". */
export function fdDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const fd of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(fd) !== after.get(fd)) out.push(`${fd}: ${before.get(fd) ?? '-'} -> ${after.get(fd) ?? '-'}`);
  }
  return out;
}

/** The descriptor count once it has not changed for `quietMs` (threads booting or ending settle first). */
export async function stableFds(quietMs = 300, timeoutMs = 10_000): Promise<number> {
  // A thread left to be reused by the last clean run holds a few descriptors until it is: counts compare without it.
  await retireReused();
  const end = Date.now() + timeoutMs;
  let last = openFds();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(25);
    const n = openFds();
    if (n !== last) { last = n; since = Date.now(); }
    else if (Date.now() - since >= quietMs) return n;
  }
  return last;
}

/**
 * Waits (bounded) until the count is back to `baseline` and stays there for
 * `quietMs` (a spare enclave thread booting reads its script through a
 * descriptor for a moment); returns the count seen last.
 */
export async function fdsBackTo(baseline: number, timeoutMs = 10_000, quietMs = 150): Promise<number> {
  await retireReused();
  const end = Date.now() + timeoutMs;
  let n = openFds();
  let since = n === baseline ? Date.now() : Infinity;
  while (Date.now() < end) {
    if (n === baseline && Date.now() - since >= quietMs) return n;
    await sleep(20);
    const next = openFds();
    if (next === baseline && n !== baseline) since = Date.now();
    n = next;
  }
  return n;
}

// ---------------------------------------------------------------- running guests

export interface HostileRun {
  result: RunResult;
  stdout: string;
  stderr: string;
  /** "LABEL: RESULT" lines of stdout, by label. */
  verdicts: Map<string, string>;
  /** Every audit record the run's layer made (with aggregated counts, when the layer was our own). */
  audit: AuditRecord[];
  /** Socket-table entries left on the layer right after the run. */
  socketsLeft: number;
}

/** Parses "LABEL: RESULT" lines (the label ends at the first ": "; it may contain single colons, as IPv6 addresses do). */
export function parseVerdicts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(': ');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 2));
  }
  return out;
}

export interface HostileOptions extends Omit<RunOptions, 'stdout' | 'stderr' | 'onAudit'> {
  /** Guest stdout goes here as it is written (instead of being captured at the end). */
  watch?: Watched;
}

/**
 * Runs hostile guest `name` with `opts` (default time limit 20 s). Without
 * `opts.layer` it runs on a fresh layer of its own, built from the same
 * policy, whose audit log is read in full and which is closed afterwards.
 */
export async function runHostile(name: string, opts: HostileOptions = {}): Promise<HostileRun> {
  const guestName = opts.name ?? defaultGuestName(hostileGuest(name));
  const { watch, ...rest } = opts;
  const runOpts: RunOptions = { timeoutMs: 20_000, ...rest, name: guestName, stdout: watch ? watch.stream : 'capture', stderr: 'capture' };
  const own = opts.layer === undefined;
  const layer = opts.layer ?? layerFor(await policyFor(runOpts, guestName), 'secure');
  const audit: AuditRecord[] = [];
  const sink = (r: AuditRecord): void => { audit.push(r); };
  layer.audit.addSink(sink);
  try {
    // run() starts only layers it made itself (published ports listen from here on).
    if (own) await layer.start();
    // A layer made here from the network and mode options holds them; given with it, run() would refuse them.
    const { network: _network, mode: _mode, ...forRun } = runOpts;
    if (forRun.policy) forRun.policy = { ...forRun.policy, network: undefined };
    const result = await run(hostileGuest(name), { ...(own ? forRun : runOpts), layer });
    const socketsLeft = layer.sockets().filter((s) => own || s.owner.startsWith(`${guestName}:`)).length;
    // Closing flushes the audit log, so aggregated counts are in `audit` too.
    if (own) layer.close();
    const stdout = watch ? watch.text() : result.stdout?.toString('utf8') ?? '';
    return { result, stdout, stderr: result.stderr?.toString('utf8') ?? '', verdicts: parseVerdicts(stdout), audit, socketsLeft };
  } finally {
    if (own) layer.close();
    else layer.audit.removeSink(sink);
  }
}

let warm: Promise<void> | undefined;

/**
 * The first run of a process starts the API's spare enclave thread, which
 * then stays (with its descriptors): one ordinary run first, so descriptor
 * counts compare like with like.
 */
export function warmUp(): Promise<void> {
  warm ??= run(guest('hello'), { stdout: 'ignore', stderr: 'ignore', timeoutMs: 20_000 }).then(() => undefined);
  return warm;
}

/**
 * runHostile, wrapped in the checks every API run of the suite makes: the
 * descriptors of this process are the same before and after (once settled),
 * and no socket entry is left on the layer.
 */
export async function checkedRun(name: string, opts: HostileOptions = {}): Promise<HostileRun> {
  await warmUp();
  const before = await stableFds();
  const targets = fdTargets();
  const r = await runHostile(name, opts);
  const after = await fdsBackTo(before);
  assert.equal(after, before, `descriptors of the test process: ${before} before the run, ${after} after (${fdDiff(targets, fdTargets()).join('; ')})`);
  assert.equal(r.socketsLeft, 0, 'socket-table entries left after the run');
  return r;
}

/** A layer for several guests, with every audit record kept. */
export function sharedLayer(opts: ConstructorParameters<typeof Layer>[0] = {}): { layer: Layer; audit: AuditRecord[] } {
  const layer = new Layer({ mode: 'secure', ...opts });
  const audit: AuditRecord[] = [];
  layer.audit.addSink((r) => { audit.push(r); });
  return { layer, audit };
}

// ---------------------------------------------------------------- audit

/** Audit records of decision `decision` (and op, when given). */
export function recordsOf(audit: AuditRecord[], decision: AuditRecord['decision'], op?: string): AuditRecord[] {
  return audit.filter((r) => r.decision === decision && (op === undefined || r.op === op));
}

/** Asserts at least one record matches; returns the first. */
export function assertRecord(audit: AuditRecord[], match: Partial<Record<keyof AuditRecord, string | RegExp>>, what: string): AuditRecord {
  const found = audit.find((r) => Object.entries(match).every(([k, v]) => {
    const value = (r as unknown as Record<string, unknown>)[k];
    return typeof v === 'string' ? value === v : typeof value === 'string' && v.test(value);
  }));
  assert.ok(found, `${what}: no audit record matching ${JSON.stringify(match, (_k, v) => (v instanceof RegExp ? String(v) : v))}; records: ${JSON.stringify(audit.filter((r) => r.op !== 'start' && r.op !== 'exit'))}`);
  return found;
}

/** Total events the records stand for (aggregated records carry a count). */
export function eventCount(records: AuditRecord[]): number {
  return records.reduce((n, r) => n + (r.count ?? 1), 0);
}

// ---------------------------------------------------------------- misc

/** A stdin stream the test feeds later (e.g. to tell a waiting guest to go on). */
export function feedableStdin(): { stream: Readable; send(text: string): void; end(): void } {
  const stream = new Readable({ read() {} });
  return { stream, send: (t) => { stream.push(t); }, end: () => { stream.push(null); } };
}

/** Resident set size of this process, in bytes (after a GC when exposed). */
export function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

export const MiB = 1024 * 1024;

/** Samples this process's RSS while `fn` runs; returns fn's result and the peak growth over the start. */
export async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const start = rss();
  let peak = start;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}


// ---------------------------------------------------------------- filesystem fixture

export interface FsFixture {
  /** The sentinel tree: everything below it is the "host" the guests attack. */
  root: string;
  /** Mounted read-write at /data. */
  data: string;
  /** Mounted read-only at /ro. */
  ro: string;
  /** A second read-write mount, /data_b. */
  dataB: string;
  /** A file outside every mount. */
  secret: string;
  /** Snapshot of everything but the read-write mounts (which guests may legitimately change). */
  outside(): Record<string, string>;
  /** Snapshot of the read-write mounts, without directory mtimes (a guest's own created-then-removed links change those). */
  inside(): Record<string, string>;
  cleanup(): void;
}

/**
 * A sentinel tree with mounts, a sibling whose name starts like a mount
 * (data2), secrets outside, and host symlinks pointing out:
 *   outside_secret.txt            "SECRET outside"
 *   data2/secret.txt              "SECRET data2"
 *   data/ (rw)   inside.txt, sub/inside_sub.txt, f.txt,
 *                host_abs_link -> <root>/outside_secret.txt, host_rel_link -> ../outside_secret.txt,
 *                host_dir_link -> ../data2, host_abs_dir_link -> <root>/data2, sub/chain_link -> ../host_rel_link,
 *                loop_a <-> loop_b, proc/self/root -> /, proc/self/cwd -> ../../.., fifo (a named pipe)
 *   ro/ (ro)     file.txt, sub/inside_ro_sub.txt, emptydir/
 *   data_b/ (rw) b.txt
 */
export function fsFixture(prefix = 'capsule-hostile-'): FsFixture {
  const root = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), prefix));
  const p = (...parts: string[]): string => path.join(root, ...parts);
  try {
    for (const d of ['data', 'data/sub', 'data/proc', 'data/proc/self', 'data2', 'ro', 'ro/sub', 'ro/emptydir', 'data_b']) fs.mkdirSync(p(d));
    fs.writeFileSync(p('outside_secret.txt'), 'SECRET outside\n');
    fs.writeFileSync(p('data2', 'secret.txt'), 'SECRET data2\n');
    fs.writeFileSync(p('data', 'inside.txt'), 'inside data\n');
    fs.writeFileSync(p('data', 'f.txt'), 'inside f\n');
    fs.writeFileSync(p('data', 'sub', 'inside_sub.txt'), 'inside sub\n');
    fs.writeFileSync(p('ro', 'file.txt'), 'inside ro\n');
    fs.writeFileSync(p('ro', 'sub', 'inside_ro_sub.txt'), 'inside ro sub\n');
    fs.writeFileSync(p('data_b', 'b.txt'), 'inside b\n');
    fs.symlinkSync(p('outside_secret.txt'), p('data', 'host_abs_link'));
    fs.symlinkSync('../outside_secret.txt', p('data', 'host_rel_link'));
    fs.symlinkSync('../data2', p('data', 'host_dir_link'));
    fs.symlinkSync(p('data2'), p('data', 'host_abs_dir_link'));
    fs.symlinkSync('../host_rel_link', p('data', 'sub', 'chain_link'));
    fs.symlinkSync('loop_b', p('data', 'loop_a'));
    fs.symlinkSync('loop_a', p('data', 'loop_b'));
    fs.symlinkSync('/', p('data', 'proc', 'self', 'root'));
    fs.symlinkSync('../../..', p('data', 'proc', 'self', 'cwd'));
    execFileSync('mkfifo', [p('data', 'fifo')]);
    // Old, distinct mtimes make any touch visible.
    const old = new Date('2001-02-03T04:05:06Z');
    for (const f of ['outside_secret.txt', 'data2/secret.txt', 'ro/file.txt', 'data/inside.txt']) fs.utimesSync(p(f), old, old);
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const rw = new Set(['data', 'data_b']);
  return {
    root, data: p('data'), ro: p('ro'), dataB: p('data_b'), secret: p('outside_secret.txt'),
    outside: () => snapshotTree(root, { skip: (r) => rw.has(r) }),
    inside: () => ({
      ...Object.fromEntries(Object.entries(snapshotTree(p('data'), { dirMtimes: false })).map(([k, v]) => [`data/${k}`, v])),
      ...Object.fromEntries(Object.entries(snapshotTree(p('data_b'), { dirMtimes: false })).map(([k, v]) => [`data_b/${k}`, v])),
    }),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
