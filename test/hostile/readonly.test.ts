// Hostile guests, group 2: every kind of write to a read-only mount is refused (EROFS, at open for
// opens), the host files stay byte-identical, and each refusal is a deny record naming the read-only mount.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkedRun, eventCount, fsFixture, recordsOf, type FsFixture, type HostileRun } from '../helpers/hostile.js';

const NOTCAP = 'ENOTCAPABLE';
const ROFS = 'EROFS';

interface RoCase {
  op: string;
  title: string;
  expect: Record<string, string>;
  /** Calls refused because the mount is read-only: each must leave a deny record naming /ro. */
  audited: number;
}

// Anything that would change the mount is refused with EROFS, at open for opens; a write through a
// descriptor opened to read is refused for the right it lacks (ENOTCAPABLE).
const CASES: RoCase[] = [
  { op: 'create', title: 'create a file', expect: { ro_create: ROFS }, audited: 1 },
  { op: 'create_excl', title: 'create with O_EXCL over an existing file', expect: { ro_create_excl: ROFS }, audited: 1 },
  {
    op: 'write', title: 'open for writing, and write/pwrite through a read-only descriptor',
    expect: { ro_write_open: ROFS, ro_write_fd: NOTCAP, ro_pwrite_fd: NOTCAP }, audited: 3,
  },
  { op: 'trunc', title: 'truncate with O_TRUNC', expect: { ro_trunc: ROFS }, audited: 1 },
  { op: 'unlink', title: 'unlink a file', expect: { ro_unlink: ROFS }, audited: 1 },
  { op: 'rmdir', title: 'remove an empty directory', expect: { ro_rmdir: ROFS }, audited: 1 },
  { op: 'mkdir', title: 'make a directory', expect: { ro_mkdir: ROFS }, audited: 1 },
  { op: 'rename', title: 'rename within the mount', expect: { ro_rename: ROFS }, audited: 1 },
  { op: 'symlink', title: 'make a symlink', expect: { ro_symlink: ROFS }, audited: 1 },
  { op: 'link', title: 'make a hard link', expect: { ro_link: ROFS }, audited: 1 },
  {
    op: 'times', title: 'set times (by path, on the mount directory, on a file descriptor)',
    expect: { ro_path_times: ROFS, ro_dir_times: ROFS, ro_fd_times: ROFS }, audited: 3,
  },
  {
    op: 'allocate', title: 'fd_allocate (asking for the right at open, and on a read-only descriptor)',
    expect: { ro_allocate_open: ROFS, ro_allocate: NOTCAP }, audited: 2,
  },
  {
    op: 'setsize', title: 'fd_filestat_set_size on a file opened read-only, and on one opened asking for the right',
    expect: { ro_setsize: NOTCAP, ro_setsize_open: 'OK', ro_setsize_after_open: NOTCAP }, audited: 2,
  },
  {
    op: 'regain', title: 'regain write rights (fd_fdstat_set_rights, a subdirectory opened with every right)',
    expect: { ro_regain_rights: NOTCAP, ro_regain_sub_rights: NOTCAP, ro_regain_sub_create: ROFS, ro_regain_sub_mkdir: ROFS }, audited: 2,
  },
  {
    op: 'libc', title: 'through wasi-libc: open(O_WRONLY), O_RDWR|O_APPEND, O_CREAT, O_TRUNC, O_SYNC, fopen, mkdir, unlink, rename, ...',
    expect: {
      ro_libc_wronly: ROFS, ro_libc_rdwr: ROFS, ro_libc_rdwr_append: ROFS, ro_libc_append: ROFS, ro_libc_creat: ROFS,
      ro_libc_creat_existing: ROFS, ro_libc_excl: ROFS, ro_libc_trunc: ROFS, ro_libc_sync: ROFS, ro_libc_dsync: ROFS,
      ro_libc_fopen_w: ROFS, ro_libc_fopen_a: ROFS, ro_libc_fopen_rplus: ROFS, ro_libc_mkdir: ROFS, ro_libc_unlink: ROFS,
      ro_libc_rmdir: ROFS, ro_libc_rename: ROFS, ro_libc_link: ROFS, ro_libc_symlink: ROFS, ro_libc_utimens: ROFS,
      ro_libc_rdonly: 'OK', ro_libc_opendir: 'OK',
    },
    audited: 20,
  },
  {
    op: 'spellings', title: 'every spelling of "to write" at path_open (rights, oflags, fdflags), each alone',
    expect: {
      ro_ask_fd_write: ROFS, ro_ask_fd_write_only: ROFS, ro_ask_fd_allocate: ROFS, ro_ask_creat: ROFS, ro_ask_creat_excl: ROFS,
      ro_ask_creat_missing: ROFS, ro_ask_trunc: ROFS, ro_ask_append: ROFS, ro_ask_dsync: ROFS, ro_ask_rsync: ROFS,
      ro_ask_sync: ROFS, ro_ask_high_bits: ROFS,
      // Go's os.Open spells a read with FD_FILESTAT_SET_SIZE and PATH_CREATE_*: opened, and still cannot write.
      ro_ask_go_read: 'OK', ro_ask_go_read_write: NOTCAP, ro_ask_go_read_setsize: NOTCAP, ro_ask_nonblock: 'OK',
    },
    audited: 14,
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

    it(`${c.title}: each refusal is a deny record naming the read-only mount`, () => {
      const r = runs.get(c.op);
      assert.ok(r, 'the attack did not run');
      const ro = recordsOf(r.audit, 'deny').filter((d) => d.target.startsWith('/ro') && /read-only/.test(d.reason));
      // A flood of one kind is aggregated into one record with a count: count events, not records.
      assert.equal(eventCount(ro), c.audited, `deny records: ${JSON.stringify(recordsOf(r.audit, 'deny'))}`);
      const rofs = Object.values(c.expect).filter((v) => v === ROFS).length;
      assert.equal(eventCount(ro.filter((d) => d.errno === 'ROFS')), rofs, 'one ROFS record per EROFS');
      for (const d of ro) {
        assert.equal(d.enclave, 'hostile-fs');
        assert.match(d.errno ?? '', /^(ROFS|NOTCAPABLE)$/);
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
