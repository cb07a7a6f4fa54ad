// Death at every point, for reused enclave threads: stops arriving at random
// times around a guest's end (before, during, after its report) never leave
// a thread that is reused after anything but a clean end, and the guest on a
// reused thread still sees nothing of the one before it.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { run, type RunResult } from '../../src/api/index.js';
import { guest } from '../helpers/cli.js';

const thread = (r: RunResult): { id: number; guest: number } => {
  assert.ok(r.usage.enclaveThread, `no enclave thread in ${JSON.stringify(r.usage)}`);
  return r.usage.enclaveThread;
};

describe('hostile: stops at random points around reused threads', () => {
  it('a thread is reused only after a clean end, whenever the stop comes (80 rounds)', { timeout: 120_000 }, async () => {
    const secret = crypto.randomBytes(12).toString('hex');
    const kinds = new Map<string, number>();
    let reused = 0;
    for (let round = 0; round < 80; round++) {
      // A guest that leaves a secret behind, stopped somewhere between its start and well after its end.
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), Math.random() * 12);
      const a = await run(guest('observe'), { args: ['leave', secret], env: { SECRET_ENV: secret }, tmpfs: { '/w': '1MiB' },
        signal: stop.signal, stdout: 'capture', stderr: 'capture' });
      clearTimeout(timer);
      stop.abort();
      kinds.set(a.outcome.kind, (kinds.get(a.outcome.kind) ?? 0) + 1);
      assert.ok(a.outcome.kind === 'exit' || a.outcome.kind === 'killed', JSON.stringify(a.outcome));
      const b = await run(guest('observe'), { args: ['dump', [...secret].reverse().join('')], tmpfs: { '/w': '1MiB' }, stdout: 'capture' });
      const seen = b.stdout!.toString();
      assert.equal(b.exitCode, 0, seen);
      assert.ok(!seen.includes(secret), seen);
      assert.match(seen, /secret absent$/m);
      assert.deepEqual(seen.split('\n').filter((l) => l.startsWith('env ')), []);
      assert.deepEqual(seen.split('\n').filter((l) => l.startsWith('fd ')).map((l) => l.trim()), ['fd 0 type 0', 'fd 1 type 0', 'fd 2 type 0', 'fd 3 type 3 /w']);
      if (thread(b).guest > 1) {
        // On the thread A left: A ended cleanly.
        reused++;
        assert.equal(a.outcome.kind, 'exit');
        assert.deepEqual(thread(b), { id: thread(a).id, guest: thread(a).guest + 1 });
      }
      if (a.outcome.kind !== 'exit') assert.equal(thread(b).guest, 1, `after ${JSON.stringify(a.outcome)}`);
    }
    // Both ends happened, and threads were reused.
    assert.ok((kinds.get('killed') ?? 0) > 0 && (kinds.get('exit') ?? 0) > 0, JSON.stringify([...kinds]));
    assert.ok(reused > 0);
  });
});
