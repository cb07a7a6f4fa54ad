// The virtual network (src/layer/net/vnet.ts): guest addresses and names,
// where an address leads, per-guest port spaces, bind conflicts, ephemeral ports.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import type { Family, SockAddr } from '../../src/core/net/address.js';
import { VirtualNetwork } from '../../src/layer/net/vnet.js';

const inUse = (err: unknown): boolean => err instanceof SysError && err.errno === Errno.ADDRINUSE;
const at = (family: Family, ip: string, port: number): SockAddr => ({ family, ip, port });

function net(...names: string[]): VirtualNetwork {
  const v = new VirtualNetwork();
  for (const n of names) v.addGuest(n);
  return v;
}

describe('guests and addresses', () => {
  it('each guest gets 10.89.0.N and fd89::N, counting from 2', () => {
    const v = net('web', 'db', 'cache');
    assert.deepEqual(v.host('web'), { name: 'web', v4: '10.89.0.2', v6: 'fd89::2' });
    assert.deepEqual(v.host('db'), { name: 'db', v4: '10.89.0.3', v6: 'fd89::3' });
    assert.deepEqual(v.host('cache'), { name: 'cache', v4: '10.89.0.4', v6: 'fd89::4' });
    assert.deepEqual(v.guests().map((g) => g.name), ['web', 'db', 'cache']);
    assert.equal(v.host('nobody'), undefined);
  });

  it('the 15th guest is 10.89.0.16 and fd89::10 (the IPv6 suffix is hexadecimal)', () => {
    const v = net(...Array.from({ length: 15 }, (_, i) => `g${i}`));
    assert.deepEqual(v.host('g14'), { name: 'g14', v4: '10.89.0.16', v6: 'fd89::10' });
  });

  it('a name used twice is refused', () => {
    const v = net('web');
    assert.throws(() => v.addGuest('web'), /'web' is used twice/);
  });
});

describe('lookupName()', () => {
  const v = net('web', 'db');
  it('finds guest names (case-insensitively, with a trailing dot) with both addresses', () => {
    const want = [at(4, '10.89.0.3', 0), at(6, 'fd89::3', 0)];
    assert.deepEqual(v.lookupName('db', 'web'), want);
    assert.deepEqual(v.lookupName('DB', 'web'), want);
    assert.deepEqual(v.lookupName('db.', 'web'), want);
    assert.deepEqual(v.lookupName('web', 'web'), [at(4, '10.89.0.2', 0), at(6, 'fd89::2', 0)], 'a guest finds itself');
  });

  it('"localhost" is loopback, for every guest', () => {
    const want = [at(4, '127.0.0.1', 0), at(6, '::1', 0)];
    assert.deepEqual(v.lookupName('localhost', 'web'), want);
    assert.deepEqual(v.lookupName('LocalHost.', 'db'), want);
  });

  it('unknown names are not on this network (undefined: ask the policy)', () => {
    assert.equal(v.lookupName('example.com', 'web'), undefined);
    assert.equal(v.lookupName('webx', 'web'), undefined);
    assert.equal(v.lookupName('', 'web'), undefined);
  });

  it('a guest whose name has capitals is found by its own name', { }, () => {
    const w = net('Web');
    assert.deepEqual(w.lookupName('Web', 'Web'), [at(4, '10.89.0.2', 0), at(6, 'fd89::2', 0)]);
  });
});

