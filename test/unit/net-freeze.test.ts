// The virtual network sealed and put back (src/layer/net/freeze.ts), on real
// NetServices: a stream's unread bytes in both directions, a connection
// waiting in a backlog, datagrams in an inbox, bindings and entry ids all come
// back as they were, through the record's JSON form; the queue a stream's two
// ends share is shared again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import type { SockAddr } from '../../src/core/net/address.js';
import { NodeHostNet } from '../../src/host/net.js';
import { putDatagram, takeDatagram } from '../../src/layer/net/datagram.js';
import type { AcceptReply, ConnectReply, OpenReply, ReattachReply, RouteReply } from '../../src/layer/net/protocol.js';
import type { SealedNetwork } from '../../src/layer/net/sealed.js';
import { NetService } from '../../src/layer/net/service.js';
import { Ring } from '../../src/layer/ring.js';
import { emptyNetworkPolicy } from '../../src/policy/network.js';

const v4 = (ip: string, port: number): SockAddr => ({ family: 4, ip, port });

function network(): NetService {
  const svc = new NetService({ mode: 'secure', host: new NodeHostNet(), policy: emptyNetworkPolicy() });
  // Guests are named on the network in the same order before and after, as a System does.
  svc.vnet.addGuest('a');
  svc.vnet.addGuest('b');
  return svc;
}

function read(ring: Ring): string {
  const b = Buffer.alloc(ring.used);
  ring.tryRead(b);
  return b.toString();
}

describe('the virtual network sealed and put back', () => {
  it('streams, a backlog, an inbox, bindings and ids come back as they were', async () => {
    const before = network();
    before.attach('a', new SharedArrayBuffer(64));
    before.attach('b', new SharedArrayBuffer(64));
    const call = async <T>(guest: string, req: Parameters<NetService['handle']>[1]): Promise<T> => await before.handle(guest, req) as T;
    const listener = (await call<OpenReply>('a', { op: 'open', fd: 3, family: 4, type: 'stream' })).id;
    await call('a', { op: 'bind', id: listener, addr: v4('0.0.0.0', 7000) });
    await call('a', { op: 'listen', id: listener, backlog: 8 });
    const client = (await call<OpenReply>('b', { op: 'open', fd: 3, family: 4, type: 'stream' })).id;
    const c = await call<ConnectReply>('b', { op: 'connect', id: client, addr: v4('10.89.0.2', 7000) });
    const accepted = await call<AcceptReply>('a', { op: 'accept', id: listener, fd: 4 });
    const waiting = (await call<OpenReply>('b', { op: 'open', fd: 4, family: 4, type: 'stream' })).id;
    await call<ConnectReply>('b', { op: 'connect', id: waiting, addr: v4('10.89.0.2', 7000) });
    new Ring(c.ends!.tx).tryWrite(Buffer.from('to a, unread'));
    new Ring(accepted.ends.tx).tryWrite(Buffer.from('to b, unread'));
    const inbox = (await call<OpenReply>('a', { op: 'open', fd: 5, family: 4, type: 'dgram' })).id;
    await call('a', { op: 'bind', id: inbox, addr: v4('0.0.0.0', 9000) });
    const sender = (await call<OpenReply>('b', { op: 'open', fd: 5, family: 4, type: 'dgram' })).id;
    const route = await call<RouteReply>('b', { op: 'route', id: sender, addr: v4('10.89.0.2', 9000) });
    assert.equal(route.kind, 'queue');
    if (route.kind !== 'queue') return;
    for (const d of ['one', 'two']) putDatagram(new Ring(route.queue), route.stamp, [Buffer.from(d)]);
    const rows = before.table.rows();

    const sealed = JSON.parse(JSON.stringify(before.seal())) as SealedNetwork;
    before.stop();
    assert.equal(sealed.entries.length, rows.length);
    // A stream's send queue is its peer's receive queue: sealed once.
    const streamRings = sealed.entries.filter((e) => e.type === 'stream').flatMap((e) => [e.sendQueue, e.receiveQueue]).filter((r) => r !== undefined);
    assert.equal(new Set(streamRings).size * 2, streamRings.length);

    const after = network();
    await after.restore(sealed);
    after.attach('a', new SharedArrayBuffer(64));
    after.attach('b', new SharedArrayBuffer(64));
    const again = async <T>(guest: string, req: Parameters<NetService['handle']>[1]): Promise<T> => await after.handle(guest, req) as T;
    assert.deepEqual(after.table.rows(), rows, 'every entry, status, address and queue length as sealed');
    const a = await again<ReattachReply>('a', { op: 'reattach', id: accepted.id });
    const b = await again<ReattachReply>('b', { op: 'reattach', id: client });
    assert.equal(read(new Ring(a.ends!.rx)), 'to a, unread');
    assert.equal(read(new Ring(b.ends!.rx)), 'to b, unread');
    // One ring between the two ends again: what b sends now, a reads.
    new Ring(b.ends!.tx).tryWrite(Buffer.from('after'));
    assert.equal(read(new Ring(a.ends!.rx)), 'after');
    // The connection that waited in the backlog is accepted now.
    const late = await again<AcceptReply>('a', { op: 'accept', id: listener, fd: 6 });
    assert.equal(late.peer.ip, '10.89.0.3', 'from b, as it connected');
    await assert.rejects(again('a', { op: 'accept', id: listener, fd: 7 }), (e: unknown) => e instanceof SysError && e.errno === Errno.AGAIN);
    // The datagrams, in order, from their sender.
    const rings = await again<{ id: number; sab: SharedArrayBuffer }[]>('a', { op: 'inbox', id: inbox });
    const got = rings.flatMap((r) => {
      const ring = new Ring(r.sab);
      const out: string[] = [];
      for (;;) {
        const buf = Buffer.alloc(64);
        const d = takeDatagram(ring, [buf]);
        if (!d) return out;
        out.push(`${buf.subarray(0, d.copied).toString()} from ${d.from.ip}`);
      }
    });
    assert.deepEqual(got, ['one from 10.89.0.3', 'two from 10.89.0.3']);
    // Ports stay taken; new entries get ids never used before.
    const again7000 = (await again<OpenReply>('a', { op: 'open', fd: 8, family: 4, type: 'stream' })).id;
    assert.ok(again7000 > Math.max(...rows.map((r) => r.id)));
    await assert.rejects(again('a', { op: 'bind', id: again7000, addr: v4('0.0.0.0', 7000) }), (e: unknown) => e instanceof SysError && e.errno === Errno.ADDRINUSE);
    // A guest takes back only its own sockets.
    await assert.rejects(again('b', { op: 'reattach', id: accepted.id }), (e: unknown) => e instanceof SysError && e.errno === Errno.BADF);
    after.stop();
  });
});
