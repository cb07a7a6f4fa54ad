// The host descriptor lease (src/layer/net/host-fd.ts) on a real connected
// TCP socket: nothing is written before the descriptor is lent or after it
// is revoked, a full socket buffer is "0 bytes" (EAGAIN), never an error, and
// a revoke waits for a write in progress (the enclave's hold on the lease).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { DIRECT_UNAVAILABLE, HostFdLease } from '../../src/layer/net/host-fd.js';

/** A connected pair on 127.0.0.1: `client` (whose descriptor is lent) and the server's end, paused. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket; close: () => Promise<void> }> {
  let accepted!: (s: net.Socket) => void;
  const got = new Promise<net.Socket>((resolve) => { accepted = resolve; });
  const listener = net.createServer({ pauseOnConnect: true }, (s) => accepted(s));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const server = await got;
  return {
    client, server,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

const fdOf = (s: net.Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd;

/** Reads from the paused `server` until `n` bytes have come. */
async function readBytes(server: net.Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  server.resume();
  await new Promise<void>((resolve) => {
    server.on('data', (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have >= n) resolve();
    });
  });
  server.pause();
  return Buffer.concat(chunks);
}

describe('the host descriptor lease', () => {
  it('writes nothing before the descriptor is lent, then writes to the socket', async () => {
    const p = await pair();
    try {
      const lease = HostFdLease.create();
      assert.equal(lease.write([Buffer.from('early')]), DIRECT_UNAVAILABLE);
      lease.lend(fdOf(p.client));
      assert.equal(lease.write([Buffer.from('ab'), Buffer.from('cd')]), 4);
      assert.equal((await readBytes(p.server, 4)).toString(), 'abcd');
    } finally {
      await p.close();
    }
  });

  it('a full socket buffer is 0 bytes written (EAGAIN), not an error', async () => {
    const p = await pair();
    try {
      const lease = HostFdLease.create();
      lease.lend(fdOf(p.client));
      const chunk = Buffer.alloc(1024 * 1024, 7);
      let written = 0;
      let last = -2;
      // The server reads nothing: the kernel's buffers fill within a few MiB.
      for (let i = 0; i < 1000 && last !== 0; i++) {
        last = lease.write([chunk]);
        assert.ok(last >= 0, `write ${i} returned ${last}`);
        written += last;
      }
      assert.equal(last, 0);
      assert.ok(written > 0);
      // Every byte the kernel took arrives.
      assert.equal((await readBytes(p.server, written)).length, written);
    } finally {
      await p.close();
    }
  });

  it('after revoke() nothing is written, and revoke() waits for a write in progress to end', async () => {
    const p = await pair();
    try {
      const lease = HostFdLease.create();
      lease.lend(fdOf(p.client));
      // The enclave's hold during its system call (state word 1 = in use), as another thread would take it.
      const state = new Int32Array(lease.sab);
      Atomics.store(state, 1, 1);
      let revoked = false;
      const revoking = lease.revoke().then(() => { revoked = true; });
      await delay(50);
      assert.equal(revoked, false, 'revoke() waited for the write in progress');
      Atomics.store(state, 1, 0);
      Atomics.notify(state, 1);
      await revoking;
      assert.equal(lease.revoked, true);
      assert.equal(lease.write([Buffer.from('late')]), DIRECT_UNAVAILABLE);
      // Lending again after a revoke does not bring the descriptor back.
      lease.lend(fdOf(p.client));
      assert.equal(lease.write([Buffer.from('late')]), DIRECT_UNAVAILABLE);
    } finally {
      await p.close();
    }
  });

  it('revokeNow() takes the lease from a holder whose thread is gone', async () => {
    const lease = HostFdLease.create();
    Atomics.store(new Int32Array(lease.sab), 1, 1);
    lease.revokeNow();
    assert.equal(lease.revoked, true);
    await lease.revoke();
  });
});
