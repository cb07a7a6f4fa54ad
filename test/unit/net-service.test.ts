// NetService (src/layer/net/service.ts) with a fake host network: ports are
// released when sockets close or fail, policy denials touch nothing, detach cleans up,
// published host ports listen only while the guest does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/abi/errno.js';
import type { SockAddr } from '../../src/layer/net/address.js';
import type { Bridged, HostNet, HostServer, StreamEvents } from '../../src/layer/net/host-net.js';
import type { OpenReply } from '../../src/layer/net/protocol.js';
import { NetService, type NetDecision } from '../../src/layer/net/service.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish } from '../../src/policy/network.js';

/** A host network that never touches the host: connects are recorded and finished by the test. */
class FakeHost implements HostNet {
  readonly connects: { addr: SockAddr; events: StreamEvents }[] = [];
  connect(addr: SockAddr, _rx: unknown, _tx: unknown, events: StreamEvents): Bridged {
    this.connects.push({ addr, events });
    return { release() {} };
  }
  /** Host ports listening now, and every listen and close in order. */
  readonly listening = new Set<number>();
  readonly log: string[] = [];
  async listen(addr: SockAddr): Promise<HostServer> {
    this.log.push(`listen ${addr.port}`);
    this.listening.add(addr.port);
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
