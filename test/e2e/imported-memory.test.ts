// A module that imports its memory (env.memory, shared or not, as the WASIX
// toolchain links) gets one Capsule creates from the declared limits, its
// maximum capped by --memory, in both modes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODES, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { ValType, op, wasmModule, type Import } from '../helpers/wasm.js';
import { importedMemory, ImportedMemoryTooLarge } from '../../src/module/imported-memory.js';

const I = ValType.I32;
const voidT = { params: [], results: [] };
const exitT = { params: [I], results: [] };
const writeT = { params: [I, I, I, I], results: [I] };
const PAGE = 65536;

const memoryImport = (min: number, max?: number, shared = false): Import =>
  ({ module: 'env', name: 'memory', kind: 'memory', min, ...(max !== undefined ? { max } : {}), shared });

/** Writes "hi\n" to stdout through fd_write, with the iovec and bytes in the imported memory. */
function hello(memory: Import): Uint8Array {
  return wasmModule({
    types: [voidT, writeT],
    imports: [memory, { module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'func', type: 1 }],
    funcs: [{ type: 0, body: [
      ...op.store(0, 16), ...op.store(4, 3), ...op.store(16, 0x0a6968),
      ...op.i32Const(1), ...op.i32Const(0), ...op.i32Const(1), ...op.i32Const(8), ...op.call(0), ...op.drop,
    ] }],
    exports: [{ name: '_start', kind: 'func', index: 1 }],
  });
}

/** Grows the imported memory by `pages`: exits 3 if refused, 4 if granted. */
function grower(memory: Import, pages: number): Uint8Array {
  return wasmModule({
    types: [voidT, exitT],
    imports: [memory, { module: 'wasi_snapshot_preview1', name: 'proc_exit', kind: 'func', type: 1 }],
    funcs: [{ type: 0, body: [
      ...op.grow(pages), ...op.i32Const(-1), ...op.i32Eq, ...op.ifThen([...op.i32Const(3), ...op.call(0)]),
      ...op.i32Const(4), ...op.call(0),
    ] }],
    exports: [{ name: '_start', kind: 'func', index: 1 }],
  });
}

describe('imported memory limits', () => {
  it('are read from the binary, shared or not, with or without a maximum', () => {
    assert.deepEqual(importedMemory(hello(memoryImport(2))), { initial: 2, shared: false });
    assert.deepEqual(importedMemory(hello(memoryImport(2, 65536, true))), { initial: 2, maximum: 65536, shared: true });
  });

  it('get a maximum capped by the limit, kept when already lower', () => {
    assert.deepEqual(importedMemory(hello(memoryImport(2, 65536, true)), 64 * PAGE), { initial: 2, maximum: 64, shared: true });
    assert.deepEqual(importedMemory(hello(memoryImport(2)), 64 * PAGE), { initial: 2, maximum: 64, shared: false });
    assert.deepEqual(importedMemory(hello(memoryImport(2, 10)), 64 * PAGE), { initial: 2, maximum: 10, shared: false });
  });

  it('are refused when the initial size is over the limit', () => {
    assert.throws(() => importedMemory(hello(memoryImport(65)), 64 * PAGE), ImportedMemoryTooLarge);
  });

  it('are absent for a module that defines its memory, or a malformed one', () => {
    assert.equal(importedMemory(wasmModule({ memory: 1 })), undefined);
    assert.equal(importedMemory(hello(memoryImport(1)).subarray(0, 14)), undefined);
  });
});

for (const mode of MODES) {
  describe(`imported memory (${mode} mode)`, () => {
    let tmp: TempDir;
    const file = (name: string, bytes: Uint8Array): string => {
      const f = path.join(tmp.path, `${name}.wasm`);
      fs.writeFileSync(f, bytes);
      return f;
    };
    before(() => { tmp = tempDir(); });
    after(() => tmp.cleanup());

    it('an unshared imported memory without a maximum is the guest memory', async () => {
      const r = await runCli(['run', '--mode', mode, file('plain', hello(memoryImport(1)))]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'hi\n', '']);
    });

    it('a shared imported memory (the WASIX toolchain\'s) is the guest memory', async () => {
      const r = await runCli(['run', '--mode', mode, file('shared', hello(memoryImport(2, 65536, true)))]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'hi\n', '']);
    });

    it('memory.grow within the declared maximum is granted', async () => {
      const r = await runCli(['run', '--mode', mode, file('grow', grower(memoryImport(1, 65536, true), 4))]);
      assert.equal(r.code, 4, r.stderr);
    });

    if (mode === 'secure') {
      it('memory.grow past --memory fails as the instruction does, though the module declares 4 GiB', async () => {
        const r = await runCli(['run', '--memory', '1MiB', file('growpast', grower(memoryImport(1, 65536, true), 16))]);
        assert.equal(r.code, 3, r.stderr);
      });

      it('an initial size over --memory is refused before start (103), in one line', async () => {
        const r = await runCli(['run', '--memory', '1MiB', file('big', hello(memoryImport(17, 65536, true)))]);
        assert.equal(r.code, 103);
        const l = lines(r.stderr);
        assert.equal(l.length, 1, r.stderr);
        assert.match(l[0]!, /^capsule: .*big\.wasm.*over its limit.*--memory/);
      });
    }
  });
}
