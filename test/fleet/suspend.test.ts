// Drain by suspension: a suspendable job running when its worker gets
// SIGTERM is sealed into a snapshot stored in Redis and requeued; another
// worker resumes it where it stopped, and the result's output is exactly an
// uninterrupted run's. A snapshot or record tampered with (a byte, a
// truncation, another key), or gone, ends the job failed with one line
// saying why (it does not hang). Real redis-server
// and real worker processes throughout.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { run } from '../../src/api/run.js';
import { Fleet, redisConnection, type JobResult } from '../../src/fleet/index.js';
import { tempDir, type TempDir } from '../helpers/cli.js';
import { GUEST, startWorker, type Proc } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';

let dir: TempDir;
let keyFile: string;
let env: NodeJS.ProcessEnv;
const NAPS = 120;

before(() => {
  dir = tempDir('capsule-fleet-suspend-');
  keyFile = path.join(dir.path, 'seal.key');
  fs.writeFileSync(keyFile, crypto.randomBytes(32), { mode: 0o600 });
  // One preparation cache for every worker of these tests (the first run prepares the module).
  env = { ...process.env, CAPSULE_CACHE_DIR: path.join(dir.path, 'cache') };
});
after(() => dir.cleanup());

async function ended(fleet: Fleet, id: string, timeoutMs = 90_000): Promise<JobResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await fleet.status(id);
    if (s?.result) return s.result;
    if (Date.now() > deadline) throw new Error(`job ${id} did not end (state ${s?.state})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const workerId = (w: Proc): string => w.log().match(/worker (\S+) ready/)![1]!;
const text = (s: JobResult['stdout']): string => Buffer.from(s.base64, 'base64').toString();

describe('fleet: drain by suspension', () => {
  it('SIGTERM suspends a running suspendable job; another worker resumes it; its output is each line once, in order', { timeout: 180_000 }, async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const a = await startWorker(redis.url, ['--seal-key', keyFile], env);
    let b: Proc | undefined;
    try {
      const module = await fleet.putModule(fs.readFileSync(GUEST('checksum')));
      const { id } = await fleet.submit({ module, args: ['sleep', String(NAPS)], suspendable: true });
      await a.waitFor(new RegExp(`job ${id}: started`));
      b = await startWorker(redis.url, ['--seal-key', keyFile], env);
      // Well into its naps (20 ms each) but not through them.
      await new Promise((r) => setTimeout(r, 1200));
      a.kill('SIGTERM');
      assert.equal((await a.exited).code, 0, a.log());
      assert.match(a.log(), new RegExp(`job ${id}: suspended \\(\\d+ bytes, snapshot [0-9a-f]{16}\\), requeued`));
      const r = await ended(fleet, id);
      const expected = (await run(GUEST('checksum'), { args: ['sleep', String(NAPS)], stdout: 'capture' })).stdout!.toString();
      assert.equal(r.exitCode, 0, JSON.stringify(r.outcome));
      assert.equal(text(r.stdout), expected, 'the two parts joined are the uninterrupted output');
      assert.deepEqual(text(r.stdout).split('\n').filter((l) => l.startsWith('nap ')).map((l) => Number(l.split(' ')[1])), Array.from({ length: NAPS }, (_, i) => i));
      assert.equal(r.worker, workerId(b));
      assert.equal(r.suspensions?.length, 1);
      assert.equal(r.suspensions![0]!.worker, workerId(a));
      assert.ok(r.suspensions![0]!.bytes > 0);
      assert.equal(r.attempts, 1, `a move is not a failed attempt:\n${a.log()}\n${b.log()}`);
      assert.match(b.log(), new RegExp(`job ${id}: exit 0 \\(attempt 1, resumed after 1 suspension`));
      // Nothing is left behind in Redis.
      const raw = new Redis(redisConnection(redis.url) as never);
      try {
        assert.deepEqual(await raw.keys(fleet.keys.snapshot('*')), []);
        assert.equal(await raw.exists(fleet.keys.continuation(id)), 0);
      } finally {
        raw.disconnect();
      }
    } finally {
      a.kill();
      b?.kill();
      await fleet.close();
      await redis.stop();
    }
  });

  it('a resumed job is suspended again by its next worker: three workers, two suspensions, the output still whole', { timeout: 240_000 }, async () => {
    const naps = 250;
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const workers: Proc[] = [await startWorker(redis.url, ['--seal-key', keyFile], env)];
    try {
      const module = await fleet.putModule(fs.readFileSync(GUEST('checksum')));
      const { id } = await fleet.submit({ module, args: ['sleep', String(naps)], suspendable: true });
      for (let hop = 0; hop < 2; hop++) {
        const current = workers[hop]!;
        await current.waitFor(new RegExp(`job ${id}: started`), 60_000);
        workers.push(await startWorker(redis.url, ['--seal-key', keyFile], env));
        await new Promise((r) => setTimeout(r, 1000));
        current.kill('SIGTERM');
        assert.equal((await current.exited).code, 0, current.log());
        assert.match(current.log(), new RegExp(`job ${id}: suspended`), current.log());
      }
      const r = await ended(fleet, id);
      const expected = (await run(GUEST('checksum'), { args: ['sleep', String(naps)], stdout: 'capture' })).stdout!.toString();
      assert.equal(r.exitCode, 0, JSON.stringify(r.outcome));
      assert.equal(text(r.stdout), expected);
      assert.deepEqual(r.suspensions?.map((x) => x.worker), [workerId(workers[0]!), workerId(workers[1]!)]);
      assert.equal(r.worker, workerId(workers[2]!));
      assert.equal(r.attempts, 1);
    } finally {
      for (const w of workers) w.kill();
      await fleet.close();
      await redis.stop();
    }
  });

  it('a snapshot tampered with, swapped or gone, or a malformed record: the job fails with the reason, it does not hang', { timeout: 180_000 }, async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const raw = new Redis(redisConnection(redis.url) as never);
    const a = await startWorker(redis.url, ['--seal-key', keyFile, '--concurrency', '5'], env);
    let b: Proc | undefined;
    try {
      const module = await fleet.putModule(fs.readFileSync(GUEST('checksum')));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await fleet.submit({ module, args: ['sleep', '2000'], suspendable: true })).id);
      for (const id of ids) await a.waitFor(new RegExp(`job ${id}: started`), 60_000);
      // Each guest running (a job taken but not yet started when its worker drains is requeued as it is).
      await new Promise((r) => setTimeout(r, 1500));
      a.kill('SIGTERM');
      assert.equal((await a.exited).code, 0, a.log());
      for (const id of ids) assert.match(a.log(), new RegExp(`job ${id}: suspended`));
      const records = await Promise.all(ids.map(async (id) => JSON.parse((await raw.get(fleet.keys.continuation(id)))!) as { snapshot: string }));
      // 1: bytes changed in place (no longer their hash).
      const first = (await raw.getBuffer(fleet.keys.snapshot(records[0]!.snapshot)))!;
      first[first.length - 1]! ^= 1;
      await raw.set(fleet.keys.snapshot(records[0]!.snapshot), first);
      // 2: changed bytes stored under their own hash and the record pointed at them (the seal refuses them).
      const second = (await raw.getBuffer(fleet.keys.snapshot(records[1]!.snapshot)))!;
      second[Math.floor(second.length / 2)]! ^= 1;
      const sha = crypto.createHash('sha256').update(second).digest('hex');
      await raw.set(fleet.keys.snapshot(sha), second);
      await raw.set(fleet.keys.continuation(ids[1]!), JSON.stringify({ ...records[1], snapshot: sha }));
      // 3: gone.
      await raw.del(fleet.keys.snapshot(records[2]!.snapshot));
      // 4: the record itself is not one.
      await raw.set(fleet.keys.continuation(ids[3]!), JSON.stringify({ ...records[3], snapshot: '../../etc/passwd' }));
      // 5: truncated, stored under its own hash.
      const fifth = (await raw.getBuffer(fleet.keys.snapshot(records[4]!.snapshot)))!.subarray(0, 1000);
      const fifthSha = crypto.createHash('sha256').update(fifth).digest('hex');
      await raw.set(fleet.keys.snapshot(fifthSha), fifth);
      await raw.set(fleet.keys.continuation(ids[4]!), JSON.stringify({ ...records[4], snapshot: fifthSha }));
      b = await startWorker(redis.url, ['--seal-key', keyFile, '--concurrency', '5'], env);
      const results = await Promise.all(ids.map((id) => ended(fleet, id)));
      const reasons = results.map((r) => (r.outcome.kind === 'failed' ? r.outcome.message : `not failed: ${r.outcome.kind}`));
      assert.match(reasons[0]!, /its snapshot [0-9a-f]{16}\.\.\. does not have this hash \(tampered with\): cannot resume it/);
      assert.match(reasons[1]!, /^cannot resume it: its snapshot [0-9a-f]{16}\.\.\. was altered: chunk \d+ does not authenticate$/);
      assert.equal(results[1]!.exitCode, 79);
      assert.match(reasons[2]!, /its snapshot [0-9a-f]{16}\.\.\. is not stored \(expired or removed\): cannot resume it/);
      assert.match(reasons[3]!, /its continuation record is malformed \(snapshot: .*\): cannot resume it/);
      assert.match(reasons[4]!, /^cannot resume it: its snapshot [0-9a-f]{16}\.\.\. .*(truncated|ends|short)/);
      for (const r of results) assert.doesNotMatch(text(r.stdout), /nap 1999 /, 'no job ran to its end');
      assert.equal(b.child.exitCode, null, 'the worker goes on');
    } finally {
      a.kill();
      b?.kill();
      raw.disconnect();
      await fleet.close();
      await redis.stop();
    }
  });

  it('a worker with another seal key refuses to resume the job, saying so', { timeout: 180_000 }, async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const otherKey = path.join(dir.path, 'other.key');
    fs.writeFileSync(otherKey, crypto.randomBytes(32), { mode: 0o600 });
    const a = await startWorker(redis.url, ['--seal-key', keyFile], env);
    let b: Proc | undefined;
    try {
      const module = await fleet.putModule(fs.readFileSync(GUEST('checksum')));
      const { id } = await fleet.submit({ module, args: ['sleep', '2000'], suspendable: true });
      await a.waitFor(new RegExp(`job ${id}: started`), 60_000);
      await new Promise((r) => setTimeout(r, 1500));
      a.kill('SIGTERM');
      assert.equal((await a.exited).code, 0, a.log());
      assert.match(a.log(), new RegExp(`job ${id}: suspended`));
      b = await startWorker(redis.url, ['--seal-key', otherKey], env);
      const r = await ended(fleet, id);
      assert.equal(r.exitCode, 79);
      assert.match(r.outcome.kind === 'failed' ? r.outcome.message : r.outcome.kind, /^cannot resume it: the seal key does not open its snapshot [0-9a-f]{16}\.\.\. \(it was sealed with another key/);
    } finally {
      a.kill();
      b?.kill();
      await fleet.close();
      await redis.stop();
    }
  });
});
