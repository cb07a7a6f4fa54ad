// A bridged stream whose enclave writes the host socket's descriptor itself
// (src/layer/net/host-fd.ts), stopped at random points of a flood, many
// times (class 4): a stop can land inside a direct write, while the enclave
// holds the descriptor. Every run must end by its stop, every host
// connection must close (the host takes the descriptor back from a guest
// that is gone), and no descriptor may be left behind.

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import { guest } from '../helpers/cli.js';
import { fdDiff, fdsBackTo, fdTargets, stableFds, warmUp } from '../helpers/hostile.js';
import { rng } from '../helpers/random.js';

const ROUNDS = 16;
/** A stop lands this long (ms) after the guest starts, anywhere in the range. */
const LIFE_MS = [20, 250] as const;

/** A host server that reads everything; counts connections opened and closed. */
async function readingServer(): Promise<{ port: number; opened: () => number; closed: () => number; close: () => Promise<void> }> {
  let opened = 0;
  let closed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    opened++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => { closed++; sockets.delete(s); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    opened: () => opened,
    closed: () => closed,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('hostile guests: a bridged stream stopped in the middle of direct writes (class 4)', () => {
  it(`${ROUNDS} floods to a host server stopped at random: each ends by its stop, every host connection closes, no descriptor is left`,
    { timeout: 120_000 }, async (t) => {
      await warmUp();
      const seed = Date.now() >>> 0;
      const rand = rng(seed);
      const server = await readingServer();
      const flood = (stop: { timeoutMs: number } | { signal: AbortSignal }): ReturnType<typeof run> => run(guest('bridge_stream'), {
        args: ['flood', 'host.capsule.internal', String(server.port)],
        network: { allowConnect: [`127.0.0.1:${server.port}`] },
        stdout: 'capture', stderr: 'capture', ...stop,
      });
      try {
        // One run first: the host network's own descriptors (made on first use, then kept) are in the count before.
        await flood({ timeoutMs: LIFE_MS[0] });
        const before = await stableFds();
        const targets = fdTargets();
        for (let round = 0; round < ROUNDS; round++) {
          const byLimit = round % 2 === 0;
          const life = Math.round(LIFE_MS[0] + rand() * (LIFE_MS[1] - LIFE_MS[0]));
          const abort = new AbortController();
          const timer = byLimit ? undefined : setTimeout(() => abort.abort(), life);
          const r = await flood(byLimit ? { timeoutMs: life } : { signal: abort.signal });
          clearTimeout(timer);
          assert.ok(r.outcome.kind === (byLimit ? 'limit' : 'killed'),
            `round ${round} (seed ${seed}, ${life} ms): ended ${JSON.stringify(r.outcome)}: ${r.stdout?.toString() ?? ''}`);
          assert.doesNotMatch(r.stdout?.toString() ?? '', /send:|error/, `round ${round}: a send failed before the stop`);
        }
        // Every connection the guests made is closed by the host once they are gone (bounded wait).
        const deadline = Date.now() + 20_000;
        while (server.closed() < server.opened() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(server.closed(), server.opened(), `host connections left open (seed ${seed})`);
        assert.ok(server.opened() > 0);
        const after = await fdsBackTo(before);
        assert.equal(after, before, `descriptors before ${before}, after ${after} (seed ${seed}): ${fdDiff(targets, fdTargets()).join(', ')}`);
        t.diagnostic(`seed ${seed}; ${server.opened()} connections`);
      } finally {
        await server.close();
      }
    });
});
