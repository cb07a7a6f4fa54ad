// resolve() (src/layer/fs/resolve.ts) over a real HostDir: confinement to the
// start directory, `.`/`..`, symlinks, errors, and that release() frees fds.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import { HostDir } from '../../src/host/fs.js';
import { resolve, type Resolved } from '../../src/layer/fs/resolve.js';

let base: string;
let tmp: string;
let root: HostDir;

/** Inode of the host path, to identify which directory a resolution ended in. */
const ino = (rel: string): bigint => fs.statSync(path.join(tmp, rel), { bigint: true }).ino;
const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

function check(p: string, followFinal: boolean, dir: string, name: string, mustBeDir = false): void {
  const r = resolve(root, p, followFinal);
  try {
    assert.equal(r.dir.stat().ino, ino(dir), `${p}: resolved in the wrong directory`);
    assert.equal(r.name, name, `${p}: final name`);
    assert.equal(r.mustBeDir, mustBeDir, `${p}: mustBeDir`);
  } finally {
    r.release();
  }
}

function fails(p: string, errno: number, followFinal = true): void {
  assert.throws(() => resolve(root, p, followFinal),
    (e: unknown) => e instanceof SysError && e.errno === errno, `${JSON.stringify(p)} should fail with ${errno}`);
}

// <base>/outside.txt, and the tree resolved from <base>/root:
//   a.txt  dir/b.txt  dir/sub/c.txt  plus the symlinks below.
before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-resolve-'));
  tmp = path.join(base, 'root');
  fs.mkdirSync(path.join(tmp, 'dir', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(base, 'outside.txt'), 'outside');
  const r = (p: string): string => path.join(tmp, p);
  fs.writeFileSync(r('a.txt'), 'a');
  fs.writeFileSync(r('dir/b.txt'), 'b');
  fs.writeFileSync(r('dir/sub/c.txt'), 'c');
  fs.symlinkSync('dir', r('rel_link'));
  fs.symlinkSync('dir/sub', r('deep_link'));
  fs.symlinkSync('dir/', r('slash_link'));
  fs.symlinkSync('a.txt', r('final_link'));
  fs.symlinkSync('nope', r('dangling'));
  fs.symlinkSync('../a.txt', r('dir/up'));
  fs.symlinkSync('../../dir/b.txt', r('dir/sub/back'));
  fs.symlinkSync(path.join(base, 'outside.txt'), r('abs_link'));
  fs.symlinkSync(base, r('abs_dir_link'));
  fs.symlinkSync('../outside.txt', r('climb'));
  fs.symlinkSync('../../outside.txt', r('dir/climb2'));
  fs.symlinkSync('loop2', r('loop1'));
  fs.symlinkSync('loop1', r('loop2'));
  // chain40_0 -> ... -> chain40_39 -> a.txt is 40 links (the limit); chain41 is one more.
  for (const n of [40, 41]) {
    for (let i = 0; i < n; i++) fs.symlinkSync(i === n - 1 ? 'a.txt' : `chain${n}_${i + 1}`, r(`chain${n}_${i}`));
  }
  root = HostDir.openRoot(tmp, false);
});

