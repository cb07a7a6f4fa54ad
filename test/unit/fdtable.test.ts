// FdTable (src/layer/fdtable.ts): slot allocation, capacity, lookups with
// rights, renumber and close semantics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import { Descriptor } from '../../src/layer/descriptor.js';
import { FdTable } from '../../src/layer/fdtable.js';

class Fake extends Descriptor {
  readonly filetype = 0;
  closes = 0;
  constructor(rights = 0xffff) { super(rights, 0); }
  override close(): void { this.closes++; }
}

const errno = (e: number) => (err: unknown): boolean => err instanceof SysError && err.errno === e;

describe('FdTable', () => {
  it('add() takes the lowest free slot', () => {
    const t = new FdTable();
    assert.deepEqual([t.add(new Fake()), t.add(new Fake()), t.add(new Fake())], [0, 1, 2]);
    t.close(1);
    assert.equal(t.add(new Fake()), 1);
    t.set(4, new Fake());
    assert.deepEqual([t.add(new Fake()), t.add(new Fake())], [3, 5]);
    assert.deepEqual(t.numbers(), [0, 1, 2, 3, 4, 5]);
    assert.equal(t.size, 6);
  });

  it('add() fails with MFILE at capacity, and works again after a close', () => {
    const t = new FdTable(3);
    for (let i = 0; i < 3; i++) t.add(new Fake());
    assert.throws(() => t.add(new Fake()), errno(Errno.MFILE));
    assert.equal(t.size, 3);
    t.close(0);
    assert.equal(t.add(new Fake()), 0);
  });

  it('get() of an unknown or closed fd is BADF', () => {
    const t = new FdTable();
    const fd = t.add(new Fake());
    for (const bad of [1, 7, -1, 2 ** 31, 1.5]) assert.throws(() => t.get(bad), errno(Errno.BADF), `fd ${bad}`);
    t.close(fd);
    assert.throws(() => t.get(fd), errno(Errno.BADF));
    assert.equal(t.peek(fd), undefined);
  });

  it('get() checks rights: NOTCAPABLE when any requested right is missing', () => {
    const t = new FdTable();
    const d = new Fake(0b0101);
    const fd = t.add(d);
    assert.equal(t.get(fd), d);
    assert.equal(t.get(fd, 0b0100), d);
    assert.equal(t.get(fd, 0b0101), d);
    assert.throws(() => t.get(fd, 0b0010), errno(Errno.NOTCAPABLE));
    assert.throws(() => t.get(fd, 0b0110), errno(Errno.NOTCAPABLE));
    assert.equal(t.peek(fd), d, 'peek() does not check rights');
  });

  it('close() calls Descriptor.close exactly once; a second close is BADF', () => {
    const t = new FdTable();
    const d = new Fake();
    const fd = t.add(d);
    t.close(fd);
    assert.equal(d.closes, 1);
    assert.throws(() => t.close(fd), errno(Errno.BADF));
    assert.equal(d.closes, 1);
    assert.equal(t.size, 0);
  });

  it('renumber(from, to): both must exist; to is closed and replaced, from is freed', () => {
    const t = new FdTable();
    const a = new Fake();
    const b = new Fake();
    const fa = t.add(a);
    const fb = t.add(b);
    assert.throws(() => t.renumber(9, fb), errno(Errno.BADF), 'from must exist');
    assert.throws(() => t.renumber(fa, 9), errno(Errno.BADF), 'to must exist');
    assert.equal(t.size, 2);
    t.renumber(fa, fb);
    assert.equal(t.get(fb), a);
    assert.throws(() => t.get(fa), errno(Errno.BADF));
    assert.equal(b.closes, 1);
    assert.equal(a.closes, 0);
    assert.equal(t.size, 1);
    assert.deepEqual(t.numbers(), [fb]);
    assert.equal(t.add(new Fake()), fa, 'the freed slot is reused');
  });

  it('renumber(fd, fd) changes nothing', () => {
    const t = new FdTable();
    const d = new Fake();
    const fd = t.add(d);
    t.renumber(fd, fd);
    assert.equal(t.get(fd), d);
    assert.equal(d.closes, 0);
    assert.equal(t.size, 1);
  });

  it('closeAll() closes every descriptor once', () => {
    const t = new FdTable();
    const ds = [new Fake(), new Fake(), new Fake()];
    for (const d of ds) t.add(d);
    t.closeAll();
    assert.deepEqual(ds.map((d) => d.closes), [1, 1, 1]);
    assert.equal(t.size, 0);
    assert.deepEqual(t.numbers(), []);
  });
});
