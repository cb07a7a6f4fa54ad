// The wasi_snapshot_preview1 import object (src/abi/preview1/index.ts):
// createPreview1's functions, PREVIEW1_NAMES and the 46 official names agree.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuestMemory } from '../../src/abi/memory.js';
import type { Preview1Context } from '../../src/abi/preview1/context.js';
import { PREVIEW1_MODULE, PREVIEW1_NAMES, createPreview1 } from '../../src/abi/preview1/index.js';
import { FdTable } from '../../src/layer/fdtable.js';

/** The functions of wasi_snapshot_preview1 (witx, 46 names). */
const OFFICIAL = [
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags',
  'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread',
  'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek',
  'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times',
  'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get',
  'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown',
];

const fakeContext = {
  memory: new GuestMemory(),
  fds: new FdTable(),
  args: [],
  env: [],
  clocks: { now: () => 0n, resolution: () => 1n },
  randomFill: () => {},
  eventEpoch: () => 0,
  waitForEvents: () => {},
} as unknown as Preview1Context;

describe('preview1 names', () => {
  const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

  it('the official list has 46 distinct names', () => {
    assert.equal(new Set(OFFICIAL).size, 46);
    assert.equal(PREVIEW1_MODULE, 'wasi_snapshot_preview1');
  });

  it('createPreview1 provides exactly PREVIEW1_NAMES, all functions', () => {
    const imports = createPreview1(fakeContext);
    assert.deepEqual(sorted(Object.keys(imports)), sorted(PREVIEW1_NAMES));
    for (const [name, fn] of Object.entries(imports)) assert.equal(typeof fn, 'function', name);
  });

  it('PREVIEW1_NAMES is exactly the official set', () => {
    assert.deepEqual(sorted(PREVIEW1_NAMES), sorted(OFFICIAL));
  });
});
