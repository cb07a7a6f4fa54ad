// The pool's spares (src/enclave/pool.ts): a spare taken is replaced at
// once, except while work that needs every core runs (a resume's
// unsealing), when the replacement is booted once that work is done, or
// has failed.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { holdSpares, idleThreads, keepSpares, takeWorker } from '../../src/enclave/pool.js';

const taken: Worker[] = [];
after(async () => {
  keepSpares(0);
  await Promise.all(taken.map((w) => w.terminate()));
});

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('spare enclave threads', () => {
  it('replaces a spare taken at once when nothing holds them', () => {
    keepSpares(1);
    assert.equal(idleThreads(), 1);
    taken.push(takeWorker());
    assert.equal(idleThreads(), 1);
  });

  for (const outcome of ['ends', 'fails'] as const) {
    it(`boots no replacement while held, and boots it once the work ${outcome}`, async () => {
      keepSpares(1);
      let finish!: () => void;
      let fail!: (err: Error) => void;
      const work = new Promise<void>((resolve, reject) => { finish = resolve; fail = reject; });
      holdSpares(work);
      taken.push(takeWorker());
      assert.equal(idleThreads(), 0, 'no thread boots beside the work');
      await settle();
      assert.equal(idleThreads(), 0);
      if (outcome === 'ends') finish(); else fail(new Error('the unsealing thread died'));
      await settle();
      await settle();
      assert.equal(idleThreads(), 1, 'the spare is booted after it');
    });
  }

  it('holds until every piece of work held is done', async () => {
    keepSpares(1);
    let first!: () => void;
    let second!: () => void;
    holdSpares(new Promise<void>((r) => { first = r; }));
    holdSpares(new Promise<void>((r) => { second = r; }));
    taken.push(takeWorker());
    first();
    await settle();
    await settle();
    assert.equal(idleThreads(), 0, 'the second still runs');
    second();
    await settle();
    await settle();
    assert.equal(idleThreads(), 1);
  });
});
