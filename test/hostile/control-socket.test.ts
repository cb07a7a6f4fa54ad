// The control socket against another local user and against a hostile or
// broken peer: a runtime directory someone else made (or made a symlink, or
// opened to all) is refused; sockets not of the user's are never connected
// to; stale sockets are cleared; a silent, flooding or escape-writing layer
// gives one line; a request without a proof of identity is refused.
// The cases with a second user need root, useradd and setpriv (CI has them).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { startCli, type LongRun } from '../helpers/net.js';
import { ask } from '../helpers/control.js';

let base: TempDir;
let attacker: { name: string; uid: number; gid: number } | undefined;
let noAttacker = '';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

before(() => {
  base = tempDir('capsule-control-');
  // Like the temp directory: anyone may create here, no one may remove another's entries.
  fs.chmodSync(base.path, 0o1777);
  if (process.getuid?.() !== 0) noAttacker = 'needs root to create a second user';
  else if (!which('useradd') || !which('setpriv')) noAttacker = 'needs useradd and setpriv';
  else {
    const name = `capsule-attacker-${crypto.randomBytes(4).toString('hex')}`;
    const made = spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    if (made.status !== 0) noAttacker = `useradd failed: ${made.stderr.toString()}`;
    else {
      const id = (flag: string): number => Number(spawnSync('id', [flag, name]).stdout.toString().trim());
      attacker = { name, uid: id('-u'), gid: id('-g') };
    }
  }
});
after(() => {
  base.cleanup();
  if (attacker) spawnSync('userdel', [attacker.name]);
});

function asAttacker(cmd: string, args: string[]): string[] {
  return ['--reuid', String(attacker!.uid), '--regid', String(attacker!.gid), '--clear-groups', cmd, ...args];
}

/** Runs `cmd` as the attacker and checks it worked. */
function attackerDoes(cmd: string, ...args: string[]): void {
  const r = spawnSync('setpriv', asAttacker(cmd, args));
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr?.toString()}`);
}

const envFor = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, CAPSULE_RUNTIME_DIR: dir });
let fresh = 0;
/** A private runtime directory of the test's own (as capsule would make it). */
function privateDir(): string {
  const dir = path.join(base.path, `own-${++fresh}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** `capsule sockets` refuses the directory in one line (77); `capsule run` runs the guest and warns once. */
