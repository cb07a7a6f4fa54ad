// Network grants (src/policy/network.ts): parsing --allow-connect and --publish,
// and the connect/resolve decisions, with addresses compared canonically.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideConnect, decideResolve, emptyNetworkPolicy, hostLoopbackGrant, parseConnectGrant, parsePublish, PolicyError, type NetworkPolicy,
} from '../../src/policy/network.js';

function policy(allow: string[] = [], deny: string[] = [], allowDns = false): NetworkPolicy {
  return { ...emptyNetworkPolicy(), allowConnect: allow.map(parseConnectGrant), denyConnect: deny.map(parseConnectGrant), allowDns };
}
const noNames = (): string[] => [];
const rejects = (spec: string, parse: (s: string) => unknown) => () =>
  assert.throws(() => parse(spec), (err: unknown) => {
    assert.ok(err instanceof PolicyError, `${spec}: not a PolicyError`);
    assert.ok(err.message.includes(`'${spec}'`), `message does not name '${spec}': ${err.message}`);
    return true;
  });

describe('parseConnectGrant()', () => {
  it('accepts names, addresses, CIDR blocks, bracketed IPv6, ports, ranges and *', () => {
    const g = (s: string) => { const x = parseConnectGrant(s); return [x.hosts[0]!.kind, x.hosts[0]!.value, x.hosts[0]!.prefix, x.ports]; };
    assert.deepEqual(g('api.example.com:443'), ['name', 'api.example.com', 0, [443, 443]]);
    assert.deepEqual(g('API.Example.COM.:443'), ['name', 'api.example.com', 0, [443, 443]]);
    assert.deepEqual(g('1.2.3.4:8000-8080'), ['ip', '1.2.3.4', 32, [8000, 8080]]);
    assert.deepEqual(g('10.0.0.0/8:*'), ['cidr', '10.0.0.0', 8, [0, 65535]]);
    assert.deepEqual(g('[::1]:8080'), ['ip', '::1', 128, [8080, 8080]]);
    assert.deepEqual(g('[fd00::]/8:*'), ['cidr', 'fd00::', 8, [0, 65535]]);
    assert.deepEqual(g('0x7f.1:22'), ['ip', '127.0.0.1', 32, [22, 22]]);
    assert.deepEqual(g('[::ffff:a9fe:a9fe]:80'), ['ip', '169.254.169.254', 32, [80, 80]]);
    assert.deepEqual(g('[::1.2.3.4]:80'), ['ip', '1.2.3.4', 32, [80, 80]]);
    assert.deepEqual(g('[fe80::]/10:*'), ['cidr', 'fe80::', 10, [0, 65535]]);
    assert.equal(parseConnectGrant('db:5432').text, 'db:5432');
  });

  for (const bad of ['nohost', ':80', 'host:', 'host:abc', 'host:70000', 'host:90-80', 'host:1-99999', '1.2.3.4/33:80',
    '10.0.0.0/x:80', 'bad host!:80', '-dash.com:80', '[::1]/200:80', 'a..b:80']) {
    it(`rejects '${bad}' with a message naming it`, rejects(bad, parseConnectGrant));
  }
});

describe('parseConnectGrant(): every host is made canonical', () => {
  const hosts = (s: string) => parseConnectGrant(s).hosts.map((h) => `${h.kind} ${h.value}/${h.prefix}`);
  const cases: [string, string[]][] = [
    ['host.capsule.internal:5432', ['ip 127.0.0.1/32']],
    ['HOST.Capsule.Internal.:5432', ['ip 127.0.0.1/32']],
    ['10.89.255.254:5432', ['ip 127.0.0.1/32']],
    ['[::ffff:10.89.255.254]:5432', ['ip 127.0.0.1/32']],
    ['[::a59:fffe]:5432', ['ip 127.0.0.1/32']],
    ['[64:ff9b::a59:fffe]:5432', ['ip 127.0.0.1/32']],
    ['localhost:5432', ['ip 127.0.0.1/32', 'ip ::1/128']],
    ['[::ffff:0:0]/96:*', ['cidr ::ffff:0:0/96', 'cidr 0.0.0.0/0']],
    ['[::ffff:a9fe:0]/112:*', ['cidr ::ffff:a9fe:0/112', 'cidr 169.254.0.0/16']],
    ['[64:ff9b::]/96:*', ['cidr 64:ff9b::/96', 'cidr 0.0.0.0/0']],
    ['[::]/0:*', ['cidr ::/0', 'cidr 0.0.0.0/0']],
    ['[::]/64:*', ['cidr ::/64', 'cidr 0.0.0.0/0']],
    ['[fd00::]/8:*', ['cidr fd00::/8']],
    ['api.example.com:443', ['name api.example.com/0']],
  ];
  for (const [grant, want] of cases) it(`${grant} stands for ${want.join(', ')}`, () => assert.deepEqual(hosts(grant), want));
});

