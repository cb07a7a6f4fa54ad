// Hostile guests, group 6: guests stopped or trapping while blocked in accept, recv or poll_oneoff; their
// peers (guests, host clients via --publish) wake and never hang, and the socket table ends empty.

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { freePort, watchedOutput } from '../helpers/net.js';
import { assertRecord, checkedRun, fdDiff, fdTargets, fdsBackTo, runHostile, sharedLayer, stableFds, warmUp } from '../helpers/hostile.js';

/** Runs a server guest and a client guest on one fresh layer; checks descriptors and the table afterwards. */
async function pair(server: { args: string[]; timeoutMs: number }, client: { args: string[]; timeoutMs: number }) {
  await warmUp();
  const before = await stableFds();
  const targets = fdTargets();
  const { layer, audit } = sharedLayer();
  try {
    layer.addGuest('server');
    layer.addGuest('client');
    const [s, c] = await Promise.all([
      runHostile('hostile_net', { layer, name: 'server', ...server }),
      runHostile('hostile_net', { layer, name: 'client', ...client }),
    ]);
    assert.deepEqual(layer.sockets(), [], 'socket-table entries left');
    return { s, c, audit };
  } finally {
    layer.close();
    const after = await fdsBackTo(before);
    assert.equal(after, before, `descriptors of the test process (${fdDiff(targets, fdTargets()).join('; ')})`);
  }
}

describe('hostile guests: stopped or trapping while blocked (group 6)', () => {
  it('a server blocked in accept, stopped by its time limit: its client wakes (EOF/ECONNRESET), a reconnect is refused', { timeout: 30_000 }, async () => {
    const started = Date.now();
    const { s, c, audit } = await pair(
      { args: ['server_accept', '7400'], timeoutMs: 1500 },
      { args: ['client', 'server', '7400', 'wait'], timeoutMs: 15_000 },
    );
    assert.equal(s.result.exitCode, 102);
    assert.match(s.stdout, /server_accept: accepted 1\n$/);
    assert.deepEqual(c.result.outcome, { kind: 'exit', code: 0 });
    assert.equal(c.verdicts.get('client'), 'connected');
    assert.match(c.verdicts.get('client_recv') ?? '', /^(EOF|ECONNRESET)$/);
    assert.equal(c.verdicts.get('client_reconnect'), 'ECONNREFUSED');
    assert.ok(Date.now() - started < 10_000);
    assertRecord(audit, { enclave: 'server', op: 'time', decision: 'limit' }, 'the server\'s time limit');
  });

  it('a guest blocked in recv whose peer traps wakes with EOF/ECONNRESET', { timeout: 30_000 }, async () => {
    const { s, c } = await pair(
      { args: ['server_recv', '7401'], timeoutMs: 15_000 },
      { args: ['client', 'server', '7401', 'trap'], timeoutMs: 15_000 },
    );
    assert.equal(c.result.outcome.kind, 'trap');
    assert.equal(c.result.exitCode, 101);
    assert.deepEqual(s.result.outcome, { kind: 'exit', code: 0 });
    assert.match(s.stdout, /^server_recv: accepted\nserver_recv: (EOF|ECONNRESET)\n$/m);
  });

  it('a guest blocked in poll_oneoff (no timeout) on a connection, stopped by its time limit: the peer wakes', { timeout: 30_000 }, async () => {
    const { s, c } = await pair(
      { args: ['poll_peer', '7402'], timeoutMs: 1500 },
      { args: ['client', 'server', '7402', 'wait'], timeoutMs: 15_000 },
    );
    assert.equal(s.result.exitCode, 102);
    assert.match(s.stdout, /poll_peer: polling\n$/);
    assert.match(c.verdicts.get('client_recv') ?? '', /^(EOF|ECONNRESET)$/);
    assert.equal(c.verdicts.get('client_reconnect'), 'ECONNREFUSED');
  });

  it('a guest blocked in accept, stopped from outside (abort): exit 130 and no socket left', { timeout: 30_000 }, async () => {
    const watch = watchedOutput();
    const controller = new AbortController();
    const pending = checkedRun('hostile_net', { args: ['accept_block', '7403'], watch, signal: controller.signal, timeoutMs: 20_000 });
    await watch.waitFor('accept_block: listening', 10_000);
    const stopped = Date.now();
    controller.abort();
    const r = await pending;
    assert.deepEqual(r.result.outcome, { kind: 'killed', message: 'interrupted' });
    assert.equal(r.result.exitCode, 130);
    assert.ok(Date.now() - stopped < 5000);
  });

  it('a host client connected through --publish to a guest blocked in recv: the guest\'s time limit ends the connection', { timeout: 30_000 }, async () => {
    const hostPort = await freePort();
    const watch = watchedOutput();
    const pending = checkedRun('hostile_net', {
      args: ['server_recv', '7404'], watch, network: { publish: [`${hostPort}:7404`] }, timeoutMs: 2000,
    });
    await watch.waitFor('server_recv: listening', 10_000);
    const ended = new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: hostPort });
      const timer = setTimeout(() => { s.destroy(); reject(new Error('the host connection hung')); }, 15_000);
      s.on('data', () => {});
      s.on('end', () => { clearTimeout(timer); s.destroy(); resolve('EOF'); });
      s.on('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(e.code ?? 'error'); });
      s.on('close', () => { clearTimeout(timer); resolve('closed'); });
    });
    await watch.waitFor('server_recv: accepted', 10_000);
    const r = await pending;
    assert.equal(r.result.exitCode, 102);
    assert.match(await ended, /^(EOF|ECONNRESET|closed)$/);
    assertRecord(r.audit, { op: 'publish', decision: 'allow', reason: new RegExp(`published by --publish ${hostPort}:7404`) }, 'the published connection');
  });
});
