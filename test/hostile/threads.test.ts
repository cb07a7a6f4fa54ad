// Threaded guests stopped at every point (THREATS.md class 4) and flooding
// spawns (class 3): an AbortSignal at a random moment ends a guest that is
// starting, joining, blocking or spinning threads; every run ends as killed
// (or done, if it finished first), and the host's thread count comes back.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../src/api/index.js';
import { ROOT } from '../helpers/cli.js';

const THREADS = path.join(ROOT, 'test', 'guests', 'wasix', 'threads.wasm');
const ROUNDS = 12;

function hostThreads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
}

async function settles(limit: number, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let n = hostThreads();
  while (n > limit && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    n = hostThreads();
  }
  return n;
}

describe('hostile threaded guests: stopped at every point (class 4), spawn floods (class 3)', () => {
  it(`${ROUNDS} threaded guests aborted at random while they start, join, block and spin threads: each ends, no host thread is left`,
    { timeout: 120_000 }, async () => {
      // Warm up the enclave pool, so that the baseline counts its spare threads.
      const warm = await run(THREADS, { args: ['basic'], stdout: 'ignore', stderr: 'ignore' });
      assert.equal(warm.exitCode, 0);
      const before = await settles(Infinity, 0);
      const modes = ['churn', 'block', 'spin', 'exhaust'];
      const seed = Date.now() >>> 0;
      let x = seed;
      const next = (): number => { x = (x * 1103515245 + 12345) >>> 0; return x; };
      for (let i = 0; i < ROUNDS; i++) {
        const mode = modes[i % modes.length]!;
        const delay = 20 + (next() % 400);
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort('SIGTERM'), delay);
        const r = await run(THREADS, { args: [mode], limits: { maxThreads: 3 }, signal: abort.signal, stdout: 'ignore', stderr: 'ignore' });
        clearTimeout(timer);
        const ok = r.outcome.kind === 'killed' || (r.outcome.kind === 'exit' && r.outcome.code === 0 && (mode === 'churn' || mode === 'exhaust'));
        assert.ok(ok, `seed ${seed}, round ${i} (${mode}, abort after ${delay} ms): ${JSON.stringify(r.outcome)}`);
      }
      // Spare enclave threads (one kept for runs, one for a threaded guest's next spawn) may remain; nothing per round.
      const after = await settles(before + 2);
      assert.ok(after <= before + 2, `host threads: ${before} before, ${after} after ${ROUNDS} rounds (seed ${seed})`);
    });
});
