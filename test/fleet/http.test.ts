// `capsule serve`: the HTTP API as a client meets it (a real server process,
// redis-server and worker), its routes against the checked-in OpenAPI file,
// and hostile requests: no or bad tokens, another tenant's jobs, oversized
// bodies and modules, bad JSON, policy widening past the ceiling, path tricks.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { JOB_LIMITS } from '../../src/fleet/index.js';
import { ROUTES, openapiFile } from '../../src/fleet/server.js';
import { GUEST, startCapsule, startWorker, type Proc } from '../helpers/fleet.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789ab';
const ADMIN = 'admin-token-0123456789';

describe('fleet HTTP API', () => {
  let redis: TestRedis;
  let worker: Proc;
  let server: Proc;
  let base: string;
  let dir: string;
  let hello: string;

  const call = (method: string, route: string, opts: { token?: string | null; body?: string | Uint8Array; type?: string; headers?: Record<string, string> } = {}) =>
    fetch(base + route, {
      method,
      headers: {
        ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? ALICE}` }),
        ...(opts.type ? { 'content-type': opts.type } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: opts.body as BodyInit } : {}),
    });
  const json = (route: string, body: unknown, token?: string) => call('POST', route, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  const refused = async (res: Response, status: number, re: RegExp): Promise<void> => {
    const body = await res.json() as { error: string };
    assert.equal(res.status, status, body.error);
    assert.match(body.error, re);
    assert.doesNotMatch(body.error, /\n/);
  };

  before(async () => {
    redis = await startRedis();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-serve-'));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({ tokens: [
      { token: ALICE, tenant: 'alice' }, { token: BOB, tenant: 'bob' }, { token: ADMIN, tenant: 'ops', admin: true }] }));
    fs.mkdirSync(path.join(dir, 'shared'));
    fs.writeFileSync(path.join(dir, 'ceiling.json'), JSON.stringify({
      mounts: [{ host: 'shared', guest: '/shared', readOnly: true }, { tmpfs: '1MiB', guest: '/tmp' }],
      network: { allowConnect: ['example.org:443'] },
      limits: { memory: '64MiB', timeout: '5s' },
    }));
    worker = await startWorker(redis.url, ['--max-policy', path.join(dir, 'ceiling.json')]);
    server = startCapsule(['serve', '--redis', redis.url, '--http', '0', '--tokens', path.join(dir, 'tokens.json'), '--max-policy', path.join(dir, 'ceiling.json')]);
    base = `http://${(await server.waitFor(/serving on http:\/\/(\S+)/))[1]}`;
    const res = await call('POST', '/v1/modules', { body: fs.readFileSync(GUEST('hello')), type: 'application/wasm' });
    assert.equal(res.status, 201);
    hello = ((await res.json()) as { sha256: string }).sha256;
  });
  after(async () => {
    server.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
    worker.kill('SIGTERM');
    await worker.exited;
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('submits a job and serves its status, result and output', async () => {
    const res = await json('/v1/jobs', { module: hello, args: ['x'], policy: { limits: { timeout: '2s' } } });
    assert.equal(res.status, 201);
    const { id } = await res.json() as { id: string };
    const result = await (await call('GET', `/v1/jobs/${id}/result?wait=20`)).json() as { exitCode: number; stdout: { base64: string } };
    assert.equal(result.exitCode, 0);
    const out = await call('GET', `/v1/jobs/${id}/output/stdout`);
    assert.equal(out.headers.get('content-type'), 'application/octet-stream');
    assert.match(await out.text(), /argv\[1\]=x/);
    const status = await (await call('GET', `/v1/jobs/${id}`)).json() as { state: string; tenant: string; attempts: number };
    assert.deepEqual([status.state, status.tenant, status.attempts], ['completed', 'alice', 1]);
    // Cancelling a finished job changes nothing and says what state it was in.
    assert.deepEqual(await (await call('DELETE', `/v1/jobs/${id}`)).json(), { id, state: 'completed' });
    const sleep = ((await (await call('POST', '/v1/modules', { body: fs.readFileSync(GUEST('sleep_poll')), type: 'application/wasm' })).json()) as { sha256: string }).sha256;
    const long = ((await (await json('/v1/jobs', { module: sleep, args: ['4000'] })).json()) as { id: string }).id;
    await worker.waitFor(new RegExp(`job ${long}: started`));
    assert.deepEqual(await (await call('DELETE', `/v1/jobs/${long}`)).json(), { id: long, state: 'active' });
    const cancelled = await (await call('GET', `/v1/jobs/${long}/result?wait=20`)).json() as { cancelled: boolean; outcome: { kind: string } };
    assert.deepEqual([cancelled.cancelled, cancelled.outcome.kind], [true, 'killed']);
    const again = await json('/v1/jobs', { module: hello, idempotencyKey: 'k1' });
    const dup = await json('/v1/jobs', { module: hello, idempotencyKey: 'k1' });
    assert.deepEqual([again.status, dup.status], [201, 200]);
    assert.equal((await dup.json() as { id: string }).id, (await again.json() as { id: string }).id);
  });

  it('answers exactly the routes of the checked-in OpenAPI file', async () => {
    const doc = JSON.parse(fs.readFileSync(openapiFile(), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort();
    assert.deepEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort(), documented);
    // Each documented route is served (not "no such route"); an undocumented one is not.
    for (const r of ROUTES) {
      const res = await call(r.method.toUpperCase(), r.path.replace('{id}', 'no-such-job').replace('{stream}', 'stdout'));
      const body = res.headers.get('content-type')?.includes('json') ? await res.json() as { error?: string } : {};
      assert.doesNotMatch(body.error ?? '', /no such route/, `${r.method} ${r.path}`);
    }
    await refused(await call('GET', '/v1/secret'), 404, /^no such route: GET \/v1\/secret$/);
    await refused(await call('PUT', '/v1/jobs'), 404, /no such route/);
  });

  it('refuses requests without a valid bearer token, and hides other tenants\' jobs', async () => {
    for (const token of [null, '', 'wrong-token-0123456789', `${ALICE}x`, ALICE.slice(0, -1), ALICE.toUpperCase()]) {
      const res = await call('GET', '/v1/workers', { token });
      assert.equal(res.status, 401, `token ${JSON.stringify(token)}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
    await refused(await call('GET', '/v1/workers', { headers: { authorization: `Basic ${ALICE}` }, token: null }), 401, /bearer token/);
    const { id } = await (await json('/v1/jobs', { module: hello })).json() as { id: string };
    await refused(await call('GET', `/v1/jobs/${id}`, { token: BOB }), 404, /no such job/);
    await refused(await call('DELETE', `/v1/jobs/${id}`, { token: BOB }), 404, /no such job/);
    await refused(await call('GET', `/v1/jobs/${id}/result`, { token: BOB }), 404, /no such job/);
    assert.equal((await call('GET', `/v1/jobs/${id}`, { token: ADMIN })).status, 200);
    await refused(await json('/v1/jobs', { module: hello, tenant: 'bob' }), 403, /^tenant: this token submits for tenant 'alice' only$/);
    await refused(await call('GET', '/dashboard', { token: BOB }), 403, /admin token/);
  });

  it('limits the size of modules and bodies', async () => {
    await refused(await call('POST', '/v1/modules', { body: Buffer.alloc(JOB_LIMITS.moduleBytes + 1), type: 'application/wasm' }), 413, /larger than the limit/);
    await refused(await call('POST', '/v1/modules', { body: Buffer.alloc(0), type: 'application/wasm' }), 400, /empty/);
    await refused(await call('POST', '/v1/modules', { body: Buffer.from('\0asm\x01\0\0\0garbage'), type: 'application/wasm' }), 400, /not a valid WebAssembly module/);
    const big = JSON.stringify({ module: hello, stdin: 'A'.repeat(JOB_LIMITS.requestBytes) });
    await refused(await call('POST', '/v1/jobs', { body: big, type: 'application/json' }), 413, /larger than the limit/);
    await refused(await json('/v1/jobs', { module: hello, stdin: 'A'.repeat(JOB_LIMITS.stdinBytes * 2) }), 400, /^stdin: stdin is larger than/);
    await refused(await json('/v1/jobs', { module: hello, args: new Array(JOB_LIMITS.args + 1).fill('a') }), 400, /^args: /);
    await refused(await call('POST', '/v1/jobs', { body: gzipSync(JSON.stringify({ module: hello })), type: 'application/json', headers: { 'content-encoding': 'gzip' } }), 415, /content encoding unsupported/);
  });

  it('refuses bad JSON with one line naming the cause', async () => {
    const post = (body: string | Buffer, type = 'application/json') => call('POST', '/v1/jobs', { body, type });
    await refused(await post('{"module": '), 400, /^the body is not valid JSON/);
    await refused(await post(Buffer.from([0x7b, 0xff, 0x7d])), 400, /not UTF-8/);
    await refused(await post('[]'), 400, /expected a JSON object/);
    await refused(await post('null'), 400, /expected a JSON object/);
    await refused(await post(`{"module":"${hello}","attempts":1,"attempts":9}`), 400, /key 'attempts' appears twice/);
    await refused(await post(`{"module":"${hello}"}`, 'text/plain'), 415, /application\/json/);
    await refused(await post(`{"module":"${hello}","__proto__":{"x":1}}`), 400, /__proto__|Unrecognized key/);
    await refused(await post('{"module":"../../etc/passwd"}'), 400, /^module: expected the SHA-256/);
  });

  it('refuses a policy wider than the ceiling, naming the field', async () => {
    const cases: [object, RegExp][] = [
      [{ limits: { memory: '128MiB' } }, /^refused by the ceiling policy: policy\.limits\.memory: 128 MiB is above the ceiling of 64 MiB$/],
      [{ limits: { timeout: 0 } }, /policy\.limits\.timeout: none is above the ceiling of 5s/],
      [{ limits: { timeout: '10s' } }, /policy\.limits\.timeout: /],
      [{ mounts: [{ host: '/', guest: '/root' }] }, /policy\.mounts\[0\]: the ceiling does not grant this host directory/],
      [{ mounts: [{ host: path.join(dir, 'shared'), guest: '/shared' }] }, /policy\.mounts\[0\]\.readOnly: the ceiling grants this directory read-only/],
      [{ mounts: [{ host: `${path.join(dir, 'shared')}/..`, guest: '/shared', readOnly: true }] }, /policy\.mounts\[0\]: the ceiling does not grant/],
      [{ mounts: [{ host: 'shared', guest: '/shared', readOnly: true }] }, /policy\.mounts\[0\]\.host: a fleet job names host directories by absolute path/],
      [{ mounts: [{ tmpfs: '2MiB', guest: '/t' }] }, /policy\.mounts\[0\]\.tmpfs: .* above the ceiling of 1 MiB/],
      [{ network: { allowConnect: ['example.org:80'] } }, /policy\.network\.allowConnect\[0\]: the ceiling does not grant/],
      [{ network: { allowDns: true } }, /policy\.network\.allowDns/],
      [{ network: { publish: ['8080:80'] } }, /policy\.network\.publish\[0\]/],
      [{ limits: { memory: '1PiB' } }, /^policy: limits\.memory: /],
    ];
    await refused(await json('/v1/jobs', { module: hello, policyBase: '/' }), 400, /policyBase/);
    for (const [policy, re] of cases) await refused(await json('/v1/jobs', { module: hello, policy }), 400, re);
    // Within the ceiling: accepted and run.
    const ok = await json('/v1/jobs', { module: hello, policy: { mounts: [{ host: path.join(dir, 'shared'), guest: '/shared', readOnly: true }], limits: { memory: '32MiB', timeout: '5s' } } });
    assert.equal(ok.status, 201);
  });

  it('refuses path tricks in input trees, output mounts and job ids', async () => {
    const tree = (files: { path: string; data: string }[], mount = '/in') => json('/v1/jobs', { module: hello, input: { mount, files } });
    for (const p of ['../x', '/etc/passwd', 'a/../../x', './a', 'a//b', 'a/', '', 'a\\..\\b', 'a\0b', '..', '.']) {
      await refused(await tree([{ path: p, data: '' }]), 400, /^input\.files\[0\]\.path: /);
    }
    await refused(await tree([{ path: 'a', data: '' }, { path: 'a', data: '' }]), 400, /input\.files\[1\]\.path: this path appears twice/);
    await refused(await tree([{ path: 'a', data: '' }, { path: 'a/b', data: '' }]), 400, /input\.files\[1\]\.path: 'a' is a file/);
    await refused(await tree([{ path: 'a', data: '!!' }]), 400, /input\.files\[0\]\.data: expected base64/);
    for (const mount of ['in', '/in/../etc', '/', '//in']) await refused(await tree([], mount), 400, /^input\.mount: /);
    await refused(await json('/v1/jobs', { module: hello, input: { mount: '/x', files: [] }, output: { mount: '/x' } }), 400, /output\.mount: input and output may not share a mount/);
    for (const id of ['..%2F..%2Fetc', '%00', 'a'.repeat(65), 'a%20b']) {
      await refused(await call('GET', `/v1/jobs/${id}`), 400, /^id: expected a job id/);
    }
    await refused(await call('GET', '/v1/jobs/x/output/..%2Fsecret'), 400, /^stream: expected stdout or stderr$/);
    await refused(await call('GET', '/v1/jobs/x/result?wait=9999'), 400, /^wait: /);
    // The server lived through all of it.
    assert.equal((await call('GET', '/v1/workers')).status, 200);
  });
});
