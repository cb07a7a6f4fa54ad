// Jobs through a real fleet: a redis-server started here, real `capsule
// worker` processes, the Fleet client of the API and `capsule submit`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Fleet, redisConnection } from '../../src/fleet/index.js';
import { runCli } from '../helpers/cli.js';
import { GUEST, startWorker, type Proc } from '../helpers/fleet.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const text = (b64: string): string => Buffer.from(b64, 'base64').toString();

describe('fleet jobs', () => {
  let redis: TestRedis;
  let worker: Proc;
  let fleet: Fleet;
  let hello: string;

  before(async () => {
    redis = await startRedis();
    worker = await startWorker(redis.url, ['--concurrency', '2']);
    fleet = new Fleet({ connection: redisConnection(redis.url) });
    hello = await fleet.putModule(fs.readFileSync(GUEST('hello')));
  });
  after(async () => {
    await fleet.close();
    worker.kill('SIGTERM');
    await worker.exited;
    await redis.stop();
  });

  it('runs a job and returns its output, exit, audit, usage, worker and attempts', async () => {
    const { id, duplicate } = await fleet.submit({ module: hello, args: ['one', 'two'], env: { GREETING: 'hi' }, policy: { env: { FROM_POLICY: '1' } } });
    assert.equal(duplicate, false);
    const r = await fleet.result(id, 20_000);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 });
    assert.match(text(r.stdout.base64), /hello from capsule\nargv\[0\]=job\.wasm\nargv\[1\]=one\nargv\[2\]=two\n/);
    assert.match(text(r.stdout.base64), /^env FROM_POLICY=1$/m);
    assert.match(text(r.stdout.base64), /^env GREETING=hi$/m);
    assert.equal(r.stdout.cut, 0);
    assert.equal(r.attempts, 1);
    assert.match(r.worker, /:\d+$/);
    assert.ok(r.usage && r.usage.wallMs > 0);
    // Besides the lifecycle's state records: the start and the exit, in that order.
    assert.deepEqual(r.audit.records.map((a) => a.op).filter((op) => op !== 'state'), ['start', 'exit']);
    const status = await fleet.status(id);
    assert.equal(status?.state, 'completed');
  });

  it('feeds stdin, mounts an input tree read-only and returns the files of the output mount', async () => {
    const copy = await fleet.putModule(fs.readFileSync(GUEST('copy_file')));
    const { id } = await fleet.submit({
      module: copy, args: ['/in/deep/er/a.txt', '/out/b.txt'],
      input: { mount: '/in', files: [{ path: 'deep/er/a.txt', data: Buffer.from('payload').toString('base64') }] },
      output: { mount: '/out' },
    });
    const r = await fleet.result(id, 20_000);
    assert.equal(r.exitCode, 0, text(r.stderr.base64));
    assert.deepEqual(r.files.map((f) => [f.path, text(f.base64)]), [['b.txt', 'payload']]);
    // Read-only: the guest cannot write into its input tree.
    const { id: id2 } = await fleet.submit({
      module: copy, args: ['/in/a.txt', '/in/b.txt'], input: { mount: '/in', files: [{ path: 'a.txt', data: 'eA==' }] },
    });
    const r2 = await fleet.result(id2, 20_000);
    assert.equal(r2.exitCode, 1);
    assert.match(text(r2.stderr.base64), /\/in\/b\.txt: (Read-only file system|Permission denied|Operation not permitted)/);
    const cat = await fleet.putModule(fs.readFileSync(GUEST('cat')));
    const r3 = await fleet.result((await fleet.submit({ module: cat, stdin: Buffer.from('from stdin').toString('base64') })).id, 20_000);
    assert.equal(text(r3.stdout.base64), 'from stdin');
  });

  it('says why a job ended: a limit, a trap, its own status', async () => {
    const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
    const r = await fleet.result((await fleet.submit({ module: sleep, args: ['5000'], policy: { limits: { timeout: '200ms' } } })).id, 20_000);
    assert.equal(r.outcome.kind, 'limit');
    assert.equal(r.exitCode, 102);
    const trap = await fleet.putModule(fs.readFileSync(GUEST('trap_unreachable')));
    const t = await fleet.result((await fleet.submit({ module: trap })).id, 20_000);
    assert.equal(t.outcome.kind, 'trap');
    assert.equal(t.exitCode, 101);
    const exit = await fleet.putModule(fs.readFileSync(GUEST('exit_code')));
    const e = await fleet.result((await fleet.submit({ module: exit, args: ['7'] })).id, 20_000);
    assert.deepEqual([e.exitCode, e.exitCodeFrom], [7, 'guest']);
  });

  it('keeps the head and tail of a large output', async () => {
    const cat = await fleet.putModule(fs.readFileSync(GUEST('cat')));
    const input = Buffer.concat([Buffer.alloc(200_000, 'a'), Buffer.alloc(200_000, 'z')]);
    const r = await fleet.result((await fleet.submit({ module: cat, stdin: input.toString('base64') })).id, 20_000);
    const kept = Buffer.from(r.stdout.base64, 'base64');
    assert.equal(r.stdout.bytes, 400_000);
    assert.equal(r.stdout.cut, 400_000 - kept.byteLength);
    assert.ok(kept.subarray(0, 10).every((c) => c === 0x61) && kept.subarray(-10).every((c) => c === 0x7a));
  });

  it('returns the first job for a repeated idempotency key, per tenant', async () => {
    const a = await fleet.submit({ module: hello, args: ['first'], idempotencyKey: 'order-17' });
    const b = await fleet.submit({ module: hello, args: ['second'], idempotencyKey: 'order-17' });
    const c = await fleet.submit({ module: hello, args: ['other'], idempotencyKey: 'order-17', tenant: 'someone-else' });
    assert.equal(b.id, a.id);
    assert.deepEqual([a.duplicate, b.duplicate, c.duplicate], [false, true, false]);
    assert.notEqual(c.id, a.id);
    assert.match(text((await fleet.result(b.id, 20_000)).stdout.base64), /argv\[1\]=first/);
  });

  it('cancels a running job', async () => {
    const sleep = await fleet.putModule(fs.readFileSync(GUEST('sleep_poll')));
    await fleet.watch();
    const { id } = await fleet.submit({ module: sleep, args: ['20000'] });
    await fleet.started(id);
    const started = Date.now();
    assert.equal(await fleet.cancel(id), 'active');
    const r = await fleet.result(id, 20_000);
    assert.equal(r.cancelled, true);
    assert.equal(r.outcome.kind, 'killed');
    assert.ok(Date.now() - started < 5000);
  });

  it('refuses a bad job at submission, naming the field', async () => {
    const refused = async (job: object, re: RegExp): Promise<void> => {
      await assert.rejects(fleet.submit({ module: hello, ...job } as never), (err: Error) => { assert.match(err.message, re); return true; });
    };
    await refused({ policy: { limits: { memory: 'lots' } } }, /^policy: limits\.memory: /);
    await refused({ policy: { mounts: [{ host: '/', guest: '/h', readOnly: 'no' }] } }, /^policy: mounts\[0\]/);
    await refused({ policy: { extra: 1 } }, /^policy: .*extra/);
    await refused({ args: 'x' }, /^args: /);
    await refused({ env: { 'A=B': 'c' } }, /^env\./);
    await refused({ attempts: 0 }, /^attempts: /);
    await refused({ input: { mount: '/in', files: [{ path: '../x', data: '' }] } }, /^input\.files\[0\]\.path: /);
    await refused({ module: 'f'.repeat(64) }, /^module: f+ is not stored/);
    await assert.rejects(fleet.putModule(Buffer.from('not wasm')), /not a valid WebAssembly module/);
  });

  it('refuses what was tampered with in Redis: module bytes not of their hash, a job that skipped the checks', async () => {
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisConnection(redis.url) as never);
    try {
      // A module no worker has fetched yet (a fetched one is kept, verified, in the worker's memory).
      const exit = await fleet.putModule(fs.readFileSync(GUEST('trap_oob')));
      // Another valid module under its hash: the worker must not run it.
      await raw.set(fleet.keys.module(exit), fs.readFileSync(GUEST('hello')));
      const r = await fleet.result((await fleet.submit({ module: exit })).id, 20_000);
      assert.equal(r.outcome.kind, 'failed');
      assert.match((r.outcome as { message: string }).message, /the stored bytes do not have this hash \(tampered with\)/);
      // Written straight into the queue: a policy wider than the worker's ceiling, a path that leaves the input tree.
      for (const data of [
        { module: hello, policy: { network: { allowDns: true } } },
        { module: hello, input: { mount: '/in', files: [{ path: '../../escape', data: '' }] } },
        { module: hello, policy: { mounts: [{ host: '/', guest: '/host' }] } },
      ]) {
        const job = await fleet.bullQueue.add('job', data, { attempts: 1 });
        const failed = await fleet.result(job.id!, 20_000);
        assert.equal(failed.outcome.kind, 'failed');
        assert.match((failed.outcome as { message: string }).message, /^(invalid job|refused by this worker's ceiling): /);
      }
      assert.equal(fs.existsSync('/escape'), false);
    } finally {
      raw.disconnect();
    }
  });

  it('capsule submit --wait prints the output and exits with the status, as capsule run does', async () => {
    const r = await runCli(['submit', '--redis', redis.url, '--wait', GUEST('exit_code'), '3']);
    assert.equal(r.code, 3, r.stderr);
    const id = await runCli(['submit', '--redis', redis.url, GUEST('hello')]);
    assert.equal(id.code, 0);
    assert.match(id.stdout, /^[0-9a-f-]{36}\n$/);
    const bad = await runCli(['submit', '--redis', 'http://x', GUEST('hello')]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /^capsule: --redis 'http:\/\/x': scheme 'http:' is not redis:, rediss: or unix:\n$/);
    const missing = await runCli(['submit', '--redis', redis.url, 'no-such.wasm']);
    assert.equal(missing.code, 66);
  });
});
