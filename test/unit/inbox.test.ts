// A datagram socket's inbox (src/layer/net/inbox.ts): one ring per writer,
// read in turn; a peek is what the next receive takes; a writer that goes
// away leaves its datagrams to be read, then its ring is dropped; a guest of
// the same name later gets a fresh ring; closing tells every writer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControlBlock } from '../../src/layer/net/control-block.js';
import { putDatagram } from '../../src/layer/net/datagram.js';
import { Inbox, InboxReader } from '../../src/layer/net/inbox.js';
import { Ring, RingFlag } from '../../src/layer/ring.js';

function setup(): { inbox: Inbox; reader: InboxReader; fetches: () => number; announced: () => number } {
  const block = new ControlBlock();
  let fetches = 0;
  let announced = 0;
  const inbox = new Inbox(block, () => Ring.create(1024), () => { announced++; });
  const reader = new InboxReader(block, () => { fetches++; return inbox.list(); });
  return { inbox, reader, fetches: () => fetches, announced: () => announced };
}

const from = (n: number) => ({ family: 4 as const, ip: `10.89.0.${n}`, port: 1000 + n });
const send = (ring: Ring, n: number, text: string): boolean => putDatagram(ring, from(n), [Buffer.from(text)]);

function take(reader: InboxReader, peek = false): string | undefined {
  const buf = new Uint8Array(64);
  const d = reader.take([buf], peek);
  return d ? `${d.from.ip} ${Buffer.from(buf.subarray(0, d.copied)).toString()}` : undefined;
}

describe('datagram inbox', () => {
  it('gives each writer a ring of its own, announced once, and reads them in turn', () => {
    const { inbox, reader, fetches, announced } = setup();
    const a = inbox.ringFor('a');
    const b = inbox.ringFor('b');
    assert.equal(inbox.ringFor('a'), a, 'a writer keeps its ring');
    assert.notEqual(a, b);
    assert.equal(announced(), 2);
    for (let i = 0; i < 3; i++) send(a, 2, `a${i}`);
    send(b, 3, 'b0');
    assert.equal(reader.ready(), true, 'new rings are news');
    const got = [take(reader), take(reader), take(reader), take(reader), take(reader)];
    assert.deepEqual(got, ['10.89.0.2 a0', '10.89.0.3 b0', '10.89.0.2 a1', '10.89.0.2 a2', undefined],
      'a flooding writer does not starve the other');
    assert.equal(fetches(), 1, 'the list is fetched only when the layer added a ring');
    assert.equal(reader.ready(), false);
  });

  it('a peek shows the datagram the next receive takes', () => {
    const { inbox, reader } = setup();
    const a = inbox.ringFor('a');
    const b = inbox.ringFor('b');
    send(a, 2, 'a0');
    send(b, 3, 'b0');
    assert.equal(take(reader), '10.89.0.2 a0');
    send(a, 2, 'a1');
    assert.equal(take(reader, true), '10.89.0.3 b0');
    assert.equal(take(reader, true), '10.89.0.3 b0');
    assert.equal(take(reader), '10.89.0.3 b0');
    assert.equal(take(reader), '10.89.0.2 a1');
  });

  it('a writer that goes away leaves what it sent; then its ring is dropped, and its name gets a new one', () => {
    const { inbox, reader } = setup();
    const a = inbox.ringFor('a');
    send(a, 2, 'last words');
    inbox.writerGone('a');
    assert.equal(a.flag(RingFlag.WRITER_CLOSED), true);
    assert.equal(inbox.list().length, 1, 'kept while it holds a datagram');
    assert.equal(take(reader), '10.89.0.2 last words');
    assert.equal(take(reader), undefined);
    assert.equal(inbox.list().length, 0, 'dropped once read');
    const again = inbox.ringFor('a');
    assert.notEqual(again, a, 'a later guest of the same name writes a fresh ring');
    send(again, 4, 'new');
    assert.equal(take(reader), '10.89.0.4 new');
    assert.equal(inbox.used, 0);
  });

  it('closing tells every writer (READER_CLOSED) and forgets the rings', () => {
    const { inbox } = setup();
    const rings = [inbox.ringFor(undefined), inbox.ringFor('a')];
    send(rings[1]!, 2, 'x');
    assert.equal(inbox.used, 24 + 1);
    inbox.close();
    assert.ok(rings.every((r) => r.flag(RingFlag.READER_CLOSED)));
    assert.deepEqual(inbox.list(), []);
  });
});
