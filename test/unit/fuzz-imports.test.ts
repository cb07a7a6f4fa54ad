// Property-based fuzzing of every import Capsule provides (wasi_snapshot_preview1
// and wasix_32v1), called straight from JS with random arguments of the exact
// wasm type each import has (PROVIDED_TYPES), against one page of memory and
// a context of in-memory parts (test/helpers/fuzz-context.ts). Every call must
// return an errno (an integer in 0..76) or end the guest cleanly (ProcExit from
// proc_exit, ProcSignal from proc_raise, a WebAssembly.RuntimeError); no host
// exception may escape, none may be hidden behind EIO either (the glue logs
// those with CAPSULE_DEBUG=1, which this file turns on), and a call that
// fails with EFAULT must have changed nothing.
//
// Bugs the fuzzing found in src/ are listed in KNOWN_BUGS: a failing call is
// excused only when it is exactly one of them (it must still return an
// errno), and each has a deterministic reproduction at the end of this file,
// marked todo until it is fixed. Fixing one makes its todo test pass: then
// drop the todo and its KNOWN_BUGS entry.
//
// FUZZ_SEED and FUZZ_RUNS override the fixed seed and the runs per import.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { World, WorldConfig } from '../helpers/fuzz-context.js';

// Before anything loads src/abi/errors.js: make it log host errors it turns into EIO.
process.env['CAPSULE_DEBUG'] = '1';
delete process.env['CAPSULE_TRACE'];
const F = await import('../helpers/fuzz-context.js');
const { PREVIEW1_MODULE, PREVIEW1_NAMES } = await import('../../src/abi/preview1/index.js');
const { WASIX_MODULE, WASIX_NAMES } = await import('../../src/abi/wasix/sockets.js');
const { WASI_THREADS_MODULE } = await import('../../src/abi/wasix/names.js');
const { PROVIDED_TYPES } = await import('../../src/module/import-types.js');
const { ProcExit, ProcSignal } = await import('../../src/abi/exit.js');
const { Errno } = await import('../../src/core/errno.js');
const { DIRECTORY_RIGHTS, FILE_RIGHTS, FdFlags, OFlags } = await import('../../src/core/witx.js');

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed1e55);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200);
const SIZE = F.PAGE;
const MAX_ERRNO = 76;

type Arg = number | bigint;
type Fn = (...args: Arg[]) => unknown;

// ---------------------------------------------------------------------------
// Argument generators.

/** i32 values worth trying anywhere: edges, the end of memory, powers of two that wrap when scaled by a struct size. */
const I32_EDGES = [
  0, 1, -1, 2, 3, 4, 7, 8, 16, 0x7fffffff, -0x80000000, 0xffff, 0x7fff, -0x8000,
  SIZE, SIZE - 1, SIZE + 1, SIZE - 2, SIZE - 3, SIZE - 4, SIZE - 8, SIZE - 16, SIZE - 24, SIZE - 32, SIZE - 48,
  SIZE - 64, SIZE - 110, SIZE + 4, SIZE * 2,
];
/** Struct sizes of the ABI (u32, iovec, addr_ip, fdstat, event, subscription, filestat, addr_port). */
const STRUCT_SIZES = [4, 8, 18, 24, 32, 48, 64, 110];
/** Counts whose size in bytes (count × a struct size) just passes a multiple of 2^32: where a 32-bit length wraps. */
const wrapping: fc.Arbitrary<number> = fc.constantFrom(...STRUCT_SIZES)
  .chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 1, max: s - 1 }), fc.integer({ min: 0, max: 2 })))
  .map(([s, k, j]) => (Math.ceil((k * 2 ** 32) / s) + j) | 0);
const anyI32: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...I32_EDGES),
  wrapping,
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: 0, max: 64 }),
  fc.integer({ min: SIZE - 130, max: SIZE + 16 }),
  fc.integer({ min: 1, max: 31 }).chain((k) => fc.constantFrom(2 ** k | 0, -(2 ** k) | 0, (2 ** k - 1) | 0, (2 ** k + 1) | 0)),
);

const I64_EDGES = [
  0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt.asIntN(64, 2n ** 64n - 1n), BigInt.asIntN(64, 2n ** 63n),
  2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n), 2n ** 32n - 1n, 2n ** 32n, 2n ** 31n, BigInt(SIZE),
  0x3fffffffn, 0x40000000n, 1_000_000_000n, 2n ** 62n,
];
const anyI64: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...I64_EDGES),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: 0n, max: 70_000n }),
  fc.bigInt({ min: -16n, max: -1n }),
);

