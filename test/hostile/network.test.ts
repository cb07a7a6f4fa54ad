// Hostile guests, group 3: network policy bypass by every spelling of an address (IPv4 embedded in IPv6
// in each form, the gateway, loopback), special ranges under broad grants, deny-beats-allow under every
// name, DNS, UDP, foreign binds and peers: refused with EACCES before any host I/O, audited.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/audit/record.js';
import { runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostServer, hostUdpServer, writeSystem, type HostServer, type HostUdpServer } from '../helpers/net.js';
import { assertRecord, checkedRun, eventCount, hostileGuest, recordsOf, type HostileRun } from '../helpers/hostile.js';

/**
 * Spellings of the host gateway (host.capsule.internal = 10.89.255.254, the host's loopback). A prefix connects over
 * IPv6 to a form embedding the IPv4 address: "6:" mapped, "c6:" compatible, "n6:" NAT64, "x6:" translated.
 */
const GATEWAY = [
  'host.capsule.internal', 'HOST.Capsule.INTERNAL', 'host.capsule.internal.', '10.89.255.254', '173670398',
  '012.0131.0377.0376', '0x0a.0x59.0xff.0xfe', '10.89.65534', '::ffff:10.89.255.254', '::ffff:a59:fffe', '6:10.89.255.254',
  'c6:10.89.255.254', 'n6:10.89.255.254', 'x6:10.89.255.254', '::a59:fffe', '64:ff9b::a59:fffe',
];
/** Spellings of IPv4 loopback: inside a guest they mean the guest itself (unless a grant names 127.0.0.1:PORT). */
const LOOPBACK4 = [
  '127.0.0.1', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '127.1', '017700000001', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST.',
  '6:127.0.0.1', 'c6:127.0.0.1', 'n6:127.0.0.1', 'x6:127.0.0.1', '::7f00:1',
];
/** The guest itself, whatever the grants: the unspecified addresses, and IPv6 loopback (no grant names ::1 here). */
const SELF = ['0.0.0.0', '::', '::1'];
const LOOPBACK = [...LOOPBACK4, ...SELF];
/**
 * Private, link-local, metadata and other special ranges, and IPv6 forms embedding them (prefixes as above, plus
 * "s6:" 6to4 and "t6:" Teredo): refused even under 0.0.0.0/0:* and [::]/0:*, before any host I/O.
 */
const SPECIAL = [
  '169.254.169.254', '2852039166', '0xa9fea9fe', '::ffff:169.254.169.254', '6:169.254.169.254', '10.0.0.1', '192.168.1.1',
  '172.16.0.1', '100.64.0.1', 'fd00::1', 'fe80::1', '64:ff9b::a9fe:a9fe', '::ffff:0:a9fe:a9fe', 'host.capsule.internal',
  '::a9fe:a9fe', '::a00:1', 'c6:169.254.169.254', 'n6:169.254.169.254', 'x6:169.254.169.254',
  's6:169.254.169.254', 't6:169.254.169.254', 's6:10.0.0.1', 'n6:192.168.1.1', '64:ff9b:1::a9fe:a9fe',
  '0.1.2.3', '192.0.0.8', '198.18.0.1', '240.0.0.1', '255.255.255.255', '224.0.0.1', '192.0.2.1', '203.0.113.5',
  'fec0::1', 'ff02::1', '2001:db8::1', '100::1', '2001:2::1', '2001:20::1', '3fff::1', '5f00::1',
];

function spelled(r: HostileRun, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, r.verdicts.get(`spell ${n}`) ?? '(missing)']));
}

function all(names: string[], value: string): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, value]));
}

const connectDenials = (audit: AuditRecord[]): AuditRecord[] => recordsOf(audit, 'deny', 'connect');

