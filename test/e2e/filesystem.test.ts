// Mounted directories end to end: fs_ops through a read-write and a read-only
// mount, and escape.wasm's sandbox-escape attempts, in both modes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODES, guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';

/** Every entry below `dir` (relative path -> file content, "<dir>" or "-> target"), for before/after checks. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      const p = path.join(dir, r);
      if (e.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) { out[r] = '<dir>'; walk(r); }
      else out[r] = fs.readFileSync(p, 'utf8');
    }
  };
  walk('');
  return out;
}

for (const mode of MODES) {
  describe(`read-write mount (${mode} mode)`, () => {
    let tmp: TempDir;
    const fsOps = (...args: string[]) => runCli(['run', '--mode', mode, '--dir', `${tmp.path}::/sandbox`, guest('fs_ops'), ...args]);
    before(() => {
      tmp = tempDir();
      fs.writeFileSync(path.join(tmp.path, 'host.txt'), 'from the host\n');
    });
    after(() => tmp.cleanup());

    it('write creates the file on the host', async () => {
      const r = await fsOps('write', '/sandbox/a.txt', 'hello');
      assert.deepEqual([r.code, r.stdout], [0, 'ok\n']);
      assert.equal(fs.readFileSync(path.join(tmp.path, 'a.txt'), 'utf8'), 'hello');
    });

    it('read returns a host file', async () => {
      const r = await fsOps('read', '/sandbox/host.txt');
      assert.deepEqual([r.code, r.stdout], [0, 'from the host\n']);
    });

    it('mkdir creates a host directory, and files can be written inside it', async () => {
      const r = await fsOps('mkdir', '/sandbox/d');
      assert.deepEqual([r.code, r.stdout], [0, 'ok\n']);
      assert.ok(fs.statSync(path.join(tmp.path, 'd')).isDirectory());
      const w = await fsOps('write', '/sandbox/d/inner.txt', 'nested');
      assert.deepEqual([w.code, w.stdout], [0, 'ok\n']);
      assert.equal(fs.readFileSync(path.join(tmp.path, 'd', 'inner.txt'), 'utf8'), 'nested');
    });

    it('symlink creates a host symlink with the given target', async () => {
      const r = await fsOps('symlink', 'a.txt', '/sandbox/l');
      assert.deepEqual([r.code, r.stdout], [0, 'ok\n']);
      assert.equal(fs.readlinkSync(path.join(tmp.path, 'l')), 'a.txt');
    });

    it('stat reports size and type without following symlinks', async () => {
      assert.equal((await fsOps('stat', '/sandbox/a.txt')).stdout, 'size=5 type=file\n');
      assert.equal((await fsOps('stat', '/sandbox/l')).stdout, 'size=5 type=symlink\n');
      assert.match((await fsOps('stat', '/sandbox/d')).stdout, /^size=\d+ type=dir\n$/);
    });

    it('ls lists the directory', async () => {
      const r = await fsOps('ls', '/sandbox');
      assert.deepEqual([r.code, r.stdout], [0, 'a.txt\nd\nhost.txt\nl\n']);
    });

    it('rm removes the host file', async () => {
      const r = await fsOps('rm', '/sandbox/a.txt');
      assert.deepEqual([r.code, r.stdout], [0, 'ok\n']);
      assert.equal(fs.existsSync(path.join(tmp.path, 'a.txt')), false);
      assert.equal(fs.lstatSync(path.join(tmp.path, 'l')).isSymbolicLink(), true);
    });
  });

  describe(`read-only mount (${mode} mode)`, () => {
    let tmp: TempDir;
    let initial: Record<string, string>;
    const fsOps = (...args: string[]) => runCli(['run', '--mode', mode, '--dir', `${tmp.path}::/ro:ro`, guest('fs_ops'), ...args]);
    before(() => {
      tmp = tempDir();
      fs.writeFileSync(path.join(tmp.path, 'a.txt'), 'read me\n');
      fs.mkdirSync(path.join(tmp.path, 'sub'));
      initial = snapshot(tmp.path);
    });
    after(() => tmp.cleanup());

    const refused: [string, string[]][] = [
      ['write', ['write', '/ro/new.txt', 'x']],
      ['write', ['write', '/ro/a.txt', 'overwrite']],
      ['mkdir', ['mkdir', '/ro/newdir']],
      ['rm', ['rm', '/ro/a.txt']],
      ['symlink', ['symlink', 'a.txt', '/ro/link']],
    ];
    for (const [op, args] of refused) {
      it(`refuses ${args.join(' ')}`, async () => {
        const r = await fsOps(...args);
        assert.equal(r.code, 2);
        const path_ = op === 'symlink' ? args[2] : args[1];
        assert.match(r.stdout, new RegExp(`^error: ${op} ${path_}: .+\\n$`));
        assert.deepEqual(snapshot(tmp.path), initial);
      });
    }

    it('allows read', async () => {
      const r = await fsOps('read', '/ro/a.txt');
      assert.deepEqual([r.code, r.stdout], [0, 'read me\n']);
    });

    it('allows ls', async () => {
      const r = await fsOps('ls', '/ro');
      assert.deepEqual([r.code, r.stdout], [0, 'a.txt\nsub\n']);
      assert.deepEqual(snapshot(tmp.path), initial);
    });
  });

  describe(`sandbox escapes (${mode} mode)`, () => {
    let tmp: TempDir;
    let sandbox: string;
    let secret: string;
    const SECRET = 'TOP SECRET: must never be read\n';
    before(() => {
      tmp = tempDir();
      sandbox = path.join(tmp.path, 'sandbox');
      fs.mkdirSync(sandbox);
      fs.mkdirSync(path.join(tmp.path, 'sandbox_sibling'));
      fs.writeFileSync(path.join(tmp.path, 'sandbox_sibling', 'secret.txt'), SECRET);
      secret = path.join(tmp.path, 'outside_secret.txt');
      fs.writeFileSync(secret, SECRET);
      fs.symlinkSync(secret, path.join(sandbox, 'existing_link'));
      fs.symlinkSync('../sandbox_sibling/secret.txt', path.join(sandbox, 'existing_rel_link'));
    });
    after(() => tmp.cleanup());

    it('escape.wasm: every attempt is blocked', async () => {
      const r = await runCli(['run', '--mode', mode, '--dir', `${sandbox}::/sandbox`, guest('escape'), '/sandbox']);
      assert.equal(r.code, 0, r.stderr);
      const l = lines(r.stdout);
      assert.deepEqual(l.map((x) => x.split(':')[0]), ['dotdot', 'absolute', 'sibling_dotdot', 'sibling_prefix',
        'abs_symlink', 'rel_symlink', 'dir_symlink', 'dot_dotdot_slash', 'existing_link']);
      for (const line of l) {
        assert.match(line, /^\w+: blocked \(.+\)$/);
        assert.ok(!line.includes('ESCAPED'), line);
      }
      assert.ok(!r.stdout.includes('TOP SECRET'));
      assert.equal(fs.readFileSync(secret, 'utf8'), SECRET);
      assert.equal(fs.readFileSync(path.join(tmp.path, 'sandbox_sibling', 'secret.txt'), 'utf8'), SECRET);
      assert.deepEqual(fs.readdirSync(sandbox).sort(), ['existing_link', 'existing_rel_link']);
    });

    it('a host symlink climbing out with .. cannot be read or written through', async () => {
      const mount = ['--dir', `${sandbox}::/sandbox`];
      const read = await runCli(['run', '--mode', mode, ...mount, guest('fs_ops'), 'read', '/sandbox/existing_rel_link']);
      assert.equal(read.code, 2);
      assert.match(read.stdout, /^error: read \/sandbox\/existing_rel_link: /);
      const write = await runCli(['run', '--mode', mode, ...mount, guest('fs_ops'), 'write', '/sandbox/existing_link', 'pwned']);
      assert.equal(write.code, 2);
      assert.equal(fs.readFileSync(secret, 'utf8'), SECRET);
      assert.equal(fs.readFileSync(path.join(tmp.path, 'sandbox_sibling', 'secret.txt'), 'utf8'), SECRET);
    });
  });
}
