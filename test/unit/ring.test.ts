// Ring (src/layer/ring.ts): FIFO byte order across wrap-around, partial
// writes when full, framed records, flags, and wake-ups on close.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ring, RingFlag } from '../../src/layer/ring.js';
import { waitForData, waitForSpace } from '../../src/layer/ring-wait.js';
import { rng } from '../helpers/random.js';

/** Streams `total` patterned bytes through `ring` in random chunk sizes; returns [sent, received]. */
function pump(ring: Ring, total: number, seed: number): [Buffer, Buffer] {
  const rand = rng(seed);
  const input = Buffer.alloc(total);
  for (let i = 0; i < total; i++) input[i] = Math.floor(rand() * 256);
  const out: Buffer[] = [];
  let sent = 0;
  let received = 0;
  while (received < total) {
    if (sent < total) {
      const n = 1 + Math.floor(rand() * (rand() < 0.5 ? 32 : ring.capacity + 50));
      sent += ring.tryWrite(input.subarray(sent, Math.min(total, sent + n)));
    }
    const buf = Buffer.alloc(1 + Math.floor(rand() * (rand() < 0.5 ? 32 : ring.capacity)));
    const got = ring.tryRead(buf);
    out.push(buf.subarray(0, got));
    received += got;
    assert.equal(ring.used, sent - received);
  }
  return [input, Buffer.concat(out)];
}

