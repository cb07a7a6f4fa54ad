// The parts behind the WASIX descriptor, path and signal calls: shared
// descriptors (dup), pipes, event counters, epoll's level/edge/one-shot
// rules, the working directory's confinement to the mounts, and signals.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/abi/errno.js';
import { ProcSignal } from '../../src/abi/exit.js';
import { Signals } from '../../src/abi/wasix/signals.js';
import { DIRECTORY_RIGHTS, FILE_RIGHTS } from '../../src/abi/witx.js';
import { EpollDescriptor, EpollType } from '../../src/layer/epoll.js';
import { EventCounter } from '../../src/layer/event-counter.js';
import { FdTable } from '../../src/layer/fdtable.js';
import { DirectoryDescriptor } from '../../src/layer/fs/directory.js';
import { Listings } from '../../src/layer/fs/listing.js';
import { MemDir } from '../../src/layer/fs/memfs.js';
import { normalize, WorkingDirectory } from '../../src/layer/fs/working-directory.js';
import { makePipe, PIPE_CAPACITY } from '../../src/layer/pipe.js';

const errno = (code: number) => (e: unknown): boolean => e instanceof SysError && e.errno === code;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array, n: number): string => new TextDecoder().decode(b.subarray(0, n));

describe('descriptor table with duplicates', () => {
  it('closes a duplicated descriptor only with its last number', () => {
    const fds = new FdTable(8);
    const [r, w] = makePipe();
    const rfd = fds.add(r);
    const wfd = fds.add(w);
    const copy = fds.add(fds.get(wfd));
    fds.close(wfd);
    assert.equal(w.write([bytes('still open')]), 10, 'the write end lives on through its duplicate');
    fds.close(copy);
    const buf = new Uint8Array(32);
    assert.equal(r.read([buf]), 10);
    assert.equal(r.read([buf]), 0, 'end of stream once every write number is closed');
    fds.close(rfd);
  });

  it('counts duplicates against the descriptor limit and keeps numbers below it', () => {
    const fds = new FdTable(4);
    const [r] = makePipe();
    fds.add(r);
    for (let i = 0; i < 3; i++) fds.add(r);
    assert.throws(() => fds.add(r), errno(Errno.MFILE));
    assert.throws(() => fds.addFrom(4, r), errno(Errno.INVAL));
  });

  it('keeps close-on-exec per number: not shared by a duplicate, moved by renumber', () => {
    const fds = new FdTable(8);
    const [r] = makePipe();
    const a = fds.add(r);
    const b = fds.addFrom(5, r);
    assert.equal(b, 5);
    fds.setFlagsExt(b, 1);
    assert.deepEqual([fds.flagsExt(a), fds.flagsExt(b)], [0, 1]);
    const c = fds.add(r);
    fds.renumber(b, c);
    assert.equal(fds.flagsExt(c), 1);
    assert.throws(() => fds.flagsExt(b), errno(Errno.BADF));
  });
});

describe('pipes and event counters', () => {
  it('a pipe is bounded, fails with EAGAIN rather than waiting, and EPIPE once its reader is gone', () => {
    const [r, w] = makePipe();
    assert.throws(() => r.read([new Uint8Array(4)]), errno(Errno.AGAIN));
    assert.equal(w.write([new Uint8Array(PIPE_CAPACITY + 100)]), PIPE_CAPACITY);
    assert.throws(() => w.write([new Uint8Array(1)]), errno(Errno.AGAIN));
    assert.equal(w.pollWrite().ready, false);
    assert.equal(r.pollRead().ready, true);
    r.close();
    assert.throws(() => w.write([new Uint8Array(1)]), errno(Errno.PIPE));
  });

  it('reads across iovecs in order', () => {
    const [r, w] = makePipe();
    w.write([bytes('abc'), bytes('defg')]);
    const a = new Uint8Array(2), b = new Uint8Array(10);
    assert.equal(r.read([a, b]), 7);
    assert.equal(text(a, 2) + text(b, 5), 'abcdefg');
  });

  it('an event counter adds on write, is taken whole (or by one as a semaphore), and refuses overflow', () => {
    const le = (v: bigint): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return b; };
    const read = (d: EventCounter): bigint => { const b = new Uint8Array(8); d.read([b]); return new DataView(b.buffer).getBigUint64(0, true); };
    const e = new EventCounter(2n, false);
    e.write([le(5n)]);
    assert.equal(read(e), 7n);
    assert.throws(() => read(e), errno(Errno.AGAIN));
    const s = new EventCounter(2n, true);
    assert.deepEqual([read(s), read(s)], [1n, 1n]);
    assert.throws(() => s.write([le(0xffffffffffffffffn)]), errno(Errno.INVAL));
    s.write([le(0xfffffffffffffffen)]);
    assert.throws(() => s.write([le(1n)]), errno(Errno.AGAIN));
    assert.throws(() => s.read([new Uint8Array(4)]), errno(Errno.INVAL));
  });
});

