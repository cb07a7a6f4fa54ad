// Small modules are compiled by V8's optimizing compiler up front, bigger
// ones start as baseline (Liftoff) code. Checked in a child Node process with
// V8's own test natives, which say which compiler made a function's code.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { EAGER_OPTIMIZE_BYTES } from '../../src/module/compiler-flags.js';
import { ROOT, tempDir, type TempDir } from '../helpers/cli.js';
import { ValType, wasmModule } from '../helpers/wasm.js';

/** A command module with `_start` and `f(x) = x`, padded with a custom section to at least `size` bytes. */
function moduleOf(size: number): Uint8Array {
  const core = wasmModule({
    types: [{ params: [], results: [] }, { params: [ValType.I32], results: [ValType.I32] }],
    funcs: [{ type: 0, body: [] }, { type: 1, body: [0x20, 0x00] }],
    memory: 1,
    exports: [{ name: '_start', kind: 'func', index: 0 }, { name: 'f', kind: 'func', index: 1 }, { name: 'memory', kind: 'memory', index: 0 }],
  });
  const pad = Math.max(0, size - core.byteLength);
  if (pad === 0) return core;
  // Custom section "p": id 0, LEB128 size, name length 1, "p", then filler.
  const payload = pad + 2;
  const leb: number[] = [];
  for (let n = payload; ; ) { const b = n & 0x7f; n >>>= 7; if (n) leb.push(b | 0x80); else { leb.push(b); break; } }
  const out = new Uint8Array(core.byteLength + 1 + leb.length + payload);
  out.set(core);
  out.set([0x00, ...leb, 0x01, 0x70], core.byteLength);
  return out;
}

describe('eager optimized compilation', () => {
  let tmp: TempDir;
  before(() => { tmp = tempDir(); });
  after(() => tmp.cleanup());

  /** Which compiler made `f`'s code, called first on the main thread or, as in an enclave, on another thread. */
  const compiledBy = (bytes: Uint8Array, where: 'main' | 'thread' = 'main'): string => {
    const file = path.join(tmp.path, `m${bytes.byteLength}.wasm`);
    fs.writeFileSync(file, bytes);
    const script = path.join(tmp.path, 'probe.mjs');
    const load = pathToFileURL(path.join(ROOT, 'dist/src/module/load.js')).href;
    fs.writeFileSync(script, `
      const { loadModule } = await import(${JSON.stringify(load)});
      const { module } = await loadModule(process.argv[2], false, 64 * 1024 * 1024);
      const probe = \`const f = new WebAssembly.Instance(module, {}).exports.f;
        f(1);
        report(%IsTurboFanFunction(f) ? 'optimized' : %IsLiftoffFunction(f) ? 'baseline' : 'neither');\`;
      if (process.argv[3] === 'main') new Function('module', 'report', probe)(module, console.log);
      else {
        // V8 compiles each function at its first call: on the enclave's thread, after the host's compile has returned.
        const { Worker } = await import('node:worker_threads');
        const w = new Worker(\`const { parentPort, workerData } = require('node:worker_threads');
          new Function('module', 'report', workerData.probe)(workerData.module, (t) => parentPort.postMessage(t));\`,
          { eval: true, workerData: { module, probe } });
        w.once('message', (t) => { console.log(t); void w.terminate(); });
      }
    `);
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', script, file, where], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };

  it('a small module runs optimized code from its first call', () => {
    assert.equal(compiledBy(moduleOf(0)), 'optimized');
  });

  it('on an enclave thread too, where its functions are compiled at their first call', () => {
    assert.equal(compiledBy(moduleOf(0), 'thread'), 'optimized');
  });

  it('a module over the threshold starts as baseline code', () => {
    assert.equal(compiledBy(moduleOf(EAGER_OPTIMIZE_BYTES + 4096)), 'baseline');
  });
});
