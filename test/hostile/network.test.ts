// Hostile guests, group 3: network policy bypass by every spelling of an address, special ranges under
// broad grants, deny-beats-allow, DNS, UDP, foreign binds and peers: refused with EACCES, audited.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/audit/record.js';
import { runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostServer, writeSystem, type HostServer } from '../helpers/net.js';
import { assertRecord, checkedRun, eventCount, hostileGuest, recordsOf, type HostileRun } from '../helpers/hostile.js';

/** Spellings of the host gateway (host.capsule.internal = 10.89.255.254, the host's loopback). "6:" connects over IPv6. */
const GATEWAY = [
  'host.capsule.internal', 'HOST.Capsule.INTERNAL', 'host.capsule.internal.', '10.89.255.254', '173670398',
  '012.0131.0377.0376', '0x0a.0x59.0xff.0xfe', '10.89.65534', '::ffff:10.89.255.254', '::ffff:a59:fffe', '6:10.89.255.254',
];
/** Spellings of loopback and the unspecified address: inside a guest they mean the guest itself. */
const LOOPBACK = [
  '127.0.0.1', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '127.1', '017700000001', '::ffff:127.0.0.1', '0.0.0.0', '::', '::1',
  'localhost', 'LOCALHOST.', '6:127.0.0.1',
];
/** Private, link-local, metadata and other special ranges: refused even under 0.0.0.0/0:* and [::]/0:*. */
const SPECIAL = [
  '169.254.169.254', '2852039166', '0xa9fea9fe', '::ffff:169.254.169.254', '6:169.254.169.254', '10.0.0.1', '192.168.1.1',
  '172.16.0.1', '100.64.0.1', 'fd00::1', 'fe80::1', '64:ff9b::a9fe:a9fe', '::ffff:0:a9fe:a9fe', 'host.capsule.internal',
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

  for (const grant of [false, true]) {
    it(`loopback and unspecified spellings reach the guest's own loopback (ECONNREFUSED), never the host${grant ? ' (even with a grant for the port)' : ''}`, { timeout: 30_000 }, async () => {
      const seen = server.connections();
      const r = await checkedRun('hostile_net', {
        args: ['spell', String(server.port), ...LOOPBACK],
        ...(grant ? { network: { allowConnect: [`127.0.0.1:${server.port}`] } } : {}),
      });
      assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
      assert.deepEqual(spelled(r, LOOPBACK), all(LOOPBACK, 'ECONNREFUSED'));
      assert.equal(server.connections(), seen);
      assert.equal(recordsOf(r.audit, 'deny').length, 0);
      assert.equal(recordsOf(r.audit, 'allow', 'connect').length, 0);
    });
  }

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
    for (const d of denials) assert.match(d.reason, /is a \w+ address; only a grant naming it allows it/);
    assertRecord(r.audit, { op: 'connect', target: '169.254.169.254:80', decision: 'deny', reason: /linkLocal/ }, 'the metadata address');
    assertRecord(r.audit, { op: 'connect', target: '[fd00::1]:80', decision: 'deny' }, 'a unique-local IPv6 address');
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
