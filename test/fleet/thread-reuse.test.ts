// A worker's enclave threads reused across jobs, through a real fleet (a
// redis-server and `capsule worker` processes): a job sees nothing of the
// job before it on the same thread; a job that ended any other way than
// cleanly leaves no thread behind; --fresh-thread-per-job starts a thread
// per job. Which thread ran a job, and its rank there, are in its usage.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Fleet, redisConnection, type JobResult } from '../../src/fleet/index.js';
import { GUEST, startWorker, type Proc } from '../helpers/fleet.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const text = (b64: string): string => Buffer.from(b64, 'base64').toString();
const thread = (r: JobResult): { id: number; guest: number } => {
  assert.ok(r.usage?.enclaveThread, `no enclave thread in ${JSON.stringify(r.usage)}`);
  return r.usage.enclaveThread;
};

describe('fleet: enclave threads reused across jobs', () => {
  let redis: TestRedis;
  let worker: Proc;
  let freshWorker: Proc;
  let fleet: Fleet;
  let fresh: Fleet;
  let hello: string;
  let observe: string;

  before(async () => {
    redis = await startRedis();
    // One job at a time: each job runs on the thread the job before it left, if it left one.
    worker = await startWorker(redis.url, ['--concurrency', '1']);
    freshWorker = await startWorker(redis.url, ['--concurrency', '1', '--queue', 'fresh', '--fresh-thread-per-job']);
    fleet = new Fleet({ connection: redisConnection(redis.url) });
    fresh = new Fleet({ connection: redisConnection(redis.url), queue: 'fresh' });
    hello = await fleet.putModule(fs.readFileSync(GUEST('hello')));
    observe = await fleet.putModule(fs.readFileSync(GUEST('observe')));
  });
  after(async () => {
    await fleet.close();
    await fresh.close();
    worker.kill('SIGTERM');
    freshWorker.kill('SIGTERM');
    await Promise.all([worker.exited, freshWorker.exited]);
    await redis.stop();
  });

  const runJob = async (job: Parameters<Fleet['submit']>[0], on = fleet): Promise<JobResult> => on.result((await on.submit(job)).id, 20_000);
  const helloThread = async (): Promise<{ id: number; guest: number }> => thread(await runJob({ module: hello }));

  it('a job sees nothing of the job before it on the same thread', async () => {
    const secret = crypto.randomBytes(12).toString('hex');
    const dump = { module: observe, args: ['dump', [...secret].reverse().join('')], env: { MINE: '1' }, output: { mount: '/out' } };
    const reference = await runJob(dump);
    const a = await runJob({ module: observe, args: ['leave', secret], env: { SECRET_ENV: secret }, stdin: Buffer.from(secret).toString('base64'), output: { mount: '/out' } });
    assert.equal(a.exitCode, 0, text(a.stderr.base64));
    assert.match(text(a.stdout.base64), /^left fd 4$/m);
    assert.deepEqual(a.files.map((f) => [f.path, text(f.base64)]), [['left.txt', secret]]);
    const b = await runJob(dump);
    // The same thread of the same worker, the next guest on it.
    assert.equal(b.worker, a.worker);
    assert.deepEqual(thread(b), { id: thread(a).id, guest: thread(a).guest + 1 });
    const seen = text(b.stdout.base64);
    assert.equal(b.exitCode, 0, seen);
    assert.ok(!seen.includes(secret), seen);
    assert.match(seen, /^memory \d+ bytes hash \w+ secret absent$/m);
    const lines = (out: string, kind: string): string[] => out.split('\n').filter((l) => l.startsWith(kind));
    const before = text(reference.stdout.base64);
    // Its whole memory, environment and descriptors as the same job's on the thread before A ran: byte for byte.
    assert.deepEqual(lines(seen, 'memory'), lines(before, 'memory'));
    assert.deepEqual(lines(seen, 'env'), ['env MINE=1']);
    assert.deepEqual(lines(seen, 'fd').map((l) => l.trim()), ['fd 0 type 0', 'fd 1 type 0', 'fd 2 type 0', 'fd 3 type 3 /out']);
    assert.deepEqual(b.files, []);
    assert.notDeepEqual(lines(seen, 'random'), lines(before, 'random'));
  });

  for (const [what, job, kind] of [
    ['a trap', { module: 'trap_unreachable' }, 'trap'],
    ['the time limit', { module: 'sleep_poll', args: ['5000'], policy: { limits: { timeout: '200ms' } } }, 'limit'],
  ] as const) {
    it(`the thread of a job that ended by ${what} is not reused`, async () => {
      const first = await helloThread();
      const module = await fleet.putModule(fs.readFileSync(GUEST(job.module)));
      const r = await runJob({ ...job, module } as never);
      assert.equal(r.outcome.kind, kind, JSON.stringify(r.outcome));
      if (r.usage?.enclaveThread) assert.deepEqual(r.usage.enclaveThread, { id: first.id, guest: first.guest + 1 });
      const next = await helloThread();
      assert.notEqual(next.id, first.id);
      assert.equal(next.guest, 1);
    });
  }

  it('the thread of a cancelled job is not reused', async () => {
    const first = await helloThread();
    const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
    await fleet.watch();
    const { id } = await fleet.submit({ module: sleep, args: ['20000'] });
    await fleet.started(id);
    assert.equal(await fleet.cancel(id), 'active');
    const r = await fleet.result(id, 20_000);
    assert.equal(r.outcome.kind, 'killed');
    const next = await helloThread();
    assert.notEqual(next.id, first.id);
    assert.equal(next.guest, 1);
  });

  it('--fresh-thread-per-job runs every job on a thread of its own', async () => {
    await fresh.putModule(fs.readFileSync(GUEST('hello')));
    const one = thread(await runJob({ module: hello }, fresh));
    const two = thread(await runJob({ module: hello }, fresh));
    assert.equal(one.guest, 1);
    assert.equal(two.guest, 1);
    assert.notEqual(one.id, two.id);
  });
});
