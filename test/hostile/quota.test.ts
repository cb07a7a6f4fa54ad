// Hostile guests, class 7 (resource theft) and the layer's host memory:
// a neighbour taking a victim's socket quota, backlog slots, ports or
// datagram queue space, and guests churning sockets to grow the host's memory.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Layer } from '../../src/api/layer.js';
import { MAX_USAGE_PEERS, OTHER_PEERS } from '../../src/layer/net/socket.js';
import { watchedOutput } from '../helpers/net.js';
import { MiB, assertRecord, feedableStdin, peakRssGrowth, runHostile, sharedLayer, warmUp, type HostileOptions, type HostileRun } from '../helpers/hostile.js';

const GUEST = 'hostile_quota';

/** Starts `name` running `args` on `layer`; resolves once its stdout shows `ready` (told to go on by go()). */
async function held(layer: Layer, name: string, args: string[], ready: string, limits: HostileOptions['limits'] = {}): Promise<{ go(): Promise<HostileRun> }> {
  const watch = watchedOutput();
  const stdin = feedableStdin();
  const pending = runHostile(GUEST, { layer, name, args, watch, stdin: stdin.stream, timeoutMs: 20_000, limits });
  await Promise.race([watch.waitFor(ready, 15_000), pending.then((r) => { throw new Error(`${name} ended early: ${r.stdout}${r.stderr}`); })]);
  return { go: () => { stdin.send('\n'); stdin.end(); return pending; } };
}

function systemOf(opts: ConstructorParameters<typeof Layer>[0], names: string[]): ReturnType<typeof sharedLayer> {
  const s = sharedLayer(opts);
  for (const n of names) s.layer.addGuest(n);
  return s;
}

