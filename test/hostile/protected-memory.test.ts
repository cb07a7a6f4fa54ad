// Protected application memory: a guest's linear memory and its stdio rings
// are zeroed when it exits, is killed, or has been sealed; a secret it held
// is in no snapshot in the clear, and in no result, report or audit record.
// Observed through the test-only wipe hook (src/enclave/wipe.ts).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import { start } from '../../src/api/suspend.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { setWipeObserver, type WipeReport } from '../../src/enclave/wipe.js';
import { guest, tempDir, type TempDir } from '../helpers/cli.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-wipe-'); });
after(() => dir.cleanup());
afterEach(() => setWipeObserver(undefined));

const SECRET = `secret-${crypto.randomBytes(12).toString('hex')}`;

function observe(): WipeReport[] {
  const seen: WipeReport[] = [];
  setWipeObserver((r) => seen.push(r));
  return seen;
}

function assertWiped(r: WipeReport | undefined): void {
  assert.ok(r, 'the guest was wiped');
  assert.ok(r.memoryBytes >= 4 << 20, `its memory was zeroed (${r.memoryBytes} bytes)`);
  assert.equal(r.memoryNonZero, 0);
  for (const ring of r.rings) assert.ok(new Uint8Array(ring).every((b) => b === 0), 'its rings hold nothing');
}

describe('protected memory', () => {
  it('zeroes the memory and rings of a guest that exits; its secret is in no result or audit record', async () => {
    const seen = observe();
    const audit: AuditRecord[] = [];
    const r = await run(guest('checksum'), { args: ['stdin'], stdin: `${SECRET}\n`, stdout: 'capture', onAudit: (a) => audit.push(a) });
    assert.equal(r.exitCode, 0);
    assertWiped(seen.find((s) => s.guest === 'checksum'));
    const { stdout: _o, ...rest } = r;
    assert.doesNotMatch(JSON.stringify(rest) + JSON.stringify(audit), new RegExp(SECRET));
  });

  it('zeroes the whole of rings its stdio went round several times, and the part of them a small output used', async () => {
    for (const bytes of [3 << 20, 100]) {
      const seen = observe();
      const input = Buffer.alloc(bytes, SECRET);
      const r = await run(guest('cat'), { stdin: input, stdout: 'capture' });
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout!.byteLength, bytes);
      const w = seen.find((s) => s.guest === 'cat');
      assert.ok(w);
      for (const ring of w.rings) assert.ok(new Uint8Array(ring).every((b) => b === 0), `a ring after ${bytes} bytes`);
    }
  });

  it('zeroes the memory of a guest that is killed', async () => {
    const seen = observe();
    const r = await run(guest('checksum'), { args: ['sleep', '1000'], timeoutMs: 300, stdout: 'capture' });
    assert.equal(r.exitCode, 102);
    // A killed enclave's thread is stopped with its memory: the engine frees it; the rings are zeroed here.
    const w = seen.find((s) => s.guest === 'checksum');
    assert.ok(w);
    for (const ring of w.rings) assert.ok(new Uint8Array(ring).every((b) => b === 0));
  });

  it('zeroes a sealed guest\'s memory after sealing; the snapshot holds its secret only sealed', { timeout: 120_000 }, async () => {
    const seen = observe();
    const key = crypto.randomBytes(32);
    // Input stays open: the guest reads the secret, then waits for more.
    const input = new PassThrough();
    input.write(`${SECRET}\n`);
    const h = start(guest('checksum'), { args: ['stdin'], stdin: input, stdout: 'capture', suspendable: true, sealKey: key, cacheDir: path.join(dir.path, 'cache') });
    while (h.state() !== 'running') await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 500));
    const snap = path.join(dir.path, 'secret.snap');
    await h.suspend(snap);
    assert.equal((await h.result).exitCode, 75);
    assertWiped(seen.find((s) => s.guest === 'checksum'));
    const bytes = fs.readFileSync(snap);
    assert.equal(bytes.indexOf(Buffer.from(SECRET)), -1);
    assert.equal(bytes.indexOf(Buffer.from(SECRET.slice(0, 12))), -1);
  });
});