describe('Ring bytes', () => {
  it('capacity must be a power of two', () => {
    assert.throws(() => Ring.create(1000), RangeError);
    const r = Ring.create(64);
    assert.deepEqual([r.capacity, r.used, r.free], [64, 0, 64]);
  });

  it('keeps FIFO order across many wrap-arounds with random chunk sizes', () => {
    const [input, output] = pump(Ring.create(256), 200_000, 1);
    assert.ok(output.equals(input), 'bytes differ after passing through the ring');
  });

  it('keeps FIFO order when the 32-bit position counters overflow', () => {
    for (const start of [0x7fffff00, -256]) {
      const r = Ring.create(128);
      r.header[0] = start; // write position
      r.header[1] = start; // read position
      assert.equal(r.used, 0);
      const [input, output] = pump(r, 20_000, 2);
      assert.ok(output.equals(input), `bytes differ starting at ${start}`);
    }
  });

  it('tryWrite returns a partial count when full, and 0 when there is no room', () => {
    const r = Ring.create(64);
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    assert.equal(r.tryWrite(data), 64);
    assert.deepEqual([r.used, r.free], [64, 0]);
    assert.equal(r.tryWrite(Buffer.from([1])), 0);
    const head = Buffer.alloc(10);
    assert.equal(r.tryRead(head), 10);
    assert.deepEqual([...head], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(r.tryWrite(data.subarray(64)), 10);
    const rest = Buffer.alloc(100);
    assert.equal(r.tryRead(rest), 64);
    assert.deepEqual([...rest.subarray(0, 64)], [...data.subarray(10, 74)]);
    assert.equal(r.tryRead(rest), 0);
  });

  it('tryWriteUnit writes all pieces or none', () => {
    const r = Ring.create(16);
    assert.equal(r.tryWriteUnit([Buffer.from('abc'), Buffer.from('defgh')], 8), true);
    assert.equal(r.tryWriteUnit([Buffer.from('12345'), Buffer.from('6789')], 9), false);
    assert.equal(r.used, 8);
    const out = Buffer.alloc(16);
    assert.equal(out.subarray(0, r.tryRead(out)).toString(), 'abcdefgh');
  });
});

describe('Ring records', () => {
  /** Reads one record as the output pump does: byteAt for the header, peek for the body. */
  function readRecord(r: Ring): [number, Buffer] {
    const tag = r.byteAt(0);
    const len = r.byteAt(1) | (r.byteAt(2) << 8) | (r.byteAt(3) << 16);
    const body = Buffer.alloc(len);
    r.peek(body, 4);
    r.consume(4 + len);
    return [tag, body];
  }

  it('frames [tag][len:u24][bytes], also across the wrap point', () => {
    const r = Ring.create(64);
    r.tryWrite(Buffer.alloc(50));
    r.tryRead(Buffer.alloc(50)); // positions now sit near the end of the buffer
    assert.equal(r.tryWriteRecord(2, Buffer.from('across the end!!!')), true);
    assert.equal(r.tryWriteRecord(1, Buffer.alloc(0)), true);
    assert.equal(r.used, 4 + 17 + 4);
    assert.deepEqual(readRecord(r), [2, Buffer.from('across the end!!!')]);
    assert.deepEqual(readRecord(r), [1, Buffer.alloc(0)]);
    assert.equal(r.used, 0);
  });

  it('encodes lengths above 64 KiB in 24 bits', () => {
    const r = Ring.create(1 << 18);
    const body = Buffer.alloc(70_000, 7);
    assert.equal(r.tryWriteRecord(1, body), true);
    assert.deepEqual([r.byteAt(1), r.byteAt(2), r.byteAt(3)], [70_000 & 0xff, (70_000 >> 8) & 0xff, 70_000 >> 16]);
    const [tag, got] = readRecord(r);
    assert.equal(tag, 1);
    assert.ok(got.equals(body));
  });

  it('refuses a record that does not fit whole, leaving the ring unchanged', () => {
    const r = Ring.create(32);
    assert.equal(r.tryWriteRecord(1, Buffer.alloc(20)), true);
    assert.equal(r.tryWriteRecord(1, Buffer.alloc(9)), false);
    assert.equal(r.used, 24);
    assert.equal(r.tryWriteRecord(2, Buffer.alloc(4)), true);
    assert.equal(r.used, 32);
  });
});

describe('Ring flags and waiting', () => {
  it('flags are independent bits that stay set', () => {
    const r = Ring.create(16);
    assert.equal(r.flag(RingFlag.WRITER_CLOSED), false);
    r.setFlag(RingFlag.WRITER_CLOSED);
    r.setFlag(RingFlag.WRITER_CLOSED);
    assert.equal(r.flag(RingFlag.WRITER_CLOSED), true);
    assert.equal(r.flag(RingFlag.READER_CLOSED), false);
    r.setFlag(RingFlag.READER_CLOSED);
    assert.deepEqual([r.flag(RingFlag.WRITER_CLOSED), r.flag(RingFlag.READER_CLOSED)], [true, true]);
  });

  it('flagSet() resolves once the flag is set', async () => {
    const r = Ring.create(16);
    let resolved = false;
    const p = r.flagSet(RingFlag.READER_CLOSED).then(() => { resolved = true; });
    await new Promise((res) => setImmediate(res));
    assert.equal(resolved, false);
    r.setFlag(RingFlag.READER_CLOSED);
    await p;
    assert.equal(resolved, true);
  });

  it('waitForData/waitForSpace report readiness, and false on a zero timeout', () => {
    const r = Ring.create(16);
    assert.equal(waitForData(r, 0), false);
    r.tryWrite(Buffer.from('x'));
    assert.equal(waitForData(r, 0), true);
    assert.equal(waitForSpace(r, 15, 0), true);
    assert.equal(waitForSpace(r, 16, 0), false);
    const closed = Ring.create(16);
    closed.setFlag(RingFlag.WRITER_CLOSED);
    assert.equal(waitForData(closed, 0), true, 'a closed writer counts as ready (end of stream)');
  });

  it('a close that lands just before the reader sleeps still wakes it', {
  }, () => {
    for (const [bit, wait] of [
      [RingFlag.WRITER_CLOSED, (r: Ring) => waitForData(r)],
      [RingFlag.READER_CLOSED, (r: Ring) => { r.tryWrite(Buffer.alloc(16)); return waitForSpace(r, 1); }],
    ] as const) {
      const r = Ring.create(16);
      type Wait = (arr: Int32Array, index: number, value: number, timeout?: number) => string;
      const realWait = Atomics.wait as Wait;
      const results: string[] = [];
      // Simulate the other thread: its setFlag (and notify) runs after the waiter's final
      // ready() check but before it sleeps. The waiter must not then sleep on an unchanged word.
      (Atomics as unknown as { wait: Wait }).wait = (arr, index, value, timeout) => {
        if (results.length === 0) r.setFlag(bit);
        const res = realWait(arr, index, value, Math.min(timeout ?? Infinity, 200));
        results.push(res);
        return res;
      };
      try {
        assert.equal(wait(r), true);
      } finally {
        (Atomics as unknown as { wait: Wait }).wait = realWait;
      }
      assert.ok(results.length > 0, 'the waiter went to sleep');
      assert.notEqual(results[0], 'timed-out', `flag ${bit}: the waiter slept through the close`);
    }
  });
});
