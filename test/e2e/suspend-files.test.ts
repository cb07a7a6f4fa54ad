// Open files travel in a snapshot: a guest with a file open for reading
// (non-blocking), one for writing, one for appending and a directory,
// suspended while it waits for input, while it sleeps in poll_oneoff and in
// a CPU loop that makes calls, and resumed, prints what an uninterrupted run
// prints and leaves byte-identical files (a checksum guest: every line
// depends on what it read, where its positions were, its flags and rights).
// A resume that cannot open a file again as it was (removed, its mount not
// granted, read-only where it was open for writing) is refused in one line
// naming the file, exit 80, before any guest code runs.

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
import { sealingWorkspace } from '../helpers/sealing.js';
import { guest, lines, runCli, type TempDir } from '../helpers/cli.js';
import { freePort, startCli } from '../helpers/net.js';

let dir: TempDir;
let env: NodeJS.ProcessEnv;
let keyFile: string;
let cacheDir: string;
const key = crypto.randomBytes(32);
const fileChecksum = guest('file_checksum');
const input = crypto.randomBytes(7777);
const LEFT = ['in.bin', 'out.bin', 'log.txt'];

before(() => {
  ({ dir, env, keyFile, cacheDir } = sealingWorkspace('capsule-suspend-files-', key));
});
after(() => dir.cleanup());

/** A fresh data directory holding the guest's input file. */
function dataDir(name: string): string {
  const d = path.join(dir.path, name);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'in.bin'), input);
  return d;
}

function filesIn(d: string): Record<string, Buffer> {
  assert.deepEqual(fs.readdirSync(d).sort(), [...LEFT].sort(), `what is left in ${d}`);
  return Object.fromEntries(LEFT.map((f) => [f, fs.readFileSync(path.join(d, f))]));
}

/** The uninterrupted run: its output and the files it leaves. */
async function uninterrupted(name: string, args: string[], stdin?: string): Promise<{ stdout: Buffer; files: Record<string, Buffer> }> {
  const d = dataDir(name);
  const r = await run(fileChecksum, { args, dirs: [{ host: d, guest: '/data' }], stdout: 'capture', ...(stdin !== undefined ? { stdin } : {}) });
  assert.equal(r.exitCode, 0, r.stdout?.toString());
  assert.match(r.stdout!.toString(), /^done /m);
  return { stdout: r.stdout!, files: filesIn(d) };
}

/** What a resume that must be refused gave: its exit code and one line (API: thrown or as the outcome). */
async function refusedByApi(snap: string, options: Parameters<typeof resume>[1]): Promise<{ code: number; message: string }> {
  try {
    const r = await resume(snap, { sealKey: key, stdout: 'capture', cacheDir, ...options });
    assert.equal(r.stdout!.length, 0, 'no guest code ran');
    return { code: r.exitCode, message: (r.outcome as { message: string }).message };
  } catch (err) {
    assert.ok(err instanceof CapsuleError, String(err));
    return { code: err.exitCode, message: err.message };
  }
}

/** A blocking point: the guest's arguments, what it is given before and after the suspension, and the line to wait for. */
interface BlockingPoint {
  name: string;
  args: string[];
  waitFor: string;
  before?: string;
  after?: string;
}

const POINTS: BlockingPoint[] = [
  { name: 'asleep in poll_oneoff', args: ['sleep', '40'], waitFor: 'step 12 ' },
  { name: 'blocked reading stdin (the read is made again on resume)', args: ['stdin'], waitFor: 'step 2 ', before: 'alpha\nbeta\ngamma\n', after: 'delta\nepsilon\n' },
  { name: 'in a CPU loop that makes calls', args: ['loop', '20000000'], waitFor: 'step 20 ' },
];

/** Checks a suspended run's output and the resumed one's against an uninterrupted run, and the files each leaves. */
async function sameAsUninterrupted(p: BlockingPoint, name: string, d: string, first: string, second: Buffer): Promise<void> {
  assert.doesNotMatch(first, /^done /m, 'suspended before it ended');
  const expected = await uninterrupted(`${name}-whole`, p.args, p.before !== undefined ? p.before + (p.after ?? '') : undefined);
  assert.equal(first + second.toString(), expected.stdout.toString());
  assert.deepEqual(filesIn(d), expected.files);
}

