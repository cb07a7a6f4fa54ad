// Address classification (src/layer/net/ranges.ts) and canonical forms
// (src/layer/net/address.ts): every special range is non-public, and every
// IPv6 form that carries an IPv4 address is judged by, or becomes, that address.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalDestination, canonicalIp, rangeOf } from '../../src/core/net/address.js';
import { embeddedIpv4 } from '../../src/core/net/ranges.js';
import { ipaddr } from '../../src/core/net/ipaddr.js';

describe('canonicalIp(): IPv6 forms that embed the IPv4 address they lead to', () => {
  const cases: [string, string][] = [
    ['::ffff:169.254.169.254', '169.254.169.254'], ['::ffff:a9fe:a9fe', '169.254.169.254'], ['::FFFF:A9FE:A9FE', '169.254.169.254'],
    ['::a9fe:a9fe', '169.254.169.254'], ['::169.254.169.254', '169.254.169.254'], ['0:0:0:0:0:0:a9fe:a9fe', '169.254.169.254'],
    ['::7f00:1', '127.0.0.1'], ['::a00:1', '10.0.0.1'], ['::a59:fffe', '10.89.255.254'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'], ['64:ff9b::7f00:1', '127.0.0.1'], ['64:ff9b::8.8.8.8', '8.8.8.8'],
    ['::ffff:0:a9fe:a9fe', '169.254.169.254'], ['::ffff:0:7f00:1', '127.0.0.1'], ['[::a9fe:a9fe]', '169.254.169.254'],
    ['::2', '0.0.0.2'],
  ];
  for (const [text, ip] of cases) it(`${text} is ${ip}`, () => assert.deepEqual(canonicalIp(text), { family: 4, ip }));

  for (const text of ['::', '::1', '64:ff9b:1::a9fe:a9fe', '2002:a9fe:a9fe::1', 'fd89::2', '::1:0:0:1', '64:ff9b::1:0:0:1']) {
    it(`${text} stays IPv6`, () => assert.equal(canonicalIp(text)?.family, 6));
  }

  it('the gateway, in any spelling, is the host\'s loopback as a destination', () => {
    for (const s of ['10.89.255.254', '::ffff:10.89.255.254', '::a59:fffe', '64:ff9b::a59:fffe', '173670398', '0x0a.0x59.0xff.0xfe']) {
      assert.deepEqual(canonicalDestination(s), { family: 4, ip: '127.0.0.1' }, s);
    }
    assert.deepEqual(canonicalDestination('10.89.0.2'), { family: 4, ip: '10.89.0.2' });
  });
});

describe('rangeOf(): special ranges', () => {
  const special: [string, string][] = [
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['10.0.0.1', 'private'], ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'], ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'], ['169.254.169.254', 'linkLocal'],
    ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.0.0.8', 'ietfProtocol'], ['192.0.0.170', 'ietfProtocol'],
    ['192.0.2.1', 'documentation'], ['192.88.99.1', 'reserved'], ['192.168.1.1', 'private'], ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'], ['198.51.100.7', 'documentation'], ['203.0.113.5', 'documentation'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'], ['240.0.0.1', 'reserved'], ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'], ['::1', 'loopback'], ['fc00::1', 'uniqueLocal'], ['fd89::2', 'uniqueLocal'], ['fe80::1', 'linkLocal'],
    ['febf::1', 'linkLocal'], ['fec0::1', 'siteLocal'], ['feff::1', 'siteLocal'], ['ff02::1', 'multicast'], ['ff0e::1', 'multicast'],
    ['2001:db8::1', 'documentation'], ['3fff::1', 'documentation'], ['100::1', 'discard'], ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'orchid'], ['2001:20::1', 'orchid'], ['2001:100::1', 'ietfProtocol'], ['64:ff9b:1::1', 'nat64'],
    ['::1:0:0:1', 'reserved'], ['5f00::1', 'reserved'], ['4000::1', 'reserved'], ['e000::1', 'reserved'],
    // Embedded IPv4: canonical forms, and 6to4 and Teredo by what they carry.
    ['::a9fe:a9fe', 'linkLocal'], ['::7f00:1', 'loopback'], ['::a00:1', 'private'], ['64:ff9b::a9fe:a9fe', 'linkLocal'],
    ['::ffff:0:a00:1', 'private'], ['2002:a9fe:a9fe::1', 'linkLocal'], ['2002:a00:1::', 'private'], ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::1', 'private'], ['2001:0:808:808::f5ff:fffe', 'private'], ['2001:0:a00:1::f7f7:f7f7', 'private'],
    ['2001:0:808:808::5601:5601', 'linkLocal'],
  ];
  for (const [ip, range] of special) it(`${ip} is ${range}`, () => assert.equal(rangeOf(ip), range));

  for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.0', '172.32.0.1', '192.0.1.1', '198.20.0.1',
    '223.255.255.255', '2001:4860:4860::8888', '2606:4700::1111', '2002:808:808::1', '2001:0:808:808::f7f7:f7f7', '2001:200::1',
    '64:ff9b::808:808', '::ffff:8.8.8.8']) {
    it(`${ip} is public`, () => assert.equal(rangeOf(ip), 'public'));
  }
});

describe('embeddedIpv4()', () => {
  const of = (ip: string): string[] => embeddedIpv4(ipaddr().parse(ip).toByteArray());
  it('finds 6to4\'s address, Teredo\'s server and de-obfuscated client, and NAT64 local-use at each prefix length', () => {
    assert.deepEqual(of('2002:a9fe:a9fe::1'), ['169.254.169.254']);
    assert.deepEqual(of('2001:0:4136:e378:8000:63bf:3fff:fdd2'), ['65.54.227.120', '192.0.2.45']);
    assert.deepEqual(of('64:ff9b:1:a9fe:a9:fea9:fe00:0'), ['169.254.169.254', '254.169.254.169', '169.254.169.254', '254.0.0.0']);
    assert.deepEqual(of('2001:4860:4860::8888'), []);
    assert.deepEqual(of('fd89::2'), []);
  });
});
