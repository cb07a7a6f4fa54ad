// A running system seen and steered from outside, as with docker compose:
// `capsule up -d` returns once the system is up; `capsule logs [-f]`,
// `capsule sockets` (--watch, filters) and `capsule stop [NAME]` reach it
// through its control socket; --report and --audit write per guest.
// Also `capsule logs`/`capsule stop` for a `capsule run`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';
import { freePort, hostRoundTrip, startCli, systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
let env: NodeJS.ProcessEnv;
before(() => {
  dir = tempDir('capsule-system-control-');
  // Every process of these tests looks for control sockets here, and nowhere else.
  env = { ...process.env, CAPSULE_RUNTIME_DIR: path.join(dir.path, 'run') };
});
after(() => dir.cleanup());

const cli = (args: string[], timeoutMs = 30_000): ReturnType<typeof runCli> => runCli(args, { env, timeoutMs });

/** Polls `capsule logs NAME` until its output matches. */
async function logsUntil(pid: number, name: string, want: RegExp): Promise<string> {
  let out = '';
  for (let i = 0; i < 100; i++) {
    const r = await cli(['logs', '--pid', String(pid), name]);
    assert.equal(r.code, 0, r.stderr);
    out = r.stdout;
    if (want.test(out)) return out;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail(`no ${String(want)} in the logs of ${name}: ${JSON.stringify(out)}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('capsule up -d, logs, sockets, stop', () => {
  it('runs in the background; logs, follows, filters the table, stops one guest, then the rest; writes the report', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const report = path.join(dir.path, 'report.json');
    const audit = path.join(dir.path, 'audit.jsonl');
    const file = writeSystem(dir.path, {
      guests: [
        systemGuest('server', 'echo_server', ['7000', '2'], { publish: [`${port}:7000`] }),
        { name: 'sleeper', module: hostileGuest('hostile_output'), args: ['sleep_block'] },
      ],
    }, 'background.json');
    const up = await cli(['up', '-d', '--report', report, '--audit', audit, file]);
    assert.equal(up.code, 0, up.stderr);
    const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
    assert.ok(pid > 0 && pid !== process.pid, up.stdout);
    assert.match(up.stdout, new RegExp(`capsule logs --pid ${pid} NAME`));
    assert.match(up.stdout, new RegExp(`capsule stop --pid ${pid}`));
    assert.match(up.stdout, new RegExp(`^  published 127\\.0\\.0\\.1:${port} -> server:7000$`, 'm'));
    try {
      assert.ok(alive(pid), 'the background system runs on after the command returned');
      assert.equal(await logsUntil(pid, 'server', /listening on 7000\n/), 'listening on 7000\n');

      // Following: what the guest writes next arrives while the reader waits.
      const follow = startCli(['logs', '-f', '--pid', String(pid), 'server'], { env });
      await follow.waitFor('listening on 7000\n');
      assert.equal((await hostRoundTrip(port, 'first', { halfClose: true })).toString(), 'first');
      await follow.waitFor(/connection 0 from 127\.0\.0\.1 echoed 5 bytes\n/);

      // The table, filtered.
      const listening = await cli(['sockets', '--pid', String(pid), '--status', 'listening', '--json']);
      assert.equal(listening.code, 0, listening.stderr);
      const rows = (JSON.parse(listening.stdout) as { sockets: { owner: string; status: string; local: string }[] }).sockets;
      assert.deepEqual(rows.map((r) => [r.owner, r.status, r.local]), [['server:3', 'LISTENING', '0.0.0.0:7000']]);
      const none = await cli(['sockets', '--pid', String(pid), '--guest', 'sleeper']);
      assert.equal(none.code, 0, none.stderr);
      assert.match(none.stdout, /0 sockets\n/);
      const byPort = await cli(['sockets', '--pid', String(pid), '--port', '7000', '--guest', 'SERVER']);
      assert.match(byPort.stdout, /^\d+\s+server:3\s+inet\s+tcp\s+0\.0\.0\.0:7000\s+\*\s+LISTENING/m);
      const otherPort = await cli(['sockets', '--pid', String(pid), '--port', '7001']);
      assert.match(otherPort.stdout, /0 sockets\n/);

      // One guest stopped: its follower ends, the other guest runs on.
      const stopOne = await cli(['stop', '--pid', String(pid), 'server']);
      assert.equal(stopOne.code, 0, stopOne.stderr);
      assert.deepEqual(lines(stopOne.stderr), [`capsule: stopping 'server' (layer ${pid})`]);
      assert.equal((await follow.exited).code, 0);
      const again = await cli(['stop', '--pid', String(pid), 'server']);
      assert.equal(again.code, 66, again.stderr);
      assert.deepEqual(lines(again.stderr), [`capsule: layer ${pid}: no running guest named 'server'`]);
      assert.ok(alive(pid), 'the rest of the system runs on');
      // Its output is still there after it ended.
      assert.match((await cli(['logs', '--pid', String(pid), 'server'])).stdout, /echoed 5 bytes\n$/);

      // The rest: `capsule stop` returns once the system has ended, its socket gone.
      const stopAll = await cli(['stop', '--pid', String(pid)]);
      assert.equal(stopAll.code, 0, stopAll.stderr);
      assert.deepEqual(lines(stopAll.stderr), [`capsule: stopped 'sleeper' (layer ${pid})`]);
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!alive(pid), 'the background process has ended');
      assert.deepEqual(fs.readdirSync(path.join(dir.path, 'run')).filter((f) => f.endsWith('.sock')), []);

      const doc = JSON.parse(fs.readFileSync(report, 'utf8')) as { exitCode: number; failed?: string; guests: Record<string, { exitCode: number; outcome: { kind: string; message?: string } }> };
      // Stopped on request is no failure.
      assert.equal(doc.exitCode, 0);
      assert.equal(doc.failed, undefined);
      assert.deepEqual(Object.keys(doc.guests).sort(), ['server', 'sleeper']);
      for (const g of Object.values(doc.guests)) {
        assert.deepEqual([g.exitCode, g.outcome.kind, g.outcome.message], [143, 'killed', 'stopped by capsule stop']);
      }
      const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { enclave: string; op: string });
      for (const name of ['server', 'sleeper']) {
        assert.ok(records.some((r) => r.enclave === name && r.op === 'start'), `${name} started in the audit log`);
        assert.ok(records.some((r) => r.enclave === name && r.op === 'exit'), `${name} ended in the audit log`);
      }
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a mistake in the system file is the same one line and exit code with -d; nothing stays running', async () => {
    const file = writeSystem(dir.path, { guests: [{ name: 'a', module: guest('hello'), after: { b: 1 } }] }, 'mistake.json');
    const r = await cli(['up', '-d', file]);
    assert.equal(r.code, 78, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(lines(r.stderr), [`capsule: ${file}: guests[0].after: 'b' is not a guest of this system`]);
    const left = await cli(['sockets']);
    assert.equal(left.code, 66, left.stderr);
  });

  it('sockets --watch prints the table again when it changes, and ends with the layer', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const file = writeSystem(dir.path, { guests: [systemGuest('server', 'echo_server', ['7000', '1'], { publish: [`${port}:7000`] })] }, 'watched.json');
    const up = startCli(['up', file], { env });
    try {
      await up.waitFor('server | listening on 7000\n');
      const watch = startCli(['sockets', '--watch', '--pid', String(up.pid)], { env });
      try {
        await watch.waitFor(/LISTENING/);
        // A connection from the host changes the table: a second table, with it.
        const conn = net.connect(port, '127.0.0.1');
        conn.on('error', () => {});
        await watch.waitFor(/server:4 .*\(host\)/);
        conn.end('bye');
        const end = await watch.exited;
        assert.equal(end.code, 0, watch.stderr());
        assert.deepEqual(lines(watch.stderr()), [`capsule: layer ${up.pid} has ended`]);
        const tables = watch.stdout().split(/\n\n/).filter((t) => t.startsWith('layer '));
        assert.ok(tables.length >= 2, watch.stdout());
        assert.doesNotMatch(tables[0]!, /server:4/);
        // Each table printed differs from the one before it.
        for (let i = 1; i < tables.length; i++) assert.notEqual(tables[i], tables[i - 1]);
      } finally {
        watch.dispose();
      }
      assert.equal((await up.exited).code, 0);
    } finally {
      up.dispose();
    }
  });

  const badFlags: [string[], number, RegExp][] = [
    [['sockets', '--status', 'sleepy'], 64, /^capsule: --status 'sleepy' is not a socket status \(one of UNCONNECTED, .*TERMINATED\)$/],
    [['sockets', '--port', 'http'], 64, /^capsule: --port 'http' is not a port number$/],
    [['logs', '--pid', 'x1', 'server'], 64, /^capsule: --pid 'x1' is not a process id$/],
    [['stop', '--pid', '999999999'], 66, /^capsule: no running layer with pid 999999999$/],
    [['logs', 'server'], 66, /^capsule: no running capsule layer found$/],
  ];
  for (const [args, code, message] of badFlags) {
    it(`capsule ${args.join(' ')}: exit ${code}, one line`, async () => {
      const r = await cli(args);
      assert.equal(r.code, code, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0]!, message);
    });
  }
});

describe('capsule logs and stop for capsule run', () => {
  it('reads the output of a running guest by its --name, refuses another name, and stops it (143)', { timeout: 60_000 }, async () => {
    const run = startCli(['run', '--name', 'Worker', guest('echo_server'), '7000', '1'], { env });
    try {
      await run.waitFor('listening on 7000\n');
      assert.equal(await logsUntil(run.pid, 'worker', /listening/), 'listening on 7000\n');
      const other = await cli(['logs', '--pid', String(run.pid), 'nobody']);
      assert.equal(other.code, 66, other.stderr);
      assert.deepEqual(lines(other.stderr), [`capsule: layer ${run.pid}: no guest named 'nobody' here`]);
      const stop = await cli(['stop', '--pid', String(run.pid)]);
      assert.equal(stop.code, 0, stop.stderr);
      const end = await run.exited;
      assert.equal(end.code, 143);
      assert.match(run.stderr(), /stopped: stopped by capsule stop$/m);
    } finally {
      run.dispose();
    }
  });
});
