// The API's System (what `capsule up` runs): everything is checked before any
// guest starts, each module is compiled once, and the first failure stops the
// rest unless the system says "continue". Also `capsule up` on the same cases.

import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { System } from '../../src/api/system.js';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';
import { writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-system-'); });
after(() => dir.cleanup());

/** A stream that keeps what it is given, as text. */
function collector(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { text += chunk.toString('utf8'); done(); } });
  return { stream, text: () => text };
}

describe('System', () => {
  it('compiles each module once, for the check and the run together', { timeout: 30_000 }, async () => {
    // Counted where loadModule compiles: the global WebAssembly.compile of this process.
    const wasm = WebAssembly as { compile: typeof WebAssembly.compile };
    const compile = wasm.compile;
    let compiled = 0;
    wasm.compile = (bytes) => { compiled++; return compile(bytes); };
    try {
      const out = collector();
      const system = await System.load({
        guests: [{ name: 'one', module: guest('hello') }, { name: 'two', module: guest('exit_code'), args: ['0'] }],
        stdout: out.stream, stderr: collector().stream,
      });
      assert.equal(compiled, 2, 'both checked before any runs');
      const result = await system.run();
      assert.equal(result.exitCode, 0);
      assert.equal(compiled, 2, 'the run used what the check compiled');
      assert.deepEqual([...result.guests.keys()].sort(), ['one', 'two']);
      assert.match(out.text(), /^one \| hello from capsule$/m);
    } finally {
      wasm.compile = compile;
    }
  });

  it('refuses a mount of a missing directory before any guest starts (66)', async () => {
    const missing = path.join(dir.path, 'no-such-dir');
    await assert.rejects(System.load({
      guests: [{ name: 'fine', module: guest('hello') }, { name: 'bad', module: guest('hello'), dirs: [{ host: missing, guest: '/data' }] }],
    }), (err: unknown) => err instanceof CapsuleError && err.exitCode === 66 && err.message.includes(missing));
  });

  it('stops every guest on the first failure', { timeout: 30_000 }, async () => {
    const err = collector();
    const ended: string[] = [];
    const system = await System.load({
      guests: [
        { name: 'sleeper', module: hostileGuest('hostile_output'), args: ['sleep_block'] },
        { name: 'failing', module: guest('exit_code'), args: ['3'] },
      ],
      stdout: collector().stream, stderr: err.stream,
      onExit: (name) => ended.push(name),
    });
    const result = await system.run();
    assert.equal(result.exitCode, 3);
    assert.equal(result.failed, 'failing');
    const sleeper = result.guests.get('sleeper')!;
    assert.equal(sleeper.outcome.kind, 'killed');
    assert.match((sleeper.outcome as { message: string }).message, /'failing' failed, so the system stops/);
    assert.deepEqual(ended, ['failing', 'sleeper']);
  });

  it('with onFailure "continue", the others run on to their own end', { timeout: 30_000 }, async () => {
    const system = await System.load({
      onFailure: 'continue',
      limits: { timeoutMs: 1500 },
      guests: [
        { name: 'sleeper', module: hostileGuest('hostile_output'), args: ['sleep_block'] },
        { name: 'failing', module: guest('exit_code'), args: ['3'] },
      ],
      stdout: collector().stream, stderr: collector().stream,
    });
    const result = await system.run();
    assert.equal(result.exitCode, 3);
    const sleeper = result.guests.get('sleeper')!;
    assert.deepEqual([sleeper.outcome.kind, sleeper.exitCode], ['limit', 102]);
  });
});

describe('capsule up: failures', () => {
  it('a guest with a bad mount: exit 66 at once, one line, no guest started', { timeout: 30_000 }, async () => {
    const missing = path.join(dir.path, 'absent');
    const file = writeSystem(dir.path, {
      guests: [
        { name: 'sleeper', module: hostileGuest('hostile_output'), args: ['sleep_block'] },
        { name: 'mounts', module: guest('hello'), dirs: [`${missing}::/data`] },
      ],
    }, 'bad-mount.json');
    const r = await runCli(['up', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 66, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(lines(r.stderr), [`capsule: cannot mount '${missing}': no such directory`]);
  });

  it('the first failure stops the rest; the code is the failure\'s', { timeout: 30_000 }, async () => {
    const file = writeSystem(dir.path, {
      guests: [
        { name: 'sleeper', module: hostileGuest('hostile_output'), args: ['sleep_block'] },
        { name: 'failing', module: guest('exit_code'), args: ['3'] },
      ],
    }, 'stop.json');
    const r = await runCli(['up', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^capsule: sleeper stopped: 'failing' failed, so the system stops \(onFailure: stop\)$/m);
  });

  it('an unknown onFailure value: exit 78 naming the field', async () => {
    const file = writeSystem(dir.path, { onFailure: 'retry', guests: [{ name: 'a', module: guest('hello') }] }, 'bad-onfailure.json');
    const r = await runCli(['up', file]);
    assert.equal(r.code, 78, r.stderr);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /onFailure/);
  });
});
