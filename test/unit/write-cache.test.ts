// The write cache's board on real files: a slot holds a run until something
// needs it out, and then any party can write it out — another enclave of the
// layer (a call of another guest), the host's timer, or the host after the
// owner's thread is gone.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import { SMALL_WRITE_BYTES, WriteBoard, startFlushTimer } from '../../src/layer/fs/write-board.js';
import { WriteCache } from '../../src/layer/fs/write-cache.js';
import { tempDir, type TempDir } from '../helpers/cli.js';
import { policyFor } from '../../src/api/run.js';
import { System } from '../../src/api/system.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('write-cache board', () => {
  let tmp: TempDir;
  let n = 0;
  before(() => { tmp = tempDir(); });
  after(() => tmp.cleanup());
  const open = (): { fd: number; file: string } => {
    const file = path.join(tmp.path, `f${n++}`);
    return { fd: fs.openSync(file, 'w+'), file };
  };
  const content = (file: string): string => fs.readFileSync(file, 'utf8');

  it('holds sequential small writes, and a call of another guest writes them out', () => {
    const board = WriteBoard.create(2);
    const a = new WriteCache(board, 0);
    const { fd, file } = open();
    a.write(fd, 0, bytes('xxabc'), 2, 3);
    a.write(fd, 3, bytes('def'), 0, 3);
    assert.equal(content(file), '', 'coalesced, not yet written');
    assert.ok(board.dirty());
    new WriteCache(board, 1).flushAll(); // what another enclave does before any call
    assert.equal(content(file), 'abcdef');
    assert.ok(!board.dirty());
    fs.closeSync(fd);
  });

  it('a write elsewhere in the file, or to another file, writes the run out first', () => {
    const board = WriteBoard.create(1);
    const a = new WriteCache(board, 0);
    const f1 = open(), f2 = open();
    a.write(f1.fd, 0, bytes('1234'), 0, 4);
    a.write(f1.fd, 10, bytes('z'), 0, 1);
    assert.equal(content(f1.file), '1234');
    a.write(f2.fd, 0, bytes('q'), 0, 1);
    assert.equal(content(f1.file), '1234\0\0\0\0\0\0z');
    a.flushFd(f2.fd);
    assert.equal(content(f2.file), 'q');
  });

  it('a full slot is written out, and nothing is lost or reordered', () => {
    const board = WriteBoard.create(1);
    const a = new WriteCache(board, 0);
    const { fd, file } = open();
    const chunk = 'r'.repeat(SMALL_WRITE_BYTES - 1) + '\n';
    let want = '';
    for (let i = 0; i < 40; i++) {
      const c = `${i % 10}` + chunk.slice(1);
      a.write(fd, want.length, bytes(c), 0, c.length);
      want += c;
    }
    assert.ok(content(file).length > 0 && content(file).length < want.length);
    a.flushFd(fd);
    assert.equal(content(file), want);
  });

  it('the host writes out the slot of an enclave that is gone, even with its lock held', () => {
    const board = WriteBoard.create(1);
    const a = new WriteCache(board, 0);
    const { fd, file } = open();
    a.write(fd, 0, bytes('kept'), 0, 4);
    assert.ok(board.tryLock(0)); // killed while holding it
    assert.equal(board.tryFlushAll(), false);
    board.releaseSlot(0);
    assert.equal(content(file), 'kept');
    assert.ok(!board.dirty());
  });

  it('a write-out that fails is reported on the next call on that descriptor', () => {
    const board = WriteBoard.create(1);
    const a = new WriteCache(board, 0);
    const file = path.join(tmp.path, 'ro');
    fs.writeFileSync(file, '');
    const fd = fs.openSync(file, 'r'); // not open for writing: the write-out fails with EBADF
    a.write(fd, 0, bytes('x'), 0, 1);
    a.flushAll();
    assert.throws(() => a.write(fd, 1, bytes('y'), 0, 1), (e) => e instanceof SysError && e.errno === Errno.BADF);
    fs.closeSync(fd);
  });

  it("the host's timer writes a run out with no further call", async () => {
    const board = WriteBoard.create(1);
    startFlushTimer(board);
    const a = new WriteCache(board, 0);
    const { fd, file } = open();
    try {
      for (let round = 0; round < 3; round++) {
        a.write(fd, round, bytes(`${round}`), 0, 1);
        const deadline = Date.now() + 3000; // milliseconds in fact; generous for a busy machine
        while (content(file).length !== round + 1) {
          assert.ok(Date.now() < deadline, `round ${round}: not written out`);
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      assert.equal(content(file), '012');
    } finally {
      board.retire();
      fs.closeSync(fd);
    }
  });
});

describe('the writeCache option', () => {
  it('run() and System take only true or false, refused in one line naming the option (exit code 64)', async () => {
    await assert.rejects(policyFor({ writeCache: 'no' as never }, 'g'), (e: Error & { exitCode?: number }) =>
      e.exitCode === 64 && /^writeCache: expected true or false, got string$/.test(e.message));
    await assert.rejects(System.load({ guests: [], writeCache: 0 as never }), (e: Error & { exitCode?: number }) =>
      e.exitCode === 64 && /^writeCache: expected true or false, got number$/.test(e.message));
    assert.equal((await policyFor({ writeCache: false }, 'g')).writeCache, false);
    assert.equal((await policyFor({}, 'g')).writeCache, true);
  });
});
