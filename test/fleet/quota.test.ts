// A hostile job that tries to fill the worker's disk through its output
// mount or its writable input tree: stopped at the mount's quota (EDQUOT, a
// "limit" record in its result), its files read back up to the quota, and
// the worker goes on taking jobs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Fleet, redisConnection } from '../../src/fleet/index.js';
import { JOB_LIMITS, type JobResult } from '../../src/fleet/job.js';
import { GUEST, startWorker, type Proc } from '../helpers/fleet.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const text = (b64: string): string => Buffer.from(b64, 'base64').toString();

/** The result's "limit" record of a quota, asserted to be there. */
function quotaRecord(r: JobResult, which: 'byte' | 'entry', mount: string): void {
  const found = r.audit.records.find((a) => a.decision === 'limit' && a.errno === 'DQUOT');
  assert.ok(found, `no quota record in ${JSON.stringify(r.audit.records.filter((a) => a.op !== 'state'))}`);
  assert.match(found.reason ?? '', new RegExp(`^the ${which} quota of the mount ${mount} `));
}

describe('fleet: a job filling its mounts', () => {
  let redis: TestRedis;
  let worker: Proc;
  let fleet: Fleet;
  let disk: string;

  before(async () => {
    redis = await startRedis();
    worker = await startWorker(redis.url);
    fleet = new Fleet({ connection: redisConnection(redis.url) });
    disk = await fleet.putModule(fs.readFileSync(GUEST('hostile/hostile_disk')));
  });
  after(async () => {
    await fleet.close();
    worker.kill('SIGTERM');
    await worker.exited;
    await redis.stop();
  });

  it('writing without end to the output mount stops at its byte quota; the files up to it come back', { timeout: 60_000 }, async () => {
    const { id } = await fleet.submit({ module: disk, args: ['bytes', '/out'], output: { mount: '/out' } });
    const r = await fleet.result(id, 40_000);
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 }, text(r.stderr.base64));
    assert.match(text(r.stdout.base64), new RegExp(`^bytes: EDQUOT written=${JOB_LIMITS.mountBytes}$`, 'm'));
    assert.deepEqual(r.files.map((f) => [f.path, f.bytes]), [['big', JOB_LIMITS.mountBytes]]);
    assert.equal(r.filesCut, false);
    quotaRecord(r, 'byte', '/out');
  });

  it('creating files without end in the output mount stops at its entry quota', { timeout: 60_000 }, async () => {
    const { id } = await fleet.submit({ module: disk, args: ['entries', '/out'], output: { mount: '/out' } });
    const r = await fleet.result(id, 40_000);
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 }, text(r.stderr.base64));
    assert.match(text(r.stdout.base64), new RegExp(`^files: EDQUOT made=${JOB_LIMITS.mountEntries}$`, 'm'));
    assert.match(text(r.stdout.base64), /^mkdir: EDQUOT$/m);
    // More were made than the result carries: the rest is reported as cut.
    assert.equal(r.files.length, JOB_LIMITS.outputFiles);
    assert.equal(r.filesCut, true);
    quotaRecord(r, 'entry', '/out');
  });

  it('a writable input tree has the same quotas; a read-only one is refused as before', { timeout: 60_000 }, async () => {
    const input = { mount: '/in', mode: 'tmpfs' as const, files: [{ path: 'given.txt', data: Buffer.from('given').toString('base64') }] };
    const r = await fleet.result((await fleet.submit({ module: disk, args: ['bytes', '/in'], input })).id, 40_000);
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 }, text(r.stderr.base64));
    assert.match(text(r.stdout.base64), new RegExp(`^bytes: EDQUOT written=${JOB_LIMITS.mountBytes}$`, 'm'));
    quotaRecord(r, 'byte', '/in');
    const d = await fleet.result((await fleet.submit({ module: disk, args: ['dirs', '/in'], input })).id, 40_000);
    assert.match(text(d.stdout.base64), new RegExp(`^dirs: EDQUOT made=${JOB_LIMITS.mountEntries}$`, 'm'));
    quotaRecord(d, 'entry', '/in');
    const ro = await fleet.result((await fleet.submit({ module: disk, args: ['dirs', '/in'], input: { ...input, mode: 'ro' as const } })).id, 40_000);
    assert.match(text(ro.stdout.base64), /^dirs: E(ROFS|NOTCAPABLE|PERM|ACCES) made=0$/m);
  });

  it('the worker is still there and takes the next job', { timeout: 30_000 }, async () => {
    assert.equal(worker.child.exitCode, null);
    const hello = await fleet.putModule(fs.readFileSync(GUEST('hello')));
    const r = await fleet.result((await fleet.submit({ module: hello })).id, 20_000);
    assert.equal(r.exitCode, 0);
    assert.match(text(r.stdout.base64), /hello from capsule/);
  });
});