describe('parsePublish()', () => {
  it('accepts HOST_PORT:GUEST_PORT (on 127.0.0.1) and ADDRESS:HOST_PORT:GUEST_PORT', () => {
    assert.deepEqual(parsePublish('8080:7000'), { text: '8080:7000', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 7000 });
    assert.deepEqual(parsePublish('0.0.0.0:80:7000', 'web'),
      { text: '0.0.0.0:80:7000', hostAddress: '0.0.0.0', hostPort: 80, guestPort: 7000, guest: 'web' });
    assert.equal(parsePublish('127.1:1:2').hostAddress, '127.0.0.1');
    assert.equal(parsePublish('0:7000').hostPort, 0);
  });

  it('accepts an IPv6 host address in brackets, canonical', () => {
    assert.deepEqual(parsePublish('[::1]:8080:7000'), { text: '[::1]:8080:7000', hostAddress: '::1', hostPort: 8080, guestPort: 7000 });
    assert.equal(parsePublish('[0:0::0]:1:2').hostAddress, '::');
  });

  it('an unbracketed IPv6 address is refused with a hint to bracket it', () => {
    assert.throws(() => parsePublish('::1:8080:7000'), /IPv6 address goes in brackets: \[::1\]:8080:80/);
  });

  for (const bad of ['8080', '', 'a:b', '1:2:3:4', '70000:80', '80:70000', 'notip:80:80', '80:-1', '80: 81', '1.2.3:80:x',
    '[::1]:80', '[]:1:2', '[::1]:1:2:3', '[1.2.3]:1:2', '[::1:1:2']) {
    it(`rejects '${bad}' with a message naming it`, rejects(bad, parsePublish));
  }
});

describe('decideConnect(): canonical addresses', () => {
  const spellings = ['127.1', '0x7f.0.0.1', '2130706433', '0177.0.0.1', '::ffff:127.0.0.1', '127.000.000.001', '0x7f000001'];
  const policies: [string, NetworkPolicy][] = [
    ['no grants', policy()],
    ['a grant for 127.0.0.1:80', policy(['127.0.0.1:80'])],
    ['a grant spelled 0x7f.1:80', policy(['0x7f.1:80'])],
    ['a grant for 127.0.0.0/8:*', policy(['127.0.0.0/8:*'])],
    ['a deny of 127.0.0.1:* beside an allow', policy(['127.0.0.0/8:*'], ['127.0.0.1:*'])],
    ['a public-only grant 0.0.0.0/0:*', policy(['0.0.0.0/0:*'])],
  ];
  for (const [label, p] of policies) {
    it(`every spelling of 127.0.0.1 gets the same decision as 127.0.0.1 (${label})`, () => {
      const reference = decideConnect(p, '127.0.0.1', 80, noNames);
      for (const s of spellings) assert.deepEqual(decideConnect(p, s, 80, noNames), reference, s);
    });
  }

  it('the decisions above are the right ones', () => {
    assert.equal(decideConnect(policy(), '127.0.0.1', 80, noNames).allowed, false);
    assert.equal(decideConnect(policy(['127.0.0.1:80']), '0177.0.0.1', 80, noNames).allowed, true);
    assert.equal(decideConnect(policy(['0x7f.1:80']), '127.0.0.1', 80, noNames).allowed, true);
    assert.equal(decideConnect(policy(['127.0.0.0/8:*'], ['127.0.0.1:*']), '2130706433', 80, noNames).allowed, false);
    assert.equal(decideConnect(policy(['0.0.0.0/0:*']), '::ffff:127.0.0.1', 80, noNames).allowed, false);
  });

  it('something that is not an address is refused, naming it', () => {
    const d = decideConnect(policy(['0.0.0.0/0:*']), 'not-an-ip', 80, noNames);
    assert.equal(d.allowed, false);
    assert.match(d.reason, /'not-an-ip' is not an address/);
  });
});