describe('destination()', () => {
  const v = net('web', 'db');
  it('loopback and the unspecified address are the guest itself, in any spelling', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '127.1', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1', '0x7f.0.0.1']) {
      assert.deepEqual(v.destination('db', ip), { kind: 'guest', guest: 'db' }, ip);
    }
  });

  it('a guest\'s own addresses lead to itself; another guest\'s to that guest', () => {
    assert.deepEqual(v.destination('web', '10.89.0.2'), { kind: 'guest', guest: 'web' });
    assert.deepEqual(v.destination('web', '10.89.0.3'), { kind: 'guest', guest: 'db' });
    assert.deepEqual(v.destination('web', 'fd89::3'), { kind: 'guest', guest: 'db' });
    assert.deepEqual(v.destination('web', 'fd89:0:0:0:0:0:0:3'), { kind: 'guest', guest: 'db' });
    assert.deepEqual(v.destination('web', '::ffff:10.89.0.3'), { kind: 'guest', guest: 'db' });
  });

  it('everything else is outside: public, host gateway, unused guest addresses, garbage', () => {
    for (const ip of ['8.8.8.8', '10.89.255.254', '10.89.0.9', 'fd89::9', '192.168.1.1', 'not an ip', '']) {
      assert.deepEqual(v.destination('web', ip), { kind: 'outside' }, ip);
    }
  });

  it('isOwnAddress(): loopback, unspecified and its own addresses only', () => {
    for (const ip of ['127.0.0.1', '::1', '0.0.0.0', '::', '10.89.0.2', 'fd89::2']) assert.ok(v.isOwnAddress('web', ip), ip);
    for (const ip of ['10.89.0.3', 'fd89::3', '8.8.8.8', 'junk']) assert.ok(!v.isOwnAddress('web', ip), ip);
  });

  it('sourceFor(): loopback toward loopback, else the guest\'s own address', () => {
    assert.equal(v.sourceFor('db', 4, true), '127.0.0.1');
    assert.equal(v.sourceFor('db', 6, true), '::1');
    assert.equal(v.sourceFor('db', 4, false), '10.89.0.3');
    assert.equal(v.sourceFor('db', 6, false), 'fd89::3');
  });
});

describe('bind()', () => {
  it('the same port twice is EADDRINUSE; after unbind it is free again', () => {
    const v = net('web');
    assert.deepEqual(v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 1), at(4, '0.0.0.0', 80));
    assert.throws(() => v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 2), inUse);
    v.unbind('web', 'tcp', 80, 1);
    assert.doesNotThrow(() => v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 3));
  });

  it('a wildcard conflicts with a specific address of the same family, both ways', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(4, '127.0.0.1', 80), false, 1);
    assert.throws(() => v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 2), inUse);
    v.bind('web', 'tcp', at(4, '0.0.0.0', 81), false, 3);
    assert.throws(() => v.bind('web', 'tcp', at(4, '10.89.0.2', 81), false, 4), inUse);
  });

  it('two different specific addresses on one port do not conflict', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(4, '127.0.0.1', 80), false, 1);
    assert.doesNotThrow(() => v.bind('web', 'tcp', at(4, '10.89.0.2', 80), false, 2));
    assert.doesNotThrow(() => v.bind('web', 'tcp', at(6, '::1', 80), false, 3));
  });

  it('a dual-stack IPv6 wildcard covers IPv4; a v6only one does not', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(6, '::', 80), false, 1);
    assert.throws(() => v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 2), inUse);
    assert.throws(() => v.bind('web', 'tcp', at(4, '127.0.0.1', 80), false, 3), inUse);
    v.bind('web', 'tcp', at(4, '0.0.0.0', 81), false, 4);
    assert.throws(() => v.bind('web', 'tcp', at(6, '::', 81), false, 5), inUse, 'dual-stack after an IPv4 wildcard');

    v.bind('web', 'tcp', at(6, '::', 90), true, 6);
    assert.doesNotThrow(() => v.bind('web', 'tcp', at(4, '0.0.0.0', 90), false, 7));
    v.bind('web', 'tcp', at(4, '0.0.0.0', 91), false, 8);
    assert.doesNotThrow(() => v.bind('web', 'tcp', at(6, '::', 91), true, 9));
  });

  it('an IPv4 wildcard does not cover a specific IPv6 address', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 1);
    assert.doesNotThrow(() => v.bind('web', 'tcp', at(6, '::1', 80), false, 2));
  });

  it('TCP and UDP, and each guest, have port spaces of their own', () => {
    const v = net('web', 'db');
    v.bind('web', 'tcp', at(4, '0.0.0.0', 5000), false, 1);
    assert.doesNotThrow(() => v.bind('web', 'udp', at(4, '0.0.0.0', 5000), false, 2));
    assert.doesNotThrow(() => v.bind('db', 'tcp', at(4, '0.0.0.0', 5000), false, 3));
    assert.doesNotThrow(() => v.bind('db', 'udp', at(4, '0.0.0.0', 5000), false, 4));
    assert.throws(() => v.bind('db', 'tcp', at(4, '0.0.0.0', 5000), false, 5), inUse);
  });

  it('port 0 takes ephemeral ports from 49152 up, skipping ports in use, per guest', () => {
    const v = net('web', 'db');
    v.bind('web', 'tcp', at(4, '0.0.0.0', 49153), false, 1);
    const a = v.bind('web', 'tcp', at(4, '0.0.0.0', 0), false, 2);
    const b = v.bind('web', 'tcp', at(4, '0.0.0.0', 0), false, 3);
    assert.equal(a.port, 49152);
    assert.equal(b.port, 49154, '49153 is taken');
    assert.equal(v.bind('db', 'tcp', at(4, '0.0.0.0', 0), false, 4).port, 49152, 'another guest starts afresh');
    assert.equal(v.bind('web', 'udp', at(4, '0.0.0.0', 0), false, 5).port, 49152, 'UDP has its own ports');
    const ports = new Set<number>();
    for (let i = 0; i < 100; i++) ports.add(v.bind('web', 'tcp', at(4, '0.0.0.0', 0), false, 100 + i).port);
    assert.equal(ports.size, 100);
    for (const p of ports) assert.ok(p >= 49152 && p <= 65535, `ephemeral port ${p}`);
  });
});

