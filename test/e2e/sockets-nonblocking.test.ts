// Non-blocking sockets and timeouts: connect gives EINPROGRESS then polls
// writable, accept gives EAGAIN then the listener polls readable, SO_RCVTIMEO.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Layer } from '../../src/api/layer.js';
import { guest, lines, runCli } from '../helpers/cli.js';
import { freePort, hostServer, runGuest, runGuests, watchedOutput } from '../helpers/net.js';
import { run } from '../../src/api/run.js';

describe('non-blocking connect', () => {
  it('to a guest: EINPROGRESS, then writable in poll_oneoff, SO_ERROR 0, data flows', { timeout: 30_000 }, async () => {
    const layer = new Layer();
    try {
      const [g] = await runGuests(layer, [{ name: 'nb', module: 'nb_check', args: ['connect', '7100'] }]);
      assert.equal(g!.result.exitCode, 0, g!.out);
      assert.deepEqual(lines(g!.out), ['connect: EINPROGRESS', 'poll: client writable, error 0', 'so_error: 0', 'server got: ping']);
      assert.deepEqual(layer.sockets(), []);
    } finally {
      layer.close();
    }
  });

  it('through the host bridge: EINPROGRESS, writable once the host accepts, then an echo', { timeout: 30_000 }, async () => {
    const server = await hostServer('echo');
    try {
      const r = await runCli(['run', '--allow-connect', `127.0.0.1:${server.port}`, guest('nb_check'),
        'connect-to', 'host.capsule.internal', String(server.port)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(lines(r.stdout), ['connect: EINPROGRESS', 'poll: client writable, error 0', 'so_error: 0', 'reply: ping']);
      assert.equal(server.connections(), 1);
      assert.equal(server.received().toString(), 'ping');
    } finally {
      await server.close();
    }
  });

  it('through the host bridge to a closed port: EINPROGRESS, then writable with hangup and SO_ERROR ECONNREFUSED', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const r = await runCli(['run', '--allow-connect', `127.0.0.1:${port}`, guest('nb_check'), 'connect-to', 'host.capsule.internal', String(port)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(lines(r.stdout), ['connect: EINPROGRESS', 'poll: client writable, error 0, hangup', 'so_error: ECONNREFUSED']);
  });
});

describe('non-blocking accept', () => {
  it('EAGAIN with nothing pending; poll_oneoff wakes when a client connects; accept succeeds', { timeout: 30_000 }, async () => {
    const layer = new Layer();
    layer.addGuest('server');
    layer.addGuest('client');
    try {
      const out = watchedOutput();
      const server = run(guest('nb_check'), { layer, name: 'server', args: ['accept', '7000'], stdout: out.stream, timeoutMs: 25_000 });
      // The client starts only once the server has seen EAGAIN and is waiting in poll_oneoff.
      await out.waitFor('accept: EAGAIN\n');
      const client = await runGuest(layer, { name: 'client', module: 'echo_client', args: ['server', '7000', 'knock knock'], timeoutMs: 25_000 });
      const s = await server;
      assert.equal(s.exitCode, 0, out.text());
      assert.deepEqual(lines(out.text()), [
        'accept: EAGAIN',
        'poll: listener readable, error 0',
        'accept: ok from 10.89.0.3',
        'echoed 11 bytes',
      ]);
      assert.equal(client.result.exitCode, 0, client.out);
      assert.equal(client.out, 'echo: knock knock\n');
      assert.deepEqual(layer.sockets(), []);
    } finally {
      layer.close();
    }
  });
});

describe('receive timeout', () => {
  it('SO_RCVTIMEO (option 19) makes recv on a stream and on a datagram socket fail with EAGAIN', { timeout: 30_000 }, async () => {
    const layer = new Layer();
    try {
      const [g] = await runGuests(layer, [{ name: 'timeouts', module: 'nb_check', args: ['rcvtimeo', '7200'] }]);
      assert.equal(g!.result.exitCode, 0, g!.out);
      assert.deepEqual(lines(g!.out), ['stream recv: EAGAIN', 'stream recv after send: 4 bytes', 'datagram recv: EAGAIN']);
      assert.deepEqual(layer.sockets(), []);
    } finally {
      layer.close();
    }
  });
});
