// Hostile guests against the write cache: death at every point (attack
// class 4). Guests writing a file in
// 8-byte writes are stopped at random moments, by AbortSignal and by their
// time limit, round after round: the file always holds whole records in
// order with no hole, every record the guest reported written is there, and
// no host descriptor is left behind.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../src/api/run.js';
import { fdsBackTo, stableFds, warmUp } from '../helpers/hostile.js';
import { guest, tempDir } from '../helpers/cli.js';
import { rng } from '../helpers/random.js';

const ROUNDS = 40;
const GUEST = guest('small_file_writes');

const record = (i: number): string => `${String(i % 10_000_000).padStart(7, '0')}\n`;

/** Throws unless `text` is records 0..k-1 for some k; returns k. */
function wholeRecords(text: string, seed: number): number {
  assert.equal(text.length % 8, 0, `seed ${seed}: ${text.length} bytes is not whole records`);
  const k = text.length / 8;
  for (let i = 0; i < k; i++) {
    if (text.slice(i * 8, i * 8 + 8) !== record(i)) assert.fail(`seed ${seed}: record ${i} is ${JSON.stringify(text.slice(i * 8, i * 8 + 8))}`);
  }
  return k;
}

describe('hostile guests: the write cache under death at every point (class 4)', () => {
  it(`${ROUNDS} writers stopped at random moments: whole records in order, nothing reported written is lost, no descriptor left`, { timeout: 300_000 }, async () => {
    const seed = Date.now() % 1_000_000_007;
    const rand = rng(seed);
    const tmp = tempDir();
    try {
      await warmUp();
      const baseline = await stableFds();
      for (let round = 0; round < ROUNDS; round++) {
        const file = path.join(tmp.path, `w${round}`);
        const n = 1000 + Math.floor(rand() * 200_000);
        const mode = rand() < 0.5 ? 'spin' : 'exit';
        const stopMs = Math.floor(rand() * 80);
        const byLimit = rand() < 0.5;
        const ctl = new AbortController();
        const timer = byLimit ? undefined : setTimeout(() => ctl.abort('SIGTERM'), stopMs);
        const r = await run(GUEST, {
          args: [mode, `/d/w${round}`, String(n)], dirs: [{ host: tmp.path, guest: '/d' }],
          stdout: 'capture', stderr: 'capture', signal: ctl.signal,
          ...(byLimit ? { timeoutMs: Math.max(1, stopMs) } : {}),
        }).finally(() => clearTimeout(timer));
        const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
        const k = wholeRecords(text, seed);
        if (r.stdout?.toString().includes(`wrote ${n}`)) assert.equal(k, n, `seed ${seed}, round ${round}: reported ${n} written, file holds ${k}`);
        if (mode === 'exit' && r.outcome.kind === 'exit') assert.equal(k, n, `seed ${seed}, round ${round}: exited, file holds ${k} of ${n}`);
      }
      assert.equal(await fdsBackTo(baseline), baseline, `seed ${seed}: host descriptors left open`);
    } finally {
      tmp.cleanup();
    }
  });
});
