// Hostile guests, group 2: every kind of write to a read-only mount is refused, the host files stay
// byte-identical, and each refusal is a deny record naming the read-only mount.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkedRun, fsFixture, recordsOf, type FsFixture, type HostileRun } from '../helpers/hostile.js';

const NOTCAP = 'ENOTCAPABLE';

/** Refusals that come from the read-only mount lack an audit record today (see the report): */

interface RoCase {
  op: string;
  title: string;
  expect: Record<string, string>;
  /** Calls refused because the mount is read-only: each must leave a deny record naming /ro. */
  audited: number;
  todo?: string;
}

const CASES: RoCase[] = [
  { op: 'create', title: 'create a file', expect: { ro_create: NOTCAP }, audited: 1 },
  { op: 'create_excl', title: 'create with O_EXCL over an existing file', expect: { ro_create_excl: NOTCAP }, audited: 1 },
  {
    op: 'write', title: 'open for writing, and write/pwrite through a read-only descriptor',
    expect: { ro_write_open: 'EROFS', ro_write_fd: NOTCAP, ro_pwrite_fd: NOTCAP }, audited: 3,
  },
  { op: 'trunc', title: 'truncate with O_TRUNC', expect: { ro_trunc: NOTCAP }, audited: 1 },
  { op: 'unlink', title: 'unlink a file', expect: { ro_unlink: NOTCAP }, audited: 1 },
  { op: 'rmdir', title: 'remove an empty directory', expect: { ro_rmdir: NOTCAP }, audited: 1 },
  { op: 'mkdir', title: 'make a directory', expect: { ro_mkdir: NOTCAP }, audited: 1 },
  { op: 'rename', title: 'rename within the mount', expect: { ro_rename: NOTCAP }, audited: 1 },
  { op: 'symlink', title: 'make a symlink', expect: { ro_symlink: NOTCAP }, audited: 1 },
  { op: 'link', title: 'make a hard link', expect: { ro_link: NOTCAP }, audited: 1 },
  {
    op: 'times', title: 'set times (by path, on the mount directory, on a file descriptor)',
    expect: { ro_path_times: NOTCAP, ro_dir_times: NOTCAP, ro_fd_times: NOTCAP }, audited: 3,
  },
  {
    op: 'allocate', title: 'fd_allocate (asking for the right at open, and on a read-only descriptor)',
    expect: { ro_allocate_open: 'EROFS', ro_allocate: NOTCAP }, audited: 2,
  },
  {
    op: 'setsize', title: 'fd_filestat_set_size on a file opened read-only, and asking for the right at open',
    expect: { ro_setsize: NOTCAP, ro_setsize_open: 'EROFS' }, audited: 2,
  },
  {
    op: 'regain', title: 'regain write rights (fd_fdstat_set_rights, a subdirectory opened with every right)',
    expect: { ro_regain_rights: NOTCAP, ro_regain_sub_create: NOTCAP, ro_regain_sub_mkdir: NOTCAP }, audited: 2,
  },
];

describe('hostile guests: writes to a read-only mount (group 2)', () => {
  let fx: FsFixture;
  const runs = new Map<string, HostileRun>();
  before(() => { fx = fsFixture('capsule-hostile-ro-'); });
  after(() => fx.cleanup());

  const attack = async (op: string): Promise<HostileRun> => checkedRun('hostile_fs', {
    args: ['ro', op], dirs: [{ host: fx.ro, guest: '/ro', readOnly: true }, { host: fx.data, guest: '/data' }], timeoutMs: 10_000,
  });

  for (const c of CASES) {
    it(`${c.title}: refused, host byte-identical`, { timeout: 30_000 }, async () => {
      const before = fx.outside();
      const inside = fx.inside();
      const r = await attack(c.op);
      runs.set(c.op, r);
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 }, r.stdout + r.stderr);
      assert.deepEqual(Object.fromEntries(r.verdicts), c.expect, r.stdout);
      // Byte-identical, same modes and mtimes, nothing added or removed: the read-only mount and all around it.
      assert.deepEqual(fx.outside(), before);
      assert.deepEqual(fx.inside(), inside);
    });

    it(`${c.title}: each refusal is a deny record naming the read-only mount`, c.todo ? { todo: c.todo } : {}, () => {
      const r = runs.get(c.op);
      assert.ok(r, 'the attack did not run');
      const ro = recordsOf(r.audit, 'deny').filter((d) => d.target.startsWith('/ro') && /read-only/.test(d.reason));
      assert.equal(ro.length, c.audited, `deny records: ${JSON.stringify(recordsOf(r.audit, 'deny'))}`);
      for (const d of ro) {
        assert.equal(d.enclave, 'hostile-fs');
        assert.match(d.errno ?? '', /^(ROFS|NOTCAPABLE|PERM|BADF)$/);
        assert.match(d.reason, /mount \/ro is read-only/);
      }
    });
  }

  it('reading the read-only mount still works (control)', async () => {
    const r = await attack('read');
    assert.equal(r.verdicts.get('ro_read'), 'OK (inside ro.)');
    assert.equal(recordsOf(r.audit, 'deny').length, 0);
  });
});