const weighted = <T>(specific: fc.Arbitrary<T>, generic: fc.Arbitrary<T>, w = 3): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: specific, weight: w }, { arbitrary: generic, weight: 1 });

const ptr = weighted(fc.oneof(fc.constantFrom(...F.INTERESTING_POINTERS), fc.integer({ min: 0, max: SIZE + 16 })), anyI32);
const small = (max: number): fc.Arbitrary<number> => weighted(fc.integer({ min: 0, max }), anyI32);
/** A number of structs (iovecs, subscriptions, addresses): small, or one whose byte size wraps. */
const count = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 9 }), weight: 4 }, { arbitrary: wrapping, weight: 1 }, { arbitrary: anyI32, weight: 1 });

/** What a parameter means, to bias its values toward ones that reach deeper (every role still gets anyI32/anyI64). */
const ROLES: Record<string, fc.Arbitrary<Arg[]>> = {
  fd: small(11).map((v) => [v]),
  ptr: ptr.map((v) => [v]),
  len: weighted(fc.integer({ min: 0, max: 320 }), anyI32).map((v) => [v]),
  flags: weighted(fc.oneof(fc.integer({ min: 0, max: 31 }), fc.constantFrom(0x20, 0x40, 0x100, 0xffff)), anyI32).map((v) => [v]),
  small: small(32).map((v) => [v]),
  int: anyI32.map((v) => [v]),
  addr: weighted(fc.constantFrom(...[0, 1, 2, 3].map((i) => F.LAYOUT.addrs + i * 112)), ptr).map((v) => [v]),
  time: weighted(fc.constantFrom(F.LAYOUT.times, F.LAYOUT.times + 16), ptr).map((v) => [v]),
  subs: weighted(fc.constantFrom(...Array.from({ length: 8 }, (_, i) => F.LAYOUT.subs + i * 48)), ptr).map((v) => [v]),
  str: weighted(fc.constantFrom(...F.STRINGS).map((s) => [s.ptr, s.len]), fc.tuple(ptr, anyI32), 4),
  count: count.map((v) => [v]),
  iov: weighted(fc.tuple(fc.constantFrom(...Array.from({ length: 8 }, (_, i) => F.LAYOUT.iovecs + i * 8), F.LAYOUT.out, SIZE - 64, SIZE - 8), count),
    fc.tuple(ptr, count)),
  // i64 roles
  off: weighted(fc.bigInt({ min: 0n, max: 400n }), anyI64).map((v) => [v]),
  rights: weighted(fc.constantFrom(-1n, 0n, BigInt(FILE_RIGHTS), BigInt(DIRECTORY_RIGHTS), BigInt(DIRECTORY_RIGHTS | FILE_RIGHTS), 2n ** 30n), anyI64)
    .map((v) => [v]),
  ns: anyI64.map((v) => [v]),
};
const I64_ROLES = new Set(['off', 'rights', 'ns']);
const PAIR_ROLES = new Set(['str', 'iov']);

