// The API side of the systems work: System.load() checks the start order,
// stopGuest() stops one guest without failing the system, log() keeps each
// guest's output, and run()'s onOutput sees a copy of it.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { run } from '../../src/api/run.js';
import { System } from '../../src/api/system.js';
import { guest } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';

const sink = (): Writable => new Writable({ write(_c, _e, done) { done(); } });

describe('System: start order, stops on request, logs', () => {
  it('load() refuses a cycle in "after" with a CapsuleError 78 naming it', async () => {
    await assert.rejects(System.load({
      guests: [{ name: 'a', module: guest('hello'), after: { b: 1 } }, { name: 'b', module: guest('hello'), after: { a: 1 } }],
    }), (err: unknown) => err instanceof CapsuleError && err.exitCode === 78 && /'a' waits for 'b' waits for 'a'/.test(err.message));
  });

  it('stopGuest() stops one guest; the system goes on and does not count it as failed', { timeout: 30_000 }, async () => {
    const system = await System.load({
      guests: [
        { name: 'sleeper', module: hostileGuest('hostile_output'), args: ['sleep_block'] },
        { name: 'server', module: guest('echo_server'), args: ['7000', '1'] },
        { name: 'client', module: guest('echo_client'), args: ['server', '7000', 'later'], after: { server: 7000 } },
      ],
      stdout: sink(), stderr: sink(),
      onExit: (name) => { if (name === 'client') assert.ok(system.stopGuest('sleeper')); },
    });
    const result = await system.run();
    assert.equal(result.exitCode, 0);
    assert.equal(result.failed, undefined);
    const sleeper = result.guests.get('sleeper')!;
    assert.deepEqual([sleeper.outcome.kind, sleeper.exitCode], ['killed', 143]);
    assert.equal(system.stopGuest('sleeper'), false, 'it has ended');
    assert.equal(system.stopGuest('nobody'), false);
    const logged = system.log('CLIENT')!.recent().map((c) => c.bytes.toString()).join('');
    assert.equal(logged, 'echo: later\n');
    assert.ok(system.log('client')!.ended);
    assert.equal(system.log('nobody'), undefined);
  });

  it('run() hands onOutput a copy of each stream', { timeout: 30_000 }, async () => {
    const seen: Record<number, string> = { 1: '', 2: '' };
    const r = await run(guest('hello'), { stdout: 'capture', stderr: 'capture', onOutput: (fd, bytes) => { seen[fd] += Buffer.from(bytes).toString(); } });
    assert.equal(r.exitCode, 0);
    assert.equal(seen[1], r.stdout!.toString());
    assert.equal(seen[2], r.stderr!.toString());
    assert.match(seen[1]!, /hello from capsule/);
  });
});
