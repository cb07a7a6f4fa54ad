// A tenant cannot starve others: with a cap of one running job per tenant,
// a tenant's jobs never overlap, and another tenant's job runs meanwhile.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { Fleet, redisConnection } from '../../src/fleet/index.js';
import { GUEST, startWorker } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';

describe('fleet tenants', () => {
  it('caps the running jobs of each tenant across the fleet', async () => {
    const redis = await startRedis();
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    // Two workers of two slots each: four slots, yet tenant "greedy" gets one.
    const workers = await Promise.all([0, 1].map(() => startWorker(redis.url, ['--concurrency', '2', '--tenant-cap', '1'])));
    try {
      const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
      const greedy: string[] = [];
      for (let i = 0; i < 4; i++) greedy.push((await fleet.submit({ module: sleep, args: ['400'], tenant: 'greedy' })).id);
      const other = (await fleet.submit({ module: sleep, args: ['50'], tenant: 'modest' })).id;
      const results = await Promise.all([...greedy, other].map((id) => fleet.result(id, 60_000)));
      assert.deepEqual(results.map((r) => r.exitCode), [0, 0, 0, 0, 0]);
      // Each run's span: it ends just before BullMQ stamps the job finished, and lasted its wall time
      // (BullMQ's own "processed" stamp is taken when a worker asks for a job, before the tenant
      // check, and on a busy machine well before the job is in the worker's hands).
      const spans = await Promise.all(greedy.map(async (id, i) => {
        const job = (await fleet.bullQueue.getJob(id))!;
        return [job.finishedOn! - results[i]!.usage!.wallMs, job.finishedOn!] as const;
      }));
      spans.sort((a, b) => a[0] - b[0]);
      // The slot is released after the run and before the finished stamp: spans may touch by a few ms;
      // jobs run side by side would share most of their 400 ms.
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1] - 100, `greedy's jobs overlap: ${JSON.stringify(spans)}`);
      const modest = (await fleet.bullQueue.getJob(other))!;
      assert.ok(modest.finishedOn! < spans[spans.length - 1]![0], 'the other tenant ran while greedy still waited');
      assert.ok(results.every((r) => r.attempts === 1), 'waiting for a slot spends no attempt');
    } finally {
      for (const w of workers) w.kill();
      await fleet.close();
      await redis.stop();
    }
  });
});