/** Parameter roles of every import; the test checks they line up with PROVIDED_TYPES. */
const HINTS: Record<string, string> = {
  args_get: 'ptr ptr', args_sizes_get: 'ptr ptr', environ_get: 'ptr ptr', environ_sizes_get: 'ptr ptr',
  clock_res_get: 'small ptr', clock_time_get: 'small ns ptr',
  fd_advise: 'fd off off small', fd_allocate: 'fd off off', fd_close: 'fd', fd_datasync: 'fd',
  fd_fdstat_get: 'fd ptr', fd_fdstat_set_flags: 'fd flags', fd_fdstat_set_rights: 'fd rights rights',
  fd_filestat_get: 'fd ptr', fd_filestat_set_size: 'fd off', fd_filestat_set_times: 'fd ns ns flags',
  fd_pread: 'fd iov off ptr', fd_prestat_get: 'fd ptr', fd_prestat_dir_name: 'fd ptr len', fd_pwrite: 'fd iov off ptr',
  fd_read: 'fd iov ptr', fd_readdir: 'fd ptr len off ptr', fd_renumber: 'fd fd', fd_seek: 'fd off small ptr',
  fd_sync: 'fd', fd_tell: 'fd ptr', fd_write: 'fd iov ptr',
  path_create_directory: 'fd str', path_filestat_get: 'fd flags str ptr', path_filestat_set_times: 'fd flags str ns ns flags',
  path_link: 'fd flags str fd str', path_open: 'fd flags str flags rights rights flags ptr',
  path_readlink: 'fd str ptr len ptr', path_remove_directory: 'fd str', path_rename: 'fd str fd str',
  path_symlink: 'str fd str', path_unlink_file: 'fd str', poll_oneoff: 'subs ptr count ptr',
  proc_exit: 'int', proc_raise: 'small', sched_yield: '', random_get: 'ptr len',
  sock_accept: 'fd flags ptr', sock_recv: 'fd iov flags ptr ptr', sock_send: 'fd iov flags ptr', sock_shutdown: 'fd small',
  // wasix_32v1
  sock_open: 'small small small ptr', sock_bind: 'fd addr', sock_listen: 'fd int', sock_connect: 'fd addr',
  sock_accept_v2: 'fd flags ptr ptr', sock_recv_from: 'fd iov flags ptr ptr ptr', sock_send_to: 'fd iov flags addr ptr',
  sock_status: 'fd ptr', sock_addr_local: 'fd ptr', sock_addr_peer: 'fd ptr',
  sock_set_opt_flag: 'fd small small', sock_get_opt_flag: 'fd small ptr', sock_set_opt_time: 'fd small time',
  sock_get_opt_time: 'fd small ptr', sock_set_opt_size: 'fd small off', sock_get_opt_size: 'fd small ptr',
  resolve: 'str small ptr count ptr',
  proc_exit2: 'int', proc_id: 'ptr', proc_parent: 'int ptr', proc_signals_sizes_get: 'ptr', proc_signals_get: 'ptr',
  callback_signal: 'str', thread_signal: 'int small', proc_raise_interval: 'small ns small', proc_fork: 'small ptr',
  proc_join: 'ptr flags ptr', fd_dup: 'fd ptr', fd_dup2: 'fd int small ptr', fd_fdflags_get: 'fd ptr', fd_fdflags_set: 'fd flags',
  fd_pipe: 'ptr ptr', fd_event: 'off flags ptr', getcwd: 'ptr ptr', chdir: 'str',
  path_open2: 'fd flags str flags rights rights flags flags ptr', epoll_create: 'ptr', epoll_ctl: 'fd small fd ptr',
  epoll_wait: 'fd ptr count ns ptr', thread_id: 'ptr', thread_exit: 'int', futex_wait: 'ptr int time ptr',
  futex_wake: 'ptr ptr', futex_wake_all: 'ptr ptr', thread_spawn_v2: 'ptr ptr', thread_join: 'int',
  thread_parallelism: 'ptr', thread_sleep: 'ns',
  // wasi (wasi-threads)
  'thread-spawn': 'int', thread_spawn: 'int',
};

/** "(i32, i64) -> (i32)" into its parameter and result types. */
function parseType(text: string): { params: string[]; results: string[] } {
  const m = /^\((.*)\) -> \((.*)\)$/.exec(text);
  assert.ok(m, `unreadable type ${text}`);
  const list = (s: string): string[] => (s.trim() === '' ? [] : s.split(',').map((x) => x.trim()));
  return { params: list(m[1]!), results: list(m[2]!) };
}

/** The arguments of `name`, typed by `params`; roles from HINTS when they match, generic values otherwise. */
function argsFor(name: string, params: string[]): fc.Arbitrary<Arg[]> {
  const generic = (): fc.Arbitrary<Arg[]> => fc.tuple(...params.map((p) => (p === 'i64' ? anyI64 : anyI32) as fc.Arbitrary<Arg>));
  const roles = HINTS[name]?.split(' ').filter((r) => r !== '');
  if (!roles) return generic();
  const kinds = roles.flatMap((r) => (PAIR_ROLES.has(r) ? ['i32', 'i32'] : [I64_ROLES.has(r) ? 'i64' : 'i32']));
  assert.deepEqual(kinds, params, `HINTS for ${name} do not match its type`);
  // Mostly the role's values, sometimes fully generic ones for the whole call.
  return weighted(fc.tuple(...roles.map((r) => ROLES[r]!)).map((parts) => parts.flat()), generic(), 4);
}

const worldArb: fc.Arbitrary<WorldConfig> = fc.record({
  fill: fc.constantFrom<WorldConfig['fill']>('structured', 'structured', 'structured', 'zero', 'random', 'ones'),
  seed: fc.integer(),
  callBytes: fc.constantFrom(Infinity, 16 * 1024 * 1024, 4096),
});

