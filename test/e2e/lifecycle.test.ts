// The enclave lifecycle: the API hears every transition, the audit log
// records it, and `capsule ps` shows each guest of a running layer with its
// state (blocked: in which call), uptime, memory, CPU, descriptors, sockets.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import type { LifecycleEvent } from '../../src/lifecycle/state.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { startCli, systemGuest, writeSystem } from '../helpers/net.js';

interface Row {
  name: string; state: string; blockedIn?: string; uptimeMs: number;
  memory: { current: number; peak: number; limit: number | null }; cpuMs?: number; descriptors: number; sockets: number;
}
interface Table { pid: number; label: string; started: string; guests: Row[] }

let dir: TempDir;
let env: NodeJS.ProcessEnv;
before(() => {
  dir = tempDir('capsule-lifecycle-');
  env = { ...process.env, CAPSULE_RUNTIME_DIR: `${dir.path}/run` };
});
after(() => dir.cleanup());

async function ps(pid: number): Promise<Table> {
  const r = await runCli(['ps', '--json', '--pid', String(pid)], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Table;
}

async function psUntil(pid: number, ready: (t: Table) => boolean): Promise<Table> {
  let t = await ps(pid);
  for (let i = 0; i < 100 && !ready(t); i++) {
    await new Promise((r) => setTimeout(r, 100));
    t = await ps(pid);
  }
  return t;
}

describe('lifecycle events (API)', () => {
  it('a guest that exits goes starting -> running -> exited, each transition heard and audited', async () => {
    const events: LifecycleEvent[] = [];
    const audit: AuditRecord[] = [];
    const r = await run(guest('hello'), { stdout: 'capture', onState: (e) => events.push(e), onAudit: (a) => audit.push(a) });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(events.map((e) => [e.from, e.to]), [[undefined, 'starting'], ['starting', 'running'], ['running', 'exited']]);
    assert.ok(events.every((e) => e.guest === 'hello' && !Number.isNaN(Date.parse(e.time))));
    assert.equal(events[2]!.reason, 'exited with 0');
    const states = audit.filter((a) => a.op === 'state').map((a) => a.reason);
    assert.deepEqual(states, ['new -> starting', 'starting -> running', 'running -> exited: exited with 0']);
  });

  it('a guest stopped by a limit or an abort ends killed', async () => {
    const events: LifecycleEvent[] = [];
    const r = await run(guest('sleep_poll'), { args: ['5000'], timeoutMs: 300, stdout: 'capture', onState: (e) => events.push(e) });
    assert.equal(r.exitCode, 102);
    assert.equal(events.at(-1)!.to, 'killed');
    assert.match(events.at(-1)!.reason!, /wall-time limit/);

    const stop = new AbortController();
    const killed: LifecycleEvent[] = [];
    const running = run(guest('sleep_poll'), { args: ['5000'], signal: stop.signal, stdout: 'capture', onState: (e) => {
      killed.push(e);
      if (e.to === 'running') setTimeout(() => stop.abort(), 100);
    } });
    assert.equal((await running).exitCode, 130);
    assert.deepEqual(killed.map((e) => e.to), ['starting', 'running', 'killed']);
  });
});

describe('capsule ps', () => {
  it('shows each guest of a running system: blocked in which call, exited, memory, descriptors, sockets', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, {
      guests: [
        systemGuest('server', 'echo_server', ['7100', '1']),
        systemGuest('client', 'sock_errors', ['wait', 'server', '7100']),
        systemGuest('sleeper', 'sleep_poll', ['60000']),
        systemGuest('greeter', 'hello'),
      ],
    }, 'ps.json');
    const up = startCli(['up', file], { env });
    try {
      await up.waitFor(/client +\| connected\n/);
      const t = await psUntil(up.pid, (t) => t.guests.length === 4
        && ['server', 'client', 'sleeper'].every((n) => t.guests.find((g) => g.name === n)?.state === 'blocked')
        && t.guests.find((g) => g.name === 'greeter')?.state === 'exited');
      assert.equal(t.pid, up.pid);
      const by = new Map(t.guests.map((g) => [g.name, g]));
      assert.deepEqual([...by.keys()].sort(), ['client', 'greeter', 'server', 'sleeper']);
      const sleeper = by.get('sleeper')!;
      assert.equal(sleeper.state, 'blocked', JSON.stringify(t));
      assert.equal(sleeper.blockedIn, 'poll_oneoff');
      assert.equal(sleeper.sockets, 0);
      assert.equal(sleeper.descriptors, 3, 'stdin, stdout, stderr');
      assert.ok(sleeper.memory.current >= 65536 && sleeper.memory.current === sleeper.memory.peak, JSON.stringify(sleeper));
      assert.equal(sleeper.memory.limit, 256 * 1024 * 1024);
      assert.ok(sleeper.uptimeMs > 0);
      assert.equal(typeof sleeper.cpuMs, 'number');
      const client = by.get('client')!;
      assert.equal(client.state, 'blocked');
      assert.match(client.blockedIn!, /^(sock_recv|fd_read|poll_oneoff)$/);
      assert.equal(client.sockets, 1);
      assert.equal(client.descriptors, 4);
      const server = by.get('server')!;
      assert.equal(server.sockets, 2, 'the listener and the accepted connection');
      const greeter = by.get('greeter')!;
      assert.equal(greeter.state, 'exited');
      assert.equal(greeter.memory.current, 0, 'an ended guest holds no memory');
      assert.ok(greeter.memory.peak > 0);
      assert.equal(greeter.descriptors, 0);

      const text = await runCli(['ps', '--pid', String(up.pid)], { env });
      assert.equal(text.code, 0, text.stderr);
      const out = lines(text.stdout);
      assert.match(out[0]!, new RegExp(`^layer ${up.pid} \\(.*ps\\.json\\), 4 guests$`));
      assert.deepEqual(out[1]!.split(/\s+/), ['NAME', 'STATE', 'UPTIME', 'MEMORY', 'PEAK', 'LIMIT', 'CPU', 'FDS', 'SOCKETS']);
      assert.match(out.find((l) => l.startsWith('sleeper'))!, /^sleeper\s+blocked \(poll_oneoff\)\s+\S+\s+\d+ KiB\s+\d+ KiB\s+256 MiB\s+\S+\s+3\s+0$/);

      const exit = await up.stop('SIGINT');
      assert.equal(exit.code, 130, up.stderr());
    } finally {
      up.dispose();
    }
  });

  it('--pid must be a number; with no layer running, one line and 66', async () => {
    const bad = await runCli(['ps', '--pid', 'x'], { env });
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--pid 'x' is not a process id/);
    const none = await runCli(['ps'], { env });
    assert.equal(none.code, 66);
    assert.equal(lines(none.stderr).length, 1);
    assert.match(none.stderr, /no running capsule layer found/);
  });
});
