// A snapshot large enough for a thread of its own to unseal it (64 MiB or
// more, see api/suspend.ts) resumes exactly as an uninterrupted run goes on,
// through the API and the CLI; one byte changed in a chunk in its middle,
// or the last chunk cut off, is refused in one line (79) with no guest code
// run, though the chunks before it reached the enclave (a file replaced
// while it is resumed: test/unit/snapshot-chunk-channel.test.ts).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import { resume, start } from '../../src/api/suspend.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import type { LifecycleEvent } from '../../src/lifecycle/state.js';
import { CHUNK_HEAD_BYTES } from '../../src/snapshot/format.js';
import { layout } from '../helpers/snapshot-layout.js';
import { sealingWorkspace } from '../helpers/sealing.js';
import { guest, lines, runCli, type TempDir } from '../helpers/cli.js';

let dir: TempDir;
let env: NodeJS.ProcessEnv;
let keyFile: string;
let cacheDir: string;
const key = crypto.randomBytes(32);
const checksum = guest('checksum');
/** MiB the guest fills: its snapshot is over the size a thread unseals. */
const ARGS = ['fillsum', '80'];
const limits = { memoryBytes: 256 * 1024 * 1024 };

before(() => {
  ({ dir, env, keyFile, cacheDir } = sealingWorkspace('capsule-suspend-large-', key));
});
after(() => dir.cleanup());

/** Seals the guest once it has filled its memory; returns the file and what it printed before. */
async function sealFilled(file: string): Promise<Buffer> {
  const stdout = new PassThrough();
  const seen: Buffer[] = [];
  stdout.on('data', (b: Buffer) => seen.push(b));
  const h = start(checksum, { args: ARGS, stdout, suspendable: true, sealKey: key, cacheDir, limits });
  const deadline = Date.now() + 120_000;
  while (!Buffer.concat(seen).includes('filled') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await h.suspend(file);
  const first = await h.result;
  assert.equal(first.exitCode, ExitCode.SUSPENDED, JSON.stringify(first.outcome));
  return Buffer.concat(seen);
}

describe('a snapshot unsealed by a thread of its own', () => {
  let snap: string;
  let firstOut: Buffer;
  let expected: Buffer;

  before(async () => {
    expected = (await run(checksum, { args: ARGS, stdout: 'capture', limits })).stdout!;
    snap = path.join(dir.path, 'large.snap');
    firstOut = await sealFilled(snap);
    assert.ok(fs.statSync(snap).size >= 64 << 20, `${fs.statSync(snap).size} bytes`);
  });

  it('resumes to the uninterrupted run\'s output, through resume() and capsule resume', { timeout: 240_000 }, async () => {
    const r = await resume(snap, { sealKey: key, stdout: 'capture', cacheDir, limits });
    assert.equal(r.exitCode, 0, JSON.stringify(r.outcome));
    assert.deepEqual(Buffer.concat([firstOut, r.stdout!]).toString(), expected.toString());
    const cli = await runCli(['resume', '--seal-key', keyFile, '--memory', '256MiB', snap], { env, timeoutMs: 120_000 });
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(Buffer.concat([firstOut, cli.stdoutBytes]).toString(), expected.toString());
  });

  it('refuses a changed byte in its middle or its last chunk cut off: one line, 79, nothing run', { timeout: 240_000 }, async () => {
    const bytes = fs.readFileSync(snap);
    const { chunks } = layout(bytes);
    const middle = Math.floor(chunks.length / 2);
    const altered = Buffer.from(bytes);
    altered[chunks[middle]!.start + CHUNK_HEAD_BYTES + 1000]! ^= 1;
    const cases: { name: string; content: Buffer; pattern: RegExp }[] = [
      { name: 'a byte changed', content: altered, pattern: new RegExp(`chunk ${middle + 1} does not authenticate`) },
      { name: 'the last chunk cut off', content: bytes.subarray(0, chunks.at(-1)!.start), pattern: /is truncated: its final chunk is missing/ },
    ];
    for (const c of cases) {
      const file = path.join(dir.path, 'changed.snap');
      fs.writeFileSync(file, c.content);
      const events: LifecycleEvent[] = [];
      const r = await resume(file, { sealKey: key, stdout: 'capture', cacheDir, limits, onState: (e) => events.push(e) });
      assert.equal(r.exitCode, ExitCode.SNAPSHOT_REFUSED, `${c.name}: ${JSON.stringify(r.outcome)}`);
      const message = (r.outcome as { message?: string }).message ?? '';
      assert.match(message, c.pattern, c.name);
      assert.ok(!message.includes('\n'), `${c.name}: one line`);
      assert.equal(r.stdout!.length, 0, `${c.name}: no guest code ran`);
      assert.ok(!events.some((e) => e.to === 'running'), `${c.name}: never running`);
      const cli = await runCli(['resume', '--seal-key', keyFile, '--memory', '256MiB', file], { env, timeoutMs: 120_000 });
      assert.equal(cli.code, ExitCode.SNAPSHOT_REFUSED, `${c.name}: ${cli.stderr}`);
      assert.equal(lines(cli.stderr).length, 1, cli.stderr);
      assert.match(cli.stderr, c.pattern);
      assert.equal(cli.stdout, '', `${c.name}: nothing ran`);
    }
  });
});
