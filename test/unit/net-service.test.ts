// NetService (src/layer/net/service.ts) with a fake host network: ports are
// released when sockets close or fail, policy denials touch nothing, detach cleans up,
// published host ports listen only while the guest does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import type { SockAddr } from '../../src/core/net/address.js';
import type { Bridged, HostNet, HostServer, IncomingConnection, StreamEvents } from '../../src/layer/net/host-net.js';
import type { AcceptReply, ConnectReply, OpenReply, RouteReply } from '../../src/layer/net/protocol.js';
import { NetService, type NetDecision } from '../../src/layer/net/service.js';
import { HostFdLease } from '../../src/layer/net/host-fd.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish } from '../../src/policy/network.js';

/** A bridged stream with nothing behind it (no descriptor lent). */
const inert = (): Bridged => ({ release() {}, hostFd: HostFdLease.create().sab, ownerGone() {} });

/** A host network that never touches the host: connects are recorded and finished by the test. */
class FakeHost implements HostNet {
  readonly connects: { addr: SockAddr; events: StreamEvents }[] = [];
  connect(addr: SockAddr, _rx: unknown, _tx: unknown, events: StreamEvents): Bridged {
    this.connects.push({ addr, events });
    return inert();
  }
  /** Host ports listening now, and every listen and close in order. */
  readonly listening = new Set<number>();
  readonly log: string[] = [];
  /** A client knocking on the next port that listens, as one that connects at just that moment. */
  private knocker: IncomingConnection | undefined;
  knockOnce(): { state: () => string } {
    let state = 'waiting';
    this.knocker = {
      local: v4('127.0.0.1', 0), peer: v4('127.0.0.1', 40000),
      attach: () => { state = 'attached'; return inert(); },
      reject: () => { state = 'reset'; },
    };
    return { state: () => state };
  }
  async listen(addr: SockAddr, _backlog: number, onConnection: (c: IncomingConnection) => void): Promise<HostServer> {
    this.log.push(`listen ${addr.port}`);
    this.listening.add(addr.port);
    const knocker = this.knocker;
    this.knocker = undefined;
    if (knocker) onConnection(knocker);
    return {
      local: addr,
      close: async () => { this.log.push(`close ${addr.port}`); this.listening.delete(addr.port); },
    };
  }
  datagram(): never { throw new Error('not in these tests'); }
  lookup(): never { throw new Error('not in these tests'); }
}

const v4 = (ip: string, port: number): SockAddr => ({ family: 4, ip, port });
const sysErr = (e: number) => (err: unknown): boolean => err instanceof SysError && err.errno === e;

function service(allowConnect: string[] = [], decisions: NetDecision[] = [], publish: string[] = []) {
  const host = new FakeHost();
  const svc = new NetService({
    mode: 'secure', host, onDecision: (d) => decisions.push(d),
    policy: { ...emptyNetworkPolicy(), allowConnect: allowConnect.map(parseConnectGrant), publish: publish.map((p) => parsePublish(p)) },
  });
  svc.attach('g', new SharedArrayBuffer(64));
  let fd = 3;
  const open = (): number => (svc.handle('g', { op: 'open', fd: fd++, family: 4, type: 'stream' }) as OpenReply).id;
  const call = async (req: Parameters<NetService['handle']>[1]): Promise<unknown> => await svc.handle('g', req);
  return { svc, host, open, call };
}

