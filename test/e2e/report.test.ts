// The usage report names what ran and with what: the module's SHA-256 and
// Capsule's version, in `--report` and in run()'s result; CPU time is told
// for the whole process and for the guest's own thread.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../../src/api/index.js';
import { ROOT, guest, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('capsule-report-');
after(() => tmp.cleanup());
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const sha256 = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

describe('the usage report', () => {
  it('--report carries the module hash, the version and both CPU times', async () => {
    const file = path.join(tmp.path, 'report.json');
    const r = await runCli(['run', '--report', file, guest('exit_code'), '5']);
    assert.equal(r.code, 5, r.stderr);
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & { usage: Record<string, unknown> };
    assert.equal(report['moduleSha256'], sha256(fs.readFileSync(guest('exit_code'))));
    assert.equal(report['capsuleVersion'], version);
    for (const k of ['cpuMs', 'threadCpuMs', 'wallMs']) {
      assert.equal(typeof report.usage[k], 'number', k);
      assert.ok((report.usage[k] as number) >= 0, k);
    }
  });

  it('run() hashes the bytes it was given, and says nothing for a precompiled module', async () => {
    const bytes = fs.readFileSync(guest('hello'));
    const fromBytes = await run(bytes, { stdout: 'ignore' });
    assert.equal(fromBytes.moduleSha256, sha256(bytes));
    assert.equal(fromBytes.capsuleVersion, version);
    const compiled = await run(await WebAssembly.compile(bytes), { mode: 'normal', stdout: 'ignore' });
    assert.equal(compiled.exitCode, 0);
    assert.equal(compiled.moduleSha256, undefined);
  });
});
