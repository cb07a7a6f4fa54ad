// Coalesced small file writes, end to end through the CLI: a reader inside
// Capsule never sees the difference, a reader outside sees the data without
// the guest making another call, and a guest that exits, traps, or is
// stopped loses nothing it wrote. With --no-write-cache the same holds.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, MODES, guest, runCli, tempDir, type TempDir } from '../helpers/cli.js';

const GUEST = guest('small_file_writes');

/** The file the guest writes: records "%07d\n" 0..n-1. */
function expected(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${String(i).padStart(7, '0')}\n`;
  return s;
}

for (const mode of MODES) {
  for (const cache of [true, false]) {
    describe(`small file writes, ${mode} mode, write cache ${cache ? 'on' : 'off'}`, () => {
      let tmp: TempDir;
      before(() => { tmp = tempDir(); });
      after(() => tmp.cleanup());
      const run = (...args: string[]) => runCli(['run', '--mode', mode, ...(cache ? [] : ['--no-write-cache']),
        '--dir', `${tmp.path}::/d`, GUEST, ...args]);

      it('reads, stats, seeks and fsyncs inside the guest see every byte written', async () => {
        const r = await run('check', '/d/check', '20000');
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'ok 20010\n', '']);
        assert.equal(fs.readFileSync(path.join(tmp.path, 'check'), 'utf8'), expected(20010));
      });

      it('an exit without close loses nothing', async () => {
        const r = await run('exit', '/d/exit', '30001');
        assert.deepEqual([r.code, r.stdout], [3, 'wrote 30001\n']);
        assert.equal(fs.readFileSync(path.join(tmp.path, 'exit'), 'utf8'), expected(30001));
      });

      it('a trap loses nothing', async () => {
        const r = await run('trap', '/d/trap', '30002');
        assert.equal(r.stdout, 'wrote 30002\n');
        assert.match(r.stderr, /trapped/);
        assert.notEqual(r.code, 0);
        assert.equal(fs.readFileSync(path.join(tmp.path, 'trap'), 'utf8'), expected(30002));
      });

      it('a guest stopped by its time limit loses nothing', async () => {
        const r = await runCli(['run', '--mode', mode, ...(cache ? [] : ['--no-write-cache']), '--timeout', '3s',
          '--dir', `${tmp.path}::/d`, GUEST, 'spin', '/d/limit', '3003']);
        assert.equal(r.stdout, 'wrote 3003\n');
        assert.match(r.stderr, /wall-time limit/);
        assert.equal(fs.readFileSync(path.join(tmp.path, 'limit'), 'utf8'), expected(3003));
      });
    });
  }

  it(`${mode} mode: a reader outside sees the data while the guest makes no further call, and a SIGTERM loses nothing`, async () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.path, 'outside');
      const child = spawn(process.execPath, [CLI, 'run', '--mode', mode, '--dir', `${tmp.path}::/d`, GUEST, 'spin', '/d/outside', '3'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        // "wrote 3" comes after the three writes: from then on the guest only spins.
        await new Promise<void>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('wrote 3\n')) resolve(); });
          child.on('close', () => reject(new Error(`guest ended early: ${out}`)));
        });
        // The data reaches the host within milliseconds; the bound here is generous, for a busy machine.
        const deadline = Date.now() + 3000;
        while (fs.readFileSync(file, 'utf8') !== expected(3)) {
          assert.ok(Date.now() < deadline, `the host file still holds ${JSON.stringify(fs.readFileSync(file, 'utf8'))}`);
          await new Promise((r) => setTimeout(r, 2));
        }
      } finally {
        child.kill('SIGTERM');
      }
      assert.notEqual(await closed, 0);
      assert.equal(fs.readFileSync(file, 'utf8'), expected(3));
    } finally {
      tmp.cleanup();
    }
  });
}

describe('the writeCache policy field', () => {
  it('false turns the cache off, and the guest still sees every byte', async () => {
    const tmp = tempDir();
    try {
      const policy = path.join(tmp.path, 'policy.json');
      fs.writeFileSync(policy, JSON.stringify({ writeCache: false, mounts: [{ host: tmp.path, guest: '/d' }] }));
      const r = await runCli(['run', '--policy', policy, GUEST, 'check', '/d/f', '3000']);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'ok 3010\n', '']);
    } finally {
      tmp.cleanup();
    }
  });

  it('a value that is not a boolean is a one-line configuration error naming the field', async () => {
    const tmp = tempDir();
    try {
      const policy = path.join(tmp.path, 'policy.json');
      fs.writeFileSync(policy, JSON.stringify({ writeCache: 'no' }));
      const r = await runCli(['run', '--policy', policy, GUEST, 'check', '/d/f', '1']);
      assert.equal(r.code, 78);
      assert.match(r.stderr, /^capsule: .*writeCache.*\n$/);
    } finally {
      tmp.cleanup();
    }
  });
});
