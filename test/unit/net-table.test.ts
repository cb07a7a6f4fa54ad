// The socket table (src/layer/net/table.ts): never-reused IDs, status changes
// only through the rules of status.ts, the tracer, and the rows `capsule sockets` shows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import { Ring } from '../../src/layer/ring.js';
import { displayStatus, SocketStatus, statusName, type SocketOp } from '../../src/layer/net/status.js';
import { SocketTable, type SocketEntry, type TraceEvent } from '../../src/layer/net/table.js';

const owner = (enclave = 'web', fd = 3) => ({ enclave, fd });
const errno = (e: number) => (err: unknown): boolean => err instanceof SysError && err.errno === e;

describe('SocketTable IDs', () => {
  it('are unique and never reused after remove()', () => {
    const t = new SocketTable();
    const seen = new Set<number>();
    const live: SocketEntry[] = [];
    for (let round = 0; round < 50; round++) {
      const e = t.create(round % 2 ? 'stream' : 'dgram', round % 3 ? 4 : 6, owner('g', round));
      assert.ok(!seen.has(e.id), `id ${e.id} handed out twice`);
      assert.equal(e.local.id, e.id);
      seen.add(e.id);
      live.push(e);
      // Free every other entry at once, so freed IDs would be the lowest ones.
      if (round % 2 === 0) {
        const victim = live.shift()!;
        t.apply(victim, 'close');
        t.remove(victim);
      }
    }
    assert.equal(seen.size, 50);
    assert.equal(t.size, live.length);
  });

  it('get() of a removed id is EBADF; find() returns undefined', () => {
    const t = new SocketTable();
    const e = t.create('stream', 4, owner());
    assert.equal(t.get(e.id), e);
    t.apply(e, 'close');
    t.remove(e);
    assert.throws(() => t.get(e.id), errno(Errno.BADF));
    assert.equal(t.find(e.id), undefined);
    assert.equal(t.size, 0);
  });

  it('a new entry is UNCONNECTED, blocking, TCP or UDP by type, with no addresses or queues', () => {
    const t = new SocketTable();
    const s = t.create('stream', 4, owner());
    const d = t.create('dgram', 6, owner('web', 4));
    assert.equal(displayStatus(s.word), SocketStatus.UNCONNECTED);
    assert.equal(s.local.event.status, s.word);
    assert.equal(s.local.protocol, 'tcp');
    assert.equal(d.local.protocol, 'udp');
    assert.equal(d.local.family, 6);
    assert.equal(s.local.blocking, true);
    assert.equal(s.local.local, undefined);
    assert.equal(s.local.peer, undefined);
    assert.deepEqual(s.remote, { kind: 'none' });
    assert.deepEqual(s.connectionQueue, []);
    assert.equal(s.sendQueue, undefined);
    assert.deepEqual(t.ownedBy('web').map((e) => e.id), [s.id, d.id]);
    assert.deepEqual(t.ownedBy('other'), []);
  });
});

describe('SocketTable.apply()', () => {
  it('moves the status (and the shared event status) as the rules say', () => {
    const t = new SocketTable();
    const e = t.create('stream', 4, owner());
    for (const [op, to] of [['bind', 'BOUND'], ['listen', 'LISTENING'], ['accept', 'LISTENING'], ['close', 'TERMINATED']] as const) {
      t.apply(e, op);
      assert.equal(statusName(displayStatus(e.word)), to, op);
      assert.equal(e.local.event.status, e.word, `${op}: event status`);
    }
  });

  it('throws SysError with the rule\'s errno and leaves the status unchanged', () => {
    const t = new SocketTable();
    const cases: [SocketOp[], SocketOp, number][] = [
      [['bind'], 'bind', Errno.INVAL],
      [['connect'], 'connect', Errno.ALREADY],
      [['connect', 'connected'], 'connect', Errno.ISCONN],
      [[], 'send', Errno.NOTCONN],
      [['connect', 'connected', 'shutdown-write'], 'send', Errno.PIPE],
      [['bind'], 'accept', Errno.INVAL],
      [['bind', 'listen'], 'connect', Errno.INVAL],
    ];
    for (const [setup, op, want] of cases) {
      const e = t.create('stream', 4, owner());
      for (const s of setup) t.apply(e, s);
      const before = e.word;
      assert.throws(() => t.apply(e, op), (err: unknown) => {
        assert.ok(err instanceof SysError, 'not a SysError');
        assert.equal(err.errno, want, `${setup.join(',')} then ${op}`);
        assert.match(err.message, new RegExp(`${op} not allowed while ${statusName(displayStatus(before))}`));
        return true;
      });
      assert.equal(e.word, before, `${op} changed the status`);
      assert.equal(e.local.event.status, before, `${op} changed the event status`);
    }
  });
});

