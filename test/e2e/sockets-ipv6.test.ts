// IPv6 sockets: guests reach each other at fd89::N, a dual-stack listener
// takes IPv4 connections (v6only refuses them), families are checked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Layer } from '../../src/api/layer.js';
import { lines } from '../helpers/cli.js';
import { runGuests, type GuestRun } from '../helpers/net.js';

async function local(): Promise<string[]> {
  const layer = new Layer();
  try {
    const [g] = await runGuests(layer, [{ name: 'six', module: 'v6_check', args: ['local', '7500'], timeoutMs: 20_000 }]);
    assert.equal(g!.result.exitCode, 0, g!.out);
    assert.deepEqual(layer.sockets(), []);
    return lines(g!.out);
  } finally {
    layer.close();
  }
}

describe('IPv6', () => {
  it('within a guest: ::1, a dual-stack listener for IPv4, v6only refusing IPv4, family mismatch', { timeout: 30_000 }, async () => {
    const out = await local();
    assert.equal(out[0], 'v6 connect to ::1: ok');
    assert.match(out[1]!, /^accepted from v6 0:0:0:0:0:0:0:1 port \d+$/);
    assert.equal(out[2], 'v4 connect to dual-stack listener: ok');
    assert.equal(out[4], 'accepted at v6 0:0:0:0:0:ffff:7f00:1 port 7500');
    assert.deepEqual(out.slice(5), ['v4 connect to v6only listener: ECONNREFUSED', 'v4 address on a v6 socket: EAFNOSUPPORT']);
  });

  it('an IPv4 connection accepted on a dual-stack IPv6 listener has an IPv4-mapped IPv6 peer', { timeout: 30_000 }, async () => {
    const out = await local();
    assert.match(out[3]!, /^accepted from v6 0:0:0:0:0:ffff:7f00:1 port \d+$/);
  });

  it('between guests: the client resolves the server\'s IPv6 address and they talk over fd89::', { timeout: 30_000 }, async () => {
    const layer = new Layer();
    let runs: GuestRun[];
    try {
      runs = await runGuests(layer, [
        { name: 'server', module: 'v6_check', args: ['server', '7000'], timeoutMs: 20_000 },
        { name: 'client', module: 'v6_check', args: ['client', 'server', '7000'], timeoutMs: 20_000 },
      ]);
      assert.deepEqual(layer.sockets(), []);
    } finally {
      layer.close();
    }
    const [server, client] = runs;
    assert.equal(client!.result.exitCode, 0, client!.out);
    const c = lines(client!.out);
    assert.equal(c[0], 'connecting to v6 fd89:0:0:0:0:0:0:2 port 7000');
    assert.match(c[1]!, /^local v6 fd89:0:0:0:0:0:0:3 port \d+$/);
    assert.equal(c[2], 'reply: six');
    assert.equal(server!.result.exitCode, 0, server!.out);
    const port = /port (\d+)$/.exec(c[1]!)![1];
    assert.deepEqual(lines(server!.out), ['listening on [::]:7000', `peer v6 fd89:0:0:0:0:0:0:3 port ${port}`]);
  });
});