async function refused(dir: string, why: RegExp): Promise<void> {
  const env = envFor(dir);
  const list = await runCli(['sockets'], { env });
  assert.equal(list.code, 77, list.stderr);
  assert.equal(lines(list.stderr).length, 1, list.stderr);
  assert.match(list.stderr, why);
  const one = await runCli(['sockets', '--pid', '1'], { env });
  assert.equal(one.code, 77, one.stderr);
  for (const args of [['logs', 'a'], ['stop'], ['stop', '--pid', '1', 'a']]) {
    const r = await runCli(args, { env });
    assert.equal(r.code, 77, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
  }
  // A system in the background would have no handle: it does not start.
  const system = path.join(base.path, `system-${++fresh}.json`);
  fs.writeFileSync(system, JSON.stringify({ guests: [{ name: 'a', module: guest('sleep_poll'), args: ['60000'] }] }));
  const detached = await runCli(['up', '-d', system], { env });
  assert.equal(detached.code, 77, detached.stderr);
  assert.equal(detached.stdout, '');
  assert.deepEqual(lines(detached.stderr).length, 1, detached.stderr);
  assert.match(detached.stderr, why);

  const run = await runCli(['run', guest('hello')], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^hello from capsule\n/);
  assert.deepEqual(lines(run.stderr).length, 1, run.stderr);
  assert.match(run.stderr, /^capsule: not serving the socket table: runtime directory .* not using it\n$/);
}

async function waitForFile(file: string, proc?: LongRun): Promise<void> {
  for (let i = 0; i < 200 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fs.existsSync(file), `${file} never appeared; ${proc?.stderr() ?? ''}`);
}

/** A Unix socket file that no process listens on (its server was SIGKILLed). */
async function deadSocket(file: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)})`]);
  await waitForFile(file);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

/** A server of the test's own on DIR/<our pid>.sock that treats each connection with `onConn`. */
async function fakeLayer(dir: string, onConn: (c: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onConn);
  await new Promise<void>((r) => server.listen(path.join(dir, `${process.pid}.sock`), r));
  return server;
}

describe('the control directory', () => {
  it('is refused when writable by others, a symlink or not a directory, even if the user\'s own', async () => {
    const open = path.join(base.path, 'open');
    fs.mkdirSync(open, { mode: 0o777 });
    fs.chmodSync(open, 0o777);
    await refused(open, /runtime directory .*open is writable by others \(mode 777\): not using it/);
    assert.deepEqual(fs.readdirSync(open), []);

    const target = privateDir();
    const link = path.join(base.path, 'link');
    fs.symlinkSync(target, link);
    await refused(link, /is a symbolic link/);
    assert.deepEqual(fs.readdirSync(target), [], 'nothing is created where the link points');

    const file = path.join(base.path, 'file');
    fs.writeFileSync(file, '');
    await refused(file, /is not a directory/);
  });

  it('is refused when another user made it first, open to all or as a symlink', { timeout: 60_000 }, async (t) => {
    if (!attacker) return t.skip(noAttacker);
    const taken = path.join(base.path, 'taken');
    attackerDoes('mkdir', '-m', '777', taken);
    await refused(taken, new RegExp(`is owned by uid ${attacker.uid}, not 0`));
    assert.deepEqual(fs.readdirSync(taken), [], 'no socket in a directory another user controls');

    const theirs = path.join(base.path, 'theirs');
    const link = path.join(base.path, 'taken-link');
    attackerDoes('mkdir', '-m', '777', theirs);
    attackerDoes('ln', '-s', theirs, link);
    await refused(link, /is a symbolic link/);
    assert.deepEqual(fs.readdirSync(theirs), [], 'nothing created at the symlink\'s target');
  });

  it('is created private (0700) where it does not exist, and the table served there', { timeout: 30_000 }, async () => {
    const dir = path.join(base.path, 'made', 'run');
    const env = envFor(dir);
    const up = startCli(['run', guest('sleep_poll'), '60000'], { env });
    try {
      await waitForFile(path.join(dir, `${up.pid}.sock`), up);
      const st = fs.lstatSync(dir);
      assert.equal(st.mode & 0o777, 0o700);
      const r = await runCli(['sockets', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { pid: number }).pid, up.pid);
      assert.equal(up.stderr(), '');
    } finally {
      await up.stop('SIGTERM');
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'the socket is removed at exit');
  });

  it('defaults to $XDG_RUNTIME_DIR/capsule where that is set', { timeout: 30_000 }, async () => {
    const xdg = privateDir();
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: xdg };
    delete env['CAPSULE_RUNTIME_DIR'];
    const up = startCli(['run', guest('sleep_poll'), '60000'], { env });
    try {
      await waitForFile(path.join(xdg, 'capsule', `${up.pid}.sock`), up);
      const r = await runCli(['sockets', '--pid', String(up.pid)], { env });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await up.stop('SIGTERM');
    }
  });
});

describe('sockets in the control directory', () => {
  it('a socket of another user\'s is ignored: never connected to, never removed', { timeout: 30_000 }, async (t) => {
    if (!attacker) return t.skip(noAttacker);
    const theirs = path.join(base.path, 'spoof');
    attackerDoes('mkdir', '-m', '700', theirs);
    const fake = path.join(theirs, '1.sock');
    const script = `require('net').createServer((c) => { console.log('CONNECTED'); c.end(JSON.stringify({ pid: 1, label: 'spoofed', started: '', sockets: [] })); }).listen(${JSON.stringify(fake)})`;
    const server: ChildProcess = spawn('setpriv', asAttacker(process.execPath, ['-e', script]));
    let out = '';
    server.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
    try {
      await waitForFile(fake);
      const dir = privateDir();
      const planted = path.join(dir, '1.sock');
      fs.renameSync(fake, planted);
      const env = envFor(dir);
      const list = await runCli(['sockets'], { env });
      assert.equal(list.code, 66, list.stderr);
      assert.match(list.stderr, /no running capsule layer found/);
      const one = await runCli(['sockets', '--pid', '1'], { env });
      assert.equal(one.code, 66, one.stderr);
      assert.match(one.stderr, /no running layer with pid 1: .*1\.sock is not a socket of this user's \(ignored\)/);
      assert.doesNotMatch(one.stdout + one.stderr, /spoofed/);
      assert.ok(fs.existsSync(planted), 'another user\'s socket is left alone');
      assert.equal(out, '', 'never connected to');
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('the socket of a SIGKILLed capsule, and one that refuses connections, are removed by capsule sockets', { timeout: 30_000 }, async () => {
    const dir = privateDir();
    const env = envFor(dir);
    const up = startCli(['run', guest('sleep_poll'), '60000'], { env });
    const sock = path.join(dir, `${up.pid}.sock`);
    await waitForFile(sock, up);
    await up.stop('SIGKILL');
    assert.ok(fs.existsSync(sock), 'SIGKILL leaves the socket behind');
    // A live pid (this test's) whose socket no one listens on: the pid was reused.
    const reused = path.join(dir, `${process.pid}.sock`);
    await deadSocket(reused);

    const r = await runCli(['sockets'], { env });
    assert.equal(r.code, 66, r.stderr);
    assert.match(r.stderr, /no running capsule layer found/);
    assert.deepEqual(fs.readdirSync(dir), [], 'both stale sockets are gone');
  });

  it('a layer that never answers, or answers too much, gives one line', { timeout: 30_000 }, async () => {
    const dir = privateDir();
    const env = envFor(dir);
    const held: net.Socket[] = [];
    let server = await fakeLayer(dir, (c) => { held.push(c); });
    try {
      const t0 = Date.now();
      const r = await runCli(['sockets', '--pid', String(process.pid)], { env, timeoutMs: 10_000 });
      assert.equal(r.code, 69, r.stderr);
      assert.equal(r.stderr, `capsule: layer ${process.pid} did not answer within 2 s\n`);
      assert.ok(Date.now() - t0 < 8000, 'bounded by the timeout');
    } finally {
      for (const c of held) c.destroy();
      server.close();
    }
    server = await fakeLayer(dir, (c) => {
      c.on('error', () => {});
      c.end(Buffer.alloc(17 * 1024 * 1024, 0x20));
    });
    try {
      const r = await runCli(['sockets', '--pid', String(process.pid)], { env });
      assert.equal(r.code, 69, r.stderr);
      assert.equal(r.stderr, `capsule: layer ${process.pid} sent an answer larger than 16 MiB\n`);
    } finally {
      server.close();
    }
  });

  it('every string of a snapshot is printed escaped', { timeout: 30_000 }, async () => {
    const dir = privateDir();
    const env = envFor(dir);
    const evil = '\x1b[2J\x1b]0;owned\x07\u202e\x9b';
    const row = {
      id: 1, owner: `g${evil}:3`, family: 'inet', type: 'stream', protocol: 'tcp', local: `10.0.0.1${evil}:1`,
      remote: `*${evil}`, status: `LISTENING${evil}`, sendQueue: 0, receiveQueue: 0, connectionQueue: 0,
    };
    const snapshot = { pid: process.pid, label: `sys${evil}\ncapsule: forged`, started: '', sockets: [row] };
    const server = await fakeLayer(dir, (c) => c.once('data', () => c.end(JSON.stringify(snapshot))));
    try {
      const text = await runCli(['sockets', '--pid', String(process.pid)], { env });
      assert.equal(text.code, 0, text.stderr);
      assert.doesNotMatch(text.stdout, /[\x1b\x07\x9b\u202e]/);
      assert.ok(text.stdout.startsWith(`layer ${process.pid} (sys\\x1b[2J\\x1b]0;owned\\x07\\u202e\\x9b\\ncapsule: forged), 1 socket\n`), text.stdout);
      assert.equal(lines(text.stdout).length, 3, 'the forged line stays inside the label');
      assert.ok(text.stdout.includes('g\\x1b[2J'), text.stdout);

      const json = await runCli(['sockets', '--json', '--pid', String(process.pid)], { env });
      assert.equal(json.code, 0, json.stderr);
      assert.doesNotMatch(json.stdout, /[\x1b\x07\x9b\u202e]/);
      assert.deepEqual(JSON.parse(json.stdout), snapshot, 'the same value, spelled safely');
    } finally {
      server.close();
    }
  });

  it('an answer that is not a snapshot is one line', { timeout: 30_000 }, async () => {
    const dir = privateDir();
    const server = await fakeLayer(dir, (c) => c.once('data', () => c.end(JSON.stringify({ pid: 1, label: 'x', started: '', sockets: [{ id: 'x' }] }))));
    try {
      const r = await runCli(['sockets', '--pid', String(process.pid)], { env: envFor(dir) });
      assert.equal(r.code, 70, r.stderr);
      assert.equal(r.stderr, `capsule: layer ${process.pid} sent an unreadable answer\n`);
    } finally {
      server.close();
    }
  });
});

function proofFile(dir: string, token: string): string {
  const name = `proof-${crypto.randomBytes(16).toString('hex')}`;
  fs.writeFileSync(path.join(dir, name), token, { mode: 0o600 });
  return name;
}

describe('a control request', () => {
  it('without a valid proof of identity is refused and the connection closed; the layer runs on', { timeout: 30_000 }, async () => {
    const dir = privateDir();
    const up = startCli(['run', guest('sleep_poll'), '60000'], { env: envFor(dir) });
    try {
      const sock = path.join(dir, `${up.pid}.sock`);
      await waitForFile(sock, up);
      const token = crypto.randomBytes(32).toString('hex');
      const req = (proof: string, tok = token): string => `${JSON.stringify({ op: 'snapshot', proof, token: tok })}\n`;
      const refusal = async (line: string, why: string): Promise<void> => {
        assert.deepEqual(JSON.parse(await ask(sock, line)), { error: why });
      };

      await refusal('{"op":"snapshot"}\n', 'no proof of identity');
      await refusal(req('../../etc/passwd'), 'no proof of identity');
      await refusal('not json\n', 'unreadable request');
      await refusal(req(`proof-${'0'.repeat(32)}`), 'proof of identity not found');

      const wrong = proofFile(dir, crypto.randomBytes(32).toString('hex'));
      await refusal(req(wrong), 'proof of identity does not match');
      assert.ok(!fs.existsSync(path.join(dir, wrong)), 'a proof is used once');

      const open = proofFile(dir, token);
      fs.chmodSync(path.join(dir, open), 0o644);
      await refusal(req(open), 'proof of identity not made by this user');

      const real = proofFile(dir, token);
      const linked = `proof-${crypto.randomBytes(16).toString('hex')}`;
      fs.symlinkSync(path.join(dir, real), path.join(dir, linked));
      await refusal(req(linked), 'proof of identity not found');

      if (attacker) {
        const theirs = proofFile(dir, token);
        fs.chownSync(path.join(dir, theirs), attacker.uid, attacker.gid);
        await refusal(req(theirs), 'proof of identity not made by this user');
      }

      // Silence, then a line too long: closed either way.
      assert.deepEqual(JSON.parse(await ask(sock, 'x'.repeat(5000))), { error: 'request too long' });

      const ok = JSON.parse(await ask(sock, req(real))) as { pid: number };
      assert.equal(ok.pid, up.pid, 'a valid proof is answered');
      assert.ok(!fs.existsSync(path.join(dir, real)), 'and consumed');
      const again = await ask(sock, req(real));
      assert.deepEqual(JSON.parse(again), { error: 'proof of identity not found' }, 'no replay');

      const before = fs.readdirSync(dir);
      const r = await runCli(['sockets', '--pid', String(up.pid)], { env: envFor(dir) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(up.stderr(), '');
      assert.deepEqual(fs.readdirSync(dir), before, 'capsule sockets leaves no proof behind');
    } finally {
      await up.stop('SIGTERM');
    }
  });
});
