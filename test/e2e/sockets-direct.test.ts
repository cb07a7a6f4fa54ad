// Bridged sends that the enclave writes to the host socket itself (see
// src/layer/net/host-fd.ts): while nothing is queued a send goes straight to
// the socket, and what a full socket does not take is queued for the host.
// A host server that stalls and then reads slowly makes every stream switch
// between the two paths many times: the bytes must arrive whole and in order,
// blocking sends must block, non-blocking ones must say EAGAIN and lose
// nothing; a reset peer and a stop while blocked must end cleanly.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { guest, runCli } from '../helpers/cli.js';
import { startCli } from '../helpers/net.js';

/** Byte `k` of the stream bridge_stream sends (as in test/guests/src/net/bridge_stream.c). */
const pattern = (k: number): number => (k * 131 + Math.floor(k / 8192)) & 0xff;

interface PatternServer {
  port: number;
  /** What the last connection saw once it ended: bytes and the offset of the first wrong byte (-1: none). */
  seen: Promise<{ bytes: number; firstBad: number }>;
  close(): Promise<void>;
}

/**
 * A host server that reads nothing for `stallMs` (the guest's socket buffer
 * and queue fill), then reads slowly, checking every byte against the
 * pattern; at end of stream it answers "ok BYTES FIRSTBAD".
 */
async function patternServer(stallMs: number): Promise<PatternServer> {
  const sockets = new Set<net.Socket>();
  let settle!: (v: { bytes: number; firstBad: number }) => void;
  const seen = new Promise<{ bytes: number; firstBad: number }>((resolve) => { settle = resolve; });
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let bytes = 0;
    let firstBad = -1;
    let chunks = 0;
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) {
        if (firstBad < 0 && d[i] !== pattern(bytes + i)) firstBad = bytes + i;
      }
      bytes += d.length;
      // A slow reader: a pause now and then, so the guest's socket buffer fills again and again.
      if (++chunks % 16 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 5);
      }
    });
    s.on('end', () => {
      settle({ bytes, firstBad });
      s.end(`ok ${bytes} ${firstBad}\n`);
    });
    setTimeout(() => s.resume(), stallMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

const BYTES = 16 * 1024 * 1024;

describe('bridged sends written to the host socket directly', () => {
  for (const mode of ['secure', 'normal'] as const) {
    it(`${mode} mode: a blocking stream to a host server that stalls, then reads slowly, arrives whole and in order`, { timeout: 60_000 }, async () => {
      const server = await patternServer(300);
      try {
        const target = mode === 'secure' ? ['--allow-connect', `127.0.0.1:${server.port}`] : ['--mode', 'normal'];
        const host = mode === 'secure' ? 'host.capsule.internal' : '127.0.0.1';
        const r = await runCli(['run', ...target, guest('bridge_stream'), 'send', host, String(server.port), String(BYTES)], { timeoutMs: 50_000 });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, `sent ${BYTES} eagain 0\nok ${BYTES} -1\n`);
        assert.deepEqual(await server.seen, { bytes: BYTES, firstBad: -1 });
      } finally {
        await server.close();
      }
    });
  }

  it('a non-blocking stream says EAGAIN while the host socket and the queue are full, waits for writable, and loses no byte', { timeout: 60_000 }, async () => {
    const server = await patternServer(500);
    try {
      const r = await runCli(['run', '--allow-connect', `127.0.0.1:${server.port}`, guest('bridge_stream'),
        'send', 'host.capsule.internal', String(server.port), String(BYTES), 'nonblock'], { timeoutMs: 50_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const m = /^sent (\d+) eagain (\d+)\nok (\d+) (-?\d+)\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(Number(m[1]), BYTES);
      // 16 MiB cannot fit the stalled socket's buffers and the 1 MiB queue: some sends must have said EAGAIN.
      assert.ok(Number(m[2]) > 0, r.stdout);
      assert.equal(Number(m[3]), BYTES);
      assert.equal(Number(m[4]), -1, 'the first wrong byte');
    } finally {
      await server.close();
    }
  });

  it('a host server that resets the connection mid-stream: the next sends fail with ECONNRESET or EPIPE, and the guest exits cleanly', { timeout: 60_000 }, async () => {
    let received = 0;
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= 1024 * 1024 && !s.destroyed) s.resetAndDestroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['run', '--allow-connect', `127.0.0.1:${port}`, guest('bridge_stream'), 'flood', 'host.capsule.internal', String(port)], { timeoutMs: 50_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^connected\nsend: (ECONNRESET|EPIPE)\n$/);
      assert.ok(received >= 1024 * 1024);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  for (const how of ['--timeout', 'SIGINT'] as const) {
    it(`a guest blocked sending to a host server that never reads is stopped by ${how}, and Capsule exits`, { timeout: 60_000 }, async () => {
      const sockets = new Set<net.Socket>();
      // pauseOnConnect and never resumed: the server reads nothing, so what the guest queued can never leave.
      const server = net.createServer({ pauseOnConnect: true }, (s) => {
        sockets.add(s);
        s.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as net.AddressInfo).port;
      const cli = startCli(['run', ...(how === '--timeout' ? ['--timeout', '1500ms'] : []), '--allow-connect', `127.0.0.1:${port}`,
        guest('bridge_stream'), 'flood', 'host.capsule.internal', String(port)]);
      try {
        await cli.waitFor('connected\n');
        // Long enough for the socket buffer and the queue to fill: the guest is blocked in send.
        await delay(500);
        assert.equal(cli.child.exitCode, null, 'still running, blocked');
        // The host connection, idle once the guest is gone, is closed after 2 s: the process exits (stop() would SIGKILL after 15 s).
        const exit = how === 'SIGINT' ? await cli.stop('SIGINT') : await cli.exited;
        assert.deepEqual(exit, { code: how === 'SIGINT' ? 130 : 102, signal: null }, cli.stderr());
        assert.equal(cli.stdout(), 'connected\n');
      } finally {
        cli.dispose();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  }
});
