// The fleet's pure parts: the job schema's bounds, the ceiling's verdicts,
// output kept head and tail, and --redis addresses.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampToCeiling, DEFAULT_CEILING, exceedsCeiling } from '../../src/fleet/ceiling.js';
import { keepHeadAndTail } from '../../src/fleet/execute.js';
import { JOB_LIMITS, parseJobSpec } from '../../src/fleet/job.js';
import { redisConnection } from '../../src/fleet/redis-url.js';
import { parsePolicyDocument } from '../../src/policy/document.js';

const SHA = 'a'.repeat(64);

describe('fleet job schema', () => {
  it('fills in defaults and refuses each field past its bound, naming it', () => {
    const ok = parseJobSpec({ module: SHA });
    assert.ok(ok.ok);
    assert.deepEqual([ok.value.args, ok.value.tenant, ok.value.attempts, ok.value.stdin], [[], 'default', 3, '']);
    const problem = (job: object): string => { const r = parseJobSpec({ module: SHA, ...job }); assert.ok(!r.ok); return r.problem; };
    assert.match(problem({ attempts: JOB_LIMITS.attempts + 1 }), /^attempts: /);
    assert.match(problem({ args: new Array(JOB_LIMITS.args + 1).fill('') }), /^args: /);
    assert.match(problem({ tenant: 'a b' }), /^tenant: /);
    assert.match(problem({ tenant: 'x'.repeat(65) }), /^tenant: /);
    assert.match(problem({ idempotencyKey: '' }), /^idempotencyKey: /);
    assert.match(problem({ priority: 0 }), /^priority: /);
    assert.match(problem({ priority: 1.5 }), /^priority: /);
    assert.match(problem({ unknown: 1 }), /unknown/);
    assert.match(problem({ stdin: 'A'.repeat(Math.ceil(JOB_LIMITS.stdinBytes * 4 / 3) + 8) }), /^stdin: stdin is larger than/);
    assert.ok(parseJobSpec({ module: SHA, stdin: 'A'.repeat(Math.floor(JOB_LIMITS.stdinBytes * 4 / 3)) }).ok, 'stdin at its limit');
    assert.match(problem({ module: SHA.toUpperCase() }), /^module: /);
    assert.match(problem({ suspendable: 'yes' }), /^suspendable: /);
    assert.match(problem({ suspendable: true, stdin: 'aGk=' }), /^suspendable: a suspendable job takes no stdin/);
    assert.match(problem({ suspendable: true, output: { mount: '/out' } }), /^suspendable: a suspendable job has no input tree or output mount/);
    assert.ok(parseJobSpec({ module: SHA, suspendable: true }).ok, 'a suspendable job');
    assert.match(problem({ input: { mount: '/in', files: new Array(JOB_LIMITS.inputFiles + 1).fill(0).map((_, i) => ({ path: `f${i}`, data: '' })) } }), /^input\.files: /);
  });
});

