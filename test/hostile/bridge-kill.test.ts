// A bridged stream whose enclave writes and reads the host socket's
// descriptor itself (src/layer/net/host-fd.ts), stopped at random points of
// a flood either way, many times (class 4): a stop can land inside a direct
// write or read, while the enclave holds the descriptor or the socket's
// reads. Every run must end by its stop, every host connection must close
// (the host takes the descriptor and the reads back from a guest that is
// gone), and no descriptor may be left behind.

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

interface CountingServer { port: number; opened: () => number; closed: () => number; close: () => Promise<void> }

/**
 * A host server that reads everything, or (`writes`) also writes without end,
 * in bursts a turn of the event loop apart; counts connections opened and closed.
 */
async function readingServer(writes = false): Promise<CountingServer> {
  let opened = 0;
  let closed = 0;
  const sockets = new Set<net.Socket>();
  const chunk = Buffer.alloc(48 * 1024, 'r');
  const server = net.createServer((s) => {
    opened++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => { closed++; sockets.delete(s); });
    const flood = (): void => {
      if (s.destroyed) return;
      if (s.write(chunk)) setImmediate(flood);
      else s.once('drain', flood);
    };
    if (writes) flood();
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

/** Stops `ROUNDS` runs of the guest at random points; every connection closes and no descriptor is left. */
async function stopsAtRandom(t: { diagnostic(s: string): void }, server: CountingServer, args: string[], failed: RegExp): Promise<void> {
  await warmUp();
  const seed = Date.now() >>> 0;
  const rand = rng(seed);
  const go = (stop: { timeoutMs: number } | { signal: AbortSignal }): ReturnType<typeof run> => run(guest('bridge_stream'), {
    args: [...args, 'host.capsule.internal', String(server.port)],
    network: { allowConnect: [`127.0.0.1:${server.port}`] },
    stdout: 'capture', stderr: 'capture', ...stop,
  });
  // One run first: the host network's own descriptors (made on first use, then kept) are in the count before.
  await go({ timeoutMs: LIFE_MS[0] });
  const before = await stableFds();
  const targets = fdTargets();
  for (let round = 0; round < ROUNDS; round++) {
    const byLimit = round % 2 === 0;
    const life = Math.round(LIFE_MS[0] + rand() * (LIFE_MS[1] - LIFE_MS[0]));
    const abort = new AbortController();
    const timer = byLimit ? undefined : setTimeout(() => abort.abort(), life);
    const r = await go(byLimit ? { timeoutMs: life } : { signal: abort.signal });
    clearTimeout(timer);
    assert.ok(r.outcome.kind === (byLimit ? 'limit' : 'killed'),
      `round ${round} (seed ${seed}, ${life} ms): ended ${JSON.stringify(r.outcome)}: ${r.stdout?.toString() ?? ''}`);
    assert.doesNotMatch(r.stdout?.toString() ?? '', failed, `round ${round}: a call failed before the stop`);
  }
  // Every connection the guests made is closed by the host once they are gone (bounded wait).
  const deadline = Date.now() + 20_000;
  while (server.closed() < server.opened() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.closed(), server.opened(), `host connections left open (seed ${seed})`);
  assert.ok(server.opened() > 0);
  const after = await fdsBackTo(before);
  assert.equal(after, before, `descriptors before ${before}, after ${after} (seed ${seed}): ${fdDiff(targets, fdTargets()).join(', ')}`);
  t.diagnostic(`seed ${seed}; ${server.opened()} connections`);
}

describe('hostile guests: a bridged stream stopped in the middle of direct writes and reads (class 4)', () => {
  it(`${ROUNDS} floods to a host server stopped at random: each ends by its stop, every host connection closes, no descriptor is left`,
    { timeout: 120_000 }, async (t) => {
      const server = await readingServer();
      try {
        await stopsAtRandom(t, server, ['flood'], /send:|error/);
      } finally {
        await server.close();
      }
    });

  it(`${ROUNDS} floods from a host server stopped at random: each ends by its stop, every host connection closes, no descriptor is left`,
    { timeout: 120_000 }, async (t) => {
      const server = await readingServer(true);
      try {
        await stopsAtRandom(t, server, ['recv'], /recv:|error|firstbad [0-9]/);
      } finally {
        await server.close();
      }
    });
});