// ---------------------------------------------------------------------------
// Calling an import and judging what happened.

type Outcome = { kind: 'return'; value: unknown } | { kind: 'throw'; error: unknown };

interface Call {
  outcome: Outcome;
  /** What src/abi/errors.ts logged about host errors it turned into EIO. */
  hostErrors: string[];
}

function invoke(w: World, fn: Fn, args: Arg[]): Call {
  const hostErrors: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: unknown): boolean => {
    const text = String(chunk);
    if (text.includes('unexpected host error')) hostErrors.push(text.trim());
    else write.call(process.stderr, text);
    return true;
  }) as typeof process.stderr.write;
  w.waits = 0;
  try {
    return { outcome: { kind: 'return', value: fn(...args) }, hostErrors };
  } catch (error) {
    return { outcome: { kind: 'throw', error }, hostErrors };
  } finally {
    process.stderr.write = write;
  }
}

function show(args: Arg[]): string {
  return `(${args.map((a) => (typeof a === 'bigint' ? `${a}n` : String(a))).join(', ')})`;
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

const SPAWNS = new Set(['thread-spawn', 'thread_spawn']);

/** Imports that end the guest and never return. */
const ENDS_GUEST = new Set(['proc_exit', 'proc_exit2', 'thread_exit']);

/** The contract of every call: an errno, or the guest control flow this import may cause. */
function checkCall(name: string, results: string[], args: Arg[], c: Call): void {
  const where = `${name}${show(args)}`;
  const o = c.outcome;
  if (o.kind === 'throw') {
    const e = o.error;
    const allowed = e instanceof WebAssembly.RuntimeError ||
      (ENDS_GUEST.has(name) && e instanceof ProcExit) ||
      ((name === 'proc_raise' || name === 'thread_signal') && e instanceof ProcSignal);
    assert.ok(allowed, `${where} threw a host exception: ${describeError(e)}`);
  } else {
    assert.equal(ENDS_GUEST.has(name), false, `${where} returned instead of ending the guest`);
    if (results.length === 1) {
      // wasi-threads' spawn returns a negative errno (no thread can start in this world: there is no thread table).
      const v = SPAWNS.has(name) && typeof o.value === 'number' ? -o.value : o.value;
      assert.ok(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ERRNO, `${where} returned ${String(v)}, not an errno`);
    }
  }
  assert.deepEqual(c.hostErrors, [], `${where} hid a host exception behind EIO (${c.hostErrors[0]?.split('\n')[0]?.replace(/^capsule: /, '')})`);
  if (o.kind === 'return') assert.notEqual(o.value, Errno.IO, `${where} returned EIO (nothing in this context fails with EIO)`);
}

/** What some imports promise beyond their errno, checked on success. */
function checkResults(w: World, name: string, args: Arg[], c: Call): void {
  if (c.outcome.kind !== 'return' || c.outcome.value !== 0) return;
  const n = (i: number): number => args[i] as number;
  if (name === 'resolve') {
    // The fake network gives at most 2 addresses for a name.
    const got = w.memory.u32(n(5));
    assert.ok(got <= Math.min(n(4) >>> 0, 2), `resolve${show(args)} succeeded reporting ${got} addresses`);
  }
  if (name === 'poll_oneoff') {
    const got = w.memory.u32(n(3));
    assert.ok(got >= 1 && got <= n(2) >>> 0, `poll_oneoff${show(args)} succeeded reporting ${got} events`);
  }
}

/** Where the iovec count is among each import's arguments. */
/**
 * Bugs in src/ this fuzzing found, each with a deterministic todo test below.
 * A failing call is excused only when it is exactly one of these (the
 * arguments that trigger it and the way it fails); it must still have
 * returned an errno. Everything else fails the property.
 */
interface KnownBug { id: string; matches(name: string, args: Arg[], c: Call): boolean }


const KNOWN_BUGS: KnownBug[] = [];

/** Checks one call; a failure that is exactly a known bug is recorded in `known` instead. Returns false for those. */
function judge(w: World, imp: { name: string; results: string[] }, args: Arg[], c: Call, known: Map<string, string>): boolean {
  try {
    checkCall(imp.name, imp.results, args, c);
    checkResults(w, imp.name, args, c);
    return true;
  } catch (err) {
    const bug = KNOWN_BUGS.find((b) => b.matches(imp.name, args, c));
    if (!bug) throw err;
    if (!known.has(bug.id)) known.set(bug.id, `${imp.name}${show(args)}`);
    return false;
  }
}

function reportKnown(t: { diagnostic(message: string): void }, known: Map<string, string>): void {
  for (const [id, example] of known) t.diagnostic(`known bug ${id} hit, e.g. ${example}`);
}

/** The host is fine after the call: memory intact, descriptor table consistent, state readable. */
function checkHost(w: World): void {
  assert.equal(w.memory.size, SIZE);
  assert.equal(w.ctx.fds.size, w.ctx.fds.numbers().length, 'descriptor count out of step with the table');
  assert.doesNotThrow(() => w.snapshot());
}

// ---------------------------------------------------------------------------
// The imports, exactly as the enclave builds them.

interface Import { module: string; name: string; type: string; params: string[]; results: string[] }

function allImports(): Import[] {
  const w = F.makeWorld({ fill: 'zero', seed: 1, callBytes: Infinity });
  const out: Import[] = [];
  for (const [module, fns] of [[PREVIEW1_MODULE, w.preview1], [WASIX_MODULE, w.wasix], [WASI_THREADS_MODULE, w.wasi]] as const) {
    for (const name of Object.keys(fns).sort()) {
      const type = PROVIDED_TYPES.get(`${module}.${name}`);
      assert.ok(type, `${module}.${name} has no entry in PROVIDED_TYPES`);
      out.push({ module, name, type, ...parseType(type) });
    }
  }
  return out;
}

function fnOf(w: World, module: string, name: string): Fn {
  const fn = (module === PREVIEW1_MODULE ? w.preview1 : module === WASI_THREADS_MODULE ? w.wasi : w.wasix)[name];
  assert.equal(typeof fn, 'function', `${module}.${name}`);
  return fn as unknown as Fn;
}

const IMPORTS = allImports();
const params = { seed: SEED, numRuns: RUNS, includeErrorInReport: true };

let undoClock: () => void = () => {};
before(() => { undoClock = F.installVirtualClock(); });
after(() => undoClock());

describe('fuzz: the imports fuzzed are every import', () => {
  it('preview 1 functions are exactly PREVIEW1_NAMES, wasix ones exactly WASIX_NAMES', () => {
    const names = (m: string): string[] => IMPORTS.filter((i) => i.module === m).map((i) => i.name).sort();
    assert.deepEqual(names(PREVIEW1_MODULE), [...PREVIEW1_NAMES].sort());
    assert.deepEqual(names(WASIX_MODULE), [...WASIX_NAMES].sort());
    // Every provided type is fuzzed, and every fuzzed name has roles.
    assert.deepEqual(IMPORTS.map((i) => `${i.module}.${i.name}`).sort(), [...PROVIDED_TYPES.keys()].sort());
    for (const i of IMPORTS) assert.ok(HINTS[i.name] !== undefined, `no HINTS for ${i.name}`);
  });
});

describe(`fuzz: every import, ${RUNS} runs each (seed ${SEED})`, () => {
  for (const imp of IMPORTS) {
    it(`${imp.module}.${imp.name} ${imp.type}: an errno or a clean trap; EFAULT changes nothing`, (t) => {
      const known = new Map<string, string>();
      fc.assert(fc.property(worldArb, argsFor(imp.name, imp.params), (cfg, args) => {
        const w = F.makeWorld(cfg);
        const fn = fnOf(w, imp.module, imp.name);
        const before = w.snapshot();
        const c = invoke(w, fn, args);
        checkHost(w);
        if (!judge(w, imp, args, c, known)) return;
        if (c.outcome.kind === 'return' && c.outcome.value === Errno.FAULT) {
          assert.equal(w.snapshot(), before, `${imp.name}${show(args)} failed with EFAULT but changed something`);
        }
      }), params);
      reportKnown(t, known);
    });
  }
});

describe('fuzz: sequences of calls on one context', () => {
  const step = fc.constantFrom(...IMPORTS).chain((imp) => argsFor(imp.name, imp.params).map((args) => ({ imp, args })));
  it('every call of a random sequence returns an errno or ends the guest cleanly', (t) => {
    const known = new Map<string, string>();
    fc.assert(fc.property(worldArb, fc.array(step, { minLength: 2, maxLength: 8 }), (cfg, steps) => {
      const w = F.makeWorld(cfg);
      for (const { imp, args } of steps) {
        const c = invoke(w, fnOf(w, imp.module, imp.name), args);
        checkHost(w);
        if (!judge(w, imp, args, c, known) || c.outcome.kind === 'throw') break;
      }
    }), { ...params, numRuns: RUNS * 2 });
    reportKnown(t, known);
  });
});

// ---------------------------------------------------------------------------
// Out-of-bounds result pointers: EFAULT, and nothing else happens.

/** A pointer to `n` bytes that does not fit in memory (as the glue reads it: unsigned). */
const oob = (n: number): fc.Arbitrary<number> => fc.oneof(
  fc.integer({ min: SIZE - n + 1, max: SIZE + 256 }),
  fc.constantFrom(-1, -n, -4, -8, -(2 ** 31), 2 ** 31 - 1, SIZE * 2),
  fc.integer({ min: -(2 ** 31), max: -1 }),
  fc.integer({ min: SIZE + 1, max: 2 ** 31 - 1 }),
);

const str = (text: string): [number, number] => {
  const s = F.STRINGS.find((x) => x.text === text);
  assert.ok(s, text);
  return [s.ptr, s.len];
};
const IOV = F.LAYOUT.iovecs + 8; // iovecs 1..3: 1, 7 and 16 bytes
const OUT = F.LAYOUT.out;
const V4 = F.LAYOUT.addrs;

interface FaultCase {
  module: string;
  name: string;
  /** Bytes the out-of-bounds pointer would have received. */
  bytes: number;
  args: (p: number) => Arg[];
  /** Makes the call one that would succeed (or block) with a good pointer. */
  prepare?: (w: World) => void;
}

const pendingConnection = (w: World): void => w.net.deliver();

const FAULT_CASES: FaultCase[] = [
  { module: PREVIEW1_MODULE, name: 'fd_read', bytes: 4, args: (p) => [0, IOV, 3, p] },
  { module: PREVIEW1_MODULE, name: 'fd_read', bytes: 4, args: (p) => [4, IOV, 3, p] },
  { module: PREVIEW1_MODULE, name: 'fd_read', bytes: 4, args: (p) => [7, IOV, 3, p] },
  { module: PREVIEW1_MODULE, name: 'fd_write', bytes: 4, args: (p) => [1, IOV, 3, p] },
  { module: PREVIEW1_MODULE, name: 'fd_write', bytes: 4, args: (p) => [4, IOV, 3, p] },
  { module: PREVIEW1_MODULE, name: 'fd_write', bytes: 4, args: (p) => [7, IOV, 3, p] },
  { module: PREVIEW1_MODULE, name: 'fd_pread', bytes: 4, args: (p) => [4, IOV, 3, 2n, p] },
  { module: PREVIEW1_MODULE, name: 'fd_pwrite', bytes: 4, args: (p) => [4, IOV, 3, 100n, p] },
  { module: PREVIEW1_MODULE, name: 'fd_seek', bytes: 8, args: (p) => [4, 5n, 0, p] },
  { module: PREVIEW1_MODULE, name: 'fd_tell', bytes: 8, args: (p) => [4, p] },
  { module: PREVIEW1_MODULE, name: 'fd_readdir', bytes: 4, args: (p) => [3, OUT, 512, 0n, p] },
  { module: PREVIEW1_MODULE, name: 'fd_filestat_get', bytes: 64, args: (p) => [4, p] },
  { module: PREVIEW1_MODULE, name: 'fd_fdstat_get', bytes: 24, args: (p) => [4, p] },
  { module: PREVIEW1_MODULE, name: 'path_readlink', bytes: 4, args: (p) => [3, ...str('link'), OUT, 64, p] },
  { module: PREVIEW1_MODULE, name: 'path_filestat_get', bytes: 64, args: (p) => [3, 0, ...str('a.txt'), p] },
  { module: PREVIEW1_MODULE, name: 'path_open', bytes: 4,
    args: (p) => [3, 0, ...str('a.txt'), OFlags.TRUNC, BigInt(FILE_RIGHTS), 0n, 0, p] },
  { module: PREVIEW1_MODULE, name: 'poll_oneoff', bytes: 4, args: (p) => [F.LAYOUT.subs, OUT, 3, p] },
  { module: PREVIEW1_MODULE, name: 'poll_oneoff', bytes: 3 * 32, args: (p) => [F.LAYOUT.subs, p, 3, OUT] },
  { module: PREVIEW1_MODULE, name: 'sock_accept', bytes: 4, args: (p) => [8, 0, p], prepare: pendingConnection },
  { module: PREVIEW1_MODULE, name: 'sock_recv', bytes: 4, args: (p) => [7, IOV, 3, 0, p, OUT + 8] },
  { module: PREVIEW1_MODULE, name: 'sock_recv', bytes: 2, args: (p) => [7, IOV, 3, 0, OUT, p] },
  { module: PREVIEW1_MODULE, name: 'sock_send', bytes: 4, args: (p) => [7, IOV, 3, 0, p] },
  { module: WASIX_MODULE, name: 'sock_open', bytes: 4, args: (p) => [1, 1, 0, p] },
  { module: WASIX_MODULE, name: 'sock_open', bytes: 4, args: (p) => [2, 2, 17, p] },
  { module: WASIX_MODULE, name: 'sock_accept_v2', bytes: 4, args: (p) => [8, 0, p, OUT + 8], prepare: pendingConnection },
  { module: WASIX_MODULE, name: 'sock_accept_v2', bytes: 110, args: (p) => [8, 0, OUT, p], prepare: pendingConnection },
  { module: WASIX_MODULE, name: 'sock_recv_from', bytes: 110, args: (p) => [9, IOV, 3, 0, OUT, OUT + 8, p] },
  { module: WASIX_MODULE, name: 'sock_send_to', bytes: 4, args: (p) => [9, IOV, 3, 0, V4, p] },
  { module: WASIX_MODULE, name: 'sock_get_opt_size', bytes: 8, args: (p) => [7, 11, p] },
  { module: WASIX_MODULE, name: 'resolve', bytes: 4, args: (p) => [...str('localhost'), 80, OUT, 4, p] },
  { module: WASIX_MODULE, name: 'resolve', bytes: 2 * 18, args: (p) => [...str('localhost'), 80, p, 2, OUT] },
];

describe('fuzz: an out-of-bounds result pointer is EFAULT and has no side effects', () => {
  it('each case below succeeds with a good pointer (so EFAULT is the pointer\'s doing)', () => {
    for (const fcase of FAULT_CASES) {
      const w = F.makeWorld({ fill: 'structured', seed: 7, callBytes: Infinity });
      fcase.prepare?.(w);
      const args = fcase.args(OUT + 0x800);
      const c = invoke(w, fnOf(w, fcase.module, fcase.name), args);
      checkCall(fcase.name, ['i32'], args, c);
      assert.equal(c.outcome.kind === 'return' && c.outcome.value, 0, `${fcase.name}${show(args)}`);
    }
  });

  it('path_open with O_CREAT and an out-of-bounds fd pointer creates nothing (and creates it with a good pointer)', () => {
    const names = ['new.txt', 'newdir', 'a.txt', 'empty/../new.txt'];
    fc.assert(fc.property(
      worldArb.filter((c) => c.fill === 'structured'),
      fc.constantFrom(...names), oob(4),
      fc.constantFrom(OFlags.CREAT, OFlags.CREAT | OFlags.EXCL, OFlags.CREAT | OFlags.TRUNC),
      fc.constantFrom(BigInt(FILE_RIGHTS), -1n, 0n), fc.constantFrom(0, FdFlags.APPEND),
      fc.constantFrom(0, 1),
      (cfg, name, p, oflags, rights, fdflags, dirflags) => {
        const w = F.makeWorld(cfg);
        const fn = fnOf(w, PREVIEW1_MODULE, 'path_open');
        const listing = w.listing();
        const state = w.snapshot();
        const mem = new Uint8Array(w.memory.slice(0, SIZE));
        const args: Arg[] = [3, dirflags, ...str(name), oflags, rights, rights, fdflags, p];
        const c = invoke(w, fn, args);
        checkCall('path_open', ['i32'], args, c);
        checkHost(w);
        assert.equal(c.outcome.kind === 'return' && c.outcome.value, Errno.FAULT, `path_open${show(args)}`);
        assert.deepEqual(w.listing(), listing, `path_open${show(args)} changed the tmpfs`);
        assert.equal(w.snapshot(), state);
        assert.deepEqual(new Uint8Array(w.memory.slice(0, SIZE)), mem, 'guest memory changed');
        // The same call with a good pointer does what the bad one must not have done.
        const good = invoke(w, fn, [...args.slice(0, 8), OUT]);
        const existed = listing.some((l) => l.startsWith(`${name.replace('empty/../', '')} `));
        const expected = oflags & OFlags.EXCL && existed ? Errno.EXIST : 0;
        assert.equal(good.outcome.kind === 'return' && good.outcome.value, expected, `path_open${show(args.slice(0, 8))}, ${OUT})`);
        if (!existed) assert.notDeepEqual(w.listing(), listing, 'a good pointer did create the file');
      },
    ), { ...params, numRuns: Math.max(50, RUNS / 2) });
  });

  for (const fcase of FAULT_CASES) {
    const label = `${fcase.name}${show(fcase.args(-999)).replace('-999', 'BAD')}`;
    it(`${label}: EFAULT, nothing changed (tmpfs, descriptors, stdio, sockets, memory)`, () => {
      fc.assert(fc.property(worldArb.filter((c) => c.fill === 'structured'), oob(fcase.bytes), (cfg, p) => {
        const w = F.makeWorld(cfg);
        fcase.prepare?.(w);
        const fn = fnOf(w, fcase.module, fcase.name);
        const state = w.snapshot();
        const mem = new Uint8Array(w.memory.slice(0, SIZE));
        const args = fcase.args(p);
        const c = invoke(w, fn, args);
        checkCall(fcase.name, ['i32'], args, c);
        checkHost(w);
        assert.equal(c.outcome.kind === 'return' && c.outcome.value, Errno.FAULT, `${fcase.name}${show(args)}`);
        assert.equal(w.snapshot(), state, `${fcase.name}${show(args)} changed state`);
        assert.deepEqual(new Uint8Array(w.memory.slice(0, SIZE)), mem, `${fcase.name}${show(args)} wrote guest memory`);
      }), { ...params, numRuns: 40 });
    });
  }
});

// ---------------------------------------------------------------------------
// Bugs the fuzzing once found, one deterministic call each (kept as regression tests).

describe('fuzz findings (bugs in src/, reproduced)', () => {
  const world = (callBytes = Infinity): World => F.makeWorld({ fill: 'zero', seed: 1, callBytes });
  const quiet = (w: World, module: string, name: string, args: Arg[]): void => {
    const c = invoke(w, fnOf(w, module, name), args);
    checkCall(name, ['i32'], args, c);
    checkResults(w, name, args, c);
    checkHost(w);
  };

  it('an iovec count of 2^29 is EFAULT for every import that takes iovecs', () => {
    // The iovec array starts 64 zero bytes before the end of memory; 0x100.. holds an IPv4 addr_port.
    const IOVS = F.PAGE - 64;
    const calls: [string, string, Arg[]][] = [
      [PREVIEW1_MODULE, 'fd_write', [1, IOVS, 0x20000000, 0x200]],
      [PREVIEW1_MODULE, 'fd_read', [0, IOVS, 0x20000000, 0x200]],
      [PREVIEW1_MODULE, 'fd_pread', [4, IOVS, 0x20000000, 0n, 0x200]],
      [PREVIEW1_MODULE, 'fd_pwrite', [4, IOVS, 0x20000000, 0n, 0x200]],
      [PREVIEW1_MODULE, 'sock_recv', [7, IOVS, 0x20000000, 0, 0x200, 0x210]],
      [PREVIEW1_MODULE, 'sock_send', [7, IOVS, 0x20000000, 0, 0x200]],
      [WASIX_MODULE, 'sock_recv_from', [9, IOVS, 0x20000000, 0, 0x200, 0x210, 0x300]],
      [WASIX_MODULE, 'sock_send_to', [9, IOVS, -0x80000000, 0, 0x100, 0x200]],
    ];
    const failures: string[] = [];
    for (const [module, name, args] of calls) {
      const w = world();
      w.memory.setU8(0x100, 1);
      w.memory.setU16(0x102, 80);
      try {
        quiet(w, module, name, args);
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0]!);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('poll_oneoff with a negative (>= 2^31 unsigned) subscription count fails at once instead of waiting forever', () => {
    const failures: string[] = [];
    for (const callBytes of [Infinity, 16 * 1024 * 1024]) {
      for (const args of [[0, 0x100, -0x80000000, 0x200], [0, 0x100, -(2 ** 28), 0x200], [256, 256, -268434096, 256]]) {
        try {
          quiet(world(callBytes), PREVIEW1_MODULE, 'poll_oneoff', args);
        } catch (err) {
          failures.push(`callBytes ${callBytes}: ${(err as Error).message.split('\n')[0]!}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  it('resolve with a negative (>= 2^31 unsigned) address count never reports more addresses than it wrote', () => {
    const w = F.makeWorld({ fill: 'structured', seed: 1, callBytes: Infinity });
    quiet(w, WASIX_MODULE, 'resolve', [...str('localhost'), 80, F.LAYOUT.out, -0x80000000, F.LAYOUT.out + 0x100]);
  });
});
