// syscall() (src/abi/syscall.ts): the one wrapper around every imported
// function. Errors become errnos, guest control flow passes through, every
// argument reaches the function, and CAPSULE_TRACE lines name the guest.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Denial, Errno, SysError } from '../../src/core/errno.js';
import { setDenialHook, GuestStop } from '../../src/abi/errors.js';
import { ProcExit } from '../../src/abi/exit.js';
import { GuestMemory } from '../../src/abi/memory.js';
import type { Preview1Context } from '../../src/abi/preview1/context.js';
import { createPreview1 } from '../../src/abi/preview1/index.js';
import { MAX_PARAMS, syscall, syscalls, type GuestFunction } from '../../src/abi/syscall.js';
import type { WasixContext } from '../../src/abi/wasix/context.js';
import { createWasix } from '../../src/abi/wasix/index.js';
import { FdTable } from '../../src/layer/fdtable.js';
import { MAIN_TID, threadContext } from '../../src/enclave/guest-threads.js';

const fn = (f: (...args: never[]) => unknown): GuestFunction => f as GuestFunction;
const call = (g: GuestFunction, ...args: unknown[]): unknown => (g as (...a: unknown[]) => unknown)(...args);

describe('syscall()', () => {
  it('returns what the function returns, with every argument it was given', () => {
    const g = syscall('path_open', fn((a: number, b: number, c: number, d: number, e: number, f: bigint, g2: bigint, h: number, i: number) =>
      [a, b, c, d, e, f, g2, h, i].map(String).join(',')));
    assert.equal(call(g, 1, 2, 3, 4, 5, 6n, 7n, 8, 9), '1,2,3,4,5,6,7,8,9');
    assert.equal(call(syscall('sched_yield', fn(() => 0))), 0);
  });

  it('turns a SysError into its errno, and anything unexpected into EIO', () => {
    assert.equal(call(syscall('fd_read', fn(() => { throw new SysError(Errno.BADF); }))), Errno.BADF);
    assert.equal(call(syscall('fd_read', fn(() => { throw new TypeError('bug'); }))), Errno.IO);
  });

  it('reports a denial with the name of the call', () => {
    const seen: string[] = [];
    setDenialHook((op, d) => seen.push(`${op} ${d.reason}`));
    assert.equal(call(syscall('path_open', fn(() => { throw new Denial(Errno.NOTCAPABLE, 'deny', 'not mounted'); }))), Errno.NOTCAPABLE);
    assert.deepEqual(seen, ['path_open not mounted']);
  });

  it('lets the guest\'s exit and the enclave\'s stops through', () => {
    assert.throws(() => call(syscall('proc_exit', fn(() => { throw new ProcExit(3); }))), ProcExit);
    assert.throws(() => call(syscall('fd_write', fn(() => { throw new GuestStop('limit', 'stopped'); }))), GuestStop);
  });

  it('refuses a function with more parameters than it passes', () => {
    const wide = new Function(...Array.from({ length: MAX_PARAMS + 1 }, (_, i) => `p${i}`), 'return 0') as GuestFunction;
    assert.throws(() => syscall('wide', wide), /takes 11 parameters/);
  });

  it('traces each call with its arguments and result, errno named, and a call that ends the guest', () => {
    const lines: string[] = [];
    const trace = (l: string): void => { lines.push(l); };
    const imports = syscalls({
      fd_write: fn((fd: number, iovs: number) => (fd === 1 ? 0 : Errno.BADF) + iovs * 0),
      proc_exit: fn((code: number) => { throw new ProcExit(code); }),
    }, trace);
    call(imports['fd_write']!, 1, 1024);
    call(imports['fd_write']!, 9, 1024);
    assert.throws(() => call(imports['proc_exit']!, 2), ProcExit);
    assert.deepEqual(lines, ['fd_write(1, 1024) -> 0', 'fd_write(9, 1024) -> 8 (EBADF)', 'proc_exit(2) -> (no return)']);
  });
});

/** Calls that end the guest or its thread, or run its signal handlers: they throw through by design. */
const ENDS_GUEST = new Set(['proc_exit', 'proc_exit2', 'thread_exit', 'proc_raise', 'proc_raise_interval', 'thread_signal']);

/** Calls that return nothing in the WASIX ABI. */
const NO_RESULT = new Set(['callback_signal']);

describe('every import goes through syscall()', () => {
  const memory = new GuestMemory();
  const ctx = {
    memory, fds: new FdTable(), args: [], env: [],
    threads: threadContext({ memory: () => undefined, guestMemory: memory, tid: MAIN_TID }),
    clocks: { now: () => 0n, resolution: () => 1n }, randomFill: () => {}, eventEpoch: () => 0, waitForEvents: () => {},
    net: { call: () => { throw new SysError(Errno.NETDOWN); } },
    openSocket: () => { throw new SysError(Errno.NETDOWN); },
  } as unknown as WasixContext;

  for (const [module, imports] of [['wasi_snapshot_preview1', (t?: (l: string) => void) => createPreview1(ctx as Preview1Context, t)],
    ['wasix_32v1', (t?: (l: string) => void) => createWasix(ctx, t)]] as const) {
    it(`${module}: no function throws an errno at the guest, and each is traced`, () => {
      const lines: string[] = [];
      for (const [name, f] of Object.entries(imports((l) => lines.push(l)))) {
        if (ENDS_GUEST.has(name)) continue;
        // With no memory attached, any pointer is out of bounds: every call fails cleanly or does nothing.
        const r = call(f, 0, 0, 0, 0, 0, 0n, 0n, 0, 0, 0);
        if (NO_RESULT.has(name)) assert.equal(r, undefined, `${name} returned ${String(r)}`);
        else assert.equal(typeof r, 'number', `${name} returned ${String(r)}`);
        assert.ok(lines.some((l) => l.startsWith(`${name}(`)), `${name} not traced`);
      }
    });
  }
});