describe('open files travel in a snapshot (CLI)', () => {
  for (const [i, p] of POINTS.entries()) {
    it(`${p.name}, with files open: capsule suspend, capsule resume; output and files byte-identical to an uninterrupted run`, { timeout: 180_000 }, async () => {
      const name = `cli-${i}`;
      const d = dataDir(name);
      const snap = path.join(dir.path, `${name}.snap`);
      const first = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', name, '--dir', `${d}::/data`, fileChecksum, ...p.args],
        { env, keepStdin: p.before !== undefined });
      try {
        if (p.before !== undefined) first.child.stdin.write(p.before);
        await first.waitFor(p.waitFor, 'stdout', 90_000);
        const s = await runCli(['suspend', name, '-o', snap], { env, timeoutMs: 60_000 });
        assert.equal(s.code, 0, s.stderr);
        assert.equal((await first.exited).code, ExitCode.SUSPENDED, first.stderr());
      } finally {
        first.dispose();
      }
      const second = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 90_000, ...(p.after !== undefined ? { stdin: p.after } : {}) });
      assert.equal(second.code, 0, second.stderr);
      await sameAsUninterrupted(p, name, d, first.stdout(), second.stdoutBytes);
    });
  }
});

describe('open files travel in a snapshot (API)', () => {
  for (const [i, p] of POINTS.entries()) {
    if (p.args[0] === 'loop') continue; // below, with the refusals that reuse its snapshot
    it(`${p.name}, with files open: handle.suspend(), resume(); output and files byte-identical to an uninterrupted run`, { timeout: 180_000 }, async () => {
      const name = `api-${i}`;
      const d = dataDir(name);
      const snap = path.join(dir.path, `${name}.snap`);
      const out = new PassThrough();
      let text = '';
      out.on('data', (b: Buffer) => { text += b.toString(); });
      const stdin = new PassThrough();
      if (p.before !== undefined) stdin.write(p.before);
      const h = start(fileChecksum, { args: p.args, dirs: [{ host: d, guest: '/data' }], stdout: out, stdin, suspendable: true, sealKey: key, cacheDir });
      const deadline = Date.now() + 90_000;
      while (!text.includes(p.waitFor) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await h.suspend(snap);
      assert.equal((await h.result).exitCode, ExitCode.SUSPENDED);
      await new Promise((r) => setImmediate(r));
      const second = await resume(snap, { sealKey: key, stdout: 'capture', cacheDir, ...(p.after !== undefined ? { stdin: p.after } : {}) });
      assert.equal(second.exitCode, 0, JSON.stringify(second.outcome));
      await sameAsUninterrupted(p, name, d, text, second.stdout!);
    });
  }
});

describe('open files travel in a snapshot, and what refuses it (API)', () => {
  let snap: string;
  let data: string;
  let firstOut: string;

  it('a CPU loop that makes calls with files open: handle.suspend(), resume(); output and files byte-identical', { timeout: 180_000 }, async () => {
    const args = ['loop', '400000'];
    data = dataDir('api-loop');
    snap = path.join(dir.path, 'api-loop.snap');
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => { text += b.toString(); });
    const h = start(fileChecksum, { args, dirs: [{ host: data, guest: '/data' }], stdout: out, suspendable: true, sealKey: key, cacheDir });
    const deadline = Date.now() + 90_000;
    while (!text.includes('step 20 ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    const sealed = await h.suspend(snap);
    const first = await h.result;
    assert.equal(first.exitCode, ExitCode.SUSPENDED);
    assert.equal(sealed.bytes, fs.statSync(snap).size);
    // What was written to the stream reaches its readers a turn later.
    await new Promise((r) => setImmediate(r));
    firstOut = text;
    assert.doesNotMatch(firstOut, /^done /m);
    // Every byte it wrote before sealing is in its files already (the write cache written out): a record
    // per step printed, and one more if it was suspended in the printing call (made again on resume).
    const steps = firstOut.match(/^step /gm)!.length;
    const records = fs.readFileSync(path.join(data, 'out.bin')).length / 26;
    assert.ok(records === steps || records === steps + 1, `${records} records, ${steps} steps printed`);
    // Kept aside: the refusal tests below resume this snapshot against these files as they were at sealing.
    fs.cpSync(data, `${data}.sealed`, { recursive: true });

    const second = await resume(snap, { sealKey: key, stdout: 'capture', cacheDir });
    assert.equal(second.exitCode, 0, JSON.stringify(second.outcome));
    const expected = await uninterrupted('api-loop-whole', args);
    assert.equal(firstOut + second.stdout!.toString(), expected.stdout.toString());
    assert.deepEqual(filesIn(data), expected.files);
  });

  it('refuses, in one line naming the file (80), a resume without its mount, with it read-only, or with the file removed; nothing runs', { timeout: 120_000 }, async () => {
    assert.ok(snap !== undefined, 'the snapshot of the test before');
    fs.rmSync(data, { recursive: true });
    fs.cpSync(`${data}.sealed`, data, { recursive: true });
    const before = filesIn(data);

    const noMount = await refusedByApi(snap, { limits: { maxFds: 100 } });
    assert.equal(noMount.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(noMount.message, /^cannot resume file-checksum: it had \/data\/in\.bin open \(fd 4\), which lies in the mount \/data, which the resume's policy does not grant$/);

    const readOnly = await refusedByApi(snap, { dirs: [{ host: data, guest: '/data', readOnly: true }] });
    assert.equal(readOnly.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(readOnly.message, /^cannot resume file-checksum: it had \/data\/out\.bin open \(fd 5\), which was open for writing, and the resume mounts \/data read-only$/);

    const cli = await runCli(['resume', '--seal-key', keyFile, '--dir', `${data}::/data:ro`, snap], { env, timeoutMs: 60_000 });
    assert.equal(cli.code, ExitCode.SNAPSHOT_MISMATCH, cli.stderr);
    assert.equal(lines(cli.stderr).length, 1, cli.stderr);
    assert.match(cli.stderr, /it had \/data\/out\.bin open \(fd 5\), which was open for writing, and the resume mounts \/data read-only/);
    assert.equal(cli.stdout, '', 'nothing ran');

    const cliNoMount = await runCli(['resume', '--seal-key', keyFile, '--max-fds', '100', snap], { env, timeoutMs: 60_000 });
    assert.equal(cliNoMount.code, ExitCode.SNAPSHOT_MISMATCH, cliNoMount.stderr);
    assert.equal(lines(cliNoMount.stderr).length, 1, cliNoMount.stderr);
    assert.match(cliNoMount.stderr, /it had \/data\/in\.bin open \(fd 4\), which lies in the mount \/data, which the resume's policy does not grant/);
    assert.equal(cliNoMount.stdout, '');
    assert.deepEqual(filesIn(data), before, 'the refused resumes touched no file');

    const limited = await refusedByApi(snap, { dirs: [{ host: data, guest: '/data' }], limits: { maxFds: 6 } });
    assert.equal(limited.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(limited.message, /^cannot resume file-checksum: its descriptor 6 is past the resume's descriptor limit of 6$/);

    fs.rmSync(path.join(data, 'log.txt'));
    const removed = await refusedByApi(snap, {});
    assert.equal(removed.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(removed.message, /^cannot resume file-checksum: it had \/data\/log\.txt open \(fd 6\), which no longer exists$/);
    const cliRemoved = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 60_000 });
    assert.equal(cliRemoved.code, ExitCode.SNAPSHOT_MISMATCH, cliRemoved.stderr);
    assert.equal(lines(cliRemoved.stderr).length, 1, cliRemoved.stderr);
    assert.match(cliRemoved.stderr, /it had \/data\/log\.txt open \(fd 6\), which no longer exists/);
    assert.equal(cliRemoved.stdout, '');
    assert.equal(fs.existsSync(path.join(data, 'log.txt')), false, 'nothing created it again');
    assert.deepEqual(fs.readFileSync(path.join(data, 'out.bin')), before['out.bin'], 'nor wrote to the others');
  });

  it('a path swapped between suspend and resume cannot lead outside the mount: a symlink out, a directory in a file\'s place', { timeout: 120_000 }, async () => {
    const secret = path.join(dir.path, 'secret.txt');
    fs.writeFileSync(secret, 'outside the mount');
    fs.rmSync(data, { recursive: true });
    fs.cpSync(`${data}.sealed`, data, { recursive: true });
    fs.rmSync(path.join(data, 'in.bin'));
    fs.symlinkSync(secret, path.join(data, 'in.bin'));
    const out = await refusedByApi(snap, {});
    assert.equal(out.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(out.message, /^cannot resume file-checksum: it had \/data\/in\.bin open \(fd 4\), which the resume's policy does not grant \(.*outside its mount\)$/);
    assert.ok(!out.message.includes('outside the mount'), 'nothing of the file outside is read');

    fs.rmSync(path.join(data, 'in.bin'));
    fs.writeFileSync(path.join(data, 'in.bin'), input);
    fs.rmSync(path.join(data, 'out.bin'));
    fs.mkdirSync(path.join(data, 'out.bin'));
    const swapped = await refusedByApi(snap, {});
    assert.equal(swapped.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(swapped.message, /^cannot resume file-checksum: it had \/data\/out\.bin open \(fd 5\), which /);
    assert.ok(!swapped.message.includes('\n'));
  });

  it('a file renamed while open, a socket: the suspension is refused in one line naming the descriptor, and the guest goes on', { timeout: 120_000 }, async () => {
    const d = dataDir('api-renamed');
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => { text += b.toString(); });
    const h = start(fileChecksum, { args: ['sleep', '50'], dirs: [{ host: d, guest: '/data' }], stdout: out, suspendable: true, sealKey: key, cacheDir });
    const deadline = Date.now() + 90_000;
    while (!text.includes('step 3 ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    fs.renameSync(path.join(d, 'log.txt'), path.join(d, 'renamed.txt'));
    const target = path.join(dir.path, 'renamed.snap');
    await assert.rejects(h.suspend(target), (e: CapsuleError) => e.exitCode === ExitCode.UNAVAILABLE
      && /^cannot suspend file-checksum: descriptor 6 \(\/data\/log\.txt\) was removed or renamed while open: it does not travel in a snapshot$/.test(e.message));
    const r = await h.result;
    await new Promise((r2) => setImmediate(r2));
    assert.equal(r.exitCode, 0, JSON.stringify(r.outcome));
    assert.match(text, /^done 50 /m, 'the guest went on to its end');
    assert.equal(fs.existsSync(target), false);

    const stop = new AbortController();
    // In normal mode a guest's sockets are the host's own (in secure mode the layer's, sealed with it: sockets-suspend.test.ts).
    const server = start(guest('echo_server'), { args: [String(await freePort()), '1'], stdout: 'capture', mode: 'normal', suspendable: true, sealKey: key, cacheDir, signal: stop.signal });
    while (server.state() !== 'running') await new Promise((r2) => setTimeout(r2, 5));
    await new Promise((r2) => setTimeout(r2, 200));
    await assert.rejects(server.suspend(path.join(dir.path, 'socket.snap')), (e: CapsuleError) => e.exitCode === ExitCode.UNAVAILABLE
      && /^cannot suspend echo-server: descriptor \d+ is a socket: in normal mode a guest's sockets are the host's own, which do not travel in a snapshot$/.test(e.message));
    assert.equal(server.state(), 'running');
    assert.equal(fs.existsSync(path.join(dir.path, 'socket.snap')), false);
    stop.abort();
    assert.equal((await server.result).outcome.kind, 'killed');
  });

  it('a mount\'s quota travels: the resume goes on counting from what was used; lifting or raising it is a wider policy (80)', { timeout: 120_000 }, async () => {
    const quota = { bytes: 700 };
    const args = ['sleep', '60'];
    const whole = dataDir('quota-whole');
    const expected = await run(fileChecksum, { args, dirs: [{ host: whole, guest: '/data', quota }], stdout: 'capture' });
    assert.equal(expected.exitCode, 1, 'the guest stops at the quota');
    assert.match(expected.stdout!.toString(), /^error: (write out\.bin|append log\.txt): /m);

    const d = dataDir('quota');
    const snapQ = path.join(dir.path, 'quota.snap');
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => { text += b.toString(); });
    const h = start(fileChecksum, { args, dirs: [{ host: d, guest: '/data', quota }], stdout: out, suspendable: true, sealKey: key, cacheDir });
    const deadline = Date.now() + 90_000;
    while (!text.includes('step 8 ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    await h.suspend(snapQ);
    assert.equal((await h.result).exitCode, ExitCode.SUSPENDED);
    await new Promise((r) => setImmediate(r));
    assert.doesNotMatch(text, /^error/m, 'suspended before the quota was reached');

    const lifted = await refusedByApi(snapQ, { dirs: [{ host: d, guest: '/data' }] });
    assert.equal(lifted.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(lifted.message, /wider policy than it was sealed with: it lifts the byte quota of \/data/);
    const raised = await refusedByApi(snapQ, { dirs: [{ host: d, guest: '/data', quota: { bytes: 100_000 } }] });
    assert.equal(raised.code, ExitCode.SNAPSHOT_MISMATCH);
    assert.match(raised.message, /it raises the byte quota from 700 to 100000 of \/data/);

    const second = await resume(snapQ, { sealKey: key, stdout: 'capture', cacheDir });
    assert.equal(second.exitCode, 1, JSON.stringify(second.outcome));
    assert.equal(text + second.stdout!.toString(), expected.stdout!.toString());
    for (const f of ['out.bin', 'log.txt']) assert.deepEqual(fs.readFileSync(path.join(d, f)), fs.readFileSync(path.join(whole, f)), f);
  });
});
