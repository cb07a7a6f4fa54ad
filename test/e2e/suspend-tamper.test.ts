// A snapshot that is not exactly what was sealed, or that does not fit the
// resume, is refused through `capsule resume` and resume() alike, in one
// line with its exit code, before any guest code runs: every header field
// changed, one byte changed in each chunk (its length, its data, its tag),
// the file cut at ten points, a wrong key, another module, a wider policy.
// One snapshot resumed twice at once gives two independent guests; a run
// stopped while it seals leaves no snapshot behind.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import { resume, start } from '../../src/api/suspend.js';
import { CapsuleError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import type { LifecycleEvent } from '../../src/lifecycle/state.js';
import { CHUNK_HEAD_BYTES, MAGIC, TAG_BYTES, keyCheck } from '../../src/snapshot/format.js';
import { layout } from '../helpers/snapshot-layout.js';
import { sealingWorkspace } from '../helpers/sealing.js';
import { guest, lines, runCli, type TempDir } from '../helpers/cli.js';
import { startCli } from '../helpers/net.js';

let dir: TempDir;
let env: NodeJS.ProcessEnv;
let keyFile: string;
let cacheDir: string;
const key = crypto.randomBytes(32);
const checksum = guest('checksum');
const ARGS = ['sleep', '60'];

before(() => {
  ({ dir, env, keyFile, cacheDir } = sealingWorkspace('capsule-suspend-tamper-', key));
});
after(() => dir.cleanup());

interface Variant {
  name: string;
  file: string;
  code: number;
  pattern: RegExp;
  /** Resume arguments besides the snapshot (CLI) and options (API). */
  cli?: string[];
  api?: Parameters<typeof resume>[1];
}

/** Runs `jobs` at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(job));
}

describe('sealed snapshots refused through the CLI and the API', () => {
  let snap: string;
  let firstOut: Buffer;
  const variants: Variant[] = [];

  before(async () => {
    snap = path.join(dir.path, 'good.snap');
    const h = start(checksum, { args: ARGS, stdout: 'capture', suspendable: true, sealKey: key, cacheDir });
    while (h.state() !== 'running') await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 300));
    await h.suspend(snap);
    const first = await h.result;
    assert.equal(first.exitCode, ExitCode.SUSPENDED);
    firstOut = first.stdout!;

    const bytes = fs.readFileSync(snap);
    const { headerEnd, chunks } = layout(bytes);
    const save = (name: string, content: Buffer): string => {
      const file = path.join(dir.path, `${name}.snap`);
      fs.writeFileSync(file, content);
      return file;
    };
    const header = JSON.parse(bytes.subarray(MAGIC.length + 4, headerEnd - TAG_BYTES).toString()) as Record<string, unknown>;
    const changed: Record<string, unknown> = {
      format: 2, capsuleVersion: '9.9.9', sealedAt: new Date(0).toISOString(),
      guests: [{ name: 'checksum', moduleSha256: 'c'.repeat(64) }], policySha256: 'd'.repeat(64),
      chunkBytes: 12345, salt: crypto.randomBytes(16).toString('base64'), keyCheck: keyCheck(crypto.randomBytes(32)),
    };
    assert.deepEqual(Object.keys(changed).sort(), Object.keys(header).sort(), 'every header field is tried');
    for (const [field, value] of Object.entries(changed)) {
      const text = Buffer.from(JSON.stringify({ ...header, [field]: value }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(text.length);
      variants.push({ name: `header field ${field}`, file: save(`field-${field}`, Buffer.concat([MAGIC, len, text, bytes.subarray(headerEnd - TAG_BYTES)])),
        code: ExitCode.SNAPSHOT_REFUSED, pattern: field === 'keyCheck' ? /another key/ : /was altered: its header does not authenticate/ });
    }
    assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
    for (const [i, c] of chunks.entries()) {
      const spots = [c.start + 3, c.start + CHUNK_HEAD_BYTES + c.length + 7];
      if (c.length > 0) spots.push(c.start + CHUNK_HEAD_BYTES + Math.floor(c.length / 2));
      for (const at of spots) {
        const copy = Buffer.from(bytes);
        copy[at]! ^= 0x20;
        variants.push({ name: `chunk ${i + 1} byte ${at}`, file: save(`chunk-${i}-${at}`, copy), code: ExitCode.SNAPSHOT_REFUSED,
          pattern: new RegExp(`chunk ${i + 1} (does not authenticate|is malformed)|is truncated`) });
      }
    }
    const cuts = [0, 5, MAGIC.length + 6, headerEnd - 1, headerEnd, headerEnd + 2, chunks[1]!.start, chunks[2]!.start + 100, chunks.at(-1)!.start, bytes.length - 1];
    assert.equal(new Set(cuts).size, 10);
    for (const cut of cuts) {
      variants.push({ name: `cut at ${cut}`, file: save(`cut-${cut}`, bytes.subarray(0, cut)), code: ExitCode.SNAPSHOT_REFUSED, pattern: /not a Capsule snapshot|is truncated/ });
    }
    const otherKey = path.join(dir.path, 'other.key');
    const other = crypto.randomBytes(32);
    fs.writeFileSync(otherKey, other, { mode: 0o600 });
    variants.push({ name: 'a wrong key', file: snap, code: ExitCode.SNAPSHOT_REFUSED, pattern: /the seal key does not open/, cli: ['--seal-key', otherKey], api: { sealKey: other } });
    variants.push({ name: 'another module', file: snap, code: ExitCode.SNAPSHOT_MISMATCH, pattern: /hello\.wasm' is not the module checksum was sealed with/,
      cli: ['--seal-key', keyFile, '--module', guest('hello')], api: { module: guest('hello') } });
    variants.push({ name: 'a wider policy', file: snap, code: ExitCode.SNAPSHOT_MISMATCH, pattern: /wider policy than it was sealed with: it mounts \/data/,
      cli: ['--seal-key', keyFile, '--dir', `${dir.path}::/data`], api: { dirs: [{ host: dir.path, guest: '/data' }] } });
  });

  it('through resume(): each refused with its code in one line; the guest never runs', { timeout: 300_000 }, async () => {
    for (const v of variants) {
      const events: LifecycleEvent[] = [];
      let code: number;
      let message: string;
      try {
        const r = await resume(v.file, { sealKey: key, stdout: 'capture', cacheDir, onState: (e) => events.push(e), ...v.api });
        assert.equal(r.stdout!.length, 0, `${v.name}: no guest code ran`);
        code = r.exitCode;
        message = (r.outcome as { message?: string }).message ?? JSON.stringify(r.outcome);
      } catch (err) {
        assert.ok(err instanceof CapsuleError, `${v.name}: ${String(err)}`);
        code = err.exitCode;
        message = err.message;
      }
      assert.equal(code, v.code, `${v.name}: ${message}`);
      assert.match(message, v.pattern, v.name);
      assert.ok(!message.includes('\n'), `${v.name}: one line`);
      assert.ok(!events.some((e) => e.to === 'running'), `${v.name}: never running (${events.map((e) => e.to).join(' ')})`);
    }
  });

  it('through capsule resume: each refused with its exit code in one line on stderr, nothing on stdout', { timeout: 300_000 }, async () => {
    await inBatches(variants, 3, async (v) => {
      const r = await runCli(['resume', ...(v.cli ?? ['--seal-key', keyFile]), v.file], { env, timeoutMs: 120_000 });
      assert.equal(r.code, v.code, `${v.name}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, `${v.name}: ${r.stderr}`);
      assert.match(r.stderr, v.pattern, v.name);
      assert.equal(r.stdout, '', `${v.name}: nothing ran`);
    });
  });

  it('the snapshot itself resumes twice at once: two independent guests, each completing the uninterrupted output', { timeout: 180_000 }, async () => {
    const expected = (await run(checksum, { args: ARGS, stdout: 'capture' })).stdout!;
    const [a, b] = await Promise.all([1, 2].map(() => resume(snap, { sealKey: key, stdout: 'capture', cacheDir })));
    for (const r of [a!, b!]) {
      assert.equal(r.exitCode, 0, JSON.stringify(r.outcome));
      assert.deepEqual(Buffer.concat([firstOut, r.stdout!]), expected);
    }
    const cli = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 120_000 });
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(Buffer.concat([firstOut, cli.stdoutBytes]), expected);
  });
});

describe('a run stopped while it seals', () => {
  it('leaves no snapshot under the name asked for, nor a temporary one (capsule run stopped by SIGTERM mid-seal)', { timeout: 180_000 }, async () => {
    const out = path.join(dir.path, 'stopped');
    fs.mkdirSync(out);
    const target = path.join(out, 'big.snap');
    const first = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', 'big', '--memory', '512MiB', checksum, 'fill', '300'], { env });
    try {
      await first.waitFor('filled', 'stdout', 120_000);
      const asked = runCli(['suspend', 'big', '-o', target], { env, timeoutMs: 120_000 });
      // Stopped as soon as the temporary file appears: the seal is under way.
      const deadline = Date.now() + 60_000;
      while (!fs.readdirSync(out).some((f) => f.endsWith('.partial')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      assert.ok(fs.readdirSync(out).some((f) => f.endsWith('.partial')), 'sealing started');
      process.kill(first.pid, 'SIGTERM');
      const exit = await first.exited;
      assert.notEqual(exit.code, 0);
      const s = await asked;
      if (s.code === 0) assert.fail(`the suspension finished before the stop: ${s.stderr}`);
    } finally {
      first.dispose();
    }
    assert.deepEqual(fs.readdirSync(out), [], 'nothing left under either name');
  });

  it('leaves nothing either when the API\'s AbortSignal stops it mid-seal; handle.suspend() rejects in one line', { timeout: 180_000 }, async () => {
    const out = path.join(dir.path, 'aborted');
    fs.mkdirSync(out);
    const target = path.join(out, 'big.snap');
    const stop = new AbortController();
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (b: Buffer) => { text += b.toString(); });
    const h = start(checksum, { args: ['fill', '300'], stdout, suspendable: true, sealKey: key, cacheDir, signal: stop.signal, limits: { memoryBytes: 512 * 1024 * 1024 } });
    const ready = Date.now() + 120_000;
    while (!text.includes('filled') && Date.now() < ready) await new Promise((r) => setTimeout(r, 5));
    const asked = h.suspend(target).then(() => undefined, (e: unknown) => e);
    const deadline = Date.now() + 60_000;
    while (!fs.readdirSync(out).some((f) => f.endsWith('.partial')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    assert.ok(fs.readdirSync(out).some((f) => f.endsWith('.partial')), 'sealing started');
    stop.abort();
    const r = await h.result;
    assert.equal(r.outcome.kind, 'killed', JSON.stringify(r.outcome));
    const err = await asked;
    assert.ok(err instanceof CapsuleError, `the suspension did not finish: ${String(err)}`);
    assert.ok(!err.message.includes('\n'));
    assert.deepEqual(fs.readdirSync(out), [], 'nothing left under either name');
  });

  it('a SIGKILL mid-seal leaves only the hidden temporary file, never one under the name; the next seal into the name clears it', { timeout: 240_000 }, async () => {
    const out = path.join(dir.path, 'killed');
    fs.mkdirSync(out);
    const target = path.join(out, 'big.snap');
    const first = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', 'killed', '--memory', '512MiB', checksum, 'fill', '300'], { env });
    try {
      await first.waitFor('filled', 'stdout', 120_000);
      void runCli(['suspend', 'killed', '-o', target], { env, timeoutMs: 120_000 }).catch(() => undefined);
      const deadline = Date.now() + 60_000;
      while (!fs.readdirSync(out).some((f) => f.endsWith('.partial')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      process.kill(first.pid, 'SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
    } finally {
      first.dispose();
    }
    const left = fs.readdirSync(out);
    assert.equal(left.length, 1, left.join(' '));
    assert.match(left[0]!, new RegExp(`^\\.big\\.snap\\.${first.pid}\\.[0-9a-f]{8}\\.partial$`), 'hidden, named for the dead process');

    const h = start(checksum, { args: ['sleep', '100'], stdout: 'capture', suspendable: true, sealKey: key, cacheDir });
    while (h.state() !== 'running') await new Promise((r) => setTimeout(r, 5));
    await h.suspend(target);
    assert.equal((await h.result).exitCode, ExitCode.SUSPENDED);
    assert.deepEqual(fs.readdirSync(out), ['big.snap'], 'the dead process\'s temporary file is gone');
  });
});
