// Hostile guests, group 6: what files can make the host hold. Directory listings stay bounded
// however many descriptors hold one; an in-memory mount counts every byte it keeps (unlinked but
// open files, headroom, entries, names) against its size; bad descriptor numbers are EBADF everywhere.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MiB, assertRecord, checkedRun, fsFixture, recordsOf, peakRssGrowth, type FsFixture, type HostileRun } from '../helpers/hostile.js';

const exitedZero = (r: HostileRun): void => assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 }, r.stdout + r.stderr);

/** A parsed "LABEL: ERRNO after N ..." verdict. */
function stopped(r: HostileRun, label: string): { errno: string; n: number } {
  const m = /^(\w+) after (\d+)/.exec(r.verdicts.get(label) ?? '');
  assert.ok(m, `${label}: ${r.stdout}`);
  return { errno: m[1]!, n: Number(m[2]) };
}

/** The ENOSPC refusals are "limit" records naming the in-memory mount. */
function assertFullRecord(r: HostileRun): void {
  const d = assertRecord(r.audit, { decision: 'limit', target: '/t', errno: 'NOSPC' }, 'the full in-memory mount');
  assert.match(d.reason, /^in-memory mount \/t is full: its size is 1 MiB \(--tmpfs \/t:SIZE\)$/);
}

describe('hostile guests: what files make the host hold (group 6)', () => {
  describe('directory listings', () => {
    const ENTRIES = 30_000;
    let fx: FsFixture;
    let big: string;
    before(() => {
      fx = fsFixture('capsule-hostile-list-');
      big = path.join(fx.data, 'big');
      fs.mkdirSync(big);
      for (let i = 0; i < ENTRIES; i++) fs.writeFileSync(path.join(big, `entry_${String(i).padStart(6, '0')}_with_a_longer_name`), '');
    });
    after(() => fx.cleanup());

    it('100 descriptors each with a listing of 30,000 entries started: host memory stays flat, every entry listed once', {
      timeout: 60_000,
    }, async () => {
      const names = fs.readdirSync(big).sort();
      const { value: r, growth } = await peakRssGrowth(() => checkedRun('hostile_fs_limits', {
        args: ['listings', 'big', '100'], dirs: [{ host: fx.data, guest: '/data' }], limits: { memoryBytes: 16 * MiB },
      }));
      exitedZero(r);
      assert.deepEqual(Object.fromEntries(r.verdicts), {
        listings_held: '100 OK', listings_count: String(ENTRIES + 2), listings_same: 'OK', listings_seek: 'OK',
      });
      // Each descriptor kept a copy of its whole listing before: 230 MiB and more here.
      assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
      assert.deepEqual(fs.readdirSync(big).sort(), names, 'the listed directory is unchanged');
    });
  });

  describe('an in-memory mount of 1 MiB', () => {
    const t1 = { tmpfs: { '/t': MiB } };

    it('unlinked files kept open still count until their last descriptor closes', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_fs_limits', { args: ['unlinked'], ...t1 });
      exitedZero(r);
      // 40 files of 256 KiB were tried; four (less the entries' own cost) fit in 1 MiB.
      const u = stopped(r, 'unlinked');
      assert.equal(u.errno, 'ENOSPC');
      assert.ok(u.n <= 4, r.stdout);
      assert.equal(r.verdicts.get('unlinked_after_close'), 'OK', 'closing gives the space back');
      assertFullRecord(r);
    });

    it('a file renamed over while open keeps its bytes counted until closed', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_fs_limits', { args: ['rename_over'], ...t1 });
      exitedZero(r);
      assert.deepEqual(Object.fromEntries(r.verdicts), {
        rename_over_setup: 'OK', rename_over_rename: 'OK', rename_over_write: 'ENOSPC', rename_over_after_close: 'OK',
      });
      assertFullRecord(r);
    });

    it('growth by set_size, allocate and far pwrite is charged before it is taken; shrinking gives it back', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_fs_limits', { args: ['sizes'], ...t1 });
      exitedZero(r);
      assert.deepEqual(Object.fromEntries(r.verdicts), {
        sizes_pwrite_1tib: 'ENOSPC', sizes_pwrite_2mib: 'ENOSPC', sizes_set_size_2mib: 'ENOSPC', sizes_set_size_2p52: 'ENOSPC',
        sizes_allocate_2mib: 'ENOSPC', sizes_allocate_far: 'ENOSPC', sizes_set_size_768k: 'OK', sizes_shrink: 'OK',
        sizes_allocate_768k: 'OK', sizes_final: 'OK size=0',
      });
      assertFullRecord(r);
    });
  });

  it('empty files, directories and hard links each cost their entry: bounded counts, bounded host memory', { timeout: 30_000 }, async () => {
    const size = 4 * MiB;
    const { value: r, growth } = await peakRssGrowth(() => checkedRun('hostile_fs_limits', { args: ['entries'], tmpfs: { '/t': size } }));
    exitedZero(r);
    // NAME_MAX is 255 bytes, for every kind of entry.
    assert.equal(r.verdicts.get('entries_name_255'), 'OK');
    for (const k of ['name', 'mkdir', 'symlink', 'link']) assert.equal(r.verdicts.get(`entries_${k}_256`), 'ENAMETOOLONG', k);
    // An inode costs 512 bytes and an entry 128 plus its name: the counts are bounded by the size.
    for (const k of ['files', 'dirs']) {
      const e = stopped(r, `entries_${k}`);
      assert.equal(e.errno, 'ENOSPC');
      assert.ok(e.n > size / 2048 && e.n <= size / 640, `${k}: ${e.n}`);
    }
    const links = stopped(r, 'entries_links');
    assert.equal(links.errno, 'ENOSPC');
    // Before entries were charged, a 1-character link cost 1 byte and a 1 MiB mount held 223,387 of them.
    assert.ok(links.n > size / 512 && links.n <= size / 128, `links: ${links.n}`);
    assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
  });

  describe('bad descriptor numbers', () => {
    let fx: FsFixture;
    before(() => { fx = fsFixture('capsule-hostile-badfd-'); });
    after(() => fx.cleanup());

    it('every fd_* call (and path_* and sock_shutdown) on closed, unknown and huge numbers: EBADF', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_fs_limits', { args: ['badfd'], dirs: [{ host: fx.data, guest: '/data' }] });
      exitedZero(r);
      assert.equal(r.verdicts.get('badfd'), 'EBADF', r.stdout);
      // Not a policy matter: no denial to audit.
      assert.equal(recordsOf(r.audit, 'deny').length, 0);
    });
  });
});