describe('NetService: ports', () => {
  it('closing a bound socket frees its port', async () => {
    const { svc, open, call } = service();
    const a = open();
    await call({ op: 'bind', id: a, addr: v4('0.0.0.0', 5555) });
    await assert.rejects(call({ op: 'bind', id: open(), addr: v4('0.0.0.0', 5555) }), sysErr(Errno.ADDRINUSE));
    await call({ op: 'close', id: a });
    await call({ op: 'bind', id: open(), addr: v4('0.0.0.0', 5555) });
    svc.stop();
  });

  it('a bound socket whose host connect fails is still bound: bind again is EINVAL', { }, async () => {
    const { svc, host, open, call } = service(['127.0.0.1:9']);
    const a = open();
    await call({ op: 'bind', id: a, addr: v4('0.0.0.0', 5555) });
    await call({ op: 'connect', id: a, addr: v4('10.89.255.254', 9) });
    host.connects[0]!.events.failed(Errno.CONNREFUSED);
    assert.equal(svc.table.rows()[0]!.status, 'BOUND');
    await assert.rejects(call({ op: 'bind', id: a, addr: v4('0.0.0.0', 6666) }), sysErr(Errno.INVAL));
    svc.stop();
  });

  it('a socket that failed to connect after bind frees its first port when closed', { }, async () => {
    const { svc, host, open, call } = service(['127.0.0.1:9']);
    const a = open();
    await call({ op: 'bind', id: a, addr: v4('0.0.0.0', 5555) });
    await call({ op: 'connect', id: a, addr: v4('10.89.255.254', 9) });
    host.connects[0]!.events.failed(Errno.CONNREFUSED);
    await call({ op: 'bind', id: a, addr: v4('0.0.0.0', 6666) }).catch(() => {});
    await call({ op: 'close', id: a });
    await call({ op: 'bind', id: open(), addr: v4('0.0.0.0', 5555) });
    svc.stop();
  });
});

describe('NetService: policy', () => {
  it('a denied connect is EACCES, reaches no host, leaves the socket as it was, and is reported', async () => {
    const decisions: NetDecision[] = [];
    const { svc, host, open, call } = service(['127.0.0.1:80'], decisions);
    const a = open();
    await assert.rejects(call({ op: 'connect', id: a, addr: v4('10.89.255.254', 81) }), sysErr(Errno.ACCES));
    await assert.rejects(call({ op: 'connect', id: a, addr: v4('8.8.8.8', 53) }), sysErr(Errno.ACCES));
    assert.equal(host.connects.length, 0);
    assert.equal(svc.table.rows()[0]!.status, 'UNCONNECTED');
    assert.equal(svc.table.rows()[0]!.remote, '*');
    const denials = decisions.filter((d) => d.op === 'connect');
    assert.equal(denials.length, 2);
    assert.match(denials[0]!.reason, /--allow-connect 127\.0\.0\.1:81/, 'the gateway is the host\'s loopback');
    assert.match(denials[1]!.reason, /--allow-connect 8\.8\.8\.8:53/);
    // The same socket may still connect where it is allowed.
    await call({ op: 'connect', id: a, addr: v4('10.89.255.254', 80) });
    assert.deepEqual(host.connects.map((c) => c.addr), [v4('127.0.0.1', 80)]);
    svc.stop();
  });
});

describe('NetService: a guest that goes away', () => {
  it('detach() closes its sockets, including connections still waiting to be accepted', async () => {
    const { svc, open, call } = service();
    const l = open();
    await call({ op: 'bind', id: l, addr: v4('127.0.0.1', 7000) });
    await call({ op: 'listen', id: l, backlog: 4 });
    for (let i = 0; i < 2; i++) await call({ op: 'connect', id: open(), addr: v4('127.0.0.1', 7000) });
    assert.equal(svc.table.size, 5, 'a listener, two clients and two pending connections');
    assert.equal(svc.table.rows()[0]!.connectionQueue, 2);
    svc.detach('g');
    assert.equal(svc.table.size, 0);
    assert.deepEqual(svc.table.rows(), []);
    svc.stop();
  });
});

describe('NetService: listen backlogs', () => {
  it('a negative backlog is the maximum, as on Linux (listen(fd, -1)); 0 still lets one connection wait', async () => {
    const { svc, open, call } = service();
    const l = open();
    await call({ op: 'bind', id: l, addr: v4('127.0.0.1', 7000) });
    await call({ op: 'listen', id: l, backlog: -1 });
    for (let i = 0; i < 20; i++) await call({ op: 'connect', id: open(), addr: v4('127.0.0.1', 7000) });
    assert.equal(svc.table.rows()[0]!.connectionQueue, 20);
    const z = open();
    await call({ op: 'bind', id: z, addr: v4('127.0.0.1', 7001) });
    await call({ op: 'listen', id: z, backlog: 0 });
    await call({ op: 'connect', id: open(), addr: v4('127.0.0.1', 7001) });
    await assert.rejects(call({ op: 'connect', id: open(), addr: v4('127.0.0.1', 7001) }), sysErr(Errno.CONNREFUSED));
    svc.stop();
  });
});