describe('hostile guests: resource theft between guests (class 7)', () => {
  before(() => warmUp());

  it('connections a neighbour closes before they are accepted do not use up the victim\'s --max-sockets', { timeout: 30_000 }, async () => {
    const { layer, audit } = systemOf({ maxSockets: 8 }, ['victim', 'thief']);
    try {
      const victim = await held(layer, 'victim', ['victim', '7400', '4'], 'victim: listening');
      const thief = await runHostile(GUEST, { layer, name: 'thief', args: ['steal', 'victim', '7400', '20'] });
      // Four fit in the backlog; the thief holds them all, so it gets no more.
      assert.equal(thief.verdicts.get('steal'), 'ok=4 refused=16 other=0 (OK)');
      const v = await victim.go();
      // The listener and seven more: the waiting connections are not the victim's.
      assert.equal(v.verdicts.get('victim_sockets'), 'ENFILE after 7');
      // Closed early, still accepted with their data, as POSIX allows.
      assert.equal(v.verdicts.get('victim_accepted'), '4 bytes=4');
      const d = assertRecord(audit, { enclave: 'victim', op: 'sock_open', decision: 'limit' }, 'the victim\'s own limit');
      assert.equal(d.errno, 'NFILE');
      assert.equal(layer.sockets().length, 0);
    } finally {
      layer.close();
    }
  });

  it('the thief pays: connections it closed while they wait count against its own --max-sockets', { timeout: 30_000 }, async () => {
    const { layer, audit } = systemOf({ maxSockets: 8 }, ['victim', 'thief']);
    try {
      const victim = await held(layer, 'victim', ['victim', '7401', '64'], 'victim: listening');
      const thief = await runHostile(GUEST, { layer, name: 'thief', args: ['steal', 'victim', '7401', '20'] });
      assert.equal(thief.verdicts.get('steal'), 'ok=8 refused=0 other=12 (ENFILE)');
      assertRecord(audit, { enclave: 'thief', op: 'sock_open', decision: 'limit', reason: /--max-sockets/ }, 'the thief\'s limit');
      const v = await victim.go();
      assert.equal(v.verdicts.get('victim_sockets'), 'ENFILE after 7');
      assert.equal(v.verdicts.get('victim_accepted'), '8 bytes=8');
    } finally {
      layer.close();
    }
  });

  it('a neighbour filling a victim\'s backlog with live connections does not lock a third guest out', { timeout: 30_000 }, async () => {
    const { layer } = systemOf({}, ['victim', 'filler', 'witness']);
    try {
      const victim = await held(layer, 'victim', ['victim', '7402', '4'], 'victim: listening');
      const filler = await held(layer, 'filler', ['fill', 'victim', '7402', '10'], 'fill:');
      const witness = await runHostile(GUEST, { layer, name: 'witness', args: ['connect_once', 'victim', '7402'] });
      assert.equal(witness.verdicts.get('connect_once'), 'OK');
      const f = await filler.go();
      assert.equal(f.verdicts.get('fill'), 'ok=4 refused=6 first_other=OK');
      const v = await victim.go();
      // The backlog never held more than four: three of the filler's and the witness's.
      assert.match(v.verdicts.get('victim_accepted') ?? '', /^[0-4] bytes=0$/);
      assert.equal(layer.sockets().length, 0);
    } finally {
      layer.close();
    }
  });

  it('ports are each guest\'s own: a neighbour binding a port takes nothing from another guest', { timeout: 30_000 }, async () => {
    const { layer } = systemOf({}, ['first', 'second']);
    try {
      const first = await held(layer, 'first', ['bind_port', '7500'], 'bind_port udp:');
      const second = await held(layer, 'second', ['bind_port', '7500'], 'bind_port udp:');
      const [a, b] = [await first.go(), await second.go()];
      for (const r of [a, b]) {
        assert.equal(r.verdicts.get('bind_port tcp'), 'OK');
        assert.equal(r.verdicts.get('bind_port udp'), 'OK');
      }
    } finally {
      layer.close();
    }
  });

  it('datagram sockets sprayed by a neighbour queue at most --max-queue-bytes each, host memory stays flat', { timeout: 30_000 }, async () => {
    const { layer } = systemOf({ queueBytes: 4096 }, ['sink', 'sprayer']);
    try {
      const sink = await held(layer, 'sink', ['udp_sinks', '9000', '16'], 'udp_sinks: bound=16');
      const { value: spray, growth } = await peakRssGrowth(() => runHostile(GUEST, { layer, name: 'sprayer', args: ['udp_spray', 'sink', '9000', '16', '1500'] }));
      assert.match(spray.verdicts.get('udp_spray') ?? '', /^sent=yes other=0 /);
      const queued = layer.sockets().filter((s) => s.owner.startsWith('sink:')).map((s) => s.receiveQueue);
      assert.equal(queued.length, 16);
      assert.ok(queued.every((n) => n > 0 && n <= 4096), `queued per socket: ${queued.join(', ')}`);
      assert.ok(growth < 128 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
      await sink.go();
      assert.equal(layer.sockets().length, 0);
    } finally {
      layer.close();
    }
  });

  it('a guest sending to more peers than the usage report lists one by one: the rest are counted together', { timeout: 30_000 }, async () => {
    const { layer } = systemOf({ maxSockets: 2048 }, ['sink', 'sprayer']);
    try {
      const n = MAX_USAGE_PEERS + 76;
      const sink = await held(layer, 'sink', ['udp_sinks', '10000', String(n)], `udp_sinks: bound=${n}`, { maxFds: 2048 });
      const spray = await runHostile(GUEST, { layer, name: 'sprayer', args: ['udp_spray', 'sink', '10000', String(n), '1500'] });
      assert.match(spray.verdicts.get('udp_spray') ?? '', /^sent=yes other=0 /);
      const peers = spray.result.usage.network.peers;
      assert.equal(Object.keys(peers).length, MAX_USAGE_PEERS + 1);
      assert.ok((peers[OTHER_PEERS]?.sent ?? 0) > 0, JSON.stringify(peers[OTHER_PEERS]));
      await sink.go();
    } finally {
      layer.close();
    }
  });
});

describe('hostile guests: the layer\'s host memory under socket churn', () => {
  before(() => warmUp());

  it('sock_open and close in a loop for 3 s under --memory 16MiB: host memory stays flat', { timeout: 30_000 }, async () => {
    const { layer } = systemOf({}, ['churner']);
    try {
      const { value: r, growth } = await peakRssGrowth(() => runHostile(GUEST, { layer, name: 'churner', args: ['churn', '3000'], limits: { memoryBytes: 16 * MiB } }));
      const m = /^opens=(\d+) stop=OK$/.exec(r.verdicts.get('churn') ?? '');
      assert.ok(m && Number(m[1]) > 1000, r.stdout);
      assert.ok(growth < 256 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB over ${m[1]} opens`);
      assert.equal(layer.sockets().length, 0);
    } finally {
      layer.close();
    }
  });

  it('connect and close between two guests in a loop: closed queues are reused, host memory stays flat', { timeout: 30_000 }, async () => {
    const { layer } = systemOf({}, ['server', 'client']);
    try {
      const { value: [server, client], growth } = await peakRssGrowth(async () => {
        const watch = watchedOutput();
        const s = runHostile(GUEST, { layer, name: 'server', args: ['acceptor', '7600', '3000'], watch, limits: { memoryBytes: 16 * MiB } });
        await watch.waitFor('acceptor: listening', 15_000);
        const c = await runHostile(GUEST, { layer, name: 'client', args: ['connect_churn', 'server', '7600', '2000'], limits: { memoryBytes: 16 * MiB } });
        return [await s, c] as const;
      });
      assert.equal(client.verdicts.get('connect_churn'), 'ok=yes', client.stdout + client.stderr);
      assert.equal(client.verdicts.get('connect_churn_other'), '0 (OK)');
      assert.equal(server.verdicts.get('acceptor'), 'accepted=yes');
      // Each connection had two 256 KiB queues: thousands of them were over a gigabyte before.
      assert.ok(growth < 256 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB (${client.stderr.trim()})`);
      assert.equal(layer.sockets().length, 0);
    } finally {
      layer.close();
    }
  });
});
