// No job lost: a worker killed with SIGKILL mid-job, and redis-server killed
// and restarted on its append-only file mid-run. Real processes throughout.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { Fleet, redisConnection, type JobResult } from '../../src/fleet/index.js';
import { GUEST, startWorker } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';

/** Polls the job's status until it ended (result() rides on events; polling also spans a Redis restart). */
async function ended(fleet: Fleet, id: string, timeoutMs = 60_000): Promise<JobResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await fleet.status(id).catch(() => undefined);
    if (s?.result) return s.result;
    if (Date.now() > deadline) throw new Error(`job ${id} did not end (state ${s?.state})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('fleet resilience', () => {
  it('a job whose worker is SIGKILLed mid-run is run again by another worker; the result counts the attempts', async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const first = await startWorker(redis.url);
    const second = { current: undefined as Awaited<ReturnType<typeof startWorker>> | undefined };
    try {
      const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
      await fleet.watch();
      const { id } = await fleet.submit({ module: sleep, args: ['4000'], attempts: 3 });
      await first.waitFor(new RegExp(`job ${id}: started`));
      const firstId = first.log().match(/worker (\S+) ready/)![1];
      second.current = await startWorker(redis.url);
      first.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      const r = await ended(fleet, id);
      assert.equal(r.exitCode, 0);
      assert.match(Buffer.from(r.stdout.base64, 'base64').toString(), /slept_ms=\d+/);
      assert.equal(r.attempts, 2);
      assert.notEqual(r.worker, firstId);
      assert.equal(r.worker, second.current.log().match(/worker (\S+) ready/)![1]);
    } finally {
      first.kill();
      second.current?.kill();
      await fleet.close();
      await redis.stop();
    }
  });

  it('SIGTERM drains a worker: the running job finishes there, the worker exits 0', async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const worker = await startWorker(redis.url);
    try {
      const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
      const { id } = await fleet.submit({ module: sleep, args: ['1000'] });
      await worker.waitFor(new RegExp(`job ${id}: started`));
      worker.kill('SIGTERM');
      assert.equal((await worker.exited).code, 0);
      assert.match(worker.log(), /SIGTERM: draining/);
      const r = await ended(fleet, id, 10_000);
      assert.deepEqual([r.exitCode, r.attempts], [0, 1]);
      assert.equal(r.worker, worker.log().match(/worker (\S+) ready/)![1]);
    } finally {
      worker.kill();
      await fleet.close();
      await redis.stop();
    }
  });

  it('a job with no attempts left ends failed, saying so', async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const first = await startWorker(redis.url);
    let second: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
      await fleet.watch();
      const { id } = await fleet.submit({ module: sleep, args: ['1500'], attempts: 1 });
      await first.waitFor(new RegExp(`job ${id}: started`));
      first.kill('SIGKILL');
      await first.exited;
      second = await startWorker(redis.url);
      const r = await ended(fleet, id);
      assert.equal(r.outcome.kind, 'failed');
      assert.match((r.outcome as { message: string }).message, /no attempts left: the job was started 1 times/);
    } finally {
      first.kill();
      second?.kill();
      await fleet.close();
      await redis.stop();
    }
  });

  it('every accepted job completes when redis-server is killed and restarted on its append-only file mid-run', async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    fleet.on('error', () => {});
    const worker = await startWorker(redis.url, ['--concurrency', '2']);
    try {
      const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await fleet.submit({ module: sleep, args: ['150'] })).id);
      await ended(fleet, ids[0]!);
      await redis.restart('SIGKILL', 500);
      const results = await Promise.all(ids.map((id) => ended(fleet, id, 90_000)));
      assert.deepEqual(results.map((r) => r.exitCode), ids.map(() => 0));
      assert.equal(worker.child.exitCode, null, 'the worker lived through the restart');
    } finally {
      worker.kill();
      await fleet.close();
      await redis.stop();
    }
  });
});
