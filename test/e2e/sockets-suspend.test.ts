// Suspending and resuming a whole system (`capsule up --suspendable`,
// `capsule suspend --all`, `capsule resume`; API: System.suspendAll(),
// resumeSystem()). A server and three clients streaming 10 MiB each are
// sealed mid-stream and resumed: every stream's FNV sum on both sides equals
// the uninterrupted run's, so no byte was lost, duplicated or reordered. A
// server blocked in accept listens again (and its published port is bound
// again); one blocked in recv gets the bytes its client sends after resume; a
// connection bridged to the host reads as reset. A tampered snapshot is
// refused before any guest runs; a killed suspension leaves no snapshot.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { System } from '../../src/api/system.js';
import { resumeSystem } from '../../src/api/system-suspend.js';
import { resume, start } from '../../src/api/suspend.js';
import { Layer } from '../../src/api/layer.js';
import { CapsuleError } from '../../src/core/errors.js';
import { sealingWorkspace } from '../helpers/sealing.js';
import { guest, lines, runCli, type TempDir } from '../helpers/cli.js';
import { freePort, hostServer, startCli, systemGuest, writeSystem, type LongRun } from '../helpers/net.js';

let dir: TempDir;
let env: NodeJS.ProcessEnv;
let keyFile: string;
const key = crypto.randomBytes(32);
const MIB = 10;

before(() => {
  ({ dir, env, keyFile } = sealingWorkspace('capsule-system-suspend-', key));
});
after(() => dir.cleanup());

/** A server and three clients streaming MIB MiB each, each write followed by a nap of `pace` ms. */
function streamingGuests(pace: number): Record<string, unknown>[] {
  return [
    systemGuest('server', 'stream_sum', ['server', '7000', '3']),
    ...[1, 2, 3].map((id) => systemGuest(`c${id}`, 'stream_sum', ['client', 'server', '7000', String(id), String(MIB), String(pace)])),
  ];
}

/** Text written to it, kept. */
function capture(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const w = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk); done(); } }) as Writable & { text(): string };
  w.text = () => Buffer.concat(chunks).toString('utf8');
  return w;
}

/** Each client's final line ("ID: BYTES bytes, sum HEX, server agrees") and the server's per-client sums. */
function sums(text: string): { clients: Map<string, string>; server: string[] } {
  const clients = new Map<string, string>();
  const server: string[] = [];
  for (const l of lines(text)) {
    const c = /^c\d +\| (\d): (\d+) bytes, sum ([0-9a-f]{16}), server (agrees|disagrees)$/.exec(l);
    if (c) {
      assert.equal(c[4], 'agrees', l);
      assert.equal(Number(c[2]), MIB << 20, l);
      clients.set(c[1]!, c[3]!);
    }
    const s = /^server +\| client \d: (\d+) bytes, sum ([0-9a-f]{16})$/.exec(l);
    if (s) {
      assert.equal(Number(s[1]), MIB << 20, l);
      server.push(s[2]!);
    }
  }
  return { clients, server };
}

let expected: Map<string, string>;

/** The sums of an uninterrupted run (no pacing): what every resumed run must reproduce. */
async function uninterruptedSums(): Promise<Map<string, string>> {
  if (expected) return expected;
  const out = capture();
  const system = await System.load({ guests: streamingGuests(0) as never, stdout: out, stderr: out });
  const r = await system.run();
  assert.equal(r.exitCode, 0, out.text());
  const s = sums(out.text());
  assert.equal(s.clients.size, 3, out.text());
  expected = s.clients;
  return expected;
}

function checkResumed(text: string, want: Map<string, string>): void {
  const s = sums(text);
  assert.deepEqual([...s.clients.entries()].sort(), [...want.entries()].sort(), `every stream as uninterrupted:\n${text}`);
  assert.deepEqual([...s.server].sort(), [...want.values()].sort(), `the server read each stream whole:\n${text}`);
}