describe('NetService: --publish', () => {
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('checks the host port at start, then listens on it only while the guest listens on the published port', async () => {
    const { svc, host, open, call } = service([], [], ['8080:7000', '8081:7001']);
    await svc.start();
    assert.deepEqual(host.log, ['listen 8080', 'close 8080', 'listen 8081', 'close 8081'], 'checked, then let go');
    assert.deepEqual([...host.listening], []);
    const other = open();
    await call({ op: 'listen', id: other, backlog: 4 });
    assert.deepEqual([...host.listening], [], 'a listener on an ephemeral port publishes nothing');
    const l = open();
    await call({ op: 'bind', id: l, addr: v4('0.0.0.0', 7000) });
    await call({ op: 'listen', id: l, backlog: 4 });
    assert.deepEqual([...host.listening], [8080], 'listening on the host by the time the guest\'s listen returns');
    await call({ op: 'close', id: l });
    await settle();
    assert.deepEqual([...host.listening], [], 'refused again once the guest stops listening');
    const again = open();
    await call({ op: 'bind', id: again, addr: v4('127.0.0.1', 7000) });
    await call({ op: 'listen', id: again, backlog: 4 });
    assert.deepEqual([...host.listening], [], 'a listener on the guest\'s loopback only is not published');
    svc.stop();
  });

  it('listening, closing and listening again opens and closes the host port each time, one listener at a time', async () => {
    const { svc, host, open, call } = service([], [], ['8080:7000']);
    await svc.start();
    host.log.length = 0;
    for (let round = 0; round < 3; round++) {
      const l = open();
      await call({ op: 'bind', id: l, addr: v4('0.0.0.0', 7000) });
      await call({ op: 'listen', id: l, backlog: 4 });
      await call({ op: 'close', id: l });
    }
    await settle();
    assert.deepEqual(host.log, ['listen 8080', 'close 8080', 'listen 8080', 'close 8080', 'listen 8080', 'close 8080']);
    svc.stop();
  });
});

describe('NetService: --publish, a client at the start check', () => {
  it('is held, not reset, and reaches the guest once it listens', async () => {
    const { svc, host, open, call } = service([], [], ['8080:7000']);
    const client = host.knockOnce();
    await svc.start();
    assert.equal(client.state(), 'waiting', 'accepted by the start check, but neither reset nor served yet');
    const l = open();
    await call({ op: 'bind', id: l, addr: v4('0.0.0.0', 7000) });
    await call({ op: 'listen', id: l, backlog: 4 });
    assert.equal(client.state(), 'attached');
    const a = await call({ op: 'accept', id: l, fd: 9 }) as AcceptReply;
    assert.ok(a.id > 0);
    svc.stop();
  });

  it('is reset only when the layer stops with the guest never listening', async () => {
    const { svc, host } = service([], [], ['8080:7000']);
    const client = host.knockOnce();
    await svc.start();
    assert.equal(client.state(), 'waiting');
    svc.stop();
    assert.equal(client.state(), 'reset');
  });
});