describe('epoll entries', () => {
  const entry = (events: number) => {
    const ep = new EpollDescriptor();
    const [r] = makePipe();
    ep.add(3, r, events, new Uint8Array(24));
    return { ep, i: ep.interests.get(3)! };
  };

  it('level-triggered: reported while ready', () => {
    const { i } = entry(EpollType.IN);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), EpollType.IN);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), EpollType.IN);
    assert.equal(EpollDescriptor.due(i, EpollType.OUT, 0n), 0, 'OUT not asked for');
    assert.equal(EpollDescriptor.due(i, EpollType.HUP, 0n), EpollType.HUP, 'HUP always reported');
  });

  it('edge-triggered: once per edge, again when more arrives or after it went away', () => {
    const { i } = entry(EpollType.IN | EpollType.ET);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), EpollType.IN);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), 0);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 5n), EpollType.IN, 'more bytes: a new edge');
    assert.equal(EpollDescriptor.due(i, 0, 0n), 0);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), EpollType.IN);
  });

  it('one-shot: disarmed after reporting until modified', () => {
    const { ep, i } = entry(EpollType.IN | EpollType.ONESHOT);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), EpollType.IN);
    assert.equal(EpollDescriptor.due(i, EpollType.IN, 1n), 0);
    ep.modify(3, EpollType.IN | EpollType.ONESHOT, new Uint8Array(24));
    assert.equal(EpollDescriptor.due(ep.interests.get(3)!, EpollType.IN, 1n), EpollType.IN);
  });

  it('refuses adding twice and changing what is not there', () => {
    const { ep } = entry(EpollType.IN);
    const [r] = makePipe();
    assert.throws(() => ep.add(3, r, EpollType.IN, new Uint8Array(24)), errno(Errno.EXIST));
    assert.throws(() => ep.modify(4, EpollType.IN, new Uint8Array(24)), errno(Errno.NOENT));
    assert.throws(() => ep.remove(4), errno(Errno.NOENT));
  });
});

describe('working directory', () => {
  const mount = (guestPath: string): DirectoryDescriptor => {
    const dir = MemDir.create(1 << 20, guestPath);
    dir.mkdir('sub');
    dir.openFile('file.txt', { read: true, write: true, create: true, exclusive: false, truncate: false });
    return new DirectoryDescriptor(dir, DIRECTORY_RIGHTS, DIRECTORY_RIGHTS | FILE_RIGHTS, guestPath, { read: 0, written: 0 }, new Listings());
  };

  it('normalizes lexically and never climbs above the root', () => {
    assert.equal(normalize('/data', 'sub/../x/./y//'), '/data/x/y');
    assert.equal(normalize('/data', '../../../..'), '/');
    assert.equal(normalize('/data', '/abs'), '/abs');
  });

  it('goes only to directories inside a mount', () => {
    const cwd = new WorkingDirectory([mount('/data'), mount('/data/inner')]);
    assert.equal(cwd.path, '/');
    cwd.change('/data/sub');
    assert.equal(cwd.path, '/data/sub');
    cwd.change('..');
    assert.equal(cwd.path, '/data');
    assert.throws(() => cwd.change('/etc'), errno(Errno.NOENT));
    assert.throws(() => cwd.change('../../etc'), errno(Errno.NOENT));
    assert.throws(() => cwd.change('file.txt'), errno(Errno.NOTDIR));
    assert.throws(() => cwd.change('missing'), errno(Errno.NOENT));
    cwd.change('/data/inner/sub');
    assert.equal(cwd.path, '/data/inner/sub', 'the innermost mount answers');
    assert.equal(cwd.path, '/data/inner/sub');
  });
});

describe('signals', () => {
  it('with no callback: 128+N for a terminating signal, nothing for an ignored one, EINVAL past the last', () => {
    const s = new Signals();
    assert.throws(() => s.raise(15), (e: unknown) => e instanceof ProcSignal && e.code === 143 && e.signal === 'SIGTERM');
    assert.doesNotThrow(() => s.raise(17));
    assert.doesNotThrow(() => s.raise(0));
    assert.throws(() => s.raise(32), errno(Errno.INVAL));
  });

  it('calls the registered export; SIGKILL cannot be caught; a signal raised while blocked in a delivery ends as that delivery', () => {
    const s = new Signals();
    const got: number[] = [];
    const exports = { handler: (sig: number) => {
      got.push(sig);
      if (sig === 15) {
        s.setCallback('blocked'); // as wasix-libc blocks signals: a callback that does not exist
        s.raise(6);
      }
    } } as unknown as WebAssembly.Exports;
    s.attach(exports);
    s.setCallback('handler');
    s.raise(10);
    assert.deepEqual(got, [10]);
    assert.throws(() => s.raise(9), (e: unknown) => e instanceof ProcSignal && e.code === 137);
    assert.throws(() => s.raise(15), (e: unknown) => e instanceof ProcSignal && e.code === 143);
  });

  it('fires interval timers when due, repeating or once', () => {
    const s = new Signals();
    const got: number[] = [];
    s.attach({ h: (sig: number) => got.push(sig) } as unknown as WebAssembly.Exports);
    s.setCallback('h');
    s.setTimer(14, 10, true);
    const t0 = performance.now();
    s.fireDue(t0);
    assert.deepEqual(got, []);
    s.fireDue(t0 + 20);
    s.fireDue(t0 + 40);
    assert.deepEqual(got, [14, 14]);
    s.setTimer(14, 0, false);
    assert.equal(s.nextTimer, Infinity);
  });
});
