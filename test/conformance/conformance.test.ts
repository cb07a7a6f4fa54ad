// The official WASI preview 1 conformance suite, through the real CLI, in
// both execution modes. Skips (visibly) when the suite is not present.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { discover, runAll, suiteRoot } from './suite.js';

const present = fs.existsSync(suiteRoot());

/** The suite's 72 tests (its SOURCE.md names the commit): one missing, renamed or added is a different suite. */
const SUITE_TESTS = [
  'assemblyscript/args_get-multiple-arguments',
  'assemblyscript/args_sizes_get-multiple-arguments',
  'assemblyscript/args_sizes_get-no-arguments',
  'assemblyscript/environ_get-multiple-variables',
  'assemblyscript/environ_sizes_get-multiple-variables',
  'assemblyscript/environ_sizes_get-no-variables',
  'assemblyscript/fd_write-to-invalid-fd',
  'assemblyscript/fd_write-to-stdout',
  'assemblyscript/proc_exit-failure',
  'assemblyscript/proc_exit-success',
  'assemblyscript/random_get-non-zero-length',
  'assemblyscript/random_get-zero-length',
  'c/clock_getres-monotonic',
  'c/clock_getres-realtime',
  'c/clock_gettime-monotonic',
  'c/clock_gettime-realtime',
  'c/fdopendir-with-access',
  'c/fopen-with-access',
  'c/fopen-with-no-access',
  'c/lseek',
  'c/pread-with-access',
  'c/pwrite-with-access',
  'c/pwrite-with-append',
  'c/sock_shutdown-invalid_fd',
  'c/sock_shutdown-not_sock',
  'c/stat-dev-ino',
  'rust/big_random_buf',
  'rust/clock_time_get',
  'rust/close_preopen',
  'rust/dangling_fd',
  'rust/dangling_symlink',
  'rust/dir_fd_op_failures',
  'rust/directory_seek',
  'rust/fd_advise',
  'rust/fd_fdstat_set_rights',
  'rust/fd_filestat_set',
  'rust/fd_flags_set',
  'rust/fd_readdir',
  'rust/file_allocate',
  'rust/file_pread_pwrite',
  'rust/file_seek_tell',
  'rust/file_truncation',
  'rust/file_unbuffered_write',
  'rust/fstflags_validate',
  'rust/interesting_paths',
  'rust/isatty',
  'rust/nofollow_errors',
  'rust/overwrite_preopen',
  'rust/path_exists',
  'rust/path_filestat',
  'rust/path_link',
  'rust/path_open_create_existing',
  'rust/path_open_dirfd_not_dir',
  'rust/path_open_missing',
  'rust/path_open_nonblock',
  'rust/path_open_preopen',
  'rust/path_open_read_write',
  'rust/path_rename',
  'rust/path_rename_dir_trailing_slashes',
  'rust/path_symlink_trailing_slashes',
  'rust/poll_oneoff_stdio',
  'rust/readlink',
  'rust/remove_directory_trailing_slashes',
  'rust/remove_nonempty_directory',
  'rust/renumber',
  'rust/sched_yield',
  'rust/stdio',
  'rust/symlink_create',
  'rust/symlink_filestat',
  'rust/symlink_loop',
  'rust/truncation_rights',
  'rust/unlink_file_trailing_slashes',
];

for (const mode of ['secure', 'normal'] as const) {
  describe(`WASI conformance suite (${mode} mode)`, { skip: present ? false : `suite not found at ${suiteRoot()}` }, () => {
    it('passes every test', async () => {
      const tests = discover();
      assert.deepEqual(tests.map((t) => t.name), SUITE_TESTS);
      const results = await runAll(tests, mode);
      const failures = results.filter((r) => !r.passed);
      for (const f of failures) console.log(`FAIL [${mode}] ${f.test.name}: ${f.reason}`);
      console.log(`conformance [${mode}]: ${results.length - failures.length} of ${results.length} passed`);
      assert.deepEqual(failures.map((f) => f.test.name), []);
    });
  });
}
