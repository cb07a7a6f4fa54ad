// Start order in a system file: "after": { GUEST: PORT } starts a guest once
// GUEST listens on PORT; unknown names and cycles are refused before anything
// starts, and the wait is bounded ("readyTimeout").

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';
import { systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-start-order-'); });
after(() => dir.cleanup());

/** A server that listens on 7000 only after `ms` milliseconds, answers one connection and stops. */
const lateServer = (ms: number): Record<string, unknown> => ({ name: 'server', module: hostileGuest('hostile_net'), args: ['late_server', '7000', String(ms)] });
/** A client that connects once, with no retry: refused unless the server already listens. */
const onceClient = (extra: Record<string, unknown> = {}): Record<string, unknown> => systemGuest('client', 'sock_errors', ['after-eof', 'server', '7000'], extra);

describe('capsule up: "after"', () => {
  it('a client that connects once is started only when its server listens', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, { guests: [lateServer(800), onceClient({ after: { server: 7000 } })] }, 'after.json');
    const r = await runCli(['up', file], { timeoutMs: 45_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^client \| read 6 bytes, then EOF$/m);
    // The server listened before the client said anything.
    const out = lines(r.stdout);
    assert.ok(out.indexOf('server | late_server: listening') < out.findIndex((l) => l.startsWith('client |')), r.stdout);
  });

  it('without "after" the same client is refused (the case it answers)', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, { guests: [lateServer(800), onceClient()] }, 'no-after.json');
    const r = await runCli(['up', file], { timeoutMs: 45_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /^client \| error: sock_connect: Connection refused$/m);
  });

  it('a server that does not listen within readyTimeout: the waiting guest fails (69), one line, the rest stop', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, { readyTimeout: '300ms', guests: [lateServer(20_000), onceClient({ after: { server: 7000 } })] }, 'timeout.json');
    const r = await runCli(['up', file], { timeoutMs: 45_000 });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /^capsule: client: not started: 'server' did not listen on port 7000 within 0\.3 s$/m);
    assert.match(r.stderr, /^capsule: server stopped: 'client' failed, so the system stops \(onFailure: stop\)$/m);
    assert.doesNotMatch(r.stdout, /^client \|/m);
  });

  it('a server that ends without listening: the waiting guest fails at once (69), with its exit record', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, { guests: [{ name: 'server', module: guest('hello') }, onceClient({ after: { server: 7000 } })] }, 'ended.json');
    const audit = path.join(dir.path, 'ended.jsonl');
    const r = await runCli(['up', '--audit', audit, file], { timeoutMs: 45_000 });
    assert.equal(r.code, 69, r.stderr);
    assert.deepEqual(lines(r.stderr), ["capsule: client: not started: 'server' ended without listening on port 7000"]);
    const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { enclave: string; op: string; reason: string; detail?: { exitCode?: number } });
    const client = records.filter((x) => x.enclave === 'client');
    assert.deepEqual(client.map((x) => [x.op, x.reason, x.detail?.exitCode]), [['exit', "not started: 'server' ended without listening on port 7000", 69]]);
  });

  const refusals: [string, unknown[], RegExp][] = [
    ['an unknown guest', [{ name: 'a', module: guest('hello'), after: { nobody: 80 } }], /guests\[0\]\.after: 'nobody' is not a guest of this system$/m],
    ['a name that is an object key', [{ name: 'a', module: guest('hello') }, { name: 'b', module: guest('hello'), after: JSON.parse('{"__proto__": 80}') as unknown }],
      /guests\[1\]\.after: '__proto__' is not a guest of this system$/m],
    ['a guest in another spelling', [{ name: 'a', module: guest('hello') }, { name: 'b', module: guest('hello'), after: { 'a.': 80 } }],
      /guests\[1\]\.after: 'a\.' is not a guest of this system$/m],
    ['itself', [{ name: 'a', module: guest('hello'), after: { a: 80 } }], /guests\[0\]\.after: 'a' waits for itself, so it would never start$/m],
    ['a cycle', [
      { name: 'a', module: guest('hello'), after: { b: 80 } },
      { name: 'b', module: guest('hello'), after: { c: 80 } },
      { name: 'c', module: guest('hello'), after: { a: 80 } },
    ], /guests\[0\]\.after: 'a' waits for 'b' waits for 'c' waits for 'a': a cycle, so none of them would start$/m],
    ['a port out of range', [{ name: 'a', module: guest('hello') }, { name: 'b', module: guest('hello'), after: { a: 70000 } }], /guests\[1\]\.after\.a: /],
    ['a port that is not a number', [{ name: 'a', module: guest('hello') }, { name: 'b', module: guest('hello'), after: { a: '80' } }], /guests\[1\]\.after\.a: /],
  ];
  for (const [what, guests, message] of refusals) {
    it(`waiting for ${what} is refused before anything starts: exit 78, one line`, async () => {
      const file = writeSystem(dir.path, { guests }, 'refused.json');
      const r = await runCli(['up', file]);
      assert.equal(r.code, 78, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, message);
    });
  }
});
