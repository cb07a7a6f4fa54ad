// Hostile guests, group 5: impossible pointers, lengths and counts in every preview 1 and WASIX call give
// an errno (never a trap or host exception), and result pointers are checked before any side effect.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, type TempDir } from '../helpers/cli.js';
import { checkedRun, recordsOf, snapshotTree, type HostileRun } from '../helpers/hostile.js';

type Want = string | RegExp;
const EFAULT = 'EFAULT';
const FAULT_OR_NOMEM = /^(EFAULT|ENOMEM)$/;

const PROCESS: Record<string, Want> = {
  args_sizes_get_oob: EFAULT, args_sizes_get_end: EFAULT, args_get_ptrs_oob: EFAULT, args_get_buf_end: EFAULT,
  environ_sizes_get_oob: EFAULT, environ_get_buf_end: EFAULT, environ_get_ptrs_oob: EFAULT,
  clock_res_get_oob: EFAULT, clock_res_get_bad_id: 'EINVAL', clock_time_get_end: EFAULT, clock_time_get_neg_id: 'EINVAL',
  random_get_oob: EFAULT, random_get_huge: EFAULT, random_get_end: EFAULT, proc_raise_bad: 'EINVAL', proc_raise_neg: 'EINVAL',
};

const FD: Record<string, Want> = {
  fd_write_iovs_oob: EFAULT, fd_write_buf_oob: EFAULT, fd_write_len_huge: EFAULT, fd_write_count_huge: FAULT_OR_NOMEM,
  fd_write_count_neg: FAULT_OR_NOMEM, fd_write_nwritten_oob: EFAULT, fd_write_nwritten_end: EFAULT,
  fd_read_nread_oob: EFAULT, fd_read_buf_oob: EFAULT, fd_read_count_huge: FAULT_OR_NOMEM, fd_read_after: 'OK (hello)',
  fd_pread_offset_neg: 'EINVAL', fd_pread_offset_minus1: 'EINVAL', fd_pread_nread_end: EFAULT,
  fd_pwrite_nwritten_oob: EFAULT, fd_pwrite_buf_oob: EFAULT,
  fd_seek_result_oob: EFAULT, fd_seek_negative: 'EINVAL', fd_seek_whence: 'EINVAL', fd_seek_huge: /^(EOVERFLOW|EINVAL)$/,
  fd_tell_end: EFAULT, fd_fdstat_get_oob: EFAULT, fd_fdstat_get_end: EFAULT, fd_fdstat_set_flags_bad: 'EINVAL',
  fd_fdstat_set_rights_gain: 'ENOTCAPABLE', fd_filestat_get_end: EFAULT, fd_filestat_set_size_neg: 'EINVAL',
  fd_filestat_set_times_flags: 'EINVAL', fd_allocate_huge: /^(EOVERFLOW|EFBIG|EINVAL)$/, fd_allocate_neg: 'EINVAL',
  fd_advise_neg: 'EINVAL', fd_advise_bad: 'EINVAL', fd_close_neg: 'EBADF', fd_close_huge: 'EBADF', fd_renumber_neg: 'EBADF',
  fd_sync_neg: 'EBADF', fd_datasync_neg: 'EBADF', fd_prestat_get_oob: EFAULT, fd_prestat_dir_name_oob: EFAULT,
  fd_prestat_dir_name_end: EFAULT, fd_readdir_used_oob: EFAULT, fd_readdir_buf_oob: EFAULT, fd_readdir_buf_huge: EFAULT,
  fd_readdir_cookie_huge: 'OK',
};

const PATH: Record<string, Want> = {
  path_open_fd_oob_creat: EFAULT, path_open_fd_oob_creat_after: 'ABSENT', path_open_fd_end: EFAULT, path_open_path_oob: EFAULT,
  path_open_len_huge: FAULT_OR_NOMEM, path_open_len_end: EFAULT, path_open_oflags_bad: 'EINVAL', path_open_dirfd_neg: 'EBADF',
  path_create_directory_oob: EFAULT, path_create_directory_len_huge: FAULT_OR_NOMEM, path_filestat_get_result_end: EFAULT,
  path_filestat_set_times_oob: EFAULT, path_link_oob: EFAULT, path_link_target_oob: EFAULT, path_readlink_used_oob: EFAULT,
  path_readlink_buf_oob: EFAULT, path_readlink_buf_huge: EFAULT, path_remove_directory_oob: EFAULT, path_rename_oob: EFAULT,
  path_rename_target_oob: EFAULT, path_rename_target_oob_after: 'KEPT', path_symlink_oob: EFAULT, path_symlink_oob_after: 'ABSENT',
  path_unlink_file_oob: EFAULT,
};

