// Hostile guests: filling the host's disk through a writable host mount. A
// mount with a quota bounds what the guest adds below it while it runs —
// bytes of file growth (written, truncated or allocated, through the write
// cache or not) and entries created — with EDQUOT and a "limit" record; what
// the quota allows still works, and rewriting in place costs nothing.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MiB, assertRecord, checkedRun, recordsOf, type HostileRun } from '../helpers/hostile.js';

const exitedZero = (r: HostileRun): void => assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 }, r.stdout + r.stderr);

describe('hostile guests: a host mount with a quota', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'capsule-quota-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const mount = (quota: { bytes?: number; entries?: number }) => ({ dirs: [{ host: dir, guest: '/data', quota }] });

  it('writes past the byte quota are refused with EDQUOT and audited; the host file stops at the quota', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_disk', { args: ['bytes', '/data'], ...mount({ bytes: MiB }) });
    exitedZero(r);
    assert.equal(r.verdicts.get('bytes'), `EDQUOT written=${MiB}`);
    assert.equal(fs.statSync(path.join(dir, 'big')).size, MiB);
    const d = assertRecord(r.audit, { decision: 'limit', errno: 'DQUOT', target: '/data/big' }, 'the byte quota');
    assert.match(d.reason, /^the byte quota of the mount \/data \(1048576 bytes\) is used up$/);
  });

  it('small writes through the write cache are counted before they are cached', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_disk', { args: ['bytes', '/data', '100'], writeCache: true, ...mount({ bytes: MiB }) });
    exitedZero(r);
    const written = Math.floor(MiB / 100) * 100;
    assert.equal(r.verdicts.get('bytes'), `EDQUOT written=${written}`);
    assert.equal(fs.statSync(path.join(dir, 'big')).size, written);
  });

  it('growth by ftruncate, fallocate and a pwrite far out is charged too; shrinking is allowed', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_disk', { args: ['sparse', '/data'], ...mount({ bytes: MiB }) });
    exitedZero(r);
    assert.deepEqual(Object.fromEntries(r.verdicts), {
      ftruncate: 'EDQUOT', fallocate: 'EDQUOT', pwrite: 'EDQUOT', small: 'OK', size: '1024',
    });
    assert.equal(fs.statSync(path.join(dir, 'sparse')).size, 1024);
  });

  it('rewriting the same bytes in place does not use the quota up', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_disk', { args: ['rewrite', '/data', '200'], ...mount({ bytes: MiB }) });
    exitedZero(r);
    assert.equal(r.verdicts.get('rewrite'), 'OK times=200');
    assert.equal(recordsOf(r.audit, 'limit').length, 0);
  });

  it('files, directories, symlinks and links past the entry quota are refused; existing names still open', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_disk', { args: ['entries', '/data'], ...mount({ entries: 50 }) });
    exitedZero(r);
    assert.deepEqual(Object.fromEntries(r.verdicts), {
      files: 'EDQUOT made=50', mkdir: 'EDQUOT', symlink: 'EDQUOT', link: 'EDQUOT', reopen: 'OK', mkdir_existing: 'EEXIST',
    });
    assert.equal(fs.readdirSync(dir).length, 50);
    const d = assertRecord(r.audit, { decision: 'limit', errno: 'DQUOT' }, 'the entry quota');
    assert.match(d.reason, /^the entry quota of the mount \/data \(50 files and directories\) is used up$/);
  });

  it('directories count as entries', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_disk', { args: ['dirs', '/data'], ...mount({ entries: 20 }) });
    exitedZero(r);
    assert.equal(r.verdicts.get('dirs'), 'EDQUOT made=20');
    assert.equal(fs.readdirSync(dir).length, 20);
  });

  it('a quota that is not a count is refused', async () => {
    await assert.rejects(checkedRun('hostile_disk', { args: ['dirs', '/data'], dirs: [{ host: dir, guest: '/data', quota: { entries: -1 } }] }),
      /dirs/);
  });
});
