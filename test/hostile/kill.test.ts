// Hostile guests: death at every point (attack class 4). Guests flooding a
// neighbour over UDP and TCP are stopped at random moments, by AbortSignal
// and by their time limit, round after round, while a host peer floods the
// same datagram socket from the host thread. Whatever a guest was doing when
// it died (halfway through a datagram, a stream write, a layer call), the
// host thread keeps running (a timer keeps firing), the neighbour keeps
// receiving and finishes, and nothing is left behind: no socket-table entry,
// no descriptor, no thread.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { layerFor, policyFor, run } from '../../src/api/run.js';
import { watchedOutput } from '../helpers/net.js';
import { fdsBackTo, hostileGuest, runHostile, stableFds, warmUp } from '../helpers/hostile.js';
import { rng } from '../helpers/random.js';

const ROUNDS = 100;
const FLOODERS = ['f1', 'f2', 'f3'];
/** Longest a flooder floods, ms: long enough to be well into it, short enough for many rounds. */
const MAX_LIFE_MS = 15;
/** Time limits for the rounds stopped by one, ms from the start (a guest boots in about 20-40). */
const LIMIT_MS = [10, 70];
const PORT = 7500;
/**
 * Longest the host thread's 5 ms timer may be late. A host thread stuck in a
 * wait never fires it again; a busy two-core machine running this test's
 * guest threads and another test file beside it delays it by 40-280 ms now
 * and then. Liveness, not speed: the speed is the time-to-stop benchmark's.
 */
const MAX_TICK_GAP_MS = 1000;

function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
}

/** Waits (bounded) until `count()` is at most `limit`; returns the last count. */
async function settles(count: () => number, limit: number, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let n = count();
  while (n > limit && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    n = count();
  }
  return n;
}

/** A UDP peer on the host's loopback: once greeted, it floods the greeter until told to stop. */
async function hostPeer(): Promise<{ port: number; sent(): number; quit(): void; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let to: dgram.RemoteInfo | undefined;
  let sent = 0;
  let quitting = false;
  const payload = Buffer.alloc(512, 'h');
  socket.on('message', (_m, rinfo) => { to ??= rinfo; });
  const timer = setInterval(() => {
    if (!to) return;
    for (let i = 0; i < 4; i++) {
      socket.send(quitting ? Buffer.from('quit') : payload, to.port, to.address);
      sent++;
    }
  }, 2);
  return {
    port: socket.address().port,
    sent: () => sent,
    quit: () => { quitting = true; },
    close: () => { clearInterval(timer); socket.close(); },
  };
}

describe('hostile guests: stopped at every point of a flood (class 4)', () => {
  it(`${ROUNDS} rounds of ${FLOODERS.length} UDP/TCP flooders killed at random: the host stays responsive, the neighbour finishes, nothing leaks`,
    { timeout: 60_000 }, async (t) => {
      await warmUp();
      const fds = await stableFds();
      const threadsBefore = threads();
      const seed = Date.now() >>> 0;
      const rand = rng(seed);
      const peer = await hostPeer();
      const policy = await policyFor({ network: { allowConnect: [`127.0.0.1:${peer.port}`] } }, 'sink');
      const layer = layerFor(policy, 'secure');
      let worst = 0;
      let last = performance.now();
      const tick = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 5);
      try {
        for (const name of ['sink', ...FLOODERS]) layer.addGuest(name);
        const watch = watchedOutput();
        const sink = runHostile('hostile_flood', { layer, name: 'sink', args: ['sink', String(PORT), String(peer.port)], watch, timeoutMs: 60_000 });
        await watch.waitFor('sink: ready');
        const kinds = { udp: 0, tcp: 0 };
        for (let round = 0; round < ROUNDS; round++) {
          const runs = FLOODERS.map((name) => {
            const kind = rand() < 0.5 ? 'udp' : 'tcp';
            kinds[kind]++;
            // Half the rounds stop by AbortSignal a moment into the flood, half by a time limit
            // counted from the start (some then die still starting, which is a point too).
            const byLimit = round % 2 === 0;
            const life = rand();
            const abort = new AbortController();
            let said = '';
            const stdout = new Writable({
              write(chunk: Buffer, _enc, done) {
                said += chunk.toString();
                if (!byLimit && !abort.signal.aborted) setTimeout(() => abort.abort(), life * MAX_LIFE_MS);
                done();
              },
            });
            return run(hostileGuest('hostile_flood'), {
              layer, name, args: [kind, 'sink', String(PORT)], stdout, stderr: 'capture',
              ...(byLimit ? { timeoutMs: Math.round(LIMIT_MS[0]! + life * (LIMIT_MS[1]! - LIMIT_MS[0]!)) } : { signal: abort.signal }),
            }).then((r) => ({ r, said }));
          });
          for (const { r, said } of await Promise.all(runs)) {
            assert.ok(r.outcome.kind === 'killed' || r.outcome.kind === 'limit',
              `round ${round} (seed ${seed}): a flooder ended ${JSON.stringify(r.outcome)}: ${said}${r.stderr?.toString() ?? ''}`);
          }
        }
        assert.ok(kinds.udp > ROUNDS / 2 && kinds.tcp > ROUNDS / 2, JSON.stringify(kinds));
        peer.quit();
        const s = await sink;
        assert.equal(s.result.exitCode, 0, `the neighbour did not finish (seed ${seed}): ${JSON.stringify(s.result.outcome)} ${s.stdout}`);
        const m = /^udp=(\d+) tcp=(\d+) host=(\d+) conns=(\d+)$/.exec(s.verdicts.get('sink') ?? '');
        assert.ok(m, s.stdout);
        const [udp, tcp, host, conns] = m.slice(1).map(Number) as [number, number, number, number];
        assert.ok(udp > 0 && tcp > 0 && host > 0 && conns > 0, `the neighbour received from guests and host alike: ${m[0]}`);
        assert.ok(peer.sent() > 0);
        t.diagnostic(`seed ${seed}; ${JSON.stringify(kinds)}; neighbour: ${m[0]}; host timer late by up to ${worst.toFixed(1)} ms`);
        assert.ok(worst < MAX_TICK_GAP_MS, `the host thread's timer was late by up to ${worst.toFixed(1)} ms (seed ${seed})`);
        assert.deepEqual(layer.sockets(), [], 'socket-table entries left');
      } finally {
        clearInterval(tick);
        peer.close();
        layer.close();
      }
      assert.equal(await fdsBackTo(fds), fds, 'descriptors of the test process');
      // Every enclave thread is gone again (a spare one may be booting meanwhile).
      const left = await settles(threads, threadsBefore);
      assert.ok(left <= threadsBefore, `threads: ${threadsBefore} before, ${left} after`);
    });
});