describe('decideConnect(): grants', () => {
  it('a name grant allows only the addresses the layer resolved (pinned) for that name', () => {
    const p = policy(['api.example.com:443']);
    const pinned = (ip: string): string[] => (ip === '93.184.216.34' ? ['api.example.com'] : []);
    const ok = decideConnect(p, '93.184.216.34', 443, pinned);
    assert.equal(ok.allowed, true);
    assert.equal(ok.grant, 'api.example.com:443');
    assert.match(ok.reason, /--allow-connect api\.example\.com:443/);
    assert.equal(decideConnect(p, '93.184.216.35', 443, pinned).allowed, false, 'an address the name was never resolved to');
    assert.equal(decideConnect(p, '93.184.216.34', 80, pinned).allowed, false, 'another port');
    assert.equal(decideConnect(p, '93.184.216.34', 443, () => ['other.example.com']).allowed, false, 'another name');
  });

  it('loopback, private, link-local and metadata addresses are refused unless a grant names an address in that range', () => {
    const broad = policy(['0.0.0.0/0:*', '[::]/0:*']);
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '172.16.0.1', '169.254.169.254', '169.254.1.1', '::1', 'fe80::1', 'fd00::5']) {
      const d = decideConnect(broad, ip, 80, noNames);
      assert.equal(d.allowed, false, `${ip} allowed by a catch-all grant`);
      assert.match(d.reason, /only a grant naming it allows it/, ip);
    }
    assert.equal(decideConnect(broad, '8.8.8.8', 53, noNames).allowed, true, 'a public address is allowed by the catch-all');
    assert.equal(decideConnect(broad, '2001:4860:4860::8888', 53, noNames).allowed, true);

    assert.equal(decideConnect(policy(['10.0.0.0/8:*']), '10.1.2.3', 80, noNames).allowed, true);
    assert.equal(decideConnect(policy(['10.0.0.0/8:*']), '192.168.1.1', 80, noNames).allowed, false, 'outside the CIDR');
    assert.equal(decideConnect(policy(['169.254.169.254:80']), '169.254.169.254', 80, noNames).allowed, true);
    assert.equal(decideConnect(policy(['[::1]:8080']), '::1', 8080, noNames).allowed, true);
    assert.equal(decideConnect(policy(['127.0.0.1:8080']), '127.0.0.2', 8080, noNames).allowed, false, 'another loopback address');
  });

  it('a name grant never reaches a non-public address, even when the name resolved there', () => {
    const p = policy(['intranet.example.com:80']);
    const d = decideConnect(p, '10.0.0.5', 80, () => ['intranet.example.com']);
    assert.equal(d.allowed, false);
    assert.match(d.reason, /10\.0\.0\.5 is a private address/);
  });

  it('deny beats allow, and says which --deny-connect matched', () => {
    const p = policy(['0.0.0.0/0:*', 'api.example.com:443'], ['8.8.8.0/24:*', 'api.example.com:443']);
    const d = decideConnect(p, '8.8.8.8', 53, noNames);
    assert.equal(d.allowed, false);
    assert.match(d.reason, /denied by --deny-connect 8\.8\.8\.0\/24:\*/);
    assert.equal(decideConnect(p, '8.8.4.4', 53, noNames).allowed, true);
    assert.equal(decideConnect(p, '1.1.1.1', 443, () => ['api.example.com']).allowed, false, 'deny by name');
  });

  it('port ranges and * match exactly their ports', () => {
    const p = policy(['1.2.3.4:8000-8080', '5.6.7.8:*']);
    assert.equal(decideConnect(p, '1.2.3.4', 8000, noNames).allowed, true);
    assert.equal(decideConnect(p, '1.2.3.4', 8080, noNames).allowed, true);
    assert.equal(decideConnect(p, '1.2.3.4', 7999, noNames).allowed, false);
    assert.equal(decideConnect(p, '1.2.3.4', 8081, noNames).allowed, false);
    for (const port of [0, 1, 443, 65535]) assert.equal(decideConnect(p, '5.6.7.8', port, noNames).allowed, true, String(port));
  });

  it('denial reasons name the flag that would grant it', () => {
    assert.match(decideConnect(policy(), '8.8.8.8', 53, noNames).reason, /--allow-connect 8\.8\.8\.8:53 would/);
    assert.match(decideConnect(policy(), '2606:4700::1111', 443, noNames).reason, /--allow-connect \[2606:4700::1111\]:443 would/);
    assert.match(decideConnect(policy(), '93.184.216.34', 443, () => ['example.com']).reason, /--allow-connect example\.com:443 would/);
    assert.match(decideConnect(policy(), '127.0.0.1', 5432, noNames).reason, /--allow-connect 127\.0\.0\.1:5432\)/);
    assert.match(decideConnect(policy(), '::1', 5432, noNames).reason, /--allow-connect \[::1\]:5432\)/);
  });
});

