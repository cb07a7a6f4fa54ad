// Suspend and resume (--suspendable): a guest sealed while it sleeps in
// poll_oneoff, while it waits for input, or in a CPU loop that makes calls,
// and resumed, prints exactly what an uninterrupted run prints (a checksum
// guest: every line depends on all its memory, globals and stack). A
// snapshot resumes any number of times; a wrong key, another module or a
// wider policy is refused with one line before any guest code runs.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import { resume, start } from '../../src/api/suspend.js';
import { CapsuleError } from '../../src/core/errors.js';
import type { AuditRecord } from '../../src/audit/record.js';
import type { LifecycleEvent } from '../../src/lifecycle/state.js';
import { sealingWorkspace } from '../helpers/sealing.js';
import { guest, lines, ROOT, runCli, type TempDir } from '../helpers/cli.js';
import { startCli } from '../helpers/net.js';

let dir: TempDir;
let env: NodeJS.ProcessEnv;
let keyFile: string;
const key = crypto.randomBytes(32);
const checksum = guest('checksum');

before(() => {
  ({ dir, env, keyFile } = sealingWorkspace('capsule-suspend-', key));
});
after(() => dir.cleanup());

async function uninterrupted(args: string[], stdin?: string): Promise<Buffer> {
  const r = await run(checksum, { args, stdout: 'capture', ...(stdin !== undefined ? { stdin } : {}) });
  assert.equal(r.exitCode, 0);
  return r.stdout!;
}

