// Hostile inputs around the guest (THREATS.md: inputs are hostile): the files
// Capsule reads (module, policy, system file) may be devices, FIFOs, huge or
// hand-crafted with duplicate keys; the bytes an embedding app hands over may
// be changed by another thread while Capsule checks them.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CapsuleError } from '../../src/core/errors.js';
import { run } from '../../src/api/run.js';
import { guest, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';

const oneLine = (stderr: string, pattern: RegExp): void => {
  assert.match(stderr, pattern);
  assert.equal(stderr.split('\n').length, 2, `more than one line: ${JSON.stringify(stderr)}`);
};

describe('hostile inputs: files Capsule reads', () => {
  let tmp: TempDir;
  let fifo: string;
  before(() => {
    tmp = tempDir('capsule-inputs-');
    fifo = path.join(tmp.path, 'fifo');
    execFileSync('mkfifo', [fifo]);
    fs.symlinkSync('/dev/urandom', path.join(tmp.path, 'random.wasm'));
    // Sparse: 2 GB by its size, nothing on disk.
    fs.closeSync(fs.openSync(path.join(tmp.path, 'huge.wasm'), 'w'));
    fs.truncateSync(path.join(tmp.path, 'huge.wasm'), 2_000_000_000);
  });
  after(() => tmp.cleanup());

  const modules: [string, () => string, RegExp][] = [
    ['/dev/zero', () => '/dev/zero', /not a regular file/],
    ['a FIFO with no writer', () => fifo, /not a regular file/],
    ['a symlink to /dev/urandom', () => path.join(tmp.path, 'random.wasm'), /not a regular file/],
    ['a directory', () => tmp.path, /it is a directory/],
    ['a 2 GB file', () => path.join(tmp.path, 'huge.wasm'), /larger than 1 GiB/],
  ];
  for (const [what, file, why] of modules) {
    it(`a module that is ${what}: exit 66 at once, one line`, { timeout: 30_000 }, async () => {
      const r = await runCli(['run', file()], { timeoutMs: 15_000 });
      assert.equal(r.code, 66);
      oneLine(r.stderr, new RegExp(`^capsule: cannot read module '.*': ${why.source}`));
    });
  }

  for (const [flag, kind] of [['--policy', 'policy'], ['up', 'system']] as const) {
    for (const [what, file] of [['/dev/zero', () => '/dev/zero'], ['a FIFO', () => fifo]] as const) {
      it(`a ${kind} file that is ${what}: exit 66 at once, one line`, { timeout: 30_000 }, async () => {
        const args = flag === 'up' ? ['up', file()] : ['run', '--policy', file(), guest('hello')];
        const r = await runCli(args, { timeoutMs: 15_000 });
        assert.equal(r.code, 66);
        oneLine(r.stderr, new RegExp(`^capsule: cannot read ${kind} file '.*': not a regular file`));
      });
    }
  }

  it('a policy file over 1 MiB is refused without being parsed', { timeout: 30_000 }, async () => {
    const big = path.join(tmp.path, 'big.json');
    fs.writeFileSync(big, `{"env":{"A":"${'x'.repeat(2 * 1024 * 1024)}"}}`);
    const r = await runCli(['run', '--policy', big, guest('hello')]);
    assert.equal(r.code, 66);
    oneLine(r.stderr, /cannot read policy file '.*': larger than 1 MiB/);
  });

  const duplicates: [string, string, string, RegExp][] = [
    ['a mount made writable by a second readOnly', 'policy', '{"mounts":[{"host":".","guest":"/d","readOnly":true,"readOnly":false}]}', /line 1, column \d+: key 'readOnly' appears twice/],
    ['a limit given twice', 'policy', '{"limits":{"memory":"1MiB",\n  "memory":"4GiB"}}', /line 2, column 3: key 'memory' appears twice/],
    ['the same key spelled with an escape', 'policy', '{"env":{"A":"1","\\u0041":"2"}}', /key 'A' appears twice/],
    ['a top-level section twice', 'policy', '{"env":{},"env":{"A":"1"}}', /key 'env' appears twice/],
    ['a guest field twice in a system file', 'system', '{"guests":[{"name":"a","module":"m.wasm","args":[],"args":["x"]}]}', /key 'args' appears twice/],
  ];
  for (const [what, kind, text, why] of duplicates) {
    it(`duplicate keys: ${what} is refused (exit 78, one line with the position)`, { timeout: 30_000 }, async () => {
      const file = path.join(tmp.path, `dup-${kind}.json`);
      fs.writeFileSync(file, text);
      const r = await runCli(kind === 'system' ? ['up', file] : ['run', '--policy', file, guest('hello')]);
      assert.equal(r.code, 78);
      oneLine(r.stderr, why);
      assert.equal(r.stdout, '');
    });
  }

  it('equal keys in different objects are not duplicates', { timeout: 30_000 }, async () => {
    const file = path.join(tmp.path, 'ok.json');
    fs.writeFileSync(file, '{"mounts":[{"tmpfs":"1MiB","guest":"/a"},{"tmpfs":"1MiB","guest":"/b"}],"env":{"guest":"x"}}');
    const r = await runCli(['run', '--policy', file, guest('hello')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^env guest=x$/m);
  });

  it('every environment name reaches the guest alike: __proto__, constructor, prototype', { timeout: 30_000 }, async () => {
    const file = path.join(tmp.path, 'env.json');
    fs.writeFileSync(file, '{"env":{"__proto__":"P","constructor":"C","prototype":"T"}}');
    const r = await runCli(['run', '--policy', file, guest('hello')]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of ['env __proto__=P', 'env constructor=C', 'env prototype=T']) assert.ok(r.stdout.includes(`${line}\n`), r.stdout);
  });
});

describe('hostile inputs: strings from files and the API', () => {
  it('a system file whose module path carries a newline and escapes: one escaped line, no forged capsule: line', { timeout: 30_000 }, async () => {
    const dir = tempDir('capsule-inputs-esc-');
    try {
      const file = path.join(dir.path, 'system.json');
      fs.writeFileSync(file, JSON.stringify({ guests: [{ name: 'a', module: 'x\n\u001b[31mcapsule: FORGED.wasm' }] }));
      const r = await runCli(['up', file]);
      assert.equal(r.code, 66);
      oneLine(r.stderr, /^capsule: cannot read module '.*x\\n\\x1b\[31mcapsule: FORGED\.wasm': no such file\n$/);
      assert.ok(!r.stderr.includes('\u001b'), 'a raw ESC reached the terminal');
    } finally {
      dir.cleanup();
    }
  });

  for (const name of ['A=B', 'A\0B', '']) {
    it(`run() refuses the environment name ${JSON.stringify(name)} as the policy schema does (no 'A=B=1' for the guest)`, { timeout: 30_000 }, async () => {
      await assert.rejects(run(guest('hello'), { env: { [name]: '1' }, stdout: 'ignore' }),
        (err: unknown) => err instanceof CapsuleError && err.exitCode === 64 && /^env\./.test(err.message) || (err instanceof CapsuleError && name === '' && err.exitCode === 64));
    });
  }
});

describe('hostile inputs: bytes an embedding app hands over', () => {
  it('module bytes in a SharedArrayBuffer that another thread keeps changing: the memory cap holds every time (25 runs)', { timeout: 60_000 }, async (t) => {
    const original = fs.readFileSync(hostileGuest('grow_once'));
    const shared = new Uint8Array(new SharedArrayBuffer(original.byteLength));
    shared.set(original);
    // The memory section's id byte: flipped between 5 (memory) and 0 (a custom section) as fast as a thread can.
    let at = 8;
    while (shared[at] !== 5) {
      let size = 0, shift = 0, p = at + 1, b;
      do { b = shared[p++]!; size |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
      at = p + size;
    }
    const flipper = new Worker(`
      const { workerData } = require('node:worker_threads');
      const bytes = new Uint8Array(workerData.sab);
      for (;;) { bytes[workerData.at] = 0; bytes[workerData.at] = 5; }
    `, { eval: true, workerData: { sab: shared.buffer, at } });
    try {
      let grown = 0;
      let ran = 0;
      let refused = 0;
      for (let i = 0; i < 25; i++) {
        try {
          const r = await run(shared, { limits: { memoryBytes: 1024 * 1024 }, stdout: 'ignore', stderr: 'ignore' });
          ran++;
          if (r.outcome.kind === 'exit' && r.outcome.code === 1) grown++;
        } catch {
          // Caught with the id at 0: a module without memory, refused; that is a refusal, not a bypass.
          refused++;
        }
      }
      assert.equal(grown, 0, `memory.grow(2000 pages) succeeded ${grown} times of ${ran} under a 1 MiB cap (${refused} refused)`);
      t.diagnostic(`${ran} ran, ${refused} refused, none grown`);
    } finally {
      await flipper.terminate();
    }
  });
});
