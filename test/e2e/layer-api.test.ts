// The API's Layer as a user writes it: grants as the strings run() takes,
// limits as numbers or sizes, published ports served without a start() call,
// audit records through onAudit; and run() refusing options that the layer
// already decides instead of ignoring them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapsuleError, Layer, run, type AuditRecord } from '../../src/api/index.js';
import { guest } from '../helpers/cli.js';
import { freePort, hostRoundTrip, watchedOutput } from '../helpers/net.js';

const usage = (pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof CapsuleError, String(e));
  assert.equal(e.exitCode, 64);
  assert.match(e.message, pattern);
  assert.doesNotMatch(e.message, /\n/);
  return true;
};

describe('Layer', () => {
  it('takes grants as strings and refuses a malformed one, naming it', () => {
    new Layer({ network: { allowConnect: ['api.example.com:443', '10.0.0.0/8:*'], denyConnect: ['[::1]:22'], allowDns: true, publish: ['8080:7000'] } }).close();
    assert.throws(() => new Layer({ network: { allowConnect: ['ok.example:80', 'no-port'] } }), usage(/^network\.allowConnect\[1\]: 'no-port': expected HOST:PORT/));
    assert.throws(() => new Layer({ network: { publish: ['x:y:z:w'] } }), usage(/^network\.publish\[0\]: /));
  });

  it('takes limits as numbers or sizes, checked as flags are', () => {
    new Layer({ limits: { queueBytes: '1MiB', maxSockets: 8 } }).close();
    new Layer({ limits: { queueBytes: 65536, maxSockets: '8' } }).close();
    assert.throws(() => new Layer({ limits: { queueBytes: '1k' } }), usage(/^limits\.queueBytes: /));
    assert.throws(() => new Layer({ limits: { maxSockets: 'many' } }), usage(/^limits\.maxSockets: /));
  });

  it('run() refuses network, a different mode or traceSockets given with a layer', async () => {
    const layer = new Layer();
    try {
      await assert.rejects(run(guest('hello'), { layer, network: { allowDns: true } }), usage(/^run\(\): network cannot be given with 'layer'/));
      await assert.rejects(run(guest('hello'), { layer, mode: 'normal' }), usage(/mode 'normal' \(the layer's is 'secure'\)/));
      await assert.rejects(run(guest('hello'), { layer, policy: { network: { allowDns: true } } }), usage(/policy\.network/));
      await assert.rejects(run(guest('hello'), { layer, traceSockets: () => {} }), usage(/traceSockets/));
      // The layer's own mode, said again, is no contradiction.
      const r = await run(guest('hello'), { layer, mode: 'secure', stdout: 'capture' });
      assert.equal(r.exitCode, 0);
    } finally {
      layer.close();
    }
  });

  it('publishes without start(): the first guest starts it; onAudit hears every guest', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const records: AuditRecord[] = [];
    const layer = new Layer({ network: { publish: [`${port}:7000`] }, onAudit: (r) => records.push(r) });
    try {
      const out = watchedOutput();
      const server = run(guest('echo_server'), { layer, name: 'server', args: ['7000', '1'], stdout: out.stream, timeoutMs: 20_000 });
      await out.waitFor('listening on 7000\n', 15_000);
      const reply = await hostRoundTrip(port, 'through the layer');
      assert.equal(reply.toString(), 'through the layer');
      assert.equal((await server).exitCode, 0);
      assert.ok(records.some((r) => r.enclave === 'server' && r.op === 'start'), JSON.stringify(records));
    } finally {
      layer.close();
    }
  });
});