describe('the tracer', () => {
  it('sees every change of the shown status with from, to and op; not refusals or changes nobody sees', () => {
    const seen: string[] = [];
    const t = new SocketTable((_line, ev: TraceEvent) => seen.push(`${ev.entry.id} ${statusName(ev.from)}->${statusName(ev.to)} ${ev.op}`));
    const e = t.create('stream', 4, owner());
    t.apply(e, 'bind');
    t.apply(e, 'listen');
    t.apply(e, 'listen'); // unchanged: not traced
    t.apply(e, 'accept'); // unchanged: not traced
    assert.throws(() => t.apply(e, 'send'));
    assert.equal(t.tryApply(e, 'peer-closed'), false);
    t.apply(e, 'close');
    assert.deepEqual(seen, [
      `${e.id} UNCONNECTED->BOUND bind`,
      `${e.id} BOUND->LISTENING listen`,
      `${e.id} LISTENING->TERMINATED close`,
    ]);
  });

  it('names both ends: the peer entry\'s owner, the host, or the target of a refused connect', () => {
    const lines: string[] = [];
    const t = new SocketTable((line) => lines.push(line));
    const client = t.create('stream', 4, owner('client', 3));
    t.refused(client, 'connect', Errno.CONNREFUSED, 'server 10.89.0.2:7000');
    client.local.local = { family: 4, ip: '10.89.0.3', port: 49152 };
    client.local.peer = { family: 4, ip: '10.89.0.2', port: 7000 };
    const accepted = t.create('stream', 4, owner('server', -1));
    accepted.local.local = client.local.peer;
    accepted.local.peer = client.local.local;
    client.remote = { kind: 'entry', id: accepted.id };
    accepted.remote = { kind: 'entry', id: client.id };
    assert.throws(() => t.apply(client, 'connect', 'connected', 'bind'), errno(Errno.INVAL));
    t.apply(client, 'connect', 'connected');
    t.apply(accepted, 'incoming');
    accepted.local.owner.fd = 4;
    t.apply(client, 'close');
    t.tryApply(accepted, 'peer-closed');
    t.remove(client);
    t.apply(accepted, 'close');
    const host = t.create('stream', 4, owner('client', 5));
    host.local.peer = { family: 4, ip: '10.89.255.254', port: 8080 };
    host.remote = { kind: 'host', address: '127.0.0.1:8080' };
    t.apply(host, 'connect');
    t.tryApply(host, 'connect-failed', Errno.CONNREFUSED);
    const c = client.id, a = accepted.id, h = host.id;
    assert.deepEqual(lines, [
      `socket ${c} client:3 tcp * -> server 10.89.0.2:7000: UNCONNECTED (connect: ECONNREFUSED)`,
      // A connect that completes at once, and a refused series of steps before it, are one line and none.
      `socket ${c} client:3 tcp 10.89.0.3:49152 -> server:- 10.89.0.2:7000: UNCONNECTED -> CONNECTED (connect)`,
      // An accepted connection is connected from birth: no CONNECTING it never had.
      `socket ${a} server:- tcp 10.89.0.2:7000 -> client:3 10.89.0.3:49152: UNCONNECTED -> CONNECTED (incoming)`,
      `socket ${c} client:3 tcp 10.89.0.3:49152 -> server:4 10.89.0.2:7000: CONNECTED -> TERMINATED (close)`,
      `socket ${a} server:4 tcp 10.89.0.2:7000 -> client:3 10.89.0.3:49152: CONNECTED -> DISCONNECTED (peer-closed)`,
      `socket ${a} server:4 tcp 10.89.0.2:7000 -> 10.89.0.3:49152 (closed): DISCONNECTED -> TERMINATED (close)`,
      `socket ${h} client:5 tcp * -> host 10.89.255.254:8080: UNCONNECTED -> CONNECTING (connect)`,
      `socket ${h} client:5 tcp * -> host 10.89.255.254:8080: CONNECTING -> UNCONNECTED (connect-failed: ECONNREFUSED)`,
    ]);
    assert.equal(host.local.event.error, Errno.CONNREFUSED, 'the owner sees why');
  });

  it('a socket without a tracer works the same', () => {
    const t = new SocketTable();
    const e = t.create('dgram', 4, owner());
    t.apply(e, 'connect-datagram');
    assert.equal(displayStatus(e.word), SocketStatus.CONNECTED);
  });
});