describe('find()', () => {
  const any = (): boolean => true;
  it('finds an exact address beside a wildcard of the other family on the same port', () => {
    // Same-family wildcard and exact bindings conflict (no SO_REUSEADDR), so this is where both meet.
    const v = net('web');
    v.bind('web', 'tcp', at(6, '::', 80), true, 1);
    v.bind('web', 'tcp', at(4, '127.0.0.1', 80), false, 2);
    assert.equal(v.find('web', 'tcp', 4, '127.0.0.1', 80, any), 2);
    assert.equal(v.find('web', 'tcp', 6, 'fd89::2', 80, any), 1);
    assert.equal(v.find('web', 'tcp', 6, '::1', 80, any), 1);
    assert.equal(v.find('web', 'tcp', 4, '10.89.0.2', 80, any), undefined, 'no IPv4 binding for that address');
  });

  it('a dual-stack IPv6 wildcard receives IPv4; a v6only one does not', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(6, '::', 80), false, 1);
    v.bind('web', 'tcp', at(6, '::', 81), true, 2);
    assert.equal(v.find('web', 'tcp', 4, '10.89.0.2', 80, any), 1);
    assert.equal(v.find('web', 'tcp', 4, '10.89.0.2', 81, any), undefined);
    assert.equal(v.find('web', 'tcp', 6, '::1', 81, any), 2);
  });

  it('an IPv4 wildcard does not receive IPv6', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 1);
    assert.equal(v.find('web', 'tcp', 6, 'fd89::2', 80, any), undefined);
    assert.equal(v.find('web', 'tcp', 4, '127.0.0.1', 80, any), 1);
  });

  it('only in the guest, protocol and port asked; the filter can skip bindings', () => {
    const v = net('web', 'db');
    v.bind('web', 'tcp', at(4, '0.0.0.0', 80), false, 1);
    assert.equal(v.find('db', 'tcp', 4, '10.89.0.3', 80, any), undefined);
    assert.equal(v.find('web', 'udp', 4, '10.89.0.2', 80, any), undefined);
    assert.equal(v.find('web', 'tcp', 4, '10.89.0.2', 81, any), undefined);
    assert.equal(v.find('web', 'tcp', 4, '10.89.0.2', 80, (id) => id !== 1), undefined);
    assert.equal(v.find('web', 'tcp', 4, 'garbage', 80, any), undefined);
  });

  it('an address spelled differently finds the same binding', () => {
    const v = net('web');
    v.bind('web', 'tcp', at(4, '127.0.0.1', 80), false, 7);
    assert.equal(v.find('web', 'tcp', 4, '127.000.000.001', 80, any), 7);
    assert.equal(v.find('web', 'tcp', 6, '::ffff:127.0.0.1', 80, any), 7);
  });
});
