// The hand-over of a bridged socket's reads between the host (Node) and the
// owning enclave (src/host/net-reads.ts, the READER word of
// src/layer/net/host-fd.ts), on real connected TCP sockets. The enclave's
// side runs here on the test's thread (its reads are non-blocking system
// calls): the bytes must come out whole and in the peer's order whoever
// reads them, Node must never read while the enclave holds the reads, and an
// end of stream or a reset met by the enclave must reach the host.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { DIRECT_AGAIN, DIRECT_FAILED, DIRECT_UNAVAILABLE, HostFdLease, Reader } from '../../src/layer/net/host-fd.js';
import { HostReads } from '../../src/host/net-reads.js';

interface Harness {
  /** The peer: what it writes is what the bridged socket reads. */
  peer: net.Socket;
  /** The bridged socket's end, as the host pumps it. */
  host: net.Socket;
  lease: HostFdLease;
  reads: HostReads;
  /** What Node read and delivered, in order. */
  delivered: Buffer[];
  ended: Promise<void>;
  errors: NodeJS.ErrnoException[];
  /** Times the enclave's waits were woken by a grant. */
  grants: number;
  close(): Promise<void>;
}

const fdOf = (s: net.Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd;

/** A connected pair; the bridged end delivers as the pump does (each chunk, then delivered()). */
async function harness(): Promise<Harness> {
  let accepted!: (s: net.Socket) => void;
  const got = new Promise<net.Socket>((resolve) => { accepted = resolve; });
  const listener = net.createServer({ allowHalfOpen: true }, (s) => accepted(s));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const host = net.connect({ port: (listener.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const lease = HostFdLease.create();
  const h = { grants: 0 } as Harness;
  const reads = new HostReads(host, lease, () => host.readableLength === 0, () => { h.grants++; });
  const delivered: Buffer[] = [];
  const errors: NodeJS.ErrnoException[] = [];
  host.on('data', (d: Buffer) => {
    delivered.push(d);
    reads.delivered();
  });
  host.on('error', (e: NodeJS.ErrnoException) => errors.push(e));
  const ended = new Promise<void>((resolve) => host.once('end', () => resolve()));
  host.once('close', () => reads.close());
  await new Promise<void>((resolve) => host.once('connect', () => {
    lease.lend(fdOf(host));
    reads.attach();
    resolve();
  }));
  const peer = await got;
  peer.on('error', () => {});
  return Object.assign(h, {
    peer, host, lease, reads, delivered, ended, errors,
    close: async () => {
      host.destroy();
      peer.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  });
}

/** Waits (a bounded while) until `cond` holds. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(1);
  }
}

/** The enclave's read of up to `n` bytes: the bytes, or the DIRECT_* code. */
function enclaveRead(lease: HostFdLease, n = 65536): Buffer | number {
  const buf = Buffer.alloc(n);
  const r = lease.read([buf]);
  return r > 0 ? buf.subarray(0, r) : r;
}

/** Reads directly until `n` bytes have come (the peer's bytes are on their way). */
async function enclaveReadAll(lease: HostFdLease, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  const deadline = Date.now() + 5000;
  while (have < n) {
    const r = enclaveRead(lease, n - have);
    if (typeof r === 'number') {
      assert.equal(r, DIRECT_AGAIN, 'a direct read while the reads are the enclave\'s');
      if (Date.now() > deadline) throw new Error(`only ${have} of ${n} bytes came`);
      await delay(1);
      continue;
    }
    parts.push(r);
    have += r.length;
  }
  return Buffer.concat(parts);
}

describe('the hand-over of a bridged socket\'s reads', () => {
  it('reads are granted only once Node has delivered what it read; then Node reads nothing until they are given back', async () => {
    const h = await harness();
    try {
      assert.equal(enclaveRead(h.lease), DIRECT_UNAVAILABLE, 'the host reads first');
      h.lease.giveBackReads(true);
      await delay(30);
      assert.equal(h.lease.reader, Reader.WANTED, 'not granted before anything was delivered');
      h.peer.write('first');
      await until(() => h.lease.reader === Reader.ENCLAVE, 'the grant');
      assert.equal(Buffer.concat(h.delivered).toString(), 'first');
      assert.equal(h.grants, 1);
      h.peer.write('second');
      assert.equal((await enclaveReadAll(h.lease, 6)).toString(), 'second');
      await delay(30);
      assert.equal(Buffer.concat(h.delivered).toString(), 'first', 'Node read nothing while the enclave held the reads');
      h.lease.giveBackReads();
      h.peer.write('third');
      await until(() => Buffer.concat(h.delivered).toString() === 'firstthird', 'Node reading again');
      assert.equal(enclaveRead(h.lease), DIRECT_UNAVAILABLE);
    } finally {
      await h.close();
    }
  });

  it('a stream handed back and forth many times arrives whole and in order', async () => {
    const h = await harness();
    try {
      const sent: Buffer[] = [];
      const got: Buffer[] = [];
      let seen = 0;
      for (let round = 0; round < 60; round++) {
        // Several writes, so that Node may have read more than one chunk when the grant comes.
        for (let i = 0; i < 3; i++) {
          const chunk = Buffer.alloc(1 + ((round * 7919 + i * 104729) % 40000), (round * 3 + i) & 0xff);
          sent.push(chunk);
          h.peer.write(chunk);
        }
        const total = Buffer.concat(sent).length;
        if (round % 2 === 0) {
          // The enclave asks; whatever Node delivers comes first, the rest it reads itself.
          h.lease.giveBackReads(true);
          await until(() => h.lease.reader === Reader.ENCLAVE || Buffer.concat(h.delivered).length >= total, 'a grant or Node');
          const fromNode = Buffer.concat(h.delivered.splice(0));
          got.push(fromNode);
          seen += fromNode.length;
          if (h.lease.reader === Reader.ENCLAVE) {
            got.push(await enclaveReadAll(h.lease, total - seen));
            seen = total;
          }
        } else {
          h.lease.giveBackReads();
          await until(() => seen + Buffer.concat(h.delivered).length >= total, 'Node');
          const fromNode = Buffer.concat(h.delivered.splice(0));
          got.push(fromNode);
          seen += fromNode.length;
        }
      }
      assert.ok(h.grants > 0, 'the enclave read part of the stream itself');
      assert.deepEqual(Buffer.concat(got), Buffer.concat(sent));
    } finally {
      await h.close();
    }
  });

  it('an end of stream met by the enclave is 0 bytes, and Node sees it once the reads are given back', async () => {
    const h = await harness();
    try {
      h.lease.giveBackReads(true);
      h.peer.write('x');
      await until(() => h.lease.reader === Reader.ENCLAVE, 'the grant');
      h.peer.end();
      await until(() => enclaveRead(h.lease) === 0, 'the end of stream');
      h.lease.giveBackReads();
      await h.ended;
    } finally {
      await h.close();
    }
  });

  it('a reset met by the enclave is handed to the host: its socket fails with ECONNRESET', async () => {
    const h = await harness();
    try {
      h.lease.giveBackReads(true);
      h.peer.write('x');
      await until(() => h.lease.reader === Reader.ENCLAVE, 'the grant');
      h.peer.resetAndDestroy();
      await until(() => {
        const r = enclaveRead(h.lease);
        return r === DIRECT_FAILED;
      }, 'the reset');
      assert.equal(h.lease.reader, Reader.HOST, 'a failed read gives the reads back');
      await until(() => h.host.destroyed, 'the host socket destroyed');
      assert.equal(h.errors[0]?.code, 'ECONNRESET');
    } finally {
      await h.close();
    }
  });

  it('the host takes the reads back only after a read of the enclave in progress', async () => {
    const h = await harness();
    try {
      h.lease.giveBackReads(true);
      h.peer.write('x');
      await until(() => h.lease.reader === Reader.ENCLAVE, 'the grant');
      // The enclave's hold during its system call (state word 1 = in use), as its thread would take it.
      const words = new Int32Array(h.lease.sab);
      Atomics.store(words, 1, 1);
      h.reads.takeBack();
      h.peer.write('after');
      await delay(50);
      assert.equal(Buffer.concat(h.delivered).toString(), 'x', 'Node waited for the read in progress');
      Atomics.store(words, 1, 0);
      Atomics.notify(words, 1);
      await until(() => Buffer.concat(h.delivered).toString() === 'xafter', 'Node reading again');
    } finally {
      await h.close();
    }
  });

  it('a read into more buffers than one system call takes is a short read, never a broken connection', async () => {
    const h = await harness();
    try {
      h.lease.giveBackReads(true);
      h.peer.write('x');
      await until(() => h.lease.reader === Reader.ENCLAVE, 'the grant');
      const sent = Buffer.alloc(3000);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 0xff;
      h.peer.write(sent);
      await delay(30);
      // A guest chooses how many buffers a receive has: 3000 of one byte each.
      const bufs = Array.from({ length: 3000 }, () => Buffer.alloc(1));
      const n = h.lease.read(bufs);
      assert.ok(n > 0 && n <= 1024, `read ${n}`);
      assert.deepEqual(Buffer.concat(bufs.slice(0, n)), sent.subarray(0, n));
      assert.equal(h.lease.reader, Reader.ENCLAVE, 'the reads stay the enclave\'s');
      assert.deepEqual(await enclaveReadAll(h.lease, sent.length - n), sent.subarray(n));
      assert.equal(h.errors.length, 0);
    } finally {
      await h.close();
    }
  });

  it('after close() nothing is granted and the enclave cannot read', async () => {
    const h = await harness();
    try {
      h.reads.close();
      h.lease.giveBackReads(true);
      h.peer.write('late');
      await until(() => Buffer.concat(h.delivered).toString() === 'late', 'Node reading');
      await delay(20);
      assert.notEqual(h.lease.reader, Reader.ENCLAVE);
      assert.equal(enclaveRead(h.lease), DIRECT_UNAVAILABLE);
    } finally {
      await h.close();
    }
  });
});
