// Bridged receives that the enclave reads from the host socket itself (see
// src/layer/net/host-fd.ts and src/host/net-reads.ts): a peer that answers
// quickly has its bytes read by the guest's own thread, a slow one through
// the host. Host servers whose timing keeps changing make every stream switch
// between the two many times: the bytes must arrive whole and in order, with
// blocking receives and with poll_oneoff, in secure and normal mode; an end
// of stream and a reset must reach the guest; a stop while blocked must end
// the run, and the host connection must close.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { guest, runCli } from '../helpers/cli.js';
import { startCli } from '../helpers/net.js';
import { rng } from '../helpers/random.js';

/** Byte `k` of the stream's pattern (as in test/guests/src/net/bridge_stream.c). */
const pattern = (k: number): number => (k * 131 + Math.floor(k / 8192)) & 0xff;

function patternBytes(from: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = pattern(from + i);
  return b;
}

interface Server {
  port: number;
  /** Connections closed so far (the host's end of the guest's stream included). */
  closed(): number;
  close(): Promise<void>;
}

async function serve(onConnection: (s: net.Socket) => void): Promise<Server> {
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => { closed++; sockets.delete(s); });
    // The guest's end closes the connection (half-open servers answer it with their own end).
    s.once('end', () => s.end());
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    closed: () => closed,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

type Gap = 'none' | 'immediate' | 'timer';

/**
 * Writes `bytes` of the pattern in chunks of random sizes, between which it
 * waits nothing, a turn of the event loop or a few milliseconds (so the guest's
 * waits are now short, now long); then ends the stream, or resets it.
 */
async function writePattern(s: net.Socket, bytes: number, seed: number, finish: 'end' | 'stay',
  gaps: Gap[] = ['none', 'immediate', 'immediate', 'timer']): Promise<void> {
  const rand = rng(seed);
  let at = 0;
  while (at < bytes && !s.destroyed) {
    const n = Math.min(bytes - at, 1 + Math.floor(rand() * rand() * 65536));
    if (!s.write(patternBytes(at, n))) await new Promise<void>((resolve) => { s.once('drain', resolve); s.once('close', resolve); });
    at += n;
    const gap = gaps[Math.floor(rand() * gaps.length)]!;
    if (gap === 'immediate') await new Promise<void>((resolve) => setImmediate(resolve));
    else if (gap === 'timer') await delay(1 + Math.floor(rand() * 4));
  }
  if (finish === 'end') s.end();
}

const target = (mode: 'secure' | 'normal', port: number): string[] =>
  (mode === 'secure' ? ['--allow-connect', `127.0.0.1:${port}`, guest('bridge_stream')] : ['--mode', 'normal', guest('bridge_stream')]);
const hostName = (mode: 'secure' | 'normal'): string => (mode === 'secure' ? 'host.capsule.internal' : '127.0.0.1');

const BYTES = 4 * 1024 * 1024;

