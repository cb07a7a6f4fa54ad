// `capsule sockets` reads the live socket table of a running `capsule up`
// (JSON and table), and --trace-sockets logs every status change.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { startCli, systemGuest, writeSystem } from '../helpers/net.js';

interface Row {
  id: number; owner: string; family: string; type: string; protocol: string; local: string; remote: string;
  status: string; sendQueue: number; receiveQueue: number; connectionQueue: number;
}
interface Snapshot { pid: number; label: string; started: string; sockets: Row[] }

let dir: TempDir;
let env: NodeJS.ProcessEnv;
before(() => {
  dir = tempDir('capsule-sockets-table-');
  // Both processes look for control sockets here, and nowhere else.
  env = { ...process.env, CAPSULE_RUNTIME_DIR: `${dir.path}/run` };
});
after(() => dir.cleanup());

async function snapshot(pid: number): Promise<Snapshot> {
  const r = await runCli(['sockets', '--json', '--pid', String(pid)], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Snapshot;
}

/** Polls the table until `ready` holds (the guests move on their own threads). */
async function snapshotUntil(pid: number, ready: (s: Snapshot) => boolean): Promise<Snapshot> {
  let s = await snapshot(pid);
  for (let i = 0; i < 100 && !ready(s); i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = await snapshot(pid);
  }
  return s;
}

describe('capsule sockets', () => {
  it('shows a running system\'s listening and connected sockets; the trace shows each transition; Ctrl-C exits 130', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, {
      guests: [
        // Listens, accepts one connection, then waits for data that never comes.
        systemGuest('server', 'echo_server', ['7000', '1']),
        // Connects, then waits in recv for a reply that never comes.
        systemGuest('client', 'sock_errors', ['wait', 'server', '7000']),
      ],
    }, 'table.json');
    const up = startCli(['up', '--trace-sockets', file], { env });
    try {
      await up.waitFor('server | listening on 7000\n');
      await up.waitFor('client | connected\n');

      const snap = await snapshotUntil(up.pid, (s) => s.sockets.length === 3 && s.sockets.every((r) => !r.owner.endsWith(':-')));
      assert.equal(snap.pid, up.pid);
      assert.ok(snap.label.endsWith('table.json'), snap.label);
      assert.equal(snap.sockets.length, 3, JSON.stringify(snap.sockets));
      const listening = snap.sockets.find((r) => r.status === 'LISTENING');
      assert.ok(listening, JSON.stringify(snap.sockets));
      assert.deepEqual(listening, {
        id: listening.id, owner: 'server:3', family: 'inet', type: 'stream', protocol: 'tcp', local: '0.0.0.0:7000', remote: '*',
        status: 'LISTENING', sendQueue: 0, receiveQueue: 0, connectionQueue: 0,
      });
      const client = snap.sockets.find((r) => r.owner.startsWith('client:'));
      assert.ok(client, JSON.stringify(snap.sockets));
      assert.equal(client.remote, '10.89.0.2:7000');
      assert.match(client.local, /^10\.89\.0\.3:\d+$/);
      assert.match(client.status, /^(CONNECTED|RECEIVING)$/);
      const accepted = snap.sockets.find((r) => r.owner === 'server:4');
      assert.ok(accepted, JSON.stringify(snap.sockets));
      assert.equal(accepted.local, '10.89.0.2:7000');
      assert.equal(accepted.remote, client.local, 'the accepted end sees the client\'s address');
      assert.match(accepted.status, /^(CONNECTED|RECEIVING)$/);
      assert.ok(new Set(snap.sockets.map((r) => r.id)).size === 3, 'IDs are unique');

      // The table as text, with every column.
      const text = await runCli(['sockets', '--pid', String(up.pid)], { env });
      assert.equal(text.code, 0, text.stderr);
      const out = lines(text.stdout);
      assert.match(out[0]!, new RegExp(`^layer ${up.pid} \\(.*table\\.json\\), 3 sockets$`));
      assert.deepEqual(out[1]!.split(/\s+/), ['ID', 'OWNER', 'FAMILY', 'PROTO', 'LOCAL', 'REMOTE', 'STATUS', 'SEND-Q', 'RECV-Q', 'ACCEPT-Q']);
      const row = out.find((l) => l.includes('LISTENING'));
      assert.ok(row, text.stdout);
      assert.deepEqual(row.split(/\s+/), [String(listening.id), 'server:3', 'inet', 'tcp', '0.0.0.0:7000', '*', 'LISTENING', '0', '0', '0']);

      // With only one layer running, --pid may be left out.
      const only = await runCli(['sockets', '--json'], { env });
      assert.equal(only.code, 0, only.stderr);
      assert.equal((JSON.parse(only.stdout) as Snapshot).pid, up.pid);

      const exit = await up.stop('SIGINT');
      assert.equal(exit.code, 130, up.stderr());

      // One line per real transition, both ends named; the accepted end is connected from birth.
      // The client may have tried before the server listened: each try is a refused connect and a close.
      const tries = lines(up.stderr()).filter((l) => /client:3 tcp \* -> (server 10\.89\.0\.2:7000: UNCONNECTED \(connect: ECONNREFUSED\)|\*: UNCONNECTED -> TERMINATED \(close\))$/.test(l));
      assert.equal(tries.filter((l) => l.includes('ECONNREFUSED')).length, tries.filter((l) => l.endsWith('(close)')).length, up.stderr());
      const trace = lines(up.stderr()).filter((l) => l.startsWith('[capsule] socket ') && !tries.includes(l))
        .map((l) => l.replace(/^\[capsule\] /, '').replace(/10\.89\.0\.3:\d+/g, '10.89.0.3:PORT'));
      const c = client.id, l = listening.id, a = accepted.id;
      const client3 = `socket ${c} client:3 tcp 10.89.0.3:PORT`;
      const server4 = `socket ${a} server:4 tcp 10.89.0.2:7000`;
      assert.deepEqual(trace.slice(0, 4), [
        `socket ${l} server:3 tcp 0.0.0.0:7000 -> *: UNCONNECTED -> BOUND (bind)`,
        `socket ${l} server:3 tcp 0.0.0.0:7000 -> *: BOUND -> LISTENING (listen)`,
        `${client3} -> server:- 10.89.0.2:7000: UNCONNECTED -> CONNECTED (connect)`,
        `socket ${a} server:- tcp 10.89.0.2:7000 -> client:3 10.89.0.3:PORT: UNCONNECTED -> CONNECTED (incoming)`,
      ], up.stderr());
      // The stop closes everything; the end closed last sees its peer go first.
      assert.ok(trace.includes(`socket ${l} server:3 tcp 0.0.0.0:7000 -> *: LISTENING -> TERMINATED (close)`), up.stderr());
      assert.equal(trace.filter((t) => t.includes('-> TERMINATED (close)')).length, 3, up.stderr());
      assert.equal(new Set(trace).size, trace.length, 'no line twice');
      assert.ok(trace.some((t) => t.startsWith(client3) || t.startsWith(server4)), up.stderr());
    } finally {
      up.dispose();
    }

    // Gone with its process: no layer to read.
    const gone = await runCli(['sockets', '--pid', String(up.pid)], { env });
    assert.equal(gone.code, 66);
    assert.match(gone.stderr, new RegExp(`no running layer with pid ${up.pid}`));
    const none = await runCli(['sockets'], { env });
    assert.equal(none.code, 66);
    assert.match(none.stderr, /no running capsule layer found/);
  });

  it('--trace-sockets shows a refused connect once per attempt, naming where it went', async () => {
    const r = await runCli(['run', '--trace-sockets', guest('sock_errors'), 'refused', '7100'], { env });
    assert.equal(r.code, 2, r.stderr);
    const trace = lines(r.stderr).filter((l) => l.startsWith('[capsule] socket '));
    assert.deepEqual(trace, [
      '[capsule] socket 1 sock-errors:3 tcp * -> sock-errors 127.0.0.1:7100: UNCONNECTED (connect: ECONNREFUSED)',
      '[capsule] socket 1 sock-errors:3 tcp * -> sock-errors 127.0.0.1:7100: UNCONNECTED (connect: ECONNREFUSED)',
      '[capsule] socket 1 sock-errors:3 tcp * -> *: UNCONNECTED -> TERMINATED (close)',
    ]);
  });

  it('CAPSULE_TRACE logs every guest call, WASIX socket calls too, each naming the guest', async () => {
    const r = await runCli(['run', guest('sock_errors'), 'refused', '7101'], { env: { ...env, CAPSULE_TRACE: '1' } });
    assert.equal(r.code, 2, r.stderr);
    const calls = lines(r.stderr).filter((l) => l.startsWith('[capsule trace] '));
    assert.ok(calls.every((l) => l.startsWith('[capsule trace] sock-errors: ')), calls.join('\n'));
    const connects = calls.filter((l) => /sock_connect\(3, \d+\) -> 14 \(ECONNREFUSED\)$/.test(l));
    assert.equal(connects.length, 2, calls.join('\n'));
    assert.ok(calls.some((l) => /: wasix_32v1\.sock_open\(1, 1, 0, \d+\) -> 0$/.test(l)), calls.join('\n'));
    assert.ok(calls.some((l) => /: wasix_32v1\.resolve\(.*\) -> 2 \(EACCES\)$/.test(l)), calls.join('\n'));
    assert.ok(calls.some((l) => /: wasi_snapshot_preview1\.fd_write\(1, \d+, \d+, \d+\) -> 0$/.test(l)), calls.join('\n'));
  });

  it('--pid must be a number', async () => {
    const r = await runCli(['sockets', '--pid', 'abc'], { env });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /--pid 'abc' is not a process id/);
  });
});