describe('suspend and resume a system (CLI)', () => {
  it('a server and three clients streaming 10 MiB each: sealed mid-stream (exit 75), resumed, every byte as uninterrupted', { timeout: 300_000 }, async () => {
    const want = await uninterruptedSums();
    const file = writeSystem(dir.path, { guests: streamingGuests(8) }, 'stream.json');
    const snap = path.join(dir.path, 'stream.snap');
    const up = startCli(['up', '--suspendable', '--seal-key', keyFile, file], { env });
    let before: string;
    try {
      // The server reads one client at a time: the first at 2 MiB, the others wait in send.
      await up.waitFor(/^c\d +\| \d sent 2 MiB$/m, 'stdout', 120_000);
      const s = await runCli(['suspend', '--all', '-o', snap], { env, timeoutMs: 120_000 });
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stderr, /^capsule: the system of layer \d+ suspended into .*stream\.snap \(\d+ bytes\)\n$/);
      const exit = await up.exited;
      assert.equal(exit.code, 75, up.stderr());
      before = up.stdout();
    } finally {
      up.dispose();
    }
    assert.equal(sums(before).clients.size, 0, `sealed before any stream ended:\n${before}`);
    assert.equal(fs.statSync(snap).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir.path).filter((f) => f.includes('partial')), [], 'no temporary file is left');
    const resumed = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 240_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    checkResumed(before + resumed.stdout, want);
  });

  it('a tampered system snapshot (a byte changed, cut short, the wrong key) is refused with one line, before any guest runs', { timeout: 300_000 }, async () => {
    const file = writeSystem(dir.path, { suspendable: true, sealKey: keyFile, guests: streamingGuests(20) }, 'tamper.json');
    const snap = path.join(dir.path, 'tamper.snap');
    await sealRunning(file, snap, (up) => up.waitFor(/^c2 +\| 2 sent 1 MiB$/m, 'stdout', 120_000), 120_000);
    const whole = fs.readFileSync(snap);
    const variants: [string, Buffer, string][] = [];
    for (const at of [0.1, 0.5, 0.95]) {
      const changed = Buffer.from(whole);
      changed[Math.floor(whole.length * at)]! ^= 0x40;
      variants.push([`a byte changed at ${at}`, changed, keyFile]);
    }
    for (const at of [0.3, 0.999]) variants.push([`cut at ${at}`, whole.subarray(0, Math.floor(whole.length * at)), keyFile]);
    const otherKey = path.join(dir.path, 'other.key');
    fs.writeFileSync(otherKey, crypto.randomBytes(32), { mode: 0o600 });
    variants.push(['the wrong key', whole, otherKey]);
    for (const [what, bytes, k] of variants) {
      const bad = path.join(dir.path, 'bad.snap');
      fs.writeFileSync(bad, bytes, { mode: 0o600 });
      const r = await runCli(['resume', '--seal-key', k, bad], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 79, `${what}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, `${what}: one line: ${r.stderr}`);
      assert.match(r.stderr, /^capsule: .*(altered|truncated|does not open)/, what);
      assert.equal(r.stdout, '', `${what}: no guest ran`);
    }
  });

  it('a system whose module was replaced since it was sealed is refused in one line (80), before any guest runs', { timeout: 180_000 }, async () => {
    const module = path.join(dir.path, 'replaced.wasm');
    fs.copyFileSync(guest('stream_sum'), module);
    const file = writeSystem(dir.path, {
      suspendable: true, sealKey: keyFile, guests: [{ name: 'server', module, args: ['server', '7000', '1'] }],
    }, 'replaced.json');
    const snap = path.join(dir.path, 'replaced.snap');
    await sealRunning(file, snap, (up) => up.waitFor('listening on 7000', 'stdout', 60_000));
    fs.copyFileSync(guest('hello'), module);
    const r = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 80, r.stderr);
    assert.match(r.stderr, /^capsule: '.*replaced\.wasm' is not the module guest server was sealed with \(SHA-256 [0-9a-f]{16}\.\.\.\)\n$/);
    assert.equal(r.stdout, '');
  });

  it('a guest holding a file that cannot be opened again cannot be sealed: nothing is written, and every guest goes on from where it stopped', { timeout: 180_000 }, async () => {
    const hostPort = await freePort();
    const data = path.join(dir.path, 'held');
    fs.mkdirSync(data);
    const file = writeSystem(dir.path, {
      suspendable: true, sealKey: keyFile,
      guests: [
        systemGuest('server', 'stream_sum', ['server', '7000', '1'], { publish: [`${hostPort}:7000`] }),
        systemGuest('holder', 'stream_sum', ['hold', '/data/f', '1500'], { dirs: [`${data}::/data`] }),
      ],
    }, 'held.json');
    const snap = path.join(dir.path, 'held.snap');
    const up = startCli(['up', file], { env });
    try {
      await up.waitFor(/^server +\| listening on 7000$/m, 'stdout', 60_000);
      await up.waitFor(/^holder +\| holding$/m, 'stdout', 60_000);
      // Removed while open: it cannot be opened again by its path on resume.
      fs.rmSync(path.join(data, 'f'));
      const s = await runCli(['suspend', '--all', '-o', snap], { env, timeoutMs: 60_000 });
      assert.equal(s.code, 69, s.stderr);
      assert.match(s.stderr, /^capsule: cannot suspend the system: guest holder: descriptor \d+ \(\/data\/f\) was removed or renamed while open: it does not travel in a snapshot\n$/);
      assert.equal(fs.existsSync(snap), false);
      assert.deepEqual(fs.readdirSync(dir.path).filter((f) => f.includes('partial')), []);
      // The server, stopped in accept and let go on, still accepts; the holder finishes its nap.
      const reply = await sendToPublished(hostPort, Buffer.from('after'));
      assert.equal(reply.readBigUInt64LE(0), 5n);
      assert.equal((await up.exited).code, 0, up.stderr());
      assert.match(up.stdout(), /^holder +\| held$/m);
    } finally {
      up.dispose();
    }
  });

  it('a guest of a system holding a file open carries it: sealed during its nap, resumed, it writes to the file it had open', { timeout: 180_000 }, async () => {
    const data = path.join(dir.path, 'kept');
    fs.mkdirSync(data);
    const file = writeSystem(dir.path, {
      suspendable: true, sealKey: keyFile,
      guests: [systemGuest('holder', 'stream_sum', ['hold', '/data/f', '1500'], { dirs: [`${data}::/data`] })],
    }, 'kept.json');
    const snap = path.join(dir.path, 'kept.snap');
    const out = await sealRunning(file, snap, (up) => up.waitFor(/^holder +\| holding$/m, 'stdout', 60_000));
    assert.doesNotMatch(out, /held/);
    assert.equal(fs.readFileSync(path.join(data, 'f'), 'utf8'), '');
    const r = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^holder +\| held$/m);
    assert.equal(fs.readFileSync(path.join(data, 'f'), 'utf8'), 'kept\n');
  });

  it('a server blocked in accept listens again on resume (and again after a second seal), its published port bound again; a host client is served', { timeout: 180_000 }, async () => {
    const hostPort = await freePort();
    const file = writeSystem(dir.path, {
      suspendable: true, sealKey: keyFile, guests: [systemGuest('server', 'stream_sum', ['server', '7000', '1'], { publish: [`${hostPort}:7000`] })],
    }, 'accept.json');
    const snap = path.join(dir.path, 'accept.snap');
    await sealRunning(file, snap, (up) => up.waitFor('listening on 7000', 'stdout', 60_000));
    // Resumed, sealed again, resumed again: a resumed system is as suspendable as the first.
    const once = startCli(['resume', '--seal-key', keyFile, snap], { env });
    const again = path.join(dir.path, 'accept-again.snap');
    try {
      for (let tries = 0; ; tries++) {
        const s = await runCli(['suspend', '--all', '-o', again], { env, timeoutMs: 60_000 });
        if (s.code === 0) break;
        // The resumed system's control socket may not be up yet.
        assert.ok(tries < 100 && /no running capsule layer/.test(s.stderr), s.stderr);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await once.exited).code, 75, once.stderr());
    } finally {
      once.dispose();
    }
    const resumed = startCli(['resume', '--seal-key', keyFile, again], { env });
    try {
      const reply = await sendToPublished(hostPort, Buffer.from('twelve bytes'));
      assert.equal(reply.readBigUInt64LE(0), 12n, 'the resumed server read every byte');
      assert.equal((await resumed.exited).code, 0, resumed.stderr());
      assert.match(resumed.stdout(), /^server +\| accepted 0\nserver +\| client 0: 12 bytes, sum [0-9a-f]{16}\n$/);
    } finally {
      resumed.dispose();
    }
  });

  it('a server blocked in recv and a client asleep before sending: the connection survives, the bytes arrive after resume', { timeout: 180_000 }, async () => {
    const file = writeSystem(dir.path, {
      suspendable: true, sealKey: keyFile,
      guests: [systemGuest('server', 'stream_sum', ['server', '7000', '1']), systemGuest('client', 'stream_sum', ['hello', 'server', '7000', '1500'])],
    }, 'recv.json');
    const snap = path.join(dir.path, 'recv.snap');
    const out = await sealRunning(file, snap, async (up) => {
      await up.waitFor(/^client +\| connected$/m, 'stdout', 60_000);
      await up.waitFor(/^server +\| accepted 0$/m, 'stdout', 60_000);
    });
    assert.doesNotMatch(out, /client 0:/);
    const r = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^server +\| client 0: 5 bytes, sum [0-9a-f]{16}$/m);
    assert.match(r.stdout, /^client +\| the server got 5 bytes$/m);
  });

  it('a connection waiting in a backlog is accepted after resume; datagrams queued in an inbox arrive, in order', { timeout: 180_000 }, async () => {
    const file = writeSystem(dir.path, {
      suspendable: true, sealKey: keyFile,
      guests: [
        systemGuest('server', 'stream_sum', ['server', '7000', '1', '1500']),
        systemGuest('client', 'stream_sum', ['hello', 'server', '7000', '1500']),
        systemGuest('inbox', 'stream_sum', ['dgram-recv', '9000', '1500', '5']),
        systemGuest('sender', 'stream_sum', ['dgram-send', 'inbox', '9000', '5'], { after: { inbox: 9000 } }),
      ],
    }, 'backlog.json');
    const snap = path.join(dir.path, 'backlog.snap');
    const out = await sealRunning(file, snap, async (up) => {
      await up.waitFor(/^client +\| connected$/m, 'stdout', 60_000);
      await up.waitFor(/^sender +\| sent 5$/m, 'stdout', 60_000);
    });
    assert.doesNotMatch(out, /accepted 0|got d/, 'sealed while the server and the inbox napped');
    const r = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^server +\| accepted 0$/m);
    assert.match(r.stdout, /^server +\| client 0: 5 bytes, sum [0-9a-f]{16}$/m);
    assert.match(r.stdout, /^client +\| the server got 5 bytes$/m);
    assert.deepEqual(lines(r.stdout).filter((l) => l.startsWith('inbox')).map((l) => l.replace(/^inbox +\| /, '')), ['got d0', 'got d1', 'got d2', 'got d3', 'got d4']);
    assert.doesNotMatch(r.stdout, /^sender/m, 'a guest that had ended does not run again');
  });

  it('a connection bridged to the host reads as reset (ECONNRESET) after resume', { timeout: 180_000 }, async () => {
    const host = await hostServer('sink');
    try {
      const file = writeSystem(dir.path, {
        suspendable: true, sealKey: keyFile, network: { allowConnect: [`127.0.0.1:${host.port}`] },
        guests: [systemGuest('client', 'stream_sum', ['hello', '127.0.0.1', String(host.port), '1500'])],
      }, 'bridged.json');
      const snap = path.join(dir.path, 'bridged.snap');
      await sealRunning(file, snap, (up) => up.waitFor('connected', 'stdout', 60_000));
      const r = await runCli(['resume', '--seal-key', keyFile, snap], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stdout, /^client +\| error: send: Connection reset by peer$/m);
      assert.equal(host.received().length, 0, 'nothing reached the host after the seal');
    } finally {
      await host.close();
    }
  });

  it('a guest blocked in a connect to the host still in progress (a listener with a full queue) is sealed; on resume it makes the connect again, which the host then answers', { timeout: 180_000 }, async () => {
    // A listener whose process is stopped accepts nothing: once its queue is full (backlog 1), the kernel drops
    // further SYNs, so a connect to it stays in progress, as to a host that does not answer.
    const stopped = spawn(process.execPath, ['-e', "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port); })"]);
    const fillers: net.Socket[] = [];
    try {
      const port = Number(await new Promise<string>((resolve, reject) => {
        stopped.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        stopped.once('exit', () => reject(new Error('the listener exited')));
      }));
      stopped.kill('SIGSTOP');
      // Fill the accept queue: connect until one connect stays pending.
      for (;;) {
        assert.ok(fillers.length < 16, 'the accept queue never filled');
        const c = net.connect(port, '127.0.0.1');
        c.on('error', () => {});
        fillers.push(c);
        const connected = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 1000);
          c.once('connect', () => { clearTimeout(t); resolve(true); });
        });
        if (!connected) break;
      }
      /** Resolves once the running system's guest is blocked in its connect (capsule ps names the call). */
      const blockedInConnect = async (): Promise<void> => {
        for (let tries = 0; ; tries++) {
          const ps = await runCli(['ps'], { env, timeoutMs: 30_000 });
          if (/client .*blocked.*connect/.test(ps.stdout)) return;
          assert.ok(tries < 300, `the guest never blocked in connect: ${ps.stdout}${ps.stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const file = writeSystem(dir.path, {
        suspendable: true, sealKey: keyFile, network: { allowConnect: [`127.0.0.1:${port}`] },
        guests: [systemGuest('client', 'stream_sum', ['hello', '127.0.0.1', String(port), '100'])],
      }, 'pending.json');
      const snap = path.join(dir.path, 'pending.snap');
      const out = await sealRunning(file, snap, () => blockedInConnect());
      assert.doesNotMatch(out, /connected/);
      const resumed = startCli(['resume', '--seal-key', keyFile, snap], { env });
      try {
        // Blocked in the connect again: the call is made again on resume, a new attempt to the host.
        await blockedInConnect();
        // The host answers at last (its listener gone, the kernel refuses): the guest's connect ends with that answer.
        stopped.kill('SIGKILL');
        const exit = await resumed.exited;
        assert.equal(exit.code, 2, resumed.stderr());
        assert.match(resumed.stdout(), /^client +\| error: sock_connect: Connection refused$/m);
        assert.doesNotMatch(resumed.stdout(), /connected/);
      } finally {
        resumed.dispose();
      }
    } finally {
      for (const c of fillers) c.destroy();
      stopped.kill('SIGKILL');
    }
  });

  it('a suspension killed while it seals leaves no snapshot under the name asked for', { timeout: 300_000 }, async () => {
    const file = writeSystem(dir.path, { suspendable: true, sealKey: keyFile, guests: streamingGuests(20) }, 'kill.json');
    const killDir = path.join(dir.path, 'kill');
    fs.mkdirSync(killDir);
    const snap = path.join(killDir, 'killed.snap');
    // The temporary file exists exactly while the system is being sealed: the process is killed then.
    // A seal that completes between two looks is tried again.
    for (let attempt = 1; ; attempt++) {
      const up = startCli(['up', file], { env });
      try {
        await up.waitFor(/^c1 +\| 1 sent 1 MiB$/m, 'stdout', 120_000);
        const s = runCli(['suspend', '--all', '-o', snap], { env, timeoutMs: 60_000 });
        let killed = false;
        while (!killed && up.child.exitCode === null) {
          if (fs.readdirSync(killDir).some((f) => f.endsWith('.partial'))) {
            up.child.kill('SIGKILL');
            killed = true;
          } else {
            await new Promise((r) => setTimeout(r, 1));
          }
        }
        const r = await s;
        if (!killed) {
          assert.ok(attempt < 5, 'the seal was never caught under way');
          fs.rmSync(snap, { force: true });
          continue;
        }
        assert.notEqual(r.code, 0, 'the suspension did not complete');
        assert.equal(fs.existsSync(snap), false, 'no snapshot under the name asked for');
        return;
      } finally {
        up.dispose();
      }
    }
  });
});

