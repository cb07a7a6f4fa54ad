// Enclave threads reused by run(): a guest that ended cleanly leaves its
// thread to the next guest, which sees nothing of it (memory, environment,
// arguments, descriptors, files); every other end retires the thread, and so
// does the bound on guests per thread. Which thread ran a guest, and its rank
// there, are in the usage report.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { run, type RunOptions, type RunResult } from '../../src/api/index.js';
import { giveBack, MAX_GUESTS_PER_THREAD, MAX_REUSED_HEAP_BYTES, takeWorker } from '../../src/enclave/pool.js';
import { guest } from '../helpers/cli.js';

const secret = (): string => crypto.randomBytes(12).toString('hex');
const reversed = (s: string): string => [...s].reverse().join('');
const thread = (r: RunResult): { id: number; guest: number } => {
  assert.ok(r.usage.enclaveThread, `no enclave thread in ${JSON.stringify(r.usage)}`);
  return r.usage.enclaveThread;
};
const hello = (o: RunOptions = {}): Promise<RunResult> => run(guest('hello'), { stdout: 'capture', ...o });

/** What `observe dump` printed, by line kind. */
function observed(r: RunResult): { memory: string; env: string[]; fds: string[]; random: string; text: string } {
  const text = r.stdout!.toString();
  assert.equal(r.exitCode, 0, text + r.stderr?.toString());
  return {
    text,
    memory: text.match(/^memory .*$/m)![0],
    env: [...text.matchAll(/^env (.*)$/gm)].map((m) => m[1]!),
    fds: [...text.matchAll(/^fd (.*)$/gm)].map((m) => m[1]!.trim()),
    random: text.match(/^random (\w+)$/m)![1]!,
  };
}

describe('enclave threads reused by run()', () => {
  for (const end of ['returns', 'calls proc_exit'] as const) {
    it(`a guest that ${end} leaves nothing of itself to the next guest on its thread`, async () => {
      const s = secret();
      const common: RunOptions = { stdout: 'capture', stderr: 'capture', tmpfs: { '/work': '8MiB' }, limits: { memoryBytes: '64MiB' } };
      // The reference: the dump on a thread of its own.
      const fresh = await run(guest('observe'), { ...common, freshThread: true, args: ['dump', reversed(s)], env: { MINE: '1' } });
      assert.equal(thread(fresh).guest, 1);
      const a = await run(guest('observe'), { ...common, args: ['leave', s, ...(end === 'returns' ? [] : ['exit'])], env: { SECRET_ENV: s } });
      assert.equal(a.exitCode, 0, a.stderr?.toString());
      assert.match(a.stdout!.toString(), /left fd 4\n/);
      const b = await run(guest('observe'), { ...common, args: ['dump', reversed(s)], env: { MINE: '1' } });
      // The same thread, the next guest on it.
      assert.equal(thread(b).id, thread(a).id);
      assert.equal(thread(b).guest, thread(a).guest + 1);
      const seen = observed(b);
      const before = observed(fresh);
      assert.doesNotMatch(seen.text, new RegExp(s));
      assert.match(seen.memory, /secret absent$/);
      // Its whole memory as a guest on a fresh thread has it, byte for byte.
      assert.equal(seen.memory, before.memory);
      assert.deepEqual(seen.env, ['MINE=1']);
      // Its stdio and its own mount only: the file the guest before it left open is gone.
      assert.deepEqual(seen.fds, ['0 type 0', '1 type 0', '2 type 0', '3 type 3 /work']);
      assert.notEqual(seen.random, before.random);
    });
  }

  const ends: [string, () => Promise<RunResult>, string][] = [
    ['a trap', () => run(guest('trap_unreachable'), { stdout: 'capture', stderr: 'capture' }), 'trap'],
    ['a memory limit', () => run(guest('observe'), { args: ['leave', secret()], tmpfs: { '/w': '1MiB' }, limits: { memoryBytes: '2MiB' }, stdout: 'capture', stderr: 'capture' }), 'limit'],
    ['the time limit', () => run(guest('sleep_poll'), { args: ['5000'], timeoutMs: 200, stdout: 'capture' }), 'limit'],
    ['the output limit', () => run(guest('cat'), { stdin: Buffer.alloc(256 * 1024, 0x61), limits: { outputBytes: '4KiB' }, stdout: 'capture' }), 'limit'],
    ['a stop', () => run(guest('sleep_poll'), { args: ['5000'], signal: AbortSignal.timeout(200), stdout: 'capture' }), 'killed'],
    ['guest threads', () => run(guest('thread_spawn_v2'), { stdout: 'capture' }), 'exit'],
  ];
  for (const [what, end, kind] of ends) {
    it(`a thread whose guest ended by ${what} is not reused`, async () => {
      const first = thread(await hello());
      // The guest runs on the thread the first one left...
      const r = await end();
      assert.equal(r.outcome.kind, kind, JSON.stringify(r.outcome));
      if (r.usage.enclaveThread) assert.deepEqual(r.usage.enclaveThread, { id: first.id, guest: first.guest + 1 });
      // ...and the next one gets a fresh thread.
      const next = thread(await hello());
      assert.notEqual(next.id, first.id);
      assert.equal(next.guest, 1);
    });
  }

  it(`a thread is retired after ${MAX_GUESTS_PER_THREAD} guests`, async () => {
    let t = thread(await hello({ freshThread: true }));
    assert.equal(t.guest, 1);
    // The fresh thread was not given back: the next one starts a thread of its own too.
    const start = thread(await hello());
    assert.notEqual(start.id, t.id);
    t = start;
    while (t.guest < MAX_GUESTS_PER_THREAD) {
      const next = thread(await hello());
      assert.deepEqual(next, { id: t.id, guest: t.guest + 1 });
      t = next;
    }
    const after = thread(await hello());
    assert.notEqual(after.id, t.id);
    assert.equal(after.guest, 1);
  });

  it('a thread whose heap grew past the bound is retired, not given back', async () => {
    const w = takeWorker(true);
    const exited = new Promise<number>((resolve) => w.once('exit', resolve));
    giveBack(w, 1, MAX_REUSED_HEAP_BYTES + 1);
    await exited;
    const next = takeWorker(true);
    assert.notEqual(next, w);
    await next.terminate();
  });

  it('refuses a freshThread that is not true or false', async () => {
    await assert.rejects(hello({ freshThread: 'yes' as unknown as boolean }), /^CapsuleError: freshThread: expected true or false, got string$/);
  });
});
