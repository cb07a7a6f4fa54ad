// The line prefixer of `capsule up`: whole lines, a bound on what it holds,
// and a write that is not done until the stream below has taken it.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { MAX_LINE, prefixedLines } from '../../src/api/prefix.js';

/** A stream below that takes writes only when told to (release()). */
function heldOutput(): { out: Writable; text(): string; release(): void } {
  let text = '';
  const held: (() => void)[] = [];
  const out = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, done) { text += chunk.toString('utf8'); held.push(done); },
  });
  return { out, text: () => text, release: () => { for (const d of held.splice(0)) d(); } };
}

const written = (w: Writable, data: string): Promise<void> => new Promise((resolve, reject) => w.write(data, (err) => (err ? reject(err) : resolve())));

describe('prefixedLines', () => {
  it('prefixes whole lines and keeps a partial line for its newline', async () => {
    const below = heldOutput();
    below.release();
    const p = prefixedLines('g | ', below.out);
    const first = written(p, 'one\ntw');
    below.release();
    await first;
    const second = written(p, 'o\n');
    below.release();
    await second;
    assert.equal(below.text(), 'g | one\ng | two\n');
  });

  it('is not done with a write until the stream below drains', async () => {
    const below = heldOutput();
    const p = prefixedLines('g | ', below.out);
    let done = false;
    const w = written(p, 'a line longer than the sixteen bytes below\n').then(() => { done = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'still waiting for the stream below');
    below.release();
    await w;
    assert.equal(done, true);
  });

  it('cuts a line without a newline into prefixed pieces rather than holding it', async () => {
    const below = heldOutput();
    const p = prefixedLines('g | ', below.out);
    const w = written(p, 'x'.repeat(MAX_LINE * 2 + 10));
    below.release();
    await w;
    assert.equal(below.text(), `g | ${'x'.repeat(MAX_LINE)}\n`.repeat(2), 'the last 10 wait for their newline');
  });

  it('answers EPIPE once the stream below has gone away', async () => {
    const below = heldOutput();
    below.out.destroy();
    const p = prefixedLines('g | ', below.out);
    await assert.rejects(written(p, 'lost\n'), { code: 'EPIPE' });
  });
});
