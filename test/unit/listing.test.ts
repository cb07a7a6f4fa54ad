// fd_readdir's cursor (src/layer/fs/listing.ts): entries by cookie without a whole listing held,
// at most MAX_OPEN_STREAMS streams per enclave, and the same answers after a stream is evicted.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Listing, Listings, MAX_OPEN_STREAMS } from '../../src/layer/fs/listing.js';
import { MemDir } from '../../src/layer/fs/memfs.js';

function dirWith(n: number): MemDir {
  const d = MemDir.create(1 << 20, '/t');
  for (let i = 0; i < n; i++) d.mkdir(`d${i}`);
  return d;
}

/** Every name from `cookie` on. */
function namesFrom(l: Listing, cookie = 0n): string[] {
  const out: string[] = [];
  for (let c = cookie, e = l.at(c); e !== undefined; e = l.at(++c)) out.push(e.name);
  return out;
}

describe('directory listings', () => {
  it('give ".", "..", then every entry once; any cookie, forwards or back, gives the same entry', () => {
    const l = new Listing(dirWith(50), new Listings());
    const all = namesFrom(l);
    assert.deepEqual(all, ['.', '..', ...Array.from({ length: 50 }, (_, i) => `d${i}`)]);
    for (const c of [40n, 3n, 3n, 51n, 2n, 0n, 49n]) assert.equal(l.at(c)?.name, all[Number(c)]);
    assert.equal(l.at(52n), undefined);
    assert.equal(l.at(2n ** 64n - 1n), undefined);
  });

  it('a read from cookie 0 sees what was added since (rewinddir)', () => {
    const d = dirWith(1);
    const l = new Listing(d, new Listings());
    assert.equal(namesFrom(l).length, 3);
    d.mkdir('late');
    assert.deepEqual(namesFrom(l).slice(2), ['d0', 'late']);
  });

  it(`keep at most ${MAX_OPEN_STREAMS} streams open per enclave; an evicted one restarts where it was`, () => {
    const pool = new Listings();
    const d = dirWith(20);
    const ls = Array.from({ length: 3 * MAX_OPEN_STREAMS }, () => new Listing(d, pool));
    // Interleaved: each reads one entry in turn, so every read of the second round follows an eviction.
    for (let c = 2n; c < 12n; c++) {
      for (const l of ls) assert.equal(l.at(c)?.name, `d${c - 2n}`);
      assert.ok(pool.size <= MAX_OPEN_STREAMS, `${pool.size} streams open`);
    }
    for (const l of ls) l.close();
    assert.equal(pool.size, 0);
  });
});
