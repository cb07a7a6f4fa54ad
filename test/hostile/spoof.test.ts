// Hostile guests: passing for a neighbour's loopback. A client that binds a
// loopback or wildcard address (each spelling, IPv4 and IPv6) before it
// connects or sends to a server in another guest must appear there as its
// own virtual address, in accept's address, sock_addr_peer on both ends and
// recv_from alike: a server that trusts loopback peers is not fooled.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchedOutput } from '../helpers/net.js';
import { fdsBackTo, runHostile, sharedLayer, stableFds, warmUp } from '../helpers/hostile.js';

const V4 = ['127.0.0.1', '127.0.0.2', '0.0.0.0'];
const V6 = ['::1', '::ffff:127.0.0.1', '::'];
const PORT = 7400;

/** How the guests print addresses: the server listens on [::], so IPv4 clients appear IPv4-mapped. */
const CLIENT_V4 = '10.89.0.3';
const CLIENT_V4_MAPPED = '[0:0:0:0:0:ffff:a59:3]';
const CLIENT_V6 = '[fd89:0:0:0:0:0:0:3]';
const SERVER_V4 = `10.89.0.2:${PORT}`;
const SERVER_V6 = `[fd89:0:0:0:0:0:0:2]:${PORT}`;
/** Any loopback or unspecified address in the printed forms. */
const LOOPBACK = /(^|[=\s])(127\.|0\.0\.0\.0|\[0:0:0:0:0:0:0:[01]\]|\[0:0:0:0:0:ffff:7f|\[0:0:0:0:0:ffff:0:0\])/;

describe('hostile guests: passing for a neighbour\'s loopback', () => {
  it(`a client bound to ${[...V4, ...V6].join(', ')} appears as its own address over TCP and UDP`, { timeout: 30_000 }, async () => {
    await warmUp();
    const fds = await stableFds();
    const { layer, audit } = sharedLayer();
    try {
      layer.addGuest('server');
      layer.addGuest('client');
      const all = [...V4, ...V6];
      const watch = watchedOutput();
      const server = runHostile('hostile_spoof', { layer, name: 'server', args: ['server', String(PORT), String(all.length)], watch });
      await watch.waitFor('server: ready');
      const client = await runHostile('hostile_spoof', { layer, name: 'client', args: ['client', 'server', String(PORT), ...all] });
      const s = await server;
      assert.equal(client.result.exitCode, 0, client.stdout + client.stderr);
      assert.equal(s.result.exitCode, 0, s.stdout + s.stderr);

      const seen: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const bound of all) {
        const v4 = V4.includes(bound);
        const tcp = client.verdicts.get(`tcp ${bound}`) ?? '';
        const m = /^local=(\S+):(\d+) peer=(\S+)$/.exec(tcp);
        assert.ok(m, `client line for ${bound}: ${tcp}`);
        const port = m[2]!;
        // The client speaks from its own address, and the server sees exactly that, however it asks.
        seen[`tcp ${bound} client`] = tcp;
        expected[`tcp ${bound} client`] = `local=${v4 ? CLIENT_V4 : CLIENT_V6}:${port} peer=${v4 ? SERVER_V4 : SERVER_V6}`;
        const them = `${v4 ? CLIENT_V4_MAPPED : CLIENT_V6}:${port}`;
        seen[`tcp ${bound} server`] = s.verdicts.get(`tcp ${bound}`) ?? '(missing)';
        expected[`tcp ${bound} server`] = `accept=${them} peer=${them}`;
        const udp = s.verdicts.get(`udp ${bound}`) ?? '(missing)';
        seen[`udp ${bound}`] = udp.replace(/:\d+$/, ':PORT');
        expected[`udp ${bound}`] = `from=${v4 ? CLIENT_V4_MAPPED : CLIENT_V6}:PORT`;
        assert.doesNotMatch(udp, LOOPBACK);
        assert.doesNotMatch(s.verdicts.get(`tcp ${bound}`) ?? '', LOOPBACK);
      }
      assert.deepEqual(seen, expected);
      assert.ok(!audit.some((r) => r.decision === 'deny'), 'nothing was refused: the traffic went, carrying the true sender');
      assert.equal(layer.sockets().length, 0, 'socket-table entries left');
    } finally {
      layer.close();
    }
    assert.equal(await fdsBackTo(fds), fds, 'descriptors of the test process');
  });
});
