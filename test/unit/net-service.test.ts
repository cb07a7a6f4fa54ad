// NetService (src/layer/net/service.ts) with a fake host network: ports are
// released when sockets close or fail, policy denials touch nothing, detach cleans up.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/abi/errno.js';
import type { SockAddr } from '../../src/layer/net/address.js';
import type { Bridged, HostNet, StreamEvents } from '../../src/layer/net/host-net.js';
import type { OpenReply } from '../../src/layer/net/protocol.js';
import { NetService, type NetDecision } from '../../src/layer/net/service.js';
import { emptyNetworkPolicy, parseConnectGrant } from '../../src/policy/network.js';

/** A host network that never touches the host: connects are recorded and finished by the test. */
class FakeHost implements HostNet {
  readonly connects: { addr: SockAddr; events: StreamEvents }[] = [];
  connect(addr: SockAddr, _rx: unknown, _tx: unknown, events: StreamEvents): Bridged {
    this.connects.push({ addr, events });
    return { release() {} };
  }
  listen(): never { throw new Error('not in these tests'); }
  datagram(): never { throw new Error('not in these tests'); }
  lookup(): never { throw new Error('not in these tests'); }
}

const v4 = (ip: string, port: number): SockAddr => ({ family: 4, ip, port });
const sysErr = (e: number) => (err: unknown): boolean => err instanceof SysError && err.errno === e;

function service(allowConnect: string[] = [], decisions: NetDecision[] = []) {
  const host = new FakeHost();
  const svc = new NetService({
    mode: 'secure', host, onDecision: (d) => decisions.push(d),
    policy: { ...emptyNetworkPolicy(), allowConnect: allowConnect.map(parseConnectGrant) },
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