describe('bridged receives read by the guest\'s thread itself', () => {
  for (const mode of ['secure', 'normal'] as const) {
    for (const how of ['blocking', 'poll'] as const) {
      it(`${mode} mode, ${how} receives: a host server writing in bursts and pauses; every byte arrives, in order`, { timeout: 60_000 }, async () => {
        const seed = Date.now() >>> 0;
        const server = await serve((s) => { void writePattern(s, BYTES, seed, 'end'); });
        try {
          const r = await runCli(['run', ...target(mode, server.port), 'recv', hostName(mode), String(server.port),
            ...(how === 'poll' ? ['poll'] : [])], { timeoutMs: 50_000 });
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.equal(r.stdout, `connected\nreceived ${BYTES} firstbad -1\n`, `seed ${seed}`);
        } finally {
          await server.close();
        }
      });
    }
  }

  it('request/response whose answers now come at once, now after a few milliseconds: every answer whole and in order', { timeout: 60_000 }, async () => {
    const SIZE = 16384;
    const COUNT = 1500;
    const server = await serve((s) => {
      let at = 0;
      let have = 0;
      let firstBad = -1;
      let replies = 0;
      s.on('data', (d: Buffer) => {
        for (let i = 0; i < d.length; i++) if (firstBad < 0 && d[i] !== pattern(at + have + i)) firstBad = at + have + i;
        have += d.length;
        while (have >= SIZE) {
          have -= SIZE;
          const reply = patternBytes(at + SIZE, SIZE);
          at += 2 * SIZE;
          // A reply that is late now and then: the guest's reads go to the host and come back.
          if (++replies % 9 === 0) setTimeout(() => s.write(reply), 2);
          else s.write(reply);
        }
      });
      s.on('end', () => s.end(firstBad < 0 ? '' : `bad ${firstBad}`));
    });
    try {
      const r = await runCli(['run', ...target('secure', server.port), 'pingpong', 'host.capsule.internal', String(server.port),
        String(COUNT), String(SIZE)], { timeoutMs: 50_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, `pingpong ${COUNT} firstbad -1\n`);
    } finally {
      await server.close();
    }
  });

  it('a slow host writer trickling bytes one by one: all arrive, in order', { timeout: 60_000 }, async () => {
    const server = await serve((s) => {
      void (async () => {
        // Single bytes a millisecond or so apart, then a burst, then single bytes again.
        for (let k = 0; k < 200; k++) {
          s.write(patternBytes(k, 1));
          await delay(k % 50 === 0 ? 5 : 1);
        }
        s.write(patternBytes(200, 100_000));
        for (let k = 100_200; k < 100_300; k++) {
          s.write(patternBytes(k, 1));
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        s.end();
      })();
    });
    try {
      const r = await runCli(['run', ...target('secure', server.port), 'recv', 'host.capsule.internal', String(server.port)], { timeoutMs: 50_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, 'connected\nreceived 100300 firstbad -1\n');
    } finally {
      await server.close();
    }
  });

  it('the end of a stream coming right after quick bursts is read as such, again and again, and every host connection closes', { timeout: 60_000 }, async () => {
    const server = await serve((s) => { void writePattern(s, 300_000, 7, 'end', ['none', 'immediate']); });
    try {
      for (let run = 0; run < 4; run++) {
        const r = await runCli(['run', ...target('secure', server.port), 'recv', 'host.capsule.internal', String(server.port)], { timeoutMs: 30_000 });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, 'connected\nreceived 300000 firstbad -1\n');
      }
      const deadline = Date.now() + 10_000;
      while (server.closed() < 4 && Date.now() < deadline) await delay(10);
      assert.equal(server.closed(), 4);
    } finally {
      await server.close();
    }
  });

  it('a host server that answers quickly, then resets the connection instead of answering: the receive fails with ECONNRESET', { timeout: 60_000 }, async () => {
    const SIZE = 4096;
    const server = await serve((s) => {
      let have = 0;
      let replies = 0;
      s.on('data', (d: Buffer) => {
        have += d.length;
        while (have >= SIZE && !s.destroyed) {
          have -= SIZE;
          // The guest waits for this answer reading the socket itself (its peer has answered quickly so far).
          if (++replies === 300) s.resetAndDestroy();
          else s.write(Buffer.alloc(SIZE));
        }
      });
    });
    try {
      for (let run = 0; run < 3; run++) {
        const r = await runCli(['run', ...target('secure', server.port), 'pingpong', 'host.capsule.internal', String(server.port),
          '1000', String(SIZE)], { timeoutMs: 30_000 });
        assert.equal(r.stdout, 'recv: ECONNRESET\n', r.stderr);
        assert.equal(r.code, 2);
      }
    } finally {
      await server.close();
    }
  });

  for (const how of ['--timeout', 'SIGINT'] as const) {
    it(`a guest blocked receiving from a quick host server gone quiet is stopped by ${how}, and the host connection closes`, { timeout: 60_000 }, async () => {
      // Quick bursts (the guest reads the socket itself), then nothing, the connection left open.
      const server = await serve((s) => { void writePattern(s, 200_000, 5, 'stay', ['none', 'immediate']); });
      const cli = startCli(['run', ...(how === '--timeout' ? ['--timeout', '1500ms'] : []), ...target('secure', server.port),
        'recv', 'host.capsule.internal', String(server.port)]);
      try {
        await cli.waitFor('connected\n');
        await delay(400);
        assert.equal(cli.child.exitCode, null, 'still running, blocked');
        const started = Date.now();
        const exit = how === 'SIGINT' ? await cli.stop('SIGINT') : await cli.exited;
        assert.deepEqual(exit, { code: how === 'SIGINT' ? 130 : 102, signal: null }, cli.stderr());
        if (how === 'SIGINT') assert.ok(Date.now() - started < 5000, 'stopped promptly');
        assert.equal(cli.stdout(), 'connected\n');
        const deadline = Date.now() + 5000;
        while (server.closed() < 1 && Date.now() < deadline) await delay(10);
        assert.equal(server.closed(), 1, 'the host connection closed');
      } finally {
        cli.dispose();
        await server.close();
      }
    });
  }
});