const POLL: Record<string, Want> = {
  poll_oneoff_in_oob: EFAULT, poll_oneoff_out_oob: EFAULT, poll_oneoff_nevents_end: EFAULT, poll_oneoff_zero: 'EINVAL',
  poll_oneoff_nsubs_huge: FAULT_OR_NOMEM, poll_oneoff_bad_tag: 'EINVAL', poll_oneoff_bad_fd: 'OK event=EBADF',
};

const SOCKETS: Record<string, Want> = {
  sock_bind_oob: EFAULT, sock_bind_end: EFAULT, sock_bind_tag: 'EINVAL', sock_bind_ok: 'OK', sock_listen_neg: /^(OK|EINVAL)$/,
  sock_listen_flags: 'OK', sock_open_fd_oob: EFAULT, sock_open_fd_end: EFAULT, sock_open_fd_oob_after: 'SAME_SLOT',
  sock_connect_oob: EFAULT, sock_connect_ok: 'OK', sock_accept_result_oob: EFAULT, sock_accept_v2_fd_oob: EFAULT,
  sock_accept_v2_addr_oob: EFAULT, sock_accept_v2_addr_end: EFAULT, sock_accept_v2_flags: 'EINVAL', sock_accept_after: 'OK',
  sock_send_solen_oob: EFAULT, sock_send_iov_oob: EFAULT, sock_send_count_huge: FAULT_OR_NOMEM, sock_send_to_addr_oob: EFAULT,
  sock_send_to_sent_oob: EFAULT, sock_send_ok: 'OK', sock_recv_rolen_oob: EFAULT, sock_recv_roflags_oob: EFAULT,
  sock_recv_from_addr_oob: EFAULT, sock_recv_buf_oob: EFAULT, sock_recv_after: 'OK (good)', sock_status_oob: EFAULT,
  sock_addr_local_end: EFAULT, sock_addr_peer_oob: EFAULT, sock_set_opt_flag_bad: 'ENOPROTOOPT', sock_get_opt_flag_oob: EFAULT,
  sock_set_opt_time_oob: EFAULT, sock_get_opt_time_end: EFAULT, sock_set_opt_size_huge: 'EINVAL', sock_get_opt_size_end: EFAULT,
  sock_shutdown_bad: 'EINVAL', sock_on_file: 'ENOTSOCK', sock_on_bad_fd: 'EBADF', resolve_name_oob: EFAULT,
  resolve_len_huge: FAULT_OR_NOMEM, resolve_addrs_oob: EFAULT, resolve_naddrs_huge: FAULT_OR_NOMEM, resolve_nresolved_oob: EFAULT,
};

function check(r: HostileRun, table: Record<string, Want>): void {
  for (const [label, want] of Object.entries(table)) {
    const got = r.verdicts.get(label);
    assert.ok(got !== undefined, `no line for ${label}`);
    if (typeof want === 'string') assert.equal(got, want, label);
    else assert.match(got, want, label);
  }
}