describe('NetService: queues of closed streams', () => {
  /** A connection from guest g to its own listener on `port`, accepted: the queues both ends got. */
  async function connected(s: ReturnType<typeof service>, port: number) {
    const l = s.open();
    await s.call({ op: 'bind', id: l, addr: v4('0.0.0.0', port) });
    await s.call({ op: 'listen', id: l, backlog: 4 });
    const c = s.open();
    const r = await s.call({ op: 'connect', id: c, addr: v4('127.0.0.1', port) }) as ConnectReply;
    const a = await s.call({ op: 'accept', id: l, fd: 99 }) as AcceptReply;
    return { l, c, a: a.id, sabs: [r.ends!.rx, r.ends!.tx] };
  }

  it('are reused only once both ends are closed, and never after the layer stops', async () => {
    const s = service();
    const first = await connected(s, 6001);
    await s.call({ op: 'close', id: first.c });
    // One end still open: its guest may still read what is queued.
    const second = await connected(s, 6002);
    assert.ok(second.sabs.every((x) => !first.sabs.includes(x)));
    await s.call({ op: 'close', id: first.a });
    const third = await connected(s, 6003);
    assert.deepEqual(new Set(third.sabs), new Set(first.sabs));
    // A reused queue starts empty, with no flags.
    for (const sab of third.sabs) assert.ok(new Int32Array(sab, 0, 8).every((w) => w === 0));
    await s.call({ op: 'close', id: second.c });
    await s.call({ op: 'close', id: second.a });
    // Stopping closes sockets whose guests may still run: nothing is handed out again.
    s.svc.stop();
    const after = await connected(s, 6004);
    assert.ok(after.sabs.every((x) => !second.sabs.includes(x) && !third.sabs.includes(x)));
  });

  it('a datagram socket\'s queues honour the layer\'s queue size', async () => {
    const host = new FakeHost();
    const svc = new NetService({ mode: 'secure', host, policy: emptyNetworkPolicy(), maxQueueBytes: 4096 });
    svc.attach('a', new SharedArrayBuffer(64));
    svc.attach('b', new SharedArrayBuffer(64));
    const sink = (svc.handle('a', { op: 'open', fd: 3, family: 4, type: 'dgram' }) as OpenReply).id;
    await svc.handle('a', { op: 'bind', id: sink, addr: v4('0.0.0.0', 6100) });
    const from = (svc.handle('b', { op: 'open', fd: 3, family: 4, type: 'dgram' }) as OpenReply).id;
    const to = svc.vnet.host('a')!.v4;
    const r = await svc.handle('b', { op: 'route', id: from, addr: v4(to, 6100) }) as RouteReply;
    assert.equal(r.kind, 'queue');
    // 4 KiB of data after the ring's 32-byte header.
    assert.equal((r as { queue: SharedArrayBuffer }).queue.byteLength, 4096 + 32);
    svc.stop();
  });
});

describe('NetService: connections waiting in a backlog', () => {
  it('count against the guest that made them once it closed its end, not the listener\'s owner', async () => {
    const host = new FakeHost();
    const decisions: NetDecision[] = [];
    const svc = new NetService({ mode: 'secure', host, policy: emptyNetworkPolicy(), maxSockets: 3, onDecision: (d) => decisions.push(d) });
    svc.attach('victim', new SharedArrayBuffer(64));
    svc.attach('thief', new SharedArrayBuffer(64));
    const open = (g: string): number => (svc.handle(g, { op: 'open', fd: 3, family: 4, type: 'stream' }) as OpenReply).id;
    const l = open('victim');
    await svc.handle('victim', { op: 'listen', id: l, backlog: 8 });
    const at = v4(svc.vnet.host('victim')!.v4, (svc.table.get(l).local.local!).port);
    for (let i = 0; i < 3; i++) {
      const c = open('thief');
      await svc.handle('thief', { op: 'connect', id: c, addr: at });
      await svc.handle('thief', { op: 'close', id: c });
    }
    assert.throws(() => open('thief'), sysErr(Errno.NFILE));
    // The victim's quota is its own: two more sockets fit beside its listener.
    open('victim');
    const last = open('victim');
    // Accepting would make a fourth: refused, and the connection keeps waiting.
    assert.throws(() => svc.handle('victim', { op: 'accept', id: l, fd: 9 }), sysErr(Errno.NFILE));
    assert.equal(svc.table.get(l).connectionQueue.length, 3);
    await svc.handle('victim', { op: 'close', id: last });
    svc.handle('victim', { op: 'accept', id: l, fd: 9 });
    // The thief got one back.
    open('thief');
    assert.ok(decisions.some((d) => d.enclave === 'victim' && d.op === 'accept' && d.decision === 'limit'));
    svc.stop();
  });
});
