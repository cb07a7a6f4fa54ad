// Control sockets do not outlive their processes: a layer removes its own at
// exit (also when stopped by a signal), and the next layer to start removes
// what killed processes left (SIGKILL cannot be caught) — sockets of pids that
// no longer exist and old proof files — but nothing of a live process.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, ROOT, guest, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('capsule-cleanup-');
after(() => tmp.cleanup());
let fresh = 0;

function runtimeDir(): string {
  const dir = path.join(tmp.path, `rt${fresh++}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** A `capsule run` whose guest waits on its stdin (kept open) until the test stops it; resolves once its socket exists. */
async function longRun(dir: string) {
  const child = spawn(process.execPath, [CLI, 'run', guest('echo_lines')], {
    cwd: ROOT, env: { ...process.env, CAPSULE_RUNTIME_DIR: dir }, stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const socket = path.join(dir, `${child.pid}.sock`);
  for (let i = 0; !fs.existsSync(socket); i++) {
    if (i > 400) { child.kill('SIGKILL'); throw new Error('the layer made no control socket'); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, socket, exited };
}

describe('control sockets of ended processes', () => {
  it('a layer removes its socket when it ends, normally or by a signal', async () => {
    const dir = runtimeDir();
    const r = await runCli(['run', guest('hello')], { env: { ...process.env, CAPSULE_RUNTIME_DIR: dir } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(dir), []);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      const run = await longRun(dir);
      run.child.kill(signal);
      await run.exited;
      assert.deepEqual(fs.readdirSync(dir), [], `left after ${signal}`);
    }
  });

  it('the next layer removes what a killed one left, and keeps a live process\'s socket', async () => {
    const dir = runtimeDir();
    const killed = await longRun(dir);
    killed.child.kill('SIGKILL');
    await killed.exited;
    assert.ok(fs.existsSync(killed.socket), 'SIGKILL left no socket to clean (the test would prove nothing)');
    // A live process's socket (this test's own pid) and a fresh proof stay; an hour-old proof goes.
    const live = path.join(dir, `${process.pid}.sock`);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(live, resolve));
    const oldProof = path.join(dir, 'proof-0123456789abcdef0123456789abcdef');
    const newProof = path.join(dir, 'proof-fedcba9876543210fedcba9876543210');
    for (const p of [oldProof, newProof]) fs.writeFileSync(p, 'x'.repeat(64), { mode: 0o600 });
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(oldProof, hourAgo, hourAgo);
    try {
      const r = await runCli(['run', guest('hello')], { env: { ...process.env, CAPSULE_RUNTIME_DIR: dir } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(live), path.basename(newProof)].sort());
    } finally {
      server.close();
    }
  });
});