after(() => {
  root.close();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('resolve: plain and nested paths', () => {
  it('a plain name resolves in the start directory', () => check('a.txt', false, '.', 'a.txt'));
  it('a nested path resolves in its parent', () => check('dir/sub/c.txt', false, 'dir/sub', 'c.txt'));
  it('a missing final name is fine (it may be created)', () => check('dir/new.txt', false, 'dir', 'new.txt'));
  it('repeated slashes are ignored', () => check('dir//sub///c.txt', false, 'dir/sub', 'c.txt'));
  it('"." and ".." inside the tree', () => {
    check('.', false, '.', '.');
    check('./dir/./sub/../b.txt', false, 'dir', 'b.txt');
    check('dir/..', false, '.', '.');
    check('dir/sub/../..', false, '.', '.');
  });
  it('a trailing slash sets mustBeDir', () => {
    check('dir/', false, '.', 'dir', true);
    check('dir/sub/', true, 'dir', 'sub', true);
    check('a.txt', false, '.', 'a.txt', false);
  });
});

describe('resolve: refusals', () => {
  it('".." above the start is NOTCAPABLE', () => {
    fails('..', Errno.NOTCAPABLE);
    fails('../root/a.txt', Errno.NOTCAPABLE);
    fails('dir/../../root/a.txt', Errno.NOTCAPABLE);
    fails('dir/sub/../../..', Errno.NOTCAPABLE);
  });
  it('an absolute path is NOTCAPABLE', () => {
    fails('/etc/passwd', Errno.NOTCAPABLE);
    fails('/', Errno.NOTCAPABLE);
  });
  it('an empty path is NOENT', () => fails('', Errno.NOENT));
  it('a NUL byte is INVAL', () => fails('a.txt\0', Errno.INVAL));
  it('a missing intermediate directory is NOENT', () => fails('nope/x', Errno.NOENT));
  it('a file used as a directory is NOTDIR', () => fails('a.txt/x', Errno.NOTDIR));
});

describe('resolve: symlinks', () => {
  it('a relative symlink in the middle is followed', () => check('rel_link/b.txt', false, 'dir', 'b.txt'));
  it('a symlink to an absolute target is NOTCAPABLE', () => {
    fails('abs_link', Errno.NOTCAPABLE, true);
    fails('abs_dir_link/outside.txt', Errno.NOTCAPABLE, false);
  });
  it('a symlink climbing out with ".." is NOTCAPABLE', () => {
    fails('climb', Errno.NOTCAPABLE, true);
    fails('dir/climb2', Errno.NOTCAPABLE, true);
  });
  it('a symlink loop is LOOP', () => {
    fails('loop1', Errno.LOOP, true);
    fails('loop1/x', Errno.LOOP, false);
  });
  it('the final symlink is followed only when followFinal is set', () => {
    check('final_link', false, '.', 'final_link');
    check('final_link', true, '.', 'a.txt');
    check('abs_link', false, '.', 'abs_link'); // not followed, so not refused
    check('dir/up', true, '.', 'a.txt');
  });
  it('a trailing slash follows the final symlink even without followFinal', () => {
    check('rel_link/', false, '.', 'dir', true);
  });
  it('a symlink whose target ends in "/" sets mustBeDir', () => check('slash_link', true, '.', 'dir', true));
  it('".." after a followed symlink is taken from the target', () => check('deep_link/../b.txt', false, 'dir', 'b.txt'));
  it('a symlink may go up with ".." and back down inside', () => check('dir/sub/back', true, 'dir', 'b.txt'));
  it('a dangling symlink in the middle is NOENT', () => fails('dangling/x', Errno.NOENT, false));
  it('a symlink to a file used as a directory is NOTDIR', () => fails('final_link/x', Errno.NOTDIR, false));
  it('40 symlinks in a row are followed, 41 are LOOP', () => {
    check('chain40_0', true, '.', 'a.txt');
    fails('chain41_0', Errno.LOOP, true);
  });
});

describe('resolve: descriptors', () => {
  it('a deep resolution holds exactly one directory open until release()', () => {
    const before = openFds();
    const r = resolve(root, 'dir/sub/c.txt', false);
    assert.equal(openFds(), before + 1);
    r.release();
    assert.equal(openFds(), before);
    r.release(); // a second release closes nothing else
    assert.equal(openFds(), before);
    assert.ok(root.stat().ino > 0n, 'the start directory is still open');
  });

  it('a batch of resolutions, successful and failing, leaves no descriptor behind', () => {
    const paths = ['a.txt', 'dir/sub/c.txt', 'rel_link/b.txt', 'dir/up', 'dir/sub/../b.txt', 'final_link',
      '..', 'dir/../..', 'climb', 'dir/climb2', 'loop1/x', 'abs_dir_link/x', 'nope/x', 'a.txt/x', 'dir/sub/'];
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      for (const p of paths) {
        let r: Resolved | undefined;
        try {
          r = resolve(root, p, true);
        } catch (e) {
          assert.ok(e instanceof SysError, `${p}: ${String(e)}`);
        }
        r?.release();
      }
    }
    assert.equal(openFds(), before);
  });
});
