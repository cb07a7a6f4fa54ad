// `capsule logs`, `capsule stop` and `capsule suspend --all` against hostile
// peers: a request without a proof of identity neither reads output, stops
// nor seals anything; a follower that stops reading while a guest floods is
// dropped, not buffered without end; a layer that answers with a broken log
// stream or stop answer gives one line; a malformed or impossible seal
// request is one answer, and the system goes on.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';
import { startCli, writeSystem } from '../helpers/net.js';
import { ask } from '../helpers/control.js';

let base: TempDir;
let fresh = 0;
before(() => { base = tempDir('capsule-control-ops-'); });
after(() => base.cleanup());

/** A private runtime directory of the test's own. */
function privateDir(): string {
  const dir = path.join(base.path, `run-${++fresh}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}
const envFor = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, CAPSULE_RUNTIME_DIR: dir });

async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 200 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fs.existsSync(file), `${file} never appeared`);
}

/** A request line with a valid proof of identity, as `capsule` makes one. */
function proven(dir: string, body: object): string {
  const name = `proof-${crypto.randomBytes(16).toString('hex')}`;
  const token = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(path.join(dir, name), token, { mode: 0o600 });
  return `${JSON.stringify({ ...body, proof: name, token })}\n`;
}

describe('logs and stop requests', () => {
  it('without a proof of identity read nothing and stop nothing; the guest runs on', { timeout: 30_000 }, async () => {
    const dir = privateDir();
    const run = startCli(['run', '--name', 'quiet', guest('echo_server'), '7000', '1'], { env: envFor(dir) });
    try {
      const sock = path.join(dir, `${run.pid}.sock`);
      await waitForFile(sock);
      await run.waitFor('listening on 7000\n');
      for (const body of [{ op: 'stop' }, { op: 'stop', guest: 'quiet' }, { op: 'logs', guest: 'quiet', follow: true }]) {
        assert.deepEqual(JSON.parse(await ask(sock, `${JSON.stringify(body)}\n`)), { error: 'no proof of identity' });
        const forged = { ...body, proof: `proof-${'1'.repeat(32)}`, token: 'a'.repeat(64) };
        assert.deepEqual(JSON.parse(await ask(sock, `${JSON.stringify(forged)}\n`)), { error: 'proof of identity not found' });
      }
      // A guest name that is not a string, or an unknown op, with a valid proof: refused, nothing stopped.
      assert.deepEqual(JSON.parse(await ask(sock, proven(dir, { op: 'logs', guest: 7 }))), { error: 'no guest named' });
      assert.deepEqual(JSON.parse(await ask(sock, proven(dir, { op: 'kill' }))), { error: 'unknown request' });
      const logs = await runCli(['logs', '--pid', String(run.pid), 'quiet'], { env: envFor(dir) });
      assert.equal(logs.stdout, 'listening on 7000\n', 'still running, its output intact');
    } finally {
      await run.stop('SIGTERM');
    }
  });

  it('a follower that stops reading while the guest floods is dropped; the layer and its guest run on', { timeout: 60_000 }, async () => {
    const dir = privateDir();
    const file = writeSystem(base.path, { guests: [{ name: 'flood', module: hostileGuest('hostile_output'), args: ['big'] }] }, 'flood.json');
    const up = await runCli(['up', '-d', file], { env: envFor(dir) });
    assert.equal(up.code, 0, up.stderr);
    const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
    try {
      const conn = net.connect(path.join(dir, `${pid}.sock`));
      const chunks: Buffer[] = [];
      conn.on('data', (b: Buffer) => chunks.push(b));
      const closed = new Promise<void>((r) => conn.on('close', () => r()));
      conn.write(proven(dir, { op: 'logs', guest: 'flood', follow: true }));
      // Not reading for a while: the layer must not keep what the reader does not take.
      conn.pause();
      await new Promise((r) => setTimeout(r, 3000));
      conn.resume();
      await closed;
      const text = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
      assert.deepEqual(JSON.parse(text[0]!), { ok: true });
      assert.deepEqual(JSON.parse(text[text.length - 1]!), { end: 'the reader fell too far behind' });
      // The layer still answers, and the guest still writes.
      const again = await runCli(['sockets', '--pid', String(pid)], { env: envFor(dir) });
      assert.equal(again.code, 0, again.stderr);
      const stop = await runCli(['stop', '--pid', String(pid)], { env: envFor(dir) });
      assert.equal(stop.code, 0, stop.stderr);
    } finally {
      try { process.kill(pid, 'SIGKILL'); } catch { /* ended */ }
    }
  });
});

describe('a layer that answers wrongly', () => {
  /** Serves DIR/<this pid>.sock: each connection gets `answer` and is closed. */
  async function fakeLayer(dir: string, answer: string): Promise<net.Server> {
    const server = net.createServer((c) => { c.on('error', () => {}); c.once('data', () => c.end(answer)); });
    await new Promise<void>((r) => server.listen(path.join(dir, `${process.pid}.sock`), r));
    return server;
  }

  const cases: [string, string[], string, number, RegExp][] = [
    ['a log stream that is not JSON', ['logs', 'g'], '{"ok":true}\nnot json\n', 70, /sent an unreadable answer$/],
    ['a log chunk for another descriptor', ['logs', 'g'], '{"ok":true}\n{"fd":3,"data":"aGk="}\n', 70, /sent an unreadable answer$/],
    ['a log stream without its first line', ['logs', 'g'], '{"fd":1,"data":"aGk="}\n', 70, /sent an unreadable answer$/],
    ['a log line without end', ['logs', 'g'], `{"ok":true}\n{"fd":1,"data":"${'A'.repeat(1_200_000)}`, 70, /sent an unreadable answer$/],
    ['an empty answer to logs', ['logs', 'g'], '', 70, /sent an unreadable answer$/],
    ['a stop answer that is not a list of names', ['stop'], '{"stopping":[1,2]}', 70, /sent an unreadable answer$/],
    ['a refusal with control characters', ['stop', 'g'], '{"error":"no\\u001b[31m"}', 66, /^capsule: layer \d+: no\\x1b\[31m$/],
  ];
  for (const [what, args, answer, code, message] of cases) {
    it(`${what}: one line, exit ${code}`, { timeout: 30_000 }, async () => {
      const dir = privateDir();
      const server = await fakeLayer(dir, answer);
      try {
        const r = await runCli([...args, '--pid', String(process.pid)], { env: envFor(dir) });
        assert.equal(r.code, code, r.stderr);
        assert.equal(lines(r.stderr).length, 1, r.stderr);
        assert.match(lines(r.stderr)[0]!, message);
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  }
});

describe('suspend --all requests', () => {
  it('without a proof seal nothing; malformed ones are refused in one answer; a run has no system to seal; the guests run on', { timeout: 120_000 }, async () => {
    const dir = privateDir();
    const key = path.join(dir, 'seal.key');
    fs.writeFileSync(key, crypto.randomBytes(32), { mode: 0o600 });
    const target = path.join(base.path, `sealed-${fresh}.snap`);
    const file = writeSystem(base.path, { suspendable: true, sealKey: key, guests: [{ name: 'server', module: guest('echo_server'), args: ['7000', '1'] }] }, `suspendable-${fresh}.json`);
    const up = startCli(['up', file], { env: { ...envFor(dir), CAPSULE_CACHE_DIR: path.join(dir, 'cache') } });
    const run = startCli(['run', '--name', 'lone', guest('echo_server'), '7001', '1'], { env: envFor(dir) });
    try {
      await up.waitFor('listening on 7000', 'stdout', 60_000);
      await run.waitFor('listening on 7001\n');
      const sock = path.join(dir, `${up.pid}.sock`);
      await waitForFile(sock);
      assert.deepEqual(JSON.parse(await ask(sock, `${JSON.stringify({ op: 'suspend', all: true, file: target })}\n`)), { error: 'no proof of identity' });
      for (const f of ['relative.snap', 7, '/' + 'x'.repeat(5000), undefined]) {
        assert.deepEqual(JSON.parse(await ask(sock, proven(dir, { op: 'suspend', all: true, file: f }))), { error: 'malformed suspend request' }, String(f));
      }
      const runSock = path.join(dir, `${run.pid}.sock`);
      await waitForFile(runSock);
      assert.deepEqual(JSON.parse(await ask(runSock, proven(dir, { op: 'suspend', all: true, file: target }))),
        { error: 'this process runs no suspendable system (capsule up --suspendable)' });
      // Into a directory that does not exist: one answer, nothing sealed, the system goes on.
      const nowhere = path.join(base.path, 'no-such-dir', 'x.snap');
      const answer = JSON.parse(await ask(sock, proven(dir, { op: 'suspend', all: true, file: nowhere }))) as { error?: string };
      assert.match(answer.error ?? '', /^cannot seal the system into '.*x\.snap': ENOENT$/);
      assert.equal(fs.existsSync(target), false);
      assert.equal(up.child.exitCode, null, 'the system runs on');
      const ps = await runCli(['ps', '--json', '--pid', String(up.pid)], { env: envFor(dir) });
      assert.equal(ps.code, 0, ps.stderr);
      // Gone on from where it stopped: asleep in accept again, not left stopped.
      assert.equal((JSON.parse(ps.stdout) as { guests: { state: string }[] }).guests[0]!.state, 'blocked');
    } finally {
      up.dispose();
      run.dispose();
    }
  });
});