describe('suspend and resume (CLI)', () => {
  it('a guest asleep in poll_oneoff: suspended (exit 75), resumed twice, each run completes the uninterrupted output', { timeout: 120_000 }, async () => {
    const snap = path.join(dir.path, 'nap.snap');
    const first = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', 'napper', checksum, 'sleep', '400'], { env });
    try {
      await first.waitFor('nap 10 ', 'stdout', 60_000);
      const ps = await runCli(['ps', '--json', '--pid', String(first.pid)], { env });
      assert.equal(ps.code, 0, ps.stderr);
      const row = (JSON.parse(ps.stdout) as { guests: { name: string; state: string }[] }).guests[0]!;
      assert.equal(row.name, 'napper');
      const s = await runCli(['suspend', 'napper', '-o', snap], { env, timeoutMs: 60_000 });
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stderr, /^capsule: napper suspended into .*nap\.snap \(\d+ bytes\)\n$/);
      const exit = await first.exited;
      assert.equal(exit.code, 75, first.stderr());
      assert.match(first.stderr(), /suspended into .*nap\.snap/);
    } finally {
      first.dispose();
    }
    assert.equal(fs.statSync(snap).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir.path).filter((f) => f.includes('partial')), [], 'no temporary file is left');
    const expected = await uninterrupted(['sleep', '400']);
    for (const attempt of [1, 2]) {
      const second = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 60_000 });
      assert.equal(second.code, 0, `resume ${attempt}: ${second.stderr}`);
      assert.deepEqual(Buffer.concat([Buffer.from(first.stdout()), second.stdoutBytes]), expected, `resume ${attempt} continues where it stopped`);
      assert.doesNotMatch(second.stdoutBytes.toString(), /went backwards/);
    }
  });

  it('a guest blocked reading stdin: the read is made again on resume, with the new input', { timeout: 120_000 }, async () => {
    const snap = path.join(dir.path, 'stdin.snap');
    const first = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', 'reader', checksum, 'stdin'], { env, keepStdin: true });
    try {
      first.child.stdin.write('alpha\nbeta\n');
      await first.waitFor('line 2 ', 'stdout', 60_000);
      const s = await runCli(['suspend', 'reader', '-o', snap], { env, timeoutMs: 60_000 });
      assert.equal(s.code, 0, s.stderr);
      assert.equal((await first.exited).code, 75, first.stderr());
    } finally {
      first.dispose();
    }
    const second = await runCli(['resume', '--seal-key', keyFile, snap], { env, stdin: 'gamma\ndelta\n', timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    const expected = await uninterrupted(['stdin'], 'alpha\nbeta\ngamma\ndelta\n');
    assert.deepEqual(Buffer.concat([Buffer.from(first.stdout()), second.stdoutBytes]), expected);
  });

  it('refuses a wrong key, another module, a wider policy (unless allowed, and then audited); a guest not --suspendable', { timeout: 120_000 }, async () => {
    const snap = path.join(dir.path, 'refuse.snap');
    const h = start(checksum, { args: ['sleep', '100'], stdout: 'capture', suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']! });
    await new Promise((r) => setTimeout(r, 200));
    await h.suspend(snap);
    assert.equal((await h.result).exitCode, 75);

    const otherKey = path.join(dir.path, 'other.key');
    fs.writeFileSync(otherKey, crypto.randomBytes(32), { mode: 0o600 });
    const wrong = await runCli(['resume', '--seal-key', otherKey, snap], { env });
    assert.equal(wrong.code, 79);
    assert.equal(lines(wrong.stderr).length, 1);
    assert.match(wrong.stderr, /the seal key does not open/);
    assert.equal(wrong.stdout, '', 'nothing ran');

    const other = await runCli(['resume', '--seal-key', keyFile, '--module', guest('hello'), snap], { env });
    assert.equal(other.code, 80);
    assert.match(other.stderr, /hello\.wasm' is not the module checksum was sealed with/);
    assert.equal(other.stdout, '');

    const wider = await runCli(['resume', '--seal-key', keyFile, '--dir', `${dir.path}::/data`, snap], { env });
    assert.equal(wider.code, 80);
    assert.equal(lines(wider.stderr).length, 1);
    assert.match(wider.stderr, /wider policy than it was sealed with: it mounts \/data.*--allow-policy-change/);
    assert.equal(wider.stdout, '');

    const audit = path.join(dir.path, 'audit.jsonl');
    const allowed = await runCli(['resume', '--seal-key', keyFile, '--allow-policy-change', '--dir', `${dir.path}::/data`, '--audit', audit, snap], { env, timeoutMs: 60_000 });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^done /m);
    const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.ok(records.some((r) => r.op === 'resume' && /policy wider than the sealed one: it mounts \/data.*\(--allow-policy-change\)/.test(r.reason)), JSON.stringify(records));

    const plain = startCli(['run', '--name', 'plain', checksum, 'sleep', '300'], { env });
    try {
      await plain.waitFor('nap 1 ', 'stdout', 30_000);
      const s = await runCli(['suspend', 'plain', '-o', path.join(dir.path, 'plain.snap'), '--pid', String(plain.pid)], { env });
      assert.equal(s.code, 69);
      assert.match(s.stderr, /cannot suspend plain: the guest was not started --suspendable/);
      assert.equal(fs.existsSync(path.join(dir.path, 'plain.snap')), false);
      await plain.waitFor('nap 3 ', 'stdout', 30_000);
    } finally {
      await plain.stop('SIGINT');
    }
    const none = await runCli(['suspend', 'nobody', '-o', path.join(dir.path, 'x.snap')], { env });
    assert.equal(none.code, 66);
    assert.match(none.stderr, /no running guest named nobody/);
    const noOut = await runCli(['suspend', 'nobody'], { env });
    assert.equal(noOut.code, 64);
  });
});

describe('suspend and resume (API)', () => {
  it('a CPU loop that makes calls: states suspending -> suspended -> resuming -> running; output byte-identical', { timeout: 120_000 }, async () => {
    const args = ['loop', '20000000'];
    const snap = path.join(dir.path, 'loop.snap');
    const events: LifecycleEvent[] = [];
    const h = start(checksum, { args, stdout: 'capture', suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']!, onState: (e) => events.push(e) });
    while (h.state() !== 'running') await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    const sealed = await h.suspend(snap);
    assert.equal(sealed.file, snap);
    assert.equal(sealed.bytes, fs.statSync(snap).size);
    const first = await h.result;
    assert.deepEqual(first.outcome, { kind: 'suspended', file: snap, bytes: sealed.bytes });
    assert.equal(first.exitCode, 75);
    assert.deepEqual(events.map((e) => e.to), ['starting', 'running', 'suspending', 'suspended']);
    // Only the memory used is sealed: the 4 MiB the guest filled, not its whole address space.
    assert.ok(sealed.bytes < 6 * 1024 * 1024, String(sealed.bytes));

    const resumedEvents: LifecycleEvent[] = [];
    const second = await resume(snap, { sealKey: key, stdout: 'capture', cacheDir: env['CAPSULE_CACHE_DIR']!, onState: (e) => resumedEvents.push(e) });
    assert.equal(second.exitCode, 0);
    assert.deepEqual(resumedEvents.map((e) => e.to), ['starting', 'resuming', 'running', 'exited']);
    assert.deepEqual(Buffer.concat([first.stdout!, second.stdout!]), await uninterrupted(args));
  });

  it('suspending needs a seal key; a snapshot changed on disk is refused before the guest runs', async () => {
    await assert.rejects(run(checksum, { suspendable: true, stdout: 'capture' }), (e: CapsuleError) => e.exitCode === 64 && /needs a seal key/.test(e.message));
    const snap = path.join(dir.path, 'loop.snap');
    const bytes = fs.readFileSync(snap);
    bytes[Math.floor(bytes.length / 2)]! ^= 1;
    const bad = path.join(dir.path, 'bad.snap');
    fs.writeFileSync(bad, bytes);
    const events: LifecycleEvent[] = [];
    const r = await resume(bad, { sealKey: key, stdout: 'capture', cacheDir: env['CAPSULE_CACHE_DIR']!, onState: (e) => events.push(e) });
    assert.equal(r.exitCode, 79);
    assert.match((r.outcome as { message: string }).message, /was altered: chunk \d+ does not authenticate/);
    assert.equal(r.stdout!.length, 0, 'no guest code ran');
  });

  it('a guest that can start threads is refused --suspendable in one line (64), before it runs', async () => {
    const threads = path.join(ROOT, 'test', 'guests', 'wasix', 'threads.wasm');
    const r = await runCli(['run', '--suspendable', '--seal-key', keyFile, threads, 'basic'], { env });
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /^capsule: --suspendable: '.*threads\.wasm' can start threads, and a threaded guest cannot be suspended yet\n$/);
    assert.equal(r.stdout, '');
  });
});