describe('hostile guests: network policy bypass (group 3)', () => {
  let server: HostServer;
  before(async () => { server = await hostServer('sink'); });
  after(async () => { await server.close(); });

  it('every spelling of the host gateway, without a grant: EACCES, and the host server sees nothing', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const r = await checkedRun('hostile_net', { args: ['spell', String(server.port), ...GATEWAY] });
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.deepEqual(spelled(r, GATEWAY), all(GATEWAY, 'EACCES'));
    assert.equal(server.connections(), seen);
    const denials = connectDenials(r.audit);
    assert.equal(eventCount(denials), GATEWAY.length);
    for (const d of denials) {
      assert.match(d.target, new RegExp(`^127\\.0\\.0\\.1:${server.port}`));
      assert.match(d.reason, /loopback address; only a grant naming it allows it/);
      assert.equal(d.errno, 'ACCES');
    }
  });

  it('loopback and unspecified spellings reach the guest\'s own loopback (ECONNREFUSED, with a hint naming the grant), never the host', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const r = await checkedRun('hostile_net', { args: ['spell', String(server.port), ...LOOPBACK] });
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.deepEqual(spelled(r, LOOPBACK), all(LOOPBACK, 'ECONNREFUSED'));
    assert.equal(server.connections(), seen);
    assert.equal(recordsOf(r.audit, 'allow', 'connect').length, 0);
    // Each loopback refusal (not the unspecified ones) says which grant would have reached the host.
    const hints = recordsOf(r.audit, 'deny', 'connect');
    assert.equal(eventCount(hints), LOOPBACK4.length + 1);
    for (const h of hints) {
      assert.equal(h.errno, 'CONNREFUSED');
      const at = h.target === `[::1]:${server.port}` ? `\\[::1\\]:${server.port}` : `127\\.0\\.0\\.1:${server.port}`;
      assert.match(h.reason, new RegExp(`nothing listens on ${at} in the guest.*--allow-connect ${at} would let it reach the host`));
    }
  });

  it('with --allow-connect 127.0.0.1:PORT every IPv4 loopback spelling reaches the host\'s loopback (the guest listens on nothing there)', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const bytes = server.received().length;
    const r = await checkedRun('hostile_net', {
      args: ['spell', String(server.port), ...LOOPBACK], network: { allowConnect: [`127.0.0.1:${server.port}`] },
    });
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.deepEqual(spelled(r, LOOPBACK), { ...all(LOOPBACK4, 'CONNECTED'), ...all(SELF, 'ECONNREFUSED') });
    const deadline = Date.now() + 5000;
    while (server.connections() - seen < LOOPBACK4.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.equal(server.connections() - seen, LOOPBACK4.length);
    assert.equal(server.received().subarray(bytes).toString(), 'spelled\n'.repeat(LOOPBACK4.length));
    const allowed = recordsOf(r.audit, 'allow', 'connect');
    assert.equal(eventCount(allowed), LOOPBACK4.length);
    for (const a of allowed) assert.match(a.target, new RegExp(`^127\\.0\\.0\\.1:${server.port}( |$)`));
    assertRecord(r.audit, { op: 'connect', target: `[::1]:${server.port}`, decision: 'deny', errno: 'CONNREFUSED' }, '::1 is not granted');
  });

  for (const grant of ['127.0.0.0/8:PORT', '127.0.0.1:*', '127.0.0.1:1-65535', '0.0.0.0/0:*', '127.0.0.2:PORT', '[::1]:PORT']) {
    it(`a grant that does not name 127.0.0.1 and the port exactly (${grant}) leaves 127.0.0.1 the guest's own`, { timeout: 30_000 }, async () => {
      const seen = server.connections();
      const r = await checkedRun('hostile_net', {
        args: ['spell', String(server.port), '127.0.0.1', '127.1', '6:127.0.0.1'],
        network: { allowConnect: [grant.replace('PORT', String(server.port))] },
      });
      assert.deepEqual(Object.fromEntries(r.verdicts), {
        'spell 127.0.0.1': 'ECONNREFUSED', 'spell 127.1': 'ECONNREFUSED', 'spell 6:127.0.0.1': 'ECONNREFUSED',
      });
      assert.equal(server.connections(), seen);
      assert.equal(recordsOf(r.audit, 'allow', 'connect').length, 0);
    });
  }

  it('a listener of the guest\'s own on the granted port wins over the host', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const r = await checkedRun('hostile_net', {
      args: ['queue', String(server.port), '4'], network: { allowConnect: [`127.0.0.1:${server.port}`] },
    });
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^queue: sent=\d+/m);
    assert.equal(server.connections(), seen);
    assertRecord(r.audit, { op: 'connect', decision: 'allow', reason: 'guest to guest on this layer' }, 'its own listener');
    assert.equal(r.audit.filter((x) => /--allow-connect/.test(x.reason)).length, 0);
  });

  it('with a grant for 127.0.0.1:PORT every gateway spelling reaches the same decision: connected, once each', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const bytes = server.received().length;
    const r = await checkedRun('hostile_net', {
      args: ['spell', String(server.port), ...GATEWAY], network: { allowConnect: [`127.0.0.1:${server.port}`] },
    });
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.deepEqual(spelled(r, GATEWAY), all(GATEWAY, 'CONNECTED'));
    const deadline = Date.now() + 5000;
    while (server.connections() - seen < GATEWAY.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.equal(server.connections() - seen, GATEWAY.length);
    assert.equal(server.received().subarray(bytes).toString(), 'spelled\n'.repeat(GATEWAY.length));
    const allowed = recordsOf(r.audit, 'allow', 'connect');
    assert.equal(eventCount(allowed), GATEWAY.length);
    for (const a of allowed) assert.match(a.reason, new RegExp(`allowed by --allow-connect 127\\.0\\.0\\.1:${server.port}`));
    assert.equal(recordsOf(r.audit, 'deny').length, 0);
  });

  it('private, link-local, metadata and translated ranges are refused even under 0.0.0.0/0:* and [::]/0:*', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const r = await checkedRun('hostile_net', {
      args: ['spell', '80', ...SPECIAL], network: { allowConnect: ['0.0.0.0/0:*', '[::]/0:*'] },
    });
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.deepEqual(spelled(r, SPECIAL), all(SPECIAL, 'EACCES'));
    assert.equal(server.connections(), seen);
    const denials = connectDenials(r.audit);
    assert.equal(eventCount(denials), SPECIAL.length);
    for (const d of denials) assert.match(d.reason, /(is|embeds [\d.]+,) a \w+ address; only a grant naming it allows it/);
    assertRecord(r.audit, { op: 'connect', target: '169.254.169.254:80', decision: 'deny', reason: /linkLocal/ }, 'the metadata address');
    assertRecord(r.audit, { op: 'connect', target: '[fd00::1]:80', decision: 'deny' }, 'a unique-local IPv6 address');
    // IPv4-compatible, NAT64 and translated forms are decided as the IPv4 address they carry.
    assert.equal(eventCount(r.audit.filter((d) => d.op === 'connect' && d.target.startsWith('169.254.169.254:80'))), 11);
    assertRecord(r.audit, { op: 'connect', target: '[2002:a9fe:a9fe::1]:80', reason: /embeds 169\.254\.169\.254, a linkLocal address/ }, '6to4');
    assertRecord(r.audit, { op: 'connect', target: '[2001:0:c000:201::5601:5601]:80', reason: /embeds 192\.0\.2\.1, a documentation address/ }, 'Teredo');
    assertRecord(r.audit, { op: 'connect', target: '0.1.2.3:80', reason: /unspecified address/ }, '0.0.0.0/8');
    assertRecord(r.audit, { op: 'connect', target: '[fec0::1]:80', reason: /siteLocal address/ }, 'site-local');
  });

  it('--deny-connect beats --allow-connect, for every spelling', { timeout: 30_000 }, async () => {
    const seen = server.connections();
    const r = await checkedRun('hostile_net', {
      args: ['spell', String(server.port), ...GATEWAY],
      network: { allowConnect: [`127.0.0.1:${server.port}`, '0.0.0.0/0:*'], denyConnect: ['127.0.0.0/8:*'] },
    });
    assert.deepEqual(spelled(r, GATEWAY), all(GATEWAY, 'EACCES'));
    assert.equal(server.connections(), seen);
    for (const d of connectDenials(r.audit)) assert.match(d.reason, /^denied by --deny-connect 127\.0\.0\.0\/8:\*/);
    assert.equal(eventCount(connectDenials(r.audit)), GATEWAY.length);
  });

  for (const deny of ['10.89.255.254:PORT', 'host.capsule.internal:PORT', 'HOST.capsule.internal.:PORT', 'localhost:PORT',
    '[::ffff:10.89.255.254]:PORT', '[::a59:fffe]:PORT', '[64:ff9b::7f00:1]:PORT', '127.0.0.1:PORT']) {
    it(`--deny-connect ${deny} beats --allow-connect 127.0.0.1:PORT for every name of the host's loopback`, { timeout: 30_000 }, async () => {
      const seen = server.connections();
      const names = [...GATEWAY, ...LOOPBACK4];
      const port = String(server.port);
      const r = await checkedRun('hostile_net', {
        args: ['spell', port, ...names],
        network: { allowConnect: [`127.0.0.1:${port}`], denyConnect: [deny.replace('PORT', port)] },
      });
      assert.deepEqual(spelled(r, names), all(names, 'EACCES'));
      assert.equal(server.connections(), seen);
      const denials = connectDenials(r.audit);
      assert.equal(eventCount(denials), names.length);
      for (const d of denials) {
        assert.match(d.target, new RegExp(`^127\\.0\\.0\\.1:${port}( |$)`));
        assert.equal(d.reason, `denied by --deny-connect ${deny.replace('PORT', port)}`);
      }
    });
  }

  it('resolving outside names without --allow-dns: EACCES before any lookup; guest names and the gateway resolve locally', { timeout: 30_000 }, async () => {
    const names = ['example.com', 'EXAMPLE.com.', 'metadata.google.internal', 'localhost', 'hostile-net', 'host.capsule.internal'];
    const r = await checkedRun('hostile_net', { args: ['resolve', ...names], name: 'hostile-net' });
    assert.deepEqual(Object.fromEntries(names.map((n) => [n, r.verdicts.get(`resolve ${n}`)])), {
      'example.com': 'EACCES', 'EXAMPLE.com.': 'EACCES', 'metadata.google.internal': 'EACCES',
      localhost: '127.0.0.1', 'hostile-net': '10.89.0.2', 'host.capsule.internal': '10.89.255.254',
    });
    const denials = recordsOf(r.audit, 'deny', 'resolve');
    assert.deepEqual(denials.map((d) => d.target).sort(), ['example.com', 'example.com', 'metadata.google.internal']);
    for (const d of denials) assert.match(d.reason, /resolving names is not granted \(--allow-dns/);
  });

  it('UDP to the gateway or the metadata address is refused the same way', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_net', {
      args: ['udp', String(server.port), 'host.capsule.internal', '0x0a.0x59.0xff.0xfe', '169.254.169.254', '127.0.0.1'],
      network: { allowConnect: ['0.0.0.0/0:*'] },
    });
    assert.deepEqual(Object.fromEntries(r.verdicts), {
      'udp host.capsule.internal': 'EACCES', 'udp 0x0a.0x59.0xff.0xfe': 'EACCES', 'udp 169.254.169.254': 'EACCES',
      // Its own loopback: allowed, and it goes nowhere outside.
      'udp 127.0.0.1': 'SENT',
    });
    assert.equal(eventCount(recordsOf(r.audit, 'deny', 'send')), 3);
  });

  describe('UDP to the host\'s loopback', () => {
    let udp: HostUdpServer;
    before(async () => { udp = await hostUdpServer(); });
    after(async () => { await udp.close(); });
    const NAMES = ['host.capsule.internal', '10.89.255.254', '0x0a.0x59.0xff.0xfe', '6:10.89.255.254', 'c6:10.89.255.254', '127.0.0.1', '6:127.0.0.1'];

    it('under --allow-connect 127.0.0.1:PORT every name of it reaches 127.0.0.1, and the reply comes from where the guest sent', { timeout: 30_000 }, async () => {
      const seen = udp.received().length;
      const port = String(udp.port);
      const r = await checkedRun('hostile_net', { args: ['udp_reply', port, ...NAMES], network: { allowConnect: [`127.0.0.1:${port}`] } });
      assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
      assert.deepEqual(Object.fromEntries(NAMES.map((n) => [n, r.verdicts.get(`udp ${n}`)])), all(NAMES, 'SENT'));
      assert.deepEqual(Object.fromEntries(NAMES.map((n) => [n, r.verdicts.get(`reply ${n}`)])), {
        'host.capsule.internal': `10.89.255.254:${port}`, '10.89.255.254': `10.89.255.254:${port}`,
        '0x0a.0x59.0xff.0xfe': `10.89.255.254:${port}`, '6:10.89.255.254': `[0:0:0:0:0:ffff:a59:fffe]:${port}`,
        'c6:10.89.255.254': `[0:0:0:0:0:0:a59:fffe]:${port}`, '127.0.0.1': `127.0.0.1:${port}`, '6:127.0.0.1': `[0:0:0:0:0:ffff:7f00:1]:${port}`,
      });
      // Every datagram reached the test's server on 127.0.0.1 (it listens nowhere else).
      assert.deepEqual(udp.received().slice(seen), NAMES.map(() => ({ from: '127.0.0.1', data: 'datagram' })));
      const sends = recordsOf(r.audit, 'allow', 'send');
      assert.equal(eventCount(sends), NAMES.length);
      for (const a of sends) assert.match(a.target, new RegExp(`^127\\.0\\.0\\.1:${port} \\(udp\\)`));
    });

    for (const deny of ['host.capsule.internal:PORT', '10.89.255.254:PORT', '127.0.0.1:PORT']) {
      it(`--deny-connect ${deny} refuses UDP to every name of it too, before anything is sent`, { timeout: 30_000 }, async () => {
        const seen = udp.received().length;
        const port = String(udp.port);
        const r = await checkedRun('hostile_net', {
          args: ['udp', port, ...NAMES], network: { allowConnect: [`127.0.0.1:${port}`], denyConnect: [deny.replace('PORT', port)] },
        });
        assert.deepEqual(Object.fromEntries(NAMES.map((n) => [n, r.verdicts.get(`udp ${n}`)])), all(NAMES, 'EACCES'));
        await new Promise((res) => setTimeout(res, 100));
        assert.equal(udp.received().length, seen);
        assert.equal(eventCount(recordsOf(r.audit, 'deny', 'send')), NAMES.length);
      });
    }
  });

  it('binding to addresses that are not the guest\'s own (gateway, public, metadata, another guest): EADDRNOTAVAIL', { timeout: 30_000 }, async () => {
    const r = await checkedRun('hostile_net', { args: ['bind_foreign'] });
    assert.deepEqual(Object.fromEntries(r.verdicts), {
      'bind_foreign gateway': 'EADDRNOTAVAIL', 'bind_foreign public': 'EADDRNOTAVAIL',
      'bind_foreign metadata': 'EADDRNOTAVAIL', 'bind_foreign other_guest': 'EADDRNOTAVAIL',
    });
  });

  describe('capsule up: a guest outside another\'s peers', () => {
    let tmp: TempDir;
    before(() => { tmp = tempDir('capsule-hostile-up-'); });
    after(() => tmp.cleanup());

    it('cannot connect to it (EACCES, audited) while a permitted peer can', { timeout: 60_000 }, async () => {
      const audit = path.join(tmp.path, 'audit.jsonl');
      const file = writeSystem(tmp.path, {
        limits: { timeout: '3s' },
        guests: [
          { name: 'server', module: hostileGuest('hostile_net'), args: ['server_accept', '7000'] },
          { name: 'intruder', module: hostileGuest('hostile_net'), args: ['reach', '7000', 'server', '10.89.0.2'], peers: [] },
          { name: 'friend', module: hostileGuest('hostile_net'), args: ['reach', '7000', 'server'], peers: ['server'] },
        ],
      });
      const r = await runCli(['up', '--audit', audit, file], { timeoutMs: 45_000 });
      // The server is stopped by its time limit, blocked in accept; the others ended on their own.
      assert.equal(r.code, 102, r.stderr);
      assert.match(r.stdout, /^intruder \| spell server: EACCES$/m);
      assert.match(r.stdout, /^intruder \| spell 10\.89\.0\.2: EACCES$/m);
      assert.match(r.stdout, /^friend {3}\| spell server: CONNECTED$/m);
      assert.match(r.stdout, /^server {3}\| server_accept: accepted 1$/m);
      assert.doesNotMatch(r.stdout, /accepted 2/);
      assert.match(r.stderr, /server.*wall-time limit/);
      assert.doesNotMatch(r.stderr, /intruder.*(trapped|limit)|friend.*(trapped|limit)/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
      const refused = records.filter((x) => x.enclave === 'intruder' && x.decision === 'deny');
      assert.equal(eventCount(refused), 2);
      for (const d of refused) assert.match(d.reason, /'server' is not among the guest's peers/);
      assertRecord(records, { enclave: 'server', op: 'time', decision: 'limit' }, 'the server\'s time limit');
    });
  });
});