describe('decideConnect(): one destination, one decision, whatever the spelling', () => {
  /** Spellings of 169.254.169.254 and of the host's loopback through the gateway. */
  const METADATA = ['169.254.169.254', '2852039166', '0xa9fea9fe', '0251.0376.0251.0376', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe',
    '::a9fe:a9fe', '::169.254.169.254', '64:ff9b::a9fe:a9fe', '64:ff9b::169.254.169.254', '::ffff:0:a9fe:a9fe', '[::a9fe:a9fe]'];
  const GATEWAY = ['10.89.255.254', '173670398', '0x0a.0x59.0xff.0xfe', '10.89.65534', '::ffff:10.89.255.254', '::a59:fffe',
    '64:ff9b::a59:fffe', '::ffff:0:a59:fffe'];
  const broad = policy(['0.0.0.0/0:*', '[::]/0:*']);

  for (const ip of METADATA) {
    it(`${ip} is refused under 0.0.0.0/0:* and [::]/0:* as 169.254.169.254`, () => {
      const d = decideConnect(broad, ip, 80, noNames);
      assert.equal(d.allowed, false);
      assert.deepEqual(d.target, { family: 4, ip: '169.254.169.254' });
      assert.match(d.reason, /169\.254\.169\.254 is a linkLocal address; only a grant naming it allows it/);
      assert.deepEqual(decideConnect(policy(['[::]/0:80']), ip, 80, noNames).allowed, false);
    });
  }

  for (const [ip, via] of [['2002:a9fe:a9fe::1', '169.254.169.254'], ['2002:a00:1::1', '10.0.0.1'], ['2002:7f00:1::', '127.0.0.1'],
    ['2001:0:808:808::5601:5601', '169.254.169.254'], ['2001:0:a00:1::f7f7:f7f7', '10.0.0.1'], ['64:ff9b:1:a9fe:a9:fea9:fe00:0', undefined]] as const) {
    it(`${ip} (carrying ${via ?? 'a NAT64 local-use address'}) is refused under [::]/0:* and names what it carries`, () => {
      const d = decideConnect(broad, ip, 80, noNames);
      assert.equal(d.allowed, false);
      assert.deepEqual(d.target, { family: 6, ip });
      assert.match(d.reason, via ? new RegExp(`embeds ${via.replace(/\./g, '\\.')}, a \\w+ address`) : /is a nat64 address/);
    });
  }

  it('6to4 and Teredo of a public address are public; a grant inside a special block opens it', () => {
    assert.equal(decideConnect(policy(['[2002::]/16:*']), '2002:808:808::1', 80, noNames).allowed, true);
    assert.equal(decideConnect(policy(['[2002::]/16:*']), '2002:a9fe:a9fe::1', 80, noNames).allowed, false);
    assert.equal(decideConnect(policy(['[2002:a9fe::]/32:*']), '2002:a9fe:a9fe::1', 80, noNames).allowed, true);
    assert.equal(decideConnect(policy(['[2001::]/32:*']), '2001:0:808:808::f7f7:f7f7', 80, noNames).allowed, true);
  });

  it('deny rules match the IPv4 address a 6to4, Teredo or NAT64 local-use address carries', () => {
    const p = policy(['[::]/0:*', '[2002:a9fe::]/32:*', '[2001:0:808:808::5601:5601]:*', '[64:ff9b:1::]/48:*'], ['169.254.0.0/16:*']);
    for (const ip of ['2002:a9fe:a9fe::1', '2001:0:808:808::5601:5601', '64:ff9b:1:a9fe:a9:fea9:fe00:0', '64:ff9b:1::a9fe:a9fe']) {
      const d = decideConnect(p, ip, 80, noNames);
      assert.equal(d.allowed, false, ip);
      assert.equal(d.reason, 'denied by --deny-connect 169.254.0.0/16:*', ip);
    }
    assert.equal(decideConnect(p, '64:ff9b:1::808:808', 80, noNames).allowed, true, 'a NAT64 local-use address carrying nothing denied');
  });

  it('a catch-all grant does not open a special range its base happens to lie in', () => {
    for (const ip of ['0.1.2.3', '0.0.0.1', '::1:0:0:1']) assert.equal(decideConnect(broad, ip, 80, noNames).allowed, false, ip);
    assert.equal(decideConnect(policy(['0.0.0.0/8:*']), '0.1.2.3', 80, noNames).allowed, true, 'a grant naming the block');
  });

  for (const ip of ['100.64.0.1', '192.0.0.8', '198.18.0.1', '240.0.0.1', '255.255.255.255', '224.0.0.1', '192.0.2.1', '198.51.100.1',
    '203.0.113.1', 'fec0::1', 'ff02::1', '2001:db8::1', '100::1', '2001:2::1', '2001:20::1', '2001:10::1', 'fd00::1', 'fe80::1']) {
    it(`${ip} is refused under a catch-all grant`, () => {
      const d = decideConnect(broad, ip, 80, noNames);
      assert.equal(d.allowed, false);
      assert.match(d.reason, /is a \w+ address; only a grant naming it allows it/);
    });
  }

  it('an IPv6 block covering an embedding prefix covers the IPv4 addresses it embeds', () => {
    assert.equal(decideConnect(policy(['[::]/0:*']), '8.8.8.8', 53, noNames).allowed, true);
    assert.equal(decideConnect(policy(['[::]/0:*'], ['[::ffff:0:0]/96:*']), '8.8.8.8', 53, noNames).allowed, false);
    assert.equal(decideConnect(policy(['0.0.0.0/0:*'], ['[64:ff9b::808:0]/112:*']), '8.8.4.4', 53, noNames).allowed, false);
    assert.equal(decideConnect(policy(['0.0.0.0/0:*'], ['[64:ff9b::808:0]/112:*']), '8.9.4.4', 53, noNames).allowed, true);
  });

  const DENIES = ['10.89.255.254:5432', 'host.capsule.internal:5432', 'HOST.CAPSULE.INTERNAL.:5432', 'localhost:5432', '127.0.0.1:5432',
    '[::ffff:10.89.255.254]:5432', '[::a59:fffe]:5432', '[64:ff9b::7f00:1]:5432', '127.0.0.0/8:5432', '[::ffff:127.0.0.0]/104:*'];
  for (const deny of DENIES) {
    it(`--deny-connect ${deny} beats --allow-connect 127.0.0.1:5432 for every spelling of the gateway and of 127.0.0.1`, () => {
      const p = policy(['127.0.0.1:5432', 'host.capsule.internal:5432'], [deny]);
      for (const ip of [...GATEWAY, '127.0.0.1', '::ffff:127.0.0.1', '::7f00:1', '64:ff9b::7f00:1', '2130706433']) {
        const d = decideConnect(p, ip, 5432, noNames);
        assert.equal(d.allowed, false, `${ip} under --deny-connect ${deny}`);
        assert.equal(d.reason, `denied by --deny-connect ${deny}`, ip);
        assert.deepEqual(d.target, { family: 4, ip: '127.0.0.1' });
      }
    });
  }

  for (const allow of ['127.0.0.1:5432', 'host.capsule.internal:5432', '10.89.255.254:5432', 'localhost:5432', '[::a59:fffe]:5432']) {
    it(`--allow-connect ${allow} allows every spelling of the gateway, as the host's loopback`, () => {
      for (const ip of GATEWAY) {
        const d = decideConnect(policy([allow]), ip, 5432, noNames);
        assert.equal(d.allowed, true, ip);
        assert.deepEqual(d.target, { family: 4, ip: '127.0.0.1' });
      }
    });
  }
});