describe('a lone guest holding sockets (sealed with its network)', () => {
  it('a server blocked in accept: capsule suspend seals it (75); on resume it listens again, its published port bound again, and serves a host client', { timeout: 180_000 }, async () => {
    const hostPort = await freePort();
    const snap = path.join(dir.path, 'lone.snap');
    const lone = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', 'lone', '--publish', `${hostPort}:7000`, guest('stream_sum'), 'server', '7000', '1'], { env });
    try {
      await lone.waitFor('listening on 7000', 'stdout', 60_000);
      const s = await runCli(['suspend', 'lone', '-o', snap], { env, timeoutMs: 60_000 });
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stderr, /^capsule: lone suspended into .*lone\.snap \(\d+ bytes\)\n$/);
      const ended = await lone.exited;
      assert.equal(ended.code, 75, lone.stderr());
      assert.match(lone.stderr(), /suspended into .*lone\.snap\n$/);
    } finally {
      lone.dispose();
    }
    // Sealed, the host port is free again: nothing listens there until the resume.
    await assert.rejects(new Promise((resolve, reject) => { const c = net.connect(hostPort, '127.0.0.1', () => { c.destroy(); resolve(undefined); }); c.on('error', reject); }));
    const resumed = startCli(['resume', '--seal-key', keyFile, snap], { env });
    try {
      const reply = await sendToPublished(hostPort, Buffer.from('twelve bytes'));
      assert.equal(reply.readBigUInt64LE(0), 12n, 'the resumed server read every byte');
      assert.equal((await resumed.exited).code, 0, resumed.stderr());
      assert.match(resumed.stdout(), /^accepted 0\nclient 0: 12 bytes, sum [0-9a-f]{16}\n$/);
    } finally {
      resumed.dispose();
    }
  });

  it('a client connected to the host: sealed, resumed under the same grant (not wider), its connection reads as reset (ECONNRESET)', { timeout: 180_000 }, async () => {
    const host = await hostServer('sink');
    try {
      const grant = `127.0.0.1:${host.port}`;
      const snap = path.join(dir.path, 'lone-bridged.snap');
      const lone = startCli(['run', '--suspendable', '--seal-key', keyFile, '--name', 'cl', '--allow-connect', grant, guest('stream_sum'), 'hello', '127.0.0.1', String(host.port), '1500'], { env });
      try {
        await lone.waitFor('connected', 'stdout', 60_000);
        const s = await runCli(['suspend', 'cl', '-o', snap], { env, timeoutMs: 60_000 });
        assert.equal(s.code, 0, s.stderr);
        assert.equal((await lone.exited).code, 75, lone.stderr());
      } finally {
        lone.dispose();
      }
      // The grant is part of the sealed policy: naming it again is not a wider policy, and leaving it out keeps it.
      for (const flags of [['--allow-connect', grant], []]) {
        const r = await runCli(['resume', '--seal-key', keyFile, ...flags, snap], { env, timeoutMs: 120_000 });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stdout, /^error: send: Connection reset by peer$/m);
      }
      const wider = await runCli(['resume', '--seal-key', keyFile, '--allow-connect', '127.0.0.1:1', snap], { env, timeoutMs: 60_000 });
      assert.equal(wider.code, 80, wider.stderr);
      assert.match(wider.stderr, /wider policy/);
      assert.equal(host.received().length, 0, 'nothing reached the host after the seal');
    } finally {
      await host.close();
    }
  });

  it('through the API: start() a server blocked in accept, handle.suspend(), resume(): it serves a host client on its published port; not on a shared layer', { timeout: 180_000 }, async () => {
    const hostPort = await freePort();
    const out = capture();
    const h = start(guest('stream_sum'), { name: 'api-lone', args: ['server', '7000', '1'], network: { publish: [`${hostPort}:7000`] }, stdout: out, stderr: out, suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']! });
    while (!out.text().includes('listening on 7000')) await new Promise((r) => setTimeout(r, 10));
    // A file that cannot be made: one line, nothing written, and the guest goes on (then is sealed after all).
    const nowhere = path.join(dir.path, 'no-such-dir', 'x.snap');
    await assert.rejects(h.suspend(nowhere), (e: unknown) => e instanceof CapsuleError && e.exitCode === 69
      && /^cannot suspend api-lone: cannot seal into '.*x\.snap': ENOENT$/.test(e.message));
    assert.equal(h.state(), 'running');
    const snap = path.join(dir.path, 'api-lone.snap');
    const sealed = await h.suspend(snap);
    assert.equal(sealed.bytes, fs.statSync(snap).size);
    assert.equal((await h.result).exitCode, 75);
    const shared = new Layer({});
    try {
      await assert.rejects(resume(snap, { sealKey: key, layer: shared }), (e: unknown) => e instanceof CapsuleError && e.exitCode === 80
        && /^cannot resume api-lone on a shared layer: it was sealed with its sockets, which come back only on a secure layer of its own$/.test(e.message));
    } finally {
      shared.close();
    }
    const again = capture();
    const resumed = resume(snap, { sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']!, stdout: again, stderr: again });
    const reply = await sendToPublished(hostPort, Buffer.from('seven b'));
    assert.equal(reply.readBigUInt64LE(0), 7n);
    assert.equal((await resumed).exitCode, 0, again.text());
    assert.match(again.text(), /^client 0: 7 bytes, sum [0-9a-f]{16}$/m);
  });

  it('suspensions refused one after another are each answered (a request right after a "go on" is not lost); the next one seals', { timeout: 120_000 }, async () => {
    const hostPort = await freePort();
    const out = capture();
    const h = start(guest('stream_sum'), { name: 'api-again', args: ['server', '7000', '1'], network: { publish: [`${hostPort}:7000`] }, stdout: out, stderr: out, suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']! });
    while (!out.text().includes('listening on 7000')) await new Promise((r) => setTimeout(r, 10));
    const nowhere = path.join(dir.path, 'no-such-dir', 'again.snap');
    for (let i = 0; i < 40; i++) {
      await assert.rejects(h.suspend(nowhere), (e: unknown) => e instanceof CapsuleError && e.exitCode === 69 && /ENOENT$/.test(e.message));
      assert.equal(h.state(), 'running', `after refusal ${i + 1}`);
    }
    const snap = path.join(dir.path, 'api-again.snap');
    assert.equal((await h.suspend(snap)).bytes, fs.statSync(snap).size);
    assert.equal((await h.result).exitCode, 75);
  });

  it('on a layer shared with another guest holding sockets, one guest alone is refused in one line, and both go on', { timeout: 180_000 }, async () => {
    const layer = new Layer({});
    const out = capture();
    try {
      const server = start(guest('stream_sum'), { name: 'server', args: ['server', '7000', '1'], layer, stdout: out, stderr: out, suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']! });
      while (!out.text().includes('listening on 7000')) await new Promise((r) => setTimeout(r, 10));
      const client = start(guest('stream_sum'), { name: 'client', args: ['hello', 'server', '7000', '1500'], layer, stdout: out, stderr: out, suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']! });
      while (!out.text().includes('connected')) await new Promise((r) => setTimeout(r, 10));
      const snap = path.join(dir.path, 'shared.snap');
      await assert.rejects(client.suspend(snap), (e: unknown) => e instanceof CapsuleError && e.exitCode === 69
        && /^cannot suspend client: guest server holds a socket on its layer too: a layer's guests are sealed together, as a system$/.test(e.message));
      assert.equal(fs.existsSync(snap), false);
      assert.equal((await client.result).exitCode, 0, out.text());
      assert.equal((await server.result).exitCode, 0, out.text());
      assert.match(out.text(), /^the server got 5 bytes$/m);
    } finally {
      layer.close();
    }
  });
});

describe('suspend and resume a system (API)', () => {
  it('System.suspendAll() seals the running system (its run resolves 75); resumeSystem() completes every stream as uninterrupted', { timeout: 300_000 }, async () => {
    const want = await uninterruptedSums();
    const out = capture();
    const system = await System.load({ guests: streamingGuests(8) as never, suspendable: true, sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']!, stdout: out, stderr: out });
    const running = system.run();
    while (!/^c\d +\| \d sent 2 MiB$/m.test(out.text())) await new Promise((r) => setTimeout(r, 20));
    const snap = path.join(dir.path, 'api.snap');
    const sealed = await system.suspendAll(snap);
    assert.equal(sealed.file, snap);
    assert.equal(sealed.bytes, fs.statSync(snap).size);
    const r = await running;
    assert.equal(r.exitCode, 75);
    for (const g of r.guests.values()) assert.equal(g.outcome.kind, 'suspended');
    const before = out.text();
    assert.equal(sums(before).clients.size, 0, `sealed before any stream ended:\n${before}`);
    await assert.rejects(resume(snap, { sealKey: key }), (e: unknown) => e instanceof CapsuleError && e.exitCode === 80 && /holds a whole system/.test(e.message));
    const again = capture();
    const resumed = await resumeSystem(snap, { sealKey: key, cacheDir: env['CAPSULE_CACHE_DIR']!, stdout: again, stderr: again });
    assert.equal(resumed.exitCode, 0, again.text());
    checkResumed(before + again.text(), want);
  });

  it('a suspendable system is refused in normal mode and with a module given as bytes, in one line', { timeout: 120_000 }, async () => {
    await assert.rejects(System.load({ guests: [{ name: 'a', module: guest('hello') }], suspendable: true, sealKey: key, mode: 'normal' }),
      (e: unknown) => e instanceof CapsuleError && e.exitCode === 64 && /secure mode/.test(e.message));
    await assert.rejects(System.load({ guests: [{ name: 'a', module: fs.readFileSync(guest('hello')) }], suspendable: true, sealKey: key }),
      (e: unknown) => e instanceof CapsuleError && e.exitCode === 64 && /given by path/.test(e.message));
  });
});

/** Runs `capsule up FILE`, waits until `ready` resolves, seals the system into `snap` (up exits 75); what up printed. */
async function sealRunning(file: string, snap: string, ready: (up: LongRun) => Promise<unknown>, timeoutMs = 60_000): Promise<string> {
  const up = startCli(['up', file], { env });
  try {
    await ready(up);
    const s = await runCli(['suspend', '--all', '-o', snap], { env, timeoutMs });
    assert.equal(s.code, 0, s.stderr);
    assert.equal((await up.exited).code, 75, up.stderr());
    return up.stdout();
  } finally {
    up.dispose();
  }
}

/** Connects to the published port (retrying while the resumed system binds it), sends `data`, half-closes, returns the reply. */
async function sendToPublished(port: number, data: Buffer): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = net.connect(port, '127.0.0.1', () => { s.end(data); });
        s.on('data', (d: Buffer) => chunks.push(d));
        s.on('error', reject);
        s.on('end', () => resolve(Buffer.concat(chunks)));
      });
    } catch (err) {
      if (attempt > 300) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
