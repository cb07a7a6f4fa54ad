// 1000 concurrent connections between two guests on one layer: every byte of
// a distinct pattern per connection comes back, and the socket table ends empty.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Layer } from '../../src/api/layer.js';
import { lines } from '../helpers/cli.js';
import { runGuests } from '../helpers/net.js';

describe('many connections', () => {
  it('a client opens 1000 connections at once and verifies every echoed byte; nothing leaks', { timeout: 120_000 }, async () => {
    // Above the default limits of 64 sockets and 256 descriptors per guest.
    const layer = new Layer({ maxSockets: 1100 });
    const limits = { maxFds: 1100 };
    try {
      const [server, client] = await runGuests(layer, [
        { name: 'server', module: 'many_server', args: ['7000', '1000'], timeoutMs: 100_000, limits },
        { name: 'client', module: 'many_client', args: ['server', '7000', '1000'], timeoutMs: 100_000, limits },
      ]);
      // Sum over c of 100 + (37c mod 1900): what both sides must have moved.
      let bytes = 0;
      for (let c = 0; c < 1000; c++) bytes += 100 + ((c * 37) % 1900);
      assert.equal(client!.result.exitCode, 0, client!.out);
      assert.deepEqual(lines(client!.out), ['connected 1000', `verified 1000 connections, ${bytes} bytes`]);
      assert.equal(server!.result.exitCode, 0, server!.out);
      assert.deepEqual(lines(server!.out), ['listening on 7000', 'accepted 1000', `served 1000 connections, ${bytes} bytes`]);
      assert.deepEqual(layer.sockets(), [], 'the socket table is empty after both guests ended');
      assert.equal(layer.net.table.size, 0);
    } finally {
      layer.close();
    }
  });

  it('the server\'s port is free again after the run: a second round on the same layer works', { timeout: 120_000 }, async () => {
    const layer = new Layer();
    try {
      for (let round = 0; round < 2; round++) {
        const server = `server${round}`, client = `client${round}`;
        const [s, c] = await runGuests(layer, [
          { name: server, module: 'many_server', args: ['7000', '50'] },
          { name: client, module: 'many_client', args: [server, '7000', '50'] },
        ]);
        assert.equal(c!.result.exitCode, 0, c!.out);
        assert.match(c!.out, /verified 50 connections/);
        assert.equal(s!.result.exitCode, 0, s!.out);
        assert.deepEqual(layer.sockets(), [], `round ${round}: the table is empty`);
      }
    } finally {
      layer.close();
    }
  });
});
