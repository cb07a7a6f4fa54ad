// Race class 5 against files that travel in a snapshot: between suspend and
// resume, whoever can write the mounted directory swaps what a sealed guest
// had open — a symlink out of the mount (absolute, relative, to a
// directory), a symlink loop, a FIFO. The resume opens every file again
// through the same confined walk as any open: each swap is refused with one
// line naming the file (80), before any guest code runs, recorded in the
// audit log, with no host descriptor left open and nothing outside changed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { resume, start } from '../../src/api/suspend.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { guest, tempDir, type TempDir } from '../helpers/cli.js';
import { fdsBackTo, fdTargets, fdDiff, snapshotTree, stableFds } from '../helpers/hostile.js';

let dir: TempDir;
let cacheDir: string;
let data: string;
let pristine: string;
let outside: string;
let snap: string;
const key = crypto.randomBytes(32);

before(async () => {
  dir = tempDir('capsule-hostile-snapfiles-');
  cacheDir = path.join(dir.path, 'cache');
  data = path.join(dir.path, 'data');
  pristine = path.join(dir.path, 'pristine');
  outside = path.join(dir.path, 'outside');
  fs.mkdirSync(data);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(data, 'in.bin'), crypto.randomBytes(4096));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'not for the guest');
  snap = path.join(dir.path, 'files.snap');
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => { text += b.toString(); });
  const h = start(guest('file_checksum'), { args: ['sleep', '100'], dirs: [{ host: data, guest: '/data' }], stdout: out, suspendable: true, sealKey: key, cacheDir });
  const deadline = Date.now() + 90_000;
  while (!text.includes('step 3 ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  await h.suspend(snap);
  assert.equal((await h.result).exitCode, ExitCode.SUSPENDED);
  fs.cpSync(data, pristine, { recursive: true });
});
after(() => dir.cleanup());

/** The data directory as it was at sealing, then `swap` applied to it. */
function swapped(swap: () => void): void {
  fs.rmSync(data, { recursive: true });
  fs.cpSync(pristine, data, { recursive: true });
  swap();
}

const members: { name: string; swap: () => void; pattern: RegExp }[] = [
  {
    name: 'a file replaced by an absolute symlink out of the mount',
    swap: () => { fs.rmSync(path.join(data, 'in.bin')); fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(data, 'in.bin')); },
    pattern: /^cannot resume file-checksum: it had \/data\/in\.bin open \(fd 4\), which the resume's policy does not grant \(.*outside its mount\)$/,
  },
  {
    name: 'a file replaced by a relative symlink out of the mount',
    swap: () => { fs.rmSync(path.join(data, 'out.bin')); fs.symlinkSync('../outside/secret.txt', path.join(data, 'out.bin')); },
    pattern: /^cannot resume file-checksum: it had \/data\/out\.bin open \(fd 5\), which the resume's policy does not grant \(.*outside its mount\)$/,
  },
  {
    name: 'a file replaced by a symlink to a directory out of the mount',
    swap: () => { fs.rmSync(path.join(data, 'log.txt')); fs.symlinkSync('../outside', path.join(data, 'log.txt')); },
    pattern: /^cannot resume file-checksum: it had \/data\/log\.txt open \(fd 6\), which the resume's policy does not grant \(.*outside its mount\)$/,
  },
  {
    name: 'a file replaced by a symlink loop',
    swap: () => { fs.rmSync(path.join(data, 'log.txt')); fs.symlinkSync('log.txt', path.join(data, 'log.txt')); },
    pattern: /^cannot resume file-checksum: it had \/data\/log\.txt open \(fd 6\), which cannot be opened again \(ELOOP\)$/,
  },
  {
    name: 'a file replaced by a FIFO (never waited on)',
    swap: () => {
      fs.rmSync(path.join(data, 'in.bin'));
      const r = spawnSync('mkfifo', [path.join(data, 'in.bin')]);
      assert.equal(r.status, 0, String(r.stderr));
    },
    pattern: /^cannot resume file-checksum: it had \/data\/in\.bin open \(fd 4\), which is now not a regular file$/,
  },
];

describe('files swapped between suspend and resume', () => {
  for (const m of members) {
    it(`${m.name}: refused in one line (80), audited, nothing run, no descriptor left, nothing outside changed`, { timeout: 60_000 }, async () => {
      swapped(m.swap);
      const treeOutside = snapshotTree(outside);
      const treeData = snapshotTree(data);
      const baseline = await stableFds();
      const targets = fdTargets();
      const audit: AuditRecord[] = [];
      const r = await resume(snap, { sealKey: key, stdout: 'capture', cacheDir, onAudit: (a) => audit.push(a) });
      assert.equal(r.exitCode, ExitCode.SNAPSHOT_MISMATCH, JSON.stringify(r.outcome));
      const message = (r.outcome as { message: string }).message;
      assert.match(message, m.pattern);
      assert.equal(r.stdout!.length, 0, 'no guest code ran');
      const exit = audit.find((a) => a.op === 'exit');
      assert.ok(exit !== undefined && exit.reason.includes(message), JSON.stringify(audit));
      assert.equal(await fdsBackTo(baseline), baseline, fdDiff(targets, fdTargets()).join('; '));
      assert.deepEqual(snapshotTree(outside), treeOutside, 'nothing outside the mount changed');
      assert.deepEqual(snapshotTree(data), treeData, 'nor inside it');
    });
  }
});
