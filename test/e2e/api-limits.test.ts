// Limits in either spelling, wherever they are given: run(), a System and a
// Layer take numbers (bytes, ms) or text as files write them ("64MiB",
// "10s"); policy files take numbers as well as text. Either way the value is
// applied, and a bad one is refused in the same words.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CapsuleError, run, System } from '../../src/api/index.js';
import { guest, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('capsule-limits-');
after(() => tmp.cleanup());

const refused = (code: number, pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof CapsuleError, String(e));
  assert.equal(e.exitCode, code, e.message);
  assert.match(e.message, pattern);
  return true;
};

describe('limits in both spellings', () => {
  it('run() takes sizes and durations as text and applies them', async () => {
    const ok = await run(guest('hello'), { limits: { memoryBytes: '1MiB', maxFds: '16', outputBytes: '64k' }, timeoutMs: '10s', tmpfs: { '/t': '1MiB' }, stdout: 'capture' });
    assert.equal(ok.exitCode, 0);
    // hello needs two 64 KiB pages at start: "64KiB" is held to, as 65536 would be.
    await assert.rejects(run(guest('hello'), { limits: { memoryBytes: '64KiB' } }), refused(103, /over its limit of 64 KiB/));
    await assert.rejects(run(guest('hello'), { limits: { memoryBytes: 65536 } }), refused(103, /over its limit of 64 KiB/));
  });

  it('run() refuses a bad text limit naming it, as it does a bad number', async () => {
    await assert.rejects(run(guest('hello'), { limits: { memoryBytes: 'lots' } }), refused(64, /^limits\.memoryBytes: /));
    await assert.rejects(run(guest('hello'), { timeoutMs: '10 parsecs' }), refused(64, /^timeoutMs: /));
    await assert.rejects(run(guest('hello'), { tmpfs: { '/t': '1k' } }), refused(64, /tmpfs/));
  });

  it('a System takes text limits', async () => {
    const sys = await System.load({ guests: [{ name: 'a', module: guest('hello') }], limits: { memoryBytes: '64KiB' }, stdout: fs.createWriteStream('/dev/null') }).catch((e: unknown) => e);
    assert.ok(sys instanceof CapsuleError && sys.exitCode === 103, String(sys));
  });

  it('a policy file takes numbers as well as text', async () => {
    const file = path.join(tmp.path, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ limits: { memory: 65536, timeout: 10000 } }));
    const r = await runCli(['run', '--policy', file, guest('hello')]);
    assert.equal(r.code, 103, r.stderr);
    assert.match(r.stderr, /over its limit of 64 KiB/);
  });
});
