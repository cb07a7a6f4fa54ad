// Hostile guests of the WASIX calls (test/guests/src/wasix/wasix_hostile.c):
// floods of duplicates, pipes and epoll entries end at --max-fds; chdir
// cannot leave the mounts by any spelling or symlink; a signal timer firing
// without pause is still stopped by --timeout; a handler that traps is a trap.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';

const guest = path.join(ROOT, 'test', 'guests', 'wasix', 'wasix_hostile.wasm');

let tmp: TempDir;
before(() => {
  tmp = tempDir('capsule-wasix-hostile-');
  fs.mkdirSync(path.join(tmp.path, 'data'));
  fs.symlinkSync('/', path.join(tmp.path, 'data', 'link-out'));
});
after(() => tmp.cleanup());

describe('hostile WASIX guests', () => {
  it('a flood of fd_dup ends at --max-fds with EMFILE; no number past the limit', async () => {
    const r = await runCli(['run', '--max-fds', '64', guest, '--', 'dup']);
    assert.equal(r.code, 0, r.stderr);
    // 64 descriptors, 3 of them stdio.
    assert.deepEqual(lines(r.stdout), ['dup stopped after 61: No file descriptors available', 'dup above the limit: Invalid argument']);
  });

  it('a flood of pipes ends at --max-fds with EMFILE, each pipe whole or not at all', async () => {
    const r = await runCli(['run', '--max-fds', '64', guest, '--', 'pipes']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), ['pipes stopped after 30: No file descriptors available']);
  });

  it('epoll entries are bounded by the descriptors they watch; a wait with its timeout returns', async () => {
    const r = await runCli(['run', '--max-fds', '64', guest, '--', 'epoll']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^epoll watched 60, then waits [0-9]+\n$/);
  });

  it('chdir cannot leave the mounts: "..", repeated "..", a symlink to /', async () => {
    const r = await runCli(['run', '--dir', `${path.join(tmp.path, 'data')}::/data`, guest, '--', 'escape']);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out.length, 7, r.stdout);
    for (const l of out) {
      // The guest starts in "/" and goes back to /data after each try.
      assert.match(l, /, cwd \/(data)?$/, `the working directory left the mount: ${l}`);
      assert.doesNotMatch(l, /: ok,/, `chdir out of the mount succeeded: ${l}`);
    }
    // The escapes through ".." and the symlink are policy denials, audited and reported.
    assert.match(r.stderr, /the policy denied \d+ calls; first: .*outside its mount/);
  });

  it('a signal timer firing without pause is still stopped by --timeout (102)', { timeout: 30_000 }, async () => {
    const t0 = performance.now();
    const r = await runCli(['run', '--timeout', '1s', guest, '--', 'timer']);
    assert.equal(r.code, 102, r.stderr);
    assert.equal(r.stdout, 'timer set\n');
    assert.ok(performance.now() - t0 < 20_000);
  });

  it('a signal handler that traps ends the guest as a trap (101), not as a host error', async () => {
    const r = await runCli(['run', guest, '--', 'trap']);
    assert.equal(r.code, 101, r.stderr);
    assert.equal(r.stdout, 'raising\n');
    assert.doesNotMatch(r.stderr, /internal error/);
  });
});