describe('hostile guests: impossible pointers, lengths and counts (group 5)', () => {
  let tmp: TempDir;
  let r: HostileRun;
  let hostBefore: Record<string, string>;

  before(async () => {
    tmp = tempDir('capsule-hostile-abi-');
    fs.writeFileSync(path.join(tmp.path, 'file.txt'), 'inside file\n');
    fs.writeFileSync(path.join(tmp.path, 'victim.txt'), 'victim, untouched\n');
    fs.symlinkSync('file.txt', path.join(tmp.path, 'link'));
    hostBefore = snapshotTree(tmp.path, { dirMtimes: false });
    r = await checkedRun('hostile_abi', {
      args: ['all'], dirs: [{ host: tmp.path, guest: '/data' }], stdin: 'hello\n', env: { A: 'b' }, timeoutMs: 20_000,
    });
  });
  after(() => tmp.cleanup());

  it('the guest ran every call and ended normally: no trap, no host exception (EIO)', () => {
    assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 }, r.stdout + r.stderr);
    assert.ok(r.stdout.endsWith('done\n'), r.stdout.slice(-300));
    assert.ok(!/: EIO\b/.test(r.stdout), r.stdout);
    const all = { ...PROCESS, ...FD, ...PATH, ...POLL, ...SOCKETS };
    const unknown = [...r.verdicts.keys()].filter((k) => !(k in all));
    assert.deepEqual(unknown, []);
  });

  it('arguments, environment, clocks, randomness, signals: out-of-bounds and end-of-memory results are EFAULT', () => check(r, PROCESS));
  it('fd_* calls: bad pointers, huge lengths and counts, negative offsets and descriptors', () => check(r, FD));
  it('path_* calls: bad path and result pointers, huge path lengths', () => check(r, PATH));
  it('poll_oneoff: bad subscription/event/count pointers, zero and huge counts, bad tags and descriptors', () => check(r, POLL));
  it('sock_* and resolve: bad addresses, result pointers, iovecs, options and sizes', () => check(r, SOCKETS));

  it('fd_write with a bad result pointer writes nothing', () => {
    assert.ok(!r.stdout.includes('LEAK'), r.stdout);
  });

  it('path_open with O_CREAT and a bad result pointer creates nothing; bad rename/symlink/pwrite pointers change nothing', () => {
    assert.equal(r.verdicts.get('path_open_fd_oob_creat_after'), 'ABSENT');
    assert.equal(r.verdicts.get('path_rename_target_oob_after'), 'KEPT');
    assert.equal(r.verdicts.get('path_symlink_oob_after'), 'ABSENT');
    // The host directory: byte-identical (victim.txt was the target of the bad pwrite).
    assert.deepEqual(snapshotTree(tmp.path, { dirMtimes: false }), hostBefore);
  });

  it('fd_read with a bad result pointer consumes no input', () => {
    assert.equal(r.verdicts.get('fd_read_nread_oob'), EFAULT);
    assert.equal(r.verdicts.get('fd_read_after'), 'OK (hello)');
  });

  it('sock_accept and sock_accept_v2 with bad result pointers do not dequeue the connection', () => {
    for (const l of ['sock_accept_result_oob', 'sock_accept_v2_fd_oob', 'sock_accept_v2_addr_oob', 'sock_accept_v2_addr_end']) {
      assert.equal(r.verdicts.get(l), EFAULT, l);
    }
    // The listener is non-blocking: had a bad call taken the one pending connection, this would be EAGAIN.
    assert.equal(r.verdicts.get('sock_accept_after'), 'OK');
  });

  it('sock_send with bad pointers sends nothing; sock_recv with bad pointers consumes nothing', () => {
    assert.equal(r.verdicts.get('sock_recv_after'), 'OK (good)');
  });

  it('sock_open with a bad result pointer leaves no socket behind', () => {
    assert.equal(r.verdicts.get('sock_open_fd_oob_after'), 'SAME_SLOT');
    assert.equal(r.socketsLeft, 0);
  });

  it('resolve with a bad result pointer is refused before any policy decision or lookup', () => {
    assert.equal(r.verdicts.get('resolve_nresolved_oob'), EFAULT);
    assert.equal(recordsOf(r.audit, 'deny', 'resolve').length, 0);
    assert.equal(recordsOf(r.audit, 'allow', 'resolve').length, 0);
  });

  it('poll_oneoff with a count that is negative as an i32 fails at once instead of blocking', { timeout: 30_000 }, async () => {
    const p = await checkedRun('hostile_abi', { args: ['poll_neg'], timeoutMs: 5000 });
    assert.deepEqual(p.result.outcome, { kind: 'exit', code: 0 }, JSON.stringify(p.result.outcome));
    assert.match(p.verdicts.get('poll_oneoff_nsubs_neg') ?? '', /^(EFAULT|ENOMEM|EINVAL)$/);
  });
});