describe('hostLoopbackGrant(): only a grant naming the loopback address and port exactly', () => {
  const cases: [string[], string, number, boolean][] = [
    [['127.0.0.1:5432'], '127.0.0.1', 5432, true],
    [['127.0.0.1:5432'], '::ffff:127.0.0.1', 5432, true],
    [['127.0.0.1:5432'], '::7f00:1', 5432, true],
    [['0x7f.1:5432'], '127.1', 5432, true],
    [['localhost:5432'], '127.0.0.1', 5432, true],
    [['localhost:5432'], '::1', 5432, true],
    [['[::1]:5432'], '::1', 5432, true],
    [['host.capsule.internal:5432'], '127.0.0.1', 5432, true],
    [['127.0.0.2:5432'], '127.0.0.2', 5432, true],
    [['127.0.0.1:5432'], '127.0.0.1', 5433, false],
    [['127.0.0.1:5432'], '127.0.0.2', 5432, false],
    [['127.0.0.1:5432'], '::1', 5432, false],
    [['127.0.0.1:*'], '127.0.0.1', 5432, false],
    [['127.0.0.1:5000-6000'], '127.0.0.1', 5432, false],
    [['127.0.0.0/8:5432'], '127.0.0.1', 5432, false],
    [['0.0.0.0/0:*'], '127.0.0.1', 5432, false],
    [['[::]/0:5432'], '::1', 5432, false],
    [['10.0.0.1:5432'], '10.0.0.1', 5432, false],
    [['127.0.0.1:5432'], '0.0.0.0', 5432, false],
  ];
  for (const [grants, ip, port, want] of cases) {
    it(`${grants.join(' ')} ${want ? 'sends' : 'does not send'} ${ip}:${port} to the host`, () => {
      assert.equal(hostLoopbackGrant(policy(grants), ip, port) !== undefined, want);
    });
  }
});

describe('decideResolve()', () => {
  it('is refused by default, naming --allow-dns', () => {
    const d = decideResolve(policy(), 'example.com');
    assert.equal(d.allowed, false);
    assert.match(d.reason, /--allow-dns/);
    assert.match(d.reason, /--allow-connect example\.com:PORT/);
  });

  it('--allow-dns allows any name', () => {
    assert.equal(decideResolve(policy([], [], true), 'anything.example').allowed, true);
  });

  it('a name grant allows resolving that name (any case, trailing dot), and only that name', () => {
    const p = policy(['api.example.com:443', '10.0.0.0/8:*']);
    assert.equal(decideResolve(p, 'api.example.com').allowed, true);
    assert.equal(decideResolve(p, 'API.example.com.').allowed, true);
    assert.equal(decideResolve(p, 'www.example.com').allowed, false);
    assert.equal(decideResolve(p, 'example.com').allowed, false);
  });
});
