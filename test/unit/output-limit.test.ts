// The output limit's head, tail and cut: what is delivered is exactly the
// first half of the allowance, a marker, and the most recent bytes; the tail
// held in memory never exceeds MAX_TAIL_BYTES whatever the limit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TAIL_BYTES, OutputLimiter } from '../../src/api/output-limit.js';

/** A limiter whose deliveries are collected per fd, in order. */
function collecting(limit: number): { limiter: OutputLimiter; delivered: { fd: number; text: string }[]; exceeded: () => boolean } {
  const delivered: { fd: number; text: string }[] = [];
  let exceeded = false;
  const limiter = new OutputLimiter(limit, (fd, bytes) => { delivered.push({ fd, text: Buffer.from(bytes).toString('latin1') }); },
    () => { exceeded = true; });
  return { limiter, delivered, exceeded: () => exceeded };
}

describe('output limit', () => {
  it('a flood of 1-byte writes alternating two streams: head, marker, then exactly the last bytes, in order', async () => {
    const limit = 64 * 1024;
    const { limiter, delivered, exceeded } = collecting(limit);
    const written: { fd: number; ch: string }[] = [];
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const fd = (i % 2) + 1;
      const ch = String.fromCharCode(97 + (i % 26));
      written.push({ fd, ch });
      void limiter.write(fd, Buffer.from(ch, 'latin1'));
    }
    assert.equal(exceeded(), true, 'past twice the limit');
    await limiter.finish();
    const markerAt = delivered.findIndex((d) => d.text.startsWith('\n[capsule: output limit'));
    assert.ok(markerAt > 0);
    const head = delivered.slice(0, markerAt).map((d) => d.text).join('');
    const tail = delivered.slice(markerAt + 1);
    assert.equal(head, written.slice(0, limit / 2).map((w) => w.ch).join(''));
    const room = limit / 2;
    const expectTail = written.slice(n - room);
    // Every tail byte is the right byte on the right stream.
    const got = tail.flatMap((d) => [...d.text].map((ch) => ({ fd: d.fd, ch })));
    assert.deepEqual(got, expectTail);
    assert.equal(limiter.cut, n - limit / 2 - room);
    assert.match(delivered[markerAt]!.text, new RegExp(`${limiter.cut} bytes cut here`));
  });

  it('the tail held in memory stops at MAX_TAIL_BYTES however large the limit', async () => {
    const limit = 64 * 1024 * 1024;
    const { limiter, delivered } = collecting(limit);
    const size = 64 * 1024;
    const pieces = (limit / 2 + 3 * MAX_TAIL_BYTES) / size;
    for (let i = 0; i < pieces; i++) void limiter.write(1, Buffer.alloc(size, i % 251));
    await limiter.finish();
    const markerAt = delivered.findIndex((d) => d.text.startsWith('\n[capsule: output limit'));
    const tailBytes = delivered.slice(markerAt + 1).reduce((s, d) => s + d.text.length, 0);
    assert.equal(tailBytes, MAX_TAIL_BYTES);
    assert.equal(limiter.cut, 2 * MAX_TAIL_BYTES);
    // The last byte delivered is the last byte written.
    assert.equal(delivered.at(-1)!.text.charCodeAt(delivered.at(-1)!.text.length - 1), (pieces - 1) % 251);
  });

  it('under the limit nothing is cut and nothing is held back', async () => {
    const { limiter, delivered } = collecting(1024 * 1024);
    for (let i = 0; i < 100; i++) void limiter.write(1 + (i % 2), Buffer.from(`line ${i}\n`));
    await limiter.finish();
    assert.equal(limiter.cut, 0);
    assert.equal(delivered.length, 100);
  });
});
