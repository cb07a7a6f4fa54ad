// The host bridge: a guest reaches a host server at host.capsule.internal
// only with --allow-connect for that port; --publish makes a guest's port
// reachable from the host, and only while the guest listens there (refused
// before and after); resolving outside names needs --allow-dns.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { guest, lines, runCli, tempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, hostRoundTrip, hostServer, startCli } from '../helpers/net.js';

describe('outbound through the bridge', () => {
  it('with --allow-connect 127.0.0.1:PORT a guest reaches the host server at host.capsule.internal:PORT', { timeout: 30_000 }, async () => {
    const server = await hostServer('echo');
    try {
      const r = await runCli(['run', '--allow-connect', `127.0.0.1:${server.port}`, guest('echo_client'),
        'host.capsule.internal', String(server.port), 'over the bridge']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, 'echo: over the bridge\n');
      assert.equal(server.connections(), 1);
      assert.equal(server.received().toString(), 'over the bridge');
    } finally {
      await server.close();
    }
  });

  it('the gateway address 10.89.255.254 works the same as the name', { timeout: 30_000 }, async () => {
    const server = await hostServer('echo');
    try {
      const r = await runCli(['run', '--allow-connect', `127.0.0.1:${server.port}`, guest('echo_client'),
        '10.89.255.254', String(server.port), 'by address']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, 'echo: by address\n');
    } finally {
      await server.close();
    }
  });

  for (const [grant, target] of [['127.0.0.1', '127.0.0.1'], ['127.0.0.1', 'localhost'], ['localhost', '127.0.0.1']]) {
    it(`with --allow-connect ${grant}:PORT a guest that listens on nothing there reaches the host server at ${target}:PORT`, { timeout: 30_000 }, async () => {
      const server = await hostServer('echo');
      try {
        const r = await runCli(['run', '--allow-connect', `${grant}:${server.port}`, guest('echo_client'), target, String(server.port), 'as elsewhere']);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, 'echo: as elsewhere\n');
        assert.equal(server.connections(), 1);
      } finally {
        await server.close();
      }
    });
  }

  const denied: [string, (port: number) => string[]][] = [
    ['without any grant', () => []],
    ['with a grant for another port', (port) => ['--allow-connect', `127.0.0.1:${port === 65535 ? port - 1 : port + 1}`]],
    ['with a grant for a public catch-all only', () => ['--allow-connect', '0.0.0.0/0:*']],
  ];
  for (const [what, flags] of denied) {
    it(`${what} the connect fails with EACCES and nothing reaches the host`, { timeout: 30_000 }, async () => {
      const server = await hostServer('echo');
      try {
        const r = await runCli(['run', ...flags(server.port), guest('echo_client'), 'host.capsule.internal', String(server.port)]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.equal(r.stdout, 'error: sock_connect: Permission denied\n');
        assert.equal(server.connections(), 0);
      } finally {
        await server.close();
      }
    });
  }

  it('resolving an outside name without --allow-dns fails with EACCES', { timeout: 30_000 }, async () => {
    const r = await runCli(['run', guest('echo_client'), 'example.com', '80']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, 'error: resolve: Permission denied\n');
  });

  it('after the host server half-closes, the guest can still send to it', { timeout: 30_000 }, async () => {
    let received = '';
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => { received += d.toString(); });
      s.end('greeting');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['run', '--allow-connect', `127.0.0.1:${port}`, guest('sock_errors'), 'after-eof', 'host.capsule.internal', String(port)]);
      assert.equal(r.stdout, 'read 8 bytes, then EOF\nsend after EOF: ok\n');
      assert.equal(received, 'thanks 8');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('host.capsule.internal resolves without --allow-dns (to the gateway address)', { timeout: 30_000 }, async () => {
    // Nothing is granted: the name resolves, the connect is what is refused.
    const r = await runCli(['run', guest('echo_client'), 'host.capsule.internal', '1']);
    assert.equal(r.stdout, 'error: sock_connect: Permission denied\n');
  });
});

