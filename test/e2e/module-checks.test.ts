// Module checks on hand-made modules (test/helpers/wasm.ts) through the CLI:
// imports Capsule cannot provide, bad exports, binary versions; both modes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODES, lines, runCli, tempDir, type CliResult, type TempDir } from '../helpers/cli.js';
import { ValType, op, wasmModule } from '../helpers/wasm.js';

const voidT = { params: [], results: [] };
const exitT = { params: [ValType.I32], results: [] };
const memExport = { name: 'memory', kind: 'memory' as const, index: 0 };
const procExit = (type: number) => ({ module: 'wasi_snapshot_preview1', name: 'proc_exit', kind: 'func' as const, type });

const MODULES: Record<string, Uint8Array> = {
  // _start calls proc_exit(7): the control case, a valid hand-made command.
  exit7: wasmModule({ types: [voidT, exitT], imports: [procExit(1)],
    funcs: [{ type: 0, body: [...op.i32Const(7), ...op.call(0)] }], memory: 1,
    exports: [{ name: '_start', kind: 'func', index: 1 }, memExport] }),
  importsGlobal: wasmModule({ types: [voidT], imports: [{ module: 'env', name: 'g', kind: 'global', valtype: ValType.I32 }],
    funcs: [{ type: 0, body: [] }], memory: 1, exports: [{ name: '_start', kind: 'func', index: 0 }, memExport] }),
  importsOtherMemory: wasmModule({ types: [voidT], imports: [{ module: 'env', name: 'heap', kind: 'memory', min: 1 }],
    funcs: [{ type: 0, body: [] }], exports: [{ name: '_start', kind: 'func', index: 0 }] }),
  // proc_exit imported as () -> () instead of (i32) -> ().
  wrongSignature: wasmModule({ types: [voidT], imports: [procExit(0)],
    funcs: [{ type: 0, body: op.call(0) }], memory: 1, exports: [{ name: '_start', kind: 'func', index: 1 }, memExport] }),
  noMemory: wasmModule({ types: [voidT], funcs: [{ type: 0, body: [] }], exports: [{ name: '_start', kind: 'func', index: 0 }] }),
  startIsMemory: wasmModule({ memory: 1, exports: [{ name: '_start', kind: 'memory', index: 0 }] }),
};

function assertOneLine(r: CliResult, ...needles: string[]): void {
  const l = lines(r.stderr);
  assert.equal(l.length, 1, r.stderr);
  assert.match(l[0]!, /^capsule: /);
  for (const n of needles) assert.ok(l[0]!.includes(n), `${JSON.stringify(l[0])} lacks ${JSON.stringify(n)}`);
  assert.doesNotMatch(r.stderr, /^ {4}at /m);
}

for (const mode of MODES) {
  describe(`hand-made modules (${mode} mode)`, () => {
    let tmp: TempDir;
    const file = (name: string): string => path.join(tmp.path, `${name}.wasm`);
    const runModule = (name: string): Promise<CliResult> => runCli(['run', '--mode', mode, file(name)]);
    before(() => {
      tmp = tempDir();
      for (const [name, bytes] of Object.entries(MODULES)) fs.writeFileSync(file(name), bytes);
    });
    after(() => tmp.cleanup());

    it('a minimal valid command runs and exits with its status', async () => {
      const r = await runModule('exit7');
      assert.deepEqual([r.code, r.stdout, r.stderr], [7, '', '']);
    });

    it('an imported global is refused (65), named with its kind', async () => {
      const r = await runModule('importsGlobal');
      assert.equal(r.code, 65);
      assertOneLine(r, 'importsGlobal.wasm', 'env.g', 'global');
    });

    it('a memory imported under another name than env.memory is refused (65)', async () => {
      const r = await runModule('importsOtherMemory');
      assert.equal(r.code, 65);
      assertOneLine(r, 'importsOtherMemory.wasm', 'env.heap', 'memory');
    });

    it('an export named _start that is not a function is refused (65)', async () => {
      const r = await runModule('startIsMemory');
      assert.equal(r.code, 65);
      assertOneLine(r, 'startIsMemory.wasm', '_start');
    });

    it('a module that does not export its memory is refused (65), naming the file', async () => {
      const r = await runModule('noMemory');
      assert.equal(r.code, 65);
      assertOneLine(r, 'noMemory.wasm', 'memory');
    });

    it('a WASI import with the wrong signature is refused (65), not run', {
    }, async () => {
      const r = await runModule('wrongSignature');
      assert.equal(r.code, 65);
      assertOneLine(r, 'wasi_snapshot_preview1.proc_exit');
    });

    it('a component / other binary version is refused (65)', async () => {
      const p = path.join(tmp.path, 'component.wasm');
      fs.writeFileSync(p, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]));
      const r = await runCli(['run', '--mode', mode, p]);
      assert.equal(r.code, 65);
      assertOneLine(r, 'component.wasm', 'component');
    });
  });
}