describe('rows()', () => {
  it('has one row per entry with every field the table shows', () => {
    const t = new SocketTable();
    const l = t.create('stream', 4, owner('server', 3));
    l.local.local = { family: 4, ip: '0.0.0.0', port: 7000 };
    t.apply(l, 'bind');
    t.apply(l, 'listen');
    const pending = t.create('stream', 4, owner('server', -1));
    l.connectionQueue.push(pending.id);
    const u = t.create('dgram', 6, owner('client', 5));
    const h = t.create('stream', 4, owner('client', 4));
    h.local.local = { family: 4, ip: '10.89.0.3', port: 49152 };
    h.local.peer = { family: 4, ip: '10.89.255.254', port: 8080 };
    h.remote = { kind: 'host', address: '127.0.0.1:8080' };
    t.apply(h, 'connect');

    const rows = t.rows();
    assert.equal(rows.length, 4);
    assert.deepEqual(rows[0], {
      id: l.id, owner: 'server:3', family: 'inet', type: 'stream', protocol: 'tcp', local: '0.0.0.0:7000', remote: '*',
      status: 'LISTENING', sendQueue: 0, receiveQueue: 0, connectionQueue: 1,
    });
    assert.equal(rows[1]!.owner, 'server:-', 'a connection not yet accepted has no descriptor');
    assert.deepEqual(rows[2], {
      id: u.id, owner: 'client:5', family: 'inet6', type: 'dgram', protocol: 'udp', local: '*', remote: '*',
      status: 'UNCONNECTED', sendQueue: 0, receiveQueue: 0, connectionQueue: 0,
    });
    assert.equal(rows[3]!.remote, '10.89.255.254:8080 (host)');
    assert.equal(rows[3]!.local, '10.89.0.3:49152');
    assert.equal(rows[3]!.status, 'CONNECTING');
  });

  it('shows CONNECTED as SENDING with bytes queued, RECEIVING with a reader waiting, and queue sizes', () => {
    const t = new SocketTable();
    const e = t.create('stream', 6, owner());
    e.local.local = { family: 6, ip: '::1', port: 80 };
    e.sendQueue = Ring.create(4096);
    e.receiveQueue = Ring.create(4096);
    t.apply(e, 'connect');
    t.apply(e, 'connected');
    assert.equal(t.rows()[0]!.status, 'CONNECTED');
    assert.equal(t.rows()[0]!.local, '[::1]:80');

    e.receiveQueue.setWaiting(true, true);
    assert.equal(t.rows()[0]!.status, 'RECEIVING');

    e.sendQueue.tryWrite(new Uint8Array(10));
    const row = t.rows()[0]!;
    assert.equal(row.status, 'SENDING');
    assert.equal(row.sendQueue, 10);
    // The table's own status stays CONNECTED: SENDING/RECEIVING are what is observed.
    assert.equal(displayStatus(e.word), SocketStatus.CONNECTED);

    e.sendQueue.tryRead(new Uint8Array(10));
    e.receiveQueue.tryWrite(new Uint8Array(3));
    const after = t.rows()[0]!;
    assert.equal(after.status, 'CONNECTED', 'data waiting to be read is not RECEIVING');
    assert.equal(after.receiveQueue, 3);
    assert.equal(after.sendQueue, 0);
  });
});
