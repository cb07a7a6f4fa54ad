// UDP between guests: datagram boundaries, truncation (RECV_DATA_TRUNCATED),
// and the sender's address as sock_recv_from reports it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Layer } from '../../src/api/layer.js';
import { lines } from '../helpers/cli.js';
import { runGuests } from '../helpers/net.js';

/** Runs the receiver (10.89.0.2) and the sender (10.89.0.3) on a fresh layer. */
async function exchange(senderArgs: string[]) {
  const layer = new Layer();
  try {
    const [receiver, sender] = await runGuests(layer, [
      { name: 'receiver', module: 'udp_peer', args: ['recv', '6000'], timeoutMs: 30_000 },
      { name: 'sender', module: 'udp_peer', args: ['send', 'receiver', '6000', ...senderArgs], timeoutMs: 30_000 },
    ]);
    return { receiver: receiver!, sender: sender!, table: layer.sockets() };
  } finally {
    layer.close();
  }
}

describe('UDP between guests', () => {
  it('keeps datagram boundaries, reports truncation, and names an unbound sender by its address and port', { timeout: 60_000 }, async () => {
    const { receiver, sender, table } = await exchange([]);
    assert.equal(receiver.result.exitCode, 0, receiver.out);
    assert.equal(sender.result.exitCode, 0, sender.out);
    const r = lines(receiver.out);
    assert.equal(r[0], 'bound 6000');
    // The sender never bound: it got the first ephemeral port, on its own address.
    assert.equal(r[1], 'hello from 10.89.0.3:49152');
    assert.deepEqual(r.slice(2), [
      'datagram 0: 100 bytes, flags 0',
      'datagram 1: 1 bytes, flags 0',
      'datagram 2: 1000 bytes, flags 0',
      'small buffer: 64 bytes, truncated yes, first byte T',
      'next datagram: 3 bytes, first byte E, truncated no',
    ]);
    assert.match(sender.out, /^go from /m);
    assert.deepEqual(table, []);
  });

  it('a reply from a socket bound to 0.0.0.0 comes from the guest\'s own address', { timeout: 60_000 }, async () => {
    const { sender } = await exchange([]);
    assert.ok(lines(sender.out).includes('go from 10.89.0.2:6000'), sender.out);
  });

  it('a sender bound to 0.0.0.0:5001 is reported as 10.89.0.3:5001, so the reply reaches it', { timeout: 60_000 }, async () => {
    const { receiver, sender } = await exchange(['5001']);
    assert.ok(lines(receiver.out).includes('hello from 10.89.0.3:5001'), receiver.out);
    assert.equal(sender.result.exitCode, 0, sender.out);
    assert.match(sender.out, /^sent$/m);
  });
});