describe('fleet ceiling', () => {
  const parse = (doc: object) => parsePolicyDocument(doc, 'policy');
  it('lets a job ask for less, never more, and names the field', async () => {
    assert.equal(exceedsCeiling(await parse({ limits: { memory: '1MiB', timeout: '1s' } }), DEFAULT_CEILING), undefined);
    assert.match(exceedsCeiling(await parse({ limits: { timeout: '11m' } }), DEFAULT_CEILING)!, /^policy\.limits\.timeout: /);
    assert.match(exceedsCeiling(await parse({ limits: { maxOutput: 0 } }), DEFAULT_CEILING)!, /^policy\.limits\.maxOutput: none is above/);
    assert.match(exceedsCeiling(await parse({ network: { allowDns: true } }), DEFAULT_CEILING)!, /^policy\.network\.allowDns/);
    assert.match(exceedsCeiling(await parse({ mounts: [{ tmpfs: '4KiB', guest: '/t' }] }), DEFAULT_CEILING)!, /^policy\.mounts\[0\]\.tmpfs/);
    assert.match(exceedsCeiling(await parse({ mounts: [{ host: '/etc', guest: '/etc', readOnly: true }] }), DEFAULT_CEILING)!, /^policy\.mounts\[0\]: /);
  });
  it('holds limits left to the default to the ceiling', async () => {
    const ceiling = await parse({ limits: { memory: '8MiB', timeout: '2s' } });
    const doc = await clampToCeiling({ env: { A: 'b' } }, ceiling) as { limits: Record<string, number>; env: object };
    assert.deepEqual(doc.limits, { memory: 8 * 1024 * 1024, timeout: 2000 });
    assert.deepEqual(doc.env, { A: 'b' });
    assert.equal(exceedsCeiling(await parse(doc), ceiling), undefined);
    // A limit the job names is kept, and judged.
    const asked = await clampToCeiling({ limits: { memory: '16MiB' } }, ceiling) as { limits: Record<string, unknown> };
    assert.equal(asked.limits.memory, '16MiB');
    assert.match(exceedsCeiling(await parse(asked), ceiling)!, /^policy\.limits\.memory: 16 MiB is above the ceiling of 8 MiB$/);
  });
});

describe('fleet output kept', () => {
  it('keeps all up to the bound, then head and tail', () => {
    assert.deepEqual(keepHeadAndTail(Buffer.from('abc'), 4), { base64: Buffer.from('abc').toString('base64'), bytes: 3, cut: 0 });
    assert.deepEqual(keepHeadAndTail(Buffer.from('abcd'), 4).cut, 0);
    const k = keepHeadAndTail(Buffer.from('abcdefghij'), 4);
    assert.equal(Buffer.from(k.base64, 'base64').toString(), 'abij');
    assert.deepEqual([k.bytes, k.cut], [10, 6]);
  });
});

describe('--redis addresses', () => {
  it('reads redis:, rediss: and unix: URLs and refuses others in one line', () => {
    assert.deepEqual(redisConnection('redis://:pw@example.org:6380/2'), { maxRetriesPerRequest: null, enableOfflineQueue: true, host: 'example.org', port: 6380, db: 2, password: 'pw' });
    assert.equal((redisConnection('unix:///run/redis.sock') as { path: string }).path, '/run/redis.sock');
    assert.ok('tls' in redisConnection('rediss://h'));
    assert.equal((redisConnection('redis://[::1]:7000') as { host: string }).host, '::1');
    for (const bad of ['http://x', 'nonsense', 'redis://h/x', 'unix://']) assert.throws(() => redisConnection(bad), /^Error: --redis|--redis/);
  });
});

describe('a suspended job\'s output, joined', () => {
  it('keeps the parts whole while they fit, then the first part\'s head and the last bytes', async () => {
    const { appendKept } = await import('../../src/fleet/suspended-jobs.js');
    const first = keepHeadAndTail(Buffer.from('nap 0\nnap 1\n'));
    const joined = appendKept(first, Buffer.from('nap 2\n'));
    assert.deepEqual([Buffer.from(joined.base64, 'base64').toString(), joined.bytes, joined.cut], ['nap 0\nnap 1\nnap 2\n', 18, 0]);
    const max = JOB_LIMITS.streamBytes;
    const big = keepHeadAndTail(Buffer.alloc(max + 10, 'a'));
    const more = appendKept(big, Buffer.from('the end'));
    const kept = Buffer.from(more.base64, 'base64');
    assert.equal(kept.byteLength, max);
    assert.equal(more.bytes, max + 10 + 7);
    assert.equal(more.cut, more.bytes - max);
    assert.ok(kept.subarray(0, max / 2).every((b) => b === 0x61), 'the head is the first part\'s');
    assert.equal(kept.subarray(kept.byteLength - 7).toString(), 'the end');
    // Cut already and then more: the tail moves on, the head stays.
    const again = appendKept(more, Buffer.from('!'));
    assert.equal(Buffer.from(again.base64, 'base64').subarray(-8).toString(), 'the end!');
    assert.equal(again.bytes, more.bytes + 1);
  });
});