describe('inbound through --publish', () => {
  /** Runs echo_server published on a free host port; `client` talks to it once it listens. */
  async function published(client: (hostPort: number) => Promise<Buffer>): Promise<{ reply: Buffer; stdout: string[]; code: number | null }> {
    const hostPort = await freePort();
    const cli = startCli(['run', '--publish', `${hostPort}:7000`, guest('echo_server'), '7000', '1']);
    try {
      await cli.waitFor('listening on 7000\n');
      const reply = await client(hostPort);
      const stopWaiting = new AbortController();
      const exit = await Promise.race([cli.exited, delay(10_000, undefined, { signal: stopWaiting.signal }).catch(() => undefined)]);
      stopWaiting.abort();
      return { reply, stdout: lines(cli.stdout()), code: exit?.code ?? null };
    } finally {
      cli.dispose();
    }
  }

  it('a host client connecting to 127.0.0.1:HOSTPORT reaches the guest listening on 7000', { timeout: 30_000 }, async () => {
    const r = await published((port) => hostRoundTrip(port, 'published bytes'));
    assert.equal(r.reply.toString(), 'published bytes');
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout, ['listening on 7000', 'connection 0 from 127.0.0.1 echoed 15 bytes']);
  });

  it('a host client that half-closes still gets the guest\'s reply', { timeout: 30_000 }, async () => {
    const r = await published((port) => hostRoundTrip(port, 'published bytes', { halfClose: true }));
    assert.equal(r.reply.toString(), 'published bytes');
  });

  /** Connects to 127.0.0.1:port and reads until the end: the bytes, or the error's code. */
  function readAll(port: number): Promise<string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
      s.on('end', () => { resolve(Buffer.concat(chunks).toString()); s.end(); });
    });
  }

  it('until the guest listens the published port refuses (never accepts and resets), and refuses again once it stops', { timeout: 30_000 }, async () => {
    const tmp = tempDir('capsule-publish-');
    const hostPort = await freePort();
    const audit = path.join(tmp.path, 'audit.jsonl');
    const cli = startCli(['run', '--publish', `${hostPort}:7000`, '--audit', audit, hostileGuest('hostile_net'), 'late_server', '7000', '1500']);
    try {
      const before: string[] = [];
      // A client that retries only on "connection refused", as many do: it must get through.
      let reply = 'ECONNREFUSED';
      const deadline = Date.now() + 15_000;
      while (reply === 'ECONNREFUSED' && Date.now() < deadline) {
        reply = await readAll(hostPort);
        if (reply === 'ECONNREFUSED') { before.push(reply); await delay(20); }
      }
      assert.equal(reply, 'hello\n');
      assert.ok(before.length >= 5, `refused ${before.length} times while the guest was not listening yet`);
      assert.match(cli.stdout(), /late_server: listening\n/);
      await cli.waitFor('late_server: closed\n');
      await delay(200);
      assert.equal(await readAll(hostPort), 'ECONNREFUSED', 'refused again once the guest stopped listening');
      assert.equal((await cli.exited).code, 0);
      const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; decision: string; reason: string });
      const published = records.filter((r) => r.op === 'publish');
      assert.deepEqual(published.map((r) => [r.decision, r.reason]), [
        ['allow', `the guest listens: published by --publish ${hostPort}:7000`],
        ['allow', `published by --publish ${hostPort}:7000`],
      ]);
    } finally {
      cli.dispose();
      tmp.cleanup();
    }
  });

  it('a published host port in use stops Capsule before the guest runs (exit 69), naming the port', { timeout: 30_000 }, async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['run', '--publish', `${port}:7000`, guest('echo_server'), '7000', '1']);
      assert.equal(r.code, 69, r.stderr);
      assert.match(r.stderr, new RegExp(`^capsule: cannot publish a port: .*EADDRINUSE.*127\\.0\\.0\\.1:${port}$`, 'm'));
      assert.equal(r.stdout, '');
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('a host port without --publish does not reach the guest', { timeout: 30_000 }, async () => {
    const hostPort = await freePort();
    const cli = startCli(['run', guest('echo_server'), '7000', '1']);
    try {
      await cli.waitFor('listening on 7000\n');
      await assert.rejects(hostRoundTrip(hostPort, 'x', { timeoutMs: 5000 }), /ECONNREFUSED/);
      assert.equal((await cli.stop('SIGINT')).code, 130);
    } finally {
      cli.dispose();
    }
  });
});
